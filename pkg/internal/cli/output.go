package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// defaultGateway is the API address `shoal gateway` listens on by default.
const defaultGateway = "http://127.0.0.1:8080"

// usageError reports a wrong command line and returns its exit code, 2.
func usageError(e *env, cmd, usage, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "shoal: %s: %s: usage: shoal %s\n", cmd, fmt.Sprintf(format, args...), usage)
	return 2
}

// positionals checks that exactly the names in want were given.
func positionals(e *env, cmd, usage string, pos []string, want ...string) int {
	switch {
	case len(pos) < len(want):
		return usageError(e, cmd, usage, "missing %s", want[len(pos)])
	case len(pos) > len(want):
		return usageError(e, cmd, usage, "unexpected argument %q", pos[len(want)])
	}
	return 0
}

// failed reports an error of a call to the gateway about task id (empty
// when the call is about no task) and returns exit code 1.
func failed(e *env, cmd, id string, err error) int {
	switch {
	case errors.Is(err, api.ErrNotFound) && id != "":
		return e.errorf("task %s not found; `shoal tasks` lists the tasks", id)
	case errors.Is(err, context.Canceled):
		return e.errorf("%s: interrupted", cmd)
	case errors.Is(err, api.ErrNoSpace):
		return e.errorf("%s: %v (to make space, free some on the disk of the gateway's --data directory: the gateway then takes work again by itself)", cmd, err)
	}
	return e.errorf("%s: %v", cmd, err)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// runCounts counts a task's runs by where they stand.
type runCounts struct{ done, running, queued, total int }

func countRuns(tv api.Task) runCounts {
	c := runCounts{total: len(tv.Runs)}
	for _, r := range tv.Runs {
		switch {
		case r.Status.Done():
			c.done++
		case r.Status == task.Running:
			c.running++
		case r.Status == task.Queued:
			c.queued++
		}
	}
	return c
}

// progressLine is the one-line summary shown while waiting for a task.
func progressLine(tv api.Task) string {
	c := countRuns(tv)
	line := fmt.Sprintf("%s: %d/%d runs done, %d running, completions %d", tv.ID, c.done, c.total, c.running, tv.Completions)
	switch {
	case tv.Status.Done():
		line += ", " + string(tv.Status)
	case c.queued > 0:
		line += fmt.Sprintf(", %d waiting for a worker", c.queued)
	case c.running == 0:
		if next, ok := nextDue(tv); ok {
			line += ", next run at " + next.Local().Format(time.TimeOnly)
		}
	}
	return line
}

func nextDue(tv api.Task) (time.Time, bool) {
	var next time.Time
	for _, r := range tv.Runs {
		if r.Status == task.Scheduled && (next.IsZero() || r.Due.Before(next)) {
			next = r.Due
		}
	}
	return next, !next.IsZero()
}

// progress shows a progress line on w: rewritten in place on a terminal,
// else one line per change. Output written through it keeps the line intact.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	last    string
	shown   bool // tty: the last line is on screen, the cursor after it
	partial bool // tty: output without its final newline is on screen
}

func newProgress(w io.Writer) *progress { return &progress{w: w, tty: isTerminal(w)} }

const clearLine = "\r\033[K"

func (p *progress) show(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if line == p.last && (p.shown || !p.tty) {
		return
	}
	p.last = line
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	if p.partial {
		fmt.Fprintln(p.w) // keep the unfinished output line; clearing would erase it
		p.partial = false
	}
	fmt.Fprint(p.w, clearLine+line)
	p.shown = true
}

// write writes data to w (stdout or stderr) without mixing it into the
// progress line.
func (p *progress) write(w io.Writer, data string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, clearLine)
		p.shown = false
	}
	if _, err := io.WriteString(w, data); err != nil {
		return err
	}
	if !p.tty || data == "" {
		return nil
	}
	if strings.HasSuffix(data, "\n") {
		p.partial = false
		fmt.Fprint(p.w, p.last)
		p.shown = true
		return nil
	}
	p.partial = underlying(w) == p.w || isTerminal(w)
	return nil
}

// finish leaves the last line on screen and moves past it.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown || p.partial {
		fmt.Fprintln(p.w)
		p.shown, p.partial = false, false
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := underlying(w).(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printRuns prints a table of a task's runs.
func printRuns(w io.Writer, runs []task.Run) {
	tw := newTable(w)
	fmt.Fprintln(tw, "RUN\tWORKER\tSTATUS\tEXIT\tTIME\tFUEL\tRESULT")
	for _, r := range runs {
		idx := strconv.Itoa(r.Index)
		if r.Attempt > 0 {
			idx += fmt.Sprintf(" (retry %d)", r.Attempt)
		}
		exit := "-"
		if !r.Ended.IsZero() && !r.Started.IsZero() {
			exit = strconv.Itoa(int(r.ExitCode))
		}
		fuel := "-"
		if r.Fuel > 0 {
			fuel = strconv.FormatUint(r.Fuel, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", idx, orDash(api.ShortPeer(r.Worker)), r.Status, exit, runTime(r), fuel, runResult(r))
	}
	tw.Flush()
}

// runResult is a run's result, or its error, on one line.
func runResult(r task.Run) string {
	if r.Error != "" {
		return "error: " + oneLine(r.Error, 120)
	}
	s := oneLine(r.Result, 60)
	if r.Truncated {
		s += " (truncated)"
	}
	return orDash(s)
}

// runTime is how long a run took, or how long it has been running.
func runTime(r task.Run) string {
	switch {
	case r.Started.IsZero():
		return "-"
	case r.Ended.IsZero():
		return "running " + formatDuration(time.Since(r.Started))
	}
	return formatDuration(r.Ended.Sub(r.Started))
}

func formatDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// oneLine returns s without its final newline, cut at its first other
// newline or after max characters.
// oneLine is s on one line of a table, at most max characters, with its
// control characters escaped (safeText): table fields come from modules
// and submitters, and a terminal obeys escape sequences.
func oneLine(s string, max int) string {
	s = strings.TrimRight(s, "\r\n")
	cut := false
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s, cut = s[:i], true
	}
	if r := []rune(s); len(r) > max {
		s, cut = string(r[:max]), true
	}
	if cut {
		s += "..."
	}
	return safeText(s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatCreated(t time.Time) string { return t.Local().Format(time.DateTime) }
