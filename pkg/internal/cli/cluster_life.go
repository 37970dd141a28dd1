package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/appconfig"
	"github.com/shoalmesh/shoal/pkg/internal/backend"
	"github.com/shoalmesh/shoal/pkg/internal/scale"
)

// defaultClusterLimit is a created cluster's machines_limit when its
// CONFIG.toml sets none: a cluster that could never run anything would
// surprise.
const defaultClusterLimit = 4

// clusterWait bounds how long create waits for the gateway to start and
// for the standby machines to join.
const clusterWait = 2 * time.Minute

// gatewayStartRE finds the HTTP API in a gateway's start line.
var gatewayStartRE = regexp.MustCompile(`(?m)^shoal gateway peer=\S+.* http=(\S+)`)

func clusterCreate(ctx context.Context, e *env, name string, args []string) int {
	var config string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		config, args = args[0], args[1:]
	}
	gwFlags := args // the rest is the gateway's: they override the file's
	cfg := appconfig.Config{}
	if config != "" {
		var err error
		if cfg, err = appconfig.Load(config); err != nil {
			return e.errorf("cluster create: %v", err)
		}
		if _, err := cfg.Policy(scale.DefaultPolicy()); err != nil {
			return e.errorf("cluster create: %v", err)
		}
	}
	root, err := clustersDir()
	if err != nil {
		return e.errorf("cluster create: %v", err)
	}
	switch old, err := loadCluster(name); {
	case err == nil:
		return e.errorf("cluster create: cluster %q exists (%s, gateway %s): destroy it first (shoal cluster -n %s destroy) or choose another name", name, old.liveStatus(), old.Gateway, name)
	case !errors.Is(err, errNoCluster): // a record that cannot be read is not written over
		return e.errorf("cluster create: %v", err)
	}
	r := &clusterRecord{
		Name: name, Created: time.Now().UTC(), Status: clusterCreating, Backend: "local",
		Namespace: "shoal-cluster-" + name, Policy: ownPolicy(cfg.Cluster), dir: filepath.Join(root, name),
	}
	if cfg.Cluster != nil && cfg.Cluster.Backend != "" {
		r.Backend = cfg.Cluster.Backend
	}
	if v, ok := flagValue(gwFlags, "backend"); ok {
		r.Backend = v
	}
	if !slices.Contains(appconfig.Backends, r.Backend) {
		return e.errorf("cluster create: backend %q: a cluster's machines come from %s", r.Backend, strings.Join(appconfig.Backends, " or "))
	}
	// The gateway's flags win over the file: the record, the default limit
	// and the wait for standby machines go by what the gateway will run.
	for _, f := range []struct {
		name string
		dst  **int
	}{{"standby-machines", &r.Policy.StandbyMachines}, {"machines-limit", &r.Policy.MachinesLimit}} {
		if v, ok := flagValue(gwFlags, f.name); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return e.errorf("cluster create: --%s %q: not a whole number of machines", f.name, v)
			}
			*f.dst = &n
		}
	}
	if r.Policy.MachinesLimit == nil {
		n := max(defaultClusterLimit, derefInt(r.Policy.StandbyMachines))
		r.Policy.MachinesLimit = &n
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return e.errorf("cluster create: %v", err)
	}
	say(e, "Creating cluster %q (backend %s) in %s", name, r.Backend, r.dir)
	gwArgs := []string{"gateway", "--data", r.dataDir(), "--ns", r.Namespace, "--cluster", name, "--backend", r.Backend}
	gwArgs = append(gwArgs, policyFlags(r.Policy)...)
	if _, ok := flagValue(gwFlags, "http"); !ok {
		addr, err := freeLoopbackPort()
		if err != nil {
			return e.errorf("cluster create: no free port for the gateway's API: %v (give one with --http)", err)
		}
		gwArgs = append(gwArgs, "--http", addr)
	}
	if r.Backend == "docker" {
		extra, err := dockerNetwork(e, r, gwFlags)
		if err != nil {
			r.fail(err)
			return e.errorf("cluster create: %v", err)
		}
		gwArgs = append(gwArgs, extra...)
	}
	gwArgs = append(gwArgs, gwFlags...)
	if err := r.save(); err != nil {
		return e.errorf("cluster create: %v", err)
	}
	say(e, "Starting the gateway...")
	start := time.Now()
	url, err := startClusterGateway(ctx, r, gwArgs)
	if err != nil {
		r.fail(err)
		return e.errorf("cluster create: the gateway did not start: %v\nshoal cluster -n %s destroy removes what was made", err, name)
	}
	r.Gateway, r.Status = url, clusterReady
	if err := r.save(); err != nil {
		return e.errorf("cluster create: %v", err)
	}
	say(e, "Gateway ready in %.1f s at %s (pid %d, log %s)", time.Since(start).Seconds(), url, r.PID, r.logFile())
	if n := derefInt(r.Policy.StandbyMachines); n > 0 {
		c, err := clusterClient(r)
		if err != nil {
			return e.errorf("cluster create: %v", err)
		}
		say(e, "Waiting for %d standby machine(s)...", n)
		w := &decisionWriter{e: e, since: start}
		ready := func(cl api.Cluster) bool { return readyMachines(cl) >= n }
		if err := w.until(ctx, c, clusterWait, ready); err != nil {
			say(e, "The standby machines are not all up (%v); the gateway keeps trying: shoal cluster -n %s status", err, name)
		}
	}
	say(e, "Cluster %q is ready.", name)
	return 0
}

