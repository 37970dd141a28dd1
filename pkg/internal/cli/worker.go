package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
)

// groupBackoff bounds the wait between a group worker's attempts, and
// groupConnect one attempt to connect to a member.
const (
	groupBackoff = 200 * time.Millisecond
	groupConnect = time.Second
)

func runWorker(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "worker", "worker [--dial GATEWAY] [flags]")
	var nf nodeFlags
	nf.register(fs, "")
	cfg := worker.DefaultConfig()
	var dials stringList
	fs.Var(&dials, "dial", "the gateway: its peer ID (found through discovery) or a full multiaddr ending in /p2p/ID (default: the first gateway of --ns that discovery finds, kept from then on); given once for each member of a replicated group of gateways (docs/HA.md), the worker joins whichever leads")
	fs.IntVar(&cfg.Slots, "slots", cfg.Slots, "runs executed at once (default: number of cores)")
	memory := fs.String("memory", "4GiB", "wasm memory for all runs together (bytes, or with KiB, MiB, GiB)")
	runMem := fs.String("run-memory", "256MiB", "most memory one run may use")
	fs.Var((*coresFlag)(&cfg.Cores), "cores", "CPU offered to runs that reserve some (a task's cores): 2, 1.5, 1/2 or 500m; 0: none (default: number of cores)")
	moduleCache := fs.Int64("module-cache-mb", cfg.Runtime.ModuleCacheBytes>>20, "MiB of compiled modules kept in memory, least recently used dropped first (0: no limit)")
	fs.StringVar(&cfg.Runtime.Preempt, "preempt", cfg.Runtime.Preempt, "how runs are stopped at their time limit: instrument (modules are rewritten to check in every ~1 ms, and count their fuel) or wazero (wazero checks at every loop iteration and call: 3.5-7x slower)")
	fs.DurationVar(&cfg.Grace, "grace", cfg.Grace, "on SIGINT/SIGTERM, how long running runs may take to finish before they are handed back")
	metrics := fs.String("metrics", "", "serve /metrics, /healthz and /readyz on this address (host:port) without a token, for Prometheus and probes (default: off)")
	var labels stringList
	fs.Var(&labels, "label", "placement label offered to the gateway, repeatable")
	var jf joinFlags
	jf.register(fs)
	var dirs stringList
	fs.Var(&dirs, "allow-dir", "host directory offered to tasks as NAME=/host/path (NAME=/host/path:ro: read-only), repeatable; a task asking for it with dirs=NAME sees it at /NAME")
	if err := nf.parse(fs, args); err != nil {
		return exitParse(err)
	}
	var err error
	if cfg.Memory, err = parseSize(*memory); err != nil {
		return e.errorf("worker: --memory: %v", err)
	}
	if cfg.Runtime.MemoryLimit, err = parseSize(*runMem); err != nil {
		return e.errorf("worker: --run-memory: %v", err)
	}
	if *moduleCache > math.MaxInt64>>20 {
		return e.errorf("worker: --module-cache-mb: %d is too large", *moduleCache)
	}
	cfg.Runtime.ModuleCacheBytes = *moduleCache << 20
	cfg.Labels = labels
	for _, d := range dirs {
		dir, err := worker.ParseDir(d)
		if err != nil {
			return e.errorf("worker: --%v", err)
		}
		cfg.Dirs = append(cfg.Dirs, dir)
	}
	if nf.data != "" {
		cfg.Runtime.CacheDir = filepath.Join(nf.data, "compiled")
		cfg.JobDir = filepath.Join(nf.data, "jobs") // each job's /shared, removed when it ends
	}
	if err := cfg.Validate(); err != nil {
		return e.errorf("worker: --%v", err)
	}
	log, err := nf.logger(e)
	if err != nil {
		return e.errorf("worker: %v", err)
	}
	if cfg.JoinToken, err = jf.load(ctx, log); err != nil {
		return e.errorf("worker: %v", err)
	}
	var gw gatewayDial
	if len(dials) > 1 {
		gw, err = parseGroupDial(dials, nf.ns, cfg.JoinToken)
		cfg.Gateways = gw.ids()
		// Each attempt tries the next member: after a failover, the
		// worker finds the new leader within one round of short waits.
		cfg.MaxBackoff = min(cfg.MaxBackoff, groupBackoff)
		cfg.ConnectTimeout = groupConnect // a dead member costs little
	} else {
		gw, err = parseGatewayDial(strings.Join(dials, ""), nf.discover, nf.ns, cfg.JoinToken)
	}
	if err != nil {
		return e.errorf("worker: %v", err)
	}

	nf.gated = true // only its gateway may connect in, once known
	nd, err := nf.start(ctx, e, gw.trusted()...)
	if err != nil {
		return e.errorf("worker: %v", err)
	}
	defer nd.host.Close()
	cfg.PeerByNetwork = nd.private
	w, err := worker.New(ctx, cfg, nd.host, nd.log)
	if err != nil {
		return e.errorf("worker: %v", err)
	}
	defer w.Close(context.Background())
	mfield, stopMetrics, err := serveMetrics(*metrics, "worker", w, nd.log)
	if err != nil {
		return e.errorf("worker: --metrics %s: %v", *metrics, err)
	}
	defer stopMetrics()
	fmt.Fprintln(e.stdout, startLine("worker", nd, gw.startField(), fmt.Sprintf("slots=%d", cfg.Slots), mfield))
	if err := w.Run(ctx, gw.resolver(nd)); err != nil {
		var refused *worker.NotAdmittedError
		if errors.As(err, &refused) {
			return e.errorf("worker: %s", notAdmitted(refused))
		}
		return e.errorf("worker: %v", err)
	}
	return 0
}

// parseDial reads --dial: a full multiaddr with /p2p/ID, or a bare peer ID.
func parseDial(s string) (peer.AddrInfo, error) {
	if strings.HasPrefix(s, "/") {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("%q is not a multiaddr: %v", s, err)
		}
		ai, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("%q must end in /p2p/PEER_ID", s)
		}
		return *ai, nil
	}
	id, err := peer.Decode(s)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("%q is neither a peer ID nor a multiaddr", s)
	}
	return peer.AddrInfo{ID: id}, nil
}

// resolver finds the gateway before each connection: through discovery
// when it is on (a restarted gateway may listen on new ports), else at the
// dialed address.
func resolver(target peer.AddrInfo, disc *p2p.Discovery) worker.Resolve {
	return func(ctx context.Context) (peer.AddrInfo, error) {
		if disc == nil {
			return target, nil
		}
		fctx, cancel := context.WithTimeout(ctx, findTimeout(target))
		defer cancel()
		ai, err := disc.FindPeer(fctx, target.ID)
		switch {
		case err == nil:
			ai.Addrs = append(ai.Addrs, target.Addrs...)
			return ai, nil
		case target.Addrs != nil && !errors.Is(err, context.Canceled):
			return target, nil
		}
		return peer.AddrInfo{}, err
	}
}

func findTimeout(target peer.AddrInfo) time.Duration {
	if target.Addrs != nil {
		return 500 * time.Millisecond // the dialed address is the fallback
	}
	return 10 * time.Second
}
