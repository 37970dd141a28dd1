package api

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TaskRequest is a task as a client submits it: the fields of POST /tasks
// (a multipart form) and of each task of POST /tasks/batch (JSON). Zero
// values mean "not given", and the gateway's defaults apply; the pointers
// tell 0 from absent where both mean something.
type TaskRequest struct {
	ID          string        // empty: the gateway makes one
	Description string        // free text
	Complete    int64         // initial value of the completions counter
	Duration    time.Duration // time limit of one run; 0: the gateway's --task-timeout
	Start       time.Duration // before the first run
	Delay       time.Duration // between the starts of consecutive runs
	Repeats     int           // number of runs; 0: one
	Wasm        []byte        // the module, uploaded with the task (not in a batch)
	Module      string        // or: lowercase hex SHA-256 of a module uploaded before
	Input       *int64        // integer passed to the module
	Difficulty  *int64        // integer passed to the module
	Args        []string      // argv after argv[0]; nil: the default argv
	Env         []string      // K=V entries, the whole environment of a run
	Stdin       []byte        // fed to the module's stdin; nil: none
	Memory      uint64        // linear memory limit of a run, bytes; 0: the worker's
	Cores       Millicores    // cores a run reserves on its worker; 0: none accounted
	Fuel        uint64        // most fuel a run may use (docs/RATIONALE.md "Fuel"); 0: no limit
	Retries     *int          // attempts after a lost worker; nil: the gateway's --retries
	Priority    int           // higher runs first among due runs
	Labels      []string      // labels a worker must offer to run the task
	Dirs        []string      // worker directories (--allow-dir NAME=PATH) mounted at /NAME
	// Shared gives each run a fresh empty directory at /shared, whose
	// files come back as the task's artifacts when it ends (docs/JOBS.md).
	Shared bool
	// Bundle names files deployed with PUT /bundles/{name}: each run's
	// working directory is a fresh copy of them.
	Bundle string
}

// FieldKind is how a field's values are written.
type FieldKind int

// The kinds of task request fields.
const (
	KindText    FieldKind = iota // a string
	KindInt                      // a decimal integer
	KindSeconds                  // seconds, or a duration like 1m30s (ParseSeconds)
	KindBytes                    // a byte count like 67108864 or 64MiB (ParseBytes)
	KindList                     // repeatable, or comma-separated
	KindArgs                     // a JSON array of strings, or repeated
	KindFile                     // a file part of the form (a string in a batch)
	KindModule                   // sha256:HEX
	KindCores                    // cores, fractions allowed: 0.25, 1/16, 2, 250m (ParseCores)
	KindBool                     // 1, true, 0 or false (a flag without a value on the CLI)
)

// Field is one field of a task request. TaskFields lists them all.
type Field struct {
	// Name is the form field's name and the batch object's key.
	Name string
	// Kind says how its values are written.
	Kind FieldKind
	// Repeatable fields may be given more than once (one value each).
	Repeatable bool
	// Flag is the name of `shoal submit`'s flag for it: "" for Name, "-"
	// for none (the module is the command's argument).
	Flag string
	// Usage says what it means, in one line.
	Usage string

	parse  func(r *TaskRequest, vals []string) error
	format func(r *TaskRequest) []string // nil: not given
	file   func(r *TaskRequest) *[]byte  // a KindFile field's content
}

