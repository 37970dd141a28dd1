package worker

import (
	"reflect"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

var hashModule = wasmrun.HashOf([]byte("module"))

func ptr(v int64) *int64 { return &v }

// mustSend encodes s as the gateway does, and decodes it from the
// message's bytes as Worker.run does: what a worker gets of s.
func mustSend(tb testing.TB, s task.RunSpec) task.RunSpec {
	tb.Helper()
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		tb.Fatal(err)
	}
	ws, err := wire.NewRootRunSpec(seg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := rpc.EncodeRunSpec(ws, s); err != nil {
		tb.Fatal(err)
	}
	b, err := msg.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	if msg, err = capnp.Unmarshal(b); err != nil {
		tb.Fatal(err)
	}
	if ws, err = wire.ReadRootRunSpec(msg); err != nil {
		tb.Fatal(err)
	}
	got, err := rpc.DecodeRunSpec(ws)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// A run's spec reaches the runner whole: every field the gateway sends,
// the worker's directories of the names it gives (and no others), and the difference between no
// args (the default argv) and empty args (argv[0] alone).
func TestRunnerSpec(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Dirs = []wasmrun.Dir{{Name: "data", HostPath: t.TempDir()}, {Name: "out", HostPath: t.TempDir()}}
	w := &Worker{cfg: cfg}
	dirs := cfg.Dirs[:1]
	for _, c := range []struct {
		name string
		in   task.RunSpec
		want wasmrun.Spec
	}{
		{"every field", task.RunSpec{
			Ref: task.RunRef{Task: "task1", Index: 2, Attempt: 1}, Module: hashModule.String(),
			Input: ptr(-7), Difficulty: ptr(3), Args: []string{"a", "b c", ""}, Env: []string{"K=V"},
			Stdin: []byte("in\x00put"), Timeout: 1500 * time.Millisecond, Memory: 1 << 20, MaxOutput: 4096,
			Dirs: []string{"data"},
		}, wasmrun.Spec{
			Module: hashModule, Name: "task1", Input: ptr(-7), Difficulty: ptr(3), Args: []string{"a", "b c", ""},
			Env: []string{"K=V"}, Stdin: []byte("in\x00put"), Dirs: dirs, Timeout: 1500 * time.Millisecond,
			Memory: 1 << 20, MaxOutput: 4096,
		}},
		{"minimal", task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: hashModule.String()},
			wasmrun.Spec{Module: hashModule, Name: "t"}},
		{"empty args", task.RunSpec{Ref: task.RunRef{Task: "t"}, Module: hashModule.String(), Args: []string{}},
			wasmrun.Spec{Module: hashModule, Name: "t", Args: []string{}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := w.runnerSpec(mustSend(t, c.in))
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("runner spec\n%#v, %v\nwant\n%#v", got, err, c.want)
			}
		})
	}
}

// What the worker measured of a run reaches the gateway.
func TestReport(t *testing.T) {
	o := outcome{
		Result: wasmrun.Result{OK: true, ExitCode: 3, Output: "out", Truncated: true, Error: "e", NotCompiled: true,
			Instantiate: 4 * time.Millisecond, Run: 5 * time.Second},
		fetch: 1, compile: 2, wait: 3, module: moduleFetched,
	}
	want := task.Outcome{OK: true, ExitCode: 3, Result: "out", Error: "e", Truncated: true,
		Timing: task.Timing{Queue: 3, Fetch: 1, Compile: 2, Instantiate: 4 * time.Millisecond, Exec: 5 * time.Second}}
	if got := o.report(); !reflect.DeepEqual(got, want) {
		t.Fatalf("report %+v, want %+v", got, want)
	}
}
