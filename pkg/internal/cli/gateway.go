package cli

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/p2p"
	"github.com/shoalmesh/shoal/pkg/internal/replica"
	"github.com/shoalmesh/shoal/pkg/internal/store"
)

func runGateway(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "gateway", "gateway [flags]")
	var nf nodeFlags
	nf.register(fs, defaultDataDir("gateway"))
	cfg := gateway.DefaultConfig()
	api := httpapi.DefaultConfig()
	var af apiFlags
	af.register(fs)
	fs.DurationVar(&cfg.TaskTimeout, "task-timeout", cfg.TaskTimeout, "time limit of a run whose task sets no duration")
	fs.IntVar(&cfg.Retries, "retries", cfg.Retries, "attempts after a lost worker, for tasks that set none")
	fs.IntVar(&cfg.LogBytes, "log-bytes", cfg.LogBytes, "bytes of output kept per task")
	fs.IntVar(&cfg.MaxOutput, "max-output", cfg.MaxOutput, "bytes of stdout a run returns as its result")
	fs.Int64Var(&api.MaxUpload, "max-upload", api.MaxUpload, "largest request body in bytes (a larger upload gets 413)")
	fs.DurationVar(&api.BodyIdle, "body-idle", api.BodyIdle, "longest a request body may go without a byte, and the slack of --body-rate; past it the request gets 408 and the connection is closed (0: no bound)")
	fs.Int64Var(&api.BodyRate, "body-rate", api.BodyRate, "slowest a request body may come on average, in bytes a second, counted from its first wait; a body trickled slower gets 408 after about --body-idle (0: only --body-idle)")
	fs.IntVar(&cfg.MaxQueued, "max-queued", cfg.MaxQueued, "runs waiting to start the gateway holds; past it a submit gets 429 with Retry-After")
	fs.DurationVar(&cfg.Grace, "grace", cfg.Grace, "on SIGINT/SIGTERM, how long running runs may take to finish")
	fs.DurationVar(&cfg.AdoptWait, "adopt-wait", cfg.AdoptWait, "at start, how long runs that were under way when the gateway (or its group's leader) was lost wait for the workers that went on with them to hand them over, before they run again (docs/HA.md); 0 runs them again at once")
	fs.DurationVar(&cfg.ShortRun, "short-run", cfg.ShortRun, "runs of a module that take less than this on average are short: sent several to a call")
	fs.IntVar(&cfg.ShortDepth, "short-depth", cfg.ShortDepth, "short runs per slot a worker may hold, running or waiting there for a slot (1: off)")
	fs.Var((*coresFlag)(&cfg.SpawnCores), "spawn-cores", "cores a spawned process reserves when its spawn names none: 1/16, 0.25, 250m (docs/PROCESSES.md)")
	fs.Var((*coresFlag)(&cfg.TaskCores), "task-cores", "cores each run of a task reserves when the task names none: 1/16, 0.25, 250m (default none)")
	fs.Func("task-memory", "memory each run of a task reserves, and its limit, when the task names none (default none: the worker's limit)", func(x string) error {
		n, err := parseSize(x)
		cfg.TaskMemory = n
		return err
	})
	fs.IntVar(&cfg.MaxProcesses, "max-processes", cfg.MaxProcesses, "spawned processes of one process tree running or waiting at once; a spawn past it is refused (ERR_SPAWN)")
	fs.Func("spawn-memory", "memory a spawned process reserves, and its limit, when its spawn names none (default 64MiB)", func(x string) error {
		n, err := parseSize(x)
		cfg.SpawnMemory = n
		return err
	})
	fs.Func("callback-allow", "a network (CIDR, or one address) jobs' callbacks may reach besides public addresses, repeatable: loopback, private and link-local addresses are refused unless listed", func(x string) error {
		p, err := parsePrefix(x)
		cfg.CallbackAllow = append(cfg.CallbackAllow, p)
		return err
	})
	fs.Func("max-job-files", "bytes of one job's artifacts (the files it leaves in /shared) kept at most; the rest are left out (default 64MiB)", func(x string) error {
		n, err := parseSize(x)
		cfg.MaxJobFiles = n
		return err
	})
	fs.Var((*days)(&cfg.Retain), "retain", "delete tasks this long after they ended, with their runs and logs: 7d, 12h, 30m (0: keep until DELETE /tasks/{id}?purge=1)")
	keep := fs.Int("keep-results", gateway.DefaultKeepResults, "results kept whole per task: its newest N runs' (older runs keep their size, result_bytes; the task's own result is always kept)")
	recoverDB := fs.Bool("recover", false, "if the database is damaged, copy what can be read into a new one (the damaged file is kept beside it as gateway.db.damaged-TIME), say what was lost, then start; a whole database is left as it is")
	exportToken := fs.String("export-join-token", "", "also write the join token (kept in DATA/join-token) to this file, e.g. on a volume workers read with --join-token-file")
	var sf scaleFlags
	sf.register(fs)
	var hf haFlags
	hf.register(fs)
	if err := nf.parse(fs, args); err != nil {
		return exitParse(err)
	}
	if err := cfg.Validate(); err != nil {
		return e.errorf("gateway: --%v", err)
	}
	sec, err := af.load(&api, &cfg)
	if err != nil {
		return e.errorf("gateway: %v", err)
	}

	if nf.data == "" {
		return e.errorf("gateway: --data is required: the directory of its identity and database")
	}
	if err := os.MkdirAll(nf.data, 0o700); err != nil {
		return e.errorf("gateway: --data %s: %v", nf.data, err)
	}
	// A lone gateway's store syncs each commit, which holds a P (see
	// store.SetProcs); a member's store commits without sync, its Raft
	// log syncing on one thread of Raft's, and it keeps the default: on
	// three members sharing two cores the group took 0.56-0.64x a lone
	// gateway's submit rate with it, 0.51-0.63x with twice the Ps
	// (docs/BENCHMARKS.md, "Issue 16 (part 8)").
	procs := runtime.GOMAXPROCS(0)
	if hf.bind == "" {
		procs = store.SetProcs()
	}
	if *keep < 1 {
		return e.errorf("gateway: --keep-results %d: must be at least 1", *keep)
	}
	dbPath := filepath.Join(nf.data, "gateway.db")
	if *recoverDB {
		if code := recoverStore(e, dbPath); code != 0 {
			return code
		}
	}
	// A member of a replicated group keeps its writes durable in the Raft
	// log, and makes its store again from it each time it starts: the
	// store need not sync, and a store file left torn by a power loss is
	// dropped rather than refused.
	if hf.bind != "" {
		if err := replica.CheckLog(hf.log); err != nil {
			return e.errorf("gateway: --%v", err)
		}
		kind, err := replica.HasLog(filepath.Join(nf.data, "raft"))
		if err != nil {
			return e.errorf("gateway: --%v", err)
		}
		if kind != "" {
			if err := os.Remove(dbPath); err != nil && !errors.Is(err, os.ErrNotExist) {
				return e.errorf("gateway: %v", err)
			}
		}
	}
	st, err := store.Open(dbPath, store.Options{KeepResults: *keep, NoSync: hf.bind != ""})
	if err != nil {
		return e.errorf("gateway: %v", err)
	}
	defer st.Close() // last: flushes after the gateway has stopped writing
	nf.peers = p2p.GatewayPeers
	nd, err := nf.start(ctx, e)
	if err != nil {
		return e.errorf("gateway: %v", err)
	}
	defer nd.host.Close()
	tok, err := gatewayJoin(nf.data, *exportToken, nd)
	if err != nil {
		return e.errorf("gateway: %v", err)
	}
	// A worker proves it holds the token, or, on a private network, the
	// swarm key proves it already: see docs/SECURITY.md.
	cfg.JoinSecret, cfg.JoinByNetwork = tok.Secret, nd.private
	nd.log.Debug("scheduler threads", "gomaxprocs", procs)
	var g *gateway.Gateway
	exited := func(id string, err error) { // machines start only once g runs
		if g != nil {
			g.MachineExited(id, err)
		}
	}
	if err := sf.config(&cfg, nf.data, nf.ns, exited); err != nil {
		return e.errorf("gateway: --%v", err)
	}
	if hf.bind != "" || hf.peers != "" || hf.join || hf.log != "" {
		if hf.bind == "" {
			return e.errorf("gateway: --peers, --raft-join and --raft-log need --raft: this member's own Raft address")
		}
		return runMember(ctx, e, hf, &af, sec, api, cfg, st, nd, nf.data, tok)
	}
	g, err = gateway.New(cfg, nd.host, st, nd.log)
	if err != nil {
		return e.errorf("gateway: %v", err)
	}
	fields, stopAPI, code := af.startAPI(ctx, e, sec, gatewayAPI{httpapi.New(api, g, nd.log), g, nd.log}, nd.log)
	if stopAPI == nil {
		return code
	}
	fmt.Fprintln(e.stdout, startLine("gateway", nd, append(fields, "join-token="+tok.String())...))

	err = g.Run(ctx)
	stopAPI()
	if err != nil {
		return e.errorf("gateway: %v", err)
	}
	return 0
}

// recoverStore is --recover: it recovers the store at path if it is
// damaged and tells what it did on stderr (stdout's first line stays the
// start line).
func recoverStore(e *env, path string) int {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(e.stderr, "shoal gateway: --recover: there is no store at %s yet: nothing to recover\n", path)
		return 0
	}
	rec, err := store.Recover(path, time.Now())
	if err != nil {
		return e.errorf("gateway: --recover: %v", err)
	}
	fmt.Fprint(e.stderr, "shoal gateway: "+rec.Summary())
	return 0
}

// parsePrefix reads a network as --callback-allow takes it: CIDR, or one
// address.
func parsePrefix(x string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(x); err == nil {
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(x)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither a network like 10.0.0.0/8 nor an address", x)
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}
