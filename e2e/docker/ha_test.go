//go:build docker

package docker

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// TestReplicatedGroup is issue 16's failover on docker: three gateway
// containers as one replicated group (docs/HA.md) on a network of the
// test's own, each with its data on its container's volume, and three
// worker containers that follow the leader (a --dial per member and the
// group's join token). Tasks are submitted all the while through the
// members' APIs in turn, a fourth of them long enough to be in flight at
// each fault:
//
//  1. docker kill of the leader; the two left elect another;
//  2. docker start of the killed member, which catches up as a follower
//     (the group needs it for the next fault: two of three must be up);
//  3. docker network disconnect of the new leader; the other two elect a
//     third; docker network connect, and it follows;
//  4. docker restart of the member killed in 1, whatever it is by then.
//
// Every task the group accepted must succeed with each of its runs counted
// once. It prints the timeline: each fault, each new leader with its
// term, the first run done after each fault, and the totals.
func TestReplicatedGroup(t *testing.T) {
	image := testImage(t)
	wasm, err := os.ReadFile("../../examples/hash.wasm")
	if err != nil {
		t.Fatal(err)
	}
	tl := &timeline{start: time.Now(), log: t.Logf}
	network := fmt.Sprintf("shoal-ha%d", rand.IntN(1_000_000))
	ms, workers := startGroup(t, image, network)
	tl.add(time.Now(), "group up on network %s: 3 gateways, 3 workers of the group in the leader's pool", network)

	l := &submitter{wasm: wasm, members: ms, accepted: map[string]bool{}, failed: map[string]int{}}
	l.start()
	defer l.stop()
	tl.add(time.Now(), "load: a task every 0.1 s on average, through g1, g2 and g3 in turn")

	// inFlight waits until a long run has just started on some worker:
	// the fault that follows hits it mid-run. It returns the runs under
	// way.
	inFlight := func(via *member) []runRef {
		t.Helper()
		var ts []taskJSON
		waitFor(t, time.Minute, "a long run in flight", func() bool {
			ts = via.tasks()
			return slices.ContainsFunc(workers, func(w string) bool { return justStartedLong(ts, w) })
		})
		var runs []runRef
		for _, w := range workers {
			runs = append(runs, runningOn(ts, w)...)
		}
		return runs
	}
	var faults []fault

	// 1. Kill the leader.
	l1, st := leaderAmong(t, ms, 0)
	runs := inFlight(l1)
	at := time.Now()
	docker(t, "kill", l1.container)
	faults = append(faults, fault{at, "docker kill " + l1.name, runs})
	tl.add(at, "docker kill %s, the leader (term %d), %d runs in flight", l1.name, st.Term, len(runs))
	l2, st2 := leaderAmong(t, others(ms, l1), st.Term)
	tl.add(time.Now(), "%s leads, term %d", l2.name, st2.Term)

	// 2. Start it again: a follower that catches up from the log.
	at = time.Now()
	docker(t, "start", l1.container)
	tl.add(at, "docker start %s", l1.name)
	back := waitBack(t, l1, st2.Term)
	tl.add(time.Now(), "%s back: %s (term %d)", l1.name, back.State, back.Term)

	// 3. Cut the leader off the network until the others elect another.
	runs = inFlight(l2)
	at = time.Now()
	docker(t, "network", "disconnect", network, l2.container)
	faults = append(faults, fault{at, "docker network disconnect " + l2.name, runs})
	tl.add(at, "docker network disconnect %s, the leader (term %d), %d runs in flight", l2.name, st2.Term, len(runs))
	l3, st3 := leaderAmong(t, others(ms, l2), st2.Term)
	tl.add(time.Now(), "%s leads, term %d", l3.name, st3.Term)
	docker(t, "network", "connect", network, l2.container)
	tl.add(time.Now(), "docker network connect %s", l2.name)
	back = waitBack(t, l2, st3.Term)
	tl.add(time.Now(), "%s back: %s (term %d)", l2.name, back.State, back.Term)

	// 4. Restart the member killed in 1.
	lead, st4 := leaderAmong(t, ms, 0)
	role := "a follower"
	if lead == l1 {
		role = "the leader"
	}
	runs = inFlight(lead)
	at = time.Now()
	docker(t, "restart", "-t", "5", l1.container)
	faults = append(faults, fault{at, "docker restart " + l1.name, runs})
	tl.add(at, "docker restart %s, %s (term %d), %d runs in flight", l1.name, role, st4.Term, len(runs))
	if lead == l1 {
		l4, st5 := leaderAmong(t, ms, st4.Term)
		tl.add(time.Now(), "%s leads, term %d", l4.name, st5.Term)
	}
	back = waitBack(t, l1, st4.Term)
	tl.add(time.Now(), "%s back: %s (term %d)", l1.name, back.State, back.Term)

	time.Sleep(3 * time.Second) // a last few tasks submitted to the group as it is now
	l.stop()
	tl.add(time.Now(), "load stopped: %d tasks accepted (201), %d submits answered otherwise and tried on the next member (%s)",
		len(l.accepted), l.retries(), l.failures())

	// Every task ends; each one the group holds, every accepted one
	// among them, succeeded with its runs counted once.
	lead, _ = leaderAmong(t, ms, 0)
	var ts []taskJSON
	waitFor(t, 2*time.Minute, "all tasks ended", func() bool {
		ts = lead.tasks()
		return ts != nil && !slices.ContainsFunc(ts, func(tk taskJSON) bool { return tk.Status != "succeeded" && tk.Status != "failed" })
	})
	held := map[string]bool{}
	exactly, total, again := 0, 0, 0
	for _, tk := range ts {
		held[tk.ID] = true
		total += len(tk.Runs)
		for _, r := range tk.Runs {
			if r.Attempt > 0 {
				again++
			}
		}
		if err := exact(tk); err != nil {
			t.Error(err)
		} else {
			exactly++
		}
	}
	for id := range l.accepted {
		if !held[id] {
			t.Errorf("task %s was accepted (201) and is not in the group's store", id)
		}
	}
	tl.add(time.Now(), "all %d tasks ended (%d of them accepted with a 201): %d succeeded with completions = repeats, each run counted once; %d runs, %d of them a retry (attempt > 0)",
		len(ts), len(l.accepted), exactly, total, again)
	// What the workers' logs say of the runs they went on with when their
	// leader was lost (docs/HA.md, "Runs under way at a failover").
	var kept, adopted, declined int
	for i := range workers {
		out := docker(t, "logs", fmt.Sprintf("%s-w%d", network, i+1))
		kept += strings.Count(out, "held for the next gateway") // going on, or ended just before the loss
		adopted += strings.Count(out, "held run adopted and ended")
		declined += strings.Count(out, "a held run is not wanted")
	}
	tl.add(time.Now(), "the workers held %d runs when their gateway was lost (going on, or answered just before): %d adopted by the next leader, %d not wanted by it", kept, adopted, declined)
	for _, f := range faults {
		if done, ok := firstSucceeded(ts, func(r runJSON) bool { return r.Started.After(f.at) }); ok {
			tl.add(done, "first run started after the %s done (%.2f s after it)", f.what, done.Sub(f.at).Seconds())
		}
		if runs := endedAfter(ts, f.runs, f.at); len(runs) > 0 {
			done, _ := doneAt(ts, runs)
			tl.add(done, "the %d runs in flight at the %s all done once, the last %.2f s after it", len(runs), f.what, done.Sub(f.at).Seconds())
		}
	}
	agreed(t, ms)
	fmt.Print(tl)
}

