package p2p

import (
	"reflect"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
)

func mustKey(tb testing.TB) (crypto.PrivKey, peer.ID) {
	tb.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return k, id
}

func TestRecordsRoundTrip(t *testing.T) {
	_, id := mustKey(t)
	for _, rec := range []packetRecord{
		&surveyRecord{Peer: id, Namespace: "shoal", Distance: distanceAll, Seq: peer.TimestampSeq()},
		&responseRecord{Peer: id, Namespace: "shoal", Seq: 7, Addrs: []ma.Multiaddr{
			ma.StringCast("/ip4/127.0.0.1/tcp/4001"),
			ma.StringCast("/ip4/127.0.0.1/udp/4001/quic-v1"),
		}},
		&responseRecord{Peer: id, Namespace: "", Seq: 0, Addrs: []ma.Multiaddr{}},
	} {
		b, err := rec.MarshalRecord()
		if err != nil {
			t.Fatal(err)
		}
		got := reflect.New(reflect.TypeOf(rec).Elem()).Interface().(packetRecord)
		if err := got.UnmarshalRecord(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Errorf("round trip: got %+v, want %+v", got, rec)
		}
		if err := got.UnmarshalRecord(append(b, 0)); err == nil {
			t.Errorf("%T accepted a trailing byte", rec)
		}
		if err := got.UnmarshalRecord(b[:len(b)-1]); err == nil {
			t.Errorf("%T accepted a truncated record", rec)
		}
	}
}

func TestRecordLimits(t *testing.T) {
	_, id := mustKey(t)
	long := string(make([]byte, maxNamespace+1))
	addrs := make([]ma.Multiaddr, maxAddrs+1)
	for i := range addrs {
		addrs[i] = ma.StringCast("/ip4/127.0.0.1/tcp/1")
	}
	for name, rec := range map[string]record.Record{
		"long survey namespace":   &surveyRecord{Peer: id, Namespace: long},
		"long response namespace": &responseRecord{Peer: id, Namespace: long},
		"too many addrs":          &responseRecord{Peer: id, Namespace: "shoal", Addrs: addrs},
	} {
		if _, err := rec.MarshalRecord(); err == nil {
			t.Errorf("%s: marshalled", name)
		}
	}
}

// FuzzRecords feeds arbitrary payloads to both record decoders: they must
// not panic, and whatever they accept must encode back to the same bytes.
func FuzzRecords(f *testing.F) {
	_, id := mustKey(f)
	for _, rec := range []record.Record{
		&surveyRecord{Peer: id, Namespace: "shoal", Distance: 3, Seq: 42},
		&responseRecord{Peer: id, Namespace: "shoal", Seq: 42, Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001")}},
	} {
		b, err := rec.MarshalRecord()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, rec := range []record.Record{&surveyRecord{}, &responseRecord{}} {
			if rec.UnmarshalRecord(b) != nil {
				continue
			}
			again, err := rec.MarshalRecord()
			if err != nil {
				t.Fatalf("%T: decoded %x but cannot encode it: %v", rec, b, err)
			}
			if string(again) != string(b) {
				t.Fatalf("%T: decoded %x, encodes to %x", rec, b, again)
			}
		}
	})
}
