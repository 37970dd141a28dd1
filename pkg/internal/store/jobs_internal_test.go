package store

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Artifacts' bytes go with the last job that names them, whatever the
// files the jobs listed: two of one path, the same bytes twice.
func TestBlobsGoWithTheirLastJob(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"j1", "j2"} {
		spec := task.Spec{ID: id, Repeats: 1, Module: strings.Repeat("ab", 32)}
		if err := s.CreateTask(task.New(spec, time.Unix(1, 0)).Clone()); err != nil {
			t.Fatal(err)
		}
	}
	data := []byte("secret")
	if err := s.PutFiles("j1", []Artifact{{Path: "a", Data: data}, {Path: "a", Data: data}, {Path: "b", Data: data}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFiles("j2", []Artifact{{Path: "c", Data: data}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFiles("j2", []Artifact{{Path: "d", Data: []byte("other")}}); err != nil { // replaces c
		t.Fatal(err)
	}
	count := func() (blobs, refs int) {
		_ = s.view(func(tx *bolt.Tx) error {
			blobs = tx.Bucket(bucketBlobs).Stats().KeyN
			refs = tx.Bucket(bucketRefs).Stats().KeyN
			return nil
		})
		return
	}
	if b, r := count(); b != 2 || r != 2 {
		t.Fatalf("%d blobs, %d counts, want 2 and 2", b, r)
	}
	if _, err := s.DeleteTasks("j1", "j2"); err != nil {
		t.Fatal(err)
	}
	if b, r := count(); b != 0 || r != 0 {
		t.Fatalf("%d blobs, %d counts left after their jobs were purged", b, r)
	}
}
