package worker

import (
	"sync"

	"github.com/shoalmesh/shoal/pkg/runtime"
)

// flight makes concurrent fetches of one module share a single transfer:
// ten runs of a module a worker lacks fetch it once.
type flight struct {
	mu    sync.Mutex
	calls map[runtime.Hash]*fetchCall
}

type fetchCall struct {
	done chan struct{}
	wasm []byte
	err  error
}

func (f *flight) do(h runtime.Hash, fn func() ([]byte, error)) ([]byte, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = make(map[runtime.Hash]*fetchCall)
	}
	if c, ok := f.calls[h]; ok {
		f.mu.Unlock()
		<-c.done
		return c.wasm, c.err
	}
	c := &fetchCall{done: make(chan struct{})}
	f.calls[h] = c
	f.mu.Unlock()
	c.wasm, c.err = fn()
	close(c.done)
	f.mu.Lock()
	delete(f.calls, h)
	f.mu.Unlock()
	return c.wasm, c.err
}
