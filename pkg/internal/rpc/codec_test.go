package rpc_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// mustMessage makes a root struct with newRoot, fills it with fill, and
// returns the message's bytes, as a peer would send them.
func mustMessage[T any](tb testing.TB, newRoot func(*capnp.Segment) (T, error), fill func(T) error) []byte {
	tb.Helper()
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		tb.Fatal(err)
	}
	root, err := newRoot(seg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := fill(root); err != nil {
		tb.Fatal(err)
	}
	b, err := msg.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// readRoot reads the root struct of a message's bytes.
func readRoot[T any](data []byte, read func(*capnp.Message) (T, error)) (T, error) {
	msg, err := capnp.Unmarshal(data)
	if err != nil {
		var zero T
		return zero, err
	}
	return read(msg)
}

// mustRoundTrip encodes v with encode into a new message and decodes it
// from the message's bytes with decode.
func mustRoundTrip[T, V any](tb testing.TB, newRoot func(*capnp.Segment) (T, error), read func(*capnp.Message) (T, error),
	encode func(T, V) error, decode func(T) (V, error), v V) V {
	tb.Helper()
	data := mustMessage(tb, newRoot, func(root T) error { return encode(root, v) })
	root, err := readRoot(data, read)
	if err != nil {
		tb.Fatal(err)
	}
	got, err := decode(root)
	if err != nil {
		tb.Fatalf("decode %+v: %v", v, err)
	}
	return got
}

func ptr(v int64) *int64 { return &v }

const module = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func roundTripSpec(tb testing.TB, s task.RunSpec) task.RunSpec {
	tb.Helper()
	return mustRoundTrip(tb, wire.NewRootRunSpec, wire.ReadRootRunSpec, rpc.EncodeRunSpec, rpc.DecodeRunSpec, s)
}

func TestRunSpecRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name string
		in   task.RunSpec
		want task.RunSpec // when not in itself
	}{
		{name: "every field", in: task.RunSpec{
			Ref:    task.RunRef{Task: "task1", Index: 999_999, Attempt: 101},
			Module: module, Input: ptr(-7), Difficulty: ptr(math.MaxInt64),
			Args: []string{"a", "b c", ""}, Env: []string{"K=V", "A="}, Stdin: []byte("in\x00put"),
			Timeout: 1500 * time.Millisecond, Memory: math.MaxUint64, MaxOutput: math.MaxInt32, Fuel: math.MaxUint64,
			Dirs: []string{"data", "out"}, Proc: "hello/0#1.3", Parent: "hello/0#1",
		}},
		{name: "only what is required", in: task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: module}},
		{name: "zeros are not absent", in: task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: module, Input: ptr(0), Difficulty: ptr(0)}},
		// No args list is the default argv; an empty one is argv[0] alone.
		{name: "empty args", in: task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: module, Args: []string{}}},
		{name: "empty lists and stdin are absent",
			in:   task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: module, Env: []string{}, Stdin: []byte{}, Dirs: []string{}},
			want: task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: module}},
		{name: "the timeout travels in milliseconds",
			in:   task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: module, Timeout: 2*time.Second + 999*time.Microsecond},
			want: task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: module, Timeout: 2 * time.Second}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			if want.Module == "" {
				want = c.in
			}
			if got := roundTripSpec(t, c.in); !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded\n%#v\nwant\n%#v", got, want)
			}
		})
	}
}

// Values no gateway sends fail to decode, with an error naming the field,
// rather than overflow into another meaning (a negative timeout or output
// limit is "no limit" to the runner).
func TestDecodeRunSpecOutOfRange(t *testing.T) {
	for _, c := range []struct {
		name string
		fill func(wire.RunSpec) error
		want string
	}{
		{"no module", func(s wire.RunSpec) error { return nil }, "runSpec.module of 0 bytes"},
		{"short module", func(s wire.RunSpec) error { return s.SetModule(make([]byte, 31)) }, "runSpec.module of 31 bytes"},
		{"long module", func(s wire.RunSpec) error { return s.SetModule(make([]byte, 33)) }, "runSpec.module of 33 bytes"},
		{"timeout", func(s wire.RunSpec) error {
			s.SetTimeoutMs(math.MaxInt64/uint64(time.Millisecond) + 1)
			return s.SetModule(make([]byte, 32))
		}, "runSpec.timeoutMs 9223372036855 over 9223372036854"},
		{"timeout at the top", func(s wire.RunSpec) error {
			s.SetTimeoutMs(math.MaxUint64)
			return s.SetModule(make([]byte, 32))
		}, "runSpec.timeoutMs 18446744073709551615 over"},
		{"max output", func(s wire.RunSpec) error {
			s.SetMaxOutput(math.MaxInt32 + 1)
			return s.SetModule(make([]byte, 32))
		}, "runSpec.maxOutput 2147483648 over 2147483647"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := readRoot(mustMessage(t, wire.NewRootRunSpec, c.fill), wire.ReadRootRunSpec)
			if err != nil {
				t.Fatal(err)
			}
			_, err = rpc.DecodeRunSpec(s)
			if !errors.Is(err, rpc.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("decoded with %v, want %q", err, c.want)
			}
		})
	}
}

