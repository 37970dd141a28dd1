package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// call is method url with a bearer token (none when ""): its status,
// headers and body.
func call(tb testing.TB, method, url, token, ct string, body []byte) (int, http.Header, []byte) {
	tb.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// Three gateways in one process as a replicated group, with tokens: a
// task submitted through one follower is read from the other follower's
// store once applied there, with the tokens and roles of the leader's
// API; a consistent read through it is the leader's.
func TestReplicatedGroupReads(t *testing.T) {
	const rootToken = "root-0123456789abcdef0"
	tokens := MustWriteFile(t, "tokens", []byte("alice "+aliceToken+"\nbob "+bobToken+"\nroot "+rootToken+" role=admin\n"))
	if err := os.Chmod(tokens, 0o600); err != nil {
		t.Fatal(err)
	}
	var rafts []string
	for range 3 {
		rafts = append(rafts, fmt.Sprint("127.0.0.1:", mustFreePort(t)))
	}
	urls := make([]string, 3)
	for i := range urls {
		g := MustStartGateway(t, "--http", "127.0.0.1:0", "--api-token-file", tokens, "--raft", rafts[i], "--peers", strings.Join(rafts, ","))
		urls[i] = g.fields["http"]
	}
	leader := -1
	meshtest.Eventually(t, "a leader announced its API", func() bool {
		for i, u := range urls {
			code, _, b := call(t, "GET", u+"/info", rootToken, "", nil)
			var in api.Info
			if code == 200 && json.Unmarshal(b, &in) == nil && in.Raft != nil && in.Raft.State == "leader" && in.Raft.API == u {
				leader = i
				return true
			}
		}
		return false
	})
	f1, f2 := urls[(leader+1)%3], urls[(leader+2)%3]
	self2, leaderRaft := rafts[(leader+2)%3], rafts[leader]

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("id", "x")
	_ = mw.WriteField("start", "3600")
	w, _ := mw.CreateFormFile("wasm", "hash.wasm")
	_, _ = w.Write(wasm.HashC)
	_ = mw.Close()
	if code, _, b := call(t, "POST", f1+"/tasks", aliceToken, mw.FormDataContentType(), body.Bytes()); code != 201 {
		t.Fatalf("submit through a follower: %d %s", code, b)
	}
	var h http.Header
	var b []byte
	meshtest.Eventually(t, "the task is applied to the other follower's store", func() bool {
		var code int
		code, h, b = call(t, "GET", f2+"/tasks/x", aliceToken, "", nil)
		return code == 200
	})
	var v api.Task
	if err := json.Unmarshal(b, &v); err != nil || v.ID != "x" || v.Owner != "alice" || v.Status != api.Scheduled || h.Get(api.HeaderServedBy) != "follower "+self2 || h.Get(api.HeaderApplied) == "" {
		t.Fatalf("the task read from a follower: %v %+v, served by %q, applied %q", err, v, h.Get(api.HeaderServedBy), h.Get(api.HeaderApplied))
	}
	for _, c := range []struct {
		path, token string
		code        int
		by          string
	}{
		{"/tasks/x", bobToken, 404, "follower " + self2}, // another owner's
		{"/tasks/x", rootToken, 200, "follower " + self2},
		{"/tasks/x", "", 401, "follower " + self2},
		{"/tasks?status=scheduled", aliceToken, 200, "follower " + self2},
		{"/tasks/x?consistent=1", aliceToken, 200, "leader " + leaderRaft},
		{"/tasks/x?consistent=1", bobToken, 404, "leader " + leaderRaft},
	} {
		code, h, b := call(t, "GET", f2+c.path, c.token, "", nil)
		if code != c.code || h.Get(api.HeaderServedBy) != c.by {
			t.Errorf("GET %s as %q: %d by %q, want %d by %q: %s", c.path, c.token, code, h.Get(api.HeaderServedBy), c.code, c.by, b)
		}
	}
}
