package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// listTasks serves one page of the task list (see api/page.go). A request
// whose If-None-Match holds the current revision's ETag is answered 304
// without taking the dispatch lock: nothing changed since its page.
func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	q, pq, ok := s.pageOf(w, r, "task")
	if !ok {
		return
	}
	page, next, rev, err := s.r.TaskPage(pq, runsOf(q.Runs))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.paged(w, r, q, "/tasks", next, rev)
	out := make([]api.Task, len(page))
	for i, t := range page {
		out[i] = viewOf(t, s.r.TaskTimeout())
	}
	writeJSON(w, http.StatusOK, out)
}

// pageOf reads the query of a page of a list of kind (tasks or jobs): it
// answers the request itself, and returns false, when the query is bad or
// nothing changed since the page its If-None-Match names.
func (s *Server) pageOf(w http.ResponseWriter, r *http.Request, kind string) (api.TaskQuery, sched.PageQuery, bool) {
	q, err := api.ParseTaskQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return q, sched.PageQuery{}, false
	}
	after, ok := decodeCursor(q.After)
	if !ok {
		s.fail(w, r, api.Invalid(api.ParamAfter, "%q is not a cursor of this gateway's %s list: pass back the %s of the page before", q.After, kind, api.HeaderNextCursor))
		return q, sched.PageQuery{}, false
	}
	if notModified(w, r, s.r.Revision()) {
		return q, sched.PageQuery{}, false
	}
	return q, sched.PageQuery{
		After: after, Asc: q.Order == api.OrderAsc, Limit: q.Limit,
		Match: statusIn(q.Status), Budget: api.ScanBudget, Owner: scopeOf(r),
	}, true
}

// paged sets the headers of a page of the list at path: its revision,
// and the next page's cursor and link unless it is the last.
func (s *Server) paged(w http.ResponseWriter, r *http.Request, q api.TaskQuery, path string, next, rev uint64) {
	setRevision(w, r, rev)
	if next != 0 {
		q.After = encodeCursor(next)
		w.Header().Set(api.HeaderNextCursor, q.After)
		w.Header().Set("Link", "<"+path+"?"+q.Values().Encode()+`>; rel="next"`)
	}
}

// getTask returns a task with its latest runs (?runs=N, else up to
// api.DefaultRuns); with ?wait=S it first waits up to S seconds for the
// task to end.
func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	runs, err := api.ParseRuns(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkOwner(r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel, wait, ok := s.waitOf(w, r)
	if !ok {
		return
	}
	defer cancel()
	var t task.Task
	var rev uint64
	if wait {
		rev = s.g.Revision() // before: the task is at least this new
		t, err = s.g.WaitRuns(ctx, id, runsOf(runs))
	} else {
		t, rev, err = s.r.TaskRuns(id, runsOf(runs))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setRevision(w, r, rev)
	w.Header().Set(api.HeaderRunsTotal, strconv.Itoa(t.Spec.RunCount()))
	writeJSON(w, http.StatusOK, viewOf(t, s.r.TaskTimeout()))
}

// waitOf reads ?wait= of a request for a task or a job: wait says it is
// given, and ctx ends when the wait does (at most maxWait); a bad value is
// answered here, and ok is false.
func (s *Server) waitOf(w http.ResponseWriter, r *http.Request) (ctx context.Context, cancel context.CancelFunc, wait, ok bool) {
	x := r.URL.Query().Get("wait")
	if x == "" {
		return r.Context(), func() {}, false, true
	}
	d, err := api.ParseSecondsField("wait", x)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false, false
	}
	ctx, cancel = context.WithTimeout(r.Context(), min(d, maxWait))
	return ctx, cancel, true, true
}

// runsOf is how many runs a task's view holds when asked for runs.
func runsOf(runs *int) int {
	if runs == nil {
		return api.DefaultRuns // all of a task with fewer
	}
	return *runs
}

// latest is the last n of runs.
func latest(runs []task.Run, n int) []task.Run {
	return runs[len(runs)-min(n, len(runs)):]
}

// statusIn matches the statuses given; nil when none are.
func statusIn(st []api.Status) func(task.Status) bool {
	if len(st) == 0 {
		return nil
	}
	return func(s task.Status) bool { return slices.Contains(st, s) }
}

// setRevision tells the revision an answer is of, also as its ETag.
func setRevision(w http.ResponseWriter, r *http.Request, rev uint64) {
	w.Header().Set(api.HeaderRevision, strconv.FormatUint(rev, 10))
	w.Header().Set("ETag", etag(r, rev))
	w.Header().Set("Cache-Control", "no-cache") // a cache asks again, with the ETag
}

// etag is the revision and a hash of what r asks for (its path and
// query): an ETag is good only for the answer it came with, and a client
// that sends one stored for another page must not get a 304.
func etag(r *http.Request, rev uint64) string {
	h := fnv.New32a()
	h.Write([]byte(r.URL.Path + "?" + r.URL.Query().Encode())) // Encode sorts the keys
	return fmt.Sprintf(`"%d-%08x"`, rev, h.Sum32())
}

// notModified answers 304 when r's If-None-Match names revision rev.
func notModified(w http.ResponseWriter, r *http.Request, rev uint64) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" {
		return false
	}
	tag := etag(r, rev)
	for _, x := range strings.Split(inm, ",") {
		x = strings.TrimPrefix(strings.TrimSpace(x), "W/")
		if x == tag || x == "*" {
			setRevision(w, r, rev)
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

// A cursor is the sequence of the last task a page looked at, as a
// uvarint in base64url: opaque to clients, which only pass it back.
func encodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString(binary.AppendUvarint(nil, seq))
}

// decodeCursor reads a cursor; "" is 0, the first page.
func decodeCursor(c string) (uint64, bool) {
	if c == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) > binary.MaxVarintLen64 {
		return 0, false
	}
	seq, n := binary.Uvarint(b)
	return seq, n == len(b) && seq > 0
}
