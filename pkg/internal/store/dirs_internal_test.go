package store

import (
	"slices"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Dirs is the last field of a task record: a record written before it
// (ending at Owner) decodes with no directories, and nil and empty stay
// apart.
func TestTaskRecordDirs(t *testing.T) {
	rec := taskRecord{
		Spec:    task.Spec{ID: "d", Module: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Owner: "alice"},
		Created: time.Unix(1700000000, 0),
	}
	withoutDirs := encodeTask(&rec)
	withoutDirs = withoutDirs[:len(withoutDirs)-1] // the nil list's one byte
	got, err := decodeTask(withoutDirs)
	if err != nil || got.Spec.Dirs != nil || got.Spec.Owner != "alice" {
		t.Fatalf("record without dirs: %+v, %v", got.Spec, err)
	}
	for _, dirs := range [][]string{nil, {}, {"data", "out_2"}} {
		rec.Spec.Dirs = dirs
		got, err := decodeTask(encodeTask(&rec))
		if err != nil || !slices.Equal(got.Spec.Dirs, dirs) || (got.Spec.Dirs == nil) != (dirs == nil) {
			t.Fatalf("dirs %#v decoded as %#v, %v", dirs, got.Spec.Dirs, err)
		}
	}
}
