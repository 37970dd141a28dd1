// Package cli is the `shoal` command: the node roles (gateway, worker), the
// discovery listing (peers), key and client commands against a gateway's
// HTTP API. Run is the whole program, testable without a process:
// cmd/shoal only calls it.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/shoalmesh/shoal/pkg/internal/version"
)

// command is one `shoal NAME` subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// env is what a command reads from and writes to.
type env struct {
	stdin          io.Reader // read by the commands that take "-" for a file
	stdout, stderr io.Writer
	flags          *flag.FlagSet // the command's, once newFlags made it: completion reads it
}

func (e *env) errorf(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "shoal: "+format+"\n", args...)
	return 1
}

func commands() map[string]command {
	return map[string]command{
		"cluster":    {"make and run a named cluster that scales its workers: shoal cluster -h", runCluster},
		"gateways":   {"show a replicated group of gateways, its workers' join token, or change its members: shoal gateways [token | add|remove ADDRESS]", runGateways},
		"gateway":    {"run a gateway node: takes tasks over HTTP, places them on workers", runGateway},
		"worker":     {"run a worker node: dials a gateway and runs the tasks it is given", runWorker},
		"peers":      {"list the peers that answer multicast discovery", runPeers},
		"submit":     {"submit a task: shoal submit FILE.wasm [flags]", runSubmit},
		"run":        {"run a module once and print its processes' output: shoal run APP.wasm [ARGS...]", runRun},
		"tasks":      {"list tasks", runTasks},
		"task":       {"show one task: shoal task ID; download its artifacts (shared=1): shoal task get ID [--output DIR]", runTask},
		"logs":       {"print a task's or a job's output: shoal logs ID [-f]", runLogs},
		"jobs":       {"list jobs", runJobs},
		"job":        {"show a job, or: shoal job submit JOB.json [--wait] | cancel ID | get ID", runJob},
		"module":     {"upload a module: shoal module put FILE.wasm [--name NAME]", runModule},
		"modules":    {"list the names given to modules", runModules},
		"cancel":     {"cancel a task (--purge deletes it): shoal cancel ID", runCancel},
		"workers":    {"list the workers of a gateway", runWorkers},
		"version":    {"print the version", runVersion},
		"keygen":     {"write a private network key for --swarm-key: shoal keygen [FILE]", runKeygen},
		"completion": {"print a shell completion script: shoal completion bash|zsh", runCompletion},
	}
}

// Run runs the shoal command line args (without the program name) and
// returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, os.Stdin, stdout, stderr)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(stderr, cmds)
		return e.errorf("unknown command %q; the commands are listed above", args[0])
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("shoal: a peer-to-peer WebAssembly compute mesh\n\nUsage: shoal COMMAND [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun shoal COMMAND -h for a command's flags.\n")
	io.WriteString(w, b.String())
}

func runVersion(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stdout, "shoal", version.Version)
	return 0
}
