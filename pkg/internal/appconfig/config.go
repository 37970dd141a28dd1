// Package appconfig reads the config file of an application run on a
// cluster, in the shape of Hadean's config.toml (docs/CLUSTERS.md, "The config file"):
// its arguments, environment, the resources each of its runs reserves, and
// a [cluster] table of scaling settings. The CONFIG.toml given to
// `shoal cluster create` is the same file: its [cluster] table sets the
// cluster's defaults, which an application's table overrides key by key.
//
// Parsing is strict: an unknown key is an error, and every error is an
// *Error that names the file, the line and the key, so that a user fixes a
// file without guessing.
package appconfig

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/scale"
)

// Config is one config file.
type Config struct {
	// Args are the application's command-line arguments, after its name.
	Args []string
	// Env is the application's environment.
	Env map[string]string
	// Requirements are what each run reserves on its worker; 0: none
	// accounted.
	Requirements Requirements
	// Cluster is the file's [cluster] table; nil when it has none.
	Cluster *ClusterTable

	file  string
	lines map[string]int // of the keys, by pathKey
}

// Requirements are the resources one run of the application reserves.
type Requirements struct {
	Cores  api.Millicores
	Memory uint64 // bytes
}

// ClusterTable is a [cluster] table: each field is nil (or "") when the
// table does not set it, so that an application's table overrides only
// what it sets over the cluster's defaults.
type ClusterTable struct {
	Standby  *int           // standby_machines
	Limit    *int           // machines_limit
	Timeout  *time.Duration // machines_timeout
	Cooldown *time.Duration // cooldown
	// Backend is where the cluster's machines come from: one of Backends,
	// or "" when the table does not say.
	Backend string
}

// Backends are the values backend takes.
var Backends = []string{"local", "docker"}

// MaxMachines bounds standby_machines and machines_limit: a larger number
// is a typo, not a cluster.
const MaxMachines = 10000

// Apply returns p with the fields c sets replaced.
func (c ClusterTable) Apply(p scale.Policy) scale.Policy {
	if c.Standby != nil {
		p.Standby = *c.Standby
	}
	if c.Limit != nil {
		p.Limit = *c.Limit
	}
	if c.Timeout != nil {
		p.Timeout = *c.Timeout
	}
	if c.Cooldown != nil {
		p.Cooldown = *c.Cooldown
	}
	return p
}

// Policy returns defaults with the file's [cluster] table applied, and
// checks the result: an application's standby_machines may exceed the
// cluster's machines_limit though the file alone is valid. Its error names
// the file and, when the file sets one of the keys at fault, its line.
func (c Config) Policy(defaults scale.Policy) (scale.Policy, error) {
	p := defaults
	if c.Cluster != nil {
		p = c.Cluster.Apply(p)
	}
	if err := p.Validate(); err != nil {
		key, msg, _ := strings.Cut(err.Error(), ": ")
		line := c.lines[pathKey([]string{"cluster", key})]
		if line == 0 && key == "standby_machines" {
			// The other side of the comparison is the one this file set.
			line = c.lines[pathKey([]string{"cluster", "machines_limit"})]
		}
		return p, &Error{File: c.file, Line: line, Key: "cluster." + key, Err: fmt.Errorf("%s", msg)}
	}
	return p, nil
}

// Environ returns Env as KEY=VALUE strings, sorted, as a process's
// environment is written.
func (c Config) Environ() []string {
	out := make([]string, 0, len(c.Env))
	for k, v := range c.Env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Error is a config file's error.
type Error struct {
	File string
	Line int    // 0: the file as a whole
	Key  string // dotted, as the file writes it; "" for a TOML syntax error
	Err  error
}

// Error writes "config.toml:7: requirements.cores: ...".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Load reads and parses the config file at path.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return Parse(path, data)
}

// Parse parses a config file's contents; name is the file's name in
// errors.
func Parse(name string, data []byte) (Config, error) {
	doc, lines, err := decode(name, data)
	if err != nil {
		return Config{}, err
	}
	d := &decoder{cfg: Config{file: name, lines: lines}}
	if err := d.top(doc); err != nil {
		return Config{}, err
	}
	return d.cfg, nil
}

// keyName writes a key's path as TOML does, quoting the parts that are
// not bare keys.
func keyName(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = p
		if p == "" || strings.ContainsFunc(p, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) {
			parts[i] = strconv.Quote(p)
		}
	}
	return strings.Join(parts, ".")
}

// pathKey is a key's path as an index of lines.
func pathKey(path []string) string { return strings.Join(path, "\x00") }

// sortedKeys returns m's keys in the order of their lines in the file,
// so that the first error found is the first in the file.
func sortedKeys(m map[string]any, prefix []string, lines map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	line := func(k string) int { return lines[pathKey(append(slices.Clip(prefix), k))] }
	sort.Slice(keys, func(i, j int) bool {
		if li, lj := line(keys[i]), line(keys[j]); li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	return keys
}
