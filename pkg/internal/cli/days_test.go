package cli

import (
	"testing"
	"time"
)

// --retain takes whole days, days and a duration, or a duration; anything
// else is refused with an example.
func TestDaysFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "0": 0,
	} {
		var d days
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("%q: %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{"", "d", "7x", "-1h", "1.5d", "7d-1h"} {
		var d days
		if err := d.Set(in); err == nil {
			t.Errorf("%q was taken as %v", in, time.Duration(d))
		}
	}
	if d := days(7 * 24 * time.Hour); d.String() != "7d" {
		t.Errorf("7 days print as %q", d.String())
	}
}
