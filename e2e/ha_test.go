//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// info reads GET /info of the gateway at url; ok is false when it does
// not answer.
func info(url string) (api.Info, bool) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url + "/info")
	if err != nil {
		return api.Info{}, false
	}
	defer resp.Body.Close()
	var i api.Info
	return i, json.NewDecoder(resp.Body).Decode(&i) == nil
}

// submitHashes submits n short hash tasks to gw, ids prefix0..., and
// returns their ids.
func submitHashes(t *testing.T, gw, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		out, code := cli(t, gw, "submit", "--id", fmt.Sprint(prefix, i), "--input", "1", "--difficulty", "1", "../examples/hash.wasm")
		if code != 0 {
			t.Fatalf("submit to %s: exit %d: %s", gw, code, out)
		}
		ids = append(ids, strings.Fields(out)[0])
	}
	return ids
}

// served is GET url: its status, the member that answered
// (api.HeaderServedBy) and the index applied to its store
// (api.HeaderApplied), and its body.
func served(t *testing.T, url string) (code int, by string, applied uint64, body []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	applied, _ = strconv.ParseUint(resp.Header.Get(api.HeaderApplied), 10, 64)
	return resp.StatusCode, resp.Header.Get(api.HeaderServedBy), applied, body
}

// readsFromFollower checks that the follower at url (Raft address self)
// answers reads of the tasks ids, submitted through another member, from
// its own store once they are applied to it, and passes a consistent
// read to the leader (Raft address leader).
func readsFromFollower(t *testing.T, url, self, leader string, ids []string) {
	t.Helper()
	var list []api.Task
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, by, applied, body := served(t, url+"/tasks?order=asc")
		if code != 200 || by != "follower "+self || applied == 0 || json.Unmarshal(body, &list) != nil {
			t.Fatalf("GET /tasks of a follower: %d by %q, applied %d: %s", code, by, applied, body)
		}
		if len(list) == len(ids) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // not applied to this member yet
	}
	for i, v := range list {
		if i >= len(ids) || v.ID != ids[i] || v.Status != api.Queued || len(v.Runs) != 1 {
			t.Fatalf("GET /tasks of a follower: task %d: %+v, want %s queued", i, v, ids[i])
		}
	}
	if len(list) != len(ids) {
		t.Fatalf("GET /tasks of a follower: %d tasks in 20 s, want %d", len(list), len(ids))
	}
	if code, by, _, body := served(t, url+"/tasks/"+ids[0]); code != 200 || by != "follower "+self {
		t.Fatalf("GET /tasks/%s of a follower: %d by %q: %s", ids[0], code, by, body)
	}
	if code, by, _, body := served(t, url+"/tasks/"+ids[0]+"?consistent=1"); code != 200 || by != "leader "+leader {
		t.Fatalf("GET /tasks/%s?consistent=1 through a follower: %d by %q, want the leader %s: %s", ids[0], code, by, leader, body)
	}
}

