package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/replica"
	"github.com/shoalmesh/shoal/pkg/internal/store"
)

// haFlags are the gateway's flags of a replicated group (docs/HA.md).
type haFlags struct {
	bind       string
	peers      string
	join       bool
	multiplier int
	log        string
}

// maxMultiplier bounds --raft-multiplier, as Nomad bounds its
// raft_multiplier: past it a failover takes longer than any network
// needs.
const maxMultiplier = 10

func (f *haFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.bind, "raft", "", "run as one member of a replicated group of gateways (docs/HA.md): this member's Raft address, HOST:PORT (default: the gateway runs alone)")
	fs.StringVar(&f.peers, "peers", "", "with --raft: every member's Raft address, this one's included, comma-separated: 3 or 5 members; the group forms when a majority is up")
	fs.BoolVar(&f.join, "raft-join", false, "with --raft and no --peers: wait to be added to a running group (shoal gateways add ADDRESS on any member) instead of forming one")
	fs.StringVar(&f.log, "raft-log", "", fmt.Sprintf("with --raft: the kind of Raft log a new member keeps, %s (hashicorp/raft-wal, one fsync per append; the default) or %s (hashicorp/raft-boltdb, two); a member with a log keeps its kind", replica.LogWAL, replica.LogBolt))
	fs.IntVar(&f.multiplier, "raft-multiplier", 1, fmt.Sprintf("with --raft: `N` scales Raft's timing, 1 to %d, the same on every member: a follower that hears no leader for %s × N stands for election, and a leader cut off from a majority steps down after half that; raise it on a slow or distant network (2: hashicorp/raft's defaults)", maxMultiplier, replica.DefaultTimeouts))
}

// peerList is --peers as a list.
func (f *haFlags) peerList() []string {
	var out []string
	for _, p := range strings.Split(f.peers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// barrierTimeout bounds a new leader's wait for its store to hold every
// entry committed before it took office.
const barrierTimeout = 30 * time.Second

// consistentTimeout bounds the leader's confirmation, for a read with
// ?consistent=1, that it still leads (a barrier through the log): a
// leader cut off from its majority steps down sooner, within its lease.
const consistentTimeout = 5 * time.Second

// member runs a gateway as one member of a replicated group: while it
// leads, a gateway on its store (made anew each time it takes office, as
// a gateway restarted on the same file is); while it follows, nothing but
// the API that passes calls to the leader.
type member struct {
	rep  *replica.Replica
	st   *store.Store
	api  *httpapi.Member
	log  *slog.Logger
	self string // this member's API's base URL, as it announces it

	own join.Token // this member's own join token

	leading atomic.Bool   // as Raft last told
	changed chan struct{} // told when leading changes

	mu     sync.Mutex
	cfg    httpapi.Config // with the latest tokens, for the next term's API
	leader *gateway.Gateway
}

// AddMember and RemoveMember change the group's members (the API's
// Membership).
func (m *member) AddMember(addr string) (api.RaftInfo, error) { return m.rep.AddMember(addr) }
func (m *member) RemoveMember(addr string) (api.RaftInfo, error) {
	return m.rep.RemoveMember(addr)
}

// JoinToken is the group's join token, naming this member: a worker with
// it and every member's address joins whichever leads.
func (m *member) JoinToken() (string, error) {
	secret, err := m.st.JoinSecret()
	if err != nil {
		return "", err
	}
	return join.Token{Gateway: m.own.Gateway, Secret: secret}.String(), nil
}

// status is the group as this member sees it, with the leader's API.
func (m *member) status() api.RaftInfo {
	st := m.rep.Status()
	// The record of this term's leader only: an earlier term's, even of
	// the same member, names an API that may not serve (it would forward
	// to itself).
	if l, err := m.st.Leader(); err == nil && l.Raft == st.Leader && l.Term == st.Term {
		st.API = l.HTTP
	}
	return st
}

// SetTokens applies reloaded tokens to this term's API and the next's.
func (m *member) SetTokens(t *httpapi.Tokens) {
	m.mu.Lock()
	m.cfg.Tokens = t
	g := m.leader
	m.mu.Unlock()
	if srv := m.api.Leading(); srv != nil {
		srv.SetTokens(t)
	}
	m.api.SetTokens(t)
	if g != nil {
		if err := g.SetQuotas(t.Quotas()); err != nil {
			m.log.Error("reload: quotas not applied", "err", err)
		}
	}
}

func (m *member) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.api.ServeHTTP(w, r) }
func (m *member) MetricsHandler() http.Handler                     { return m.api.MetricsHandler() }

// retryLead is the wait before a member that leads but failed to take
// office (its barrier timed out, its store refused) tries again.
const retryLead = time.Second

// watchLeadership reads Raft's leadership notices as they come (Raft
// waits on each: they must never wait on a term's work) and keeps the
// latest in m.leading, telling m.changed.
func (m *member) watchLeadership(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case lead := <-m.rep.LeaderCh():
			m.leading.Store(lead)
			select {
			case m.changed <- struct{}{}:
			default:
			}
		}
	}
}

// run leads whenever the group elects this member, until ctx ends.
func (m *member) run(ctx context.Context, newGateway func(joinSecret []byte, term uint64) (*gateway.Gateway, error)) error {
	m.changed = make(chan struct{}, 1)
	go m.watchLeadership(ctx)
	for ctx.Err() == nil {
		if !m.leading.Load() {
			select {
			case <-ctx.Done():
			case <-m.changed:
			}
			continue
		}
		if err := m.lead(ctx, newGateway); err != nil && m.leading.Load() {
			// Still the leader, without a gateway: the group would
			// take no write. Try again rather than wait for a notice
			// that may never come.
			m.log.Error("raft: taking office failed; trying again", "err", err, "in", retryLead)
			select {
			case <-ctx.Done():
			case <-time.After(retryLead):
			}
		}
	}
	return nil
}

