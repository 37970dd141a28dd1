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
	"sync"
	"testing"
	"time"

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

// Three gateways of a group and a worker of the group, in one process,
// under load through the followers: the leader stopped mid-load (it hangs
// up on its worker, whose runs under way go on for the next leader); then
// it comes back on an empty disk and catches up, and its store answers
// every task. Every task accepted ends succeeded with one run.
func TestReplicatedGroupUnderLoad(t *testing.T) {
	const n = 3
	var rafts, urls, dirs []string
	for range n {
		rafts = append(rafts, fmt.Sprint("127.0.0.1:", mustFreePort(t)))
		urls = append(urls, fmt.Sprint("http://127.0.0.1:", mustFreePort(t)))
		dirs = append(dirs, t.TempDir())
	}
	start := func(i int) *node {
		return MustStartNode(t, "gateway", "--data", dirs[i], "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0",
			"--http", strings.TrimPrefix(urls[i], "http://"), "--raft", rafts[i], "--peers", strings.Join(rafts, ","))
	}
	gws := make([]*node, n)
	for i := range n {
		gws[i] = start(i)
	}
	leader := func(not int) int {
		l := -1
		meshtest.Eventually(t, "a leader announced its API", func() bool {
			for i, u := range urls {
				if i == not {
					continue
				}
				code, _, b := call(t, "GET", u+"/info", "", "", nil)
				var in api.Info
				if code == 200 && json.Unmarshal(b, &in) == nil && in.Raft != nil && in.Raft.State == "leader" && in.Raft.API == u {
					l = i
					return true
				}
			}
			return false
		})
		return l
	}
	l := leader(-1)
	_, _, b := call(t, "GET", urls[l]+"/raft/join-token", "", "", nil)
	var jt api.JoinToken
	if err := json.Unmarshal(b, &jt); err != nil || jt.Token == "" {
		t.Fatalf("join token: %v %s", err, b)
	}
	wargs := []string{"worker", "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0", "--slots", "4", "--join-token", jt.Token}
	for _, g := range gws {
		wargs = append(wargs, "--dial", strings.Split(g.fields["addrs"], ",")[0]+"/p2p/"+g.fields["peer"])
	}
	MustStartNode(t, wargs...)

	// The load: a task every 20 ms, through each member in turn; one not
	// answered, or refused for want of a leader (503), is sent again with
	// the same id to the next (a 409 then: an earlier try was stored).
	var mu sync.Mutex
	accepted := map[string]bool{}
	stop := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			id := fmt.Sprint("t", i)
			for try := 0; try < 50; try++ {
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				_ = mw.WriteField("id", id)
				_ = mw.WriteField("difficulty", fmt.Sprint(1+i%4))
				_ = mw.WriteField("input", fmt.Sprint(i))
				w, _ := mw.CreateFormFile("wasm", "hash.wasm")
				_, _ = w.Write(wasm.HashC)
				_ = mw.Close()
				req, _ := http.NewRequest("POST", urls[(i+try)%n]+"/tasks", &body)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusCreated || (try > 0 && resp.StatusCode == http.StatusConflict) {
						mu.Lock()
						accepted[id] = true
						mu.Unlock()
						break
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted)
	}
	meshtest.Eventually(t, "20 tasks accepted", func() bool { return count() >= 20 })
	if code := gws[l].stop(); code != 0 {
		t.Fatalf("the leader exited %d: %s", code, gws[l].stderr.String())
	}
	l2 := leader(l)
	before := count()
	meshtest.Eventually(t, "20 more tasks accepted by the next leader", func() bool { return count() >= before+20 })

	// The stopped member back on an empty disk: it catches up from the
	// others (a snapshot and the log), and answers every task itself.
	dirs[l] = t.TempDir()
	gws[l] = start(l)
	close(stop)
	<-loaded
	for id := range accepted {
		meshtest.Eventually(t, "task "+id+" succeeded", func() bool {
			code, _, b := call(t, "GET", urls[l2]+"/tasks/"+id, "", "", nil)
			var v api.Task
			return code == 200 && json.Unmarshal(b, &v) == nil && v.Status == api.Succeeded
		})
		code, _, b := call(t, "GET", urls[l2]+"/tasks/"+id, "", "", nil)
		var v api.Task
		if err := json.Unmarshal(b, &v); err != nil || code != 200 || v.Completions != 1 || len(v.Runs) != 1 {
			t.Fatalf("task %s: %d %v %+v", id, code, err, v)
		}
	}
	meshtest.Eventually(t, "the member back on an empty disk answers every task", func() bool {
		for id := range accepted {
			code, h, b := call(t, "GET", urls[l]+"/tasks/"+id, "", "", nil)
			var v api.Task
			if code != 200 || json.Unmarshal(b, &v) != nil || v.Status != api.Succeeded || !strings.HasPrefix(h.Get(api.HeaderServedBy), "follower ") {
				return false
			}
		}
		return true
	})
	t.Logf("%d tasks accepted, each succeeded once; leader %d stopped after %d, %d led after it", len(accepted), l, before, l2)
}

