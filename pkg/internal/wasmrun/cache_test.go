package wasmrun_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/wasm"
)

// TestRunNeverCompiles runs a module many times the way a worker does
// (compile only when not held): it is compiled once.
func TestRunNeverCompiles(t *testing.T) {
	cfg := wasmrun.DefaultConfig()
	cfg.ModuleCacheBytes = wasmrun.ModuleCost(MustModule(t, "ww_add"))
	r := MustRunner(t, cfg)
	wasm := MustModule(t, "ww_add")
	h := wasmrun.HashOf(wasm)
	for i := range 100 {
		if !r.Has(h) {
			if _, _, err := r.Compile(context.Background(), wasm); err != nil {
				t.Fatal(err)
			}
		}
		res := r.Run(context.Background(), wasmrun.Spec{Module: h, Input: ptr(int64(i)), Difficulty: ptr(1)})
		if !res.OK {
			t.Fatalf("run %d: %s", i, res.Error)
		}
	}
	if n := r.Compiles(); n != 1 {
		t.Errorf("compiled %d times; want 1", n)
	}
}

// TestEvictLeastRecentlyUsed holds two of three modules: the one used
// longest ago goes, and comes back only by compiling again.
func TestEvictLeastRecentlyUsed(t *testing.T) {
	names := []string{"ww_add", "echo", "exit3"}
	var limit int64
	for _, n := range names {
		limit += wasmrun.ModuleCost(MustModule(t, n))
	}
	limit-- // all three do not fit, any two do
	tests := []struct {
		name    string
		touch   string // run after compiling the first two
		evicted string
	}{
		{name: "oldest", evicted: "ww_add"},
		{name: "run makes recent", touch: "ww_add", evicted: "echo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := wasmrun.DefaultConfig()
			cfg.ModuleCacheBytes = limit
			r := MustRunner(t, cfg)
			hs := map[string]wasmrun.Hash{}
			for _, n := range names[:2] {
				hs[n] = MustCompile(t, r, n)
			}
			if tt.touch != "" {
				r.Run(context.Background(), wasmrun.Spec{Module: hs[tt.touch]})
			}
			select {
			case <-r.Evicted():
				t.Fatal("Evicted signaled before anything was evicted")
			default:
			}
			hs[names[2]] = MustCompile(t, r, names[2])
			select {
			case <-r.Evicted():
			default:
				t.Error("Evicted not signaled after an eviction")
			}
			for _, n := range names {
				if held := r.Has(hs[n]); held != (n != tt.evicted) {
					t.Errorf("Has(%s) = %v after compiling all three", n, held)
				}
			}
			if got := r.Cached(); len(got) != 2 {
				t.Errorf("Cached = %v; want 2 modules", got)
			}
			res := r.Run(context.Background(), wasmrun.Spec{Module: hs[tt.evicted]})
			checkResult(t, res, wasmrun.Result{ExitCode: -1}, "module not compiled")
			MustCompile(t, r, tt.evicted)
			if n := r.Compiles(); n != 4 {
				t.Errorf("compiled %d times; want 4 (the evicted module twice)", n)
			}
		})
	}
}

// TestEvictWaitsForRuns keeps a module that a run is using past the bound,
// and evicts it when the run ends.
func TestEvictWaitsForRuns(t *testing.T) {
	cfg := wasmrun.DefaultConfig()
	cfg.ModuleCacheBytes = 1 // only the most recently used module fits
	r := MustRunner(t, cfg)
	loop := MustCompile(t, r, "loop")
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan wasmrun.Result)
	go func() { ended <- r.Run(ctx, wasmrun.Spec{Module: loop}) }()
	for r.Runs(loop) == 0 { // wait until the run holds the module
		time.Sleep(time.Millisecond)
	}
	echo := MustCompile(t, r, "echo")
	exit3 := MustCompile(t, r, "exit3")
	if !r.Has(loop) || r.Has(echo) || !r.Has(exit3) {
		t.Fatalf("during the run Has(loop, echo, exit3) = %v, %v, %v; want true, false, true", r.Has(loop), r.Has(echo), r.Has(exit3))
	}
	cancel()
	if res := <-ended; res.OK {
		t.Fatal("the cancelled loop succeeded")
	}
	if r.Has(loop) || !r.Has(exit3) {
		t.Errorf("after the run Has(loop, exit3) = %v, %v; want false, true", r.Has(loop), r.Has(exit3))
	}
	res := r.Run(context.Background(), wasmrun.Spec{Module: exit3})
	checkResult(t, res, wasmrun.Result{ExitCode: 3}, "exit code 3")
}