// fail records that r could not be made.
func (r *clusterRecord) fail(err error) {
	r.Status, r.Error = clusterFailed, err.Error()
	_ = r.save()
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// policyFlags are the gateway's flags for p's fields that are set.
func policyFlags(p api.ClusterPolicy) []string {
	var out []string
	if p.StandbyMachines != nil {
		out = append(out, "--standby-machines", strconv.Itoa(*p.StandbyMachines))
	}
	if p.MachinesLimit != nil {
		out = append(out, "--machines-limit", strconv.Itoa(*p.MachinesLimit))
	}
	if p.MachinesTimeout != nil {
		out = append(out, "--machines-timeout", time.Duration(*p.MachinesTimeout).String())
	}
	if p.Cooldown != nil {
		out = append(out, "--cooldown", time.Duration(*p.Cooldown).String())
	}
	return out
}

// flagValue finds the value of flag name among args as the flag package
// reads them (-name V, --name V, -name=V); the last one wins.
func flagValue(args []string, name string) (string, bool) {
	var v string
	var found bool
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			break
		}
		f, val, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || f != name {
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		v, found = val, true
	}
	return v, found
}

// freeLoopbackPort returns a loopback address with a port free now.
func freeLoopbackPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// dockerNetwork makes the cluster's own docker network, unless the flags
// name one, and returns the gateway's flags for it: the machines join
// over it, at the gateway's address on its bridge.
func dockerNetwork(e *env, r *clusterRecord, gwFlags []string) ([]string, error) {
	if _, ok := flagValue(gwFlags, "docker-network"); ok {
		return nil, nil
	}
	net := "shoal-" + r.Name
	say(e, "Creating the docker network %s for its machines...", net)
	if out, err := exec.Command("docker", "network", "create", "--label", "shoal.cluster="+r.Name, net).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker network create %s: %v: %s", net, err, strings.TrimSpace(string(out)))
	}
	r.Network = net
	out, err := exec.Command("docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}} {{end}}", net).Output()
	if err != nil {
		return nil, fmt.Errorf("docker network inspect %s: %v", net, err)
	}
	ip := strings.Fields(string(out))
	if len(ip) == 0 {
		return nil, fmt.Errorf("docker network %s has no gateway address for the machines to reach this host at", net)
	}
	return []string{"--docker-network", net, "--listen", "/ip4/" + ip[0] + "/tcp/0"}, nil
}

