package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// reads is what the read routes (api.Route.Local) ask: of the gateway on
// a gateway alone or a group's leader, of the store alone on a follower
// (gateway.Stored), which answer in the same shapes.
type reads interface {
	TaskPage(q sched.PageQuery, runs int) (page []task.Task, next, rev uint64, err error)
	TaskRuns(id string, n int) (task.Task, uint64, error)
	Owner(id string) (string, error)
	Job(id string) (api.Job, error)
	JobPage(q sched.PageQuery) (page []api.Job, next, rev uint64, err error)
	Logs(id string, seq uint64) ([]task.LogEntry, bool, error)
	ModuleNames() (map[string]string, error)
	Files(id string) ([]api.File, error)
	File(id, path string) (api.File, []byte, error)
	Bundle(name string) (api.Bundle, error)
	TaskTimeout() time.Duration
	Revision() uint64
}

var (
	_ reads = (*gateway.Gateway)(nil)
	_ reads = (*gateway.Stored)(nil)
)

// newServer is a Server of r with the read routes only.
func newServer(cfg Config, r reads, logger *slog.Logger) *Server {
	s := &Server{cfg: cfg, r: r, log: logger.With("component", "http"), mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /tasks", s.listTasks)
	s.mux.HandleFunc("GET /tasks/{id}", s.getTask)
	s.mux.HandleFunc("GET /tasks/{id}/logs", s.taskLogs)
	s.mux.HandleFunc("GET /tasks/{id}/files", s.taskFiles)
	s.mux.HandleFunc("GET /tasks/{id}/files/{path...}", s.taskFile)
	s.mux.HandleFunc("GET /modules", s.moduleNames)
	s.mux.HandleFunc("GET /bundles/{name}", s.getBundle)
	s.mux.HandleFunc("GET /jobs", s.listJobs)
	s.mux.HandleFunc("GET /jobs/{id}", s.getJob)
	s.mux.HandleFunc("GET /jobs/{id}/logs", s.jobLogs)
	s.mux.HandleFunc("GET /jobs/{id}/files", s.jobFiles)
	s.mux.HandleFunc("GET /jobs/{id}/files/{path...}", s.jobFile)
	s.tokens.Store(cfg.Tokens)
	return s
}

// NewReads returns the API of a follower of a replicated group
// (docs/HA.md): the read routes of api.Routes marked Local, answered from
// the follower's store with the tokens and roles of the leader's API.
// Its Member passes it the requests it Answers, and every other to the
// leader.
func NewReads(cfg Config, st *gateway.Stored, logger *slog.Logger) *Server {
	return newServer(cfg, st, logger)
}

// Answers reports whether s, a follower's API (NewReads), answers r
// itself: a read of a Local route that asks neither for a consistent
// answer nor to wait or follow, which need the leader.
func (s *Server) Answers(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	q := r.URL.Query()
	if truthy(q.Get(api.ParamConsistent)) || truthy(q.Get("follow")) || q.Has("wait") {
		return false
	}
	_, pattern := s.mux.Handler(r)
	return pattern != ""
}

// truthy is a flag's value that turns it on.
func truthy(v string) bool { return v == "1" || v == "true" }

// errNotLeading refuses a consistent read on a member that could not
// confirm that it leads its group.
var errNotLeading = api.Errorf(api.CodeUnavailable, "this gateway could not confirm that it still leads its group (it lost its majority, or the leadership moved): "+
	"a read with ?consistent=1 is answered by the leader only; retry")

// checkConsistent confirms, for a read with ?consistent=1 on a member of
// a replicated group, that this member still leads: its store then holds
// every write the group acknowledged.
func (s *Server) checkConsistent(r *http.Request) error {
	if s.cfg.Leads == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) || !truthy(r.URL.Query().Get(api.ParamConsistent)) {
		return nil
	}
	if err := s.cfg.Leads(); err != nil {
		s.log.Debug("consistent read refused", "path", r.URL.Path, "err", err)
		return errNotLeading
	}
	return nil
}
