package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/shoalmesh/shoal/pkg/api"
)

// parseForm reads a multipart/form-data task submission. Fields are read
// and checked as they come, by the field table of pkg/api; an unknown or
// repeated field is refused before the rest of the body is read.
func parseForm(r *http.Request) (api.TaskRequest, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return api.TaskRequest{}, api.Invalid("body", "must be multipart/form-data (curl -F), got Content-Type %q", ct)
	}
	body := newClosing(r.Body, params["boundary"])
	mr := multipart.NewReader(body, params["boundary"])
	vals := map[string][]string{}
	files := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			if !body.seen {
				return api.TaskRequest{}, api.Invalid("body", "ends before its closing boundary --%s--: a truncated upload, or parts with another boundary than the Content-Type names", params["boundary"])
			}
			break
		}
		if err != nil {
			return api.TaskRequest{}, bodyError(err)
		}
		name := p.FormName()
		f, known := api.TaskField(name)
		_, isFile := files[name]
		switch {
		case name == "":
			return api.TaskRequest{}, api.Invalid("body", "a multipart part has no form field name")
		case !known:
			return api.TaskRequest{}, api.Invalid(name, "unknown field")
		case (len(vals[name]) > 0 || isFile) && !f.Repeatable:
			return api.TaskRequest{}, api.Invalid(name, "given more than once")
		}
		if f.Kind == api.KindFile {
			b, err := io.ReadAll(p)
			if err != nil {
				return api.TaskRequest{}, bodyError(err)
			}
			files[name] = b
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, api.MaxField+1))
		if err != nil {
			return api.TaskRequest{}, bodyError(err)
		}
		if len(b) > api.MaxField {
			return api.TaskRequest{}, api.Invalid(name, "longer than %d bytes", api.MaxField)
		}
		vals[name] = append(vals[name], string(b))
	}
	return api.ParseTask(vals, files)
}

// bodyError keeps the upload limit and a slow body recognizable, and names
// the body otherwise.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	var slow *SlowBodyError
	if errors.As(err, &tooBig) || errors.As(err, &slow) {
		return err
	}
	return api.Invalid("body", "malformed multipart body: %v", err)
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
