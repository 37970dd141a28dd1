package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/appconfig"
)

// The `shoal cluster` commands (docs/CLUSTERS.md): a named cluster is a
// gateway process that scales its workers through a backend, recorded
// under the user's config directory so that every command finds it by
// name.
const clusterUsage = "cluster [-n NAME] create|list|deploy|run|status|stop|clean-up|destroy [ARGS] [flags]"

const clusterHelp = `Commands:
  create -n NAME [CONFIG.toml] [gateway flags]   make a cluster and start its gateway
  list [--json]                                  every cluster: status, gateway, workers, backend
  -n NAME deploy APP.wasm [--directory DIR]      upload the application and its data files
  -n NAME run CONFIG.toml [--detached] [--simple] start the application, stream its logs
  -n NAME status [--json]                        machines, policy and scaling decisions
  -n NAME stop                                   stop the running application
  -n NAME clean-up                               give back every dynamic worker, keep the gateway
  -n NAME destroy [--yes]                        remove everything the cluster made

Clusters are recorded in $XDG_CONFIG_HOME/shoal/clusters/NAME (default
~/.config/shoal/clusters/NAME), with the gateway's data and log.`

// clusterCommands are the subcommands of shoal cluster.
var clusterCommands = map[string]func(ctx context.Context, e *env, name string, args []string) int{
	"create":   clusterCreate,
	"list":     clusterList,
	"deploy":   clusterDeploy,
	"run":      clusterRun,
	"status":   clusterStatus,
	"stop":     clusterStop,
	"clean-up": clusterCleanUp,
	"destroy":  clusterDestroy,
}

func runCluster(ctx context.Context, e *env, args []string) int {
	name, rest, err := clusterName(args)
	if err != nil {
		return usageError(e, "cluster", clusterUsage, "%v", err)
	}
	if len(rest) == 0 || rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help" {
		fmt.Fprintf(e.stderr, "Usage: shoal %s\n\n%s\n", clusterUsage, clusterHelp)
		if len(rest) == 0 {
			return 2
		}
		return 0
	}
	sub, ok := clusterCommands[rest[0]]
	if !ok {
		return usageError(e, "cluster", clusterUsage, "unknown cluster command %q; shoal cluster -h lists them", rest[0])
	}
	if slices.ContainsFunc(rest[1:], func(a string) bool { return a == "-h" || a == "-help" || a == "--help" }) {
		if rest[0] == "create" { // its flags are the gateway's
			fmt.Fprintf(e.stderr, "Usage: shoal cluster create -n NAME [CONFIG.toml] [gateway flags]\n\nThe gateway flags are shoal gateway's (shoal gateway -h); they win over CONFIG.toml.\n")
			return 0
		}
		return sub(ctx, e, name, rest[1:]) // each parses its flags first: -h does nothing else
	}
	if name == "" && rest[0] != "list" {
		return usageError(e, "cluster", clusterUsage, "%s: which cluster? name it with -n NAME (shoal cluster list shows them)", rest[0])
	}
	if name != "" && !validClusterName(name) {
		return e.errorf("cluster: -n %q: a cluster's name is 1-32 of a-z, 0-9 and '-', starting with a letter", name)
	}
	return sub(ctx, e, name, rest[1:])
}

// clusterName takes -n NAME (or --name NAME, -n=NAME) out of args,
// wherever it stands before "--": `shoal cluster -n demo deploy` and
// `shoal cluster create -n demo` both name the cluster.
func clusterName(args []string) (string, []string, error) {
	var name string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		flag, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (flag != "n" && flag != "name") {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 == len(args) {
				return "", nil, fmt.Errorf("%s needs the cluster's name", a)
			}
			i++
			val = args[i]
		}
		if name != "" && name != val {
			return "", nil, fmt.Errorf("two cluster names: %q and %q", name, val)
		}
		name = val
	}
	return name, rest, nil
}

var clusterNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

func validClusterName(name string) bool { return clusterNamePattern.MatchString(name) }

// The statuses of a cluster.
const (
	clusterCreating = "creating"
	clusterReady    = "ready"
	clusterFailed   = "failed"
	clusterStopped  = "stopped"
)

