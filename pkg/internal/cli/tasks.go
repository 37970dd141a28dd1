package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
)

func runTasks(ctx context.Context, e *env, args []string) int {
	const usage = "tasks [--limit N] [--status S,...] [--all] [--json] [--gateway URL]"
	fs := newFlags(e, "tasks", usage)
	gw := gatewayFlag(fs)
	asJSON := fs.Bool("json", false, "print the tasks as a JSON array")
	limit := fs.Int("limit", api.DefaultTaskLimit, fmt.Sprintf("list the newest N tasks (1 to %d)", api.MaxTaskLimit))
	status := fs.String("status", "", "only tasks of these statuses, comma-separated: "+statusNames())
	all := fs.Bool("all", false, "list every task, not only the newest --limit")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "tasks", usage, pos); code != 0 {
		return code
	}
	q, err := api.ParseTaskQuery(url.Values{api.ParamLimit: {strconv.Itoa(*limit)}, api.ParamStatus: {*status}})
	if err != nil {
		return usageError(e, "tasks", usage, "--%v", err)
	}
	c, code := connect(e, "tasks", gw)
	if c == nil {
		return code
	}
	ts, more, err := listTasks(ctx, c, q, *all)
	if err != nil {
		return failed(e, "tasks", "", err)
	}
	if *asJSON {
		if ts == nil {
			ts = []api.Task{}
		}
		_ = printJSON(e.stdout, ts)
	} else if len(ts) == 0 && *status == "" {
		fmt.Fprintf(e.stderr, "no tasks at %s; submit one with `shoal submit FILE.wasm`\n", c.URL())
	} else if len(ts) == 0 {
		fmt.Fprintf(e.stderr, "no %s tasks at %s\n", *status, c.URL())
	} else {
		printTasks(e, ts)
	}
	if more {
		fmt.Fprintf(e.stderr, "(the newest %d; --all lists every one)\n", len(ts))
	}
	return 0
}

// listTasks lists the tasks q asks for, in creation order: every one with
// all, else the newest q.Limit, and whether there are more. A page with
// statuses may be short (the gateway looks at so many tasks a page), so
// pages are followed until the limit is reached.
func listTasks(ctx context.Context, c *client.Client, q api.TaskQuery, all bool) ([]api.Task, bool, error) {
	if all {
		q.Limit, q.Order = api.MaxTaskLimit, api.OrderAsc
	}
	want := q.Limit
	var out []api.Task
	for {
		page, next, err := c.TaskPage(ctx, q)
		if err != nil {
			return nil, false, err
		}
		out = append(out, page...)
		if !all && len(out) >= want {
			more := next != "" || len(out) > want
			out = out[:want]
			slices.Reverse(out) // newest first: shown oldest first, as --all
			return out, more, nil
		}
		if next == "" {
			if !all {
				slices.Reverse(out)
			}
			return out, false, nil
		}
		q.After = next
		if !all {
			q.Limit = min(want-len(out), api.MaxTaskLimit)
		}
	}
}

func printTasks(e *env, ts []api.Task) {
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "ID\tSTATUS\tRUNS\tCOMPLETIONS\tRESULT\tCREATED")
	for _, tv := range ts {
		n := countRuns(tv)
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%s\t%s\n", tv.ID, tv.Status, n.done, n.total, tv.Completions,
			orDash(oneLine(tv.Result, 40)), formatCreated(tv.Created))
	}
	tw.Flush()
}

