package backend

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Docker labels of a machine's container, by which List finds them.
const (
	DockerClusterLabel = "shoal.cluster"
	DockerMachineLabel = "shoal.machine"
)

// The image's layout (docker/Dockerfile): its user, the directory the
// join token file is copied into, the data volume.
const (
	imageUser  = 65532
	imageJoin  = "/join"
	imageData  = "/data"
	dockerPort = "4001"
)

// DockerConfig configures a Docker backend.
type DockerConfig struct {
	// Image is the shoal image, as `make image` builds it (default
	// shoal:dev). It is never pulled by the backend: docker run pulls an
	// image it lacks only if a registry has it.
	Image string
	// Network is the docker network the containers join; it must exist
	// (the backend does not create it) and reach the gateway's address.
	// Required.
	Network string
	// Cluster names the cluster: containers are shoal-CLUSTER-ID and
	// labelled shoal.cluster=CLUSTER. Required.
	Cluster string
	// Grace is the workers' --grace (0: the worker's default, 10 s);
	// docker stop kills a worker 5 s after it.
	Grace time.Duration
	// Exited, if set, is called when a machine's container stops by
	// itself (not after Stop), with its error (nil: status 0). It is
	// called from the machine's watcher goroutine and must not block.
	Exited func(id string, err error)
	// Logger receives the backend's log lines (default: none).
	Logger *slog.Logger
	// Docker is the docker CLI (default "docker").
	Docker string
}

// Validate names the first bad field.
func (c DockerConfig) Validate() error {
	switch {
	case c.Network == "":
		return errors.New("docker backend: Network: required")
	case c.Cluster == "":
		return errors.New("docker backend: Cluster: required")
	case c.Grace < 0:
		return fmt.Errorf("docker backend: Grace: %v < 0", c.Grace)
	}
	if err := checkID(c.Cluster); err != nil {
		return fmt.Errorf("docker backend: Cluster: %w", err)
	}
	return nil
}

// Docker runs machines as containers of the shoal image, through the
// docker CLI. Containers outlive the gateway; a Docker made again with the
// same Cluster finds them with List and stops them with Stop.
type Docker struct {
	cfg  DockerConfig
	log  *slog.Logger
	ctx  context.Context // the watchers'; cancelled by Close
	stop context.CancelFunc

	mu       sync.Mutex
	machines map[string]*dockerMachine // started by this Docker, until removed
	closed   bool
	wg       sync.WaitGroup // the watchers
}

// dockerMachine is a container this Docker started.
type dockerMachine struct {
	done     chan struct{} // closed when its watcher returns
	stopping bool          // Stop or Close is removing it: no Exited
}

var _ Backend = (*Docker)(nil)

// NewDocker returns a Docker backend; cfg is checked by Start (and by
// cfg.Validate).
func NewDocker(cfg DockerConfig) *Docker {
	if cfg.Image == "" {
		cfg.Image = "shoal:dev"
	}
	if cfg.Docker == "" {
		cfg.Docker = "docker"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Docker{
		cfg:      cfg,
		log:      log.With("component", "backend", "backend", "docker", "cluster", cfg.Cluster),
		ctx:      ctx,
		stop:     stop,
		machines: map[string]*dockerMachine{},
	}
}

// Name is "docker".
func (d *Docker) Name() string { return "docker" }

// Container is the name of machine id's container: shoal-CLUSTER-ID.
func (d *Docker) Container(id string) string { return "shoal-" + d.cfg.Cluster + "-" + id }

// Start creates machine id's container, copies the join token into it,
// and starts it; it returns once docker has started it. A container of id
// that runs is an error; one that has stopped is removed first.
func (d *Docker) Start(ctx context.Context, id string, spec WorkerSpec) error {
	if err := d.cfg.Validate(); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	if err := checkSpec(id, spec); err != nil {
		return err
	}
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return errors.New("docker backend: closed")
	case d.machines[id] != nil:
		d.mu.Unlock()
		return fmt.Errorf("machine %s: already running", id)
	}
	m := &dockerMachine{done: make(chan struct{})}
	d.machines[id] = m
	d.mu.Unlock()

	name := d.Container(id)
	err := d.start(ctx, id, name, spec)
	d.mu.Lock()
	if err == nil && d.closed {
		err = errors.New("docker backend: closed while starting")
	}
	if err != nil {
		delete(d.machines, id)
	} else {
		d.wg.Add(1)
	}
	d.mu.Unlock()
	if err != nil {
		if _, rerr := d.docker(context.WithoutCancel(ctx), nil, "rm", "-f", "-v", name); rerr != nil && !noSuchContainer(rerr) {
			d.log.Warn("removing a container that did not start", "machine", id, "err", rerr)
		}
		return err
	}
	go d.watch(id, name, m)
	d.log.Info("machine started", "machine", id, "container", name)
	return nil
}

