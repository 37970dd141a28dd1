package httpapi

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// maxField bounds a text field of the form; files (wasm, stdin) are bounded
// by the upload limit only.
const maxField = 64 << 10

// form is a parsed POST /tasks body: the spec without its module, and the
// module as uploaded bytes or as a named hash.
type form struct {
	spec   task.Spec
	wasm   []byte // uploaded module, if any
	module string // module=sha256:HEX, if given
}

// repeatable fields may be given more than once; every other field once.
var repeatable = map[string]bool{"args": true, "env": true, "labels": true, "dirs": true}

var known = map[string]bool{
	"id": true, "description": true, "complete": true, "duration": true, "start": true,
	"delay": true, "repeats": true, "wasm": true, "module": true, "input": true,
	"difficulty": true, "args": true, "env": true, "stdin": true, "memory": true,
	"timeout": true, "retries": true, "priority": true, "labels": true, "dirs": true,
}

// parseForm reads a multipart/form-data task submission.
func parseForm(r *http.Request) (*form, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, task.Invalid("body", "must be multipart/form-data (curl -F), got Content-Type %q", ct)
	}
	body := newClosing(r.Body, params["boundary"])
	mr := multipart.NewReader(body, params["boundary"])
	vals := map[string][]string{}
	f := &form{}
	var files map[string][]byte
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			if !body.seen {
				return nil, task.Invalid("body", "ends before its closing boundary --%s--: a truncated upload, or parts with another boundary than the Content-Type names", params["boundary"])
			}
			break
		}
		if err != nil {
			return nil, bodyError(err)
		}
		name := p.FormName()
		switch {
		case name == "":
			return nil, task.Invalid("body", "a multipart part has no form field name")
		case !known[name]:
			return nil, task.Invalid(name, "unknown field")
		case len(vals[name]) > 0 && !repeatable[name]:
			return nil, task.Invalid(name, "given more than once")
		}
		if name == "wasm" || name == "stdin" {
			b, err := io.ReadAll(p)
			if err != nil {
				return nil, bodyError(err)
			}
			if files == nil {
				files = map[string][]byte{}
			}
			files[name] = b
			vals[name] = append(vals[name], "")
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, maxField+1))
		if err != nil {
			return nil, bodyError(err)
		}
		if len(b) > maxField {
			return nil, task.Invalid(name, "longer than %d bytes", maxField)
		}
		vals[name] = append(vals[name], string(b))
	}
	f.wasm = files["wasm"]
	f.spec.Stdin = files["stdin"]
	if err := f.fill(vals); err != nil {
		return nil, err
	}
	return f, nil
}

// bodyError keeps the upload limit recognizable and names the body otherwise.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	return task.Invalid("body", "malformed multipart body: %v", err)
}

func (f *form) fill(v map[string][]string) error {
	s := &f.spec
	one := func(name string) (string, bool) {
		if xs := v[name]; len(xs) > 0 {
			return xs[0], true
		}
		return "", false
	}
	s.ID, _ = one("id")
	s.Description, _ = one("description")
	var err error
	if x, ok := one("complete"); ok {
		if s.Complete, err = parseInt("complete", x, 0, math.MaxInt64); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"duration", &s.Duration}, {"start", &s.Start}, {"delay", &s.Delay}, {"timeout", &s.Duration}} {
		x, ok := one(d.name)
		if !ok {
			continue
		}
		if d.name == "timeout" && v["duration"] != nil {
			return task.Invalid("timeout", "give either duration or timeout, not both")
		}
		if *d.dst, err = parseSeconds(d.name, x); err != nil {
			return err
		}
	}
	if x, ok := one("repeats"); ok {
		n, err := parseInt("repeats", x, 1, task.MaxRepeats)
		if err != nil {
			return err
		}
		s.Repeats = int(n)
	}
	for _, d := range []struct {
		name string
		dst  **int64
	}{{"input", &s.Input}, {"difficulty", &s.Difficulty}} {
		if x, ok := one(d.name); ok {
			n, err := parseInt(d.name, x, math.MinInt64, math.MaxInt64)
			if err != nil {
				return err
			}
			*d.dst = &n
		}
	}
	if x, ok := one("module"); ok {
		h, found := strings.CutPrefix(strings.TrimSpace(x), "sha256:")
		if _, err := hex.DecodeString(h); !found || len(h) != 64 || err != nil {
			return task.Invalid("module", "must be sha256:HEX (64 hex digits) of a module uploaded before, got %q", x)
		}
		if v["wasm"] != nil {
			return task.Invalid("module", "give either a wasm upload or module=sha256:HEX, not both")
		}
		f.module = strings.ToLower(h)
	}
	if xs, ok := v["args"]; ok {
		if s.Args, err = parseArgs(xs); err != nil {
			return err
		}
	}
	s.Env = v["env"]
	if x, ok := one("memory"); ok {
		if s.Memory, err = parseBytes("memory", x); err != nil {
			return err
		}
	}
	if x, ok := one("retries"); ok {
		n, err := parseInt("retries", x, 0, task.MaxRetries)
		if err != nil {
			return err
		}
		r := int(n)
		s.Retries = &r
	}
	if x, ok := one("priority"); ok {
		n, err := parseInt("priority", x, -1000, 1000)
		if err != nil {
			return err
		}
		s.Priority = int(n)
	}
	s.Labels = splitList(v["labels"])
	// Validate adds the dirs' placement labels, whatever path the task takes.
	s.Dirs = splitList(v["dirs"])
	return nil
}

