package cli

import (
	"context"
	"errors"
	"io"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

func runLogs(ctx context.Context, e *env, args []string) int {
	const usage = "logs ID [-f] [--raw] [--gateway URL]"
	fs := newFlags(e, "logs", usage)
	gw := gatewayFlag(fs)
	follow := fs.Bool("f", false, "follow: print new output as it comes, until the task or job ends")
	raw := fs.Bool("raw", false, "pass the module's output to the terminal as it is, escape sequences included (default: control characters are shown escaped, like \\x1b, on a terminal)")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "logs", usage, pos, "task or job ID"); code != 0 {
		return code
	}
	c, code := connect(e, "logs", gw)
	if c == nil {
		return code
	}
	id := pos[0]
	// Tasks and jobs share one namespace of ids: an id the job endpoint
	// knows is a job's.
	_, err = c.Job(ctx, id)
	switch {
	case err == nil:
		return jobLogs(ctx, e, c, id, *follow, *raw)
	case !errors.Is(err, api.ErrNotFound):
		return failed(e, "logs", id, err)
	}
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

// jobLogs prints a job's output in whole lines, each prefixed with the
// step that wrote it, as `shoal run` prefixes processes' lines with
// their pid; with follow, until the job ends.
func jobLogs(ctx context.Context, e *env, c *client.Client, id string, follow, raw bool) int {
	out := newProcOutput(e.stdout, e.stderr, false, raw)
	var err error
	if follow {
		_, err = c.FollowJobLogs(ctx, id, out.write)
	} else {
		var lv api.JobLogs
		if lv, err = c.JobLogs(ctx, id); err == nil {
			for _, le := range lv.Entries {
				if err = out.write(le); err != nil {
					break
				}
			}
		}
	}
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return jobFailed(e, "logs", id, err)
	}
	return 0
}