// clusterRecord is what shoal keeps of a cluster, in its directory's
// cluster.json.
type clusterRecord struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Status is as of the last command that changed it: creating, ready
	// or failed (list and status check whether its gateway still runs).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Gateway is its gateway's HTTP API; PID its process.
	Gateway string `json:"gateway"`
	PID     int    `json:"pid"`
	Backend string `json:"backend"`
	// Namespace is its discovery namespace (--ns).
	Namespace string `json:"namespace"`
	// Network is the docker network create made for its machines, which
	// destroy removes; "" for none.
	Network string `json:"network,omitempty"`
	// Policy is how it scales when no application runs: its CONFIG.toml's
	// [cluster] table.
	Policy api.ClusterPolicy `json:"policy"`
	// App is the deployed application; nil before the first deploy.
	App *deployedApp `json:"app,omitempty"`
	// Running is the task of the application run last started.
	Running string `json:"running,omitempty"`

	dir string // the record's directory
}

// deployedApp is what shoal cluster deploy uploaded.
type deployedApp struct {
	File   string    `json:"file"`
	Module string    `json:"module"` // sha256 hex
	Size   int64     `json:"size"`
	Files  int       `json:"files"` // of --directory; 0: none, no bundle
	Time   time.Time `json:"time"`
}

// appName is the name the deployed application's module and files are
// given on the gateway (the gateway warms machines with it: --warm).
const appName = "app"

// clustersDir is where clusters are recorded: $XDG_CONFIG_HOME/shoal/
// clusters, else ~/.config/shoal/clusters.
func clustersDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory to record clusters in (set $XDG_CONFIG_HOME or $HOME): %w", err)
	}
	return filepath.Join(d, "shoal", "clusters"), nil
}

func (r *clusterRecord) dataDir() string { return filepath.Join(r.dir, "gateway") }
func (r *clusterRecord) logFile() string { return filepath.Join(r.dir, "gateway.log") }

// save writes the record atomically.
func (r *clusterRecord) save() error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(r.dir, "cluster.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.dir, "cluster.json"))
}

// errNoCluster is loadCluster's error for a name with no record.
var errNoCluster = errors.New("no such cluster")

// loadCluster reads the record of cluster name.
func loadCluster(name string) (*clusterRecord, error) {
	root, err := clustersDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, name)
	b, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q: shoal cluster list shows the clusters; shoal cluster create -n %s makes it", errNoCluster, name, name)
	}
	if err != nil {
		return nil, err
	}
	r := &clusterRecord{dir: dir}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("%s: %w (remove the directory to forget the cluster)", filepath.Join(dir, "cluster.json"), err)
	}
	return r, nil
}

// loadClusters reads every record, by name.
func loadClusters() ([]*clusterRecord, error) {
	root, err := clustersDir()
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*clusterRecord
	for _, d := range ents {
		if !d.IsDir() || !validClusterName(d.Name()) {
			continue
		}
		if r, err := loadCluster(d.Name()); err == nil {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *clusterRecord) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// clusterClient returns a client of r's gateway, with the token of
// $SHOAL_TOKEN if any.
func clusterClient(r *clusterRecord) (*client.Client, error) {
	return client.New(r.Gateway, nil, client.WithToken(strings.TrimSpace(os.Getenv("SHOAL_TOKEN"))))
}

// liveStatus is r's status now: stopped when its gateway's process is
// gone, whatever the record says.
func (r *clusterRecord) liveStatus() string {
	if r.Status == clusterFailed {
		return clusterFailed
	}
	if !r.gatewayRuns() {
		return clusterStopped
	}
	return r.Status
}

// gatewayRuns reports whether r's gateway process runs: its pid runs a
// process with r's data directory among its arguments (not another
// that took the pid since).
func (r *clusterRecord) gatewayRuns() bool { return r.PID != 0 && runsWith(r.PID, r.dataDir()) }

// ownPolicy is the cluster's own policy from its CONFIG.toml's [cluster]
// table, as PUT /cluster/policy takes it.
func ownPolicy(t *appconfig.ClusterTable) api.ClusterPolicy {
	var p api.ClusterPolicy
	if t == nil {
		return p
	}
	p.StandbyMachines, p.MachinesLimit = t.Standby, t.Limit
	if t.Timeout != nil {
		s := api.Seconds(*t.Timeout)
		p.MachinesTimeout = &s
	}
	if t.Cooldown != nil {
		s := api.Seconds(*t.Cooldown)
		p.Cooldown = &s
	}
	return p
}

// say prints one step of what a cluster command does, as Hadean's CLI
// does: "Starting the gateway...".
func say(e *env, format string, args ...any) {
	fmt.Fprintf(e.stdout, format+"\n", args...)
}
