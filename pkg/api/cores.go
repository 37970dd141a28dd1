package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Millicores counts CPU in thousandths of a core: 250 is a quarter core.
type Millicores uint32

// MaxCores bounds what a task may reserve and a worker may offer.
const MaxCores = 1024

// Cores is m in cores.
func (m Millicores) Cores() float64 { return float64(m) / 1000 }

// String writes m as ParseCores reads it: "0.25", "2".
func (m Millicores) String() string { return strconv.FormatFloat(m.Cores(), 'f', -1, 64) }

// ParseCores reads a number of cores as Hadean's configs write it: a
// decimal ("0.25", "2"), a fraction ("1/16"), or millicores ("250m"). A
// fraction of a millicore rounds up, so a reservation is never smaller
// than asked; 0 means none. At most MaxCores.
func ParseCores(x string) (Millicores, error) {
	s := strings.TrimSpace(x)
	bad := fmt.Errorf("%q is not a number of cores (like 0.25, 1/16, 2 or 250m)", x)
	var cores float64
	var err error
	if num, den, ok := strings.Cut(s, "/"); ok {
		n, err1 := strconv.ParseFloat(strings.TrimSpace(num), 64)
		d, err2 := strconv.ParseFloat(strings.TrimSpace(den), 64)
		if err1 != nil || err2 != nil || !(d > 0) {
			return 0, bad
		}
		cores = n / d
	} else if m, ok := strings.CutSuffix(s, "m"); ok {
		var n float64
		n, err = strconv.ParseFloat(m, 64)
		cores = n / 1000
	} else {
		cores, err = strconv.ParseFloat(s, 64)
	}
	switch {
	case err != nil || math.IsNaN(cores) || math.IsInf(cores, 0):
		return 0, bad
	case cores < 0:
		return 0, fmt.Errorf("must not be negative, got %s", s)
	case cores > MaxCores:
		return 0, fmt.Errorf("must be at most %d cores, got %s", MaxCores, s)
	}
	m := Millicores(math.Ceil(cores*1000 - 1e-9))
	if m == 0 && cores > 0 {
		m = 1 // a reservation is never smaller than asked
	}
	return m, nil
}

// FormatCores writes m as Hadean does, a whole number or a fraction of
// halves to sixteenths when it is one (within the millicore ParseCores
// rounds to: 63 millicores is 1/16, and 2 cores less that is 31/16), else
// as a decimal. A reservation is never written as 0 cores: 1 millicore
// is 0.001.
func FormatCores(m Millicores) string {
	for _, den := range []int64{1, 2, 4, 8, 16} {
		n := (int64(m)*den + 500) / 1000
		if d := int64(m)*den - n*1000; d >= -den && d <= den && (n > 0 || m == 0) {
			if den == 1 {
				return strconv.FormatInt(n, 10)
			}
			return fmt.Sprintf("%d/%d", n, den)
		}
	}
	return m.String()
}

// ShortPeer shortens a peer ID the way libp2p does, its first two and
// last six characters, as listings and the gateway's log lines show a
// worker.
func ShortPeer(id string) string {
	if len(id) <= 10 {
		return id
	}
	return id[:2] + "*" + id[len(id)-6:]
}
