package p2p

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
)

// Discovery packets are libp2p signed envelopes around one of two records.
// Each record type has its own signature domain, so a signature made for
// one can never be passed off as the other, nor as a libp2p peer record
// (which is why a response is not a plain peer.PeerRecord: it must also
// carry, under the signature, the namespace it answers for).
const (
	surveyDomain   = "shoal-discovery-survey"
	responseDomain = "shoal-discovery-response"
)

var (
	surveyCodec   = []byte("/shoal/discovery/survey/1")
	responseCodec = []byte("/shoal/discovery/response/1")
)

// Limits on what a packet may hold. A response is sent to every peer on the
// group, so it is kept well under a typical 1500-byte MTU.
const (
	maxNamespace = 64
	maxAddrs     = 16
	maxAddrLen   = 128
)

// distanceAll is the survey distance at which every peer answers; Survey
// and FindPeer always use it.
const distanceAll = 255

func init() {
	record.RegisterType(&surveyRecord{})
	record.RegisterType(&responseRecord{})
}

// surveyRecord asks every peer of Namespace within Distance of Peer to
// answer with a responseRecord. Seq is the sender's clock in Unix
// nanoseconds, strictly increasing per sender, which lets receivers drop
// stale and replayed surveys.
type surveyRecord struct {
	Peer      peer.ID
	Namespace string
	Distance  uint8
	Seq       uint64
}

// responseRecord announces the addresses of Peer to Namespace. Seq is as in
// surveyRecord.
type responseRecord struct {
	Peer      peer.ID
	Namespace string
	Seq       uint64
	Addrs     []ma.Multiaddr
}

var (
	_ record.Record = (*surveyRecord)(nil)
	_ record.Record = (*responseRecord)(nil)
)

func (*surveyRecord) Domain() string { return surveyDomain }
func (*surveyRecord) Codec() []byte  { return surveyCodec }

func (r *surveyRecord) MarshalRecord() ([]byte, error) {
	if len(r.Namespace) > maxNamespace {
		return nil, fmt.Errorf("namespace is %d bytes, at most %d allowed", len(r.Namespace), maxNamespace)
	}
	b := appendBytes(nil, []byte(r.Peer))
	b = appendBytes(b, []byte(r.Namespace))
	b = append(b, r.Distance)
	return binary.AppendUvarint(b, r.Seq), nil
}

func (r *surveyRecord) UnmarshalRecord(b []byte) error {
	d := decoder{b: b}
	id := d.peerID()
	ns := d.namespace()
	dist := d.byte()
	seq := d.uvarint()
	if err := d.finish(); err != nil {
		return fmt.Errorf("survey record: %w", err)
	}
	*r = surveyRecord{Peer: id, Namespace: ns, Distance: dist, Seq: seq}
	return nil
}

func (*responseRecord) Domain() string { return responseDomain }
func (*responseRecord) Codec() []byte  { return responseCodec }

func (r *responseRecord) MarshalRecord() ([]byte, error) {
	if len(r.Namespace) > maxNamespace {
		return nil, fmt.Errorf("namespace is %d bytes, at most %d allowed", len(r.Namespace), maxNamespace)
	}
	if len(r.Addrs) > maxAddrs {
		return nil, fmt.Errorf("%d addresses, at most %d allowed", len(r.Addrs), maxAddrs)
	}
	b := appendBytes(nil, []byte(r.Peer))
	b = appendBytes(b, []byte(r.Namespace))
	b = binary.AppendUvarint(b, r.Seq)
	b = binary.AppendUvarint(b, uint64(len(r.Addrs)))
	for _, a := range r.Addrs {
		if len(a.Bytes()) > maxAddrLen {
			return nil, fmt.Errorf("address %s is longer than %d bytes", a, maxAddrLen)
		}
		b = appendBytes(b, a.Bytes())
	}
	return b, nil
}

func (r *responseRecord) UnmarshalRecord(b []byte) error {
	d := decoder{b: b}
	id := d.peerID()
	ns := d.namespace()
	seq := d.uvarint()
	n := d.uvarint()
	if n > maxAddrs {
		return fmt.Errorf("response record: %d addresses, at most %d allowed", n, maxAddrs)
	}
	addrs := make([]ma.Multiaddr, 0, n)
	for range n {
		if a := d.addr(); a != nil {
			addrs = append(addrs, a)
		}
	}
	if err := d.finish(); err != nil {
		return fmt.Errorf("response record: %w", err)
	}
	*r = responseRecord{Peer: id, Namespace: ns, Seq: seq, Addrs: addrs}
	return nil
}

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// decoder reads the fields of a record in order. The first error sticks
// and makes every later read return a zero value, so a caller reads all
// fields and checks finish once.
type decoder struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errTruncated)
		return 0
	}
	// Only the shortest encoding is accepted, so that a record has exactly
	// one encoding.
	if n > 1 && d.b[n-1] == 0 {
		d.fail(errors.New("non-minimal varint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(errTruncated)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// bytes returns the next length-prefixed field, refusing one over limit.
func (d *decoder) bytes(limit int) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(limit) {
		d.fail(fmt.Errorf("field of %d bytes, at most %d allowed", n, limit))
		return nil
	}
	if uint64(len(d.b)) < n {
		d.fail(errTruncated)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) peerID() peer.ID {
	b := d.bytes(128)
	if d.err != nil {
		return ""
	}
	id, err := peer.IDFromBytes(b)
	if err != nil {
		d.fail(fmt.Errorf("peer id: %w", err))
	}
	return id
}

func (d *decoder) namespace() string {
	return string(d.bytes(maxNamespace))
}

func (d *decoder) addr() ma.Multiaddr {
	b := d.bytes(maxAddrLen)
	if d.err != nil {
		return nil
	}
	a, err := ma.NewMultiaddrBytes(b)
	if err != nil {
		d.fail(fmt.Errorf("address: %w", err))
	}
	return a
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.b)))
	}
	return d.err
}
