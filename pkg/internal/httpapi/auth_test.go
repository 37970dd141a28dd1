package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

const (
	aliceToken = "alice-0123456789abcdef"
	bobToken   = "bob-0123456789abcdef0"
)

// MustTokens parses a token file or fails the test.
func MustTokens(tb testing.TB, file string) *httpapi.Tokens {
	tb.Helper()
	t, err := httpapi.ParseTokens(strings.NewReader(file))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// doAuth is do with an Authorization header (none when auth is "").
func doAuth(tb testing.TB, method, url, auth, ct string, body []byte) (int, http.Header, []byte) {
	tb.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func bearer(token string) string { return "Bearer " + token }

// With a token file, every endpoint answers 401 with a JSON error and a
// Bearer challenge unless the request carries one of its tokens, and
// answers as usual with one.
func TestEveryEndpointNeedsAToken(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Tokens: MustTokens(t, "alice "+aliceToken+" role=admin\n")})
	ct, body := multipartBody(hash, part{name: "id", value: "a"}, part{name: "start", value: "3600"})
	if code, _, b := doAuth(t, "POST", m.URL+"/tasks", bearer(aliceToken), ct, body); code != 201 {
		t.Fatalf("seed task: %d %s", code, b)
	}
	submit := func() (string, []byte) { return multipartBody(hash, part{name: "start", value: "3600"}) }
	endpoints := []struct {
		method, path string
		body         func() (string, []byte)
		code         int
	}{
		{"POST", "/tasks", submit, 201},
		{"POST", "/tasks/batch", func() (string, []byte) {
			return "application/json", []byte(`[{"module": "sha256:` + hashCHex + `", "start": 3600}]`)
		}, 201},
		{"GET", "/tasks", nil, 200},
		{"GET", "/tasks/a", nil, 200},
		{"GET", "/tasks/a/logs", nil, 200},
		{"PUT", "/modules", func() (string, []byte) { return "application/wasm", wasm.Hello }, 201},
		{"GET", "/workers", nil, 200},
		{"GET", "/info", nil, 200},
		{"GET", "/readyz", nil, 200},
		{"GET", "/metrics", nil, 200},
		{"DELETE", "/tasks/a", nil, 200},
		{"GET", "/nothing", nil, 404},
	}
	refused := []struct {
		name, auth, challenge string
	}{
		{"no token", "", `Bearer realm="shoal"`},
		{"wrong token", bearer("mallory-0123456789abcdef"), `Bearer realm="shoal", error="invalid_token"`},
		{"token prefix", bearer(aliceToken[:len(aliceToken)-1]), `error="invalid_token"`},
		{"token with more", bearer(aliceToken + "x"), `error="invalid_token"`},
		{"basic auth", "Basic " + aliceToken, `Bearer realm="shoal"`},
		{"bare token", aliceToken, `Bearer realm="shoal"`},
		{"empty bearer", "Bearer ", `Bearer realm="shoal"`},
	}
	for _, ep := range endpoints {
		var ct string
		var body []byte
		if ep.body != nil {
			ct, body = ep.body()
		}
		for _, r := range refused {
			code, h, b := doAuth(t, ep.method, m.URL+ep.path, r.auth, ct, body)
			var e struct{ Error string }
			if code != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), r.challenge) ||
				h.Get("Content-Type") != "application/json" || json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Errorf("%s %s, %s: %d %q %s; want 401 with %q and a JSON error", ep.method, ep.path, r.name, code, h.Get("WWW-Authenticate"), b, r.challenge)
			}
		}
		if code, _, b := doAuth(t, ep.method, m.URL+ep.path, bearer(aliceToken), ct, body); code != ep.code {
			t.Errorf("%s %s with the token: %d %s, want %d", ep.method, ep.path, code, b, ep.code)
		}
	}
	// The scheme is case-insensitive (RFC 9110).
	if code, _, b := doAuth(t, "GET", m.URL+"/info", "bearer "+aliceToken, "", nil); code != 200 {
		t.Errorf("lowercase scheme: %d %s", code, b)
	}
	// Refused requests changed nothing: one seed task, one submitted, one
	// in a batch.
	if code, _, b := doAuth(t, "GET", m.URL+"/tasks", bearer(aliceToken), "", nil); code != 200 || strings.Count(string(b), `"id"`) != 3 {
		t.Errorf("tasks after refused requests: %d %s", code, b)
	}
}

