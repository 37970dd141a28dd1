package store_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/store"
)

// A job's steps, artifacts and callback attempts are kept with it across
// a reopen, its artifacts' bytes once however many jobs left them, and
// all of it goes with the job when it is purged.
func TestJobRecords(t *testing.T) {
	s, path := MustOpen(t)
	MustCreate(t, s, NewTask("j1", 1))
	MustCreate(t, s, NewTask("j2", 1))
	now := time.Unix(1700000000, 0).UTC()
	steps := map[int]store.StepRecord{
		0: {Attempt: 1, Status: api.Succeeded, Started: now, Ended: now.Add(time.Second), Fuel: 9},
		2: {Attempt: 1, Status: api.Failed, Started: now, Ended: now, ExitCode: 2, Error: "exit code 2"},
	}
	if err := s.SaveSteps("j1", steps); err != nil {
		t.Fatal(err)
	}
	same := []byte("the same bytes")
	if err := s.PutFiles("j1", []store.Artifact{{Path: "a.txt", Data: same}, {Path: "dir/b.bin", Data: []byte{0, 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFiles("j2", []store.Artifact{{Path: "c.txt", Data: same}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCallback("j1", api.Callback{Time: now, Status: api.Running, Attempt: 1, Code: 200}, 2); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.AddCallback("j1", api.Callback{Time: now, Status: api.Succeeded, Attempt: 1, Code: 500}, 2); err != nil {
			t.Fatal(err)
		}
	}
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	module := hashOf(wasm)
	if err := s.NameModule("jq", module, "alice", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a name for a module not stored: %v", err)
	}
	if err := s.PutModule(module, wasm); err != nil {
		t.Fatal(err)
	}
	if err := s.NameModule("jq", module, "alice", false); err != nil {
		t.Fatal(err)
	}
	var taken *store.NameTakenError
	if err := s.NameModule("jq", module, "bob", false); !errors.As(err, &taken) || taken.Owner != "alice" {
		t.Fatalf("bob moving alice's name: %v", err)
	}
	for _, who := range []struct {
		owner string
		force bool
	}{{"alice", false}, {"root", true}} { // its owner, or an admin
		if err := s.NameModule("jq", module, who.owner, who.force); err != nil {
			t.Fatalf("%s moving the name: %v", who.owner, err)
		}
	}
	s = MustReopen(t, s, path)

	got, err := s.Steps("j1")
	if err != nil || len(got) != 2 || !sameStep(got[0], steps[0]) || !sameStep(got[2], steps[2]) {
		t.Fatalf("steps: %v %+v", err, got)
	}
	files, err := s.Files("j1")
	if err != nil || len(files) != 2 || files[0].Path != "a.txt" || files[1].Path != "dir/b.bin" || files[1].Size != 2 {
		t.Fatalf("files: %v %+v", err, files)
	}
	if f, b, err := s.File("j1", "a.txt"); err != nil || !bytes.Equal(b, same) || f.SHA256 != files[0].SHA256 {
		t.Fatalf("a.txt: %v %q %+v", err, b, f)
	}
	if _, _, err := s.File("j1", "c.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another job's file: %v", err)
	}
	cbs, err := s.Callbacks("j1")
	if err != nil || len(cbs) != 2 || cbs[0].Status != api.Succeeded {
		t.Fatalf("callbacks, the latest 2: %v %+v", err, cbs)
	}
	if h, err := s.ModuleNamed("jq"); err != nil || h != module {
		t.Fatalf("named module: %v %s", err, h)
	}

	if _, err := s.DeleteTasks("j1"); err != nil {
		t.Fatal(err)
	}
	// j2's file shares a.txt's bytes: they outlive j1.
	if _, b, err := s.File("j2", "c.txt"); err != nil || !bytes.Equal(b, same) {
		t.Fatalf("the other job's file after a purge: %v %q", err, b)
	}
	MustCreate(t, s, NewTask("j1", 1)) // a new task of that id has none of the old one's
	if st, _ := s.Steps("j1"); len(st) != 0 {
		t.Fatalf("steps of a purged job: %+v", st)
	}
	if f, _ := s.Files("j1"); len(f) != 0 {
		t.Fatalf("files of a purged job: %+v", f)
	}
	if c, _ := s.Callbacks("j1"); len(c) != 0 {
		t.Fatalf("callbacks of a purged job: %+v", c)
	}
}

func sameStep(a, b store.StepRecord) bool {
	return a.Started.Equal(b.Started) && a.Ended.Equal(b.Ended) &&
		a.Attempt == b.Attempt && a.Status == b.Status && a.ExitCode == b.ExitCode && a.Error == b.Error && a.Fuel == b.Fuel
}
