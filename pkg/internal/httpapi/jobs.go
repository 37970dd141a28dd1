package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// checkJob returns nil when r may see job id (see checkOwner); a task
// that is not a job, another owner's job and no job at all are one error.
func (s *Server) checkJob(r *http.Request, id string) error {
	err := s.checkOwner(r, id)
	if err == nil {
		_, err = s.r.Job(id)
	}
	if errors.Is(err, sched.ErrNotFound) {
		return api.Errorf(api.CodeNotFound, "job not found: %s", id)
	}
	return err
}

// postJob takes a job as JSON (api.JobRequest); unknown fields are
// refused, so that a misspelt one is not silently ignored.
func (s *Server) postJob(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			s.fail(w, r, api.Invalid("body", "Content-Type %q: a job is JSON (application/json)", ct))
			return
		}
	}
	req, err := decodeJob(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j, err := s.g.SubmitJob(req, ownerOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/jobs/"+j.ID)
	writeJSON(w, http.StatusCreated, j)
}

// decodeJob reads a job request, its steps one by one so that an error
// names its step ("steps[2].memory").
func decodeJob(body io.Reader) (api.JobRequest, error) {
	var raw struct {
		api.JobRequest
		Steps []json.RawMessage `json:"steps"` // over the request's own
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return api.JobRequest{}, jsonError(err)
	}
	if dec.More() {
		return api.JobRequest{}, api.Invalid("body", "one JSON object, and nothing after it")
	}
	req := raw.JobRequest
	req.Steps = make([]api.StepRequest, len(raw.Steps))
	for i, b := range raw.Steps {
		sd := json.NewDecoder(bytes.NewReader(b))
		sd.DisallowUnknownFields()
		if err := sd.Decode(&req.Steps[i]); err != nil {
			var ae *api.Error
			if errors.As(jsonError(err), &ae) && ae.Field != "body" {
				return api.JobRequest{}, ae.Under(fmt.Sprintf("steps[%d]", i))
			}
			return api.JobRequest{}, api.Invalid(fmt.Sprintf("steps[%d]", i), "%v", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if raw.Steps == nil {
		req.Steps = nil
	}
	return req, nil
}

// jsonError is a body that does not decode, as an error naming its field.
func jsonError(err error) error {
	var me *http.MaxBytesError
	if errors.As(err, &me) {
		return bodyError(err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return api.Invalid(te.Field, "want a %s, got a JSON %s", te.Type, te.Value)
	}
	return api.Invalid("body", "not a job in JSON: %v", err)
}

// listJobs serves one page of the job list, newest first unless
// ?order=asc, with the paging of GET /tasks.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	q, pq, ok := s.pageOf(w, r, "job")
	if !ok {
		return
	}
	page, next, rev, err := s.r.JobPage(pq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.paged(w, r, q, "/jobs", next, rev)
	writeJSON(w, http.StatusOK, page)
}

// getJob returns a job with its steps; with ?wait=S it first waits up to
// S for the job to end.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.checkJob(r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel, wait, ok := s.waitOf(w, r)
	if !ok {
		return
	}
	defer cancel()
	var j api.Job
	var err error
	if wait {
		j, err = s.g.WaitJob(ctx, id)
	} else {
		j, err = s.r.Job(id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.checkJob(r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	j, err := s.g.CancelJob(id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) jobLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.checkJob(r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.logs(w, r, id, func() (any, error) { return s.r.Job(id) }, func(entries []task.LogEntry, done bool) any {
		return api.JobLogs{Job: id, Done: done, Entries: entries}
	})
}

func (s *Server) jobFiles(w http.ResponseWriter, r *http.Request) {
	s.files(w, r, s.checkJob)
}

func (s *Server) taskFiles(w http.ResponseWriter, r *http.Request) {
	s.files(w, r, s.checkOwner)
}

// files lists the artifacts of a job or a task that check lets r see.
func (s *Server) files(w http.ResponseWriter, r *http.Request, check func(*http.Request, string) error) {
	id := r.PathValue("id")
	if err := check(r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	files, err := s.r.Files(id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if files == nil {
		files = []api.File{}
	}
	writeJSON(w, http.StatusOK, files)
}

func (s *Server) jobFile(w http.ResponseWriter, r *http.Request) {
	s.file(w, r, s.checkJob)
}

func (s *Server) taskFile(w http.ResponseWriter, r *http.Request) {
	s.file(w, r, s.checkOwner)
}

// file serves one artifact's bytes, with its sha256 as the ETag.
func (s *Server) file(w http.ResponseWriter, r *http.Request, check func(*http.Request, string) error) {
	id := r.PathValue("id")
	if err := check(r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	f, data, err := s.r.File(id, r.PathValue("path"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("ETag", `"`+f.SHA256+`"`)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(f.Path)}))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// moduleNames lists the names given to modules, by name.
func (s *Server) moduleNames(w http.ResponseWriter, r *http.Request) {
	names, err := s.r.ModuleNames()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.ModuleName, 0, len(names))
	for n, h := range names {
		out = append(out, api.ModuleName{Name: n, SHA256: h})
	}
	slices.SortFunc(out, func(a, b api.ModuleName) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	writeJSON(w, http.StatusOK, out)
}
