package cli

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

func TestClusterName(t *testing.T) {
	for _, c := range []struct {
		args       []string
		name, rest string
		err        string
	}{
		{[]string{"-n", "demo", "deploy", "app.wasm"}, "demo", "deploy app.wasm", ""},
		{[]string{"create", "--name=demo", "c.toml", "--http", "127.0.0.1:9"}, "demo", "create c.toml --http 127.0.0.1:9", ""},
		{[]string{"--n", "demo", "run", "c.toml", "--", "-n", "x"}, "demo", "run c.toml -- -n x", ""},
		{[]string{"list"}, "", "list", ""},
		{[]string{"status", "-n"}, "", "", "-n needs the cluster's name"},
		{[]string{"-n", "a", "status", "-n", "b"}, "", "", `two cluster names: "a" and "b"`},
	} {
		name, rest, err := clusterName(c.args)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: error %v, want %s", c.args, err, c.err)
			}
			continue
		}
		if err != nil || name != c.name || strings.Join(rest, " ") != c.rest {
			t.Errorf("%q: %q %q %v, want %q %q", c.args, name, rest, err, c.name, c.rest)
		}
	}
	for name, ok := range map[string]bool{"demo": true, "a-1": true, "1a": false, "Demo": false, "": false, strings.Repeat("a", 33): false} {
		if validClusterName(name) != ok {
			t.Errorf("validClusterName(%q) = %v", name, !ok)
		}
	}
}

func TestFlagValue(t *testing.T) {
	args := []string{"--http", "127.0.0.1:1", "-backend=docker", "--verbose", "-http", "127.0.0.1:2", "--", "--backend", "x"}
	if v, ok := flagValue(args, "http"); !ok || v != "127.0.0.1:2" {
		t.Errorf("http: %q %v", v, ok)
	}
	if v, ok := flagValue(args, "backend"); !ok || v != "docker" {
		t.Errorf("backend: %q %v", v, ok)
	}
	if _, ok := flagValue(args, "docker-network"); ok {
		t.Error("a flag not given was found")
	}
}

// A deployed directory is its regular files with paths relative to it;
// a link is refused, naming it.
func TestTarDirectory(t *testing.T) {
	dir := t.TempDir()
	for p, text := range map[string]string{"a.txt": "a", "sub/b.txt": "bb"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(text), 0o644)
	}
	b, n, err := tarDirectory(dir)
	if err != nil || n != 2 {
		t.Fatalf("%d files, %v", n, err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		got = append(got, h.Name+"="+string(data))
	}
	if !slices.Equal(got, []string{"a.txt=a", "sub/b.txt=bb"}) {
		t.Fatalf("archive: %q", got)
	}
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
	if _, _, err := tarDirectory(dir); err == nil || !strings.Contains(err.Error(), "link is not a regular file") {
		t.Fatalf("a link: %v", err)
	}
}

// With stamps, a line starts with its time; colours go only to a stream
// whose writer shows them (stdout redirected to a file gets none though
// stderr is a terminal).
func TestStampsColourPerStream(t *testing.T) {
	var out, errs bytes.Buffer
	p := &procOutput{stdout: &out, stderr: &errs, dim: true, stamps: true}
	at := time.Date(2026, 12, 7, 13, 0, 0, 5e6, time.Local)
	for _, le := range []api.LogEntry{{Time: at, Stream: "stdout", Data: "to a file\n"}, {Time: at, Stream: "stderr", Process: 1, Data: "to a terminal\n"}} {
		if err := p.write(le); err != nil {
			t.Fatal(err)
		}
	}
	if out.String() != "13:00:00.005 [0] to a file\n" {
		t.Fatalf("stdout: %q", out.String())
	}
	if want := sgrDim + "13:00:00.005 " + sgrReset + "\x1b[32m[1] " + sgrReset + "to a terminal\n"; errs.String() != want {
		t.Fatalf("stderr: %q, want %q", errs.String(), want)
	}
}

// A recorded pid is the cluster's gateway only while it runs with the
// cluster's data directory among its arguments: a pid taken since by
// another process is not signalled.
func TestRunsWith(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for deadline := time.Now().Add(5 * time.Second); !runsWith(cmd.Process.Pid, "30"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) { // until exec, the child has this process's arguments
			t.Fatal("runsWith does not find the process's argument")
		}
	}
	if runsWith(cmd.Process.Pid, "/home/me/.config/shoal/clusters/demo/gateway") {
		t.Fatal("runsWith does not tell the process by its arguments")
	}
}
