package rpc

import (
	"encoding/hex"
	"math"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Bounds of a RunSpec's limits, so that no value a peer sends overflows
// into another meaning (a negative duration or size is "no limit" to the
// runner).
const (
	maxTimeoutMs = uint64(math.MaxInt64 / int64(time.Millisecond))
	maxOutput    = math.MaxInt32
)

// EncodeRunSpec writes s into dst, the wire's RunSpec. The timeout travels
// in whole milliseconds; an empty Env, Stdin or Dirs travels as absent,
// while Args keeps nil (no list) apart from empty (a list of none).
func EncodeRunSpec(dst wire.RunSpec, s task.RunSpec) error {
	mod, err := hex.DecodeString(s.Module)
	if err != nil || len(mod) != 32 {
		return malformed("runSpec", "module", "%q is not a sha256 in hex", s.Module)
	}
	switch {
	case s.Timeout < 0:
		return malformed("runSpec", "timeout", "%v is negative", s.Timeout)
	case s.MaxOutput < 0 || s.MaxOutput > maxOutput:
		return malformed("runSpec", "maxOutput", "%d out of range [0, %d]", s.MaxOutput, maxOutput)
	}
	if err := EncodeRunRef(dst, s.Ref); err != nil {
		return err
	}
	if err := dst.SetModule(mod); err != nil {
		return err
	}
	if s.Input != nil {
		dst.SetHasInput(true)
		dst.SetInput(*s.Input)
	}
	if s.Difficulty != nil {
		dst.SetHasDifficulty(true)
		dst.SetDifficulty(*s.Difficulty)
	}
	if s.Args != nil {
		l, err := dst.NewArgs(int32(len(s.Args)))
		if err != nil {
			return err
		}
		for i, a := range s.Args {
			if err := l.Set(i, a); err != nil {
				return err
			}
		}
	}
	if err := setTexts(dst.NewEnv, s.Env); err != nil {
		return err
	}
	if len(s.Stdin) > 0 {
		if err := dst.SetStdin(s.Stdin); err != nil {
			return err
		}
	}
	dst.SetTimeoutMs(uint64(s.Timeout.Milliseconds()))
	dst.SetMemory(s.Memory)
	dst.SetMaxOutput(uint64(s.MaxOutput))
	dst.SetFuel(s.Fuel)
	dst.SetMaxFiles(s.MaxFiles)
	if err := encodeInputs(dst, s.Inputs); err != nil {
		return err
	}
	if s.Proc != "" {
		if err := dst.SetProc(s.Proc); err != nil {
			return err
		}
		if err := dst.SetParent(s.Parent); err != nil {
			return err
		}
	}
	return setTexts(dst.NewDirs, s.Dirs)
}

// DecodeRunSpec reads a RunSpec a peer sent. It fails on a module hash
// that is not 32 bytes, and on a timeout or output limit out of range
// (ErrMalformed); what it returns owns its memory, not the message's.
func DecodeRunSpec(src wire.RunSpec) (task.RunSpec, error) {
	var s task.RunSpec
	var err error
	if s.Ref, err = DecodeRunRef(src); err != nil {
		return task.RunSpec{}, err
	}
	mod, err := src.Module()
	if err != nil {
		return task.RunSpec{}, err
	}
	if len(mod) != 32 {
		return task.RunSpec{}, malformed("runSpec", "module", "of %d bytes, not a sha256", len(mod))
	}
	s.Module = hex.EncodeToString(mod)
	if src.TimeoutMs() > maxTimeoutMs {
		return task.RunSpec{}, malformed("runSpec", "timeoutMs", "%d over %d", src.TimeoutMs(), maxTimeoutMs)
	}
	if src.MaxOutput() > maxOutput {
		return task.RunSpec{}, malformed("runSpec", "maxOutput", "%d over %d", src.MaxOutput(), maxOutput)
	}
	s.Timeout = time.Duration(src.TimeoutMs()) * time.Millisecond
	s.MaxOutput = int(src.MaxOutput())
	s.Fuel = src.Fuel()
	s.MaxFiles = src.MaxFiles()
	if s.Inputs, err = decodeInputs(src); err != nil {
		return task.RunSpec{}, err
	}
	s.Memory = src.Memory()
	if src.HasInput() {
		v := src.Input()
		s.Input = &v
	}
	if src.HasDifficulty() {
		v := src.Difficulty()
		s.Difficulty = &v
	}
	if src.HasArgs() {
		if s.Args, err = texts(src.Args()); err != nil {
			return task.RunSpec{}, err
		}
		if s.Args == nil {
			s.Args = []string{}
		}
	}
	if s.Env, err = texts(src.Env()); err != nil {
		return task.RunSpec{}, err
	}
	stdin, err := src.Stdin()
	if err != nil {
		return task.RunSpec{}, err
	}
	if len(stdin) > 0 {
		s.Stdin = append([]byte(nil), stdin...)
	}
	if s.Dirs, err = texts(src.Dirs()); err != nil {
		return task.RunSpec{}, err
	}
	if s.Proc, err = src.Proc(); err != nil {
		return task.RunSpec{}, err
	}
	if s.Parent, err = src.Parent(); err != nil {
		return task.RunSpec{}, err
	}
	if (s.Proc == "") != (s.Parent == "") {
		return task.RunSpec{}, malformed("runSpec", "parent", "a process key needs its parent's, and only it")
	}
	return s, nil
}

// maxInputs bounds the files of a run's working directory.
const maxInputs = 10_000

func encodeInputs(dst wire.RunSpec, in []task.Input) error {
	if len(in) == 0 {
		return nil
	}
	l, err := dst.NewInputs(int32(len(in)))
	if err != nil {
		return err
	}
	for i, f := range in {
		sum, err := hex.DecodeString(f.SHA256)
		if err != nil || len(sum) != 32 {
			return malformed("input", "sha256", "%q is not a sha256 in hex", f.SHA256)
		}
		w := l.At(i)
		if err := w.SetPath(f.Path); err != nil {
			return err
		}
		if err := w.SetSha256(sum); err != nil {
			return err
		}
		w.SetSize(f.Size)
	}
	return nil
}

// decodeInputs reads a run's inputs; a path that is not clean and
// relative, or a hash that is not 32 bytes, is malformed.
func decodeInputs(src wire.RunSpec) ([]task.Input, error) {
	if !src.HasInputs() {
		return nil, nil
	}
	l, err := src.Inputs()
	if err != nil {
		return nil, err
	}
	if l.Len() > maxInputs {
		return nil, malformed("runSpec", "inputs", "%d files, more than %d", l.Len(), maxInputs)
	}
	if l.Len() == 0 {
		return nil, nil // as none: an empty list encodes as no list
	}
	out := make([]task.Input, l.Len())
	for i := range out {
		w := l.At(i)
		p, err := w.Path()
		if err != nil {
			return nil, err
		}
		sum, err := w.Sha256()
		if err != nil {
			return nil, err
		}
		if !task.ValidInputPath(p) || len(sum) != 32 {
			return nil, malformed("input", "path", "%q with a sha256 of %d bytes", p, len(sum))
		}
		out[i] = task.Input{Path: p, SHA256: hex.EncodeToString(sum), Size: w.Size()}
	}
	return out, nil
}
