package worker

import (
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// TestConfigPreempt: --preempt takes the runner's two ways to stop a run,
// instrument by default, and nothing else.
func TestConfigPreempt(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.Runtime.Preempt != wasmrun.PreemptInstrument {
		t.Errorf("default preempt %q; want %q", cfg.Runtime.Preempt, wasmrun.PreemptInstrument)
	}
	for _, p := range []string{wasmrun.PreemptInstrument, wasmrun.PreemptWazero} {
		cfg.Runtime.Preempt = p
		if err := cfg.Validate(); err != nil {
			t.Errorf("preempt %q: %v", p, err)
		}
	}
	cfg.Runtime.Preempt = "signals"
	if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "preempt: ") {
		t.Errorf("preempt signals: Validate = %v; want an error naming preempt", err)
	}
}
