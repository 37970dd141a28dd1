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

func TestFormatCores(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "2": "2", "1/16": "1/16", "31/16": "31/16", "15/8": "15/8", "0.5": "1/2", "1.5": "3/2", "0.3": "0.3", "250m": "1/4", "1m": "0.001",
	} {
		m, err := api.ParseCores(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := api.FormatCores(m); got != want {
			t.Errorf("FormatCores(%d) = %q, want %q", m, got, want)
		}
		if back, err := api.ParseCores(api.FormatCores(m)); err != nil || back != m {
			t.Errorf("ParseCores(FormatCores(%d)) = %d, %v", m, back, err)
		}
	}
}
