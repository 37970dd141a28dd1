package worker

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// Config is a worker's configuration.
type Config struct {
	Slots  int    // runs executed at once
	Memory uint64 // bytes of wasm memory for all runs together
	// Cores is the CPU offered to runs that reserve some (a task's cores);
	// 0 offers none to account, and such runs go to other workers.
	Cores      api.Millicores
	Labels     []string // placement labels offered to the gateway
	LogBytes   int      // output streamed back per run; the rest is dropped
	MinBackoff time.Duration
	MaxBackoff time.Duration // between attempts to reach the gateway
	// ConnectTimeout bounds one attempt to connect to the gateway (a
	// dead one's QUIC address answers nothing); 0: 5 s.
	ConnectTimeout time.Duration
	Grace          time.Duration // on shutdown, how long running runs may take to finish
	// PingInterval and PingTimeout: how often the worker pings its gateway,
	// and how long a silent gateway has before the worker reconnects.
	PingInterval, PingTimeout time.Duration
	// Dirs are the host directories offered to tasks, by name (--allow-dir).
	// A task names those it needs; its runs see them at /NAME, and nothing
	// else of the file system.
	Dirs []wasmrun.Dir
	// JobDir is where the directory each job's steps share is made (and
	// removed when the job ends); "" is the system's temporary directory.
	JobDir  string
	Runtime wasmrun.Config
	// JoinToken proves to the gateway that the worker belongs (the
	// gateway's DATA/join-token); the worker offers itself to no gateway
	// but the token's. nil joins only a gateway that admits by network
	// (a swarm key).
	JoinToken *join.Token
	// Gateways are the members of a replicated group of gateways the
	// worker joins whichever leads (docs/HA.md): its join token, the
	// group's, is good for each.
	Gateways []peer.ID
	// PeerByNetwork: the worker is on a private network (a swarm key), so
	// another worker that connects belongs, and needs no proof of the
	// join secret for direct messages between processes (mesh.go).
	PeerByNetwork bool
}

// DefaultConfig returns the defaults of `shoal worker`.
func DefaultConfig() Config {
	rc := wasmrun.DefaultConfig()
	rc.ModuleCacheBytes = 512 << 20 // --module-cache-mb
	return Config{
		Slots:        goruntime.NumCPU(),
		Memory:       4 << 30,
		Cores:        api.Millicores(goruntime.NumCPU() * 1000),
		LogBytes:     1 << 20,
		MinBackoff:   50 * time.Millisecond,
		MaxBackoff:   2 * time.Second,
		Grace:        10 * time.Second,
		PingInterval: 250 * time.Millisecond,
		PingTimeout:  time.Second,
		Runtime:      rc,
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if l, bad := task.BadLabel(c.Labels); bad {
		return fmt.Errorf("label: %q: a label is 1 to %d printable characters without spaces or commas", l, task.MaxLabelLen)
	}
	switch {
	case c.Slots < 1:
		return errors.New("slots: must be at least 1")
	case c.Memory == 0:
		return errors.New("memory: must be positive")
	case c.LogBytes < 0:
		return errors.New("log-bytes: must not be negative")
	case c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff:
		return errors.New("backoff: need 0 < min <= max")
	case c.Grace < 0:
		return errors.New("grace: must not be negative")
	case c.PingInterval <= 0 || c.PingTimeout <= 0:
		return errors.New("ping-interval, ping-timeout: must be positive")
	case c.Runtime.ModuleCacheBytes < 0:
		return errors.New("module-cache-mb: must not be negative")
	case c.Runtime.Preempt != wasmrun.PreemptInstrument && c.Runtime.Preempt != wasmrun.PreemptWazero:
		return fmt.Errorf("preempt: %q is neither %s nor %s", c.Runtime.Preempt, wasmrun.PreemptInstrument, wasmrun.PreemptWazero)
	}
	if err := checkDirs(c.Dirs); err != nil {
		return err
	}
	return c.Runtime.Validate()
}
