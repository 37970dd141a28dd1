package appconfig_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/appconfig"
	"github.com/shoalmesh/shoal/pkg/internal/scale"
)

// mustParse parses doc as config.toml, failing tb on an error.
func mustParse(tb testing.TB, doc string) appconfig.Config {
	tb.Helper()
	c, err := appconfig.Parse("config.toml", []byte(doc))
	if err != nil {
		tb.Fatalf("Parse(%q): %v", doc, err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func TestLoadExample(t *testing.T) {
	c, err := appconfig.Load("testdata/config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"--rows", "1000"}; !reflect.DeepEqual(c.Args, want) {
		t.Errorf("Args = %q, want %q", c.Args, want)
	}
	if want := []string{"GREETING=hi", "RUST_LOG=info"}; !reflect.DeepEqual(c.Environ(), want) {
		t.Errorf("Environ() = %q, want %q", c.Environ(), want)
	}
	if want := (appconfig.Requirements{Cores: 63, Memory: 8 << 20}); c.Requirements != want {
		t.Errorf("Requirements = %+v, want %+v", c.Requirements, want)
	}
	want := appconfig.ClusterTable{
		Standby: ptr(1), Limit: ptr(4),
		Timeout: ptr(5 * time.Minute), Cooldown: ptr(30 * time.Second),
		Backend: "local",
	}
	if c.Cluster == nil || !reflect.DeepEqual(*c.Cluster, want) {
		t.Fatalf("Cluster = %+v, want %+v", c.Cluster, want)
	}
	p, err := c.Policy(scale.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if want := (scale.Policy{Standby: 1, Limit: 4, Timeout: 5 * time.Minute, Cooldown: 30 * time.Second, Slots: 1}); p != want {
		t.Errorf("Policy = %+v, want %+v", p, want)
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := appconfig.Load("testdata/nonexistent.toml"); err == nil {
		t.Fatal("Load of a missing file: no error")
	}
}

// TestParseValues covers every key's accepted forms.
func TestParseValues(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		check     func(appconfig.Config) bool
	}{
		{"empty file", "", func(c appconfig.Config) bool {
			return c.Args == nil && c.Env == nil && c.Requirements == (appconfig.Requirements{}) && c.Cluster == nil
		}},
		{"args", `args = ["a", "", "b c"]`, func(c appconfig.Config) bool {
			return reflect.DeepEqual(c.Args, []string{"a", "", "b c"})
		}},
		{"args empty", `args = []`, func(c appconfig.Config) bool { return c.Args != nil && len(c.Args) == 0 }},
		{"env", "[env]\nB = \"2\"\nA = \"\"\n\"x.y\" = \"z\"", func(c appconfig.Config) bool {
			return reflect.DeepEqual(c.Environ(), []string{"A=", "B=2", "x.y=z"})
		}},
		{"env inline", `env = { A = "1" }`, func(c appconfig.Config) bool { return c.Env["A"] == "1" }},
		{"cores fraction", "[requirements]\ncores = \"1/16\"", func(c appconfig.Config) bool { return c.Requirements.Cores == 63 }},
		{"cores decimal", "[requirements]\ncores = \"0.25\"", func(c appconfig.Config) bool { return c.Requirements.Cores == 250 }},
		{"cores millicores", "[requirements]\ncores = \"250m\"", func(c appconfig.Config) bool { return c.Requirements.Cores == 250 }},
		{"cores integer", "[requirements]\ncores = 2", func(c appconfig.Config) bool { return c.Requirements.Cores == 2000 }},
		{"cores float", "[requirements]\ncores = 0.5", func(c appconfig.Config) bool { return c.Requirements.Cores == 500 }},
		{"memory string", "[requirements]\nmemory = \"8 MiB\"", func(c appconfig.Config) bool { return c.Requirements.Memory == 8<<20 }},
		{"memory integer", "[requirements]\nmemory = 4096", func(c appconfig.Config) bool { return c.Requirements.Memory == 4096 }},
		{"requirements inline", `requirements = { cores = "1", memory = "1GiB" }`, func(c appconfig.Config) bool {
			return c.Requirements == appconfig.Requirements{Cores: 1000, Memory: 1 << 30}
		}},
		{"cluster empty", "[cluster]", func(c appconfig.Config) bool {
			return c.Cluster != nil && reflect.DeepEqual(*c.Cluster, appconfig.ClusterTable{})
		}},
		{"cluster dotted", `cluster.backend = "docker"`, func(c appconfig.Config) bool {
			return c.Cluster != nil && c.Cluster.Backend == "docker" && c.Cluster.Limit == nil
		}},
		{"machines", "[cluster]\nstandby_machines = 0\nmachines_limit = 10000", func(c appconfig.Config) bool {
			return *c.Cluster.Standby == 0 && *c.Cluster.Limit == 10000
		}},
		{"standby equals limit", "[cluster]\nstandby_machines = 3\nmachines_limit = 3", func(c appconfig.Config) bool {
			return *c.Cluster.Standby == 3
		}},
		{"timeout duration", "[cluster]\nmachines_timeout = \"1m30s\"", func(c appconfig.Config) bool {
			return *c.Cluster.Timeout == 90*time.Second
		}},
		{"timeout seconds string", "[cluster]\nmachines_timeout = \"90\"", func(c appconfig.Config) bool {
			return *c.Cluster.Timeout == 90*time.Second
		}},
		{"timeout integer", "[cluster]\nmachines_timeout = 300", func(c appconfig.Config) bool {
			return *c.Cluster.Timeout == 5*time.Minute
		}},
		{"timeout zero", "[cluster]\nmachines_timeout = 0", func(c appconfig.Config) bool { return *c.Cluster.Timeout == 0 }},
		{"cooldown float", "[cluster]\ncooldown = 0.5", func(c appconfig.Config) bool {
			return *c.Cluster.Cooldown == 500*time.Millisecond
		}},
		{"backend local", "[cluster]\nbackend = \"local\"", func(c appconfig.Config) bool { return c.Cluster.Backend == "local" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.doc)
			if !tc.check(c) {
				t.Errorf("Parse(%q) = %+v (cluster %+v)", tc.doc, c, c.Cluster)
			}
		})
	}
}

// TestParseErrors checks each error's exact words: the file, the line, the
// key, and what is wrong.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		// TOML itself.
		{"syntax", "args = [\"a\"]\nx = = 1", "config.toml:2: toml: unexpected character U+003D '=' at start of value"},
		{"duplicate key", "[cluster]\nbackend = \"local\"\nbackend = \"docker\"", "config.toml:3: toml: key backend is already defined"},
		// Unknown keys.
		{"unknown top", "\nname = \"x\"", "config.toml:2: name: unknown key; the file takes args, env, requirements, cluster"},
		{"unknown table", "[resources]\ncores = 1", "config.toml:1: resources: unknown key; the file takes args, env, requirements, cluster"},
		{"unknown requirement", "[requirements]\ncpus = 1", "config.toml:2: requirements.cpus: unknown key; [requirements] takes cores, memory"},
		{"unknown cluster key", "[cluster]\nmachine_limit = 4", "config.toml:2: cluster.machine_limit: unknown key; [cluster] takes standby_machines, machines_limit, machines_timeout, cooldown, backend"},
		{"unknown subtable", "[cluster]\n[cluster.aws]\nzone = \"a\"", "config.toml:2: cluster.aws: unknown key; [cluster] takes standby_machines, machines_limit, machines_timeout, cooldown, backend"},
		{"unknown quoted", "[cluster]\n\"a b\" = 1", `config.toml:2: cluster."a b": unknown key; [cluster] takes standby_machines, machines_limit, machines_timeout, cooldown, backend`},
		{"first in the file", "[cluster]\nbackend = \"k8s\"\n[requirements]\ncores = \"abc\"", `config.toml:2: cluster.backend: "k8s" is not a backend (local or docker)`},
		// args.
		{"args not a list", `args = "--rows 1000"`, `config.toml:1: args: "--rows 1000" is not a list of strings (like ["--rows", "1000"])`},
		{"args element", "args = [\"--rows\",\n  1000]", "config.toml:1: args: argument 2: 1000 is not a string"},
		{"args NUL", `args = ["a\u0000b"]`, "config.toml:1: args: argument 1: must not contain a NUL byte"},
		// env.
		{"env not a table", `env = ["A=1"]`, `config.toml:1: env: a list is not a table of strings (like GREETING = "hi")`},
		{"env value", "[env]\nA = \"1\"\nB = 2", "config.toml:3: env.B: 2 is not a string"},
		{"env bool", "[env]\nDEBUG = true", "config.toml:2: env.DEBUG: true is not a string"},
		{"env subtable", "[env.A]\nB = \"x\"", "config.toml:1: env.A: a table is not a string"},
		{"env name", "[env]\n\"A=B\" = \"x\"", `config.toml:2: env."A=B": a variable's name must not be empty nor contain = or a NUL byte`},
		{"env empty name", "[env]\n\"\" = \"x\"", `config.toml:2: env."": a variable's name must not be empty nor contain = or a NUL byte`},
		{"env NUL", "[env]\nA = \"x\\u0000\"", "config.toml:2: env.A: must not contain a NUL byte"},
		// requirements.
		{"requirements not a table", `requirements = "1 core"`, `config.toml:1: requirements: "1 core" is not a table ([requirements])`},
		{"cores", "[requirements]\ncores = \"abc\"", `config.toml:2: requirements.cores: "abc" is not a number of cores (like 0.25, 1/16, 2 or 250m)`},
		{"cores negative", "[requirements]\ncores = -1", "config.toml:2: requirements.cores: must not be negative, got -1"},
		{"cores too many", "[requirements]\ncores = 2000", "config.toml:2: requirements.cores: must be at most 1024 cores, got 2000"},
		{"cores zero denominator", "[requirements]\ncores = \"1/0\"", `config.toml:2: requirements.cores: "1/0" is not a number of cores (like 0.25, 1/16, 2 or 250m)`},
		{"cores bool", "[requirements]\ncores = true", "config.toml:2: requirements.cores: true is not a number of cores (like 0.25, 1/16, 2 or 250m)"},
		{"cores inf", "[requirements]\ncores = inf", `config.toml:2: requirements.cores: "inf" is not a number of cores (like 0.25, 1/16, 2 or 250m)`},
		{"memory", "[requirements]\nmemory = \"8 MB\"", `config.toml:2: requirements.memory: "8 MB" is not a byte count (like 67108864 or 64MiB)`},
		{"memory negative", "requirements = { memory = -1 }", "config.toml:1: requirements.memory: must not be negative, got -1"},
		{"memory float", "requirements = { cores = 1,\n  memory = 1.5 }", `config.toml:2: requirements.memory: 1.5 is not a byte count (like 67108864 or "64 MiB")`},
		// cluster.
		{"cluster not a table", `cluster = "big"`, `config.toml:1: cluster: "big" is not a table ([cluster])`},
		{"cluster array of tables", "[[cluster]]\nbackend = \"local\"", "config.toml:1: cluster: an array of tables is not a table ([cluster])"},
		{"limit string", "[cluster]\nmachines_limit = \"x\"", `config.toml:2: cluster.machines_limit: "x" is not a whole number of machines`},
		{"limit numeral string", "[cluster]\nmachines_limit = \"4\"", `config.toml:2: cluster.machines_limit: "4" is not a whole number of machines`},
		{"limit float", "[cluster]\nmachines_limit = 2.5", "config.toml:2: cluster.machines_limit: 2.5 is not a whole number of machines"},
		{"limit negative", "[cluster]\nmachines_limit = -1", "config.toml:2: cluster.machines_limit: must not be negative, got -1"},
		{"limit too large", "[cluster]\nmachines_limit = 10001", "config.toml:2: cluster.machines_limit: must be at most 10000, got 10001"},
		{"standby negative", "[cluster]\nstandby_machines = -2", "config.toml:2: cluster.standby_machines: must not be negative, got -2"},
		{"standby over limit", "[cluster]\nstandby_machines = 5\nmachines_limit = 4", "config.toml:2: cluster.standby_machines: 5 is more than machines_limit (4)"},
		{"standby over limit, limit first", "[cluster]\nmachines_limit = 4\n\nstandby_machines = 5", "config.toml:4: cluster.standby_machines: 5 is more than machines_limit (4)"},
		{"timeout", "[cluster]\nmachines_timeout = \"5 minutes\"", `config.toml:2: cluster.machines_timeout: "5 minutes" is neither a number of seconds nor a duration like 1m30s`},
		{"timeout negative", "[cluster]\nmachines_timeout = -5", "config.toml:2: cluster.machines_timeout: must not be negative, got -5"},
		{"timeout too long", "[cluster]\nmachines_timeout = \"10000h\"", "config.toml:2: cluster.machines_timeout: must be at most 31536000 seconds, got 10000h"},
		{"timeout bool", "[cluster]\nmachines_timeout = false", `config.toml:2: cluster.machines_timeout: false is not a number of seconds or a duration (like 300 or "5m")`},
		{"cooldown", "[cluster]\ncooldown = \"soon\"", `config.toml:2: cluster.cooldown: "soon" is neither a number of seconds nor a duration like 1m30s`},
		{"cooldown date", "[cluster]\ncooldown = 2024-01-01", `config.toml:2: cluster.cooldown: 2024-01-01 is not a number of seconds or a duration (like 300 or "5m")`},
		{"cooldown tiny", "[cluster]\ncooldown = 0.0001", "config.toml:2: cluster.cooldown: must be 0 or at least 0.001 seconds, got 0.0001"},
		{"backend", "[cluster]\nbackend = \"k8s\"", `config.toml:2: cluster.backend: "k8s" is not a backend (local or docker)`},
		{"backend case", "[cluster]\nbackend = \"Docker\"", `config.toml:2: cluster.backend: "Docker" is not a backend (local or docker)`},
		{"backend list", "[cluster]\nbackend = [\"local\"]", "config.toml:2: cluster.backend: a list is not a backend (local or docker)"},
		{"backend subtable", "[cluster.backend]\nname = \"local\"", "config.toml:1: cluster.backend: a table is not a backend (local or docker)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := appconfig.Parse("config.toml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse(%q): no error, want %q", tc.doc, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("Parse(%q):\n got %s\nwant %s", tc.doc, err, tc.want)
			}
			var e *appconfig.Error
			if !errors.As(err, &e) || e.File != "config.toml" {
				t.Errorf("Parse(%q): %T %v is not an *Error naming the file", tc.doc, err, err)
			}
		})
	}
}

