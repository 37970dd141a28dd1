package manual

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/runtime"
)

func TestGo(t *testing.T) {
	ctx := context.Background()
	r, err := runtime.New(ctx, runtime.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	for _, f := range []string{"/tmp/gowasm/cmd.wasm", "/tmp/gowasm/reactor.wasm"} {
		b, _ := os.ReadFile(f)
		abi, err := runtime.Inspect(ctx, b)
		t0 := time.Now()
		h, d, err2 := r.Compile(ctx, b)
		t.Logf("%s: inspect %v %v (%v) compile %v %v", f, abi, err, time.Since(t0)-d, d, err2)
		in, diff := int64(3), int64(5)
		for _, spec := range []runtime.Spec{
			{Module: h, Name: "task", Env: []string{"K=V"}, Stdin: []byte("stdin!"), Input: &in, Difficulty: &diff},
			{Module: h, Name: "task", Args: []string{"fail"}},
			{Module: h, Name: "task", Args: []string{"alloc"}, Memory: 64 << 20, Timeout: 10 * time.Second},
		} {
			res := r.Run(ctx, spec)
			t.Logf("  ok=%v code=%d out=%q err=%.200q inst=%v run=%v", res.OK, res.ExitCode, res.Output, res.Error, res.Instantiate, res.Run)
		}
	}
}
