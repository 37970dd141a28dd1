package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi/dashboard"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Config bounds what clients may send, and says who may.
type Config struct {
	MaxUpload int64 // bytes of one request body
	// BodyIdle is the longest a request body may go without a byte, and
	// the slack of BodyRate; 0 turns both off.
	BodyIdle time.Duration
	// BodyRate is the slowest a request body may come on average, in
	// bytes a second (see slowBody); 0 leaves only BodyIdle.
	BodyRate int64
	// Tokens, when set, are the bearer tokens every request must carry
	// (SetTokens replaces them); nil leaves the API open to anyone who can
	// reach it.
	Tokens *Tokens
	// Members, on the leader of a replicated group (docs/HA.md), changes
	// the group's members; nil for a gateway that runs alone.
	Members Membership
	// Leads, on a member of a replicated group, confirms that it still
	// leads the group (a Raft barrier) before a read with
	// ?consistent=1 is answered; nil for a gateway that runs alone, whose
	// reads are all consistent.
	Leads func() error
}

// Membership changes the members of a replicated group of gateways.
type Membership interface {
	AddMember(addr string) (api.RaftInfo, error)
	RemoveMember(addr string) (api.RaftInfo, error)
	// JoinToken is the group's join token (admitted by every member).
	JoinToken() (string, error)
}

// DefaultConfig returns the defaults of `shoal gateway`.
func DefaultConfig() Config {
	return Config{MaxUpload: 64 << 20, BodyIdle: 30 * time.Second, BodyRate: 1 << 10}
}

// Server is the gateway's HTTP API.
type Server struct {
	cfg Config
	g   *gateway.Gateway // nil on a follower (NewReads)
	r   reads            // g, or a follower's store
	log *slog.Logger
	mux *http.ServeMux
	// tokens are read on every request and replaced by a reload.
	tokens atomic.Pointer[Tokens]
}

// New returns the API of g.
func New(cfg Config, g *gateway.Gateway, logger *slog.Logger) *Server {
	s := newServer(cfg, g, logger)
	s.g = g
	s.mux.HandleFunc("POST /tasks", s.postTask)
	s.mux.HandleFunc("POST /tasks/batch", s.postBatch)
	s.mux.HandleFunc("DELETE /tasks/{id}", s.cancelTask)
	s.mux.HandleFunc("PUT /modules", s.putModule)
	s.mux.HandleFunc("PUT /bundles/{name}", s.putBundle)
	s.mux.HandleFunc("POST /jobs", s.postJob)
	s.mux.HandleFunc("DELETE /jobs/{id}", s.cancelJob)
	s.mux.HandleFunc("GET /workers", s.workers)
	s.mux.HandleFunc("GET /cluster", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.g.Cluster()) })
	s.mux.Handle("POST /cluster/clean-up", s.adminOnly(http.HandlerFunc(s.cleanUp)))
	s.mux.Handle("PUT /cluster/policy", s.adminOnly(http.HandlerFunc(s.setPolicy)))
	s.mux.Handle("GET /raft/join-token", s.adminOnly(http.HandlerFunc(s.joinToken)))
	s.mux.Handle("POST /raft/members", s.adminOnly(http.HandlerFunc(s.addMember)))
	s.mux.Handle("DELETE /raft/members/{address}", s.adminOnly(http.HandlerFunc(s.removeMember)))
	s.mux.HandleFunc("GET /info", s.info)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", readyz(g))
	s.mux.Handle("GET /metrics", s.adminOnly(metricsHandler(g, s.log)))
	s.mux.HandleFunc("GET /openapi.json", s.openAPI)
	return s
}

// ServeHTTP serves the dashboard's page and files (GET / and /ui/...) to
// anyone; for everything else it checks the bearer token when the API has
// tokens, bounds every body by the upload limit, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if dashboard.Owns(r) { // the page and its files hold no data: no token
		dashboard.Handler().ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/healthz" { // tells nothing without a token: see healthz
		route(s.mux, w, r)
		return
	}
	authed, err := s.authenticate(r)
	if err != nil {
		s.refused(w, r, err)
		return
	}
	r = authed
	if err := s.checkConsistent(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if r.ContentLength > s.cfg.MaxUpload {
		s.fail(w, r, &http.MaxBytesError{Limit: s.cfg.MaxUpload}) // no need to read it to know
		return
	}
	if s.cfg.BodyIdle > 0 && r.Body != nil && r.Body != http.NoBody {
		r.Body = newSlowBody(w, r.Body, s.cfg.BodyIdle, s.cfg.BodyRate)
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUpload)
	route(s.mux, w, r)
}

