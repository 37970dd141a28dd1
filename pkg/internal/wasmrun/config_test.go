package wasmrun_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*wasmrun.Config)
		field string // "" = valid
	}{
		{name: "default", edit: func(*wasmrun.Config) {}},
		{name: "one page", edit: func(c *wasmrun.Config) { c.MemoryLimit = 64 << 10 }},
		{name: "4 GiB", edit: func(c *wasmrun.Config) { c.MemoryLimit = 4 << 30 }},
		{name: "no memory", edit: func(c *wasmrun.Config) { c.MemoryLimit = 0 }, field: "MemoryLimit"},
		{name: "under a page", edit: func(c *wasmrun.Config) { c.MemoryLimit = 1000 }, field: "MemoryLimit"},
		{name: "over 4 GiB", edit: func(c *wasmrun.Config) { c.MemoryLimit = 5 << 30 }, field: "MemoryLimit"},
		{name: "no output", edit: func(c *wasmrun.Config) { c.MaxOutput = 0 }, field: "MaxOutput"},
		{name: "bounded module cache", edit: func(c *wasmrun.Config) { c.ModuleCacheBytes = 1 }},
		{name: "negative module cache", edit: func(c *wasmrun.Config) { c.ModuleCacheBytes = -1 }, field: "ModuleCacheBytes"},
		{name: "preempt wazero", edit: func(c *wasmrun.Config) { c.Preempt = wasmrun.PreemptWazero }},
		{name: "no preempt", edit: func(c *wasmrun.Config) { c.Preempt = "" }, field: "Preempt"},
		{name: "unknown preempt", edit: func(c *wasmrun.Config) { c.Preempt = "signals" }, field: "Preempt"},
		{name: "negative output", edit: func(c *wasmrun.Config) { c.MaxOutput = -1 }, field: "MaxOutput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := wasmrun.DefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate = %v; want an error naming %s", err, tt.field)
			}
			if _, err := wasmrun.New(context.Background(), cfg); err == nil {
				t.Fatal("New accepted an invalid Config")
			}
		})
	}
}
