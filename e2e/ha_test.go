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
	wargs := []string{"worker", "--data", filepath.Join(data, "w"), "--discover", "none", "--join-token", strings.TrimSpace(token), "--slots", "3"}
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

	// Two runs under way at the kill, on two of the worker's three slots (the
	// module is compiled there already): the next leader adopts them
	// from the worker, which went on with them, rather than run them
	// again.
	var long []string
	for i := range 2 {
		out, code := cli(t, urls[f], "submit", "--id", fmt.Sprint("long", i), "--input", fmt.Sprint(i), "--difficulty", "6", "--duration", "2m", "../examples/hash.wasm")
		if code != 0 {
			t.Fatalf("submit: exit %d: %s", code, out)
		}
		long = append(long, strings.Fields(out)[0])
	}
	for _, id := range long {
		for deadline := time.Now().Add(20 * time.Second); getTask(t, urls[l], id).Status != "running"; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("task %s not running after 20 s", id)
			}
		}
	}

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
	watched := watchFailover(t, urls, alive, killed)
	l2, st2 := leader(alive)
	if st2.Term <= st.Term {
		t.Fatalf("the new leader's term %d, the old one's %d", st2.Term, st.Term)
	}
	other := alive[0]
	if other == l2 {
		other = alive[1]
	}
	submitted := time.Since(killed)
	after := submitHashes(t, urls[other], "after", 10)
	waitDone(urls[other], after[:1])
	firstDone := time.Since(killed)
	waitDone(urls[other], after)
	waitDone(urls[other], long)
	for _, id := range long {
		if v := getTask(t, urls[other], id); v.Runs[0].Attempt != 0 {
			t.Errorf("task %s under way at the kill ran again: %+v", id, v)
		}
	}
	if got := metric(t, urls[l2], "shoal_runs_adopted_total"); got != float64(len(long)) {
		t.Errorf("runs adopted by the new leader: %v, want %d", got, len(long))
	}
	fo := <-watched
	// The first run the new leader dispatched: the earliest start the
	// gateway recorded (it places a run and calls the worker at once).
	var dispatched time.Time
	for _, id := range after {
		for _, r := range getTask(t, urls[l2], id).Runs {
			if dispatched.IsZero() || r.Started.Before(dispatched) {
				dispatched = r.Started
			}
		}
	}
	t.Logf("timeline: kill -9 of gateway %d (term %d) at 0 s; gateway %d elected (term %d) at %s, leading with its API announced at %s; the worker joined it by itself at %s; tasks submitted from %.2f s; the first run dispatched by the new leader at %.2f s, done at %.2f s; the %d runs under way at the kill adopted from the worker, not run again; all %d tasks done once each",
		l, st.Term, l2, st2.Term, fo.elected, fo.announced, fo.joined, submitted.Seconds(), dispatched.Sub(killed).Seconds(), firstDone.Seconds(), len(long), len(ids)+len(after)+len(long))
}

// failover is when, after a leader's kill, the others saw each step of
// a failover: as durations since the kill, "-" for one not seen.
type failover struct{ elected, announced, joined string }

// watchFailover polls the members alive every 10 ms from the kill: the
// first to say it is the leader (elected), to announce its own API as the
// leader's (announced), and to count a worker (joined: only a leader's
// gateway counts them). It sends what it saw once it saw all three, or
// after 20 s.
func watchFailover(t *testing.T, urls []string, alive []int, killed time.Time) <-chan failover {
	out := make(chan failover, 1)
	go func() {
		var elected, announced, joined time.Duration
		for deadline := killed.Add(20 * time.Second); time.Now().Before(deadline) && (elected == 0 || announced == 0 || joined == 0); time.Sleep(10 * time.Millisecond) {
			for _, i := range alive {
				if in, ok := info(urls[i]); ok && in.Raft != nil && in.Raft.State == "leader" {
					if elected == 0 {
						elected = time.Since(killed)
					}
					if announced == 0 && in.Raft.API == urls[i] {
						announced = time.Since(killed)
					}
				}
				var h api.Health
				if getJSON(t, urls[i]+"/healthz", &h); h.Workers != nil && *h.Workers > 0 && joined == 0 {
					joined = time.Since(killed)
				}
			}
		}
		seconds := func(d time.Duration) string {
			if d == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f s", d.Seconds())
		}
		out <- failover{seconds(elected), seconds(announced), seconds(joined)}
	}()
	return out
}

// metric reads the value of an unlabeled metric from gw's /metrics.
func metric(t *testing.T, gw, name string) float64 {
	t.Helper()
	resp, err := http.Get(gw + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, line, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s at %s/metrics", name, gw)
	return 0
}