// member is one gateway container of a replicated group: its container's
// name is its host on the group's network, and its API is published on
// the host's loopback.
type member struct {
	name      string // g1, g2 or g3, as the timeline names it
	container string
	*cluster  // its published API; only api is set
}

// raft is the member's view of its group; false when it does not answer.
func (m *member) raft() (api.RaftInfo, bool) {
	var in api.Info
	if !m.getJSON("/info", &in) || in.Raft == nil {
		return api.RaftInfo{}, false
	}
	return *in.Raft, true
}

// raftPort is the members' Raft port on the group's network.
const raftPort = "7000"

// startGroup runs three gateway containers as one group on a network of
// its own, then three workers with the group's join token and a --dial
// for each member, and waits for the workers in the leader's pool. It
// returns the members and the workers' peer IDs. Every container and the
// network are removed when the test ends; the containers' logs are
// printed first if it failed.
func startGroup(t *testing.T, image, network string) ([]*member, []string) {
	docker(t, "network", "create", network)
	var containers []string
	t.Cleanup(func() {
		for _, c := range containers {
			if t.Failed() {
				out, _ := exec.Command("docker", "logs", "--tail", "60", c).CombinedOutput()
				t.Logf("logs of %s:\n%s", c, out)
			}
			_ = exec.Command("docker", "rm", "-f", "-v", c).Run()
		}
		_ = exec.Command("docker", "network", "rm", network).Run()
	})
	run := func(name string, args ...string) {
		containers = append(containers, name)
		docker(t, append([]string{"run", "-d", "--name", name, "--network", network}, args...)...)
	}

	var ms []*member
	var rafts []string
	for i := range 3 {
		m := &member{name: fmt.Sprint("g", i+1), container: fmt.Sprintf("%s-g%d", network, i+1)}
		ms = append(ms, m)
		rafts = append(rafts, m.container+":"+raftPort)
	}
	for i, m := range ms {
		port := freePort(t)
		m.cluster = &cluster{api: "http://127.0.0.1:" + port}
		run(m.container, "-p", "127.0.0.1:"+port+":8080", image, "gateway", "--data", "/data",
			"--listen", "/ip4/0.0.0.0/tcp/4001", "--http", "0.0.0.0:8080", "--discover", "none",
			"--raft", rafts[i], "--peers", strings.Join(rafts, ","))
	}
	lead, _ := leaderAmong(t, ms, 0)
	var jt api.JoinToken
	if !lead.getJSON("/raft/join-token", &jt) || jt.Token == "" {
		t.Fatal("no join token from the group")
	}
	args := []string{image, "worker", "--data", "/data", "--listen", "/ip4/0.0.0.0/tcp/4001", "--discover", "none",
		"--slots", "2", "--join-token", jt.Token}
	for _, m := range ms {
		args = append(args, "--dial", "/dns4/"+m.container+"/tcp/4001/p2p/"+peerOf(t, m.container))
	}
	var workers []string
	for i := range 3 {
		c := fmt.Sprintf("%s-w%d", network, i+1)
		run(c, args...)
		workers = append(workers, peerOf(t, c))
	}
	waitFor(t, time.Minute, "3 workers in the leader's pool", func() bool {
		p := lead.pool()
		return !slices.ContainsFunc(workers, func(w string) bool { _, in := p[w]; return !in })
	})
	return ms, workers
}

