package worker

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// wireSpec is what a gateway puts in a RunSpec, for tests.
type wireSpec struct {
	id                string
	module            []byte
	input, difficulty *int64
	args              []string // nil: no args list at all
	env               []string
	stdin             []byte
	timeoutMs         uint64
	memory, maxOutput uint64
	dirs              []string
}

// mustMarshalSpec encodes s as a RunSpec message, as the gateway does.
func mustMarshalSpec(tb testing.TB, s wireSpec) []byte {
	tb.Helper()
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		tb.Fatal(err)
	}
	ws, err := wire.NewRootRunSpec(seg)
	if err != nil {
		tb.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			tb.Helper()
			tb.Fatal(err)
		}
	}
	must(ws.SetTaskId(s.id))
	must(ws.SetModule(s.module))
	if s.input != nil {
		ws.SetHasInput(true)
		ws.SetInput(*s.input)
	}
	if s.difficulty != nil {
		ws.SetHasDifficulty(true)
		ws.SetDifficulty(*s.difficulty)
	}
	setTexts := func(alloc func(int32) (capnp.TextList, error), xs []string) {
		l, err := alloc(int32(len(xs)))
		must(err)
		for i, x := range xs {
			must(l.Set(i, x))
		}
	}
	if s.args != nil {
		setTexts(ws.NewArgs, s.args)
	}
	setTexts(ws.NewEnv, s.env)
	if s.stdin != nil {
		must(ws.SetStdin(s.stdin))
	}
	ws.SetTimeoutMs(s.timeoutMs)
	ws.SetMemory(s.memory)
	ws.SetMaxOutput(s.maxOutput)
	if s.dirs != nil {
		setTexts(ws.NewDirs, s.dirs)
	}
	b, err := msg.Marshal()
	must(err)
	return b
}

func readSpec(data []byte) (wire.RunSpec, error) {
	msg, err := capnp.Unmarshal(data)
	if err != nil {
		return wire.RunSpec{}, err
	}
	return wire.ReadRootRunSpec(msg)
}

func ptr(v int64) *int64 { return &v }

var hashModule = sha256.Sum256([]byte("module"))

func TestDecodeSpec(t *testing.T) {
	full := wireSpec{
		id: "task1", module: hashModule[:], input: ptr(-7), difficulty: ptr(3),
		args: []string{"a", "b c", ""}, env: []string{"K=V"}, stdin: []byte("in\x00put"),
		timeoutMs: 1500, memory: 1 << 20, maxOutput: 4096,
	}
	got, err := decodeRaw(mustMarshalSpec(t, full))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "task1" || got.Module != wasmrun.Hash(hashModule) || *got.Input != -7 || *got.Difficulty != 3 ||
		!slices.Equal(got.Args, full.args) || !slices.Equal(got.Env, full.env) || !bytes.Equal(got.Stdin, full.stdin) ||
		got.Timeout != 1500*time.Millisecond || got.Memory != 1<<20 || got.MaxOutput != 4096 {
		t.Fatalf("decoded %+v", got)
	}

	// No args list is the default argv; an empty one is argv[0] alone.
	got, err = decodeRaw(mustMarshalSpec(t, wireSpec{id: "t", module: hashModule[:]}))
	if err != nil || got.Args != nil || got.Input != nil || got.Difficulty != nil {
		t.Fatalf("minimal spec: %+v, %v", got, err)
	}
	got, err = decodeRaw(mustMarshalSpec(t, wireSpec{id: "t", module: hashModule[:], args: []string{}}))
	if err != nil || got.Args == nil || len(got.Args) != 0 {
		t.Fatalf("empty args: %#v, %v", got.Args, err)
	}

	for name, s := range map[string]wireSpec{
		"no module":    {id: "t"},
		"short module": {id: "t", module: hashModule[:31]},
		"long module":  {id: "t", module: append(hashModule[:], 0)},
	} {
		if _, err := decodeRaw(mustMarshalSpec(t, s)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// decodeRaw reads a RunSpec message and decodes it as Worker.run does.
func decodeRaw(data []byte) (wasmrun.Spec, error) {
	ws, err := readSpec(data)
	if err != nil {
		return wasmrun.Spec{}, err
	}
	s, _, err := decodeSpec(ws)
	return s, err
}

// FuzzDecodeSpec reads arbitrary bytes as a capnp message holding a
// RunSpec: decoding must never panic, and what it accepts must be what the
// message says.
func FuzzDecodeSpec(f *testing.F) {
	for _, s := range []wireSpec{
		{id: "task1", module: hashModule[:], input: ptr(1), difficulty: ptr(3), args: []string{"a", "b"},
			env: []string{"K=V", "A=B"}, stdin: []byte("stdin"), timeoutMs: 5000, memory: 1 << 20, maxOutput: 1 << 20},
		{id: "t", module: hashModule[:]},
		{id: "t", module: hashModule[:], args: []string{}},
		{id: "t", module: hashModule[:], dirs: []string{"data", "out"}},
		{module: hashModule[:5]},
	} {
		f.Add(mustMarshalSpec(f, s))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // one segment, a null root
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := readSpec(data)
		if err != nil {
			return
		}
		s, dirs, err := decodeSpec(ws)
		if err != nil {
			return
		}
		if want, _ := texts(ws.Dirs()); !slices.Equal(dirs, want) {
			t.Fatalf("dirs %q decoded as %q", want, dirs)
		}
		mod, _ := ws.Module()
		if !bytes.Equal(s.Module[:], mod) {
			t.Fatalf("module %x decoded as %x", mod, s.Module)
		}
		if (s.Input != nil) != ws.HasInput() || (s.Difficulty != nil) != ws.HasDifficulty() {
			t.Fatalf("input %v, difficulty %v decoded from hasInput %v, hasDifficulty %v", s.Input, s.Difficulty, ws.HasInput(), ws.HasDifficulty())
		}
		if ws.HasArgs() != (s.Args != nil) {
			t.Fatalf("args %#v decoded when HasArgs is %v", s.Args, ws.HasArgs())
		}
		if stdin, _ := ws.Stdin(); !bytes.Equal(stdin, s.Stdin) {
			t.Fatalf("stdin %q decoded as %q", stdin, s.Stdin)
		}
	})
}
