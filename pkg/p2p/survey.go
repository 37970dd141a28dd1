package p2p

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
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
func (d *Discovery) surveyUntil(ctx context.Context, match func(peer.AddrInfo) bool) error {
	conn, err := d.connection(ctx)
	if err != nil {
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
	for {
		select {
		case <-hit:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-d.done:
			return ErrStopped
		case <-timer.C:
		}
		if err := d.sendSurvey(conn); err != nil {
			return err
		}
		timer.Reset(jitter(retry))
		retry = min(2*retry, maxRetry)
	}
}

// connection waits for Run to open the socket.
func (d *Discovery) connection(ctx context.Context) (*groupConn, error) {
	if !d.group.Enabled() {
		return nil, ErrDisabled
	}
	select {
	case <-d.ready:
	case <-d.done:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-d.done:
		return nil, ErrStopped
	default:
		return d.conn, nil
	}
}

func (d *Discovery) sendSurvey(conn *groupConn) error {
	pkt, err := d.seal(&surveyRecord{Peer: d.self, Namespace: d.ns, Distance: distanceAll, Seq: peer.TimestampSeq()})
	if err != nil {
		return err
	}
	if err := conn.send(pkt); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return ErrStopped
		}
		return fmt.Errorf("send survey: %w", err)
	}
	return nil
}

// jitter returns d plus or minus up to a quarter.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}
