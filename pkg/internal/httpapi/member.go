package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/version"
)

// headerForwarded marks a call a follower passed on, with its Raft
// address: the member it reaches serves it or refuses it, and never
// passes it on again.
const headerForwarded = "X-Shoal-Forwarded-By"

// announceWait bounds a follower's wait for a new leader's announcement
// of its API, which comes through the log just after the election.
const announceWait = 2 * time.Second

// Member is the HTTP API of a gateway that is one member of a replicated
// group (docs/HA.md). While the member leads, it is its gateway's API
// (Lead). While it follows, it answers /info, /healthz and /readyz
// itself, the reads its Reads answers (api.Route.Local) from its own
// store, and passes every other request, writes and the reads that need
// the leader, to the leader's API as the leader announced it: a client
// may call any member. Every answer it gives itself carries
// api.HeaderServedBy and api.HeaderApplied.
type Member struct {
	cfg MemberConfig
	log *slog.Logger
	mu  sync.RWMutex
	srv *Server // the gateway's API while this member leads
}

// MemberConfig is what a member's API asks of its member.
type MemberConfig struct {
	Self    string              // this member's Raft address
	Status  func() api.RaftInfo // the group as this member sees it
	Applied func() uint64       // the index of the last entry applied to its store, at once
	// Reads is the API of the member's store while it follows
	// (NewReads); nil passes every read to the leader.
	Reads *Server
}

// NewMember returns the API of a member that follows until Lead.
func NewMember(cfg MemberConfig, log *slog.Logger) *Member {
	return &Member{cfg: cfg, log: log}
}

// Lead serves srv, the API of this member's gateway, from now on; nil:
// the member follows.
func (m *Member) Lead(srv *Server) {
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
}

// Leading is the API of this member's gateway while it leads, else nil.
func (m *Member) Leading() *Server {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.srv
}

// SetTokens applies reloaded tokens to the follower's reads (the
// leader's API takes its own: Server.SetTokens).
func (m *Member) SetTokens(t *Tokens) {
	if m.cfg.Reads != nil {
		m.cfg.Reads.SetTokens(t)
	}
}

// served says who answers, and how fresh this member's store is: the
// applied index read before the answer is, so the answer holds at least
// every write up to it.
func (m *Member) served(w http.ResponseWriter, role string) {
	w.Header().Set(api.HeaderServedBy, role+" "+m.cfg.Self)
	w.Header().Set(api.HeaderApplied, strconv.FormatUint(m.cfg.Applied(), 10))
}

func (m *Member) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if srv := m.Leading(); srv != nil {
		m.served(w, "leader")
		srv.ServeHTTP(w, r)
		return
	}
	if m.cfg.Reads != nil && m.cfg.Reads.Answers(r) {
		m.served(w, "follower")
		m.cfg.Reads.ServeHTTP(w, r)
		return
	}
	if (r.URL.Path == "/info" || r.URL.Path == "/readyz") && m.cfg.Reads != nil {
		// Answered here, with the leader's rule: a token when the API
		// has tokens (/healthz tells nothing, and needs none).
		if _, err := m.cfg.Reads.checkToken(r); err != nil {
			m.served(w, "follower")
			m.cfg.Reads.refused(w, r, err)
			return
		}
	}
	st := m.cfg.Status()
	switch r.URL.Path {
	case "/info":
		m.served(w, "follower")
		writeJSON(w, http.StatusOK, api.Info{Version: version.Version, Raft: &st})
		return
	case "/healthz":
		m.served(w, "follower")
		writeJSON(w, http.StatusOK, api.Health{Status: "ok", Role: "gateway"})
		return
	}
	// A new leader's announcement may not have reached this member yet.
	for deadline := time.Now().Add(announceWait); st.Leader != "" && st.API == "" && time.Now().Before(deadline) && r.Context().Err() == nil; {
		time.Sleep(10 * time.Millisecond)
		st = m.cfg.Status()
	}
	target, err := url.Parse(st.API)
	// Never to itself, and never a second hop: two members that each
	// took the other for the leader would pass a call round for ever.
	forwarded := r.Header.Get(headerForwarded) != ""
	if st.Leader == "" || st.API == "" || err != nil || st.Leader == st.Self || forwarded {
		m.served(w, "follower")
		if r.URL.Path == "/readyz" {
			writeJSON(w, http.StatusServiceUnavailable, api.Ready{Status: "not ready", Reason: "no leader: the group has no majority, or is electing one"})
			return
		}
		w.Header().Set("Retry-After", "1")
		body := &api.Error{Code: api.CodeUnavailable, Message: "this member follows, and the group has no leader now (no majority, or an election under way); retry shortly"}
		writeJSON(w, body.Status(), body)
		return
	}
	if r.URL.Path == "/readyz" { // writes reach the leader through this member
		m.served(w, "follower")
		writeJSON(w, http.StatusOK, api.Ready{Status: "ready", Reason: "a follower: writes go to the leader at " + st.API})
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Header.Set(headerForwarded, st.Self)
		},
		FlushInterval: -1, // log streams as they come
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			m.log.Debug("forward to the leader failed", "leader", st.API, "err", err)
			w.Header().Set("Retry-After", "1")
			body := &api.Error{Code: api.CodeUnavailable, Message: "the leader at " + st.API + " did not answer: " + err.Error() + "; retry shortly"}
			writeJSON(w, body.Status(), body)
		},
	}
	proxy.ServeHTTP(w, r)
}

// MetricsHandler serves the metrics of this member's gateway while it
// leads; a follower has none to serve.
func (m *Member) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if srv := m.Leading(); srv != nil {
			srv.MetricsHandler().ServeHTTP(w, r)
			return
		}
		body := &api.Error{Code: api.CodeUnavailable, Message: "this member follows: the leader serves the metrics of the group's gateway"}
		writeJSON(w, body.Status(), body)
	})
}
