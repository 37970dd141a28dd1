package rpc_test

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// FuzzDecodeRunSpec reads arbitrary bytes as a capnp message holding a
// RunSpec, as a worker reads what a gateway sends: decoding must never
// panic, what it accepts must be what the message says, and it must
// travel again unchanged.
func FuzzDecodeRunSpec(f *testing.F) {
	for _, s := range []task.RunSpec{
		{Ref: task.RunRef{Task: "task1", Index: 3, Attempt: 1}, Module: module, Input: ptr(1), Difficulty: ptr(3),
			Args: []string{"a", "b"}, Env: []string{"K=V", "A=B"}, Stdin: []byte("stdin"),
			Timeout: 5 * time.Second, Memory: 1 << 20, MaxOutput: 1 << 20},
		{Ref: task.RunRef{Task: "t"}, Module: module},
		{Ref: task.RunRef{Task: "t"}, Module: module, Args: []string{}},
		{Ref: task.RunRef{Task: "t"}, Module: module, Dirs: []string{"data", "out"}},
	} {
		f.Add(mustMessage(f, wire.NewRootRunSpec, func(dst wire.RunSpec) error { return rpc.EncodeRunSpec(dst, s) }))
	}
	f.Add(mustMessage(f, wire.NewRootRunSpec, func(dst wire.RunSpec) error { return dst.SetModule([]byte("short")) }))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // one segment, a null root
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := readRoot(data, wire.ReadRootRunSpec)
		if err != nil {
			return
		}
		s, err := rpc.DecodeRunSpec(ws)
		if err != nil {
			return
		}
		if mod, _ := ws.Module(); s.Module != hex.EncodeToString(mod) {
			t.Fatalf("module %x decoded as %s", mod, s.Module)
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
		if s.Timeout < 0 || s.MaxOutput < 0 {
			t.Fatalf("limits decoded negative: timeout %v, max output %d", s.Timeout, s.MaxOutput)
		}
		if again := roundTripSpec(t, s); !reflect.DeepEqual(again, s) {
			t.Fatalf("decoded %#v, then after a round trip %#v", s, again)
		}
	})
}
