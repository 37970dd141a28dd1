package cli

import (
	"context"
	"io"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

func runLogs(ctx context.Context, e *env, args []string) int {
	const usage = "logs ID [-f] [--raw] [--gateway URL]"
	fs := newFlags(e, "logs", usage)
	gw := gatewayFlag(fs)
	follow := fs.Bool("f", false, "follow: print new output as it comes, until the task ends")
	raw := fs.Bool("raw", false, "pass the module's output to the terminal as it is, escape sequences included (default: control characters are shown escaped, like \\x1b, on a terminal)")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "logs", usage, pos, "task ID"); code != 0 {
		return code
	}
	c, code := connect(e, "logs", gw)
	if c == nil {
		return code
	}
	id := pos[0]
	stdout, stderr := terminalOutput(e.stdout, *raw), terminalOutput(e.stderr, *raw)
	write := func(le task.LogEntry) error {
		w := stdout
		if le.Stream == "stderr" {
			w = stderr
		}
		_, err := io.WriteString(w, le.Data)
		return err
	}
	if *follow {
		if _, err := c.Follow(ctx, id, write); err != nil {
			return failed(e, "logs", id, err)
		}
		return 0
	}
	lv, err := c.Logs(ctx, id)
	if err != nil {
		return failed(e, "logs", id, err)
	}
	for _, le := range lv.Entries {
		if err := write(le); err != nil {
			return failed(e, "logs", id, err)
		}
	}
	return 0
}