// TaskFields is the task request's field table, in the order fields are
// parsed and sent. "timeout" is another name for "duration".
var TaskFields = []Field{
	{Name: "id", Kind: KindText, Usage: "task id (default: one the gateway makes)",
		parse: func(r *TaskRequest, v []string) error {
			if !ValidID(v[0]) {
				return Invalid("id", "must be 1-%d letters, digits, '.', '_' or '-', starting with a letter or digit", MaxIDLen)
			}
			r.ID = v[0]
			return nil
		},
		format: func(r *TaskRequest) []string { return text(r.ID) }},
	{Name: "description", Kind: KindText, Usage: "free text describing the task",
		parse: func(r *TaskRequest, v []string) error {
			if len(v[0]) > MaxDescription {
				return Invalid("description", "longer than %d bytes", MaxDescription)
			}
			r.Description = v[0]
			return nil
		},
		format: func(r *TaskRequest) []string { return text(r.Description) }},
	{Name: "complete", Kind: KindInt, Usage: "initial value of the task's completions counter",
		parse: func(r *TaskRequest, v []string) (err error) {
			r.Complete, err = ParseInt("complete", v[0], 0, math.MaxInt64)
			return
		},
		format: func(r *TaskRequest) []string { return integer(r.Complete, r.Complete != 0) }},
	seconds("duration", "time limit of one run: seconds, or a duration like 1m30s (default: the gateway's --task-timeout)", func(r *TaskRequest) *time.Duration { return &r.Duration }),
	seconds("start", "time before the first run: seconds, or a duration like 1m30s", func(r *TaskRequest) *time.Duration { return &r.Start }),
	seconds("delay", "time between the starts of consecutive runs: seconds, or a duration", func(r *TaskRequest) *time.Duration { return &r.Delay }),
	{Name: "timeout", Kind: KindSeconds, Flag: "-", Usage: "another name for duration",
		parse: func(r *TaskRequest, v []string) (err error) {
			r.Duration, err = ParseSecondsField("timeout", v[0])
			return err
		}},
	{Name: "repeats", Kind: KindInt, Usage: "number of runs (default 1)",
		parse: func(r *TaskRequest, v []string) error {
			n, err := ParseInt("repeats", v[0], 1, MaxRepeats)
			r.Repeats = int(n)
			return err
		},
		format: func(r *TaskRequest) []string { return integer(int64(r.Repeats), r.Repeats != 0) }},
	{Name: "wasm", Kind: KindFile, Flag: "-", Usage: "the module, a file part (or give module=sha256:HEX)",
		file: func(r *TaskRequest) *[]byte { return &r.Wasm }},
	{Name: "module", Kind: KindModule, Flag: "-", Usage: "sha256:HEX of a module uploaded before with PUT /modules",
		parse: func(r *TaskRequest, v []string) error {
			h, found := strings.CutPrefix(strings.TrimSpace(v[0]), "sha256:")
			if _, err := hex.DecodeString(h); !found || len(h) != 64 || err != nil {
				return Invalid("module", "must be sha256:HEX (64 hex digits) of a module uploaded before, got %q", v[0])
			}
			r.Module = strings.ToLower(h)
			return nil
		},
		format: func(r *TaskRequest) []string {
			if r.Module == "" || r.Wasm != nil {
				return nil
			}
			return []string{"sha256:" + r.Module}
		}},
	optInt("input", "integer input passed to the module", func(r *TaskRequest) **int64 { return &r.Input }),
	optInt("difficulty", "integer difficulty passed to the module", func(r *TaskRequest) **int64 { return &r.Difficulty }),
	{Name: "args", Kind: KindArgs, Repeatable: true, Usage: "argument after argv[0] for a WASI command, repeatable",
		parse: func(r *TaskRequest, v []string) (err error) { r.Args, err = parseArgs(v); return },
		format: func(r *TaskRequest) []string {
			if r.Args == nil {
				return nil
			}
			b, _ := json.Marshal(r.Args) // strings always encode
			return []string{string(b)}
		}},
	{Name: "env", Kind: KindList, Repeatable: true, Usage: "K=V environment entry for the module, repeatable",
		parse: func(r *TaskRequest, v []string) error {
			for _, kv := range v {
				if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
					return Invalid("env", "%q is not K=V", kv)
				}
			}
			r.Env = v
			return nil
		},
		format: func(r *TaskRequest) []string { return r.Env }},
	{Name: "stdin", Kind: KindFile, Usage: "fed to the module's stdin (a file part; the CLI's flag names the file)",
		file: func(r *TaskRequest) *[]byte { return &r.Stdin }},
	{Name: "memory", Kind: KindBytes, Usage: "memory limit of one run, like 64MiB (default: the worker's --run-memory)",
		parse: func(r *TaskRequest, v []string) error {
			n, err := ParseBytes(v[0])
			if err != nil {
				return Invalid("memory", "%v", err)
			}
			r.Memory = n
			return nil
		},
		format: func(r *TaskRequest) []string {
			if r.Memory == 0 {
				return nil
			}
			return []string{strconv.FormatUint(r.Memory, 10)}
		}},
	{Name: "cores", Kind: KindCores, Usage: "cores a run reserves on its worker: 0.25, 1/16, 2 or 250m (default: none accounted)",
		parse: func(r *TaskRequest, v []string) error {
			c, err := ParseCores(v[0])
			if err != nil {
				return Invalid("cores", "%v", err)
			}
			r.Cores = c
			return nil
		},
		format: func(r *TaskRequest) []string {
			if r.Cores == 0 {
				return nil
			}
			return []string{r.Cores.String()}
		}},
	{Name: "fuel", Kind: KindInt, Usage: "most fuel one run may use, in instructions counted statically per call and loop iteration; past it the run fails with \"fuel exhausted\" (default: no limit)",
		parse: func(r *TaskRequest, v []string) error {
			n, err := ParseInt("fuel", v[0], 0, math.MaxInt64)
			r.Fuel = uint64(n)
			return err
		},
		format: func(r *TaskRequest) []string {
			if r.Fuel == 0 {
				return nil
			}
			return []string{strconv.FormatUint(r.Fuel, 10)}
		}},
	{Name: "retries", Kind: KindInt, Usage: "attempts after a lost worker (default: the gateway's --retries)",
		parse: func(r *TaskRequest, v []string) error {
			n, err := ParseInt("retries", v[0], 0, MaxRetries)
			k := int(n)
			r.Retries = &k
			return err
		},
		format: func(r *TaskRequest) []string {
			if r.Retries == nil {
				return nil
			}
			return []string{strconv.Itoa(*r.Retries)}
		}},
	{Name: "priority", Kind: KindInt, Usage: "higher runs first among runs that are due, -1000 to 1000",
		parse: func(r *TaskRequest, v []string) error {
			n, err := ParseInt("priority", v[0], MinPriority, MaxPriority)
			r.Priority = int(n)
			return err
		},
		format: func(r *TaskRequest) []string { return integer(int64(r.Priority), r.Priority != 0) }},
	{Name: "labels", Kind: KindList, Repeatable: true, Flag: "label", Usage: "label a worker must offer to run the task, repeatable",
		parse:  func(r *TaskRequest, v []string) error { r.Labels = splitList(v); return nil },
		format: func(r *TaskRequest) []string { return r.Labels }},
	{Name: "dirs", Kind: KindList, Repeatable: true, Flag: "dir", Usage: "directory NAME a worker offers (shoal worker --allow-dir NAME=PATH), mounted at /NAME in the module, repeatable",
		parse:  func(r *TaskRequest, v []string) error { r.Dirs = splitList(v); return nil },
		format: func(r *TaskRequest) []string { return r.Dirs }},
	{Name: "bundle", Kind: KindText, Usage: "files deployed with PUT /bundles/NAME (shoal cluster deploy --directory): each run's working directory is a fresh copy of them",
		parse: func(r *TaskRequest, v []string) error {
			if !ValidBundleName(v[0]) {
				return Invalid("bundle", "%q: a name is 1-%d of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", v[0], MaxModuleName)
			}
			r.Bundle = v[0]
			return nil
		},
		format: func(r *TaskRequest) []string { return text(r.Bundle) }},
	{Name: "shared", Kind: KindBool, Usage: "give each run a fresh directory at /shared; the files it leaves come back as the task's artifacts (GET /tasks/{id}/files)",
		parse: func(r *TaskRequest, v []string) error {
			switch strings.ToLower(strings.TrimSpace(v[0])) {
			case "1", "true":
				r.Shared = true
			case "0", "false", "":
				r.Shared = false
			default:
				return Invalid("shared", "%q: want 1 or true (or 0, false)", v[0])
			}
			return nil
		},
		format: func(r *TaskRequest) []string {
			if !r.Shared {
				return nil
			}
			return []string{"1"}
		}},
}

