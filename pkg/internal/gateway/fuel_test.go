package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

// Fuel is the same for the same module and input on every worker, a run
// past a task's fuel limit fails with "fuel exhausted", and the gateway
// counts the fuel of the runs it recorded.
func TestFuelAcrossWorkers(t *testing.T) {
	// Slots only (no short runs queued on one worker), so both work.
	cfg := gateway.DefaultConfig()
	cfg.ShortDepth = 1
	m := meshtest.Start(t, meshtest.Options{Workers: 2, Slots: 1, Gateway: &cfg})
	m.WaitWorkers(2)
	const n = 12
	// Submitted at once, so that the runs overlap and both workers take
	// some (one after the other, they would all go to the warm worker).
	errs := make(chan error, n)
	input, difficulty := int64(7), int64(2)
	for i := range n {
		go func() {
			_, err := m.Gateway.SubmitUpload(context.Background(), task.Spec{ID: fmt.Sprint("f", i), Input: &input, Difficulty: &difficulty}, wasm.HashC)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	fuel := map[string]uint64{} // by worker
	var total uint64
	for i := range n {
		v := waitDone(t, m.URL, fmt.Sprint("f", i))
		r := v.Runs[0]
		if v.Status != task.Succeeded || r.Fuel == 0 {
			t.Fatalf("f%d: %s, fuel %d: %+v", i, v.Status, r.Fuel, r)
		}
		if f, seen := fuel[r.Worker]; seen && f != r.Fuel {
			t.Fatalf("worker %s reported fuel %d and %d for the same module and input", r.Worker, f, r.Fuel)
		}
		fuel[r.Worker] = r.Fuel
		total += r.Fuel
	}
	if len(fuel) != 2 {
		t.Fatalf("runs went to %d workers, want both: %v", len(fuel), fuel)
	}
	var one uint64
	for _, f := range fuel {
		if one != 0 && f != one {
			t.Fatalf("the two workers counted different fuel for the same run: %v", fuel)
		}
		one = f
	}
	t.Logf("fuel of one run, on both workers: %d", one)

	mustPost(t, m.URL, field{name: "id", value: "starved"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "7"}, field{name: "difficulty", value: "2"}, field{name: "fuel", value: fmt.Sprint(one / 2)})
	v := waitDone(t, m.URL, "starved")
	if v.Status != task.Failed || !strings.HasPrefix(v.Runs[0].Error, "fuel exhausted") || v.Fuel != one/2 {
		t.Fatalf("a run given half the fuel it needs: %s %q (limit shown %d)", v.Status, v.Runs[0].Error, v.Fuel)
	}
	mustPost(t, m.URL, field{name: "id", value: "enough"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "7"}, field{name: "difficulty", value: "2"}, field{name: "fuel", value: fmt.Sprint(one)})
	if v := waitDone(t, m.URL, "enough"); v.Status != task.Succeeded || v.Runs[0].Fuel != one {
		t.Fatalf("a run given exactly the fuel it needs: %s %q fuel %d", v.Status, v.Runs[0].Error, v.Runs[0].Fuel)
	}
	total += one

	// The starved run's fuel is counted too: it used its whole limit. The
	// gateway counts a run after recording it, so the counter may trail
	// the API by a moment.
	var counted float64
	meshtest.Eventually(t, "shoal_fuel_total to count every run", func() bool {
		counted = meshtest.Scrape(t, m.URL+"/metrics").Value("shoal_fuel_total", "owner", "")
		return counted >= float64(total)
	})
	if counted > float64(total+one) {
		t.Fatalf("shoal_fuel_total = %v, want the runs' %d plus at most one limit", counted, total)
	}
}
