package cli

import (
	"flag"
	"fmt"
	"path/filepath"

	"github.com/shoalmesh/shoal/pkg/internal/backend"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/scale"
)

// scaleFlags are the gateway's flags of a scaling cluster
// (docs/CLUSTERS.md): the backend its machines come from and the policy.
type scaleFlags struct {
	backend          string
	policy           scale.Policy
	slots            int
	memory           uint64
	warm             stringList
	image, network   string
	cluster, dialVia string
}

func (f *scaleFlags) register(fs *flag.FlagSet) {
	f.policy = scale.DefaultPolicy()
	fs.StringVar(&f.backend, "backend", "", "scale the cluster with machines from this backend: local (worker processes on this machine) or docker (worker containers); default none: workers are started by hand")
	fs.IntVar(&f.policy.Standby, "standby-machines", f.policy.Standby, "machines kept, idle or not, warm with the deployed application")
	fs.IntVar(&f.policy.Limit, "machines-limit", f.policy.Limit, "the most machines at once")
	fs.DurationVar(&f.policy.Timeout, "machines-timeout", f.policy.Timeout, "a machine idle this long, above the standby count, is drained and released")
	fs.DurationVar(&f.policy.Cooldown, "cooldown", f.policy.Cooldown, "the least time between two scale-downs, and the least age of a machine released")
	fs.IntVar(&f.slots, "machine-slots", 1, "runs each machine's worker executes at once")
	fs.Func("machine-memory", "memory each machine's worker offers (default its own: 4GiB)", func(x string) error {
		n, err := parseSize(x)
		f.memory = n
		return err
	})
	fs.Var(&f.warm, "warm", "a module (name or sha256:HEX) each machine compiles as it joins, repeatable (default app: what shoal cluster deploy names)")
	fs.StringVar(&f.image, "docker-image", "shoal:dev", "the image of the docker backend's workers (make image)")
	fs.StringVar(&f.network, "docker-network", "", "the docker network of the docker backend's workers; it must reach the gateway")
	fs.StringVar(&f.cluster, "cluster", "", "the cluster's name, for its machines (default: the discovery namespace)")
	fs.StringVar(&f.dialVia, "machines-dial", "", "the multiaddr, with /p2p/ID, the machines' workers dial (default: the gateway's first TCP address)")
}

// config makes cfg.Scale from the flags, with the gateway's data dir data
// and namespace ns; exited is told of machines that stop by themselves.
func (f *scaleFlags) config(cfg *gateway.Config, data, ns string, exited func(string, error)) error {
	if f.backend == "" {
		return nil
	}
	f.policy.Slots = f.slots
	if err := f.policy.Validate(); err != nil {
		return err
	}
	name := f.cluster
	if name == "" {
		name = ns
	}
	if f.backend == "docker" && f.network == "" {
		return fmt.Errorf("docker-network: the docker backend needs a network that reaches the gateway")
	}
	b, err := newBackend(f.backend, data, name, f.image, f.network, exited)
	if err != nil {
		return err
	}
	warm := []string(f.warm)
	if warm == nil {
		warm = []string{"app"}
	}
	cfg.Scale = gateway.ScaleConfig{
		Backend: b, Policy: f.policy, Dial: f.dialVia, Warm: warm,
		Machine: backend.WorkerSpec{Namespace: ns, Slots: f.slots, Memory: f.memory},
	}
	return nil
}

// newBackend makes the backend kind of cluster name, whose gateway's data
// is in data. The machines outlive the gateway's process; the next
// gateway on the same data stops them when it starts (ScaleConfig), and
// so does shoal cluster destroy.
func newBackend(kind, data, name, image, network string, exited func(string, error)) (backend.Backend, error) {
	switch kind {
	case "local":
		return backend.NewLocal(backend.LocalConfig{Dir: filepath.Join(data, "machines"), Cluster: name, Exited: exited}), nil
	case "docker":
		return backend.NewDocker(backend.DockerConfig{Image: image, Network: network, Cluster: name, Exited: exited}), nil
	}
	return nil, fmt.Errorf("backend: %q is neither local nor docker", kind)
}
