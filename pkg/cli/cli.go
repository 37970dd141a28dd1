// Package cli is the shoal command as a function, so that cmd/shoal stays a
// few lines and other programs can embed the command (as caddy's cmd
// package does). Everything behind it lives in pkg/internal.
package cli

import (
	"context"
	"io"

	"github.com/shoalmesh/shoal/pkg/internal/cli"
)

// Run runs the shoal command with args (without the program name), writing
// to stdout and stderr, and returns its exit code. ctx ends the command's
// nodes gracefully (SIGINT and SIGTERM in cmd/shoal).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Run(ctx, args, stdout, stderr)
}
