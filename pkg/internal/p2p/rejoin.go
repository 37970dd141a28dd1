package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// errInterfaceChanged ends serve when the group's interface went away or
// another interface now answers to its name or pattern.
var errInterfaceChanged = errors.New("discovery interface changed")

// serve reads conn until ctx ends (nil), the socket fails (its error), or
// the group's interface is no longer the one conn joined
// (errInterfaceChanged). An interface can vanish under a running node: a
// container's network is disconnected, a VPN goes down. The socket then
// stays joined to an index that no longer exists, deaf and unable to send,
// so a checker looks the interface up every checkEvery and closes conn
// when it has changed; Run then joins again (rejoin).
func (d *Discovery) serve(ctx context.Context, conn *groupConn) error {
	var changed atomic.Bool
	stop, checked := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(checked)
		tick := time.NewTicker(d.checkEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				conn.close()
				return
			case <-stop:
				return
			case <-tick.C:
			}
			ifi, err := d.lookup(d.group.Interface)
			if err == nil && ifi.Index == conn.ifindex {
				continue
			}
			if err == nil {
				err = fmt.Errorf("interface %s (index %d) replaces %s (index %d)", ifi.Name, ifi.Index, conn.ifname, conn.ifindex)
			}
			d.log.Warn("discovery interface went away or changed; joining the group again once it is there", logReason, err)
			changed.Store(true)
			conn.close()
			return
		}
	}()
	err := d.readLoop(conn)
	close(stop)
	<-checked
	conn.close()
	if changed.Load() {
		return errInterfaceChanged
	}
	return err
}

// rejoin waits for an interface that the group names and joins the group
// on it. It returns nil if ctx ends first.
func (d *Discovery) rejoin(ctx context.Context) *groupConn {
	tick := time.NewTicker(d.checkEvery)
	defer tick.Stop()
	last := ""
	for {
		ifi, err := d.lookup(d.group.Interface)
		if err == nil {
			var conn *groupConn
			if conn, err = listenOn(ctx, d.group, ifi); err == nil {
				d.log.Info("discovery joined the group again", "interface", ifi.Name)
				return conn
			}
		}
		if err.Error() != last { // once per reason, not every second
			d.log.Debug("discovery cannot join the group yet", logReason, err)
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
