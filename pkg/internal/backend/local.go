package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Files of a local machine, in Dir/ID next to the worker's own (its
// identity, its compiled modules).
const (
	localLog   = "worker.log" // the worker's stdout and stderr, appended to
	localPID   = "pid"        // its process id, for a gateway started again
	localToken = "join-token" // the join token, mode 0600: not in argv
)

// LocalConfig configures a Local backend.
type LocalConfig struct {
	// Binary is the shoal binary the workers run (default: this
	// process's executable).
	Binary string
	// Dir holds the machines' directories, Dir/ID each: the worker's
	// --data, its join token file, its pid and its log. It is the
	// cluster's: List reports the machines found there. Required.
	Dir string
	// Cluster is the cluster's name, in log lines.
	Cluster string
	// Grace is the workers' --grace (0: the worker's default, 10 s);
	// Stop kills a worker that has not exited 5 s after it.
	Grace time.Duration
	// Exited, if set, is called when a machine's process ends by itself
	// (not after Stop) with its error (nil: it exited with status 0). It
	// is called from the machine's reaper goroutine and must not block.
	Exited func(id string, err error)
	// Logger receives the backend's log lines (default: none).
	Logger *slog.Logger
}

// Validate names the first bad field.
func (c LocalConfig) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("local backend: Dir: required")
	case c.Grace < 0:
		return fmt.Errorf("local backend: Grace: %v < 0", c.Grace)
	}
	return nil
}

// defaultGrace is the worker's own --grace default.
const defaultGrace = 10 * time.Second

// killAfter is how long past its grace a stopped worker may take to exit
// before it is killed: leaving the gateway, closing its host.
const killAfter = 5 * time.Second

// Local runs machines as worker processes on this machine. Its machines
// survive the gateway's process (each in a process group of its own); a
// Local made again on the same Dir finds them with List and stops them
// with Stop.
type Local struct {
	cfg LocalConfig
	log *slog.Logger

	mu     sync.Mutex
	procs  map[string]*localProc // started by this Local, until reaped
	closed bool
	wg     sync.WaitGroup // the reapers
}

// localProc is a worker process this Local started.
type localProc struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed once reaped
	stopping bool          // Stop or Close signalled it: no Exited
}

var _ Backend = (*Local)(nil)

// NewLocal returns a Local backend; cfg is checked by Start (and by
// cfg.Validate, for a gateway that reads it from its config).
func NewLocal(cfg LocalConfig) *Local {
	if cfg.Dir != "" {
		if abs, err := filepath.Abs(cfg.Dir); err == nil {
			cfg.Dir = abs // the workers' --data, which isWorker matches
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Local{
		cfg:   cfg,
		log:   log.With("component", "backend", "backend", "local", "cluster", cfg.Cluster),
		procs: map[string]*localProc{},
	}
}

// Name is "local".
func (l *Local) Name() string { return "local" }

// Start starts machine id's worker and returns once its process runs.
// A machine id whose worker still runs is an error; the files of an
// earlier one with the same id (its identity, its compiled modules) are
// used again, and its log is appended to.
func (l *Local) Start(ctx context.Context, id string, spec WorkerSpec) error {
	if err := l.cfg.Validate(); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	if err := checkSpec(id, spec); err != nil {
		return err
	}
	bin := l.cfg.Binary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("machine %s: the shoal binary: %w", id, err)
		}
		bin = exe
	}
	dir := l.dir(id)

	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		return errors.New("local backend: closed")
	case l.procs[id] != nil:
		l.mu.Unlock()
		return fmt.Errorf("machine %s: already running", id)
	}
	p := &localProc{done: make(chan struct{})}
	l.procs[id] = p // held while starting: a second Start of id fails
	l.mu.Unlock()

	if err := l.start(ctx, id, dir, bin, spec, p); err != nil {
		l.mu.Lock()
		delete(l.procs, id)
		l.mu.Unlock()
		return err
	}
	l.log.Info("machine started", "machine", id, "pid", p.cmd.Process.Pid, "dir", dir)
	return nil
}

// start prepares dir, starts the worker and its reaper.
func (l *Local) start(ctx context.Context, id, dir, bin string, spec WorkerSpec, p *localProc) error {
	if pid, ok := readPID(dir); ok && isWorker(pid, dir) {
		return fmt.Errorf("machine %s: a worker of an earlier gateway runs in %s (pid %d): stop it first", id, dir, pid)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("machine %s: %w", id, err)
	}
	tokenFile := filepath.Join(dir, localToken)
	if err := writeFile(tokenFile, spec.JoinToken+"\n"); err != nil {
		return fmt.Errorf("machine %s: join token: %w", id, err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, localLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("machine %s: %w", id, err)
	}
	defer logf.Close() // the child has its own descriptor
	args := append(workerArgs(id, spec, tokenFile), "--data", dir)
	if l.cfg.Grace > 0 {
		args = append(args, "--grace", l.cfg.Grace.String())
	}
	// Not exec.CommandContext: the machine outlives the call that starts
	// it; Stop and Close end it.
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = ownGroup()
	cmd.Dir = dir
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("machine %s: %w", id, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("machine %s: start %s: %w", id, bin, err)
	}
	err = writeFile(filepath.Join(dir, localPID), strconv.Itoa(cmd.Process.Pid)+"\n")
	if err != nil {
		// Without its pid file a gateway started again would not find
		// it: better no machine than one nobody can stop.
		err = fmt.Errorf("machine %s: pid file: %w", id, err)
	}
	l.mu.Lock()
	if err == nil && l.closed {
		err = errors.New("local backend: closed while starting")
	}
	if err == nil {
		p.cmd = cmd
		l.wg.Add(1)
	}
	l.mu.Unlock()
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.Remove(filepath.Join(dir, localPID))
		return err
	}
	go l.reap(id, dir, p)
	return nil
}

