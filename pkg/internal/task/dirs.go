package task

import (
	"regexp"
	"slices"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
)

// Directory grants are explicit on both sides: a worker operator offers
// host directories by name, and a task names the ones it needs. The
// scheduler matches the two through labels, so a task is only placed on a
// worker that offers every directory it names.

const (
	// MaxDirs is the most directories a task may name.
	MaxDirs = api.MaxDirs
	// MaxDirName is the longest directory name, in bytes.
	MaxDirName = 64
	// dirLabelPrefix starts the label of a directory, in a task's labels
	// and in a worker's offer.
	dirLabelPrefix = "dir:"
)

var dirPattern = regexp.MustCompile(`^[a-z0-9_-]+$`)

// ValidDirName reports whether name may name a directory: 1 to MaxDirName
// lowercase letters, digits, '_' and '-'. The name is also the directory's
// path in the guest, /NAME, so nothing else is allowed.
func ValidDirName(name string) bool {
	return len(name) <= MaxDirName && dirPattern.MatchString(name)
}

// FuelLabel is offered by workers that meter fuel (those that instrument
// modules, the default): a run with a fuel limit is placed only on them,
// since a worker stopping runs with wazero's checks counts no fuel.
const FuelLabel = "shoal:fuel"

// DirLabel is the placement label of the directory name: a worker offering
// the directory carries it, and a task naming it requires it.
func DirLabel(name string) string { return dirLabelPrefix + name }

// placeDirs checks s.Dirs and adds to s.Labels the label of each directory
// it does not have yet, so that any path to the scheduler (the HTTP form,
// the CLI, a Go caller of the gateway) places the task right. Calling it
// again changes nothing.
func (s *Spec) placeDirs() error {
	for i, d := range s.Dirs {
		if !ValidDirName(d) {
			return Invalid("dirs", "%q: a directory name is 1-%d of a-z, 0-9, '_' and '-'", d, MaxDirName)
		}
		if slices.Contains(s.Dirs[:i], d) {
			return Invalid("dirs", "%q given twice", d)
		}
	}
	for _, d := range s.Dirs {
		if l := DirLabel(d); !slices.Contains(s.Labels, l) {
			// Clipped: the labels may share an array with the caller's copy.
			s.Labels = append(slices.Clip(s.Labels), l)
		}
	}
	return nil
}

// ownLabels counts the labels that are not those of s.Dirs: MaxLabels
// bounds what the submitter gave, not what placeDirs added.
func (s *Spec) ownLabels() int {
	n := 0
	for _, l := range s.Labels {
		if d, ok := strings.CutPrefix(l, dirLabelPrefix); !ok || !slices.Contains(s.Dirs, d) {
			n++
		}
	}
	return n
}