// lead is one term of office: it waits for the store to hold all the
// group committed, runs a gateway on it, announces its API, and stops
// the gateway as soon as the member no longer leads.
func (m *member) lead(ctx context.Context, newGateway func(joinSecret []byte, term uint64) (*gateway.Gateway, error)) error {
	start := time.Now()
	if err := m.rep.Barrier(barrierTimeout); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	if !m.rep.IsLeader() {
		return errors.New("no longer the leader")
	}
	// The group's join secret is its first leader's: every member admits
	// the workers of the group's token.
	if err := m.st.InitJoinSecret(m.own.Secret); err != nil {
		return err
	}
	secret, err := m.st.JoinSecret()
	if err != nil {
		return err
	}
	g, err := newGateway(secret, m.rep.Status().Term)
	if err != nil {
		return err
	}
	m.mu.Lock()
	srv := httpapi.New(m.cfg, g, m.log)
	m.leader = g
	m.mu.Unlock()
	gctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.Run(gctx) }()
	m.api.Lead(srv)
	st := m.rep.Status()
	announced := false
	for try := 0; !announced && try < 5 && m.leading.Load() && ctx.Err() == nil; try++ {
		err := m.st.SetLeader(store.Leader{Raft: st.Self, HTTP: m.self, Term: st.Term})
		if announced = err == nil; !announced {
			m.log.Warn("raft: this leader's API not announced; trying again", "err", err)
			time.Sleep(retryLead / 5)
		}
	}
	m.log.Info("raft: leading", "term", st.Term, "api", m.self, "took", time.Since(start).Round(time.Millisecond), "announced", announced)
	for m.leading.Load() && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-m.changed:
		}
	}
	// The gateway places no new run from now on. Its workers are hung up
	// on at once: their runs under way go on, held for the next leader to
	// adopt (their outcomes could no longer be stored here: the log
	// refuses them).
	m.api.Lead(nil)
	g.Abandon()
	stop()
	err = <-done
	m.mu.Lock()
	m.leader = nil
	m.mu.Unlock()
	m.log.Info("raft: no longer leading", "term", st.Term)
	return err
}

// announcedURL is the API's base URL as other machines reach it: the
// listener's, with the Raft address's host when it listens on all
// interfaces.
func announcedURL(field, raftBind string) string {
	u, err := url.Parse(strings.TrimPrefix(field, "http="))
	if err != nil {
		return ""
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return u.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if rh, _, err := net.SplitHostPort(raftBind); err == nil {
			u.Host = net.JoinHostPort(rh, port)
		}
	}
	return u.String()
}

// runMember is shoal gateway --raft: the gateway as one member of a
// replicated group, until ctx ends.
func runMember(ctx context.Context, e *env, hf haFlags, af *apiFlags, sec *secrets, apiCfg httpapi.Config, cfg gateway.Config, st *store.Store, nd *node, data string, own join.Token) int {
	if cfg.Scale.Backend != nil {
		return e.errorf("gateway: --raft with --backend: a replicated group does not scale machines yet (docs/HA.md)")
	}
	stop := func(err error) { // its store would differ from the group's: stop, and come back from the log
		nd.log.Error("this member stops", "err", err)
		os.Exit(1)
	}
	if hf.multiplier < 1 || hf.multiplier > maxMultiplier {
		return e.errorf("gateway: --raft-multiplier %d: from 1 to %d", hf.multiplier, maxMultiplier)
	}
	timeouts := time.Duration(hf.multiplier) * replica.DefaultTimeouts
	rep, err := replica.Open(replica.Config{Dir: filepath.Join(data, "raft"), Log: hf.log, Bind: hf.bind, Peers: hf.peerList(), Join: hf.join, Store: st, Timeouts: timeouts, Logger: nd.log, Stop: stop})
	if err != nil {
		return e.errorf("gateway: --%v", err)
	}
	defer rep.Close()
	m := &member{rep: rep, st: st, log: nd.log.With("component", "raft"), own: own}
	apiCfg.Members = m
	apiCfg.Leads = func() error { return rep.Barrier(consistentTimeout) }
	m.cfg = apiCfg
	// While it follows, the member answers reads from its own store, as
	// the leader's gateway would show them (docs/HA.md).
	reads := httpapi.NewReads(apiCfg, gateway.NewStored(cfg, st, rep.Applied), nd.log)
	m.api = httpapi.NewMember(httpapi.MemberConfig{Self: hf.bind, Status: m.status, Applied: rep.Applied, Reads: reads}, nd.log)
	cfg.Raft = func() *api.RaftInfo {
		s := m.status()
		return &s
	}
	fields, stopAPI, code := af.startAPI(ctx, e, sec, m, nd.log)
	if stopAPI == nil {
		return code
	}
	defer stopAPI()
	m.self = announcedURL(fields[0], hf.bind)
	// No join token on the start line: this member's own is not the
	// group's (its first leader's secret), which `shoal gateways token`
	// gives.
	fmt.Fprintln(e.stdout, startLine("gateway", nd, append(fields, "raft="+hf.bind)...))
	newGateway := func(joinSecret []byte, term uint64) (*gateway.Gateway, error) {
		c := cfg
		c.JoinSecret, c.Term = joinSecret, term
		return gateway.New(c, nd.host, st, nd.log)
	}
	if err := m.run(ctx, newGateway); err != nil {
		return e.errorf("gateway: %v", err)
	}
	return 0
}
