package appconfig_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/appconfig"
	"github.com/shoalmesh/shoal/pkg/internal/scale"
)

// FuzzParse reads arbitrary bytes as a config file: Parse never panics,
// and every error is an *Error that names the file and a line of it (only
// Policy's error may name the file alone: defaults bad on their own).
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/config.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		"", "[cluster]", "[[cluster]]", "cluster = [{}]", "env.A.B = 1",
		"requirements = { cores = inf, memory = -1 }",
		"[cluster]\nstandby_machines = 5\nmachines_limit = 4",
		"args = [[1], {a = 1}]", "x = = 1", "a = 1\na = 2",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := appconfig.Parse("fuzz.toml", data)
		parsed := err == nil
		if parsed {
			_, err = c.Policy(scale.DefaultPolicy())
		}
		if err == nil {
			return
		}
		var e *appconfig.Error
		if !errors.As(err, &e) || e.File != "fuzz.toml" || !strings.HasPrefix(err.Error(), "fuzz.toml") {
			t.Fatalf("%T %v does not name the file", err, err)
		}
		if lines := strings.Count(string(data), "\n") + 1; e.Line < 0 || e.Line > lines || !parsed && e.Line == 0 {
			t.Fatalf("%v: line %d of a file of %d lines", err, e.Line, lines)
		}
	})
}