// --metrics serves /metrics, /healthz and /readyz without a token; the
// main API's still need one, but for /healthz.
func TestMetricsOnSeparateAddressWithoutAuth(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Tokens: MustTokens(t, aliceToken), Metrics: true})
	for _, c := range []struct {
		url, has string
		code     int
	}{
		{m.Metrics.URL + "/metrics", `shoal_tasks{status="queued"} 0`, 200},
		{m.Metrics.URL + "/healthz", `"ok"`, 200},
		{m.Metrics.URL + "/readyz", `"ready"`, 200},
		{m.Metrics.URL + "/tasks", "no such endpoint", 404},
		{m.Metrics.URL + "/info", "no such endpoint", 404},
		{m.URL + "/metrics", "bearer token", 401},
		{m.URL + "/healthz", `"ok"`, 200}, // see TestHealthzNeedsNoToken
		{m.URL + "/readyz", "bearer token", 401},
	} {
		if code, _, b := doAuth(t, "GET", c.url, "", "", nil); code != c.code || !strings.Contains(string(b), c.has) {
			t.Errorf("GET %s: %d %s, want %d with %q", c.url, code, b, c.code, c.has)
		}
	}
	if code, _, _ := doAuth(t, "POST", m.Metrics.URL+"/metrics", "", "", nil); code != 405 {
		t.Errorf("POST on the metrics address: %d, want 405", code)
	}
}

// A task's owner is the name of the token it came with, never a form field.
func TestOwnerIsTheTokenName(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Tokens: MustTokens(t, "alice "+aliceToken+"\n"+bobToken+"\n")})
	for _, c := range []struct{ token, id, owner string }{{aliceToken, "of-alice", "alice"}, {bobToken, "of-bob", "token-2"}} {
		ct, body := multipartBody(hash, part{name: "id", value: c.id})
		code, _, b := doAuth(t, "POST", m.URL+"/tasks", bearer(c.token), ct, body)
		var v api.Task
		if json.Unmarshal(b, &v); code != 201 || v.Owner != c.owner || !strings.Contains(string(b), `"owner": "`+c.owner+`"`) {
			t.Fatalf("submitted with %s's token: %d owner %q, want %q: %s", c.owner, code, v.Owner, c.owner, b)
		}
	}
	batch := `[{"id": "batch-of-alice", "module": "sha256:` + hashCHex + `"}]`
	if code, _, b := doAuth(t, "POST", m.URL+"/tasks/batch", bearer(aliceToken), "application/json", []byte(batch)); code != 201 {
		t.Fatalf("batch: %d %s", code, b)
	}
	if v := getTaskAuth(t, m.URL, "batch-of-alice", aliceToken); v.Owner != "alice" {
		t.Fatalf("a batch submitted with alice's token has owner %q", v.Owner)
	}
	ct, body := multipartBody(hash, part{name: "owner", value: "bob"})
	if code, _, b := doAuth(t, "POST", m.URL+"/tasks", bearer(aliceToken), ct, body); code != 400 || !strings.Contains(string(b), `"field": "owner"`) {
		t.Fatalf("an owner form field: %d %s, want 400 naming the field", code, b)
	}
}

