package task

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/job"
)

// Status is where a task or a run stands; the API's type, so the JSON of
// a status has one home.
type Status = api.Status

// The statuses a task or run moves through (see api.Status).
const (
	Scheduled = api.Scheduled
	Queued    = api.Queued
	Running   = api.Running
	Succeeded = api.Succeeded
	Failed    = api.Failed
	Canceled  = api.Canceled
)

// Limits bound what a single task may ask for; they are the API's.
const (
	MaxIDLen       = api.MaxIDLen
	MaxRepeats     = api.MaxRepeats
	MaxArgs        = api.MaxArgs
	MaxEnv         = api.MaxEnv
	MaxLabels      = api.MaxLabels
	MaxRetries     = api.MaxRetries
	MaxDescription = api.MaxDescription
	MaxSeconds     = api.MaxSeconds
)

// ErrInvalid matches every validation error (errors.Is): each is an
// *api.Error of code invalid that names its field.
var ErrInvalid = api.ErrInvalid

// Invalid returns the validation error of field.
func Invalid(field, format string, args ...any) error {
	return api.Invalid(field, format, args...)
}

// Spec is a task as submitted. Zero values mean "the gateway's default"
// where a default exists (Duration, Repeats, Retries).
type Spec struct {
	ID          string
	Description string
	Complete    int64         // initial value of the completions counter
	Duration    time.Duration // time limit of one run; 0 = gateway default
	Start       time.Duration // before the first run
	Delay       time.Duration // between the starts of consecutive runs
	Repeats     int           // number of runs; 0 = 1
	Module      string        // sha256 of the module, lowercase hex
	Input       *int64
	Difficulty  *int64
	Args        []string // argv after argv[0]; nil = default argv
	Env         []string // K=V
	Stdin       []byte
	Memory      uint64 // bytes; 0 = worker default
	// Cores is what each run reserves on its worker, in thousandths of a
	// core; a worker that offers cores takes runs only while they fit.
	// 0 = not accounted.
	Cores api.Millicores
	// Fuel is the most fuel one run may use; past it the run fails with
	// "fuel exhausted". 0 = no limit.
	Fuel     uint64
	Retries  *int // extra attempts after a lost worker; nil = gateway default
	Priority int  // higher runs first among due runs
	Labels   []string
	// Dirs names the worker directories the task's runs use, each mounted
	// in the guest at /NAME (see DirLabel); nil = no file system at all.
	Dirs []string
	// Owner names who submitted the task: the name of the API token it came
	// with, set by the gateway's API and never taken from the form; "" when
	// the API has no tokens. Per-owner quotas count by it.
	Owner string
	// Shared gives each run a fresh directory at /shared whose files come
	// back as the task's artifacts (as a job's steps share one).
	Shared bool
	// Bundle names deployed files (PUT /bundles/{name}): each run's
	// working directory is a fresh copy of them, as they are when the run
	// is dispatched.
	Bundle string
	// Job, when set, makes the task a job (docs/JOBS.md): its one run is
	// the whole job, its steps run on one worker, and Module is its first
	// step's (what placement looks for warm).
	Job *job.Spec
}

var modulePattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidID reports whether id may name a task: letters, digits, '.', '_' and
// '-', starting with a letter or digit, at most MaxIDLen bytes. IDs appear in
// URLs and as argv[0], so nothing else is allowed.
func ValidID(id string) bool { return api.ValidID(id) }

// Validate checks s and names the first bad field. A valid s also gets the
// placement label DirLabel(name) for each of its Dirs (see placeDirs).
func (s *Spec) Validate() error {
	switch {
	case s.ID != "" && !ValidID(s.ID):
		return Invalid("id", "must be 1-%d letters, digits, '.', '_' or '-', starting with a letter or digit", MaxIDLen)
	case len(s.Description) > MaxDescription:
		return Invalid("description", "longer than %d bytes", MaxDescription)
	case !utf8.ValidString(s.Description) || strings.ContainsRune(s.Description, 0):
		return Invalid("description", "must be UTF-8 text without NUL bytes")
	case s.Complete < 0:
		return Invalid("complete", "must not be negative")
	case s.Duration < 0 || s.Duration > MaxSeconds*time.Second:
		return Invalid("duration", "must be between 0 and %d seconds", MaxSeconds)
	case s.Start < 0 || s.Start > MaxSeconds*time.Second:
		return Invalid("start", "must be between 0 and %d seconds", MaxSeconds)
	case s.Delay < 0 || s.Delay > MaxSeconds*time.Second:
		return Invalid("delay", "must be between 0 and %d seconds", MaxSeconds)
	case s.Repeats < 0 || s.Repeats > MaxRepeats:
		return Invalid("repeats", "must be between 1 and %d", MaxRepeats)
	case !modulePattern.MatchString(s.Module):
		return Invalid("wasm", "a module is required: upload one as the wasm file field, or name one with module=sha256:HEX")
	case len(s.Args) > MaxArgs:
		return Invalid("args", "more than %d arguments", MaxArgs)
	case len(s.Env) > MaxEnv:
		return Invalid("env", "more than %d entries", MaxEnv)
	case s.Retries != nil && (*s.Retries < 0 || *s.Retries > MaxRetries):
		return Invalid("retries", "must be between 0 and %d", MaxRetries)
	case s.ownLabels() > MaxLabels:
		return Invalid("labels", "more than %d labels", MaxLabels)
	case len(s.Dirs) > MaxDirs:
		return Invalid("dirs", "more than %d directories", MaxDirs)
	case s.Cores > api.MaxCores*1000:
		return Invalid("cores", "must be at most %d cores", api.MaxCores)
	case s.Bundle != "" && !api.ValidBundleName(s.Bundle):
		return Invalid("bundle", "%q is not a bundle's name", s.Bundle)
	}
	if l, bad := BadLabel(s.Labels); bad {
		return Invalid("labels", "%q: a label is 1 to %d printable characters without spaces or commas; no worker offers another", l, MaxLabelLen)
	}
	for _, e := range s.Env {
		if k, _, ok := cut(e, '='); !ok || k == "" {
			return Invalid("env", "%q is not K=V", e)
		}
		if strings.ContainsRune(e, 0) {
			return Invalid("env", "%q contains a NUL byte", e)
		}
	}
	for _, a := range s.Args {
		if strings.ContainsRune(a, 0) {
			return Invalid("args", "%q contains a NUL byte", a)
		}
	}
	return s.placeDirs()
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// RunCount is the number of runs the task asks for.
func (s *Spec) RunCount() int {
	if s.Repeats == 0 {
		return 1
	}
	return s.Repeats
}

// Due is when run i of a task created at created becomes due.
func (s *Spec) Due(created time.Time, i int) time.Time {
	return created.Add(s.Start + time.Duration(i)*s.Delay)
}

// MaxLabelLen is the longest label, in bytes.
const MaxLabelLen = 128

// ValidLabel reports whether l can be a placement label: 1 to MaxLabelLen
// printable characters, no spaces (a label of a worker's --label flag or a
// task's labels field is one word) and no commas (lists of labels are
// split at commas). A task asking for another could never be placed.
func ValidLabel(l string) bool {
	if l == "" || len(l) > MaxLabelLen || !utf8.ValidString(l) {
		return false
	}
	for _, r := range l {
		if r == ',' || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// BadLabel returns the first of labels that is not ValidLabel.
func BadLabel(labels []string) (string, bool) {
	i := slices.IndexFunc(labels, func(l string) bool { return !ValidLabel(l) })
	if i < 0 {
		return "", false
	}
	return labels[i], true
}