// leaderAmong waits for one of ms to lead in a term after the given one,
// its API announced, and returns it with its view of the group.
func leaderAmong(t *testing.T, ms []*member, after uint64) (*member, api.RaftInfo) {
	t.Helper()
	var lead *member
	var st api.RaftInfo
	waitFor(t, time.Minute, fmt.Sprintf("a leader after term %d", after), func() bool {
		for _, m := range ms {
			if s, ok := m.raft(); ok && s.State == "leader" && s.API != "" && s.Term > after {
				lead, st = m, s
				return true
			}
		}
		return false
	})
	return lead, st
}

// waitBack waits for m to answer as a member of the group again: its
// leader, or a follower that knows the leader's API, in term min or
// later. It returns m's view.
func waitBack(t *testing.T, m *member, min uint64) api.RaftInfo {
	t.Helper()
	var st api.RaftInfo
	waitFor(t, time.Minute, m.name+" back in the group", func() bool {
		var ok bool
		st, ok = m.raft()
		return ok && (st.State == "leader" || st.State == "follower") && st.API != "" && st.Term >= min
	})
	return st
}

// agreed checks that every member answers and names the same leader in
// the same term.
func agreed(t *testing.T, ms []*member) {
	t.Helper()
	var views []string
	for _, m := range ms {
		st, ok := m.raft()
		if !ok {
			t.Errorf("%s does not answer at the end", m.name)
			continue
		}
		views = append(views, fmt.Sprintf("term %d, leader %s", st.Term, st.Leader))
	}
	if len(slices.Compact(slices.Clone(views))) != 1 {
		t.Errorf("the members disagree at the end: %q", views)
	}
}

func others(ms []*member, not *member) []*member {
	return slices.DeleteFunc(slices.Clone(ms), func(m *member) bool { return m == not })
}