// Past its max-queued, a token's submissions get 429 with Retry-After,
// while another token still submits.
func TestMaxQueuedPerToken(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Tokens: MustTokens(t, "alice "+aliceToken+" max-queued=3\nbob "+bobToken+" max-queued=10\n")})
	post := func(token, id string, repeats string) (int, http.Header, []byte) {
		ct, body := multipartBody(hash, part{name: "id", value: id}, part{name: "repeats", value: repeats}, part{name: "start", value: "3600"})
		return doAuth(t, "POST", m.URL+"/tasks", bearer(token), ct, body)
	}
	if code, _, b := post(aliceToken, "a1", "2"); code != 201 {
		t.Fatalf("within alice's quota: %d %s", code, b)
	}
	code, h, b := post(aliceToken, "a2", "2")
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(string(b), "over quota") || !strings.Contains(string(b), "alice") {
		t.Fatalf("past alice's max-queued: %d %v %s", code, h, b)
	}
	if code, _, b := post(bobToken, "b1", "5"); code != 201 {
		t.Fatalf("bob, while alice is at her quota: %d %s", code, b)
	}
	if code, _, b := post(aliceToken, "a3", "1"); code != 201 {
		t.Fatalf("alice, up to her quota: %d %s", code, b)
	}
	if code, _, b := doAuth(t, "DELETE", m.URL+"/tasks/a1", bearer(aliceToken), "", nil); code != 200 {
		t.Fatalf("cancel: %d %s", code, b)
	}
	if code, _, b := post(aliceToken, "a4", "2"); code != 201 {
		t.Fatalf("alice, after canceling made room: %d %s", code, b)
	}
	// A batch counts all its runs against the quota, and is taken all or none.
	batch := `[{"module": "sha256:` + hashCHex + `", "start": 3600}, {"module": "sha256:` + hashCHex + `", "start": 3600}]`
	code, h, b = doAuth(t, "POST", m.URL+"/tasks/batch", bearer(aliceToken), "application/json", []byte(batch))
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(string(b), "alice") {
		t.Fatalf("a batch past alice's max-queued: %d %v %s", code, h, b)
	}
}

// Replaced tokens take effect at once: the old ones are refused.
func TestSetTokens(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Tokens: MustTokens(t, "alice "+aliceToken)})
	if code, _, _ := doAuth(t, "GET", m.URL+"/info", bearer(aliceToken), "", nil); code != 200 {
		t.Fatalf("before: %d", code)
	}
	m.Server.SetTokens(MustTokens(t, "bob "+bobToken))
	if code, _, _ := doAuth(t, "GET", m.URL+"/info", bearer(aliceToken), "", nil); code != 401 {
		t.Fatalf("a removed token: %d, want 401", code)
	}
	if code, _, _ := doAuth(t, "GET", m.URL+"/info", bearer(bobToken), "", nil); code != 200 {
		t.Fatalf("an added token: %d, want 200", code)
	}
}

func TestParseTokens(t *testing.T) {
	good := "# the team's tokens\n\n" +
		"alice " + aliceToken + " max-running=2 max-queued=100 # her laptop\n" +
		"   " + bobToken + "\n" +
		"ci.build_1 ci-0123456789abcdef0123 max-queued=5\n" +
		"ops ops-0123456789abcdef0123 role=admin\n" +
		"dev dev-0123456789abcdef0123 role=owner max-queued=3\n" +
		"c2VjcmV0LXNlY3JldC1zZWNyZXQ= \n" // a base64 token ends with =
	tk, err := httpapi.ParseTokens(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tk.Names(), ","); got != "alice,token-2,ci.build_1,ops,dev,token-6" {
		t.Errorf("names = %s", got)
	}
	if got := strings.Join(tk.Admins(), ","); got != "ops" {
		t.Errorf("admins = %s, want ops", got)
	}
	q := tk.Quotas()
	if len(q) != 3 || q["dev"].MaxQueued != 3 || q["alice"].MaxRunning != 2 || q["alice"].MaxQueued != 100 || q["ci.build_1"].MaxQueued != 5 || q["ci.build_1"].MaxRunning != 0 {
		t.Errorf("quotas = %+v", q)
	}
	for _, c := range []struct{ name, file, err string }{
		{"empty", "# nothing\n\n", "no tokens"},
		{"short", "alice short\n", "line 1: token alice: shorter than 16"},
		{"short alone", "\nshort\n", "line 2: token token-1: shorter than 16"},
		{"duplicate name", "a " + aliceToken + "\na " + bobToken, "line 2: the name a is given twice"},
		{"duplicate token", "a " + aliceToken + "\nb " + aliceToken, "line 2: token b is the same as token a"},
		{"positional name taken", "token-2 " + aliceToken + "\n" + bobToken, "the name token-2 is given twice"},
		{"quota without name", aliceToken + " max-running=2", "a token with limits needs a name"},
		{"bad name", "al/ice " + aliceToken, `name "al/ice"`},
		{"unknown field", "alice " + aliceToken + " max-runs=2", `unknown field "max-runs=2"`},
		{"zero", "alice " + aliceToken + " max-running=0", "max-running=0: want a whole number of runs, at least 1"},
		{"negative", "alice " + aliceToken + " max-queued=-1", "max-queued=-1"},
		{"twice", "alice " + aliceToken + " max-queued=1 max-queued=2", "max-queued given twice"},
		{"unknown role", "alice " + aliceToken + " role=root", "role=root: want role=owner (its own tasks only, the default) or role=admin"},
		{"role twice", "alice " + aliceToken + " role=admin role=owner", "role given twice"},
		{"role without name", aliceToken + " role=admin", "a token with limits needs a name"},
		{"control character", "alice " + aliceToken + "\x01", "printable ASCII"},
		{"non-ascii", "alice " + aliceToken + "é", "printable ASCII"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := httpapi.ParseTokens(strings.NewReader(c.file))
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one containing %q", err, c.err)
			}
		})
	}
}

