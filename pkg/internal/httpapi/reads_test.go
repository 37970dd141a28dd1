package httpapi_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

const readsTokens = "alice " + aliceToken + "\nroot " + rootToken + " role=admin\n"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// MustReadsMesh starts a gateway with a worker and tokens, and leaves in
// its store tasks that succeeded (with output), failed, were canceled
// and are still to come, a job with its steps' logs, and named modules.
func MustReadsMesh(tb testing.TB) *meshtest.Mesh {
	tb.Helper()
	m := meshtest.Start(tb, meshtest.Options{Workers: 1, Tokens: MustTokens(tb, readsTokens)})
	m.WaitWorkers(1)
	root := bearer(rootToken)
	mustDo := func(method, path, auth, ct string, body []byte, want int) {
		tb.Helper()
		if code, _, b := doAuth(tb, method, m.URL+path, auth, ct, body); code != want {
			tb.Fatalf("%s %s: %d %s", method, path, code, b)
		}
	}
	mustDo("PUT", "/modules?name=hello", root, "", wasm.Hello, 201)
	for _, c := range []struct {
		auth  string
		parts []part
	}{
		{root, []part{hash, {name: "id", value: "sum"}, {name: "repeats", value: "3"}, {name: "input", value: "1"}, {name: "difficulty", value: "1"}}},
		{root, []part{{name: "wasm", file: wasm.Hello}, {name: "id", value: "hi"}, {name: "args", value: `["there"]`}}},
		{bearer(aliceToken), []part{{name: "wasm", file: wasm.JobFail}, {name: "id", value: "alices"}, {name: "retries", value: "0"}}},
		{root, []part{hash, {name: "id", value: "later"}, {name: "start", value: "3600"}}},
		{root, []part{hash, {name: "id", value: "dropped"}, {name: "start", value: "3600"}, {name: "repeats", value: "2"}}},
	} {
		ct, body := multipartBody(c.parts...)
		mustDo("POST", "/tasks", c.auth, ct, body, 201)
	}
	mustDo("DELETE", "/tasks/dropped", root, "", nil, 200)
	mustDo("POST", "/jobs", root, "application/json", []byte(`{"id": "j1", "name": "two", "steps": [
		{"id": "a", "module": "hello", "args": ["one"]}, {"id": "b", "module": "hello", "args": ["two"]}]}`), 201)
	for _, p := range []string{"/tasks/sum", "/tasks/hi", "/tasks/alices", "/jobs/j1"} {
		mustDo("GET", p+"?wait=60", root, "", nil, 200)
	}
	return m
}