func (d *Docker) start(ctx context.Context, id, name string, spec WorkerSpec) error {
	state, err := d.docker(ctx, nil, "container", "inspect", "-f", "{{.State.Status}}", name)
	switch {
	case err == nil && state != "exited" && state != "dead" && state != "created":
		return fmt.Errorf("machine %s: container %s is %s", id, name, state)
	case err == nil:
		if _, err := d.docker(ctx, nil, "rm", "-f", "-v", name); err != nil {
			return fmt.Errorf("machine %s: %w", id, err)
		}
	case !noSuchContainer(err):
		return fmt.Errorf("machine %s: %w", id, err)
	}
	args := []string{"create", "--name", name, "--network", d.cfg.Network,
		"--label", DockerClusterLabel + "=" + d.cfg.Cluster, "--label", DockerMachineLabel + "=" + id,
		d.cfg.Image}
	args = append(args, workerArgs(id, spec, imageJoin+"/join-token")...)
	args = append(args, "--data", imageData,
		"--listen", "/ip4/0.0.0.0/tcp/"+dockerPort, "--listen", "/ip4/0.0.0.0/udp/"+dockerPort+"/quic-v1")
	if d.cfg.Grace > 0 {
		args = append(args, "--grace", d.cfg.Grace.String())
	}
	if _, err := d.docker(ctx, nil, args...); err != nil {
		return fmt.Errorf("machine %s: %w", id, err)
	}
	tokenTar, err := tokenArchive(spec.JoinToken)
	if err != nil {
		return fmt.Errorf("machine %s: %w", id, err)
	}
	if _, err := d.docker(ctx, tokenTar, "cp", "-", name+":"+imageJoin); err != nil {
		return fmt.Errorf("machine %s: join token: %w", id, err)
	}
	if _, err := d.docker(ctx, nil, "start", name); err != nil {
		return fmt.Errorf("machine %s: %w", id, err)
	}
	return nil
}

// tokenArchive is a tar stream of the file join-token, owned by the
// image's user and readable by it only, for `docker cp -`: the token
// reaches the container's file system without appearing in its command
// line (which the host's ps shows) or its config (docker inspect).
func tokenArchive(token string) (io.Reader, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	body := []byte(token + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: "join-token", Mode: 0o600, Size: int64(len(body)),
		Uid: imageUser, Gid: imageUser, ModTime: time.Now()}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(body); err != nil {
		return nil, err
	}
	return &b, tw.Close()
}

// watch waits for machine id's container to stop. A container that
// stopped by itself is reported to Exited after its last log lines are
// logged and it is removed (a retry of Start then creates it anew).
func (d *Docker) watch(id, name string, m *dockerMachine) {
	defer d.wg.Done()
	defer close(m.done)
	status, err := d.docker(d.ctx, nil, "wait", name)
	d.mu.Lock()
	stopping := m.stopping || d.ctx.Err() != nil
	if !stopping {
		delete(d.machines, id)
	}
	d.mu.Unlock()
	if stopping {
		return
	}
	switch {
	case err != nil:
		err = fmt.Errorf("container %s: %w", name, err)
	case status != "0":
		err = fmt.Errorf("container %s exited with status %s", name, status)
	}
	ctx := context.WithoutCancel(d.ctx)
	logs, _ := d.docker(ctx, nil, "logs", "--tail", "20", name)
	d.log.Warn("machine exited by itself", "machine", id, "err", err, "logs", logs)
	// Removed only once docker said it exited: a failing docker CLI is
	// reported, never answered by removing a container that may run.
	if status != "" {
		if _, rerr := d.docker(ctx, nil, "rm", "-f", "-v", name); rerr != nil && !noSuchContainer(rerr) {
			d.log.Warn("removing an exited machine", "machine", id, "err", rerr)
		}
	}
	if d.cfg.Exited != nil {
		d.cfg.Exited(id, err)
	}
}

// Stop stops machine id's container (docker stop: SIGTERM, SIGKILL after
// grace+5 s) and removes it with its data volume. A container that is
// gone is not an error: docker cannot tell one that never was from one
// removed, so Stop never returns ErrUnknown.
func (d *Docker) Stop(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	d.mu.Lock()
	m := d.machines[id]
	if m != nil {
		m.stopping = true
	}
	d.mu.Unlock()
	name := d.Container(id)
	grace := d.cfg.Grace
	if grace == 0 {
		grace = defaultGrace
	}
	timeout := strconv.Itoa(int((grace + killAfter + time.Second - 1) / time.Second))
	if _, err := d.docker(ctx, nil, "stop", "-t", timeout, name); err != nil && !noSuchContainer(err) {
		return fmt.Errorf("machine %s: %w", id, err)
	}
	if _, err := d.docker(ctx, nil, "rm", "-f", "-v", name); err != nil && !noSuchContainer(err) {
		return fmt.Errorf("machine %s: %w", id, err)
	}
	if m != nil {
		<-m.done // docker wait returns once the container is gone
		d.mu.Lock()
		if d.machines[id] == m {
			delete(d.machines, id)
		}
		d.mu.Unlock()
	}
	d.log.Info("machine stopped", "machine", id, "container", name)
	return nil
}

// List returns the machines of the cluster's containers (docker ps -a
// with label shoal.cluster=CLUSTER), sorted: running ones, and stopped
// ones no watcher removed (stopped while no gateway ran), which Stop
// removes.
func (d *Docker) List(ctx context.Context) ([]string, error) {
	out, err := d.docker(ctx, nil, "ps", "-a", "--filter", "label="+DockerClusterLabel+"="+d.cfg.Cluster,
		"--format", `{{.Label "`+DockerMachineLabel+`"}}`)
	if err != nil {
		return nil, fmt.Errorf("docker backend: %w", err)
	}
	var ids []string
	for _, id := range strings.Fields(out) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Close stops every machine List reports, in parallel, then ends the
// watchers and waits for them: the gateway's shutdown.
func (d *Docker) Close(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	ids, err := d.List(ctx)
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Stop(ctx, id)
		}()
	}
	wg.Wait()
	d.stop()
	d.wg.Wait()
	return errors.Join(append(errs, err)...)
}

// docker runs the docker CLI and returns its output, trimmed; its error
// carries what docker said, on one line: it becomes a failed start's
// reason in GET /cluster and in the gateway's log.
func (d *Docker) docker(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.cfg.Docker, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		said := strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(stderr.String()), "\n", " | ")), " ")
		return "", fmt.Errorf("docker %s: %w: %s", args[0], err, said)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// noSuchContainer says whether docker's error is about a container that
// does not exist.
func noSuchContainer(err error) bool {
	return err != nil && strings.Contains(err.Error(), "No such container")
}
