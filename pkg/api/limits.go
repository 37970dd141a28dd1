package api

import "regexp"

// Limits of one task request. The gateway refuses a request past any of
// them with a CodeInvalid error naming the field.
const (
	MaxIDLen       = 128
	MaxRepeats     = 1_000_000
	MaxArgs        = 256
	MaxEnv         = 256
	MaxLabels      = 32
	MaxDirs        = 16
	MaxRetries     = 100
	MaxDescription = 4096
	MaxSeconds     = 365 * 24 * 3600
	MinPriority    = -1000
	MaxPriority    = 1000
	// MaxField bounds one text field of a form; files (wasm, stdin) are
	// bounded by the gateway's upload limit only.
	MaxField = 64 << 10
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidID reports whether id may name a task: letters, digits, '.', '_' and
// '-', starting with a letter or digit, at most MaxIDLen bytes. IDs appear in
// URLs and as argv[0], so nothing else is allowed.
func ValidID(id string) bool { return len(id) <= MaxIDLen && idPattern.MatchString(id) }
