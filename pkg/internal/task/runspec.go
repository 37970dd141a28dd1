package task

import (
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// RunRef names one attempt of one run of a task.
type RunRef struct {
	Task    string
	Index   int // of the run among the task's repeats
	Attempt int // fencing number: only the current attempt's outcome counts
}

func (r RunRef) String() string { return fmt.Sprintf("%s/%d#%d", r.Task, r.Index, r.Attempt) }

// RunSpec is what one run attempt needs on its worker: the part of a task's
// Spec that reaches the runner, the attempt it is, and the gateway's limits.
//
// It is the one shape of a run from the gateway to the runner, so that a new
// per-run field is written in few places: Spec and Spec.RunSpec here, the
// wire's schema and codec (pkg/internal/rpc, codec_spec.go), and the
// worker's mapping to the runner's Spec. The gateway builds it with
// Spec.RunSpec, the wire carries it as it is, and the worker maps it to
// wasmrun.Spec, adding what only the worker knows (the host directories
// behind Dirs, where output goes).
type RunSpec struct {
	Ref    RunRef // Ref.Task is the run's argv[0]
	Module string // sha256 of the module, lowercase hex
	// Input and Difficulty are the task's two integers; nil: not given.
	Input, Difficulty *int64
	Args              []string // argv after argv[0]; nil = default argv, empty = argv[0] alone
	Env               []string // K=V
	Stdin             []byte
	Timeout           time.Duration // the run's time limit
	Memory            uint64        // bytes of linear memory; 0 = the worker's default
	MaxOutput         int           // bytes of stdout kept as the result; 0 = the worker's default
	Dirs              []string      // names of the worker directories the run uses
	Fuel              uint64        // most fuel the run may use; 0 = no limit
	// Proc is the process key of a spawned process (a child), and Parent
	// its parent's; both are empty for a task's run, whose key is Ref's
	// (docs/PROCESSES.md).
	Proc, Parent string
	// MaxFiles, when not 0, gives the run a fresh directory at /shared
	// whose files, up to MaxFiles bytes, come back with its outcome (a
	// task's Shared).
	MaxFiles uint64
	// Inputs are the files of the run's working directory (a task's
	// Bundle, as the gateway holds it at dispatch): the worker fetches
	// each by its sha256 and writes it at its path.
	Inputs []Input
}

// Input is a file a run finds in its working directory.
type Input struct {
	Path   string // relative, slash-separated, clean
	SHA256 string // lowercase hex
	Size   uint64
}

// RunSpec is what attempt ref of one of s's runs needs on its worker.
// Timeout is s.Duration, which may be 0 (the gateway's default), and
// MaxOutput is 0: the gateway sets both.
func (s *Spec) RunSpec(ref RunRef) RunSpec {
	return RunSpec{
		Ref:        ref,
		Module:     s.Module,
		Input:      s.Input,
		Difficulty: s.Difficulty,
		Args:       s.Args,
		Env:        s.Env,
		Stdin:      s.Stdin,
		Timeout:    s.Duration,
		Memory:     s.Memory,
		Dirs:       s.Dirs,
		Fuel:       s.Fuel,
	}
}

// ValidInputPath reports whether p can be an input's path: relative,
// slash-separated, clean, of UTF-8 without NUL, at most 1024 bytes.
func ValidInputPath(p string) bool {
	return p != "" && len(p) <= 1024 && utf8.ValidString(p) && !strings.ContainsRune(p, 0) &&
		path.Clean(p) == p && !path.IsAbs(p) && p != ".." && !strings.HasPrefix(p, "../") && !strings.Contains(p, "\\")
}