// TestCompileOnceAcrossRestart compiles the Go hash module in a Runner
// with an on-disk cache, then in a new Runner on the same directory, as
// after a worker restart: the first writes the instrumented module and its
// native code, the second reads them and writes nothing (wazero replaces an
// entry it writes again, so an untouched file means no compilation, and an
// untouched instrumented module means no rewriting).
func TestCompileOnceAcrossRestart(t *testing.T) {
	cfg := wasmrun.DefaultConfig()
	cfg.CacheDir = t.TempDir()
	ctx := context.Background()
	compile := func() wasmrun.Hash {
		r, err := wasmrun.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(ctx)
		h, _, err := r.Compile(ctx, wasm.HashGo)
		if err != nil {
			t.Fatal(err)
		}
		res := r.Run(ctx, wasmrun.Spec{Module: h, Name: "t", Args: []string{"0", "1"}})
		if !res.OK || res.Output == "" {
			t.Fatalf("run: %+v", res)
		}
		return h
	}
	if files := cacheFiles(t, cfg.CacheDir); len(files) != 0 {
		t.Fatalf("new cache holds %v", files)
	}
	h := compile()
	first := cacheFiles(t, cfg.CacheDir)
	if len(first) == 0 {
		t.Fatal("the first compile wrote nothing to the cache")
	}
	instrumented := filepath.Join(cfg.CacheDir, "instrumented", h.String()+".wasm")
	if _, ok := first[instrumented]; !ok {
		t.Fatalf("no instrumented module at %s among %d files", instrumented, len(first))
	}
	compile()
	second := cacheFiles(t, cfg.CacheDir)
	if len(second) != len(first) {
		t.Fatalf("the second compile changed the cache from %d to %d files", len(first), len(second))
	}
	for path, fi := range first {
		if !os.SameFile(fi, second[path]) || !fi.ModTime().Equal(second[path].ModTime()) {
			t.Errorf("the second compile rewrote %s", path)
		}
	}
}

// cacheFiles returns the files under dir by path.
func cacheFiles(tb testing.TB, dir string) map[string]os.FileInfo {
	tb.Helper()
	files := map[string]os.FileInfo{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		files[path] = fi
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestDamagedInstrumentedModule: an instrumented module damaged on disk is
// made again, and runs as before.
func TestDamagedInstrumentedModule(t *testing.T) {
	var good []byte
	cfg := wasmrun.DefaultConfig()
	cfg.CacheDir = t.TempDir()
	ctx := context.Background()
	wasm := MustModule(t, "ww_add")
	path := filepath.Join(cfg.CacheDir, "instrumented", wasmrun.HashOf(wasm).String()+".wasm")
	for i, damage := range []func([]byte) []byte{
		func(b []byte) []byte { return b },                            // sound: read as is
		func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b },       // a flipped byte
		func(b []byte) []byte { return b[:len(b)-5] },                 // cut short
		func(b []byte) []byte { return append([]byte("junk"), b...) }, // not even wasm
	} {
		r := MustRunner(t, cfg)
		h, _, err := r.Compile(ctx, wasm)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		res := r.Run(ctx, wasmrun.Spec{Module: h, Input: ptr(2), Difficulty: ptr(3)})
		checkResult(t, res, wasmrun.Result{OK: true, Output: "5"}, "")
		sound, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && !bytes.Equal(sound, good) {
			t.Errorf("%d: the damaged file was not made again", i)
		}
		good = bytes.Clone(sound)
		if err := os.WriteFile(path, damage(sound), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
