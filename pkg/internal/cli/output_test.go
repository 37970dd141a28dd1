package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

func TestProgressLine(t *testing.T) {
	due := time.Date(2030, 1, 2, 3, 4, 5, 0, time.Local)
	runs := func(ss ...task.Status) []task.Run {
		out := make([]task.Run, len(ss))
		for i, s := range ss {
			out[i] = task.Run{Index: i, Status: s, Due: due.Add(time.Duration(i) * time.Second)}
		}
		return out
	}
	for _, tc := range []struct {
		tv   api.Task
		want string
	}{
		{api.Task{ID: "task1", Status: task.Running, Completions: 2, Runs: runs(task.Succeeded, task.Succeeded, task.Running)},
			"task1: 2/3 runs done, 1 running, completions 2"},
		{api.Task{ID: "q", Status: task.Queued, Runs: runs(task.Queued, task.Queued)},
			"q: 0/2 runs done, 0 running, completions 0, 2 waiting for a worker"},
		{api.Task{ID: "s", Status: task.Scheduled, Completions: 1, Runs: runs(task.Succeeded, task.Scheduled, task.Scheduled)},
			"s: 1/3 runs done, 0 running, completions 1, next run at 03:04:06"},
		{api.Task{ID: "f", Status: task.Failed, Runs: runs(task.Failed, task.Succeeded)},
			"f: 2/2 runs done, 0 running, completions 0, failed"},
		{api.Task{ID: "c", Status: task.Canceled, Runs: runs(task.Canceled)},
			"c: 1/1 runs done, 0 running, completions 0, canceled"},
	} {
		if got := progressLine(tc.tv); got != tc.want {
			t.Errorf("progressLine = %q, want %q", got, tc.want)
		}
	}
}

func TestProgress(t *testing.T) {
	t.Run("pipe: one line per change", func(t *testing.T) {
		var errOut, out bytes.Buffer
		p := newProgress(&errOut)
		p.show("a")
		p.show("a")
		_ = p.write(&out, "log\n")
		p.show("b")
		p.finish()
		if errOut.String() != "a\nb\n" || out.String() != "log\n" {
			t.Errorf("stderr %q, stdout %q", errOut.String(), out.String())
		}
	})
	t.Run("terminal: rewritten in place around output", func(t *testing.T) {
		var term bytes.Buffer // stdout and stderr on one terminal
		p := &progress{w: &term, tty: true}
		p.show("a")
		p.show("a")
		p.show("b")
		_ = p.write(&term, "log\n")
		_ = p.write(&term, "part")
		p.show("c")
		p.finish()
		want := clearLine + "a" + clearLine + "b" + clearLine + "log\n" + "b" + clearLine + "part" + "\n" + clearLine + "c" + "\n"
		if term.String() != want {
			t.Errorf("terminal got\n%q\nwant\n%q", term.String(), want)
		}
	})
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2832\n", "2832"},
		{"a\nb\n", "a..."},
		{"", ""},
		{strings.Repeat("x", 12), "xxxxxxxxxx..."},
		{"héllo wörld", "héllo wörl..."},
	} {
		if got := oneLine(tc.in, 10); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestShortPeer(t *testing.T) {
	if got := api.ShortPeer("12D3KooWRbjv5fxTUS2nPy9qy3F7TYFjpjntpy6f35Be3m2QK4PT"); got != "12*2QK4PT" {
		t.Errorf("shortPeer = %q", got)
	}
	if got := api.ShortPeer("w1"); got != "w1" {
		t.Errorf("api.ShortPeer(w1) = %q", got)
	}
}

func TestRunTable(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	printRuns(&b, []task.Run{
		{Index: 0, Status: task.Succeeded, Worker: "12D3KooWRbjv5fxTUS2nPy9qy3F7TYFjpjntpy6f35Be3m2QK4PT", Started: start, Ended: start.Add(1700 * time.Microsecond), Result: "2832\n", Fuel: 184220},
		{Index: 1, Attempt: 1, Status: task.Failed, Worker: "w2", Started: start, Ended: start.Add(12 * time.Second), ExitCode: 3, Error: "exit code 3"},
		{Index: 2, Status: task.Queued},
	})
	want := `RUN          WORKER     STATUS     EXIT  TIME   FUEL    RESULT
0            12*2QK4PT  succeeded  0     1.7ms  184220  2832
1 (retry 1)  w2         failed     3     12s    -       error: exit code 3
2            -          queued     -     -      -       -
`
	if b.String() != want {
		t.Errorf("runs table\n%s\nwant\n%s", b.String(), want)
	}
}
