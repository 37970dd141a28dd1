package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// Config is the gateway's configuration.
type Config struct {
	// Raft, when the gateway is the leader of a replicated group
	// (docs/HA.md), says how the group stands, for GET /info.
	Raft func() *api.RaftInfo
	// Term is the Raft term of the group this gateway leads (0: it runs
	// alone). Workers are told it when they join, and a worker attaches
	// to no gateway of a term lower than one it has served: a deposed
	// leader gets no workers back.
	Term uint64
	// AdoptWait holds the runs that were under way when the gateway (or
	// its group's last leader) stopped for this long after it starts,
	// before it starts them again: a worker that went on with one hands
	// it over when it joins (Worker.adopt), and it runs once, not twice.
	AdoptWait time.Duration

	TaskTimeout  time.Duration // time limit of a run whose task sets no duration
	Retries      int           // attempts after a lost worker, for tasks that set none
	LogBytes     int           // output kept per task
	MaxOutput    int           // bytes of stdout a run returns as its result
	PingInterval time.Duration // how often each worker is pinged
	PingTimeout  time.Duration // a worker that does not answer a ping within this is lost
	MaxQueued    int           // runs not yet started the gateway holds; past it a submit gets 429
	Grace        time.Duration // on shutdown, how long running runs may take to finish
	// Short runs (docs/RATIONALE.md): a module whose runs take less than
	// ShortRun on average has its runs sent several to a call, and a
	// worker holding only such runs takes up to ShortDepth per slot.
	ShortRun   time.Duration
	ShortDepth int
	// Quotas limits each owner (task.Spec.Owner, the name of the API token
	// a task came with); owners not in it have no limits but MaxQueued.
	Quotas map[string]Quota
	// Retain is how long a task is kept after it ended; then it is purged
	// with its runs and logs. 0 keeps tasks until they are deleted.
	Retain time.Duration
	// JoinSecret is the cluster secret a peer proves it holds before it
	// may offer a worker (package join; shoal gateway keeps it in
	// DATA/join-token). Without it, and without JoinByNetwork, no worker
	// is admitted: the gateway is closed by default.
	JoinSecret []byte
	// JoinByNetwork admits peers that present no proof, because the
	// network admits only members: a private network (swarm key). A proof
	// that is presented is still checked.
	JoinByNetwork bool
	// SpawnCores and SpawnMemory are what a spawned process reserves when
	// its spawn asks for no cores or memory (docs/PROCESSES.md); the
	// memory is also its limit.
	SpawnCores  api.Millicores
	SpawnMemory uint64
	// TaskCores and TaskMemory are what each run of a task reserves when
	// the task asks for no cores or memory; 0, the default, reserves none
	// (the worker's slots and memory limit bound such runs).
	TaskCores  api.Millicores
	TaskMemory uint64
	// MaxProcesses bounds the spawned processes of one tree running (or
	// waiting for room) at once; a spawn past it is refused.
	MaxProcesses int
	// MaxJobFiles bounds the bytes of one job's artifacts: the files it
	// leaves in /shared past it are left out (docs/JOBS.md).
	MaxJobFiles uint64
	// CallbackAllow are the networks besides public addresses that jobs'
	// callbacks may reach (--callback-allow): loopback, private and
	// link-local addresses are refused unless listed (callback.NewClient).
	CallbackAllow []netip.Prefix
	// Scale makes the gateway scale its cluster through a backend
	// (scaler.go); its zero value does not.
	Scale ScaleConfig
}

// Quota bounds the runs of one owner; zero fields mean no limit.
type Quota struct {
	MaxRunning int // runs executing at once; more wait in the queue
	MaxQueued  int // runs not yet started; past it a submit gets 429
	// MaxStored bounds the bytes its tasks take in the store (specs with
	// their stdin, runs with their results; an estimate): past it a
	// submit gets 429 until retention or DELETE ?purge=1 frees room.
	MaxStored int64
}

// DefaultKeepResults is how many of a task's newest runs keep their
// results whole in the store, unless told otherwise (store.Options).
const DefaultKeepResults = 100

// What a spawn reserves unless it or the gateway's configuration says
// otherwise: Hadean's default of a sixteenth of a core, and 64 MiB (a Go
// guest's runtime needs more than Hadean's 8 MiB).
const (
	DefaultSpawnCores  api.Millicores = 63 // 1/16, rounded up as api.ParseCores does
	DefaultSpawnMemory uint64         = 64 << 20
)

// DefaultConfig returns the defaults of `shoal gateway`.
func DefaultConfig() Config {
	return Config{
		TaskTimeout:  time.Minute,
		Retries:      2,
		LogBytes:     1 << 20,
		MaxOutput:    1 << 20,
		PingInterval: 250 * time.Millisecond,
		PingTimeout:  time.Second,
		MaxQueued:    1_000_000,
		Grace:        10 * time.Second,
		AdoptWait:    2 * time.Second,
		ShortRun:     sched.DefaultConfig().ShortRun,
		ShortDepth:   sched.DefaultConfig().Depth,
		SpawnCores:   DefaultSpawnCores,
		SpawnMemory:  DefaultSpawnMemory,
		MaxProcesses: 1000,
		MaxJobFiles:  64 << 20,
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.TaskTimeout <= 0:
		return errors.New("task-timeout: must be positive")
	case c.MaxJobFiles == 0:
		return errors.New("max-job-files: must be positive")
	case c.Scale.Backend != nil && c.Scale.Policy.Validate() != nil:
		return c.Scale.Policy.Validate()
	case c.Retries < 0:
		return errors.New("retries: must not be negative")
	case c.LogBytes <= 0:
		return errors.New("log-bytes: must be positive")
	case c.MaxOutput <= 0:
		return errors.New("max-output: must be positive")
	case c.PingInterval <= 0 || c.PingTimeout <= 0:
		return errors.New("ping-interval, ping-timeout: must be positive")
	case c.MaxQueued < 1:
		return errors.New("max-queued: must be at least 1")
	case c.Grace < 0:
		return errors.New("grace: must not be negative")
	case c.AdoptWait < 0:
		return errors.New("adopt-wait: must not be negative")
	case c.ShortRun < 0:
		return errors.New("short-run: must not be negative")
	case c.ShortDepth < 1 || c.ShortDepth > 1024:
		return errors.New("short-depth: must be 1 (off) to 1024")
	case c.TaskCores > api.MaxCores*1000:
		return fmt.Errorf("task-cores: must be at most %d cores", api.MaxCores)
	case c.SpawnCores == 0 || c.SpawnCores > api.MaxCores*1000:
		return fmt.Errorf("spawn-cores: must be more than 0 and at most %d cores (a process holds no slot: what it reserves bounds it)", api.MaxCores)
	case c.SpawnMemory == 0:
		return errors.New("spawn-memory: must be more than 0 (a process holds no slot: what it reserves bounds it)")
	case c.MaxProcesses < 1:
		return errors.New("max-processes: must be at least 1")
	case c.Retain < 0:
		return errors.New("retain: must not be negative (0 keeps tasks until deleted)")
	}
	if c.JoinSecret != nil && len(c.JoinSecret) != join.SecretLen {
		return fmt.Errorf("join-secret: %d bytes, want %d", len(c.JoinSecret), join.SecretLen)
	}
	for name, q := range c.Quotas {
		if q.MaxRunning < 0 || q.MaxQueued < 0 || q.MaxStored < 0 {
			return fmt.Errorf("quotas: %s: max-running, max-queued and max-stored must not be negative", name)
		}
	}
	return nil
}
