package httpapi

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// FuzzParseForm feeds arbitrary field values and raw bodies to the form
// parser: it must never panic, and it either fails with a field error or
// returns a spec whose numbers are in range.
func FuzzParseForm(f *testing.F) {
	f.Add("start", "1", []byte("--b\r\n"))
	f.Add("repeats", "99999999999999999999", []byte{})
	f.Add("args", `["a","b"]`, []byte("garbage"))
	f.Add("memory", "64MiB", []byte("--b--"))
	f.Add("duration", "1e308", []byte(nil))
	f.Fuzz(func(t *testing.T, name, value string, raw []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField(name, value)
		mw.Close()
		for _, body := range []struct {
			ct   string
			data []byte
		}{{mw.FormDataContentType(), b.Bytes()}, {"multipart/form-data; boundary=b", raw}} {
			r := httptest.NewRequest(http.MethodPost, "/tasks", bytes.NewReader(body.data))
			r.Header.Set("Content-Type", body.ct)
			f, err := parseForm(r)
			if err != nil {
				if !errors.Is(err, task.ErrInvalid) {
					t.Fatalf("error %v is not a field error", err)
				}
				continue
			}
			s := f
			if s.Start < 0 || s.Delay < 0 || s.Duration < 0 || s.Repeats < 0 || s.Complete < 0 {
				t.Fatalf("negative value accepted: %+v", s)
			}
		}
	})
}

// FuzzParseBatch feeds arbitrary bodies to the batch parser: it must never
// panic, and it either fails with a field error or returns between 1 and
// MaxBatch specs, each naming a module, whose validation (which the
// gateway does next) fails, if at all, with a field error.
func FuzzParseBatch(f *testing.F) {
	mod := `"sha256:` + string(bytes.Repeat([]byte("ab"), 32)) + `"`
	f.Add([]byte(`[{"module": ` + mod + `, "input": 1}]`))
	f.Add([]byte(`{"defaults": {"module": ` + mod + `, "duration": 2}, "tasks": [{"timeout": 1}, {"args": ["a", "[b"]}]}`))
	f.Add([]byte(`[null, {}, [], 5]`))
	f.Add([]byte(`{"tasks": [{"env": ["K=V"], "labels": [1, "x"], "stdin": "in"}]} trailing`))
	f.Add([]byte(`   [`))
	f.Fuzz(func(t *testing.T, body []byte) {
		specs, err := parseBatch(bytes.NewReader(body))
		if err != nil {
			var fe *api.Error
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error %v is not a field error", err)
			}
			return
		}
		if len(specs) == 0 || len(specs) > MaxBatch {
			t.Fatalf("%d specs", len(specs))
		}
		for i, r := range specs {
			if len(r.Module) != 64 {
				t.Fatalf("spec %d: module %q", i, r.Module)
			}
			s := specOf(&r, "")
			s.ID = "x"
			if err := s.Validate(); err != nil {
				var fe *api.Error
				if !errors.As(err, &fe) || fe.Field == "" {
					t.Fatalf("spec %d: %v", i, err)
				}
			}
		}
	})
}

// FuzzDecodeJob feeds arbitrary bodies to POST /jobs's decoder: it never
// panics, every error is a field error, and a job it reads has the steps
// the body listed.
func FuzzDecodeJob(f *testing.F) {
	f.Add([]byte(`{"name": "n", "steps": [{"module": "m", "timeout": "1m", "memory": "64MiB", "needs": []}]}`))
	f.Add([]byte(`{"steps": [{"module": "m"}, {"module": "m", "args": "x"}]}`))
	f.Add([]byte(`{"steps": null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeJob(bytes.NewReader(body))
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Code != api.CodeInvalid || ae.Field == "" {
				t.Fatalf("error %v is not a field error", err)
			}
			return
		}
		for _, st := range req.Steps {
			if st.Timeout < 0 {
				t.Fatalf("a negative timeout: %+v", st)
			}
		}
	})
}
