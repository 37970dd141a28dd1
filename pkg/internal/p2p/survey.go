package p2p

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Surveys are repeated with exponential backoff, since UDP may lose any of
// them or their answers; the jitter keeps many nodes started together from
// surveying in lockstep.
const (
	firstRetry = 50 * time.Millisecond
	maxRetry   = 2 * time.Second
)

// Survey multicasts surveys for wait and returns every peer of the
// namespace that answered, one entry per peer (its latest answer), ordered
// by peer ID.
func (d *Discovery) Survey(ctx context.Context, wait time.Duration) ([]peer.AddrInfo, error) {
	var mu sync.Mutex
	found := make(map[peer.ID]peer.AddrInfo)
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := d.surveyUntil(wctx, func(info peer.AddrInfo) bool {
		mu.Lock()
		found[info.ID] = info
		mu.Unlock()
		return false
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	out := make([]peer.AddrInfo, 0, len(found))
	for _, info := range found {
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b peer.AddrInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// FindPeer surveys, with backoff, until peer id answers with at least one
// address, and returns its addresses. It gives up when ctx is done.
func (d *Discovery) FindPeer(ctx context.Context, id peer.ID) (peer.AddrInfo, error) {
	if id == d.self {
		return peer.AddrInfo{}, fmt.Errorf("find peer %s: that is this node", id)
	}
	var got peer.AddrInfo
	err := d.surveyUntil(ctx, func(info peer.AddrInfo) bool {
		if info.ID != id || len(info.Addrs) == 0 {
			return false
		}
		got = info
		return true
	})
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("find peer %s: %w", id, err)
	}
	return got, nil
}

// surveyUntil surveys until match accepts a response or ctx is done. match
// runs on the read loop and is not called again once it returned true.
// A survey that cannot be sent (the interface is going away) does not end
// it: the next one may go out on the interface Run joins again; the last
// such error is added to ctx's.
func (d *Discovery) surveyUntil(ctx context.Context, match func(peer.AddrInfo) bool) error {
	if err := d.joined(ctx); err != nil {
		return err
	}
	hit := make(chan struct{})
	matched := false // guarded by d.mu, which notify holds
	unwatch := d.watch(func(info peer.AddrInfo) {
		if !matched && match(info) {
			matched = true
			close(hit)
		}
	})
	defer unwatch()

	retry := firstRetry
	timer := time.NewTimer(0)
	defer timer.Stop()
	var sendErr error
	for {
		select {
		case <-hit:
			return nil
		case <-ctx.Done():
			if sendErr != nil {
				return fmt.Errorf("%w (last survey not sent: %v)", ctx.Err(), sendErr)
			}
			return ctx.Err()
		case <-d.done:
			return ErrStopped
		case <-timer.C:
		}
		sendErr = d.sendSurvey() // nil again once one goes out
		if errors.Is(sendErr, ErrStopped) {
			return sendErr
		}
		timer.Reset(jitter(retry))
		retry = min(2*retry, maxRetry)
	}
}

// joined waits for Run to join the group.
func (d *Discovery) joined(ctx context.Context) error {
	if !d.group.Enabled() {
		return ErrDisabled
	}
	select {
	case <-d.ready:
	case <-d.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-d.done:
		return ErrStopped
	default:
		return nil
	}
}

// sendSurvey multicasts a survey on the current socket. It returns
// ErrStopped once Run has returned.
func (d *Discovery) sendSurvey() error {
	conn := d.conn.Load()
	if conn == nil {
		select {
		case <-d.done:
			return ErrStopped
		default:
			return errors.New("send survey: the group's interface is away")
		}
	}
	pkt, err := d.seal(&surveyRecord{Peer: d.self, Namespace: d.ns, Distance: distanceAll, Seq: peer.TimestampSeq()})
	if err != nil {
		return err
	}
	if err := conn.send(pkt); err != nil {
		select {
		case <-d.done:
			return ErrStopped
		default:
			return fmt.Errorf("send survey: %w", err)
		}
	}
	return nil
}

// jitter returns d plus or minus up to a quarter.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}
