package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/appconfig"
	"github.com/shoalmesh/shoal/pkg/internal/scale"
)

// readyCluster loads cluster name and a client of its gateway, saying
// what to do when its gateway does not run.
func readyCluster(e *env, cmd, name string) (*clusterRecord, *client.Client, int) {
	r, err := loadCluster(name)
	if err != nil {
		return nil, nil, e.errorf("cluster %s: %v", cmd, err)
	}
	switch r.liveStatus() {
	case clusterFailed:
		return nil, nil, e.errorf("cluster %s: cluster %q failed to start (%s): destroy it and create it again", cmd, name, r.Error)
	case clusterStopped:
		return nil, nil, e.errorf("cluster %s: the gateway of cluster %q is not running (its log: %s): destroy it and create it again", cmd, name, r.logFile())
	}
	c, err := clusterClient(r)
	if err != nil {
		return nil, nil, e.errorf("cluster %s: %v", cmd, err)
	}
	return r, c, 0
}

func clusterDeploy(ctx context.Context, e *env, name string, args []string) int {
	const usage = "cluster -n NAME deploy APP.wasm [--directory DIR]"
	fs := newFlags(e, "cluster deploy", usage)
	dir := fs.String("directory", "", "a directory whose files (data, libraries) are deployed along: the application's working directory holds them")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "cluster deploy", usage, pos, "APP.wasm"); code != 0 {
		return code
	}
	wasm, err := readModule(pos[0])
	if err != nil {
		return e.errorf("cluster deploy: %v", err)
	}
	var tarball []byte
	var files int
	if *dir != "" {
		if tarball, files, err = tarDirectory(*dir); err != nil {
			return e.errorf("cluster deploy: --directory %v", err)
		}
	}
	r, c, code := readyCluster(e, "deploy", name)
	if r == nil {
		return code
	}
	say(e, "Deploying %s to cluster %q", filepath.Base(pos[0]), name)
	say(e, "Uploading the application (%s)...", api.FormatBytes(uint64(len(wasm))))
	mod, err := c.PutModule(ctx, wasm, appName)
	if err != nil {
		return e.errorf("cluster deploy: %v", err)
	}
	if tarball != nil {
		say(e, "Uploading %d files of %s (%s)...", files, *dir, api.FormatBytes(uint64(len(tarball))))
		if _, err := c.PutBundle(ctx, appName, tarball); err != nil {
			return e.errorf("cluster deploy: %v", err)
		}
	}
	r.App = &deployedApp{File: filepath.Base(pos[0]), Module: mod.SHA256, Size: int64(len(wasm)), Files: files, Time: time.Now().UTC()}
	if err := r.save(); err != nil {
		return e.errorf("cluster deploy: %v", err)
	}
	say(e, "Deployed: module sha256:%s named %q; the cluster's machines compile it before its first run.", mod.SHA256, appName)
	return 0
}

// tarDirectory archives the regular files under dir, with paths relative
// to it, and counts them.
func tarDirectory(dir string) ([]byte, int, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is not a regular file (a link or a device): only regular files are deployed", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: info.Size(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.Copy(tw, f); err != nil {
			return err
		}
		files++
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if err := tw.Close(); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), files, nil
}