// TestApply layers an application's table over a cluster's defaults: what
// the application does not set, the cluster's file does.
func TestApply(t *testing.T) {
	cluster := mustParse(t, "[cluster]\nstandby_machines = 1\nmachines_limit = 8\ncooldown = \"1m\"\nbackend = \"docker\"")
	defaults, err := cluster.Policy(scale.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	app := mustParse(t, "[cluster]\nmachines_limit = 2\nmachines_timeout = 60")
	got := app.Cluster.Apply(defaults)
	want := scale.Policy{Standby: 1, Limit: 2, Timeout: time.Minute, Cooldown: time.Minute, Slots: 1}
	if got != want {
		t.Errorf("Apply = %+v, want %+v", got, want)
	}
	if got := (appconfig.ClusterTable{}).Apply(defaults); got != defaults {
		t.Errorf("an empty table's Apply = %+v, want the defaults %+v", got, defaults)
	}
	if p, err := mustParse(t, "args = []").Policy(defaults); err != nil || p != defaults {
		t.Errorf("Policy without a [cluster] table = %+v, %v; want the defaults", p, err)
	}
}

// TestPolicyErrors checks the errors only the layered policy shows: the
// application's file is valid alone.
func TestPolicyErrors(t *testing.T) {
	defaults := scale.Policy{Standby: 2, Limit: 4, Timeout: time.Minute, Cooldown: time.Second, Slots: 1}
	for _, tc := range []struct{ name, doc, want string }{
		{"standby over the cluster's limit", "[cluster]\n\nstandby_machines = 5", "app.toml:3: cluster.standby_machines: 5 is more than machines_limit (4)"},
		{"limit under the cluster's standby", "[cluster]\nmachines_limit = 1", "app.toml:2: cluster.standby_machines: 2 is more than machines_limit (1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := appconfig.Parse("app.toml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Policy(defaults)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Policy: got %v, want %s", err, tc.want)
			}
		})
	}
	// Defaults bad on their own: the file as a whole is named.
	_, err := mustParse(t, "").Policy(scale.Policy{Standby: 1, Slots: 1})
	if want := "config.toml: cluster.standby_machines: 1 is more than machines_limit (0)"; err == nil || err.Error() != want {
		t.Errorf("Policy: got %v, want %s", err, want)
	}
}
