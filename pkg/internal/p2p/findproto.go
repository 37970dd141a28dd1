package p2p

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
)

// checkTimeout bounds connecting to one answering peer and identifying it.
const checkTimeout = 5 * time.Second

// FindProtocol surveys the namespace, with backoff, for a peer that serves
// proto: h connects to every peer that answers, once per call, and the
// first one that libp2p identify reports as supporting proto is returned,
// still connected. Peers found not to serve it, or that refuse h (a worker
// admits only its gateway), are disconnected again. The peers are checked
// concurrently, so one that does not answer does not delay the others. It
// gives up when ctx is done.
//
// Every connection it makes is outbound: it opens h to nobody.
func (d *Discovery) FindProtocol(ctx context.Context, h host.Host, proto protocol.ID) (peer.AddrInfo, error) {
	var checks sync.WaitGroup
	defer checks.Wait()
	cctx, cancel := context.WithCancel(ctx) // ends the checks still going
	defer cancel()
	sctx, stopSurvey := context.WithCancel(cctx)
	defer stopSurvey()

	var mu sync.Mutex
	var chosen *peer.AddrInfo
	tried := make(map[peer.ID]bool) // read and written under d.mu: match runs in notify
	err := d.surveyUntil(sctx, func(info peer.AddrInfo) bool {
		if info.ID == h.ID() || tried[info.ID] || len(info.Addrs) == 0 {
			return false
		}
		tried[info.ID] = true
		checks.Go(func() {
			ok, opened := serves(cctx, h, info, proto)
			if !ok {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if chosen != nil { // another one was first
				if opened {
					_ = h.Network().ClosePeer(info.ID)
				}
				return
			}
			chosen = &info
			stopSurvey()
		})
		return false
	})
	mu.Lock()
	defer mu.Unlock()
	if chosen != nil {
		return *chosen, nil
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return peer.AddrInfo{}, fmt.Errorf("find a peer serving %s: %w", proto, err)
}

// serves connects h to info and reports whether identify says it supports
// proto, and whether h was not connected to it before. It leaves a peer
// that does not serve proto connected only if h already was.
func serves(ctx context.Context, h host.Host, info peer.AddrInfo, proto protocol.ID) (ok, opened bool) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	opened = h.Network().Connectedness(info.ID) != network.Connected
	ok = h.Connect(ctx, info) == nil && identified(ctx, h, info.ID)
	if ok {
		got, err := h.Peerstore().SupportsProtocols(info.ID, proto)
		ok = err == nil && len(got) == 1
	}
	if !ok && opened {
		_ = h.Network().ClosePeer(info.ID)
	}
	return ok, opened
}

// identified waits for identify to finish on every connection to id. A
// new connection has been identified when Connect returns; one that was
// already open may still be in progress.
func identified(ctx context.Context, h host.Host, id peer.ID) bool {
	ids, ok := h.(interface{ IDService() identify.IDService })
	if !ok {
		return true // the peerstore says what identify has found so far
	}
	for _, c := range h.Network().ConnsToPeer(id) {
		select {
		case <-ids.IDService().IdentifyWait(c):
		case <-ctx.Done():
			return false
		}
	}
	return true
}
