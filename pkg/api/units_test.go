package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

func TestParseSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "0", want: 0},
		{in: "5", want: 5 * time.Second},
		{in: "1.5", want: 1500 * time.Millisecond},
		{in: "1m30s", want: 90 * time.Second},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "-1", err: "must not be negative"},
		{in: "-2s", err: "must not be negative"},
		{in: "1e12", err: "must be at most"},
		{in: "9000h", err: "must be at most"},
		{in: "NaN", err: "neither a number of seconds nor a duration"},
		{in: "", err: "neither"},
		{in: "soon", err: "neither"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := api.ParseSeconds(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("api.ParseSeconds(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("api.ParseSeconds(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 bytes", 512: "512 bytes", 4 << 30: "4 GiB", 64 << 20: "64 MiB", 1536: "1.5 KiB", 3<<30 + 1<<29: "3.5 GiB"} {
		if got := api.FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
		if !strings.Contains(want, ".") {
			if back, err := api.ParseBytes(api.FormatBytes(n)); err != nil || back != n {
				t.Errorf("ParseBytes(FormatBytes(%d)) = %d, %v", n, back, err)
			}
		}
	}
}
