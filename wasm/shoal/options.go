package shoal

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"time"
)

// SpawnOptions describes a child to Spawn. The zero value spawns the
// caller's own module with no arguments, no environment, no stdin and the
// gateway's default cores, memory and time limit.
//
// It mirrors the spawn request record of docs/PROCESSES.md field by field;
// MarshalBinary writes that record; the host reads it with its own
// decoder (pkg/internal/proc), whose tests read what this one writes.
type SpawnOptions struct {
	// Module is the "sha256:HEX" of a module the gateway holds; "" is the
	// spawner's own module.
	Module string
	// Args is the child's argv after argv[0]; its argv[0] is its key.
	Args []string
	// Env holds the child's environment as "K=V" entries: it inherits none.
	Env []string
	// Stdin is the child's whole stdin.
	Stdin []byte
	// Cores to reserve, as `shoal submit --cores` reads them: "1/16",
	// "0.25", "250m"; "" is the gateway's --spawn-cores.
	Cores string
	// Memory to reserve, which is also the child's limit of linear memory:
	// "8MiB", "67108864"; "" is the gateway's --spawn-memory.
	Memory string
	// Labels are "key=value" constraints on the labels of the worker that
	// takes the child.
	Labels []string
	// Near is "parent" to prefer the parent's worker when it has room, or
	// "" to let the gateway place the child anywhere.
	Near string
	// Timeout is the child's time limit; 0, and anything longer than what
	// is left of the parent's, is what is left of the parent's.
	Timeout time.Duration
}

// The spawn request record's tags.
const (
	tagModule  = 1
	tagArg     = 2
	tagEnv     = 3
	tagStdin   = 4
	tagCores   = 5
	tagMemory  = 6
	tagLabel   = 7
	tagNear    = 8
	tagTimeout = 9
)

// fieldHeader is a field's tag byte and little-endian u32 length.
const fieldHeader = 5

// MarshalBinary writes o as a spawn request record: the fields that are
// set, in tag order, repeatable ones in slice order. The timeout is
// written as Go duration text ("1m30s"). It fails only for a negative
// Timeout or a field of 4 GiB or more.
func (o SpawnOptions) MarshalBinary() ([]byte, error) {
	if o.Timeout < 0 {
		return nil, errors.New("shoal: negative spawn timeout " + o.Timeout.String())
	}
	var b []byte
	var err error
	add := func(tag byte, v string) {
		if uint64(len(v)) > math.MaxUint32 {
			err = errors.New("shoal: spawn request field " + strconv.Itoa(int(tag)) + " is too long")
			return
		}
		b = append(b, tag)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	addSet := func(tag byte, v string) {
		if v != "" {
			add(tag, v)
		}
	}
	addSet(tagModule, o.Module)
	for _, a := range o.Args {
		add(tagArg, a)
	}
	for _, e := range o.Env {
		add(tagEnv, e)
	}
	addSet(tagStdin, string(o.Stdin))
	addSet(tagCores, o.Cores)
	addSet(tagMemory, o.Memory)
	for _, l := range o.Labels {
		add(tagLabel, l)
	}
	addSet(tagNear, o.Near)
	if o.Timeout > 0 {
		add(tagTimeout, o.Timeout.String())
	}
	return b, err
}
