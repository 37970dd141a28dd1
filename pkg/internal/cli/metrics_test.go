package cli_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/p2p"
	"github.com/shoalmesh/shoal/wasm"
)

// mustFreePort returns a TCP port on 127.0.0.1 that nothing listens on.
func mustFreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// mustJSONLines checks that every line of a node's log is a JSON record
// with a level and a message: nothing bypasses its logger.
func mustJSONLines(tb testing.TB, what, log string) {
	tb.Helper()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for _, l := range lines {
		var rec struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Level == "" || rec.Msg == "" {
			tb.Errorf("%s logged a line that is not a JSON record: %q", what, l)
		}
	}
}

// shoal worker --metrics serves /metrics, /healthz and /readyz: not ready
// while its gateway is not there, ready once the gateway took its offer,
// and its counters follow the runs.
func TestWorkerMetricsFlag(t *testing.T) {
	gwData := t.TempDir() // the gateway's identity, made before it starts
	key, err := p2p.LoadIdentity(gwData)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Its join token too, which the gateway will keep.
	if _, _, err := join.LoadOrCreate(gwData, id); err != nil {
		t.Fatal(err)
	}
	port := mustFreePort(t)
	w := MustStartNode(t, "worker", "--dial", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, id), "--discover", "none",
		"--join-token-file", filepath.Join(gwData, join.File),
		"--listen", "/ip4/127.0.0.1/tcp/0", "--slots", "2", "--metrics", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug")
	url := w.fields["metrics"]
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("start line %q: want metrics=http://127.0.0.1:PORT", w.stdout.String())
	}
	hc := http.DefaultClient
	if code, body := get(t, hc, url+"/readyz", ""); code != 503 || !strings.Contains(body, "connecting to the gateway") {
		t.Errorf("/readyz without a gateway: %d %s, want 503 connecting", code, body)
	}
	if code, body := get(t, hc, url+"/healthz", ""); code != 200 || !strings.Contains(body, `"worker"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if m := meshtest.Scrape(t, url+"/metrics"); m.Value("shoal_worker_connected") != 0 || m.Value("shoal_worker_slots") != 2 {
		t.Errorf("without a gateway: connected %v, slots %v", m.Value("shoal_worker_connected"), m.Value("shoal_worker_slots"))
	}

	g := MustStartGateway(t, "--data", gwData, "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), "--http", "127.0.0.1:0", "--log-format", "json")
	meshtest.Eventually(t, "the worker is ready", func() bool { code, _ := get(t, hc, url+"/readyz", ""); return code == 200 })
	mod := MustWriteFile(t, "hash.wasm", wasm.HashC)
	for range 3 {
		shoal(t, "submit", mod, "--difficulty", "1", "--wait", "--gateway", g.fields["http"]).want(t, 0, nil, nil)
	}
	m := meshtest.Scrape(t, url+"/metrics")
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shoal_worker_connected", nil, 1},
		{"shoal_worker_connects_total", nil, 1},
		{"shoal_worker_runs_total", []string{"outcome", "succeeded"}, 3},
		{"shoal_worker_module_cache_misses_total", nil, 1},
		{"shoal_worker_module_cache_hits_total", nil, 2},
		{"shoal_worker_module_bytes_fetched_total", nil, float64(len(wasm.HashC))},
	} {
		if got := m.Value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if strings.Contains(w.stderr.String(), `"level":"WARN"`) {
		t.Errorf("a loopback metrics address got a warning: %s", w.stderr.String())
	}
	mustJSONLines(t, "the worker", w.stderr.String())
	mustJSONLines(t, "the gateway", g.stderr.String())
}

// mustNoGateway is a --dial address where no gateway answers.
func mustNoGateway(tb testing.TB) string {
	tb.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", mustFreePort(tb), id)
}

// --log-format and --log-level shape both roles' logs; a worker's metrics
// address off loopback gets a warning (it has no token).
func TestLogFlags(t *testing.T) {
	dial := mustNoGateway(t)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"gateway format", []string{"gateway", "--data", t.TempDir(), "--discover", "none", "--log-format", "xml"}, `shoal: gateway: --log-format "xml": want text or json`},
		{"gateway level", []string{"gateway", "--data", t.TempDir(), "--discover", "none", "--log-level", "loud"}, `shoal: gateway: --log-level "loud": want debug, info, warn or error`},
		{"worker format", []string{"worker", "--dial", dial, "--discover", "none", "--log-format", "xml"}, `shoal: worker: --log-format "xml": want text or json`},
		{"worker level", []string{"worker", "--dial", dial, "--discover", "none", "--log-level", "loud"}, `shoal: worker: --log-level "loud": want debug, info, warn or error`},
	} {
		t.Run(c.name, func(t *testing.T) { shoal(t, c.args...).want(t, 1, nil, []string{c.want}) })
	}

	// Two workers that cannot reach their gateway: each logs every failed
	// attempt at info, then says so on /readyz.
	start := func(args ...string) *node {
		return MustStartNode(t, append([]string{"worker", "--dial", dial, "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0"}, args...)...)
	}
	text, quiet := start("--metrics", "127.0.0.1:0"), start("--metrics", "0.0.0.0:0", "--log-level", "warn")
	for _, w := range []*node{text, quiet} {
		url := w.fields["metrics"]
		meshtest.Eventually(t, "an attempt failed", func() bool {
			_, body := get(t, http.DefaultClient, url+"/readyz", "")
			return strings.Contains(body, "the last attempt")
		})
	}
	if log := text.stderr.String(); !strings.Contains(log, `level=INFO msg="gateway connection ended; reconnecting" component=worker`) || strings.Contains(log, "level=WARN") {
		t.Errorf("a worker with the default flags logged: %s", log)
	}
	log := quiet.stderr.String()
	if !strings.Contains(log, `level=WARN msg="the metrics address is not loopback`) || strings.Contains(log, "level=INFO") {
		t.Errorf("a worker at --log-level warn, metrics on 0.0.0.0, logged: %s", log)
	}
}
