package wasmrun_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// The sandbox proof: guests built from C (testdata/sandbox) try what a
// hostile task would, and each attempt fails and is reported.

// sandboxSecret is set in the test process's environment; no guest may see it.
const sandboxSecret = "SHOAL_SANDBOX_SECRET=do-not-leak"

func TestSandboxRefusesUnknownHostFunctions(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	for module, want := range map[string]string{
		// WASI preview1 cannot create sockets; WasmEdge's extension can.
		"sandbox/sock_open": "imports unknown host function wasi_snapshot_preview1.sock_open",
		"sandbox/host_call": "imports unknown host function env.system",
	} {
		t.Run(module, func(t *testing.T) {
			wasm := MustModule(t, module)
			if _, err := wasmrun.Inspect(context.Background(), wasm); !errors.Is(err, wasmrun.ErrUnsupportedImport) || err.Error() != want {
				t.Errorf("Inspect error = %v; want %q", err, want)
			}
			if _, _, err := r.Compile(context.Background(), wasm); !errors.Is(err, wasmrun.ErrUnsupportedImport) || err.Error() != want {
				t.Errorf("Compile error = %v; want %q", err, want)
			}
		})
	}
}

func TestSandboxWithoutGrants(t *testing.T) {
	k, v, _ := strings.Cut(sandboxSecret, "=")
	t.Setenv(k, v)
	r := MustRunner(t, wasmrun.DefaultConfig())
	probe := MustCompile(t, r, "sandbox/probe")
	tests := []struct {
		name   string
		args   []string
		env    []string
		memory uint64
		output string // a line of stdout
		error  string // prefix of Result.Error; "" for a run that succeeds
	}{
		{name: "read /etc/passwd", args: []string{"read", "/etc/passwd"},
			output: "read /etc/passwd: failed: ", error: "exit code 1"},
		{name: "list /", args: []string{"ls", "/"},
			output: "ls /: failed: ", error: "exit code 1"},
		{name: "write /tmp", args: []string{"write", "/tmp/shoal-sandbox", "x"},
			output: "write /tmp/shoal-sandbox: failed: ", error: "exit code 1"},
		{name: "environment is the task's only", args: []string{"env"}, env: []string{"ONLY=this"},
			output: "env: ok: ONLY=this\n"},
		{name: "no environment", args: []string{"env"},
			output: "env: ok:\n"},
		{name: "accept on fd 3", args: []string{"accept", "3"},
			output: "accept 3: failed: Bad file descriptor", error: "exit code 1"},
		{name: "accept on stdin", args: []string{"accept", "0"},
			output: "accept 0: failed: ", error: "exit code 1"},
		{name: "grow memory past the limit", args: []string{"grow", "64"}, memory: 4 << 20,
			output: "grow 64: failed: out of memory after ", error: "memory limit of 4 MiB exceeded (exit code 1)"},
		{name: "grow memory within the limit", args: []string{"grow", "2"}, memory: 8 << 20,
			output: "grow 2: ok\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := r.Run(context.Background(), wasmrun.Spec{Module: probe, Name: "probe", Args: tt.args, Env: tt.env, Memory: tt.memory})
			checkProbe(t, res, tt.output, tt.error)
			if strings.Contains(res.Output, "do-not-leak") {
				t.Errorf("the guest saw the host's environment: %q", res.Output)
			}
		})
	}
}

