package cli

import (
	"context"
	"fmt"

	"github.com/shoalmesh/shoal/pkg/api"
)

const moduleUsage = "module put FILE.wasm [--name NAME] [--json] [--gateway URL]"

// runModule runs `shoal module put`, the one verb of module.
func runModule(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 && args[0] == "put" {
		return runModulePut(ctx, e, args[1:])
	}
	fs := newFlags(e, "module", moduleUsage)
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if len(pos) == 0 {
		return usageError(e, "module", moduleUsage, "missing put")
	}
	return usageError(e, "module", moduleUsage, "unknown verb %q", pos[0])
}

func runModulePut(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "module put", moduleUsage)
	gw := gatewayFlag(fs)
	name := fs.String("name", "", "also name the module, for a job's steps to use instead of its hash (the name moves from any module it named before)")
	asJSON := fs.Bool("json", false, "print the gateway's answer as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "module put", moduleUsage, pos, "FILE.wasm"); code != 0 {
		return code
	}
	mod, err := readModule(pos[0])
	if err != nil {
		return e.errorf("module put: %v", err)
	}
	c, code := connect(e, "module put", gw)
	if c == nil {
		return code
	}
	m, err := c.PutModule(ctx, mod, *name)
	if err != nil {
		return failed(e, "module put", "", err)
	}
	switch {
	case *asJSON:
		_ = printJSON(e.stdout, m)
	case m.Name != "":
		fmt.Fprintf(e.stdout, "%s %s\n", m.Module, m.Name)
	default:
		fmt.Fprintln(e.stdout, m.Module)
	}
	return 0
}

func runModules(ctx context.Context, e *env, args []string) int {
	const usage = "modules [--json] [--gateway URL]"
	fs := newFlags(e, "modules", usage)
	gw := gatewayFlag(fs)
	asJSON := fs.Bool("json", false, "print the names as a JSON array")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "modules", usage, pos); code != 0 {
		return code
	}
	c, code := connect(e, "modules", gw)
	if c == nil {
		return code
	}
	names, err := c.ModuleNames(ctx)
	if err != nil {
		return failed(e, "modules", "", err)
	}
	switch {
	case *asJSON:
		if names == nil {
			names = []api.ModuleName{}
		}
		_ = printJSON(e.stdout, names)
	case len(names) == 0:
		fmt.Fprintf(e.stderr, "no named modules at %s; name one with `shoal module put FILE.wasm --name NAME`\n", c.URL())
	default:
		tw := newTable(e.stdout)
		fmt.Fprintln(tw, "NAME\tMODULE")
		for _, n := range names {
			fmt.Fprintf(tw, "%s\tsha256:%s\n", n.Name, n.SHA256)
		}
		tw.Flush()
	}
	return 0
}
