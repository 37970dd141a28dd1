package cli_test

import (
	"net/http"
	"strings"
	"testing"
)

// --pprof serves Go's profiler on its own address, named on the start line;
// without the flag there is none.
func TestPprofFlag(t *testing.T) {
	w := MustStartNode(t, "worker", "--dial", "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWQGgcTjj4du1xJs1ZFPhftorMzdaZJQjwuHhJLWmvfX8y",
		"--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0", "--pprof", "127.0.0.1:0")
	url := w.fields["pprof"]
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/debug/pprof/") {
		t.Fatalf("start line %q: want pprof=http://127.0.0.1:PORT/debug/pprof/", w.stdout.String())
	}
	for path, want := range map[string]string{"": "goroutine", "goroutine?debug=1": "goroutine profile:", "symbol": "num_symbols"} {
		code, body := get(t, http.DefaultClient, url+path, "")
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 200 containing %q", url+path, code, want)
		}
	}
	plain := MustStartNode(t, "worker", "--dial", "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWQGgcTjj4du1xJs1ZFPhftorMzdaZJQjwuHhJLWmvfX8y",
		"--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0")
	if _, ok := plain.fields["pprof"]; ok {
		t.Errorf("start line without --pprof names one: %q", plain.stdout.String())
	}
	shoal(t, "worker", "--dial", "12D3KooWQGgcTjj4du1xJs1ZFPhftorMzdaZJQjwuHhJLWmvfX8y", "--pprof", "256.0.0.1:x").
		want(t, 1, nil, []string{"--pprof 256.0.0.1:x"})
}
