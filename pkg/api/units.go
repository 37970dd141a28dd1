package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseSeconds reads a time the way every time field of the API and every
// time flag of the CLI takes it: a number of seconds, fractions allowed
// ("5", "0.25"), or a Go duration ("1m30s", "250ms"). It must not be
// negative, nor longer than MaxSeconds, nor between 0 and a millisecond.
func ParseSeconds(x string) (time.Duration, error) {
	v := strings.TrimSpace(x)
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
		d, derr := time.ParseDuration(v)
		if derr != nil {
			return 0, fmt.Errorf("%q is neither a number of seconds nor a duration like 1m30s", x)
		}
		secs = d.Seconds()
	}
	switch {
	case secs < 0:
		return 0, fmt.Errorf("must not be negative, got %s", v)
	case secs > MaxSeconds:
		return 0, fmt.Errorf("must be at most %d seconds, got %s", MaxSeconds, v)
	case secs > 0 && secs < 0.001:
		return 0, fmt.Errorf("must be 0 or at least 0.001 seconds, got %s", v)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// FormatSeconds writes d as the API writes times: seconds, fractions
// allowed ("1.5").
func FormatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// ParseBytes reads a byte count written as digits with an optional KiB,
// MiB or GiB suffix ("67108864", "64MiB", "64 MiB", "100 bytes"), as the
// API and the CLI take it.
func ParseBytes(x string) (uint64, error) {
	s := strings.TrimSpace(x)
	mult := uint64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(s, u.name); ok {
			s, mult = strings.TrimSpace(rest), u.size
			break
		}
	}
	if mult == 1 {
		s = strings.TrimSpace(strings.TrimSuffix(s, " bytes"))
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > math.MaxUint64/mult {
		return 0, fmt.Errorf("%q is not a byte count (like 67108864 or 64MiB)", x)
	}
	return n * mult, nil
}

var byteUnits = []struct {
	name string
	size uint64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// FormatBytes writes n in the largest binary unit it reaches: "64 MiB",
// "1.5 GiB", "100 bytes". ParseBytes reads back what it writes for whole
// units.
func FormatBytes(n uint64) string {
	for _, u := range byteUnits {
		if n >= u.size {
			if n%u.size == 0 {
				return strconv.FormatUint(n/u.size, 10) + " " + u.name
			}
			return strconv.FormatFloat(float64(n)/float64(u.size), 'f', 1, 64) + " " + u.name
		}
	}
	return strconv.FormatUint(n, 10) + " bytes"
}
