package cli

import "time"

// SetReloadEvery sets how often a gateway started afterwards checks its
// token and certificate files for changes, and returns the old period.
func SetReloadEvery(d time.Duration) time.Duration {
	old := reloadEvery
	reloadEvery = d
	return old
}
