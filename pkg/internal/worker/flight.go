package worker

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// fetchTimeout bounds one module transfer from the gateway.
const fetchTimeout = 2 * time.Minute

// flight makes concurrent fetches of one module share a single transfer:
// ten runs of a module a worker lacks fetch it once. The transfer belongs to
// no single run: it holds its own reference to the module source and its own
// deadline, so a canceled run does not fail the others waiting on it, and
// each waiter stops waiting when its own run ends.
type flight struct {
	mu      sync.Mutex
	calls   map[wasmrun.Hash]*fetchCall
	fetched prometheus.Counter // bytes transferred; nil counts nothing
}

type fetchCall struct {
	done chan struct{}
	wasm []byte
	err  error
}

func (f *flight) fetch(ctx context.Context, h wasmrun.Hash, mods wire.ModuleSource) ([]byte, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = make(map[wasmrun.Hash]*fetchCall)
	}
	c, ok := f.calls[h]
	if !ok {
		c = &fetchCall{done: make(chan struct{})}
		f.calls[h] = c
		go f.transfer(c, h, mods.AddRef())
	}
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.wasm, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *flight) transfer(c *fetchCall, h wasmrun.Hash, mods wire.ModuleSource) {
	defer mods.Release()
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	c.wasm, c.err = fetchModule(ctx, mods, h)
	if c.err == nil && f.fetched != nil {
		f.fetched.Add(float64(len(c.wasm)))
	}
	f.mu.Lock()
	delete(f.calls, h)
	f.mu.Unlock()
	close(c.done)
}
