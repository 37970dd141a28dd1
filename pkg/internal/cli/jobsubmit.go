package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
)

func runJobSubmit(ctx context.Context, e *env, args []string) int {
	const usage = "job submit JOB.json|- [--wait] [--json] [--gateway URL]"
	fs := newFlags(e, "job submit", usage)
	gw := gatewayFlag(fs)
	wait := fs.Bool("wait", false, "wait for the job to end, showing its steps as they change; exit 1 unless it succeeded")
	asJSON := fs.Bool("json", false, "print the job as JSON (with --wait: the ended job)")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "job submit", usage, pos, "JOB.json"); code != 0 {
		return code
	}
	req, err := readJob(e, pos[0])
	if err != nil {
		return e.errorf("job submit: %v", err)
	}
	c, code := connect(e, "job submit", gw)
	if c == nil {
		return code
	}
	j, err := c.SubmitJob(ctx, req)
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) && ae.Field != "" && !strings.HasPrefix(ae.Message, ae.Field) {
			return e.errorf("job submit: %s: %s: %s", pos[0], ae.Field, ae.Message)
		}
		return failed(e, "job submit", "", err)
	}
	switch {
	case *wait:
		return waitJob(ctx, e, c, j, *asJSON)
	case *asJSON:
		_ = printJSON(e.stdout, j)
	default:
		fmt.Fprintf(e.stdout, "%s %s\n", j.ID, j.Status)
	}
	return 0
}

// readJob reads a job request from a JSON file, or from stdin for "-".
// Unknown fields are refused here, as the gateway refuses them: decoding
// into api.JobRequest would otherwise drop a misspelt field unseen.
func readJob(e *env, path string) (api.JobRequest, error) {
	var req api.JobRequest
	var b []byte
	var err error
	if path == "-" {
		path = "stdin"
		b, err = io.ReadAll(e.stdin)
	} else {
		b, err = readInput(path)
	}
	if err != nil {
		return req, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("%s is not a job in JSON (docs/JOBS.md): %w", path, err)
	}
	if dec.More() {
		return req, fmt.Errorf("%s holds more than one JSON value; give one job", path)
	}
	return req, nil
}

// jobPoll is how long each poll of a job --wait follows waits at the
// gateway: the gateway answers at once when the job ends, else after it.
const jobPoll = 200 * time.Millisecond

// waitJob shows a submitted job's steps until it ends, then prints it.
// It exits 0 if the job succeeded.
func waitJob(ctx context.Context, e *env, c *client.Client, j api.Job, asJSON bool) int {
	v := newStepView(e.stderr)
	for {
		v.show(j)
		if j.Status.Done() {
			break
		}
		next, err := c.WaitJob(ctx, j.ID, jobPoll)
		if err != nil {
			v.clear()
			if errors.Is(err, context.Canceled) {
				return e.errorf("job submit: stopped waiting; job %s goes on (`shoal job %s` shows it, `shoal job cancel %s` stops it)", j.ID, j.ID, j.ID)
			}
			return jobFailed(e, "job submit", j.ID, err)
		}
		j = next
	}
	v.clear()
	if asJSON {
		_ = printJSON(e.stdout, j)
	} else {
		fmt.Fprintf(e.stdout, "job %s %s, %d/%d steps done\n", j.ID, j.Status, stepsDone(j), len(j.Steps))
		printSteps(e.stdout, j.Steps)
	}
	if j.Status != api.Succeeded {
		msg := j.Error
		if msg == "" {
			msg = "no error given"
		}
		return e.errorf("job %s %s: %s", j.ID, j.Status, oneLine(msg, 500))
	}
	return 0
}

// stepView shows a job's steps while they run. On a terminal it redraws a
// table of them in place; elsewhere (a file, a pipe, CI's log) it prints
// one line for each change of a step's status, so the log reads in order.
type stepView struct {
	w     io.Writer
	tty   bool
	lines int                   // tty: the lines of the table on screen
	seen  map[string]api.Status // not a tty: each step's status last told
	ended bool                  // not a tty: the job's end is told
}

func newStepView(w io.Writer) *stepView {
	return &stepView{w: w, tty: isTerminal(w), seen: map[string]api.Status{}}
}

func (v *stepView) show(j api.Job) {
	if !v.tty {
		v.changes(j)
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "job %s: %s, %d/%d steps done\n", j.ID, j.Status, stepsDone(j), len(j.Steps))
	printSteps(&b, j.Steps)
	v.clear()
	var out strings.Builder
	for line := range strings.Lines(b.String()) {
		out.WriteString("\033[K" + line)
		v.lines++
	}
	io.WriteString(v.w, out.String())
}

// clear erases the table from a terminal: the result is printed after it.
func (v *stepView) clear() {
	if v.tty && v.lines > 0 {
		fmt.Fprintf(v.w, "\033[%dA\r\033[J", v.lines)
		v.lines = 0
	}
}

// changes prints a line for each step whose status changed since the
// last call.
func (v *stepView) changes(j api.Job) {
	for _, s := range j.Steps {
		if v.seen[s.ID] == s.Status {
			continue
		}
		v.seen[s.ID] = s.Status
		line := fmt.Sprintf("%s: step %s %s", j.ID, safeText(s.ID), s.Status)
		if stepEnded(s.Status) && !s.Started.IsZero() {
			line += fmt.Sprintf(", exit %d, %s", s.ExitCode, span(s.Started, s.Ended))
		}
		if s.Error != "" {
			line += ": " + oneLine(s.Error, 200)
		}
		fmt.Fprintln(v.w, line)
	}
	if j.Status.Done() && !v.ended {
		v.ended = true
		fmt.Fprintf(v.w, "%s: %s\n", j.ID, j.Status)
	}
}