// A follower's reads (gateway.Stored through NewReads) answer what the
// gateway answers, byte for byte, for tasks and jobs that ended and for
// those still to come: the same views, read from the store alone.
func TestStoredReadsMatchTheGateway(t *testing.T) {
	m := MustReadsMesh(t)
	cfg := httpapi.DefaultConfig()
	cfg.Tokens = MustTokens(t, readsTokens)
	follower := httptest.NewServer(httpapi.NewReads(cfg, gateway.NewStored(gateway.DefaultConfig(), m.Store, func() uint64 { return 7 }), discard))
	defer follower.Close()
	for _, c := range []struct{ path, token string }{
		{"/tasks", rootToken},
		{"/tasks?order=asc&limit=2", rootToken},
		{"/tasks?status=succeeded,canceled", rootToken},
		{"/tasks?runs=1", rootToken},
		{"/tasks", aliceToken},
		{"/tasks/sum", rootToken},
		{"/tasks/sum?runs=2", rootToken},
		{"/tasks/hi", rootToken},
		{"/tasks/alices", aliceToken},
		{"/tasks/alices", rootToken},
		{"/tasks/later", rootToken},
		{"/tasks/dropped", rootToken},
		{"/tasks/hi/logs", rootToken},
		{"/tasks/hi/files", rootToken},
		{"/jobs", rootToken},
		{"/jobs/j1", rootToken},
		{"/jobs/j1/logs", rootToken},
		{"/jobs/j1/files", rootToken},
		{"/jobs/j1/files/none", rootToken},
		{"/modules", rootToken},
		{"/bundles/none", rootToken},
		{"/tasks/none", rootToken},
		{"/tasks/sum", aliceToken}, // another owner's: not found
		{"/jobs/sum", rootToken},   // a task, not a job
		{"/jobs/j1", aliceToken},
		{"/tasks?limit=0", rootToken},
		{"/tasks", ""},
		{"/tasks", "not-a-token-of-this-gateway"},
	} {
		auth := ""
		if c.token != "" {
			auth = bearer(c.token)
		}
		code, h, want := doAuth(t, "GET", m.URL+c.path, auth, "", nil)
		fcode, fh, got := doAuth(t, "GET", follower.URL+c.path, auth, "", nil)
		if fcode != code || !bytes.Equal(got, want) {
			t.Errorf("GET %s: the follower answers\n%d %s\nthe gateway\n%d %s", c.path, fcode, got, code, want)
		}
		for _, k := range []string{"Content-Type", api.HeaderRunsTotal, "WWW-Authenticate"} {
			if fh.Get(k) != h.Get(k) {
				t.Errorf("GET %s: %s %q, the gateway's %q", c.path, k, fh.Get(k), h.Get(k))
			}
		}
		if c.path == "/tasks?runs=1" && c.token == rootToken {
			for _, s := range []string{`"result": "hello there\n"`, `"status": "failed"`, `"status": "canceled"`, `"status": "scheduled"`} {
				if !strings.Contains(string(got), s) {
					t.Errorf("GET %s: no %s in %s", c.path, s, got)
				}
			}
		}
		if code == 200 && strings.HasPrefix(c.path, "/tasks?") && fh.Get(api.HeaderRevision) != "7" {
			t.Errorf("GET %s: revision %q, want the store's, 7", c.path, fh.Get(api.HeaderRevision))
		}
	}
}

