package task

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseBytes reads a byte count written as digits with an optional KiB,
// MiB or GiB suffix ("67108864", "64MiB"), as the HTTP form and the CLI
// flags accept it.
func ParseBytes(x string) (uint64, error) {
	s := strings.TrimSpace(x)
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > math.MaxUint64/mult {
		return 0, fmt.Errorf("%q is not a byte count (like 67108864 or 64MiB)", x)
	}
	return n * mult, nil
}
