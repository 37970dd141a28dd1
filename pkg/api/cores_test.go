package api_test

import (
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
)

func TestParseCores(t *testing.T) {
	for in, want := range map[string]api.Millicores{
		"0": 0, "2": 2000, "0.25": 250, "1/16": 63, "1/4": 250, "250m": 250, " 1.5 ": 1500, "1024": 1024000, "1e-12": 1,
	} {
		got, err := api.ParseCores(in)
		if err != nil || got != want {
			t.Errorf("ParseCores(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back, err := api.ParseCores(got.String()); err != nil || back != got {
			t.Errorf("ParseCores(%q.String() = %q) = %d, %v", in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "lots", "-1", "1/0", "1/-2", "NaN", "Inf", "1025", "1e9", "x/2", "m"} {
		if _, err := api.ParseCores(bad); err == nil {
			t.Errorf("ParseCores(%q) took it", bad)
		}
	}
}
