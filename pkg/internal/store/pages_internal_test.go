package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// TestPagesReadLikeBbolt reads healthy stores with pageFile and with bbolt:
// every bucket must give the same keys and values in the same order, and
// no page may be reported unreadable. A small store has inline buckets, a
// large one branch pages, and a large module overflow pages.
func TestPagesReadLikeBbolt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tasks  int
		module int
	}{
		{"small", 2, 100},
		{"large", 3000, 300 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "shoal.db")
			s, err := Open(path, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			wasm := bytes.Repeat([]byte{0, 'a', 's', 'm'}, tc.module/4)
			sum := sha256.Sum256(wasm)
			if err := s.PutModule(hex.EncodeToString(sum[:]), wasm); err != nil {
				t.Fatal(err)
			}
			for i := range tc.tasks {
				tk := task.New(task.Spec{ID: fmt.Sprint("t", i), Repeats: 3, Module: hex.EncodeToString(sum[:])}, time.Unix(1e9, 0))
				if err := s.CreateTask(*tk); err != nil {
					t.Fatal(err)
				}
				if err := s.AppendLogs(tk.Spec.ID, 1<<20, task.LogEntry{Stream: "stdout", Data: strings.Repeat("x", i%50)}); err != nil {
					t.Fatal(err)
				}
			}
			want := map[string][]string{}
			err = s.db.View(func(tx *bolt.Tx) error {
				return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
					return b.ForEach(func(k, v []byte) error {
						want[string(name)] = append(want[string(name)], fmt.Sprintf("%x=%x", k, v))
						return nil
					})
				})
			})
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			size, err := fileSize(f)
			if err != nil {
				t.Fatal(err)
			}
			pf, err := openPages(f, size)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for name, hdr := range pf.buckets() {
				got[name] = []string{}
				pf.walk(name, pf.collect(name, hdr), func(k, v []byte, bucket bool) {
					if bucket {
						t.Errorf("bucket %s holds a bucket %q", name, k)
					}
					got[name] = append(got[name], fmt.Sprintf("%x=%x", k, v))
				})
			}
			if len(pf.bad) > 0 {
				t.Errorf("unreadable pages in a healthy file: %v", pf.bad)
			}
			if len(got) != len(allBuckets) {
				t.Errorf("found %d buckets, want %d", len(got), len(allBuckets))
			}
			for name, w := range want {
				if g := got[name]; strings.Join(g, "\n") != strings.Join(w, "\n") {
					t.Errorf("bucket %s: read %d records unlike bbolt's %d", name, len(g), len(w))
				}
			}
		})
	}
}
