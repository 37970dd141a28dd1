package rpc

import (
	"encoding/hex"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Offer is what a worker puts at its gateway's disposal (the wire's Offer
// less its Worker capability, which EncodeOffer takes on its own and the
// gateway reads from the message).
type Offer struct {
	Free    Resources
	Labels  []string
	Cached  []string // sha256 of the modules the worker holds compiled, lowercase hex
	Version string   // of the worker's build
	// Held are the runs the worker went on with after it lost its
	// gateway (Offer.held): the gateway adopts those it still wants.
	Held []task.RunRef
}

// Resources are what a worker offers.
type Resources struct {
	Slots      int    // runs at once
	Memory     uint64 // bytes of linear memory for all its runs together; 0 = not accounted
	Millicores int
}

// EncodeOffer writes o, with the worker capability self (which the message
// then owns), into dst. Empty lists travel as absent.
func EncodeOffer(dst wire.Offer, self wire.Worker, o Offer) error {
	if err := dst.SetWorker(self); err != nil {
		return err
	}
	slots, err := toUint32("offer", "free.slots", o.Free.Slots)
	if err != nil {
		return err
	}
	millicores, err := toUint32("offer", "free.millicores", o.Free.Millicores)
	if err != nil {
		return err
	}
	cached := make([][]byte, len(o.Cached))
	for i, h := range o.Cached {
		if cached[i], err = hex.DecodeString(h); err != nil || len(cached[i]) != 32 {
			return malformed("offer", "cached", "%q is not a sha256 in hex", h)
		}
	}
	free, err := dst.NewFree()
	if err != nil {
		return err
	}
	free.SetSlots(slots)
	free.SetMemory(o.Free.Memory)
	free.SetMillicores(millicores)
	if err := setTexts(dst.NewLabels, o.Labels); err != nil {
		return err
	}
	if len(cached) > 0 {
		l, err := dst.NewCached(int32(len(cached)))
		if err != nil {
			return err
		}
		for i, h := range cached {
			if err := l.Set(i, h); err != nil {
				return err
			}
		}
	}
	if len(o.Held) > 0 {
		l, err := dst.NewHeld(int32(len(o.Held)))
		if err != nil {
			return err
		}
		for i, r := range o.Held {
			if err := EncodeRunRef(l.At(i), r); err != nil {
				return err
			}
		}
	}
	if o.Version == "" {
		return nil
	}
	return dst.SetVersion(o.Version)
}

// maxHeld bounds an offer's held runs: a worker holds at most one a
// slot.
const maxHeld = 4096

// DecodeOffer reads the data of an offer a peer sent; a cached hash that
// is not 32 bytes fails (ErrMalformed). It does not look at the worker
// capability.
func DecodeOffer(src wire.Offer) (Offer, error) {
	free, err := src.Free()
	if err != nil {
		return Offer{}, err
	}
	o := Offer{Free: Resources{Slots: int(free.Slots()), Memory: free.Memory(), Millicores: int(free.Millicores())}}
	if o.Labels, err = texts(src.Labels()); err != nil {
		return Offer{}, err
	}
	cached, err := src.Cached()
	if err != nil {
		return Offer{}, err
	}
	for i := range cached.Len() {
		h, err := cached.At(i)
		if err != nil {
			return Offer{}, err
		}
		if len(h) != 32 {
			return Offer{}, malformed("offer", "cached", "[%d] of %d bytes, not a sha256", i, len(h))
		}
		o.Cached = append(o.Cached, hex.EncodeToString(h))
	}
	if o.Version, err = src.Version(); err != nil {
		return Offer{}, err
	}
	held, err := src.Held()
	if err != nil {
		return Offer{}, err
	}
	if held.Len() > maxHeld {
		return Offer{}, malformed("offer", "held", "%d runs: at most %d", held.Len(), maxHeld)
	}
	for i := range held.Len() {
		r, err := DecodeRunRef(held.At(i))
		if err != nil {
			return Offer{}, err
		}
		o.Held = append(o.Held, r)
	}
	return o, nil
}
