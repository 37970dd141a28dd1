package worker

import "sync"

// active counts runs in progress and tells when there are none, for a
// graceful shutdown.
type active struct {
	mu    sync.Mutex
	n     int
	zero  chan struct{} // closed while n == 0
	ready bool
}

func (a *active) init() {
	if !a.ready {
		a.zero = make(chan struct{})
		close(a.zero)
		a.ready = true
	}
}

func (a *active) add(d int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.init()
	if a.n == 0 && d > 0 {
		a.zero = make(chan struct{})
	}
	a.n += d
	if a.n == 0 {
		close(a.zero)
	}
}

func (a *active) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// idle is closed when no run is in progress.
func (a *active) idle() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.init()
	return a.zero
}
