package cli_test

import (
	"testing"

	"github.com/shoalmesh/shoal/wasm"
)

func TestLogsWithoutOutput(t *testing.T) {
	url, _ := MustAPIGateway(t)
	gw := "--gateway=" + url
	mod := MustWriteFile(t, "hash.wasm", wasm.HashC)
	shoal(t, "submit", mod, "--id", "q", gw).want(t, 0, nil, nil)
	r := shoal(t, "logs", "q", gw)
	r.want(t, 0, nil, nil)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("logs of a task with no output printed %q, %q", r.stdout, r.stderr)
	}
	// -f ends when the task does.
	shoal(t, "cancel", "q", gw).want(t, 0, nil, nil)
	shoal(t, "logs", "-f", "q", gw).want(t, 0, nil, nil)
}
