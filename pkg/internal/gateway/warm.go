package gateway

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// warmLocked has machine id's worker fetch and compile the modules
// ScaleConfig.Warm names (the cluster's deployed application), in a
// goroutine, so that its first run of them compiles nothing.
func (g *Gateway) warmLocked(ctx context.Context, id string, wid sched.WorkerID) {
	w := g.workers[wid]
	if w == nil || len(g.cfg.Scale.Warm) == 0 {
		return
	}
	client, caps := w.client.AddRef(), w.peerCaps()
	g.tasks.Add(1)
	go func() {
		defer g.tasks.Done()
		defer client.Release()
		defer caps.release()
		var hashes []string
		for _, name := range g.cfg.Scale.Warm {
			if h, err := g.ResolveModule(name); err == nil {
				hashes = append(hashes, h)
			}
		}
		if len(hashes) == 0 {
			return
		}
		start := time.Now()
		g.mu.Lock()
		for _, h := range hashes { // its source serves them for this call
			w.grants[h]++
		}
		g.mu.Unlock()
		n, err := warm(ctx, client, caps, hashes)
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, h := range hashes {
			if w.grants[h]--; w.grants[h] <= 0 {
				delete(w.grants, h)
			}
		}
		why := fmt.Sprintf("compiled %d of %d modules (%v) in %.2f s", n, len(hashes), g.cfg.Scale.Warm, time.Since(start).Seconds())
		if err != nil {
			why = "warming failed: " + err.Error()
		}
		g.scaleLogLocked(time.Now(), "warm", id, why)
	}()
}

// warm calls Worker.warm.
func warm(ctx context.Context, w wire.Worker, caps peerCaps, hashes []string) (int, error) {
	f, release := w.Warm(ctx, func(p wire.Worker_warm_Params) error {
		if err := p.SetModules(caps.source.AddRef()); err != nil {
			return err
		}
		l, err := p.NewSha256s(int32(len(hashes)))
		if err != nil {
			return err
		}
		for i, h := range hashes {
			b, err := hex.DecodeString(h)
			if err != nil {
				return err
			}
			if err := l.Set(i, b); err != nil {
				return err
			}
		}
		return nil
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return 0, err
	}
	return int(res.Compiled()), nil
}
