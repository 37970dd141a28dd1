package store_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

func ended(i int, st task.Status, result string, at time.Time) task.Run {
	return task.Run{Index: i, Status: st, Result: result, Ended: at, Worker: "w"}
}

// A task keeps whole the results of its newest runs, whatever order they
// are saved in, and its own result (its last success) at any age.
func TestKeepResults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := MustOpenPath(t, path, store.Options{KeepResults: 2})
	MustCreate(t, s, task.Task{Spec: task.Spec{ID: "t", Module: strings.Repeat("a", 64), Repeats: 8}, Created: epoch})
	at := func(i int) time.Time { return epoch.Add(time.Duration(i) * time.Second) }
	// Run 1 succeeds last of all; runs 4 and 5 are saved before 2 and 3;
	// runs 6 and 7 fail.
	for _, i := range []int{0, 4, 5, 2, 3} {
		if err := s.SaveRuns("t", ended(i, task.Succeeded, "r"+string(rune('0'+i)), at(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveRuns("t", ended(1, task.Succeeded, "r1", at(9)), ended(6, task.Failed, "", at(6)), ended(7, task.Failed, "", at(7))); err != nil {
		t.Fatal(err)
	}
	ws, err := s.Windows([]store.WindowQuery{{ID: "t", From: 0, To: 8, Spec: true}})
	if err != nil {
		t.Fatal(err)
	}
	w := ws[0]
	if w.Spec == nil || w.Spec.Repeats != 8 || w.Result != "r1" || len(w.Runs) != 8 {
		t.Fatalf("window: spec %v, result %q, %d runs", w.Spec, w.Result, len(w.Runs))
	}
	for _, r := range w.Runs {
		kept := r.Index == 1 // the task's result
		if (r.Result != "") != kept || (!kept && r.Status == task.Succeeded && r.ResultBytes != 2) {
			t.Errorf("run %d: result %q, %d bytes; kept whole: %v", r.Index, r.Result, r.ResultBytes, kept)
		}
	}
	// A window of the latest runs, clipped.
	ws, err = s.Windows([]store.WindowQuery{{ID: "t", From: 6, To: 8, ResultMax: 1}})
	if err != nil || len(ws[0].Runs) != 2 || ws[0].Runs[0].Index != 6 || ws[0].Result != "r" || ws[0].ResultBytes != 2 {
		t.Fatalf("latest two, clipped: %+v %v", ws, err)
	}
}

// LoadRecords counts a task's runs without keeping them: the runs that
// ended, and the ones below the highest that had not (to run again).
func TestLoadRecords(t *testing.T) {
	s, path := MustOpen(t)
	MustCreate(t, s, task.Task{Spec: task.Spec{ID: "t", Module: strings.Repeat("a", 64), Repeats: 10}, Created: epoch})
	if err := s.SaveRuns("t", ended(0, task.Succeeded, "a", epoch), ended(3, task.Failed, "", epoch.Add(time.Second)), ended(4, task.Succeeded, "b", epoch)); err != nil {
		t.Fatal(err)
	}
	s = MustReopen(t, s, path)
	var recs []task.Record
	if err := s.LoadRecords(func(r task.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.Succeeded != 2 || r.Failed != 1 || r.Made != 5 || len(r.Open) != 2 || r.Open[0].Index != 1 || r.Open[1].Index != 2 || !r.Ended.Equal(epoch.Add(time.Second)) || r.Bytes == 0 {
		t.Fatalf("record: %+v", r)
	}
}

// DeleteTasks removes every record of a task: its id is free again and
// the counts go back.
func TestDeleteTasks(t *testing.T) {
	s, _ := MustOpen(t)
	MustCreate(t, s, NewTask("gone", 3))
	MustCreate(t, s, NewTask("kept", 1))
	if err := s.SaveRuns("gone", ended(0, task.Succeeded, "x", epoch)); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLogs("gone", 1<<10, task.LogEntry{Seq: 1, Stream: "stdout", Data: "out"}); err != nil {
		t.Fatal(err)
	}
	freed, err := s.DeleteTasks("gone", "never-was")
	if err != nil || freed == 0 {
		t.Fatalf("delete: %d bytes, %v", freed, err)
	}
	if _, err := s.Task("gone"); err == nil {
		t.Fatal("a deleted task is still there")
	}
	if st := s.Stats(); st.Tasks != 1 || st.Runs != 1 || st.LogBytes != 0 {
		t.Fatalf("stats after delete: %+v", st)
	}
	MustCreate(t, s, NewTask("gone", 1)) // the id is free
}

// A store of format 1, written before result marks, gets them when
// opened, and becomes format 2.
func TestResultMarksOfAnOlderStore(t *testing.T) {
	s, path := MustOpen(t)
	MustCreate(t, s, NewTask("t", 3))
	if err := s.SaveRuns("t", ended(0, task.Succeeded, "late", epoch.Add(time.Hour)), ended(1, task.Succeeded, "early", epoch)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Put([]byte("format"), []byte{0, 0, 0, 0, 0, 0, 0, 1}); err != nil {
			return err
		}
		return tx.DeleteBucket([]byte("results"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = MustOpenPath(t, path, store.Options{})
	ws, err := s.Windows([]store.WindowQuery{{ID: "t"}})
	if err != nil || ws[0].Result != "late" {
		t.Fatalf("result of an older store: %+v %v", ws, err)
	}
}
