package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
)

func seal(tb testing.TB, key crypto.PrivKey, rec record.Record) []byte {
	tb.Helper()
	env, err := record.Seal(rec, key)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// forge flips the last byte of a sealed packet, which lies in the signature.
func forge(b []byte) []byte {
	b = append([]byte(nil), b...)
	b[len(b)-1] ^= 0xff
	return b
}

// mustTestGroup returns a group on lo on a port no other test uses.
func mustTestGroup(tb testing.TB) Group {
	tb.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	g, err := ParseGroup(fmt.Sprintf("/ip4/228.8.8.8/udp/%d/multicast/lo", c.LocalAddr().(*net.UDPAddr).Port))
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

var testAddrs = func() []ma.Multiaddr { return []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001")} }

// TestHandle feeds packets straight to a node (that never runs) and checks
// which it acts on.
func TestHandle(t *testing.T) {
	self, selfID := mustKey(t)
	other, otherID := mustKey(t)
	thief, _ := mustKey(t)
	g := mustTestGroup(t)
	d, err := New(Config{Group: g, Namespace: "shoal", Key: self, Addrs: testAddrs})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := listenGroup(context.Background(), g) // for its answers
	if err != nil {
		t.Fatal(err)
	}
	defer conn.close()
	d.conn.Store(conn)
	surveyOnly, err := New(Config{Group: g, Namespace: "shoal", Key: self})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	survey := func(key crypto.PrivKey, id peer.ID, ns string, at time.Time) []byte {
		return seal(t, key, &surveyRecord{Peer: id, Namespace: ns, Distance: distanceAll, Seq: uint64(at.UnixNano())})
	}
	response := func(at time.Time) []byte {
		return seal(t, other, &responseRecord{Peer: otherID, Namespace: "shoal", Seq: uint64(at.UnixNano()),
			Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001")}})
	}
	valid := survey(other, otherID, "shoal", now)
	peerRecord := seal(t, other, peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: otherID}))
	var heard []peer.AddrInfo
	watched := response(now.Add(time.Millisecond))

	for _, tc := range []struct {
		name   string
		packet []byte
		watch  bool
		want   error
	}{
		{"survey", valid, false, nil},
		{"replayed survey", valid, false, errReplay},
		{"bad signature", forge(survey(other, otherID, "shoal", now.Add(time.Millisecond))), false, errBadSignature},
		{"signed by another key", survey(thief, otherID, "shoal", now.Add(2*time.Millisecond)), false, errWrongSigner},
		{"other namespace", survey(other, otherID, "elsewhere", now.Add(3*time.Millisecond)), false, errOtherNamespace},
		{"own survey", survey(self, selfID, "shoal", now), false, errOwnPacket},
		{"stale survey", survey(other, otherID, "shoal", now.Add(-2*freshness)), false, errStale},
		{"garbage", []byte("hello"), false, errNotEnvelope},
		{"libp2p peer record", peerRecord, false, errUnknownRecord},
		{"response nobody asked for", response(now), false, errNotSurveying},
		{"response", watched, true, nil},
		{"replayed response", watched, true, errReplay},
		{"forged response", forge(response(now.Add(2 * time.Millisecond))), true, errBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.watch {
				defer d.watch(func(info peer.AddrInfo) { heard = append(heard, info) })()
			}
			if err := d.handle(tc.packet, now); !errors.Is(err, tc.want) {
				t.Fatalf("handle = %v, want %v", err, tc.want)
			}
		})
	}
	if len(heard) != 1 || heard[0].ID != otherID || len(heard[0].Addrs) != 1 {
		t.Errorf("watchers heard %v, want one response from %s", heard, otherID)
	}
	if err := surveyOnly.handle(valid, now); !errors.Is(err, errSurveyOnly) {
		t.Errorf("survey-only node: handle = %v, want %v", err, errSurveyOnly)
	}
}

// logSink passes the reason of every log record to a channel.
type logSink struct{ reasons chan error }

func (s logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s logSink) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s logSink) WithGroup(string) slog.Handler            { return s }
func (s logSink) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == logReason {
			select {
			case s.reasons <- err:
			default: // never block the node; tests send few packets
			}
		}
		return true
	})
	return nil
}

// TestIgnoresBadPacketsOnTheWire sends a running node a forged survey and a
// replayed one, and checks it drops both and keeps answering good ones.
func TestIgnoresBadPacketsOnTheWire(t *testing.T) {
	t.Parallel()
	g := mustTestGroup(t)
	key, id := mustKey(t)
	sink := logSink{reasons: make(chan error, 1000)}
	d, err := New(Config{Group: g, Namespace: "shoal", Key: key, Logger: slog.New(sink), Addrs: testAddrs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- d.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	conn, err := listenGroup(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.close()
	deadline, _ := ctx.Deadline()
	conn.udp.SetReadDeadline(deadline)

	surveyor, surveyorID := mustKey(t)
	survey := func() []byte {
		return seal(t, surveyor, &surveyRecord{Peer: surveyorID, Namespace: "shoal", Distance: distanceAll, Seq: peer.TimestampSeq()})
	}
	// awaitResponse sends pkt, once the node has joined the group, and
	// waits for its answer.
	awaitResponse := func(pkt []byte) {
		t.Helper()
		<-d.ready
		if err := conn.send(pkt); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64<<10)
		for {
			n, _, err := conn.receive(buf)
			if err != nil {
				t.Fatalf("waiting for a response: %v", err)
			}
			var r responseRecord
			if _, err := record.ConsumeTypedEnvelope(buf[:n], &r); err == nil && r.Peer == id {
				return
			}
		}
	}
	awaitReason := func(want error) {
		t.Helper()
		for {
			select {
			case err := <-sink.reasons:
				if errors.Is(err, want) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("node never logged %q", want)
			}
		}
	}

	first := survey()
	awaitResponse(first)
	if err := conn.send(first); err != nil {
		t.Fatal(err)
	}
	awaitReason(errReplay)
	if err := conn.send(forge(survey())); err != nil {
		t.Fatal(err)
	}
	awaitReason(errBadSignature)
	awaitResponse(survey())
}