func clusterRun(ctx context.Context, e *env, name string, args []string) int {
	const usage = "cluster -n NAME run CONFIG.toml [--detached] [--simple]"
	fs := newFlags(e, "cluster run", usage)
	detached := fs.Bool("detached", false, "start the application and return: do not stream its logs")
	simple := fs.Bool("simple", false, "print the application's output as it wrote it: no timestamps, colours, [PID] prefixes or lines of the cluster's")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "cluster run", usage, pos, "CONFIG.toml"); code != 0 {
		return code
	}
	e = lockedEnv(e) // the cluster's decisions are printed from a goroutine
	cfg, err := appconfig.Load(pos[0])
	if err != nil {
		return e.errorf("cluster run: %v", err)
	}
	r, c, code := readyCluster(e, "run", name)
	if r == nil {
		return code
	}
	if r.App == nil {
		return e.errorf("cluster run: nothing is deployed on cluster %q: shoal cluster -n %s deploy APP.wasm first", name, name)
	}
	if cfg.Cluster != nil && cfg.Cluster.Backend != "" && cfg.Cluster.Backend != r.Backend {
		return e.errorf("cluster run: %s: cluster.backend: %q, but cluster %q's machines come from the %s backend: the backend is the cluster's own (set it in the CONFIG.toml given to create)", pos[0], cfg.Cluster.Backend, name, r.Backend)
	}
	if r.Running != "" {
		if t, err := c.Task(ctx, r.Running); err == nil && !t.Status.Done() {
			return e.errorf("cluster run: an application is running on cluster %q (task %s): shoal cluster -n %s stop ends it", name, r.Running, name)
		}
	}
	cl, err := c.Cluster(ctx)
	if err != nil {
		return e.errorf("cluster run: %v", err)
	}
	out := newProcOutput(e.stdout, e.stderr, *simple, false)
	out.stamps = !*simple
	notef := func(format string, args ...any) {
		if !*simple {
			_ = out.note(fmt.Sprintf(format, args...))
		}
	}
	dw := &decisionWriter{e: e, since: time.Now(), note: out.noteAt}
	if *simple {
		dw.note = func(time.Time, string) error { return nil }
	}
	var policy *api.ClusterPolicy
	if cfg.Cluster != nil {
		own := scale.Policy{Standby: derefInt(r.Policy.StandbyMachines), Limit: derefInt(r.Policy.MachinesLimit),
			Timeout: time.Duration(cl.MachinesTimeout * float64(time.Second)), Cooldown: time.Duration(cl.Cooldown * float64(time.Second)), Slots: 1}
		if cl.Task == "" { // the gateway's own is in force: it has what create left out
			own.Standby, own.Limit = cl.StandbyMachines, cl.MachinesLimit
		}
		if _, err := cfg.Policy(own); err != nil {
			return e.errorf("cluster run: %v", err)
		}
		p := ownPolicy(cfg.Cluster)
		policy = &p
	}
	notef("Uploading config...")
	notef("Starting application %s...", r.App.File)
	s := client.Submission{Module: r.App.Module, Args: cfg.Args, Env: cfg.Environ(), Cores: cfg.Requirements.Cores, Memory: cfg.Requirements.Memory}
	if r.App.Files > 0 {
		s.Bundle = appName
	}
	if s.Args == nil {
		s.Args = []string{}
	}
	tv, err := c.Submit(ctx, s)
	if err != nil {
		return e.errorf("cluster run: %v", err)
	}
	r.Running = tv.ID
	if err := r.save(); err != nil {
		return e.errorf("cluster run: %v", err)
	}
	if policy != nil {
		policy.Task = tv.ID
		if _, err := c.SetClusterPolicy(ctx, *policy); err != nil && !errors.Is(err, api.ErrConflict) { // conflict: it ended already
			_, _ = c.Cancel(context.WithoutCancel(ctx), tv.ID)
			return e.errorf("cluster run: %s: [cluster]: %v; the application's task %s is canceled", pos[0], err, tv.ID)
		}
	}
	if *detached {
		say(e, "Application started: task %s. Its logs: shoal logs --gateway %s -f %s; shoal cluster -n %s stop ends it.", tv.ID, r.Gateway, tv.ID, name)
		return 0
	}
	notef("Streaming application logs (task %s)...", tv.ID)
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = dw.until(wctx, c, 24*365*time.Hour, func(api.Cluster) bool { return false })
	}()
	code = followRun(ctx, e, c, tv.ID, out)
	stopWatch()
	wg.Wait()
	if cl, err := c.Cluster(context.WithoutCancel(ctx)); err == nil {
		dw.print(cl)
	}
	return code
}

// lockedWriter serializes the writes of several goroutines (an
// application's output and the cluster's decisions) to one writer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

// outputMu is shared by every lockedWriter: stdout and stderr are often
// the same terminal.
var outputMu sync.Mutex

func lockWriter(w io.Writer) io.Writer {
	if l, ok := w.(lockedWriter); ok {
		return l
	}
	return lockedWriter{&outputMu, w}
}