// fault is one fault of the test: when its command started, and the runs
// in flight then.
type fault struct {
	at   time.Time
	what string
	runs []runRef
}

// endedAfter keeps of runs those whose success ended after t: the runs
// still in flight at t, of those seen running just before.
func endedAfter(ts []taskJSON, runs []runRef, t time.Time) []runRef {
	ended := map[runRef]time.Time{}
	for _, tk := range ts {
		for _, r := range tk.Runs {
			if r.Status == "succeeded" {
				ended[runRef{tk.ID, r.Index}] = r.Ended
			}
		}
	}
	return slices.DeleteFunc(slices.Clone(runs), func(r runRef) bool { return !ended[r].After(t) })
}

// event is one line of a timeline.
type event struct {
	at   time.Time
	what string
}

// timeline collects what happened, logged as it happens and printed at
// the end in order of time, in seconds since start.
type timeline struct {
	start  time.Time
	log    func(format string, args ...any)
	events []event
}

func (tl *timeline) add(at time.Time, format string, args ...any) {
	e := event{at, fmt.Sprintf(format, args...)}
	tl.events = append(tl.events, e)
	tl.log("[%6.2fs] %s", at.Sub(tl.start).Seconds(), e.what)
}

func (tl *timeline) String() string {
	events := slices.Clone(tl.events)
	slices.SortStableFunc(events, func(a, b event) int { return a.at.Compare(b.at) })
	var b strings.Builder
	b.WriteString("timeline:\n")
	for _, e := range events {
		fmt.Fprintf(&b, "  [%6.2fs] %s\n", e.at.Sub(tl.start).Seconds(), e.what)
	}
	return b.String()
}

// submitter submits tasks to the group until stopped: one goroutine per
// member, each through its own member first; a submit answered other than
// 201 (a 503 while the group has no leader, no answer from a member that
// is down or cut off) is tried again with the same id on the next member,
// and a 409 then means an earlier try was stored.
type submitter struct {
	wasm    []byte
	members []*member

	wg   sync.WaitGroup
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	accepted map[string]bool
	failed   map[string]int // answers other than 201 by kind: "503", "no answer"
}

func (s *submitter) start() {
	s.done = make(chan struct{})
	for g := range s.members {
		s.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-s.done:
					return
				case <-time.After(time.Duration(150+rand.IntN(300)) * time.Millisecond):
				}
				s.submit(g, i)
			}
		})
	}
}

// submit gives task i of member g's goroutine to the group: through each
// member in turn, at most two rounds.
func (s *submitter) submit(g, i int) {
	id := fmt.Sprintf("%s-%03d", s.members[g].name, i)
	spec := haSpec(id, i)
	for try := range 2 * len(s.members) {
		code, err := s.members[(g+try)%len(s.members)].submit(s.wasm, spec)
		s.mu.Lock()
		switch {
		case code == http.StatusCreated, code == http.StatusConflict && try > 0:
			s.accepted[id] = true
			s.mu.Unlock()
			return
		case err != nil:
			s.failed["no answer"]++
		default:
			s.failed[fmt.Sprint(code)]++
		}
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *submitter) stop() {
	s.once.Do(func() { close(s.done) })
	s.wg.Wait()
}

func (s *submitter) retries() int {
	n := 0
	for _, c := range s.failed {
		n += c
	}
	return n
}

func (s *submitter) failures() string {
	var parts []string
	for k, c := range s.failed {
		parts = append(parts, fmt.Sprintf("%s: %d", k, c))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// haSpec is task i of the group's load: the hash puzzle at difficulty 5
// (a second or so in the C guest) for every fourth, so that each fault
// finds runs in flight, else 3 (milliseconds); 1 or 2 runs, at once. A
// run may lose its leader to each fault and its worker to none.
func haSpec(id string, i int) map[string]string {
	difficulty := 3
	if i%4 == 0 {
		difficulty = 5
	}
	return map[string]string{
		"id":          id,
		"description": "docker e2e, replicated gateways",
		"duration":    "30",
		"repeats":     fmt.Sprint(1 + i%2),
		"input":       fmt.Sprint(i),
		"difficulty":  fmt.Sprint(difficulty),
		"retries":     "6",
	}
}
