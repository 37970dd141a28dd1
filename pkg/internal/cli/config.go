package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// configFlag names the flag of a node role's TOML file, whose keys are the
// role's other flags.
const configFlag = "config"

// configHelp ends `shoal gateway -h` and `shoal worker -h`.
const configHelp = `
Config file:
  --config FILE.toml sets flags from a TOML file: each key is a flag's name,
  a repeatable flag takes a list. Flags on the command line win over the file,
  the file wins over the defaults. For example:

    listen = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
    grace = "1m"
    log-level = "debug"
`

// repeatable marks a flag whose value is a list: its key takes a TOML array,
// each element set in turn.
type repeatable interface {
	repeatable()
}

func (*stringList) repeatable() {}

// configKey is a top-level key of a config file and the line it is on.
type configKey struct {
	name string
	line int
}

// applyConfig sets the flags of fs from the TOML file at path, each value
// through its flag's Set, so the file parses values exactly as the command
// line does. Flags already set on the command line keep their values. An
// error names the file and the line.
func applyConfig(fs *flag.FlagSet, path string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var values map[string]any
	if err := toml.Unmarshal(doc, &values); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, _ := de.Position()
			return fmt.Errorf("%s:%d: %s", path, line, de.Error())
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	for _, k := range configKeys(doc) {
		f := fs.Lookup(k.name)
		switch {
		case f == nil:
			return fmt.Errorf("%s:%d: unknown key %q", path, k.line, k.name)
		case f.Name == configFlag:
			return fmt.Errorf("%s:%d: %s: a config file cannot name another", path, k.line, k.name)
		case onCommandLine[f.Name]:
			continue
		}
		if err := setFlag(f, values[k.name]); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", path, k.line, k.name, err)
		}
	}
	return nil
}

// configKeys lists the top-level keys of a valid TOML document with their
// lines, in the order of the document. A table's header stands for its
// keys: none of them can be a flag.
func configKeys(doc []byte) []configKey {
	var keys []configKey
	seen := map[string]bool{}
	var p unstable.Parser
	p.Reset(doc)
	inTable := false
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			inTable = true
		case unstable.KeyValue:
			if inTable {
				continue
			}
		default:
			continue
		}
		it := e.Key()
		it.Next()
		k := it.Node()
		if name := string(k.Data); !seen[name] {
			seen[name] = true
			keys = append(keys, configKey{name, p.Shape(k.Raw).Start.Line})
		}
	}
	return keys
}

// setFlag sets f to a value decoded from TOML: a string, number or boolean
// as the command line would give it, an array element by element for a
// repeatable flag.
func setFlag(f *flag.Flag, v any) error {
	if list, ok := v.([]any); ok {
		if _, ok := f.Value.(repeatable); !ok {
			return errors.New("takes one value, not a list")
		}
		for _, x := range list {
			s, err := scalar(x)
			if err != nil {
				return err
			}
			if err := f.Value.Set(s); err != nil {
				return why(f.Value, s, err)
			}
		}
		return nil
	}
	s, err := scalar(v)
	if err != nil {
		return err
	}
	if err := f.Value.Set(s); err != nil {
		return why(f.Value, s, err)
	}
	return nil
}

// why replaces the flag package's "parse error" with the reason its parser
// gave, which the flag package drops.
func why(v flag.Value, s string, err error) error {
	g, ok := v.(flag.Getter)
	if !ok {
		return err
	}
	var perr error
	switch g.Get().(type) {
	case time.Duration:
		_, perr = time.ParseDuration(s)
	case int, int64:
		_, perr = strconv.ParseInt(s, 0, 64)
	case uint, uint64:
		_, perr = strconv.ParseUint(s, 0, 64)
	case float64:
		_, perr = strconv.ParseFloat(s, 64)
	case bool:
		_, perr = strconv.ParseBool(s)
	}
	if perr == nil {
		return err // in range for 64 bits, not for int: the flag's "value out of range"
	}
	return perr
}

// scalar is a TOML value as command-line text.
func scalar(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case map[string]any:
		return "", errors.New("is a table, no flag's value: the keys are flags' names, at the top level")
	}
	return "", fmt.Errorf("%v: want a string, number or boolean", v)
}