// lockedEnv is e with its stdout and stderr locked.
func lockedEnv(e *env) *env {
	l := *e
	l.stdout, l.stderr = lockWriter(e.stdout), lockWriter(e.stderr)
	return &l
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func clusterStop(ctx context.Context, e *env, name string, args []string) int {
	fs := newFlags(e, "cluster stop", "cluster -n NAME stop")
	if _, err := parse(fs, args); err != nil {
		return exitParse(err)
	}
	r, c, code := readyCluster(e, "stop", name)
	if r == nil {
		return code
	}
	if !stopApplication(ctx, e, r, c) {
		say(e, "Nothing is running on cluster %q.", name)
	}
	return 0
}

// stopApplication cancels r's running application, if one runs, and
// reports whether one did.
func stopApplication(ctx context.Context, e *env, r *clusterRecord, c *client.Client) bool {
	if r.Running == "" {
		return false
	}
	t, err := c.Task(ctx, r.Running)
	if err != nil || t.Status.Done() {
		return false
	}
	say(e, "Stopping the application (task %s)...", r.Running)
	if _, err := c.Cancel(ctx, r.Running); err != nil && !errors.Is(err, api.ErrConflict) {
		say(e, "  not stopped: %v", err)
		return true
	}
	say(e, "Application stopped; its machines drain and go back to the standby count after machines_timeout.")
	return true
}

func clusterCleanUp(ctx context.Context, e *env, name string, args []string) int {
	fs := newFlags(e, "cluster clean-up", "cluster -n NAME clean-up")
	if _, err := parse(fs, args); err != nil {
		return exitParse(err)
	}
	r, c, code := readyCluster(e, "clean-up", name)
	if r == nil {
		return code
	}
	say(e, "Removing the dynamic workers of cluster %q (the gateway stays)...", name)
	cl, err := c.CleanUp(ctx)
	if err != nil {
		return e.errorf("cluster clean-up: %v", err)
	}
	n := 0
	for _, m := range cl.Machines {
		if m.Phase == string(scale.Releasing) {
			n++
		}
	}
	say(e, "%d machine(s) released.", n)
	if cl.StandbyMachines > 0 {
		say(e, "Its %d standby machine(s) come back new.", cl.StandbyMachines)
	}
	return 0
}

// clusterStatusView is what status --json prints.
type clusterStatusView struct {
	clusterView
	Created     time.Time    `json:"created"`
	Application *deployedApp `json:"application,omitempty"`
	Running     *api.Task    `json:"running,omitempty"` // the application run last started
	Cluster     *api.Cluster `json:"cluster,omitempty"`
}

// statusDecisions is how many of the latest decisions status shows.
const statusDecisions = 15

func clusterStatus(ctx context.Context, e *env, name string, args []string) int {
	fs := newFlags(e, "cluster status", "cluster -n NAME status [--json]")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if _, err := parse(fs, args); err != nil {
		return exitParse(err)
	}
	r, err := loadCluster(name)
	if err != nil {
		return e.errorf("cluster status: %v", err)
	}
	v, cl := r.view(ctx)
	sv := clusterStatusView{clusterView: v, Created: r.Created, Application: r.App, Cluster: cl}
	if cl != nil && r.Running != "" {
		if c, err := clusterClient(r); err == nil {
			if t, err := c.Task(ctx, r.Running); err == nil {
				sv.Running = &t
			}
		}
	}
	if *asJSON {
		if err := printJSON(e.stdout, sv); err != nil {
			return e.errorf("cluster status: %v", err)
		}
		return 0
	}
	w := e.stdout
	fmt.Fprintf(w, "Cluster:      %s (%s), created %s\n", r.Name, v.Status, formatCreated(r.Created))
	if v.Error != "" {
		fmt.Fprintf(w, "Error:        %s\n", v.Error)
	}
	fmt.Fprintf(w, "Gateway:      %s (pid %d, log %s)\n", orDash(r.Gateway), r.PID, r.logFile())
	fmt.Fprintf(w, "Backend:      %s\n", r.Backend)
	if a := r.App; a != nil {
		files := ""
		if a.Files > 0 {
			files = fmt.Sprintf(", with %d files", a.Files)
		}
		fmt.Fprintf(w, "Application:  %s (%s%s), deployed %s\n", a.File, api.FormatBytes(uint64(a.Size)), files, formatCreated(a.Time))
	} else {
		fmt.Fprintf(w, "Application:  none deployed\n")
	}
	if t := sv.Running; t != nil {
		fmt.Fprintf(w, "Last run:     task %s, %s\n", t.ID, t.Status)
	}
	if cl == nil {
		return 0
	}
	whose := "the cluster's own"
	if cl.Task != "" {
		whose = "task " + cl.Task + "'s, while it runs"
	}
	fmt.Fprintf(w, "Policy:       standby_machines %d, machines_limit %d, machines_timeout %v, cooldown %v (%s)\n",
		cl.StandbyMachines, cl.MachinesLimit, time.Duration(cl.MachinesTimeout*float64(time.Second)), time.Duration(cl.Cooldown*float64(time.Second)), whose)
	fmt.Fprintf(w, "Workers:      %d busy, %d standby, %d starting\n\n", v.Workers.Busy, v.Workers.Standby, v.Workers.Starting)
	if len(cl.Machines) > 0 {
		tw := newTable(w)
		fmt.Fprintln(tw, "MACHINE\tPHASE\tWORKER\tBUSY\tSINCE\tATTEMPTS")
		for _, m := range cl.Machines {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%d\n", m.ID, m.Phase, orDash(api.ShortPeer(m.Worker)), m.Busy, m.Since.Local().Format(time.TimeOnly), m.Attempts)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	ds := cl.Decisions
	if len(ds) > statusDecisions {
		ds = ds[len(ds)-statusDecisions:]
	}
	if len(ds) > 0 {
		fmt.Fprintf(w, "Decisions (the latest %d):\n", len(ds))
		tw := newTable(w)
		for _, d := range ds {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.Time.Local().Format("15:04:05.000"), d.Kind, orDash(d.Machine), d.Reason)
		}
		tw.Flush()
	}
	return 0
}