var fieldIndex = func() map[string]*Field {
	m := make(map[string]*Field, len(TaskFields))
	for i := range TaskFields {
		m[TaskFields[i].Name] = &TaskFields[i]
	}
	return m
}()

// TaskField returns the field of a task request named name.
func TaskField(name string) (*Field, bool) {
	f, ok := fieldIndex[name]
	return f, ok
}

// ParseTask reads a task request from its fields' values, as text: vals
// holds each field's values in the order given (a file field's content
// may instead be in files, which wins). Every name must be a field of
// TaskFields, and only a Repeatable field may have more than one value;
// the first bad field is returned as an *Error naming it.
func ParseTask(vals map[string][]string, files map[string][]byte) (TaskRequest, error) {
	var r TaskRequest
	for _, name := range slices.Sorted(maps.Keys(vals)) { // the same bad field every time
		v := vals[name]
		f, ok := fieldIndex[name]
		switch {
		case name == "":
			return r, &Error{Code: CodeInvalid, Message: "a field has an empty name"}
		case !ok:
			return r, Invalid(name, "unknown field")
		case len(v) > 1 && !f.Repeatable:
			return r, Invalid(name, "given more than once")
		}
	}
	for i := range TaskFields {
		f := &TaskFields[i]
		v, ok := vals[f.Name]
		if f.file != nil {
			if b, ok := files[f.Name]; ok {
				*f.file(&r) = b
			} else if len(v) > 0 {
				*f.file(&r) = []byte(v[0])
			}
			continue
		}
		if !ok {
			continue
		}
		if f.Name == "timeout" && vals["duration"] != nil {
			return r, Invalid("timeout", "give either duration or timeout, not both")
		}
		if f.Name == "module" && (vals["wasm"] != nil || files["wasm"] != nil) {
			return r, Invalid("module", "give either a wasm upload or module=sha256:HEX, not both")
		}
		if err := f.parse(&r, v); err != nil {
			return r, err
		}
	}
	return r, nil
}