// What cannot travel is refused, not wrapped into another value.
func TestEncodeRunSpecOutOfRange(t *testing.T) {
	ok := task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: module}
	for name, change := range map[string]func(*task.RunSpec){
		"module not hex":      func(s *task.RunSpec) { s.Module = strings.Repeat("x", 64) },
		"short module":        func(s *task.RunSpec) { s.Module = module[:62] },
		"negative timeout":    func(s *task.RunSpec) { s.Timeout = -time.Second },
		"negative max output": func(s *task.RunSpec) { s.MaxOutput = -1 },
		"negative index":      func(s *task.RunSpec) { s.Ref.Index = -1 },
		"attempt too large":   func(s *task.RunSpec) { s.Ref.Attempt = math.MaxUint32 + 1 },
	} {
		t.Run(name, func(t *testing.T) {
			s := ok
			change(&s)
			mustMessage(t, wire.NewRootRunSpec, func(dst wire.RunSpec) error {
				if err := rpc.EncodeRunSpec(dst, s); !errors.Is(err, rpc.ErrMalformed) {
					t.Errorf("encoded with %v", err)
				}
				return nil
			})
		})
	}
}

func TestRunResultRoundTrip(t *testing.T) {
	for name, o := range map[string]task.Outcome{
		"every field": {OK: true, ExitCode: -1, Result: "42\n", Error: "trap: unreachable", Truncated: true, Fuel: 1 << 40, Timing: task.Timing{
			Queue: 1, Fetch: 2 * time.Millisecond, Compile: 3 * time.Second, Instantiate: 4, Exec: math.MaxInt64,
		}},
		"zero": {},
	} {
		t.Run(name, func(t *testing.T) {
			got := mustRoundTrip(t, wire.NewRootRunResult, wire.ReadRootRunResult, rpc.EncodeRunResult, rpc.DecodeRunResult, o)
			if !reflect.DeepEqual(got, o) {
				t.Fatalf("decoded %+v, want %+v", got, o)
			}
		})
	}
	// What is the gateway's, not the worker's, does not travel.
	o := task.Outcome{Lost: true, Timing: task.Timing{Placement: 1, Total: 2}}
	if got := mustRoundTrip(t, wire.NewRootRunResult, wire.ReadRootRunResult, rpc.EncodeRunResult, rpc.DecodeRunResult, o); !reflect.DeepEqual(got, task.Outcome{}) {
		t.Fatalf("decoded %+v", got)
	}
}

func TestDecodeRunResultNegativeTime(t *testing.T) {
	for field, set := range map[string]func(wire.RunResult){
		"waitNs":        func(r wire.RunResult) { r.SetWaitNs(-1) },
		"fetchNs":       func(r wire.RunResult) { r.SetFetchNs(-1) },
		"compileNs":     func(r wire.RunResult) { r.SetCompileNs(-1) },
		"instantiateNs": func(r wire.RunResult) { r.SetInstantiateNs(-1) },
		"runNs":         func(r wire.RunResult) { r.SetRunNs(math.MinInt64) },
	} {
		r, err := readRoot(mustMessage(t, wire.NewRootRunResult, func(r wire.RunResult) error { set(r); return nil }), wire.ReadRootRunResult)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rpc.DecodeRunResult(r); !errors.Is(err, rpc.ErrMalformed) || !strings.Contains(err.Error(), "runResult."+field) {
			t.Errorf("%s: decoded with %v", field, err)
		}
		mustMessage(t, wire.NewRootRunResult, func(dst wire.RunResult) error {
			tm := map[string]task.Timing{"waitNs": {Queue: -1}, "fetchNs": {Fetch: -1}, "compileNs": {Compile: -1},
				"instantiateNs": {Instantiate: -1}, "runNs": {Exec: -1}}[field]
			if err := rpc.EncodeRunResult(dst, task.Outcome{Timing: tm}); !errors.Is(err, rpc.ErrMalformed) {
				t.Errorf("%s: encoded with %v", field, err)
			}
			return nil
		})
	}
}

