package cli

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// newFlags returns a flag set that reports errors itself and prints usage
// to the command's stderr.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	e.flags = fs
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: shoal %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args allowing flags after positional arguments
// (`shoal submit task.wasm --input 3`), and returns the positionals. It
// returns errHelp after -h.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, err
		}
		rest := fs.Args()
		if endedByDashes(fs, args[:len(args)-len(rest)]) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// endedByDashes reports whether the flag package stopped after parsed
// because of "--", which it drops: everything after it is positional
// (`shoal run app.wasm -- -v`). A "--" that is the value of a flag
// (`--description --`) does not end the flags.
func endedByDashes(fs *flag.FlagSet, parsed []string) bool {
	n := len(parsed)
	if n == 0 || parsed[n-1] != "--" {
		return false
	}
	if n == 1 {
		return true
	}
	prev := strings.TrimLeft(parsed[n-2], "-")
	if !strings.HasPrefix(parsed[n-2], "-") || strings.Contains(prev, "=") {
		return true // prev is a positional or a whole flag
	}
	f := fs.Lookup(prev)
	if f == nil {
		return true // prev is the value of a flag before it, such as -5
	}
	b, isBool := f.Value.(interface{ IsBoolFlag() bool })
	return isBool && b.IsBoolFlag() // a bool flag takes no value: "--" ended the flags
}

var errHelp = errors.New("help requested")

// exitParse turns a parse error into an exit code: 0 for -h, 2 otherwise
// (the flag package has already said what was wrong).
func exitParse(err error) int {
	if errors.Is(err, errHelp) {
		return 0
	}
	return 2
}

// strings is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// days is a duration flag that also takes whole days: 7d, 1d12h, or what
// time.ParseDuration takes.
type days time.Duration

func (d *days) String() string {
	if d == nil || *d == 0 {
		return "0"
	}
	v := time.Duration(*d)
	if v%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	}
	return v.String()
}

func (d *days) Set(s string) error {
	var whole time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return fmt.Errorf("%q: want a duration such as 7d, 36h or 90m", s)
		}
		whole, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			*d = days(whole)
			return nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q: want a duration such as 7d, 36h or 90m", s)
	}
	*d = days(whole + v)
	return nil
}
