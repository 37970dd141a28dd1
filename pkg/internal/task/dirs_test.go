package task_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

const module = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestValidateDirs(t *testing.T) {
	many := func(n int, prefix string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}
	tests := []struct {
		name   string
		dirs   []string
		labels []string
		want   []string // labels after Validate
		error  string
	}{
		{name: "none", want: nil},
		{name: "labels added", dirs: []string{"data", "out_2"}, labels: []string{"gpu"},
			want: []string{"gpu", "dir:data", "dir:out_2"}},
		{name: "label already there", dirs: []string{"data"}, labels: []string{"dir:data"},
			want: []string{"dir:data"}},
		{name: "longest name", dirs: []string{strings.Repeat("a", task.MaxDirName)},
			want: []string{"dir:" + strings.Repeat("a", task.MaxDirName)}},
		{name: "dir labels do not count against MaxLabels", dirs: many(task.MaxDirs, "d"), labels: many(task.MaxLabels, "l"),
			want: append(many(task.MaxLabels, "l"), prefixed(many(task.MaxDirs, "d"))...)},
		{name: "too many", dirs: many(task.MaxDirs+1, "d"), error: "dirs: more than 16 directories"},
		{name: "too many labels", labels: many(task.MaxLabels+1, "l"), error: "labels: more than 32 labels"},
		{name: "uppercase", dirs: []string{"Data"}, error: `dirs: "Data": a directory name is 1-64 of a-z, 0-9, '_' and '-'`},
		{name: "slash", dirs: []string{"a/b"}, error: `dirs: "a/b": a directory name`},
		{name: "dot-dot", dirs: []string{".."}, error: `dirs: "..": a directory name`},
		{name: "empty", dirs: []string{""}, error: `dirs: "": a directory name`},
		{name: "too long", dirs: []string{strings.Repeat("a", task.MaxDirName+1)}, error: `dirs: "aaaa`},
		{name: "twice", dirs: []string{"a", "b", "a"}, error: `dirs: "a" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := task.Spec{Module: module, Dirs: tt.dirs, Labels: tt.labels}
			err := s.Validate()
			if tt.error != "" {
				if !errors.Is(err, task.ErrInvalid) || !strings.HasPrefix(err.Error(), tt.error) {
					t.Fatalf("Validate = %v; want %q", err, tt.error)
				}
				return
			}
			if err != nil || !slices.Equal(s.Labels, tt.want) {
				t.Fatalf("Validate = %v, labels %q; want labels %q", err, s.Labels, tt.want)
			}
			// Validating again, as the gateway does after the API, changes nothing.
			if err := s.Validate(); err != nil || !slices.Equal(s.Labels, tt.want) {
				t.Fatalf("second Validate = %v, labels %q; want labels %q", err, s.Labels, tt.want)
			}
		})
	}
}

// Validate must not write into an array the caller's copy of the spec shares.
func TestValidateDirsKeepsCallersLabels(t *testing.T) {
	labels := make([]string, 1, 4)
	labels[0] = "gpu"
	caller := task.Spec{Module: module, Dirs: []string{"data"}, Labels: labels}
	s := caller
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := labels[:2][1]; got != "" {
		t.Fatalf("the caller's array was written: %q", got)
	}
}

func prefixed(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = task.DirLabel(d)
	}
	return out
}