// FieldValue is one field of an encoded task request: a text value, or a
// file part when File is not nil.
type FieldValue struct {
	Name  string
	Value string
	File  []byte
}

// Values encodes r as the fields of a form, in TaskFields order: only the
// fields that are set, so the gateway's defaults apply to the rest.
// ParseTask of them gives r back.
func (r *TaskRequest) Values() []FieldValue {
	var out []FieldValue
	for i := range TaskFields {
		f := &TaskFields[i]
		switch {
		case f.file != nil:
			if b := *f.file(r); b != nil {
				out = append(out, FieldValue{Name: f.Name, File: b})
			}
		case f.format != nil:
			for _, v := range f.format(r) {
				out = append(out, FieldValue{Name: f.Name, Value: v})
			}
		}
	}
	return out
}

func text(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func integer(n int64, set bool) []string {
	if !set {
		return nil
	}
	return []string{strconv.FormatInt(n, 10)}
}

func seconds(name, usage string, dst func(*TaskRequest) *time.Duration) Field {
	return Field{Name: name, Kind: KindSeconds, Usage: usage,
		parse: func(r *TaskRequest, v []string) (err error) {
			*dst(r), err = ParseSecondsField(name, v[0])
			return err
		},
		format: func(r *TaskRequest) []string {
			if d := *dst(r); d != 0 {
				return []string{FormatSeconds(d)}
			}
			return nil
		}}
}

func optInt(name, usage string, dst func(*TaskRequest) **int64) Field {
	return Field{Name: name, Kind: KindInt, Usage: usage,
		parse: func(r *TaskRequest, v []string) error {
			n, err := ParseInt(name, v[0], math.MinInt64, math.MaxInt64)
			if err == nil {
				*dst(r) = &n
			}
			return err
		},
		format: func(r *TaskRequest) []string {
			if p := *dst(r); p != nil {
				return []string{strconv.FormatInt(*p, 10)}
			}
			return nil
		}}
}

// ParseInt reads a decimal integer field between lo and hi.
func ParseInt(field, x string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	var ne *strconv.NumError
	switch {
	case errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange):
		return 0, Invalid(field, "%q is out of range", x)
	case err != nil:
		return 0, Invalid(field, "%q is not an integer", x)
	case n < lo && lo == 0:
		return 0, Invalid(field, "must not be negative, got %d", n)
	case n < lo || n > hi:
		return 0, Invalid(field, "must be between %d and %d, got %d", lo, hi, n)
	}
	return n, nil
}

// ParseSecondsField is ParseSeconds with an *Error naming field, for the
// form's time fields and query parameters like ?wait=.
func ParseSecondsField(field, x string) (time.Duration, error) {
	d, err := ParseSeconds(x)
	if err != nil {
		return 0, Invalid(field, "%v", err)
	}
	return d, nil
}

// parseArgs accepts one JSON array of strings, or the field repeated with
// one argument each.
func parseArgs(xs []string) ([]string, error) {
	if len(xs) == 1 && strings.HasPrefix(strings.TrimSpace(xs[0]), "[") {
		var out []string
		if err := json.Unmarshal([]byte(xs[0]), &out); err != nil {
			return nil, Invalid("args", "not a JSON array of strings: %v", err)
		}
		if out == nil {
			out = []string{}
		}
		return out, nil
	}
	return xs, nil
}

// splitList reads a field given repeatedly, or comma-separated, or both;
// blank entries are dropped, and no entry at all is nil.
func splitList(xs []string) []string {
	var out []string
	for _, x := range xs {
		for e := range strings.SplitSeq(x, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

var bundlePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// ValidBundleName reports whether name can name a bundle of files.
func ValidBundleName(name string) bool {
	return len(name) <= MaxModuleName && bundlePattern.MatchString(name)
}
