package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/store"
)

// ErrNoSpace: the gateway's disk is full (or its quota used up), and
// nothing of the request was stored. It is store.ErrNoSpace, named here
// so that the HTTP layer needs no import of the store.
var ErrNoSpace = store.ErrNoSpace

// probeEvery is how often a gateway whose disk is full checks whether
// there is space again.
const probeEvery = time.Second

// full returns why the gateway takes no work for lack of disk space, nil
// when it has space: while the store's last write failed for lack of it,
// the gateway answers writes it cannot store with ErrNoSpace, reports
// itself not ready and dispatches nothing (a run's outcome could not be
// recorded), until a probe finds space again (watchSpace).
func (g *Gateway) full() error {
	if err := g.st.Full(); err != nil {
		return fmt.Errorf("disk full: %w; writes that need space are refused (HTTP 507) and no run starts until there is space (checked every %v)", err, probeEvery)
	}
	return nil
}

// watchSpace probes the store's disk every probeEvery while it is full,
// and restarts dispatching once a probe finds space again. It returns
// when ctx ends.
func (g *Gateway) watchSpace(ctx context.Context) {
	defer g.tasks.Done()
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	wasFull := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := g.st.Full()
		if err != nil {
			if !wasFull {
				g.log.Error("the store's disk is full: writes are refused and runs wait", "err", err)
				wasFull = true
			}
			err = g.st.Probe()
			if err != nil && !errors.Is(err, ErrNoSpace) {
				g.log.Warn("probe for disk space", "err", err)
			}
		}
		if err == nil && wasFull {
			g.log.Info("the store's disk has space again: taking work")
			wasFull = false
			g.kick()
		}
	}
}
