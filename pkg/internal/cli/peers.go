package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

// runPeers surveys the discovery group and prints who answers, like casm's
// `cluster ls`.
func runPeers(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "peers", "peers [flags]")
	discover := fs.String("discover", p2p.DefaultGroup, "multicast group and interface to survey")
	ns := fs.String("ns", p2p.DefaultNamespace, "cluster namespace")
	wait := fs.Duration("wait", time.Second, "how long to collect answers")
	if _, err := parse(fs, args); err != nil {
		return exitParse(err)
	}
	group, err := p2p.ParseGroup(*discover)
	if err != nil {
		return e.errorf("peers: --discover: %v", err)
	}
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return e.errorf("peers: %v", err)
	}
	d, err := p2p.New(p2p.Config{Group: group, Namespace: *ns, Key: key, Logger: discardLogger()})
	if err != nil {
		return e.errorf("peers: --discover: %v", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go d.Run(ctx)
	found, err := d.Survey(ctx, *wait)
	if err != nil {
		return e.errorf("peers: %v", err)
	}
	if len(found) == 0 {
		fmt.Fprintf(e.stderr, "no peers answered in namespace %q on %s within %s\n", *ns, *discover, *wait)
		return 0
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tADDRS")
	for _, p := range found {
		for i, a := range p.Addrs {
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\n", p.ID, a)
			} else {
				fmt.Fprintf(tw, "\t%s\n", a)
			}
		}
	}
	tw.Flush()
	return 0
}
