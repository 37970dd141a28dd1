package wasmrun_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// TestRunConcurrent runs one compiled module 50 times at once, next to
// commands, failing runs and runs checking that their memory starts zeroed,
// and checks that each run saw its own instance.
func TestRunConcurrent(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	ww := MustCompile(t, r, "ww_add")
	echo := MustCompile(t, r, "echo")
	bomb := MustCompile(t, r, "membomb")
	loop := MustCompile(t, r, "loop")
	leak := MustCompile(t, r, "leak")

	const runs = 50
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() {
			got := r.Run(context.Background(), wasmrun.Spec{Module: ww, Input: ptr(int64(i)), Difficulty: ptr(1000)})
			checkResult(t, got, wasmrun.Result{OK: true, Output: strconv.Itoa(i + 1000)}, "")
		})
		wg.Go(func() {
			got := r.Run(context.Background(), wasmrun.Spec{Module: leak, Input: ptr(int64(i + 1)), Difficulty: ptr(int64(i % 5))})
			checkResult(t, got, wasmrun.Result{OK: true, Output: "0"}, "")
		})
		wg.Go(func() {
			name := fmt.Sprintf("task%d", i)
			got := r.Run(context.Background(), wasmrun.Spec{Module: echo, Name: name, Stdin: []byte(name)})
			checkResult(t, got, wasmrun.Result{OK: true, Output: name + "\n" + name}, "")
		})
	}
	for range 2 {
		wg.Go(func() {
			got := r.Run(context.Background(), wasmrun.Spec{Module: bomb, Memory: 1 << 20})
			checkResult(t, got, wasmrun.Result{ExitCode: -1}, "memory limit of 1 MiB exceeded")
		})
		wg.Go(func() {
			got := r.Run(context.Background(), wasmrun.Spec{Module: loop, Timeout: 50 * time.Millisecond})
			checkResult(t, got, wasmrun.Result{ExitCode: -1}, "time limit of 50ms exceeded")
		})
	}
	wg.Wait()
}
