package proc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// The tags of the spawn request record's fields (docs/PROCESSES.md).
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

// NearParent is the one value of Request.Near besides "".
const NearParent = "parent"

// fieldNames names each tag in errors; a tag absent from it is unknown.
var fieldNames = map[byte]string{
	tagModule: "module", tagArg: "arg", tagEnv: "env", tagStdin: "stdin", tagCores: "cores",
	tagMemory: "memory", tagLabel: "label", tagNear: "near", tagTimeout: "timeout",
}

// repeatable says which fields may appear more than once.
var repeatable = map[byte]bool{tagArg: true, tagEnv: true, tagLabel: true}

// headerLen is a field's tag byte and length.
const headerLen = 5

// DecodeRequest reads a spawn request record. Every error wraps ErrInvalid
// and names the field (or the offset) at fault. The Request shares no
// memory with b.
func DecodeRequest(b []byte) (Request, error) {
	var req Request
	seen := make(map[byte]bool)
	for off := 0; off < len(b); {
		if len(b)-off < headerLen {
			return Request{}, fmt.Errorf("%w: request record: truncated field header at offset %d", ErrInvalid, off)
		}
		tag := b[off]
		n := binary.LittleEndian.Uint32(b[off+1:])
		name, known := fieldNames[tag]
		if !known {
			return Request{}, fmt.Errorf("%w: request record: unknown tag %d at offset %d", ErrInvalid, tag, off)
		}
		off += headerLen
		if uint64(n) > uint64(len(b)-off) {
			return Request{}, fmt.Errorf("%w: request record: field %s is truncated (%d bytes, %d left)", ErrInvalid, name, n, len(b)-off)
		}
		if seen[tag] && !repeatable[tag] {
			return Request{}, fmt.Errorf("%w: request record: field %s is repeated", ErrInvalid, name)
		}
		seen[tag] = true
		if err := req.set(tag, b[off:off+int(n)]); err != nil {
			return Request{}, fmt.Errorf("%w: request record: field %s: %w", ErrInvalid, name, err)
		}
		off += int(n)
	}
	return req, nil
}

// set checks and stores one field's value.
func (r *Request) set(tag byte, v []byte) error {
	s := string(v)
	switch tag {
	case tagModule:
		if err := checkModule(s); err != nil {
			return err
		}
		r.Module = s
	case tagArg:
		r.Args = append(r.Args, s)
	case tagEnv:
		if err := checkPair(s); err != nil {
			return err
		}
		r.Env = append(r.Env, s)
	case tagStdin:
		r.Stdin = bytes.Clone(v)
	case tagCores:
		if _, err := api.ParseCores(s); err != nil {
			return err
		}
		r.Cores = s
	case tagMemory:
		if _, err := api.ParseBytes(s); err != nil {
			return err
		}
		r.Memory = s
	case tagLabel:
		if err := checkPair(s); err != nil {
			return err
		}
		r.Labels = append(r.Labels, s)
	case tagNear:
		if s != NearParent {
			return fmt.Errorf("%q is not %q", s, NearParent)
		}
		r.Near = s
	case tagTimeout:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("%s is not positive", d)
		}
		r.Timeout = d
	}
	return nil
}

// checkModule checks a module's name: "sha256:" and 64 hex digits.
func checkModule(s string) error {
	h, ok := strings.CutPrefix(s, "sha256:")
	if _, err := hex.DecodeString(h); !ok || len(h) != 64 || err != nil {
		return fmt.Errorf("%q is not sha256:HEX", s)
	}
	return nil
}

// checkPair checks a "K=V" entry (env, label): K is not empty.
func checkPair(s string) error {
	if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
		return fmt.Errorf("%q is not K=V", s)
	}
	return nil
}

// EncodeRequest writes r as a spawn request record, leaving out the fields
// that are zero; DecodeRequest reads it back when r is valid.
func EncodeRequest(r Request) []byte {
	var b []byte
	field := func(tag byte, v []byte) {
		b = append(b, tag)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	optional := func(tag byte, s string) {
		if s != "" {
			field(tag, []byte(s))
		}
	}
	optional(tagModule, r.Module)
	for _, a := range r.Args {
		field(tagArg, []byte(a))
	}
	for _, e := range r.Env {
		field(tagEnv, []byte(e))
	}
	if len(r.Stdin) > 0 {
		field(tagStdin, r.Stdin)
	}
	optional(tagCores, r.Cores)
	optional(tagMemory, r.Memory)
	for _, l := range r.Labels {
		field(tagLabel, []byte(l))
	}
	optional(tagNear, r.Near)
	if r.Timeout > 0 {
		field(tagTimeout, []byte(r.Timeout.String()))
	}
	return b
}
