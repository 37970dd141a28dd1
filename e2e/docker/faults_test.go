//go:build docker

package docker

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// spec is what task i asks for: some runs of the hash puzzle at difficulty
// 5 (tenths of a second to a second or so in the C guest: at 4 they take
// tens of milliseconds, and a fault waiting for one on a given worker
// could miss them all), so that every fault below finds runs in flight,
// the rest at difficulty 3 (milliseconds); 1 to 3 runs each, spread over
// about half a minute by start and delay.
func spec(i int) map[string]string {
	difficulty := 3
	if i%3 == 0 {
		difficulty = 5
	}
	return map[string]string{
		"id":          fmt.Sprintf("t%03d", i),
		"description": "docker e2e",
		"complete":    "0",
		"duration":    "20",
		"start":       fmt.Sprint(2 * (i % 10)),
		"delay":       "4",
		"repeats":     fmt.Sprint(1 + (i/3)%3),
		"input":       fmt.Sprint(i),
		"difficulty":  fmt.Sprint(difficulty),
		// One run may lose its worker to each of the three faults.
		"retries": "4",
	}
}

// TestCluster is issue 6's scenario: the compose file's gateway and three
// workers, which find the gateway by themselves, run 100 tasks while a
// worker is killed (docker kill) and started again, another is cut off its
// network (docker network disconnect) and connected again, and the
// gateway is killed and started again on its volume. Every task must
// succeed with exactly its number of runs as completions. Then the same
// cluster runs the process examples and jobs: the example pipeline, and a
// job whose worker is killed in the middle of a step. It prints what it
// did and when, and the figures.
func TestCluster(t *testing.T) {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	c := MustStartCluster(t)
	say("project %s up with %s; API on %s", c.project, strings.Join(c.compose, " "), c.api)

	gwC := c.container(t, "gateway")
	workerC := map[string]string{}  // service -> container
	workerID := map[string]string{} // service -> peer ID
	for _, s := range []string{"worker1", "worker2", "worker3"} {
		workerC[s] = c.container(t, s)
		workerID[s] = peerOf(t, workerC[s])
	}
	gwID := peerOf(t, gwC)
	inPool := func(ids ...string) func() bool {
		return func() bool {
			p := c.pool()
			for _, id := range ids {
				if _, ok := p[id]; !ok {
					return false
				}
			}
			return true
		}
	}
	all := []string{workerID["worker1"], workerID["worker2"], workerID["worker3"]}
	waitFor(t, time.Minute, "3 workers in the pool", inPool(all...))
	say("gateway %s; 3 workers read its join token from the shared volume, found it by discovery and joined its pool (no --dial)", short(gwID))
	for s, ctr := range workerC {
		logs := docker(t, "logs", ctr)
		if !strings.Contains(logs, "gateway="+gwID) {
			t.Fatalf("%s did not take gateway %s from its join token:\n%s", s, gwID, logs)
		}
	}

	wasm, err := os.ReadFile("../../examples/hash.wasm")
	if err != nil {
		t.Fatal(err)
	}
	const tasks = 100
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < tasks; i += 4 {
				c.post(t, wasm, spec(i))
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	say("%d tasks submitted (examples/hash.wasm, difficulty 3 and 5, 1-3 runs each)", tasks)

	// 1. docker kill a worker while it runs something long that has just
	// started.
	var interrupted []runRef
	busy := func(id string, runs *[]runRef) func() bool {
		return func() bool {
			ts := c.tasks()
			*runs = runningOn(ts, id)
			return justStartedLong(ts, id)
		}
	}
	victim := workerID["worker1"]
	waitFor(t, time.Minute, "a run on worker1", busy(victim, &interrupted))
	killed := time.Now()
	docker(t, "kill", workerC["worker1"])
	say("docker kill worker1 (%s) with %d runs on it", short(victim), len(interrupted))
	waitFor(t, 15*time.Second, "worker1 out of the pool", func() bool {
		p := c.pool()
		_, in := p[victim]
		return p != nil && !in
	})
	requeued := time.Since(killed)
	interrupted = unfinished(c.tasks(), interrupted, victim)
	say("its runs queued again %s after the kill (%d of them were cut short)", ms(requeued), len(interrupted))
	redone := redoneAfter(t, c, "worker1's interrupted runs done elsewhere", interrupted, killed)
	if len(interrupted) > 0 {
		say("its %d interrupted runs succeeded on other workers %s after the kill", len(interrupted), ms(redone))
	}
	started := time.Now()
	docker(t, "start", workerC["worker1"])
	waitFor(t, 30*time.Second, "worker1 back in the pool", inPool(victim))
	say("docker start worker1: back in the pool %s after the start, same peer ID (its volume)", ms(time.Since(started)))

	// 2. Cut another worker off the network, then connect it again.
	cut := workerID["worker2"]
	network := docker(t, "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", workerC["worker2"])
	var partitioned []runRef
	waitFor(t, time.Minute, "a run on worker2", busy(cut, &partitioned))
	disconnected := time.Now()
	docker(t, "network", "disconnect", network, workerC["worker2"])
	say("docker network disconnect %s worker2 (%s) with %d runs on it", network, short(cut), len(partitioned))
	waitFor(t, 15*time.Second, "worker2 out of the pool", func() bool {
		p := c.pool()
		_, in := p[cut]
		return p != nil && !in
	})
	lost := time.Since(disconnected)
	partitioned = unfinished(c.tasks(), partitioned, cut)
	say("gateway dropped worker2 %s after the disconnect; its runs queued again (%d of them were cut short)", ms(lost), len(partitioned))
	time.Sleep(max(0, 3*time.Second-time.Since(disconnected)))
	docker(t, "network", "connect", network, workerC["worker2"])
	rejoined := waitFor(t, 30*time.Second, "worker2 back in the pool", inPool(cut))
	say("docker network connect: worker2 rejoined discovery on its new interface and the pool %s later", ms(rejoined))
	redoneCut := redoneAfter(t, c, "worker2's cut-off runs done", partitioned, disconnected)
	if len(partitioned) > 0 {
		say("worker2's %d cut-off runs succeeded again %s after the disconnect", len(partitioned), ms(redoneCut))
	}

	// 3. Kill the gateway and start it again on its volume.
	waitFor(t, time.Minute, "a run in flight", func() bool {
		for _, w := range c.pool() {
			if w.Used > 0 {
				return true
			}
		}
		return false
	})
	before := completions(c.tasks())
	docker(t, "kill", gwC)
	say("docker kill the gateway with %d of the runs done", before)
	restarted := time.Now()
	docker(t, "start", gwC)
	waitFor(t, 30*time.Second, "the gateway's API", func() bool { return c.pool() != nil })
	up := time.Since(restarted)
	if id := peerAfterStarts(t, gwC, 2); id != gwID {
		t.Fatalf("the gateway came back as %s, was %s", id, gwID)
	}
	if kept := completions(c.tasks()); kept < before {
		t.Fatalf("the restarted gateway has %d runs done, had %d", kept, before)
	}
	var first time.Duration
	waitFor(t, time.Minute, "a result after the restart", func() bool {
		at, ok := firstSucceeded(c.tasks(), func(r runJSON) bool { return r.Ended.After(restarted) })
		first = at.Sub(restarted)
		return ok
	})
	waitFor(t, 30*time.Second, "3 workers back with the gateway", inPool(all...))
	say("docker start the gateway: same peer ID, %d runs done kept; API up %s, first result %s, all 3 workers back %s after the start",
		before, ms(up), ms(first), ms(time.Since(restarted)))

	// Every task ends succeeded, each with exactly its runs as completions.
	waitFor(t, 2*time.Minute, "all tasks ended", func() bool {
		ts := c.tasks()
		if len(ts) != tasks {
			return false
		}
		for _, tk := range ts {
			if tk.Status != "succeeded" && tk.Status != "failed" {
				return false
			}
		}
		return true
	})
	ts := c.tasks()
	runs, retried := 0, 0
	for _, tk := range ts {
		for _, r := range tk.Runs {
			runs++
			if r.Attempt > 0 {
				retried++
			}
		}
		if err := exact(tk); err != nil {
			t.Error(err)
		}
	}
	say("all %d tasks succeeded, each with completions = repeats: %d runs, %d of them tried again after losing a worker or the gateway", len(ts), runs, retried)
	if !inPool(all...)() {
		t.Error("not all 3 workers are in the pool at the end")
	}
	processes(t, c, say)
	containers := map[string]string{} // peer ID -> container
	for s, id := range workerID {
		containers[id] = workerC[s]
	}
	jobs(t, c, say, containers)
	fmt.Printf("figures: worker kill to runs queued again %s, to its runs done elsewhere %s; network cut to worker dropped %s, to its runs done elsewhere %s; reconnect to back in the pool %s; gateway start to first result %s; total %s\n",
		ms(requeued), redoneText(redone, len(interrupted)), ms(lost), redoneText(redoneCut, len(partitioned)), ms(rejoined), ms(first), ms(time.Since(start)))
}

// redoneAfter waits until runs have all succeeded and returns how long
// after since the last of them ended; 0 when there are none (the runs on a
// worker may all have ended before it was cut off).
func redoneAfter(t *testing.T, c *cluster, what string, runs []runRef, since time.Time) time.Duration {
	t.Helper()
	if len(runs) == 0 {
		return 0
	}
	var d time.Duration
	waitFor(t, time.Minute, what, func() bool {
		at, ok := doneAt(c.tasks(), runs)
		d = at.Sub(since)
		return ok
	})
	return d
}

// redoneText is a redoneAfter figure, or says there was nothing to redo.
func redoneText(d time.Duration, runs int) string {
	if runs == 0 {
		return "n/a (none was cut short)"
	}
	return ms(d)
}

// runRef names one run of a task.
type runRef struct {
	task  string
	index int
}

// runningOn returns the runs running on worker.
func runningOn(ts []taskJSON, worker string) []runRef {
	var out []runRef
	for _, tk := range ts {
		for _, r := range tk.Runs {
			if r.Worker == worker && r.Status == "running" {
				out = append(out, runRef{tk.ID, r.Index})
			}
		}
	}
	return out
}

// justStartedLong reports whether worker runs a run of difficulty 4 or
// more (the long ones of the tests' loads) that started less than 300 ms
// ago: a fault now hits it mid-run.
func justStartedLong(ts []taskJSON, worker string) bool {
	for _, tk := range ts {
		for _, r := range tk.Runs {
			if r.Worker == worker && r.Status == "running" && tk.Difficulty >= 4 && time.Since(r.Started) < 300*time.Millisecond {
				return true
			}
		}
	}
	return false
}

// unfinished drops from runs those that worker finished before it was
// cut off.
func unfinished(ts []taskJSON, runs []runRef, worker string) []runRef {
	finished := map[runRef]bool{}
	for _, tk := range ts {
		for _, r := range tk.Runs {
			if r.Status == "succeeded" && r.Worker == worker {
				finished[runRef{tk.ID, r.Index}] = true
			}
		}
	}
	var out []runRef
	for _, r := range runs {
		if !finished[r] {
			out = append(out, r)
		}
	}
	return out
}

// doneAt reports whether each of the runs has succeeded, and when the
// last of them ended (the gateway's clock, which is the host's).
func doneAt(ts []taskJSON, runs []runRef) (time.Time, bool) {
	ended := map[runRef]time.Time{}
	for _, tk := range ts {
		for _, r := range tk.Runs {
			if r.Status == "succeeded" {
				ended[runRef{tk.ID, r.Index}] = r.Ended
			}
		}
	}
	var last time.Time
	for _, r := range runs {
		at, ok := ended[r]
		if !ok {
			return time.Time{}, false
		}
		if at.After(last) {
			last = at
		}
	}
	return last, ts != nil
}

// firstSucceeded returns the end of the first run that succeeded of those
// that keep accepts.
func firstSucceeded(ts []taskJSON, keep func(runJSON) bool) (time.Time, bool) {
	var first time.Time
	for _, tk := range ts {
		for _, r := range tk.Runs {
			if r.Status == "succeeded" && keep(r) && (first.IsZero() || r.Ended.Before(first)) {
				first = r.Ended
			}
		}
	}
	return first, !first.IsZero()
}

func completions(ts []taskJSON) int {
	n := 0
	for _, tk := range ts {
		n += int(tk.Completions)
	}
	return n
}

// exact checks that a task succeeded with one success per run and
// completions equal to its repeats, all runs giving the same result.
func exact(tk taskJSON) error {
	if tk.Status != "succeeded" || tk.Completions != int64(tk.Repeats) {
		return fmt.Errorf("task %s: %s with %d completions, want succeeded with exactly %d", tk.ID, tk.Status, tk.Completions, tk.Repeats)
	}
	succeeded := map[int]int{}
	result := ""
	for _, r := range tk.Runs {
		if r.Status != "succeeded" {
			continue
		}
		succeeded[r.Index]++
		if result == "" {
			result = r.Result
		}
		if r.Result != result || result == "" {
			return fmt.Errorf("task %s: run %d gave %q, another %q", tk.ID, r.Index, r.Result, result)
		}
	}
	for i := range tk.Repeats {
		if succeeded[i] != 1 {
			return fmt.Errorf("task %s: run %d succeeded %d times, want once: %+v", tk.ID, i, succeeded[i], tk.Runs)
		}
	}
	if len(succeeded) != tk.Repeats {
		return fmt.Errorf("task %s: successes for runs %v, want runs 0..%d", tk.ID, succeeded, tk.Repeats-1)
	}
	return nil
}

func short(id string) string { return "…" + id[max(0, len(id)-6):] }
