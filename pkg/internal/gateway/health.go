package gateway

import "errors"

// Why a gateway is not ready (see Ready).
var (
	errStarting = errors.New("starting: not serving workers yet")
	errDraining = errors.New("draining: shutting down, running runs are finishing")
	errStopped  = errors.New("shut down")
)

// Ready reports whether the gateway takes work: nil while Run serves and
// its store is open with space on its disk, else why not (starting,
// draining, shut down, the store's error, or "disk full: ..." from a
// write refused for lack of space until a probe finds space again). A
// load balancer or orchestrator sends tasks to a ready gateway only.
func (g *Gateway) Ready() error {
	g.mu.Lock()
	serving, draining, closed := g.serving, g.draining, g.closed
	g.mu.Unlock()
	switch {
	case closed:
		return errStopped
	case draining:
		return errDraining
	case !serving:
		return errStarting
	}
	if err := g.st.Ping(); err != nil {
		return err
	}
	return g.full()
}

// serve marks the gateway as serving workers: Run has started.
func (g *Gateway) serve() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.serving = true
}
