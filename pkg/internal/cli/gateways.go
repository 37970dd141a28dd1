package cli

import (
	"context"
	"fmt"

	"github.com/shoalmesh/shoal/pkg/api"
)

const gatewaysUsage = "gateways [--json] | gateways token | gateways add ADDRESS | gateways remove ADDRESS"

// runGateways shows a replicated group of gateways (docs/HA.md) as the
// gateway --gateway names sees it, and adds or removes a member.
func runGateways(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "gateways", gatewaysUsage)
	gw := gatewayFlag(fs)
	asJSON := fs.Bool("json", false, "print the group as JSON (GET /info's raft)")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	c, code := connect(e, "gateways", gw)
	if c == nil {
		return code
	}
	if len(pos) == 1 && pos[0] == "token" {
		t, err := c.GroupJoinToken(ctx)
		if err != nil {
			return failed(e, "gateways token", "", err)
		}
		fmt.Fprintln(e.stdout, t)
		return 0
	}
	if len(pos) > 0 {
		if len(pos) != 2 || (pos[0] != "add" && pos[0] != "remove") {
			return usageError(e, "gateways", gatewaysUsage, "unknown arguments %q", pos)
		}
		change, verb := c.AddMember, "added to"
		if pos[0] == "remove" {
			change, verb = c.RemoveMember, "removed from"
		}
		st, err := change(ctx, pos[1])
		if err != nil {
			return failed(e, "gateways "+pos[0], "", err)
		}
		fmt.Fprintf(e.stdout, "%s %s the group; its members now: %v\n", pos[1], verb, st.Members)
		return 0
	}
	in, err := c.Info(ctx)
	if err != nil {
		return failed(e, "gateways", "", err)
	}
	if *asJSON {
		if in.Raft == nil {
			in.Raft = &api.RaftInfo{}
		}
		if err := printJSON(e.stdout, in.Raft); err != nil {
			return e.errorf("gateways: %v", err)
		}
		return 0
	}
	if in.Raft == nil {
		fmt.Fprintf(e.stdout, "The gateway at %s runs alone (peer %s): it is no member of a replicated group (shoal gateway --raft, docs/HA.md).\n", c.URL(), in.PeerID)
		return 0
	}
	r := in.Raft
	fmt.Fprintf(e.stdout, "Term %d; %d entries applied by %s (%s); the leader's API: %s\n\n", r.Term, r.Applied, r.Self, r.State, orDash(r.API))
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "MEMBER\tROLE")
	for _, m := range r.Members {
		// A member sees its own state and who leads; of the others it
		// knows only that they are members (up or not).
		role := "member"
		switch {
		case m == r.Self:
			role = r.State + " (answered)"
		case m == r.Leader:
			role = "leader"
		}
		fmt.Fprintf(tw, "%s\t%s\n", m, role)
	}
	tw.Flush()
	return 0
}
