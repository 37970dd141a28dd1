package cli_test

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
)

// dialOf is the full multiaddr of a gateway started by MustStartGateway.
func dialOf(g *runningGateway) string {
	return strings.Split(g.fields["addrs"], ",")[0] + "/p2p/" + g.fields["peer"]
}

// The gateway makes its join token on the first start, keeps it in
// DATA/join-token (mode 0600), shows it on its start line and keeps it
// across restarts; --export-join-token writes a copy. A worker given the
// file joins.
func TestGatewayJoinToken(t *testing.T) {
	data, export := t.TempDir(), filepath.Join(t.TempDir(), "token")
	g := MustStartGateway(t, "--data", data, "--http", "127.0.0.1:0", "--export-join-token", export)
	shown := g.fields["join-token"]
	tok, err := join.Parse(shown)
	if err != nil || tok.Gateway.String() != g.fields["peer"] {
		t.Fatalf("start line's join-token=%q: %v, want a token of gateway %s", shown, err, g.fields["peer"])
	}
	path := filepath.Join(data, "join-token")
	for _, p := range []string{path, export} {
		kept, err := join.ReadFile(p)
		if err != nil || !kept.Equal(tok) {
			t.Errorf("%s: %v, want the token of the start line", p, err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", p, fi.Mode(), err)
		}
	}
	w := MustStartNode(t, "worker", "--dial", dialOf(g), "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0", "--join-token-file", path)
	meshtest.Eventually(t, "the worker with the token file joins", func() bool {
		return slices.Equal(poolIDs(t, g.fields["http"]), []string{w.fields["peer"]})
	})
}

// A worker the gateway refuses stops with a message that says what to
// give it, and where the token is.
func TestWorkerRefusedSaysWhatToDo(t *testing.T) {
	g := MustStartGateway(t, "--http", "127.0.0.1:0")
	gwID, err := peer.Decode(g.fields["peer"])
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := join.New(gwID)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"worker", "--dial", dialOf(g), "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0"}
	shoal(t, args...).want(t, 1, nil, []string{
		"shoal: worker: gateway " + g.fields["peer"] + " did not admit this worker: not admitted: this gateway admits only workers that present its join token",
		"give the worker the gateway's join token: --join-token TOKEN or --join-token-file FILE",
		"the gateway writes it to DATA/join-token (DATA: its --data) and prints it on its start line as join-token=",
	})
	shoal(t, append(args, "--join-token", wrong.String())...).want(t, 1, nil, []string{
		"the join proof does not match this gateway's join token",
		"check the worker's join token: it must be the one of this gateway",
	})
	if ids := poolIDs(t, g.fields["http"]); len(ids) != 0 {
		t.Errorf("the gateway's pool holds %v, want no worker", ids)
	}
	if code, body := get(t, http.DefaultClient, g.fields["http"]+"/metrics", ""); code != 200 || !strings.Contains(body, "shoal_joins_refused_total 2") {
		t.Errorf("/metrics: %d, want shoal_joins_refused_total 2", code)
	}
}

func TestWorkerJoinTokenFlagErrors(t *testing.T) {
	gw := MustHost(t, nil, nil).ID()
	tok, err := join.New(gw)
	if err != nil {
		t.Fatal(err)
	}
	other := MustHost(t, nil, nil).ID()
	bad := MustWriteFile(t, "bad-token", []byte("hunter2\n"))
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"both flags", []string{"--join-token", tok.String(), "--join-token-file", bad}, "--join-token and --join-token-file: give one of them"},
		{"not a token", []string{"--join-token", "hunter2"}, `--join-token: not a join token: it starts with "SHOAL1"`},
		{"bad file", []string{"--join-token-file", bad}, "--join-token-file: " + bad + ": not a join token"},
		{"another gateway", []string{"--join-token", tok.String(), "--dial", other.String()}, "--dial names gateway " + other.String() + ", but the join token is for gateway " + gw.String()},
		{"no discovery", []string{"--join-token", tok.String(), "--discover", "none"}, "the join token names gateway " + gw.String() + ", which is found through discovery; with --discover none give --dial"},
	} {
		t.Run(c.name, func(t *testing.T) {
			shoal(t, append([]string{"worker"}, c.args...)...).want(t, 1, nil, []string{"shoal: worker: " + c.want})
		})
	}
}
