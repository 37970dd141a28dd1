package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientLinksOnlyTheAPI: a Go program that only talks to a gateway
// must not link the mesh: pkg/client imports pkg/api and the standard
// library, nothing else.
func TestClientLinksOnlyTheAPI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/shoalmesh/shoal/pkg/client").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		std := !strings.Contains(strings.SplitN(dep, "/", 2)[0], ".")
		switch {
		case std, dep == "github.com/shoalmesh/shoal/pkg/api", dep == "github.com/shoalmesh/shoal/pkg/client":
		default:
			t.Errorf("pkg/client links %s: it may import only pkg/api and the standard library", dep)
		}
	}
	for _, banned := range []string{"libp2p", "wazero", "bbolt", "capnp"} {
		if strings.Contains(string(out), banned) {
			t.Errorf("pkg/client links %s", banned)
		}
	}
}
