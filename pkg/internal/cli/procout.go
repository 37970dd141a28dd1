package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// procOutput prints the log entries of a process tree (docs/PROCESSES.md)
// as `shoal run` shows them: whole lines, each prefixed with the pid of
// the process that wrote it ("[1] child start"), stdout to stdout, stderr
// to stderr. The gateway's own lines (stream "shoal": "Reserving resources
// for 1 on ...") go to stderr without a prefix, since they are not the
// process's output and name it themselves, dimmed on a colour terminal
// like shoal's own notes. Chunks of output end anywhere, and the
// processes of a tree write at once, so each (attempt, process, stream)
// keeps its unfinished line until its newline comes, or until flush.
//
// A job's output (shoal logs JOB) is prefixed with the step that wrote
// it, "[build] ", the same way.
//
// In simple mode it passes the output through as the module wrote it,
// without prefixes and without the gateway's lines.
type procOutput struct {
	stdout, stderr io.Writer
	escOut, escErr bool // escape control characters (safeText): a terminal
	dim            bool // dim the gateway's lines
	colorOut       bool // stdout shows colours too (stamps)
	simple         bool
	// stamps starts each line with its time, and colours the prefix on a
	// colour terminal (shoal cluster run); at is the time of the entry
	// being written.
	stamps bool
	at     time.Time

	partial map[streamKey][]byte
	order   []streamKey // the streams with an unfinished line, oldest first
}

// streamKey names one output stream of one process of one attempt, and
// of one step for a job's output.
type streamKey struct {
	attempt, process int
	step, stream     string
}

// maxPartial bounds an unfinished line: a longer one is printed in pieces
// of this size, so that output without newlines cannot grow the memory.
const maxPartial = 64 << 10

// The stream of the gateway's own lines (reservations of a process tree).
const streamShoal = "shoal"

// Select Graphic Rendition sequences: faint, and back to normal.
const (
	sgrDim   = "\x1b[2m"
	sgrReset = "\x1b[0m"
)

// newProcOutput prints to stdout and stderr, escaping control characters
// written to a terminal unless raw, and dimming the gateway's lines on a
// terminal that has colours.
func newProcOutput(stdout, stderr io.Writer, simple, raw bool) *procOutput {
	if simple {
		stdout, stderr = terminalOutput(stdout, raw), terminalOutput(stderr, raw)
	}
	return &procOutput{
		stdout: stdout, stderr: stderr,
		escOut:   !simple && !raw && isTerminal(stdout),
		escErr:   !simple && !raw && isTerminal(stderr),
		dim:      !simple && colorTerminal(stderr),
		colorOut: !simple && colorTerminal(stdout),
		simple:   simple,
	}
}

// colorTerminal reports whether w is a terminal that shows colours: not
// TERM=dumb, and no NO_COLOR (no-color.org).
func colorTerminal(w io.Writer) bool {
	return isTerminal(w) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// write prints the whole lines le completes.
func (p *procOutput) write(le api.LogEntry) error {
	if p.simple {
		if le.Stream == streamShoal {
			return nil
		}
		_, err := io.WriteString(p.writer(le.Stream), le.Data)
		return err
	}
	k := streamKey{le.Attempt, le.Process, le.Step, le.Stream}
	p.at = le.Time
	buf, held := p.partial[k]
	buf = append(buf, le.Data...)
	for {
		n := bytes.IndexByte(buf, '\n')
		if n < 0 || n > maxPartial {
			if len(buf) < maxPartial {
				break
			}
			n = maxPartial - incompleteTail(buf[:maxPartial]) // whole characters
		}
		if err := p.line(k, buf[:n]); err != nil {
			return err
		}
		if n < len(buf) && buf[n] == '\n' {
			n++
		}
		buf = buf[n:]
	}
	switch {
	case len(buf) == 0 && held:
		delete(p.partial, k)
	case len(buf) > 0 && !held:
		if p.partial == nil {
			p.partial = map[streamKey][]byte{}
		}
		p.order = append(p.order, k)
		fallthrough
	case len(buf) > 0:
		p.partial[k] = append([]byte(nil), buf...) // buf may share le.Data's or the old buffer's array
	}
	return nil
}

// flush prints every unfinished line, as a line.
func (p *procOutput) flush() error {
	p.at = time.Time{} // now
	for _, k := range p.order {
		if b, ok := p.partial[k]; ok {
			delete(p.partial, k)
			if err := p.line(k, b); err != nil {
				return err
			}
		}
	}
	p.order = nil
	return nil
}

func (p *procOutput) writer(stream string) io.Writer {
	if stream == "stdout" {
		return p.stdout
	}
	return p.stderr
}

// note prints a line of shoal's own on stderr, dimmed like the gateway's.
func (p *procOutput) note(text string) error { return p.noteAt(time.Now(), text) }

// noteAt is note of something that happened at t.
func (p *procOutput) noteAt(t time.Time, text string) error {
	if p.stamps {
		text = stampText(t) + text
	}
	if p.dim {
		text = sgrDim + text + sgrReset
	}
	_, err := fmt.Fprintln(p.stderr, text)
	return err
}

// line prints one line of stream k, without its newline.
func (p *procOutput) line(k streamKey, b []byte) error {
	text := string(b)
	if (k.stream == "stdout" && p.escOut) || (k.stream != "stdout" && p.escErr) {
		text = safeText(text)
	}
	if k.stream == streamShoal { // it names its process itself
		return p.note(text)
	}
	pre := prefix(k)
	if p.stamps {
		at := p.at
		if at.IsZero() {
			at = time.Now()
		}
		stamp := stampText(at)
		if p.streamColor(k.stream) {
			stamp = sgrDim + stamp + sgrReset
			pre = fmt.Sprintf("\x1b[%dm%s%s", 31+k.process%6, pre, sgrReset)
		}
		pre = stamp + pre
	}
	_, err := fmt.Fprintln(p.writer(k.stream), pre+text)
	return err
}

// streamColor reports whether stream's writer shows colours.
func (p *procOutput) streamColor(stream string) bool {
	if stream == "stdout" {
		return p.colorOut
	}
	return p.dim
}

// stampText is the time column of a line with stamps.
func stampText(t time.Time) string { return t.Local().Format("15:04:05.000") + " " }

// prefix names who wrote a line: "[3] " for process 3; for a job's step,
// "[build] ", or "[build:3] " for a process the step spawned.
func prefix(k streamKey) string {
	switch {
	case k.step == "":
		return "[" + strconv.Itoa(k.process) + "] "
	case k.process != 0:
		return "[" + safeText(k.step) + ":" + strconv.Itoa(k.process) + "] "
	}
	return "[" + safeText(k.step) + "] "
}