// The token lookup compares in constant time: it calls
// crypto/subtle.ConstantTimeCompare on every token, with no early exit and
// no == or != that could answer faster for a better guess.
// (A timing measurement would be flaky; the code's shape is what matters.)
func TestTokenLookupIsConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "tokens.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lookup *ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "lookup" {
			lookup = fd
		}
	}
	if lookup == nil {
		t.Fatal("no func lookup in tokens.go")
	}
	var compares, loops int
	ast.Inspect(lookup.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok {
					switch name := x.Name + "." + sel.Sel.Name; name {
					case "subtle.ConstantTimeCompare":
						compares++
					case "bytes.Equal", "strings.EqualFold", "strings.Compare", "bytes.Compare", "slices.Equal":
						t.Errorf("%s: %s is not constant-time", fset.Position(n.Pos()), name)
					}
				}
			}
		case *ast.BinaryExpr:
			if n.Op == token.EQL || n.Op == token.NEQ {
				t.Errorf("%s: %s compares in variable time", fset.Position(n.Pos()), n.Op)
			}
		case *ast.RangeStmt:
			loops++
			ast.Inspect(n.Body, func(m ast.Node) bool {
				switch m := m.(type) {
				case *ast.ReturnStmt, *ast.BranchStmt:
					t.Errorf("%s: the loop over the tokens must not end early", fset.Position(m.Pos()))
				}
				return true
			})
		}
		return true
	})
	if compares != 1 || loops != 1 {
		t.Errorf("lookup: %d calls of subtle.ConstantTimeCompare and %d loops, want one each", compares, loops)
	}
}

func getTaskAuth(tb testing.TB, url, id, token string) api.Task {
	tb.Helper()
	code, _, b := doAuth(tb, "GET", url+"/tasks/"+id, bearer(token), "", nil)
	var v api.Task
	if err := json.Unmarshal(b, &v); code != 200 || err != nil {
		tb.Fatalf("GET /tasks/%s: %d %s", id, code, b)
	}
	return v
}

// hashCHex is the sha256 of wasm.HashC, the module of the `hash` part.
var hashCHex = func() string { s := sha256.Sum256(wasm.HashC); return hex.EncodeToString(s[:]) }()

// /healthz answers anyone, and tells the counts only to a request with a
// valid token (or to anyone when the API has no tokens).
func TestHealthzNeedsNoToken(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Tokens: MustTokens(t, aliceToken), Metrics: true})
	open := meshtest.Start(t, meshtest.Options{})
	for _, c := range []struct {
		url, auth, want string
	}{
		{m.URL + "/healthz", "", `{"status":"ok","role":"gateway"}`},
		{m.URL + "/healthz", bearer("mallory-0123456789abcdef"), `{"status":"ok","role":"gateway"}`},
		{m.Metrics.URL + "/healthz", "", `{"status":"ok","role":"gateway"}`},
		{m.URL + "/healthz", bearer(aliceToken), `{"status":"ok","role":"gateway","workers":0,"tasks":0}`},
		{open.URL + "/healthz", "", `{"status":"ok","role":"gateway","workers":0,"tasks":0}`},
	} {
		code, _, b := doAuth(t, "GET", c.url, c.auth, "", nil)
		var compact bytes.Buffer
		if err := json.Compact(&compact, b); code != 200 || err != nil || compact.String() != c.want {
			t.Errorf("GET %s (%q): %d %s, want 200 %s", c.url, c.auth, code, b, c.want)
		}
	}
	if code, _, _ := doAuth(t, "POST", m.URL+"/healthz", "", "", nil); code != 405 {
		t.Errorf("POST /healthz: %d, want 405", code)
	}
}
