package cli

import (
	"bytes"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
)

func TestProcOutputWholeLines(t *testing.T) {
	out := func(pid int, data string) api.LogEntry {
		return api.LogEntry{Process: pid, Stream: "stdout", Data: data}
	}
	errs := func(pid int, data string) api.LogEntry {
		return api.LogEntry{Process: pid, Stream: "stderr", Data: data}
	}
	gw := func(pid int, data string) api.LogEntry {
		return api.LogEntry{Process: pid, Stream: "shoal", Data: data}
	}
	for _, tc := range []struct {
		name           string
		simple, dim    bool
		entries        []api.LogEntry
		stdout, stderr string
	}{
		{name: "whole lines", entries: []api.LogEntry{out(0, "parent start\n"), out(1, "child start\nchild end\n")},
			stdout: "[0] parent start\n[1] child start\n[1] child end\n"},
		{name: "a line split between chunks", entries: []api.LogEntry{out(0, "par"), out(0, "ent "), out(0, "start\nnext")},
			stdout: "[0] parent start\n[0] next\n"},
		{name: "processes' partial lines kept apart",
			entries: []api.LogEntry{out(0, "parent "), out(1, "child "), out(0, "line\n"), out(1, "line\n")},
			stdout:  "[0] parent line\n[1] child line\n"},
		{name: "streams kept apart", entries: []api.LogEntry{out(2, "to out "), errs(2, "to err "), errs(2, "done\n"), out(2, "done\n")},
			stdout: "[2] to out done\n", stderr: "[2] to err done\n"},
		{name: "attempts kept apart",
			entries: []api.LogEntry{out(0, "lost "), {Attempt: 1, Stream: "stdout", Data: "again\n"}},
			stdout:  "[0] again\n[0] lost \n"},
		{name: "partial lines flushed in the order they began", entries: []api.LogEntry{out(3, "c"), out(1, "a"), errs(2, "b")},
			stdout: "[3] c\n[1] a\n", stderr: "[2] b\n"},
		{name: "empty lines", entries: []api.LogEntry{out(0, "\n\nx\n")}, stdout: "[0] \n[0] \n[0] x\n"},
		{name: "gateway lines", entries: []api.LogEntry{gw(1, "Reserving resources for 1 (before: cores=2)\n")},
			stderr: "Reserving resources for 1 (before: cores=2)\n"},
		{name: "gateway lines dimmed", dim: true, entries: []api.LogEntry{gw(1, "Releasing resources for 1\n"), out(1, "x\n")},
			stdout: "[1] x\n", stderr: "\x1b[2mReleasing resources for 1\x1b[0m\n"},
		{name: "simple", simple: true, entries: []api.LogEntry{out(0, "a"), gw(1, "Reserving\n"), out(1, "b\n"), errs(0, "e")},
			stdout: "ab\n", stderr: "e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			p := newProcOutput(&stdout, &stderr, tc.simple, false)
			p.dim = tc.dim
			for _, le := range tc.entries {
				if err := p.write(le); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.flush(); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tc.stdout || stderr.String() != tc.stderr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", stdout.String(), stderr.String(), tc.stdout, tc.stderr)
			}
		})
	}
}

// A line longer than maxPartial is printed in pieces, cut between
// characters, and none of the data is lost.
func TestProcOutputLongLine(t *testing.T) {
	var stdout bytes.Buffer
	p := newProcOutput(&stdout, io.Discard, false, false)
	long := strings.Repeat("é", maxPartial) // two bytes each: a piece boundary falls inside one unless cut before it
	for chunk := range slices.Chunk([]byte("x"+long+"\n"), 1000) {
		if err := p.write(api.LogEntry{Stream: "stdout", Data: string(chunk)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.partial) != 0 {
		t.Errorf("%d unfinished lines held after the newline", len(p.partial))
	}
	got := strings.ReplaceAll(stdout.String(), "\n[0] ", "")
	if got != "[0] x"+long+"\n" {
		t.Errorf("the pieces do not make the line: %d bytes", len(got))
	}
	for line := range strings.Lines(stdout.String()) {
		if len(line) > maxPartial+len("[0] \n") || strings.ContainsRune(line, '\uFFFD') {
			t.Errorf("a piece of %d bytes, or cut inside a character", len(line))
		}
	}
}

func TestParseDashes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"app.wasm", "a", "--id", "x", "b"}, []string{"app.wasm", "a", "b"}},
		{[]string{"app.wasm", "--", "-v", "--id", "y"}, []string{"app.wasm", "-v", "--id", "y"}},
		{[]string{"--", "-app.wasm"}, []string{"-app.wasm"}},
		{[]string{"--id", "x", "--", "-v"}, []string{"-v"}},
		{[]string{"--simple", "--", "-v"}, []string{"-v"}},
		{[]string{"--id=x", "--", "-v"}, []string{"-v"}},
		{[]string{"--description", "--", "app.wasm"}, []string{"app.wasm"}},
		{[]string{"--priority", "-5", "--", "-v"}, []string{"-v"}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.String("id", "", "")
		fs.String("description", "", "")
		fs.Int("priority", 0, "")
		fs.Bool("simple", false, "")
		got, err := parse(fs, tc.args)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parse(%q) = %q, %v; want %q", tc.args, got, err, tc.want)
		}
	}
}
