package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
)

// jobSubcommands are the verbs of `shoal job`; any other first argument
// is a job's id to show.
var jobSubcommands = map[string]func(context.Context, *env, []string) int{
	"submit": runJobSubmit,
	"cancel": runJobCancel,
	"get":    runJobGet,
}

const jobUsage = "job ID [--json] | job submit JOB.json [--wait] [--json] | job cancel ID | job get ID [--output DIR]"

// runJob shows a job, or runs one of jobSubcommands.
func runJob(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 {
		if sub, ok := jobSubcommands[args[0]]; ok {
			return sub(ctx, e, args[1:])
		}
	}
	return runJobShow(ctx, e, args)
}

func runJobs(ctx context.Context, e *env, args []string) int {
	const usage = "jobs [--limit N] [--status S,...] [--json] [--gateway URL]"
	fs := newFlags(e, "jobs", usage)
	gw := gatewayFlag(fs)
	asJSON := fs.Bool("json", false, "print the jobs as a JSON array")
	limit := fs.Int("limit", api.DefaultTaskLimit, fmt.Sprintf("list the newest N jobs (1 to %d)", api.MaxTaskLimit))
	status := fs.String("status", "", "only jobs of these statuses, comma-separated: "+statusNames())
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "jobs", usage, pos); code != 0 {
		return code
	}
	q, err := api.ParseTaskQuery(url.Values{api.ParamLimit: {strconv.Itoa(*limit)}, api.ParamStatus: {*status}})
	if err != nil {
		return usageError(e, "jobs", usage, "--%v", err)
	}
	c, code := connect(e, "jobs", gw)
	if c == nil {
		return code
	}
	js, more, err := listJobs(ctx, c, q)
	if err != nil {
		return failed(e, "jobs", "", err)
	}
	switch {
	case *asJSON:
		if js == nil {
			js = []api.Job{}
		}
		_ = printJSON(e.stdout, js)
	case len(js) == 0 && *status == "":
		fmt.Fprintf(e.stderr, "no jobs at %s; submit one with `shoal job submit JOB.json`\n", c.URL())
	case len(js) == 0:
		fmt.Fprintf(e.stderr, "no %s jobs at %s\n", *status, c.URL())
	default:
		printJobs(e.stdout, js)
	}
	if more {
		fmt.Fprintf(e.stderr, "(the newest %d; --limit N lists more)\n", len(js))
	}
	return 0
}

// listJobs returns the newest q.Limit jobs, oldest first, and whether
// there are more. A page with statuses may be short, so pages are
// followed until the limit is reached.
func listJobs(ctx context.Context, c *client.Client, q api.TaskQuery) ([]api.Job, bool, error) {
	want := q.Limit
	var out []api.Job
	for {
		page, next, err := c.JobPage(ctx, q)
		if err != nil {
			return nil, false, err
		}
		out = append(out, page...)
		if len(out) >= want || next == "" {
			more := next != "" || len(out) > want
			out = out[:min(want, len(out))]
			slices.Reverse(out) // newest first: shown oldest first, as `shoal tasks` does
			return out, more, nil
		}
		q.After, q.Limit = next, min(want-len(out), api.MaxTaskLimit)
	}
}

func printJobs(w io.Writer, js []api.Job) {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tSTEPS\tWORKER\tCREATED\tDURATION")
	for _, j := range js {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.ID, orDash(oneLine(j.Name, 40)), j.Status,
			stepsDone(j), len(j.Steps), orDash(api.ShortPeer(j.Worker)), formatCreated(j.Created), span(j.Started, j.Ended))
	}
	tw.Flush()
}

// stepsDone counts the steps of j that have ended, skipped ones included.
func stepsDone(j api.Job) int {
	n := 0
	for _, s := range j.Steps {
		if stepEnded(s.Status) {
			n++
		}
	}
	return n
}

func stepEnded(s api.Status) bool { return s.Done() || s == api.Skipped }

// span is how long something that started at start took, or has been
// running; "-" before it started.
func span(start, end time.Time) string {
	switch {
	case start.IsZero():
		return "-"
	case end.IsZero():
		return "running " + formatDuration(time.Since(start))
	}
	return formatDuration(end.Sub(start))
}

func runJobShow(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "job", jobUsage)
	gw := gatewayFlag(fs)
	asJSON := fs.Bool("json", false, "print the job as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "job", jobUsage, pos, "job ID"); code != 0 {
		return code
	}
	c, code := connect(e, "job", gw)
	if c == nil {
		return code
	}
	j, err := c.Job(ctx, pos[0])
	if err != nil {
		return jobFailed(e, "job", pos[0], err)
	}
	if *asJSON {
		_ = printJSON(e.stdout, j)
		return 0
	}
	printJob(e.stdout, j)
	return 0
}