// The flags of a group member name what to fix.
func TestGatewayRaftFlagErrors(t *testing.T) {
	raft := "127.0.0.1:7946"
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"log without raft", []string{"--raft-log", "wal"}, "--peers, --raft-join and --raft-log need --raft"},
		{"bad log", []string{"--raft", raft, "--peers", raft, "--raft-log", "zip"}, `--raft-log: "zip" is not a kind of log: wal or bolt`},
		{"bad multiplier", []string{"--raft", raft, "--peers", raft, "--raft-multiplier", "0"}, "--raft-multiplier 0: from 1 to 10"},
		{"even group", []string{"--raft", raft, "--peers", raft + ",127.0.0.1:7947"}, "--peers: 2 members"},
	} {
		t.Run(c.name, func(t *testing.T) {
			shoal(t, append([]string{"gateway", "--data", t.TempDir(), "--discover", "none", "--http", "127.0.0.1:0"}, c.args...)...).want(t, 1, nil, []string{"shoal: gateway: " + c.want})
		})
	}
}

// A member's store file is written without sync and made again from the
// Raft log at each start, so one left torn (here: overwritten with junk)
// is dropped, not refused, whichever kind of log the member keeps.
func TestMemberDropsATornStore(t *testing.T) {
	for _, kind := range []string{"wal", "bolt"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			raft := fmt.Sprint("127.0.0.1:", mustFreePort(t))
			url := fmt.Sprint("http://127.0.0.1:", mustFreePort(t))
			start := func(args ...string) *node {
				return MustStartNode(t, append([]string{"gateway", "--data", dir, "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0",
					"--http", strings.TrimPrefix(url, "http://"), "--raft", raft, "--peers", raft}, args...)...)
			}
			g := start("--raft-log", kind)
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			_ = mw.WriteField("id", "kept")
			w, _ := mw.CreateFormFile("wasm", "hash.wasm")
			_, _ = w.Write(wasm.HashC)
			_ = mw.Close()
			meshtest.Eventually(t, "the task accepted by the group of one", func() bool {
				code, _, _ := call(t, "POST", url+"/tasks", "", mw.FormDataContentType(), body.Bytes())
				return code == http.StatusCreated
			})
			if code := g.stop(); code != 0 {
				t.Fatalf("exit %d: %s", code, g.stderr.String())
			}
			if err := os.WriteFile(dir+"/gateway.db", bytes.Repeat([]byte("torn"), 4096), 0o600); err != nil {
				t.Fatal(err)
			}
			start() // its kind from the directory
			meshtest.Eventually(t, "the task read back from the log", func() bool {
				code, _, _ := call(t, "GET", url+"/tasks/kept", "", "", nil)
				return code == http.StatusOK
			})
		})
	}
}
