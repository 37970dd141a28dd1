package gateway

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// piece sends one piece of an artifact to e, as a worker would.
func piece(e *jobEvents, path string, size, off uint64, data []byte) error {
	c := wire.JobEvents_ServerToClient(e)
	defer c.Release()
	f, release := c.File(context.Background(), func(p wire.JobEvents_file_Params) error {
		if err := p.SetPath(path); err != nil {
			return err
		}
		p.SetSize(size)
		p.SetOffset(off)
		return p.SetData(data)
	})
	defer release()
	_, err := f.Struct()
	return err
}

// A worker's word on its artifacts is checked before the gateway holds a
// byte of them: a size past the job's budget, a path sent twice, a file
// begun before the one before was whole, a piece out of order. A file
// cut off is never kept.
func TestJobFilesFromAHostileWorker(t *testing.T) {
	g := &Gateway{cfg: Config{MaxJobFiles: 1 << 20}, inflight: map[sched.RunRef]inflight{}, jobs: map[string]*jobState{}}
	g.metrics = newMetrics(g)
	ref := sched.RunRef{Task: "j"}
	rw := &remoteWorker{}
	g.inflight[ref] = inflight{conn: rw}
	fresh := func() *jobEvents { return &jobEvents{g: g, ref: ref, conn: rw, steps: 1} }

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e := fresh()
	refused := 0
	for i := range 16 {
		if piece(e, fmt.Sprint("f", i), 64<<20, 0, nil) != nil {
			refused++
		}
	}
	runtime.ReadMemStats(&after)
	if refused != 16 || after.HeapAlloc > before.HeapAlloc+8<<20 {
		t.Fatalf("16 pieces of files claiming 64 MiB each: %d refused, the heap grew by %d MiB", refused, (after.HeapAlloc-before.HeapAlloc)>>20)
	}

	e = fresh()
	if err := piece(e, "a", 4, 0, []byte("ab")); err != nil {
		t.Fatal(err)
	}
	if piece(e, "b", 1, 0, []byte("x")) == nil {
		t.Fatal("a file begun before the one before was whole was taken")
	}
	if piece(e, "a", 4, 1, []byte("cd")) == nil {
		t.Fatal("a piece out of order was taken")
	}
	if err := piece(e, "a", 4, 2, []byte("cd")); err != nil {
		t.Fatal(err)
	}
	if piece(e, "a", 4, 0, []byte("abcd")) == nil {
		t.Fatal("a path sent twice was taken")
	}
	if err := piece(e, "c", 10, 0, []byte("cut")); err != nil {
		t.Fatal(err)
	}
	files := e.take()
	if len(files) != 1 || files[0].Path != "a" || string(files[0].Data) != "abcd" {
		t.Fatalf("kept %+v, want a whole and c (cut off) left out", files)
	}
	if piece(fresh(), "../x", 1, 0, []byte("x")) == nil {
		t.Fatal("a path out of /shared was taken")
	}
	delete(g.inflight, ref)
	if piece(fresh(), "late", 1, 0, []byte("x")) == nil {
		t.Fatal("a piece of an attempt no longer under way was taken")
	}
}
