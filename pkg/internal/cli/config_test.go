package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

func TestConfigFileErrors(t *testing.T) {
	for _, c := range []struct {
		name, role, file, want string
	}{
		{"unknown key", "gateway", "# a gateway\n\nlog-level = \"debug\"\n\n\n\ntask-timout = \"30s\"\n", `:7: unknown key "task-timout"`},
		{"bad duration", "gateway", "grace = \"1m\"\n\ntask-timeout = \"abc\"\n", `:3: task-timeout: time: invalid duration "abc"`},
		{"bad number", "gateway", "max-queued = \"many\"\n", `:1: max-queued: strconv.ParseInt: parsing "many": invalid syntax`},
		{"list for one value", "gateway", "\nhttp = [\"127.0.0.1:0\", \"127.0.0.1:1\"]\n", ":2: http: takes one value, not a list"},
		{"bad list element", "worker", "label = [\"gpu\", 3.5, 1979-05-27]\n", ":1: label: 1979-05-27: want a string, number or boolean"},
		{"table", "gateway", "grace = \"1m\"\n[gateway]\nretries = 3\n", `:2: unknown key "gateway"`},
		{"dotted key", "worker", "slots.max = 3\n", ":1: slots: is a table, no flag's value"},
		{"a flag's table", "worker", "[slots]\nmax = 3\n", ":1: slots: is a table, no flag's value"},
		{"another config", "worker", "config = \"other.toml\"\n", ":1: config: a config file cannot name another"},
		{"syntax", "gateway", "grace = \"1m\"\nretries = \n", ":2: toml: unexpected character"},
		{"key twice", "gateway", "retries = 1\nretries = 2\n", ":2: toml: key retries is already defined"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := MustWriteFile(t, "node.toml", []byte(c.file))
			r := shoal(t, c.role, "--data", t.TempDir(), "--discover", "none", "--config", file)
			r.want(t, 2, nil, []string{"shoal: " + c.role + ": " + file + c.want})
		})
	}
	// A value the flag takes but the role refuses fails as on the command line.
	shoal(t, "worker", "--config", MustWriteFile(t, "w.toml", []byte("slots = -1\n"))).want(t, 1, nil, []string{"shoal: worker: --slots"})
	shoal(t, "gateway", "--config", "/nonexistent/gw.toml").want(t, 2, nil, []string{"shoal: gateway: open /nonexistent/gw.toml: no such file or directory"})
}

// The file fills what the command line leaves alone: --listen on the
// command line replaces the file's whole list, the file's log-level (wrong
// on purpose) gives way to the command line's, the file's http and its
// repeatable listen are used.
func TestGatewayStartsWithConfigFile(t *testing.T) {
	file := MustWriteFile(t, "gw.toml", []byte(`# gateway
http = "127.0.0.1:0"
discover = "none"
listen = ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"]
log-level = "loud"
task-timeout = "30s"
max-queued = 1_000
retries = 3
`))
	g := MustStartNode(t, "gateway", "--data", t.TempDir(), "--config", file, "--log-level", "warn")
	addrs := g.fields["addrs"]
	if !strings.Contains(addrs, "/tcp/") || !strings.Contains(addrs, "/quic-v1") {
		t.Errorf("addrs=%s: want the file's tcp and quic listen addresses", addrs)
	}
	if !strings.HasPrefix(g.fields["http"], "http://127.0.0.1:") {
		t.Errorf("start line %q: want the file's http address", g.stdout.String())
	}
	if code, body := get(t, http.DefaultClient, g.fields["http"]+"/info", ""); code != 200 {
		t.Errorf("GET /info: %d %s", code, body)
	}

	g = MustStartNode(t, "gateway", "--data", t.TempDir(), "--config", file, "--log-level", "warn", "--listen", "/ip4/127.0.0.1/tcp/0")
	if addrs := g.fields["addrs"]; !strings.Contains(addrs, "/tcp/") || strings.Contains(addrs, "/quic-v1") {
		t.Errorf("addrs=%s: want only the command line's tcp address", addrs)
	}
}

// A worker configured by a file alone joins its gateway with the file's
// slots and labels.
func TestWorkerStartsWithConfigFile(t *testing.T) {
	g := MustStartGateway(t, "--http", "127.0.0.1:0")
	api := g.fields["http"]
	dial := strings.Split(g.fields["addrs"], ",")[0] + "/p2p/" + g.fields["peer"]
	file := MustWriteFile(t, "worker.toml", []byte(fmt.Sprintf(`dial = %q
join-token = %q
discover = "none"
listen = ["/ip4/127.0.0.1/tcp/0"]
slots = 3
label = ["gpu", "ssd"]
memory = "1GiB"
`, dial, g.fields["join-token"])))
	MustStartNode(t, "worker", "--config", file)
	meshtest.Eventually(t, "the worker joins with the file's slots and labels", func() bool {
		_, body := get(t, http.DefaultClient, api+"/workers", "")
		var ws []struct {
			Slots  int
			Labels []string
		}
		return json.Unmarshal([]byte(body), &ws) == nil && len(ws) == 1 && ws[0].Slots == 3 && slices.Equal(ws[0].Labels, []string{"gpu", "ssd", task.FuelLabel})
	})
}