// startClusterGateway starts r's gateway, this program with args, as a
// process of its own session that outlives the command, its output in
// r's log; it returns the gateway's API URL once its start line is out.
func startClusterGateway(ctx context.Context, r *clusterRecord, args []string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	logf, err := os.OpenFile(r.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	start, err := logf.Seek(0, 2)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	r.PID = cmd.Process.Pid
	if err := r.save(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(clusterWait)
	for {
		if m := gatewayStartRE.FindSubmatch(readFrom(r.logFile(), start)); m != nil {
			return string(m[1]), nil
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("it exited (%v):\n%s", err, startFailure(readFrom(r.logFile(), start)))
		case <-deadline:
			_ = cmd.Process.Kill()
			return "", fmt.Errorf("no start line in %s after %v; it was stopped", r.logFile(), clusterWait)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// readFrom returns file's bytes from offset on; nil if it cannot.
func readFrom(file string, offset int64) []byte {
	b, err := os.ReadFile(file)
	if err != nil || int64(len(b)) < offset {
		return nil
	}
	return b[offset:]
}

// startFailure returns the lines of a gateway's output that say why it did not
// start: its error lines ("shoal: gateway: ...", a bad flag), else its
// last lines (a usage text ends with the flags, not the error).
func startFailure(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	var errs []string
	for _, l := range lines {
		if strings.HasPrefix(l, "shoal: ") || strings.HasPrefix(l, "flag provided but not defined") || strings.HasPrefix(l, "invalid value") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		errs = lines[max(0, len(lines)-10):]
	}
	return "  " + strings.Join(errs, "\n  ")
}

// readyMachines counts the machines of c whose worker has joined.
func readyMachines(c api.Cluster) int {
	n := 0
	for _, m := range c.Machines {
		if m.Phase == string(scale.Ready) {
			n++
		}
	}
	return n
}

// decisionWriter prints a cluster's scaling decisions as they come,
// each once.
type decisionWriter struct {
	e     *env
	since time.Time // print those after
	// note prints a line of what happened at a time; nil: say.
	note func(time.Time, string) error
}

// print prints the decisions of c newer than the last printed.
func (w *decisionWriter) print(c api.Cluster) {
	for _, d := range c.Decisions {
		if !d.Time.After(w.since) {
			continue
		}
		w.since = d.Time
		line := fmt.Sprintf("cluster: %s %s: %s", d.Kind, d.Machine, d.Reason)
		if d.Machine == "" {
			line = fmt.Sprintf("cluster: %s: %s", d.Kind, d.Reason)
		}
		if w.note != nil {
			_ = w.note(d.Time, line)
		} else {
			say(w.e, "  %s", line)
		}
	}
}

// until prints c's decisions until done says so, for at most d.
func (w *decisionWriter) until(ctx context.Context, c *client.Client, d time.Duration, done func(api.Cluster) bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		cl, err := c.Cluster(ctx)
		if err == nil {
			w.print(cl)
			if done(cl) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return err
			}
			return fmt.Errorf("not after %v", d)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// clusterView is a cluster as list --json shows it.
type clusterView struct {
	Name    string      `json:"name"`
	Status  string      `json:"status"`
	Error   string      `json:"error,omitempty"`
	Gateway string      `json:"gateway"`
	Backend string      `json:"backend"`
	Workers workerCount `json:"workers"`
	App     string      `json:"app,omitempty"` // the deployed file
}

// workerCount counts a cluster's machines by what they do.
type workerCount struct {
	Busy     int `json:"busy"`
	Standby  int `json:"standby"`  // joined and idle
	Starting int `json:"starting"` // asked for, not joined yet
}

func countWorkers(c api.Cluster) workerCount {
	var n workerCount
	for _, m := range c.Machines {
		switch {
		case m.Phase == string(scale.Starting):
			n.Starting++
		case m.Busy:
			n.Busy++
		case m.Phase == string(scale.Ready):
			n.Standby++
		}
	}
	return n
}

// view reads r's state, asking its gateway when it runs.
func (r *clusterRecord) view(ctx context.Context) (clusterView, *api.Cluster) {
	v := clusterView{Name: r.Name, Status: r.liveStatus(), Error: r.Error, Gateway: r.Gateway, Backend: r.Backend}
	if r.App != nil {
		v.App = r.App.File
	}
	if v.Status != clusterReady {
		return v, nil
	}
	c, err := clusterClient(r)
	if err != nil {
		return v, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cl, err := c.Cluster(ctx)
	if err != nil {
		v.Error = "the gateway does not answer: " + err.Error()
		return v, nil
	}
	v.Workers = countWorkers(cl)
	return v, &cl
}

func clusterList(ctx context.Context, e *env, _ string, args []string) int {
	fs := newFlags(e, "cluster list", "cluster list [--json]")
	asJSON := fs.Bool("json", false, "print the clusters as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if len(pos) > 0 {
		return usageError(e, "cluster list", "cluster list [--json]", "unexpected argument %q", pos[0])
	}
	recs, err := loadClusters()
	if err != nil {
		return e.errorf("cluster list: %v", err)
	}
	views := make([]clusterView, 0, len(recs))
	for _, r := range recs {
		v, _ := r.view(ctx)
		views = append(views, v)
	}
	if *asJSON {
		if err := printJSON(e.stdout, views); err != nil {
			return e.errorf("cluster list: %v", err)
		}
		return 0
	}
	if len(views) == 0 {
		say(e, "No clusters: shoal cluster create -n NAME makes one.")
		return 0
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "NAME\tSTATUS\tGATEWAY\tWORKERS\tBACKEND\tAPP")
	for _, v := range views {
		workers := "-"
		if v.Status == clusterReady && !strings.HasPrefix(v.Error, "the gateway") {
			workers = fmt.Sprintf("%d busy, %d standby", v.Workers.Busy, v.Workers.Standby)
			if v.Workers.Starting > 0 {
				workers += fmt.Sprintf(", %d starting", v.Workers.Starting)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Status, orDash(v.Gateway), workers, v.Backend, orDash(v.App))
	}
	tw.Flush()
	return 0
}

func clusterDestroy(ctx context.Context, e *env, name string, args []string) int {
	fs := newFlags(e, "cluster destroy", "cluster -n NAME destroy [--yes]")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if _, err := parse(fs, args); err != nil {
		return exitParse(err)
	}
	r, err := loadCluster(name)
	if err != nil {
		return e.errorf("cluster destroy: %v", err)
	}
	if !*yes {
		fmt.Fprintf(e.stderr, "This removes cluster %q: its gateway, its machines, its data and its record (%s). There is no undo.\nType the cluster's name to confirm: ", name, r.dir)
		answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if strings.TrimSpace(answer) != name {
			return e.errorf("cluster destroy: not confirmed; cluster %q is left as it was (--yes skips the question)", name)
		}
	}
	say(e, "Destroying cluster %q", name)
	if r.liveStatus() != clusterStopped && r.Gateway != "" {
		if c, err := clusterClient(r); err == nil {
			releaseThroughGateway(ctx, e, r, c)
		}
	}
	// What is left is local: it is done to the end, even after Ctrl-C.
	ctx = context.WithoutCancel(ctx)
	if r.gatewayRuns() {
		say(e, "Stopping the gateway (pid %d)...", r.PID)
		if err := stopProcess(r.PID, 30*time.Second); err != nil {
			return e.errorf("cluster destroy: %v", err)
		}
	}
	if err := stopLeftMachines(ctx, e, r); err != nil {
		return e.errorf("cluster destroy: %v; the record is kept: run destroy again", err)
	}
	if r.Network != "" {
		say(e, "Removing the docker network %s...", r.Network)
		if out, err := exec.Command("docker", "network", "rm", r.Network).CombinedOutput(); err != nil && !strings.Contains(string(out), "not found") {
			return e.errorf("cluster destroy: docker network rm %s: %v: %s", r.Network, err, strings.TrimSpace(string(out)))
		}
	}
	say(e, "Removing its data and record (%s)...", r.dir)
	if err := os.RemoveAll(r.dir); err != nil {
		return e.errorf("cluster destroy: %v", err)
	}
	say(e, "Cluster %q destroyed.", name)
	return 0
}

// gatewayCall bounds each call destroy makes to a gateway, which may not
// answer (stopped, or stuck): destroy goes on without it.
const gatewayCall = 5 * time.Second

// releaseThroughGateway stops r's application and gives back its
// machines through its gateway, as far as the gateway answers.
func releaseThroughGateway(ctx context.Context, e *env, r *clusterRecord, c *client.Client) {
	call, cancel := context.WithTimeout(ctx, gatewayCall)
	defer cancel()
	stopApplication(call, e, r, c)
	zero := 0 // no standby machine comes back after the clean-up
	if _, err := c.SetClusterPolicy(call, api.ClusterPolicy{StandbyMachines: &zero, MachinesLimit: &zero}); err != nil {
		say(e, "  the gateway did not take the policy of no machines (%v): its machines are stopped below", err)
		return
	}
	say(e, "Cleaning up the dynamic workers (waiting up to a minute for runs under way on them)...")
	if err := cleanUpWait(ctx, c); err != nil {
		say(e, "  not cleaned up through the gateway (%v): stopping them below", err)
	}
}

// cleanUpWait gives back the cluster's machines, waiting for the runs
// under way to end (the application was just stopped) for up to a minute.
func cleanUpWait(ctx context.Context, c *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute+gatewayCall)
	defer cancel()
	deadline := time.Now().Add(time.Minute)
	for {
		cl, err := c.CleanUp(ctx)
		var ae *client.APIError
		switch {
		case err == nil:
			for range 300 { // the backend stops them in the background
				if len(cl.Machines) == 0 {
					return nil
				}
				time.Sleep(100 * time.Millisecond)
				if cl, err = c.Cluster(ctx); err != nil {
					return err
				}
			}
			return fmt.Errorf("%d machines still stopping", len(cl.Machines))
		case errors.As(err, &ae) && ae.Status == 409 && strings.Contains(ae.Message, "under way") && time.Now().Before(deadline):
			time.Sleep(200 * time.Millisecond)
		default:
			return err
		}
	}
}

// stopLeftMachines stops the machines r's backend still runs for it: a
// gateway leaves its machines running when it stops (the next one on the
// same data would stop them).
func stopLeftMachines(ctx context.Context, e *env, r *clusterRecord) error {
	b, err := newBackend(r.Backend, r.dataDir(), r.Name, "", r.Network, nil)
	if err != nil {
		return nil // it never started a machine
	}
	ids, err := b.List(ctx)
	if err != nil {
		return fmt.Errorf("listing the %s backend's machines: %w", r.Backend, err)
	}
	for _, id := range ids {
		say(e, "Stopping machine %s, left behind...", id)
		if err := b.Stop(ctx, id); err != nil && !errors.Is(err, backend.ErrUnknown) {
			return fmt.Errorf("machine %s: %w", id, err)
		}
	}
	return nil
}