// MetricsHandler serves GET /metrics, /healthz and /readyz alone, without
// authentication, for a listener of their own (shoal gateway --metrics)
// that a Prometheus server scrapes, or a probe asks, without a token.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(s.g, s.log))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", readyz(s.g))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { route(mux, w, r) })
}

// route serves r with mux. Requests no route takes get the mux's status
// (404, or 405 for a known path) with a JSON body like every other error.
func route(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	if _, pattern := mux.Handler(r); pattern == "" {
		rec := &statusRecorder{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		if rec.code >= 300 && rec.code < 400 {
			mux.ServeHTTP(w, r) // the mux cleans paths like //tasks by redirecting
			return
		}
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeJSON(w, rec.code, api.Errorf(api.CodeOf(rec.code), "no such endpoint: %s %s", r.Method, r.URL.Path))
		return
	}
	mux.ServeHTTP(w, r)
}

// statusRecorder keeps only the status and headers the mux answers with.
type statusRecorder struct {
	header http.Header
	code   int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.code = code }

func (s *Server) postTask(w http.ResponseWriter, r *http.Request) {
	req, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.g.SubmitUpload(r.Context(), specOf(&req, ownerOf(r)), req.Wasm)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/tasks/"+t.Spec.ID)
	writeJSON(w, http.StatusCreated, s.view(t))
}

// view is the API's view of t, with its latest api.DefaultRuns runs.
func (s *Server) view(t task.Task) api.Task {
	t.Runs = latest(t.Runs, api.DefaultRuns)
	return viewOf(t, s.r.TaskTimeout())
}

// checkOwner returns nil when r may see task id: its own, or any when r
// may see all (scopeOf). Another owner's task is not found, as one that
// does not exist is, so that a token learns nothing of others' tasks.
func (s *Server) checkOwner(r *http.Request, id string) error {
	taskOwner, err := s.r.Owner(id)
	if err != nil {
		return err
	}
	if owner := scopeOf(r); owner != "" && taskOwner != owner {
		return fmt.Errorf("%w: %s", sched.ErrNotFound, id)
	}
	return nil
}

// adminOnly serves h to requests that may see every owner's data.
func (s *Server) adminOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := needAdmin(r); err != nil {
			s.fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) cancelTask(w http.ResponseWriter, r *http.Request) {
	if err := s.checkOwner(r, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	switch p := r.URL.Query().Get(api.ParamPurge); p {
	case "":
	case "1", "true":
		ctx, cancel := context.WithTimeout(r.Context(), maxPurgeWait)
		defer cancel()
		if err := s.g.Purge(ctx, r.PathValue("id")); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		s.fail(w, r, api.Invalid(api.ParamPurge, "%q: want 1 (delete the task with its runs and logs) or leave it out (cancel only)", p))
		return
	}
	t, err := s.g.Cancel(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(t))
}

// keepAlive is how often a quiet log stream gets a comment line.
const keepAlive = 15 * time.Second

// maxWait bounds ?wait= so that a request cannot hold a connection forever.
const maxWait = 5 * time.Minute

// maxPurgeWait bounds how long a purge waits for the task's last outcomes
// to be stored (a run that just ended; canceling is at once).
const maxPurgeWait = 30 * time.Second

func (s *Server) taskLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.checkOwner(r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	end := func() (any, error) {
		t, _, err := s.r.TaskRuns(id, api.DefaultRuns)
		return s.view(t), err
	}
	s.logs(w, r, id, end, func(entries []task.LogEntry, done bool) any {
		return api.Logs{Task: id, Done: done, Entries: entries}
	})
}

// logs serves the log of a task or a job, id: with ?follow=1 as
// server-sent events ending with what end returns, else what the gateway
// holds of it, in the answer answer makes.
func (s *Server) logs(w http.ResponseWriter, r *http.Request, id string, end func() (any, error), answer func([]task.LogEntry, bool) any) {
	if truthy(r.URL.Query().Get("follow")) {
		s.followLogs(w, r, id, end)
		return
	}
	entries, done, err := s.r.Logs(id, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if entries == nil {
		entries = []task.LogEntry{}
	}
	writeJSON(w, http.StatusOK, answer(entries, done))
}

// followLogs streams a task's (or a job's) log as server-sent events: one
// `log` event per entry, then an `end` event with what end returns (the
// task, or the job) when it has ended. A reader that falls behind reads
// from the log the gateway keeps (Follow): the run never waits for it.
func (s *Server) followLogs(w http.ResponseWriter, r *http.Request, id string, end func() (any, error)) {
	if _, err := s.g.Status(id); err != nil {
		s.fail(w, r, err)
		return
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if fl != nil {
		fl.Flush()
	}
	var mu sync.Mutex // the keep-alive and the events share the writer
	write := func(format string, args ...any) error {
		mu.Lock()
		defer mu.Unlock()
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		if fl != nil {
			fl.Flush()
		}
		return nil
	}
	send := func(event string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return write("event: %s\ndata: %s\n\n", event, b)
	}
	// A comment line now and then keeps proxies from closing a quiet stream.
	ctx, stop := context.WithCancel(r.Context())
	done := make(chan struct{})
	defer func() { stop(); <-done }() // never write after the handler returns
	go func() {
		defer close(done)
		t := time.NewTicker(keepAlive)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if write(": keep-alive\n\n") != nil {
					return
				}
			}
		}
	}()
	err := s.g.Follow(r.Context(), id, func(e task.LogEntry) error { return send(api.EventLog, e) })
	if err != nil && !errors.Is(err, context.Canceled) {
		return
	}
	if v, err := end(); err == nil && r.Context().Err() == nil {
		_ = send(api.EventEnd, v)
	}
}

func (s *Server) putModule(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, r, bodyError(err))
		return
	}
	name := r.URL.Query().Get("name")
	if name != "" && !gateway.ValidModuleName(name) {
		s.fail(w, r, s.g.NameModule(name, "", "", false)) // the error that names the field
		return
	}
	h, err := s.g.PutModule(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if name != "" {
		if err := s.g.NameModule(name, h, ownerOf(r), scopeOf(r) == ""); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, api.Module{SHA256: h, Module: "sha256:" + h, Size: len(b), Name: name})
}

func (s *Server) workers(w http.ResponseWriter, _ *http.Request) {
	ws := s.g.Workers()
	out := make([]api.Worker, len(ws))
	for i, x := range ws {
		out[i] = api.Worker{ID: string(x.ID), Slots: x.Slots, Used: x.Used, Waiting: x.Waiting,
			Memory: x.Memory, UsedMem: x.UsedMem, Cores: x.Cores.Cores(), UsedCores: x.UsedCores.Cores(),
			Labels: x.Labels, Cached: x.Cached, Runs: x.Runs}
	}
	writeJSON(w, http.StatusOK, out)
}

// info answers the gateway's identity, and in HeaderRevision the tasks'
// revision, so a client learns whether anything changed without a list.
func (s *Server) info(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set(api.HeaderRevision, strconv.FormatUint(s.g.Revision(), 10))
	writeJSON(w, http.StatusOK, s.g.Info())
}

// healthz says the gateway's process is alive and serving (see /readyz
// for whether it takes work), to anyone; the counts only to a request the
// API would take.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := api.Health{Status: "ok", Role: "gateway"}
	if _, err := s.checkToken(r); err == nil {
		c := s.g.Counts()
		h.Workers, h.Tasks = &c.Workers, &c.Tasks
	}
	writeJSON(w, http.StatusOK, h)
}