// reap waits for the worker's exit, forgets it, and reports an exit Stop
// did not ask for.
func (l *Local) reap(id, dir string, p *localProc) {
	defer l.wg.Done()
	err := p.cmd.Wait()
	_ = os.Remove(filepath.Join(dir, localPID))
	l.mu.Lock()
	delete(l.procs, id)
	stopping := p.stopping
	l.mu.Unlock()
	close(p.done)
	if stopping {
		return
	}
	if err != nil {
		err = fmt.Errorf("worker exited: %w (log: %s)", err, filepath.Join(dir, localLog))
	}
	l.log.Warn("machine exited by itself", "machine", id, "err", err)
	if l.cfg.Exited != nil {
		l.cfg.Exited(id, err)
	}
}

// Stop stops machine id's worker: SIGTERM, which drains it within its
// grace, then SIGKILL if it is still there 5 s after. It returns once the
// process is gone (reaped, for one this Local started), and removes the
// join token file; the rest of Dir/ID (log, identity, compiled modules)
// stays. A machine whose process is gone is not an error; ErrUnknown means
// Dir/ID does not exist. If ctx ends first, the worker is killed at once.
func (l *Local) Stop(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	dir := l.dir(id)
	l.mu.Lock()
	p := l.procs[id]
	if p != nil {
		if p.cmd == nil { // still in Start
			l.mu.Unlock()
			return fmt.Errorf("machine %s: starting", id)
		}
		p.stopping = true
	}
	l.mu.Unlock()

	var err error
	switch {
	case p != nil:
		l.stopChild(ctx, id, p)
	default:
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("machine %s: %w", id, ErrUnknown)
		}
		err = l.stopLeftover(ctx, id, dir)
	}
	if rerr := os.Remove(filepath.Join(dir, localToken)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = fmt.Errorf("machine %s: %w", id, rerr)
	}
	return err
}

func (l *Local) stopTimeout() time.Duration {
	g := l.cfg.Grace
	if g == 0 {
		g = defaultGrace
	}
	return g + killAfter
}

// stopChild stops a worker this Local started and waits for its reaper.
func (l *Local) stopChild(ctx context.Context, id string, p *localProc) {
	pid := p.cmd.Process.Pid
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // fails only if it has exited
	t := time.NewTimer(l.stopTimeout())
	defer t.Stop()
	select {
	case <-p.done:
		l.log.Info("machine stopped", "machine", id, "pid", pid)
		return
	case <-t.C:
		l.log.Warn("machine did not stop in time: killed", "machine", id, "pid", pid, "after", l.stopTimeout())
	case <-ctx.Done():
		l.log.Warn("machine stop cut short: killed", "machine", id, "pid", pid, "err", ctx.Err())
	}
	_ = p.cmd.Process.Kill()
	<-p.done // SIGKILL cannot be ignored: the reaper returns
}

// leftoverPoll is how often Stop looks whether a leftover worker (not a
// child: it cannot be waited for) has gone.
const leftoverPoll = 20 * time.Millisecond

// stopLeftover stops a worker an earlier Local on Dir started, if its pid
// file names one still running.
func (l *Local) stopLeftover(ctx context.Context, id, dir string) error {
	pid, ok := readPID(dir)
	if !ok || !isWorker(pid, dir) {
		_ = os.Remove(filepath.Join(dir, localPID))
		return nil
	}
	gone := func(limit time.Duration) bool {
		deadline := time.Now().Add(limit)
		for isWorker(pid, dir) {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return false
			}
			time.Sleep(leftoverPoll)
		}
		return true
	}
	_ = signal(pid, syscall.SIGTERM)
	if !gone(l.stopTimeout()) {
		l.log.Warn("leftover machine did not stop in time: killed", "machine", id, "pid", pid)
		if isWorker(pid, dir) { // checked again just before the signal
			_ = signal(pid, syscall.SIGKILL)
		}
		ctx = context.WithoutCancel(ctx) // SIGKILL sent: wait for it to land
		if !gone(killAfter) {
			return fmt.Errorf("machine %s: pid %d still runs after SIGKILL", id, pid)
		}
	}
	_ = os.Remove(filepath.Join(dir, localPID))
	l.log.Info("leftover machine stopped", "machine", id, "pid", pid)
	return nil
}

// List returns the machines whose workers run: those this Local started
// and those under Dir an earlier one started (their pid file names a
// running `shoal worker` with their --data), sorted.
func (l *Local) List(ctx context.Context) ([]string, error) {
	l.mu.Lock()
	ids := make([]string, 0, len(l.procs))
	for id, p := range l.procs {
		if p.cmd != nil {
			ids = append(ids, id)
		}
	}
	l.mu.Unlock()
	entries, err := os.ReadDir(l.cfg.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("local backend: %w", err)
	}
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || checkID(id) != nil || slices.Contains(ids, id) {
			continue
		}
		if pid, ok := readPID(l.dir(id)); ok && isWorker(pid, l.dir(id)) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, ctx.Err()
}

// Close stops every machine List reports, in parallel, and waits for
// the reapers: the gateway's shutdown.
func (l *Local) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	ids, err := l.List(ctx)
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Stop(ctx, id)
		}()
	}
	wg.Wait()
	l.wg.Wait()
	return errors.Join(append(errs, err)...)
}

func (l *Local) dir(id string) string { return filepath.Join(l.cfg.Dir, id) }

// readPID reads Dir/ID/pid.
func readPID(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, localPID))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}

// writeFile replaces path with s, readable by its owner only, through a
// temporary file: a reader never sees half of it.
func writeFile(path, s string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(s)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path) // CreateTemp made it 0600
	}
	return err
}
