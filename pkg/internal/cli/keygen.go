package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

// runKeygen writes a new private network (swarm) key, to a file or stdout.
func runKeygen(_ context.Context, e *env, args []string) int {
	fset := newFlags(e, "keygen", "keygen [FILE]\n\nWrites a new private network key for --swarm-key, to FILE (refusing to overwrite one) or stdout.")
	pos, err := parse(fset, args)
	if err != nil {
		return exitParse(err)
	}
	if len(pos) > 1 {
		fset.Usage()
		return 2
	}
	key, err := p2p.NewSwarmKey()
	if err != nil {
		return e.errorf("keygen: %v", err)
	}
	if len(pos) == 0 {
		e.stdout.Write(key)
		return 0
	}
	f, err := os.OpenFile(pos[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return e.errorf("keygen: %s exists; remove it first or pick another file (every node of a cluster needs the same key)", pos[0])
	}
	if err != nil {
		return e.errorf("keygen: %v", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return e.errorf("keygen: %v", err)
	}
	if err := f.Close(); err != nil {
		return e.errorf("keygen: %v", err)
	}
	fmt.Fprintf(e.stderr, "wrote a private network key to %s: give every node --swarm-key %s\n", pos[0], pos[0])
	return 0
}
