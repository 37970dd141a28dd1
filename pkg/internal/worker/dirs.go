package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// ParseDir reads a directory offer as `shoal worker --allow-dir` takes it:
// NAME=PATH, or NAME=PATH:ro for a read-only one (NAME=PATH:rw says the
// default). A relative PATH is made absolute against the working
// directory.
func ParseDir(s string) (wasmrun.Dir, error) {
	name, p, ok := strings.Cut(s, "=")
	if !ok || p == "" {
		return wasmrun.Dir{}, fmt.Errorf("allow-dir %q: want NAME=/host/path or NAME=/host/path:ro", s)
	}
	d := wasmrun.Dir{Name: name}
	if rest, ok := strings.CutSuffix(p, ":ro"); ok {
		p, d.ReadOnly = rest, true
	} else {
		p = strings.TrimSuffix(p, ":rw")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return wasmrun.Dir{}, fmt.Errorf("allow-dir %q: %w", s, err)
	}
	d.HostPath = abs
	return d, checkDir(d)
}

// checkDir checks one offered directory.
func checkDir(d wasmrun.Dir) error {
	if !task.ValidDirName(d.Name) {
		return fmt.Errorf("allow-dir %q: a name is 1-%d of a-z, 0-9, '_' and '-'", d.Name, task.MaxDirName)
	}
	if !filepath.IsAbs(d.HostPath) {
		return fmt.Errorf("allow-dir %s: %q is not an absolute path", d.Name, d.HostPath)
	}
	if fi, err := os.Stat(d.HostPath); err != nil {
		return fmt.Errorf("allow-dir %s: %w", d.Name, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("allow-dir %s: %s is not a directory", d.Name, d.HostPath)
	}
	return nil
}

// checkDirs checks Config.Dirs.
func checkDirs(dirs []wasmrun.Dir) error {
	for i, d := range dirs {
		if err := checkDir(d); err != nil {
			return err
		}
		if slices.ContainsFunc(dirs[:i], func(e wasmrun.Dir) bool { return e.Name == d.Name }) {
			return fmt.Errorf("allow-dir %s: offered twice", d.Name)
		}
	}
	return nil
}

// offerLabels are the labels of the worker's offers: Config.Labels, and
// the label of each offered directory, which tasks naming it require.
func (c Config) offerLabels() []string {
	labels := slices.Clone(c.Labels)
	for _, d := range c.Dirs {
		if l := task.DirLabel(d.Name); !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	if c.Runtime.Preempt == wasmrun.PreemptInstrument && !slices.Contains(labels, task.FuelLabel) {
		labels = append(labels, task.FuelLabel)
	}
	return labels
}

// grant returns the directories named by a run, as offered by the worker.
// The gateway places a task only on workers offering its directories; a
// name that is not offered here fails the run, whoever sent it.
func (c Config) grant(names []string) ([]wasmrun.Dir, error) {
	if len(names) == 0 {
		return nil, nil
	}
	dirs := make([]wasmrun.Dir, 0, len(names))
	for _, n := range names {
		i := slices.IndexFunc(c.Dirs, func(d wasmrun.Dir) bool { return d.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("directory %s is not offered by this worker", n)
		}
		dirs = append(dirs, c.Dirs[i])
	}
	return dirs, nil
}
