package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
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
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
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
