package cli

import (
	"context"
	"io"
	"time"
)

// SetReloadEvery sets how often a gateway started afterwards checks its
// token and certificate files for changes, and returns the old period.
func SetReloadEvery(d time.Duration) time.Duration {
	old := reloadEvery
	reloadEvery = d
	return old
}

// RunStdin is Run with stdin read from r instead of os.Stdin.
func RunStdin(ctx context.Context, args []string, r io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, r, stdout, stderr)
}