func TestSandboxGrantedDirectory(t *testing.T) {
	// top/a/b/granted is granted; everything else under top must stay as it
	// is, whatever the guest tries. It is deep enough that "../.." stays in top.
	top := t.TempDir()
	granted := filepath.Join(top, "a", "b", "granted")
	mustMkdir(t, filepath.Join(granted, "sub"))
	mustMkdir(t, filepath.Join(top, "a", "b", "sibling"))
	mustWrite(t, filepath.Join(granted, "in.txt"), "inside")
	mustWrite(t, filepath.Join(top, "a", "b", "secret.txt"), "outside")
	// Links an operator left in the directory: two lead out, one stays in.
	mustSymlink(t, "..", filepath.Join(granted, "up"))
	mustSymlink(t, filepath.Join(top, "a", "b"), filepath.Join(granted, "abs"))
	mustSymlink(t, "sub", filepath.Join(granted, "inner"))
	mustSymlink(t, "../nothing", filepath.Join(granted, "dangling"))
	before := snapshot(t, top)

	r := MustRunner(t, wasmrun.DefaultConfig())
	probe := MustCompile(t, r, "sandbox/probe")
	dirs := []wasmrun.Dir{{Name: "granted", HostPath: granted}}
	tests := []struct {
		name   string
		args   []string
		output string
		error  string
	}{
		{name: "write inside", args: []string{"write", "/granted/ok", "hello"}, output: "write /granted/ok: ok\n"},
		{name: "read inside", args: []string{"read", "/granted/in.txt"}, output: "read /granted/in.txt: ok 6 bytes: inside\n"},
		{name: "mkdir inside", args: []string{"mkdir", "/granted/new"}, output: "mkdir /granted/new: ok\n"},
		{name: "write through a link that stays inside", args: []string{"write", "/granted/inner/ok2", "hi"}, output: "write /granted/inner/ok2: ok\n"},
		{name: "list the grant", args: []string{"ls", "/granted/sub"}, output: "ls /granted/sub: ok:"},
		{name: "write /etc", args: []string{"write", "/etc/x", "x"}, output: "write /etc/x: failed: ", error: "exit code 1"},
		{name: "write absolute outside", args: []string{"write", "/escape", "x"}, output: "write /escape: failed: ", error: "exit code 1"},
		{name: "write dot-dot", args: []string{"write", "/granted/../escape", "x"}, output: "write /granted/../escape: failed: ", error: "exit code 1"},
		{name: "write dot-dot from a subdirectory", args: []string{"write", "/granted/sub/../../escape", "x"}, output: "write /granted/sub/../../escape: failed: ", error: "exit code 1"},
		{name: "mkdir dot-dot", args: []string{"mkdir", "/granted/../newdir"}, output: "mkdir /granted/../newdir: failed: ", error: "exit code 1"},
		{name: "read dot-dot", args: []string{"read", "/granted/../secret.txt"}, output: "read /granted/../secret.txt: failed: ", error: "exit code 1"},
		{name: "read /etc/passwd", args: []string{"read", "/etc/passwd"}, output: "read /etc/passwd: failed: ", error: "exit code 1"},
		{name: "list /", args: []string{"ls", "/"}, output: "ls /: failed: ", error: "exit code 1"},
		{name: "create a link out", args: []string{"symlink", "..", "/granted/link", "write", "/granted/link/escape", "x"},
			output: "symlink /granted/link: failed: Operation not permitted\nwrite /granted/link/escape: failed: ", error: "exit code 1"},
		{name: "write through a relative link out", args: []string{"write", "/granted/up/escape", "x"}, output: "write /granted/up/escape: failed: Operation not permitted", error: "exit code 1"},
		{name: "read through an absolute link out", args: []string{"read", "/granted/abs/secret.txt"}, output: "read /granted/abs/secret.txt: failed: Operation not permitted", error: "exit code 1"},
		{name: "create through a dangling link out", args: []string{"write", "/granted/dangling", "x"}, output: "write /granted/dangling: failed: Operation not permitted", error: "exit code 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := r.Run(context.Background(), wasmrun.Spec{Module: probe, Name: "probe", Args: tt.args, Dirs: dirs})
			checkProbe(t, res, tt.output, tt.error)
		})
	}

	after := snapshot(t, top)
	want := maps.Clone(before)
	maps.Copy(want, map[string]string{
		"a/b/granted/ok":      "file hello",
		"a/b/granted/new":     "dir",
		"a/b/granted/sub/ok2": "file hi",
	})
	for p, w := range want {
		if after[p] != w {
			t.Errorf("%s on the host is %q; want %q", p, after[p], w)
		}
	}
	for p, got := range after {
		if _, ok := want[p]; !ok {
			t.Errorf("%s appeared on the host: %q", p, got)
		}
	}
}