// splitList reads a field given repeatedly, or comma-separated, or both;
// blank entries are dropped, and no entry at all is nil.
func splitList(xs []string) []string {
	var out []string
	for _, x := range xs {
		for e := range strings.SplitSeq(x, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

func parseInt(field, x string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	var ne *strconv.NumError
	switch {
	case errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange):
		return 0, task.Invalid(field, "%q is out of range", x)
	case err != nil:
		return 0, task.Invalid(field, "%q is not an integer", x)
	case n < lo && lo == 0:
		return 0, task.Invalid(field, "must not be negative, got %d", n)
	case n < lo || n > hi:
		return 0, task.Invalid(field, "must be between %d and %d, got %d", lo, hi, n)
	}
	return n, nil
}

// parseSeconds reads a non-negative number of seconds, fractions allowed.
func parseSeconds(field, x string) (time.Duration, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		return 0, task.Invalid(field, "%q is not a number of seconds", x)
	case f < 0:
		return 0, task.Invalid(field, "must not be negative, got %s", x)
	case f > task.MaxSeconds:
		return 0, task.Invalid(field, "must be at most %d seconds", task.MaxSeconds)
	case f > 0 && f < 0.001:
		return 0, task.Invalid(field, "must be 0 or at least 0.001 seconds, got %s", x)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// parseBytes is task.ParseBytes with an error that names the field.
func parseBytes(field, x string) (uint64, error) {
	n, err := task.ParseBytes(x)
	if err != nil {
		return 0, task.Invalid(field, "%v", err)
	}
	return n, nil
}

// parseArgs accepts one JSON array of strings, or the field repeated with
// one argument each.
func parseArgs(xs []string) ([]string, error) {
	if len(xs) == 1 && strings.HasPrefix(strings.TrimSpace(xs[0]), "[") {
		var out []string
		if err := json.Unmarshal([]byte(xs[0]), &out); err != nil {
			return nil, task.Invalid("args", "not a JSON array of strings: %v", err)
		}
		if out == nil {
			out = []string{}
		}
		return out, nil
	}
	return xs, nil
}

// closing watches a multipart body for its closing delimiter, so that a
// body cut short is told from a complete one: the multipart reader reports
// both as io.EOF.
type closing struct {
	r    io.Reader
	term []byte // "\n--BOUNDARY--"
	tail []byte // the last bytes read, to match across reads
	seen bool
}

func newClosing(r io.Reader, boundary string) *closing {
	// The tail starts with a newline, so a body that is only the closing
	// delimiter matches too.
	return &closing{r: r, term: []byte("\n--" + boundary + "--"), tail: []byte("\n")}
}

func (c *closing) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 && !c.seen {
		buf := append(c.tail, p[:n]...)
		c.seen = bytes.Contains(buf, c.term)
		keep := min(len(buf), len(c.term)-1)
		c.tail = append(c.tail[:0:0], buf[len(buf)-keep:]...)
	}
	return n, err
}
