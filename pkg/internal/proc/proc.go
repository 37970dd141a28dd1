// Package proc is Shoal's process model on one node: the spawn request
// record guests write (docs/PROCESSES.md), the errors of the shoal host
// module's process calls, the bounded mailboxes behind channels, and the
// Table of the processes a worker runs. It knows neither wazero nor the
// wire: wasmrun's host functions call a Host, and a Table reaches the rest
// of the cluster through a Transport.
package proc

import (
	"context"
	"time"
)

// Key names a process in the cluster: the root's is its run
// ("task/RUN#ATTEMPT"), a child's is the root's key, a dot and its pid.
type Key string

// Request is a decoded spawn request record (docs/PROCESSES.md).
type Request struct {
	Module  string   // "sha256:HEX"; "" is the spawner's own module
	Args    []string // argv after argv[0]
	Env     []string // K=V
	Stdin   []byte
	Cores   string // as api.ParseCores reads it; "" is the gateway's default
	Memory  string // as api.ParseBytes reads it; "" is the gateway's default
	Labels  []string
	Near    string        // "" or "parent"
	Timeout time.Duration // 0: what is left of the parent's
}

// Exit is how a process ended: Err is "" when it exited (Code is then its
// exit code), else why it failed (a trap, a limit, a lost worker).
type Exit struct {
	Code int32
	Err  string
}

// Host is what the shoal host module's process functions call for one
// run; handles are the guest's (0 is the parent). Every blocking call
// returns when ctx ends.
type Host interface {
	Self() Key
	Spawn(ctx context.Context, req Request) (handle int32, err error)
	Send(ctx context.Context, handle int32, msg []byte) error
	// Recv waits up to timeout (< 0: until ctx ends; 0: no wait) for the
	// next message from handle.
	Recv(ctx context.Context, handle int32, timeout time.Duration) ([]byte, error)
	Close(ctx context.Context, handle int32) error
	Wait(ctx context.Context, handle int32) (code int32, err error)
}

// Spawner is a Transport that can send a spawn request without waiting
// for its answer: StartSpawn sends it (requests leave in the order of the
// calls) and returns what waits for the answer.
type Spawner interface {
	StartSpawn(ctx context.Context, parent Key, req Request) func() (Key, error)
}

// Transport is how a Table reaches processes on other nodes: the worker's
// connection to its gateway.
type Transport interface {
	// Spawn asks for a child of parent; it returns the child's key once
	// the gateway has accepted it.
	Spawn(ctx context.Context, parent Key, req Request) (Key, error)
	// Send delivers msg from one process to another on another node; it
	// returns once the receiver's mailbox has taken it.
	Send(ctx context.Context, from, to Key, msg []byte) error
	// Close tells to that from has closed its side of their channel.
	Close(ctx context.Context, from, to Key) error
}