// cleanUp gives back every machine of the cluster (shoal cluster
// clean-up); the answer is the cluster after it.
func (s *Server) cleanUp(w http.ResponseWriter, r *http.Request) {
	if _, err := s.g.CleanUp(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.g.Cluster())
}

// setPolicy changes how the cluster scales (an application's [cluster]
// table, while it runs).
func (s *Server) setPolicy(w http.ResponseWriter, r *http.Request) {
	var p api.ClusterPolicy
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		s.fail(w, r, jsonError(err))
		return
	}
	c, err := s.g.SetPolicy(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// errAlone is the answer of the group's routes on a gateway that runs
// alone.
var errAlone = api.Errorf(api.CodeConflict, "this gateway runs alone: it is no member of a replicated group (shoal gateway --raft, docs/HA.md)")

// joinToken answers the replicated group's join token.
func (s *Server) joinToken(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Members == nil {
		s.fail(w, r, errAlone)
		return
	}
	t, err := s.cfg.Members.JoinToken()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.JoinToken{Token: t})
}

// addMember adds a member to the replicated group; the answer is the
// group after.
func (s *Server) addMember(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Members == nil {
		s.fail(w, r, errAlone)
		return
	}
	var m api.RaftMember
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		s.fail(w, r, jsonError(err))
		return
	}
	st, err := s.cfg.Members.AddMember(m.Address)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// removeMember removes a member from the replicated group; the answer is
// the group after.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Members == nil {
		s.fail(w, r, errAlone)
		return
	}
	st, err := s.cfg.Members.RemoveMember(r.PathValue("address"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// putBundle deploys the files of a tar archive under a name.
func (s *Server) putBundle(w http.ResponseWriter, r *http.Request) {
	b, err := s.g.PutBundle(r.PathValue("name"), r.Body)
	if err != nil {
		s.fail(w, r, bodyError(err))
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Server) getBundle(w http.ResponseWriter, r *http.Request) {
	b, err := s.r.Bundle(r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}