func TestSandboxReadOnlyDirectory(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "data")
	mustMkdir(t, dir)
	mustWrite(t, filepath.Join(dir, "in.txt"), "inside")
	before := snapshot(t, top)
	r := MustRunner(t, wasmrun.DefaultConfig())
	probe := MustCompile(t, r, "sandbox/probe")
	dirs := []wasmrun.Dir{{Name: "data", HostPath: dir, ReadOnly: true}}
	for _, tt := range []struct {
		args          []string
		output, error string
	}{
		{args: []string{"read", "/data/in.txt"}, output: "read /data/in.txt: ok 6 bytes: inside\n"},
		{args: []string{"write", "/data/in.txt", "changed"}, output: "write /data/in.txt: failed: ", error: "exit code 1"},
		{args: []string{"write", "/data/new", "x"}, output: "write /data/new: failed: ", error: "exit code 1"},
		{args: []string{"mkdir", "/data/d"}, output: "mkdir /data/d: failed: ", error: "exit code 1"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			res := r.Run(context.Background(), wasmrun.Spec{Module: probe, Name: "probe", Args: tt.args, Dirs: dirs})
			checkProbe(t, res, tt.output, tt.error)
		})
	}
	if after := snapshot(t, top); !maps.Equal(before, after) {
		t.Errorf("a read-only directory changed:\nbefore %v\nafter  %v", before, after)
	}
}

func TestSandboxBadGrants(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	probe := MustCompile(t, r, "sandbox/probe")
	dir := t.TempDir()
	for _, tt := range []struct {
		name  string
		dirs  []wasmrun.Dir
		error string
	}{
		{name: "missing host directory", dirs: []wasmrun.Dir{{Name: "gone", HostPath: filepath.Join(dir, "gone")}},
			error: "directory gone: no such file or directory"},
		{name: "a file, not a directory", dirs: []wasmrun.Dir{{Name: "f", HostPath: mustWrite(t, filepath.Join(dir, "f"), "")}},
			error: "directory f: not a directory"},
		{name: "name with a slash", dirs: []wasmrun.Dir{{Name: "a/b", HostPath: dir}}, error: `directory "a/b": not a valid name`},
		{name: "dot-dot", dirs: []wasmrun.Dir{{Name: "..", HostPath: dir}}, error: `directory "..": not a valid name`},
		{name: "twice", dirs: []wasmrun.Dir{{Name: "d", HostPath: dir}, {Name: "d", HostPath: dir}}, error: "directory d: granted twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := r.Run(context.Background(), wasmrun.Spec{Module: probe, Args: []string{"ls", "/"}, Dirs: tt.dirs})
			checkResult(t, res, wasmrun.Result{ExitCode: -1}, tt.error)
		})
	}
}

// checkProbe checks a probe's run: output is a line (or the start of one)
// of its stdout; errPrefix is "" for a run that succeeds, else the start
// of Result.Error.
func checkProbe(t *testing.T, res wasmrun.Result, output, errPrefix string) {
	t.Helper()
	if !strings.Contains(res.Output, output) {
		t.Errorf("Output = %q; want it to contain %q", res.Output, output)
	}
	if res.OK != (errPrefix == "") || !strings.HasPrefix(res.Error, errPrefix) {
		t.Errorf("Result = {OK:%v ExitCode:%d Error:%q}; want error %q", res.OK, res.ExitCode, res.Error, errPrefix)
	}
}

// snapshot describes every file, directory and link under top, by path
// relative to top, without following links.
func snapshot(t *testing.T, top string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(top, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "link " + target
			return err
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			out[rel] = "file " + string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustSymlink(t *testing.T, to, link string) {
	t.Helper()
	if err := os.Symlink(to, link); err != nil {
		t.Fatal(err)
	}
}

// A run's monotonic clock starts near zero: the host's would tell the
// host's uptime.
func TestSandboxMonotonicClockIsTheRuns(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	res := r.Run(context.Background(), wasmrun.Spec{Module: MustCompile(t, r, "monotonic"), Timeout: 10 * time.Second})
	ms, err := strconv.Atoi(res.Output)
	if !res.OK || err != nil || ms < 0 || ms >= 1000 {
		t.Fatalf("the monotonic clock read %q ms at the start of a run (%s); want the run's own, under a second", res.Output, res.Error)
	}
}