// A member that follows answers the Local reads from its store, with the
// tokens and roles of the leader's API, and passes to the leader every
// write and every read that needs it (?consistent=1, ?wait=, ?follow=1);
// each answer says which member gave it. The leader answers a consistent
// read only once it has confirmed that it leads.
func TestMemberServesReads(t *testing.T) {
	m := MustReadsMesh(t)
	cfg := httpapi.DefaultConfig()
	cfg.Tokens = MustTokens(t, readsTokens)
	var lost atomic.Bool // the leader's leadership, as Leads finds it
	lcfg := cfg
	lcfg.Leads = func() error {
		if lost.Load() {
			return errors.New("leadership lost")
		}
		return nil
	}
	leader := httpapi.NewMember(httpapi.MemberConfig{Self: "L:1", Applied: func() uint64 { return 20 }}, discard)
	leader.Lead(httpapi.New(lcfg, m.Gateway, discard))
	ls := httptest.NewServer(leader)
	defer ls.Close()
	group := api.RaftInfo{State: "follower", Self: "F:2", Leader: "L:1", API: ls.URL, Term: 2, Applied: 19}
	reads := httpapi.NewReads(cfg, gateway.NewStored(gateway.DefaultConfig(), m.Store, func() uint64 { return 19 }), discard)
	follower := httpapi.NewMember(httpapi.MemberConfig{Self: "F:2", Status: func() api.RaftInfo { return group }, Applied: func() uint64 { return 19 }, Reads: reads}, discard)
	fs := httptest.NewServer(follower)
	defer fs.Close()

	root := bearer(rootToken)
	for _, c := range []struct {
		method, path, auth string
		code               int
		by                 string // the member that answers
	}{
		{"GET", "/tasks/sum", root, 200, "follower F:2"},
		{"HEAD", "/tasks/sum", root, 200, "follower F:2"},
		{"GET", "/tasks?status=succeeded", root, 200, "follower F:2"},
		{"GET", "/jobs/j1", root, 200, "follower F:2"},
		{"GET", "/tasks/hi/logs", root, 200, "follower F:2"},
		{"GET", "/modules", root, 200, "follower F:2"},
		{"GET", "/tasks/sum", bearer(aliceToken), 404, "follower F:2"},
		{"GET", "/tasks/sum", "", 401, "follower F:2"},
		{"GET", "/tasks/sum", bearer("not-a-token-of-this-gateway"), 401, "follower F:2"},
		{"GET", "/info", root, 200, "follower F:2"},
		{"GET", "/info", "", 401, "follower F:2"},
		{"GET", "/readyz", "", 401, "follower F:2"},
		{"GET", "/readyz", root, 200, "follower F:2"},
		{"GET", "/healthz", "", 200, "follower F:2"},
		{"GET", "/tasks/sum?consistent=1", root, 200, "leader L:1"},
		{"GET", "/tasks/sum?consistent=1", "", 401, "leader L:1"},
		{"GET", "/tasks/sum?wait=1", root, 200, "leader L:1"},
		{"GET", "/tasks/hi/logs?follow=1", root, 200, "leader L:1"},
		{"GET", "/workers", root, 200, "leader L:1"},
		{"DELETE", "/tasks/later", root, 200, "leader L:1"},
	} {
		code, h, b := doAuth(t, c.method, fs.URL+c.path, c.auth, "", nil)
		if code != c.code || h.Get(api.HeaderServedBy) != c.by {
			t.Errorf("%s %s: %d by %q, want %d by %q: %s", c.method, c.path, code, h.Get(api.HeaderServedBy), c.code, c.by, b)
		}
		if want := map[string]string{"follower F:2": "19", "leader L:1": "20"}[c.by]; h.Get(api.HeaderApplied) != want || len(h.Values(api.HeaderServedBy)) != 1 {
			t.Errorf("%s %s: %s %q (want %s), %s %q", c.method, c.path, api.HeaderApplied, h.Get(api.HeaderApplied), want, api.HeaderServedBy, h.Values(api.HeaderServedBy))
		}
	}
	// The follower's store has the cancel once it is applied: here, at
	// once (one store).
	if code, _, b := doAuth(t, "GET", fs.URL+"/tasks/later", root, "", nil); code != 200 || !strings.Contains(string(b), `"status": "canceled"`) {
		t.Errorf("a canceled task read from the follower: %d %s", code, b)
	}

	// A leader that cannot confirm it leads answers no consistent read;
	// its other answers are as before.
	lost.Store(true)
	for _, c := range []struct {
		url  string
		code int
	}{
		{fs.URL + "/tasks/sum?consistent=1", 503},
		{ls.URL + "/tasks?consistent=true", 503},
		{ls.URL + "/tasks/sum", 200},
		{fs.URL + "/tasks/sum", 200},
	} {
		code, h, b := doAuth(t, "GET", c.url, root, "", nil)
		if code != c.code || (code == 503 && (h.Get("Retry-After") == "" || !strings.Contains(string(b), "consistent=1"))) {
			t.Errorf("GET %s with the leadership lost: %d %s", c.url, code, b)
		}
	}
}

// The routes a follower answers itself are exactly those api.Routes marks
// Local: reads of what the store holds.
func TestFollowerAnswersTheLocalRoutes(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	reads := httpapi.NewReads(httpapi.DefaultConfig(), gateway.NewStored(gateway.DefaultConfig(), m.Store, func() uint64 { return 0 }), discard)
	for _, r := range api.Routes {
		path := strings.NewReplacer("{id}", "x", "{name}", "x", "{address}", "x", "{path...}", "a/b").Replace(r.Path)
		req := httptest.NewRequest(r.Method, path, nil)
		if got := reads.Answers(req); got != r.Local {
			t.Errorf("%s: a follower answers it itself: %v, but api.Routes says Local: %v", r.Pattern(), got, r.Local)
		}
		if r.Local && r.Method != "GET" {
			t.Errorf("%s is Local, but it is no read", r.Pattern())
		}
		for _, q := range []string{"?consistent=1", "?wait=5", "?follow=1"} {
			if reads.Answers(httptest.NewRequest(r.Method, path+q, nil)) {
				t.Errorf("%s%s: a follower answers it itself", r.Pattern(), q)
			}
		}
	}
}
