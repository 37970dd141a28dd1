package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

func TestSubmitErrors(t *testing.T) {
	url, _ := MustAPIGateway(t)
	gw := "--gateway=" + url
	mod := MustWriteFile(t, "hash.wasm", wasm.HashC)
	dir := t.TempDir()
	shoal(t, "submit", mod, "--id", "dup", gw).want(t, 0, nil, nil)
	text := MustWriteFile(t, "notes.txt", []byte("hello"))
	wat := MustWriteFile(t, "m.wat", []byte("(module)\n"))
	bad := MustWriteFile(t, "bad.wasm", []byte("\x00asm\x01\x00\x00\x00\xff"))
	unreadable := MustWriteFile(t, "secret.wasm", wasm.HashC)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	usage := "usage: shoal submit FILE.wasm [flags]"
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"no file", []string{}, 2, []string{"shoal: submit: missing FILE.wasm: " + usage}},
		{"two files", []string{mod, mod}, 2, []string{`unexpected argument "` + mod + `"`, usage}},
		{"missing file", []string{filepath.Join(dir, "nope.wasm")}, 1, []string{"nope.wasm: no such file; check the path"}},
		{"directory", []string{dir}, 1, []string{"is a directory; give a file"}},
		{"not wasm", []string{text}, 1, []string{"notes.txt is not a WebAssembly module", "compiled .wasm"}},
		{"wasm text", []string{wat}, 1, []string{"m.wat is WebAssembly text", "wat2wasm"}},
		{"does not compile", []string{bad}, 1, []string{"shoal: submit: " + bad + ": "}},
		{"not an integer", []string{mod, "--input", "abc"}, 2, []string{"invalid value \"abc\" for flag -input"}},
		{"bad id", []string{mod, "--id", "a/b"}, 2, []string{`invalid value "a/b" for flag -id: must be 1-128 letters`, "Usage: shoal submit FILE.wasm [flags]"}},
		{"repeats 0", []string{mod, "--repeats", "0"}, 2, []string{`invalid value "0" for flag -repeats: must be between 1 and`}},
		{"negative start", []string{mod, "--start", "-1"}, 2, []string{`invalid value "-1" for flag -start: must not be negative`}},
		{"bad delay", []string{mod, "--delay", "soon"}, 2, []string{`flag -delay: "soon" is neither a number of seconds nor a duration`}},
		{"bad memory", []string{mod, "--memory", "lots"}, 2, []string{"flag -memory: ", "64MiB"}},
		{"bad env", []string{mod, "--env", "NOVALUE"}, 2, []string{`flag -env: "NOVALUE" is not K=V`}},
		{"bad retries", []string{mod, "--retries", "-1"}, 2, []string{"flag -retries: must not be negative"}},
		{"missing stdin", []string{mod, "--stdin", filepath.Join(dir, "in.txt")}, 1, []string{"--stdin ", "in.txt: no such file"}},
		{"duplicate id", []string{mod, "--id", "dup"}, 1, []string{"shoal: submit: --id dup: a task with this id exists; choose another id"}},
		{"priority out of range (checked by the API's field table)", []string{mod, "--priority", "5000"}, 2, []string{"flag -priority: must be between -1000 and 1000, got 5000"}},
		{"bad gateway URL", []string{mod, "--gateway", "localhost:8080"}, 2, []string{"shoal: submit: --gateway: ", "must start with http://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shoal(t, append([]string{"submit", gw}, tc.args...)...).want(t, tc.code, nil, tc.stderr)
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads any file")
		}
		shoal(t, "submit", unreadable, gw).want(t, 1, nil, []string{"secret.wasm: not readable (permission denied)"})
	})
	shoal(t, "submit", "-h").want(t, 0, nil, []string{"Usage: shoal submit FILE.wasm [flags]", "-difficulty"})
	var list []api.Task
	mustUnmarshal(t, shoal(t, "tasks", "--json", gw).stdout, &list)
	if len(list) != 1 {
		t.Errorf("rejected submissions left tasks: %+v", list)
	}
}

func TestSubmitWait(t *testing.T) {
	url, m := MustAPIGateway(t)
	m.AddWorker()
	gw := "--gateway=" + url
	cmd := MustWriteFile(t, "hash-cmd.wasm", wasm.HashCCommand)

	r := shoal(t, "submit", cmd, "--id", "ok", "--input", "0", "--difficulty", "3", "--repeats", "2", "--wait", gw)
	r.want(t, 0, []string{"2832\n2832\n", "task ok succeeded, completions 2", "RUN  WORKER", "succeeded  0"},
		[]string{"ok: 2/2 runs done, 0 running, completions 2, succeeded\n"})
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("progress to a non-terminal rewrote a line:\n%q", r.stderr)
	}

	r = shoal(t, "submit", cmd, "--id", "bad", "--args", "zero", "--args", "3", "--wait", gw)
	r.want(t, 1, []string{"task bad failed, completions 0", "failed  2", "error: "}, []string{"usage: hash", "bad: 1/1 runs done, 0 running, completions 0, failed"})

	r = shoal(t, "submit", cmd, "--id", "js", "--input", "0", "--difficulty", "1", "--wait", "--json", gw)
	r.want(t, 0, nil, []string{"js: 1/1"})
	var tv api.Task
	mustUnmarshal(t, r.stdout, &tv)
	if tv.ID != "js" || tv.Status != task.Succeeded || tv.Runs[0].Worker == "" {
		t.Errorf("submit --wait --json = %+v", tv)
	}

	shoal(t, "logs", "ok", gw).want(t, 0, []string{"2832\n2832\n"}, nil)
	shoal(t, "logs", "-f", "bad", gw).want(t, 0, nil, []string{"usage: hash"})
	shoal(t, "tasks", gw).want(t, 0, []string{"ok ", "succeeded", "2/2", "2832", "bad ", "failed"}, nil)
	shoal(t, "workers", gw).want(t, 0, []string{"ID ", "SLOTS", "MEMORY", "LABELS", "RUNS", "0/1", "4 GiB"}, nil)
}
