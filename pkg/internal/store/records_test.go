package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Records pages through the tasks by sequence, either way, from any
// cursor, over the gaps purged tasks leave; it reads a task's runs only
// when asked to, and stops when told.
func TestRecords(t *testing.T) {
	s, _ := MustOpen(t)
	for i := 1; i <= 5; i++ {
		tk := task.New(task.Spec{ID: fmt.Sprint("t", i), Repeats: 2, Owner: fmt.Sprint("o", i%2), Module: strings.Repeat("0", 64)}, time.Unix(int64(i), 0))
		MustCreate(t, s, tk.Clone())
	}
	if err := s.SaveRuns("t2", task.Run{Index: 0, Status: task.Succeeded, Ended: time.Unix(9, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteTasks("t3"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		after uint64
		asc   bool
		stop  int // stop after this many; 0: never
		want  string
	}{
		{0, true, 0, "1 2 4 5"},
		{2, true, 0, "4 5"},
		{3, true, 0, "4 5"},
		{5, true, 0, ""},
		{0, false, 0, "5 4 2 1"},
		{4, false, 0, "2 1"},
		{99, false, 0, "5 4 2 1"},
		{1, false, 0, ""},
		{0, true, 2, "1 2"},
	} {
		var got []string
		err := s.Records(c.after, c.asc, func(seq uint64, spec *task.Spec, _ func() (task.Record, error)) (bool, error) {
			if spec.ID != fmt.Sprint("t", seq) {
				t.Errorf("sequence %d holds %s", seq, spec.ID)
			}
			got = append(got, fmt.Sprint(seq))
			return c.stop == 0 || len(got) < c.stop, nil
		})
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("Records(%d, asc %v): %q %v, want %q", c.after, c.asc, got, err, c.want)
		}
	}
	var made []int
	err := s.Records(0, true, func(_ uint64, spec *task.Spec, load func() (task.Record, error)) (bool, error) {
		rec, err := load()
		made = append(made, rec.Made)
		return true, err
	})
	if err != nil || !slices.Equal(made, []int{0, 1, 0, 0}) {
		t.Errorf("the records' made runs: %v %v, want [0 1 0 0]", made, err)
	}
	if rec, err := s.Record("t2"); err != nil || rec.Spec.ID != "t2" || rec.Succeeded != 1 {
		t.Errorf("Record(t2): %+v %v", rec, err)
	}
	if _, err := s.Record("t3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Record of a purged task: %v, want not found", err)
	}
}
