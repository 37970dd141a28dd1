package worker

import (
	"errors"
	"fmt"
	"sync"
)

// health is where a worker stands with its gateway, for Ready and the
// connected gauge.
type health struct {
	mu    sync.Mutex
	state state
	last  error // why the last connection ended or failed, while connecting
}

type state int

const (
	connecting state = iota // no connection with an offer taken yet
	ready                   // connected, offer taken: runs may come
	draining                // shutting down: no new runs, running ones finish
	stopped                 // Run has returned
)

var (
	errDraining = errors.New("draining: shutting down, running runs are finishing")
	errStopped  = errors.New("stopped")
)

// Ready reports whether the worker takes runs: nil while it is connected
// to its gateway and the gateway has taken its offer; else why not
// (connecting, with the last attempt's error; draining; stopped).
func (w *Worker) Ready() error {
	w.health.mu.Lock()
	defer w.health.mu.Unlock()
	switch w.health.state {
	case ready:
		return nil
	case draining:
		return errDraining
	case stopped:
		return errStopped
	}
	if w.health.last != nil {
		return fmt.Errorf("connecting to the gateway; the last attempt: %w", w.health.last)
	}
	return errors.New("connecting to the gateway")
}

// connected reports whether the worker has a connection with its offer
// taken, draining or not.
func (w *Worker) connected() bool {
	w.health.mu.Lock()
	defer w.health.mu.Unlock()
	return w.health.state == ready || w.health.state == draining
}

// setState moves the worker to s; last is why a connection ended, for s
// == connecting.
func (w *Worker) setState(s state, last error) {
	w.health.mu.Lock()
	defer w.health.mu.Unlock()
	w.health.state, w.health.last = s, last
}
