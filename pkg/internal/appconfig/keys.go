package appconfig

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/scale"
)

// The keys each table takes, in the order the docs list them: an unknown
// key's error lists them.
var (
	topKeys          = []string{"args", "env", "requirements", "cluster"}
	requirementsKeys = []string{"cores", "memory"}
	clusterKeys      = []string{"standby_machines", "machines_limit", "machines_timeout", "cooldown", "backend"}
)

// decoder fills a Config from a decoded document, key by key in the
// order of the file.
type decoder struct {
	cfg Config
}

// fail is the error of the key at path.
func (d *decoder) fail(path []string, err error) error {
	line := 0
	for n := len(path); n > 0 && line == 0; n-- {
		line = d.cfg.lines[pathKey(path[:n])]
	}
	return &Error{File: d.cfg.file, Line: line, Key: keyName(path), Err: err}
}

// unknown is the error of a key no table takes.
func (d *decoder) unknown(path []string, table string, keys []string) error {
	return d.fail(path, fmt.Errorf("unknown key; %s takes %s", table, strings.Join(keys, ", ")))
}

func (d *decoder) top(doc map[string]any) error {
	for _, k := range sortedKeys(doc, nil, d.cfg.lines) {
		v, path := doc[k], []string{k}
		var err error
		switch k {
		case "args":
			err = d.args(path, v)
		case "env":
			err = d.env(path, v)
		case "requirements":
			err = d.requirements(path, v)
		case "cluster":
			err = d.cluster(path, v)
		default:
			err = d.unknown(path, "the file", topKeys)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) args(path []string, v any) error {
	list, ok := v.([]any)
	if !ok {
		return d.fail(path, notA(v, `a list of strings (like ["--rows", "1000"])`))
	}
	d.cfg.Args = make([]string, len(list))
	for i, x := range list {
		s, ok := x.(string)
		switch {
		case !ok:
			return d.fail(path, fmt.Errorf("argument %d: %w", i+1, notA(x, "a string")))
		case strings.ContainsRune(s, 0):
			return d.fail(path, fmt.Errorf("argument %d: must not contain a NUL byte", i+1))
		}
		d.cfg.Args[i] = s
	}
	return nil
}

func (d *decoder) env(path []string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return d.fail(path, notA(v, `a table of strings (like GREETING = "hi")`))
	}
	d.cfg.Env = make(map[string]string, len(m))
	for _, k := range sortedKeys(m, path, d.cfg.lines) {
		s, ok := m[k].(string)
		kpath := append(slices.Clip(path), k)
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			return d.fail(kpath, errors.New("a variable's name must not be empty nor contain = or a NUL byte"))
		case !ok:
			return d.fail(kpath, notA(m[k], "a string"))
		case strings.ContainsRune(s, 0):
			return d.fail(kpath, errors.New("must not contain a NUL byte"))
		}
		d.cfg.Env[k] = s
	}
	return nil
}

func (d *decoder) requirements(path []string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return d.fail(path, notA(v, "a table ([requirements])"))
	}
	r := &d.cfg.Requirements
	for _, k := range sortedKeys(m, path, d.cfg.lines) {
		kpath := append(slices.Clip(path), k)
		var err error
		switch k {
		case "cores":
			r.Cores, err = cores(m[k])
		case "memory":
			r.Memory, err = byteCount(m[k])
		default:
			return d.unknown(kpath, "[requirements]", requirementsKeys)
		}
		if err != nil {
			return d.fail(kpath, err)
		}
	}
	return nil
}

func (d *decoder) cluster(path []string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return d.fail(path, notA(v, "a table ([cluster])"))
	}
	c := &ClusterTable{}
	d.cfg.Cluster = c
	for _, k := range sortedKeys(m, path, d.cfg.lines) {
		kpath := append(slices.Clip(path), k)
		var err error
		switch k {
		case "standby_machines":
			c.Standby, err = machines(m[k])
		case "machines_limit":
			c.Limit, err = machines(m[k])
		case "machines_timeout":
			c.Timeout, err = seconds(m[k])
		case "cooldown":
			c.Cooldown, err = seconds(m[k])
		case "backend":
			c.Backend, err = backend(m[k])
		default:
			return d.unknown(kpath, "[cluster]", clusterKeys)
		}
		if err != nil {
			return d.fail(kpath, err)
		}
	}
	if c.Standby != nil && c.Limit != nil {
		// The check, and its words, are scale's.
		p := scale.Policy{Standby: *c.Standby, Limit: *c.Limit, Slots: 1}
		if err := p.Validate(); err != nil {
			key, msg, _ := strings.Cut(err.Error(), ": ")
			return d.fail(append(slices.Clip(path), key), errors.New(msg))
		}
	}
	return nil
}

// cores reads a number of cores: a string ParseCores takes, or a number.
func cores(v any) (api.Millicores, error) {
	s, ok := scalar(v)
	if !ok {
		return 0, notA(v, "a number of cores (like 0.25, 1/16, 2 or 250m)")
	}
	return api.ParseCores(s)
}

// byteCount reads a byte count: a string ParseBytes takes, or a whole number.
func byteCount(v any) (uint64, error) {
	switch x := v.(type) {
	case string:
		return api.ParseBytes(x)
	case int64:
		if x < 0 {
			return 0, fmt.Errorf("must not be negative, got %d", x)
		}
		return uint64(x), nil
	}
	return 0, notA(v, "a byte count (like 67108864 or \"64 MiB\")")
}

// seconds reads a time: a string ParseSeconds takes, or a number of
// seconds.
func seconds(v any) (*time.Duration, error) {
	s, ok := scalar(v)
	if !ok {
		return nil, notA(v, `a number of seconds or a duration (like 300 or "5m")`)
	}
	t, err := api.ParseSeconds(s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// machines reads a number of machines.
func machines(v any) (*int, error) {
	x, ok := v.(int64)
	switch {
	case !ok:
		return nil, notA(v, "a whole number of machines")
	case x < 0:
		return nil, fmt.Errorf("must not be negative, got %d", x)
	case x > MaxMachines:
		return nil, fmt.Errorf("must be at most %d, got %d", MaxMachines, x)
	}
	n := int(x)
	return &n, nil
}

func backend(v any) (string, error) {
	s, ok := v.(string)
	if !ok || !slices.Contains(Backends, s) {
		return "", notA(v, "a backend ("+strings.Join(Backends, " or ")+")")
	}
	return s, nil
}

// scalar returns a string's value or a number's text (as the file writes
// it: inf, not +Inf), for the API's parsers, which read both.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return describe(x), true
	}
	return "", false
}

// notA is the error of a value that is not what its key takes.
func notA(v any, what string) error {
	return fmt.Errorf("%s is not %s", describe(v), what)
}

// describe writes a decoded TOML value as an error shows it: a scalar as
// the file writes it, a list or a table by its kind.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 64 {
			x = x[:64] + "..."
		}
		return strconv.Quote(x)
	case float64:
		switch {
		case math.IsNaN(x):
			return "nan"
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		for _, e := range x {
			if _, ok := e.(map[string]any); !ok {
				return "a list"
			}
		}
		if len(x) > 0 {
			return "an array of tables"
		}
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprint(v) // integers, booleans, dates and times
}
