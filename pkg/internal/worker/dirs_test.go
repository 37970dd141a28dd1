package worker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

func TestParseDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	tests := []struct {
		in    string
		want  wasmrun.Dir
		error string
	}{
		{in: "data=" + dir, want: wasmrun.Dir{Name: "data", HostPath: dir}},
		{in: "data=" + dir + ":ro", want: wasmrun.Dir{Name: "data", HostPath: dir, ReadOnly: true}},
		{in: "data=" + dir + ":rw", want: wasmrun.Dir{Name: "data", HostPath: dir}},
		{in: "here=.", want: wasmrun.Dir{Name: "here", HostPath: dir}},
		{in: "out_2-x=" + dir + "/", want: wasmrun.Dir{Name: "out_2-x", HostPath: dir}},
		{in: "data", error: `allow-dir "data": want NAME=/host/path or NAME=/host/path:ro`},
		{in: "data=", error: `allow-dir "data=": want NAME=/host/path`},
		{in: "Data=" + dir, error: `allow-dir "Data": a name is 1-64 of a-z, 0-9, '_' and '-'`},
		{in: "a/b=" + dir, error: `allow-dir "a/b": a name is`},
		{in: "=" + dir, error: `allow-dir "": a name is`},
		{in: "gone=" + dir + "/gone", error: "allow-dir gone: stat " + dir + "/gone: no such file or directory"},
		{in: "f=" + file, error: "allow-dir f: " + file + " is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDir(tt.in)
			if tt.error != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.error) {
					t.Fatalf("ParseDir = %+v, %v; want error %q", got, err, tt.error)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDir = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestConfigDirs(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Labels = []string{"gpu", "dir:data"}
	cfg.Dirs = []wasmrun.Dir{{Name: "data", HostPath: dir}, {Name: "out", HostPath: dir, ReadOnly: true}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.offerLabels(), []string{"gpu", "dir:data", "dir:out", task.FuelLabel}; !slices.Equal(got, want) {
		t.Errorf("offer labels %q; want %q", got, want)
	}
	cfg.Runtime.Preempt = wasmrun.PreemptWazero // counts no fuel: no fuel label
	if got, want := cfg.offerLabels(), []string{"gpu", "dir:data", "dir:out"}; !slices.Equal(got, want) {
		t.Errorf("offer labels with --preempt wazero %q; want %q", got, want)
	}
	got, err := cfg.grant([]string{"out", "data"})
	if err != nil || !slices.Equal(got, []wasmrun.Dir{cfg.Dirs[1], cfg.Dirs[0]}) {
		t.Errorf("grant = %+v, %v", got, err)
	}
	if got, err := cfg.grant(nil); got != nil || err != nil {
		t.Errorf("grant(nil) = %+v, %v", got, err)
	}
	if _, err := cfg.grant([]string{"data", "x"}); err == nil || err.Error() != "directory x is not offered by this worker" {
		t.Errorf("grant of an unknown name: %v", err)
	}

	for name, dirs := range map[string][]wasmrun.Dir{
		"twice":    {{Name: "d", HostPath: dir}, {Name: "d", HostPath: dir}},
		"relative": {{Name: "d", HostPath: "rel"}},
		"bad name": {{Name: "D", HostPath: dir}},
	} {
		cfg.Dirs = dirs
		if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "allow-dir ") {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
}

// A run naming a directory the worker does not offer fails before anything
// is fetched or run: the gateway should never send one, but a worker does
// not trust it to.
func TestRunWithDirectoryNotOffered(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Dirs = []wasmrun.Dir{{Name: "data", HostPath: t.TempDir()}}
	w := &Worker{cfg: cfg, procs: proc.NewTable(nil)} // no process of its reaches other nodes
	out := w.execute(context.Background(), task.RunSpec{Module: hashModule.String(), Dirs: []string{"secrets"}}, wire.ModuleSource{}, wire.LogSink{})
	if out.OK || out.ExitCode != -1 || out.Error != "directory secrets is not offered by this worker" {
		t.Fatalf("outcome %+v", out)
	}
}