// Three gateways as one replicated group: tasks submitted to a follower
// reach the leader and every member's store, and the other follower
// answers reads of them from its own (a consistent read from the
// leader); kill -9 of the leader, and
// the two left elect another, which holds every task; a worker that
// joins it runs each once. Prints the failover's timeline.
func TestReplicatedGateways(t *testing.T) {
	const n = 3
	var rafts, urls []string
	for range n {
		rafts = append(rafts, freePort(t))
		urls = append(urls, "http://"+freePort(t))
	}
	data := t.TempDir()
	gws := make([]*proc, n)
	for i := range n {
		gws[i] = startNode(t, "gateway", "--data", filepath.Join(data, fmt.Sprint("gw", i)), "--http", strings.TrimPrefix(urls[i], "http://"),
			"--discover", "none", "--raft", rafts[i], "--peers", strings.Join(rafts, ","))
	}
	leader := func(alive []int) (int, api.RaftInfo) {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			for _, i := range alive {
				if in, ok := info(urls[i]); ok && in.Raft != nil && in.Raft.State == "leader" && in.Raft.API == urls[i] {
					return i, *in.Raft
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("no leader announced its API in 20 s")
		return -1, api.RaftInfo{}
	}
	l, st := leader([]int{0, 1, 2})
	t.Logf("leader: gateway %d, term %d, members %v", l, st.Term, st.Members)
	f := (l + 1) % n // a follower
	ids := submitHashes(t, urls[f], "ha", 10)
	if in, ok := info(urls[f]); !ok || in.Raft.State != "follower" || in.Raft.API != urls[l] {
		t.Fatalf("a follower's /info: %+v", in.Raft)
	}
	readsFromFollower(t, urls[(l+2)%n], rafts[(l+2)%n], rafts[l], ids)

	out, code := cli(t, urls[f], "gateways")
	if code != 0 || !strings.Contains(out, rafts[l]+"  leader") || !strings.Contains(out, rafts[f]+"  follower (answered)") || !strings.Contains(out, urls[l]) {
		t.Fatalf("shoal gateways: exit %d:\n%s", code, out)
	}
	// A fourth member joins through a follower's API, then leaves.
	extra := freePort(t)
	startNode(t, "gateway", "--data", filepath.Join(data, "extra"), "--http", freePort(t), "--discover", "none", "--raft", extra, "--raft-join")
	if out, code := cli(t, urls[f], "gateways", "add", extra); code != 0 || !strings.Contains(out, extra+" added to the group") {
		t.Fatalf("gateways add: exit %d: %s", code, out)
	}
	if in, _ := info(urls[l]); len(in.Raft.Members) != 4 {
		t.Fatalf("members after add: %v", in.Raft.Members)
	}
	if out, code := cli(t, urls[f], "gateways", "remove", extra); code != 0 || !strings.Contains(out, "removed from") {
		t.Fatalf("gateways remove: exit %d: %s", code, out)
	}

	// A worker of the group: the group's token and every member's
	// address; it joins the leader, and follows the next by itself.
	token, code := cli(t, urls[f], "gateways", "token")
	if code != 0 {
		t.Fatalf("gateways token: exit %d", code)
	}
	wargs := []string{"worker", "--data", filepath.Join(data, "w"), "--discover", "none", "--join-token", strings.TrimSpace(token), "--slots", "2"}
	for _, g := range gws {
		wargs = append(wargs, "--dial", strings.Split(addrsRE.FindStringSubmatch(g.start)[1], ",")[0]+"/p2p/"+peerRE.FindStringSubmatch(g.start)[1])
	}
	startNode(t, wargs...)
	waitDone := func(url string, ids []string) {
		deadline := time.Now().Add(30 * time.Second)
		for _, id := range ids {
			for {
				v := getTask(t, url, id)
				if v.Status == "succeeded" {
					if len(v.Runs) != 1 {
						t.Fatalf("task %s ran %d times", id, len(v.Runs))
					}
					break
				}
				if v.Status == "failed" || time.Now().After(deadline) {
					t.Fatalf("task %s: %+v", id, v)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	waitDone(urls[f], ids)

	killed := time.Now()
	if err := gws[l].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var alive []int
	for i := range n {
		if i != l {
			alive = append(alive, i)
		}
	}
	l2, st2 := leader(alive)
	elected := time.Since(killed)
	if st2.Term <= st.Term {
		t.Fatalf("the new leader's term %d, the old one's %d", st2.Term, st.Term)
	}
	other := alive[0]
	if other == l2 {
		other = alive[1]
	}
	after := submitHashes(t, urls[other], "after", 10)
	waitDone(urls[other], after[:1])
	firstDone := time.Since(killed)
	waitDone(urls[other], after)
	t.Logf("timeline: kill -9 of gateway %d (term %d) at 0 s; gateway %d leads (term %d) at %.2f s; the worker followed it by itself and the first task submitted after the kill was done at %.2f s; all %d tasks done once each",
		l, st.Term, l2, st2.Term, elected.Seconds(), firstDone.Seconds(), len(ids)+len(after))
}
