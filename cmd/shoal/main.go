// Command shoal is a node of the Shoal WebAssembly compute mesh and its
// client. See `shoal help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/shoalmesh/shoal/pkg/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