// printJob prints a job's fields, its steps, its artifacts and its
// callback attempts.
func printJob(w io.Writer, j api.Job) {
	tw := newTable(w)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("id", j.ID)
	if j.Name != "" {
		row("name", oneLine(j.Name, 200))
	}
	row("status", string(j.Status))
	row("steps", fmt.Sprintf("%d/%d done", stepsDone(j), len(j.Steps)))
	if j.Worker != "" {
		row("worker", j.Worker)
	}
	if j.Attempt > 0 {
		row("attempt", fmt.Sprintf("%d (its worker was lost: run again from its first step)", j.Attempt))
	}
	row("created", formatCreated(j.Created))
	row("duration", span(j.Started, j.Ended))
	row("time limit", fmt.Sprintf("%gs", j.TimeoutSeconds))
	if j.Priority != 0 {
		row("priority", strconv.Itoa(j.Priority))
	}
	if len(j.Labels) > 0 {
		row("labels", strings.Join(j.Labels, ","))
	}
	for _, k := range slices.Sorted(maps.Keys(j.Metadata)) {
		row("metadata", oneLine(k+"="+j.Metadata[k], 200))
	}
	if j.Owner != "" {
		row("owner", j.Owner)
	}
	if j.CallbackURL != "" {
		row("callback", oneLine(j.CallbackURL, 200))
	}
	if j.Error != "" {
		row("error", oneLine(j.Error, 200))
	}
	tw.Flush()
	fmt.Fprintln(w)
	printSteps(w, j.Steps)
	if len(j.Files) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "ARTIFACT\tSIZE")
		for _, f := range j.Files {
			fmt.Fprintf(tw, "%s\t%s\n", safeText(f.Path), api.FormatBytes(uint64(f.Size)))
		}
		tw.Flush()
	}
	if len(j.Callbacks) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "CALLBACK\tSTATUS\tATTEMPT\tANSWER")
		for _, cb := range j.Callbacks {
			answer := "-"
			switch {
			case cb.Error != "":
				answer = "error: " + oneLine(cb.Error, 120)
			case cb.Code != 0:
				answer = strconv.Itoa(cb.Code)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", cb.Time.Local().Format(time.DateTime), cb.Status, cb.Attempt, answer)
		}
		tw.Flush()
	}
}

// printSteps prints a table of a job's steps.
func printSteps(w io.Writer, steps []api.Step) {
	tw := newTable(w)
	fmt.Fprintln(tw, "STEP\tSTATUS\tNEEDS\tEXIT\tSTARTED\tDURATION\tERROR")
	for _, s := range steps {
		fmt.Fprintln(tw, stepRow(s))
	}
	tw.Flush()
}

// stepRow is a step's line of printSteps, its columns tab-separated.
func stepRow(s api.Step) string {
	exit, started := "-", "-"
	if !s.Ended.IsZero() && !s.Started.IsZero() {
		exit = strconv.Itoa(int(s.ExitCode))
	}
	if !s.Started.IsZero() {
		started = s.Started.Local().Format(time.TimeOnly)
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", safeText(s.ID), s.Status, orDash(safeText(strings.Join(s.Needs, ","))),
		exit, started, span(s.Started, s.Ended), orDash(oneLine(s.Error, 80)))
}

func runJobCancel(ctx context.Context, e *env, args []string) int {
	const usage = "job cancel ID [--gateway URL]"
	fs := newFlags(e, "job cancel", usage)
	gw := gatewayFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "job cancel", usage, pos, "job ID"); code != 0 {
		return code
	}
	c, code := connect(e, "job cancel", gw)
	if c == nil {
		return code
	}
	id := pos[0]
	j, err := c.CancelJob(ctx, id)
	if errors.Is(err, api.ErrConflict) {
		if j, err := c.Job(ctx, id); err == nil && j.Status.Done() {
			return e.errorf("job cancel: job %s has already ended (%s); there is nothing to cancel", id, j.Status)
		}
	}
	if err != nil {
		return jobFailed(e, "job cancel", id, err)
	}
	fmt.Fprintf(e.stdout, "%s %s\n", j.ID, j.Status)
	return 0
}

// jobFailed is failed for a call about job id.
func jobFailed(e *env, cmd, id string, err error) int {
	if errors.Is(err, api.ErrNotFound) && id != "" {
		return e.errorf("job %s not found; `shoal jobs` lists the jobs", id)
	}
	return failed(e, cmd, "", err)
}