// statusNames lists the statuses a task may have.
func statusNames() string {
	s := make([]string, len(api.Statuses))
	for i, x := range api.Statuses {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func runTask(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 && args[0] == "get" {
		return runTaskGet(ctx, e, args[1:])
	}
	const usage = "task ID [--json] [--gateway URL] | task get ID [--output DIR]"
	fs := newFlags(e, "task", usage)
	gw := gatewayFlag(fs)
	asJSON := fs.Bool("json", false, "print the task as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "task", usage, pos, "task ID"); code != 0 {
		return code
	}
	c, code := connect(e, "task", gw)
	if c == nil {
		return code
	}
	tv, err := c.Task(ctx, pos[0])
	if err != nil {
		return failed(e, "task", pos[0], err)
	}
	if *asJSON {
		_ = printJSON(e.stdout, tv)
		return 0
	}
	printTask(e, tv)
	return 0
}

// printTask prints a task's fields, the ones it sets, its runs, and its
// process trees when its runs spawned processes.
func printTask(e *env, tv api.Task) {
	tw := newTable(e.stdout)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	n := countRuns(tv)
	row("id", tv.ID)
	if tv.Description != "" {
		row("description", oneLine(tv.Description, 200))
	}
	row("status", string(tv.Status))
	row("runs", fmt.Sprintf("%d/%d done, %d running, completions %d", n.done, n.total, n.running, tv.Completions))
	row("module", "sha256:"+tv.Module)
	if tv.Input != nil {
		row("input", fmt.Sprint(*tv.Input))
	}
	if tv.Difficulty != nil {
		row("difficulty", fmt.Sprint(*tv.Difficulty))
	}
	if tv.Args != nil {
		row("args", fmt.Sprintf("%q", tv.Args))
	}
	if len(tv.Env) > 0 {
		row("env", strings.Join(tv.Env, " "))
	}
	row("timing", fmt.Sprintf("start %gs, delay %gs, time limit %gs a run", tv.Start, tv.Delay, tv.Duration))
	if tv.Memory != 0 {
		row("memory", api.FormatBytes(tv.Memory))
	}
	if tv.Cores != 0 {
		row("cores", fmt.Sprint(tv.Cores))
	}
	if tv.Fuel != 0 {
		row("fuel", fmt.Sprintf("at most %d a run", tv.Fuel))
	}
	row("retries", fmt.Sprint(tv.Retries))
	if tv.Priority != 0 {
		row("priority", fmt.Sprint(tv.Priority))
	}
	if len(tv.Labels) > 0 {
		row("labels", strings.Join(tv.Labels, ","))
	}
	if tv.Owner != "" {
		row("owner", tv.Owner)
	}
	row("created", formatCreated(tv.Created))
	row("result", orDash(oneLine(tv.Result, 200)))
	tw.Flush()
	fmt.Fprintln(e.stdout)
	printRuns(e.stdout, tv.Runs)
	if len(tv.Processes) > 0 {
		fmt.Fprintln(e.stdout)
		printProcesses(e.stdout, tv.Processes)
	}
}

func runCancel(ctx context.Context, e *env, args []string) int {
	const usage = "cancel ID [--purge] [--gateway URL]"
	fs := newFlags(e, "cancel", usage)
	gw := gatewayFlag(fs)
	purge := fs.Bool("purge", false, "delete the task with its runs, results and logs (canceled first if it has not ended)")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "cancel", usage, pos, "task ID"); code != 0 {
		return code
	}
	c, code := connect(e, "cancel", gw)
	if c == nil {
		return code
	}
	id := pos[0]
	if *purge {
		if err := c.Purge(ctx, id); err != nil {
			return failed(e, "cancel", id, err)
		}
		fmt.Fprintf(e.stdout, "%s purged\n", id)
		return 0
	}
	tv, err := c.Cancel(ctx, id)
	if errors.Is(err, api.ErrConflict) {
		if tv, err := c.Task(ctx, id); err == nil {
			return e.errorf("cancel: task %s has already ended (%s); there is nothing to cancel", id, tv.Status)
		}
	}
	if err != nil {
		return failed(e, "cancel", id, err)
	}
	fmt.Fprintf(e.stdout, "%s %s\n", tv.ID, tv.Status)
	return 0
}

func runWorkers(ctx context.Context, e *env, args []string) int {
	const usage = "workers [--json] [--gateway URL]"
	fs := newFlags(e, "workers", usage)
	gw := gatewayFlag(fs)
	asJSON := fs.Bool("json", false, "print the workers as a JSON array")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "workers", usage, pos); code != 0 {
		return code
	}
	c, code := connect(e, "workers", gw)
	if c == nil {
		return code
	}
	ws, err := c.Workers(ctx)
	if err != nil {
		return failed(e, "workers", "", err)
	}
	if *asJSON {
		if ws == nil {
			ws = []api.Worker{}
		}
		_ = printJSON(e.stdout, ws)
		return 0
	}
	if len(ws) == 0 {
		dial := "GATEWAY_PEER_ID"
		if info, err := c.Info(ctx); err == nil {
			dial = info.PeerID
		}
		fmt.Fprintf(e.stderr, "no workers at %s; start one with `shoal worker --dial %s`\n", c.URL(), dial)
		return 0
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "ID\tSLOTS\tMEMORY\tCORES\tLABELS\tRUNS")
	for _, w := range ws {
		mem := "-"
		if w.Memory != 0 {
			mem = api.FormatBytes(w.UsedMem) + " / " + api.FormatBytes(w.Memory)
		}
		slots := fmt.Sprintf("%d/%d", w.Used, w.Slots)
		if w.Waiting > 0 { // short runs sent ahead
			slots += fmt.Sprintf(" +%d", w.Waiting)
		}
		cores := "-"
		if w.Cores != 0 {
			cores = fmt.Sprintf("%g/%g", w.UsedCores, w.Cores)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", w.ID, slots, mem, cores, orDash(strings.Join(w.Labels, ",")), w.Runs)
	}
	tw.Flush()
	return 0
}
