// Package backend provisions the machines of a cluster: each runs a Shoal
// worker that joins the cluster's gateway. The gateway's scaler (package
// scale decides, the gateway acts) asks a Backend for machines when work
// waits and gives them back when they are idle; docs/BACKENDS.md says how
// to add one (ssh, a cloud, Kubernetes).
package backend

import (
	"context"
	"errors"
)

// Backend starts and stops machines. Its methods may be called from
// several goroutines at once, for different machines.
type Backend interface {
	// Name is the backend's name in configs: "local", "docker".
	Name() string
	// Start starts machine id, whose worker joins the gateway as spec
	// says. It returns once the machine is on its way, not once its
	// worker has joined (the gateway sees that); an error means it will
	// not come. A machine that stops by itself later is reported to the
	// Exited function the backend was made with.
	Start(ctx context.Context, id string, spec WorkerSpec) error
	// Stop stops machine id, its worker given its grace period to finish
	// (the gateway drains it first), and returns once it is gone. Stopping
	// a machine that is gone already is not an error.
	Stop(ctx context.Context, id string) error
	// List returns the ids of the machines the backend runs for this
	// cluster, so that a gateway started again adopts or stops them.
	List(ctx context.Context) ([]string, error)
}

// WorkerSpec is how a machine's worker joins its gateway.
type WorkerSpec struct {
	// Gateway is the multiaddr, ending in /p2p/ID, the worker dials.
	Gateway string
	// JoinToken is the gateway's join token (SHOAL1....), which the
	// worker presents.
	JoinToken string
	// Namespace is the cluster's discovery namespace (--ns).
	Namespace string
	// Labels are the worker's placement labels; they include
	// MachineLabel(id), by which the gateway knows the worker's machine.
	Labels []string
	// Slots and Memory are what the worker offers; 0: its defaults.
	Slots  int
	Memory uint64
}

// MachineLabelPrefix starts the label of a machine's worker.
const MachineLabelPrefix = "shoal:machine="

// MachineLabel is the placement label of machine id's worker.
func MachineLabel(id string) string { return MachineLabelPrefix + id }

// ErrUnknown is Stop's error for a machine the backend never ran.
var ErrUnknown = errors.New("no such machine")