func roundTripOffer(tb testing.TB, o rpc.Offer) rpc.Offer {
	tb.Helper()
	encode := func(dst wire.Offer, o rpc.Offer) error { return rpc.EncodeOffer(dst, wire.Worker{}, o) }
	return mustRoundTrip(tb, wire.NewRootOffer, wire.ReadRootOffer, encode, rpc.DecodeOffer, o)
}

func TestOfferRoundTrip(t *testing.T) {
	for name, o := range map[string]rpc.Offer{
		"every field": {
			Free:   rpc.Resources{Slots: math.MaxUint32, Memory: math.MaxUint64, Millicores: 1500},
			Labels: []string{"gpu", "dir:data", ""}, Cached: []string{module, strings.Repeat("0", 64)}, Version: "v1.2.3",
		},
		"zero": {},
	} {
		t.Run(name, func(t *testing.T) {
			if got := roundTripOffer(t, o); !reflect.DeepEqual(got, o) {
				t.Fatalf("decoded %+v, want %+v", got, o)
			}
		})
	}
	// Empty lists are absent.
	if got := roundTripOffer(t, rpc.Offer{Labels: []string{}, Cached: []string{}}); !reflect.DeepEqual(got, rpc.Offer{}) {
		t.Fatalf("decoded %+v", got)
	}
}

func TestOfferOutOfRange(t *testing.T) {
	o, err := readRoot(mustMessage(t, wire.NewRootOffer, func(o wire.Offer) error {
		l, err := o.NewCached(2)
		if err != nil {
			return err
		}
		if err := l.Set(0, make([]byte, 32)); err != nil {
			return err
		}
		return l.Set(1, make([]byte, 20))
	}), wire.ReadRootOffer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rpc.DecodeOffer(o); !errors.Is(err, rpc.ErrMalformed) || !strings.Contains(err.Error(), "offer.cached [1] of 20 bytes") {
		t.Errorf("decoded with %v", err)
	}
	for name, o := range map[string]rpc.Offer{
		"negative slots":      {Free: rpc.Resources{Slots: -1}},
		"too many millicores": {Free: rpc.Resources{Millicores: math.MaxUint32 + 1}},
		"cached not hex":      {Cached: []string{"sha256:" + module}},
	} {
		mustMessage(t, wire.NewRootOffer, func(dst wire.Offer) error {
			if err := rpc.EncodeOffer(dst, wire.Worker{}, o); !errors.Is(err, rpc.ErrMalformed) {
				t.Errorf("%s: encoded with %v", name, err)
			}
			return nil
		})
	}
}

// A run reference travels in a RunSpec and in LogSink.write's parameters.
func TestRunRefRoundTrip(t *testing.T) {
	for _, ref := range []task.RunRef{{}, {Task: "task-1", Index: math.MaxUint32, Attempt: 7}} {
		got := mustRoundTrip(t, wire.NewRootLogSink_write_Params, wire.ReadRootLogSink_write_Params,
			func(dst wire.LogSink_write_Params, r task.RunRef) error { return rpc.EncodeRunRef(dst, r) },
			func(src wire.LogSink_write_Params) (task.RunRef, error) { return rpc.DecodeRunRef(src) }, ref)
		if got != ref {
			t.Errorf("decoded %v, want %v", got, ref)
		}
	}
}

// answer is a process call's answer as the generated code has it.
type answer struct {
	code   int32
	reason string
}

func (a *answer) SetCode(c int32)          { a.code = c }
func (a *answer) SetReason(r string) error { a.reason = r; return nil }
func (a *answer) Reason() (string, error)  { return a.reason, nil }

// A process call's error keeps its sentinel and its reason across the
// wire.
func TestProcessErrorRoundTrip(t *testing.T) {
	for _, sentinel := range []error{proc.ErrInvalid, proc.ErrClosed, proc.ErrTimeout, proc.ErrFailed, proc.ErrTooBig, proc.ErrSpawn, proc.ErrUnsupported} {
		var a answer
		sent := fmt.Errorf("%w: because", sentinel)
		if err := rpc.EncodeError(&a, sent); err != nil {
			t.Fatal(err)
		}
		got := rpc.DecodeError(a.code, a.Reason)
		if !errors.Is(got, sentinel) || got.Error() != sent.Error() {
			t.Errorf("%v came back as %v", sent, got)
		}
	}
	var a answer
	if err := rpc.EncodeError(&a, nil); err != nil || a.code != 0 || rpc.DecodeError(a.code, a.Reason) != nil {
		t.Errorf("no error came back as code %d, %v", a.code, rpc.DecodeError(a.code, a.Reason))
	}
	if got := rpc.DecodeError(-99, func() (string, error) { return "a code from a newer peer", nil }); !errors.Is(got, proc.ErrFailed) {
		t.Errorf("an unknown code: %v", got)
	}
}
