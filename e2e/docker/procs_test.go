//go:build docker

package docker

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// procJSON is the part of a process of GET /tasks/{id} the test reads.
type procJSON struct {
	PID    int    `json:"pid"`
	Worker string `json:"worker"`
	Status string `json:"status"`
}

// processes runs the process examples across the containers: hello-spawn's
// lines in Hadean's order, and map-reduce's children on several workers,
// its answer right.
func processes(t *testing.T, c *cluster, say func(string, ...any)) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile("../../examples/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	start := time.Now()
	c.post(t, read("hello-spawn.wasm"), map[string]string{"id": "procs-hello"})
	c.post(t, read("mapreduce.wasm"), map[string]string{"id": "procs-mr"})
	type view struct {
		Status    string     `json:"status"`
		Result    string     `json:"result"`
		Processes []procJSON `json:"processes"`
	}
	var hello, mr view
	waitFor(t, 2*time.Minute, "the process examples ended", func() bool {
		return c.getJSON("/tasks/procs-hello", &hello) && c.getJSON("/tasks/procs-mr", &mr) &&
			hello.Status != "running" && hello.Status != "queued" && mr.Status != "running" && mr.Status != "queued"
	})
	if hello.Status != "succeeded" || mr.Status != "succeeded" || mr.Result != "the answer is 2832\n" {
		t.Fatalf("hello-spawn %s, map-reduce %s %q", hello.Status, mr.Status, mr.Result)
	}
	var logs struct {
		Entries []struct {
			Stream  string `json:"stream"`
			Data    string `json:"data"`
			Process int    `json:"process"`
		} `json:"entries"`
	}
	if !c.getJSON("/tasks/procs-hello/logs", &logs) {
		t.Fatal("no logs of procs-hello")
	}
	var lines []string
	for _, e := range logs.Entries {
		if e.Stream != "stdout" {
			continue
		}
		for l := range strings.SplitSeq(strings.TrimSuffix(e.Data, "\n"), "\n") {
			lines = append(lines, fmt.Sprintf("[%d] %s", e.Process, l))
		}
	}
	want := []string{"[0] parent start", "[1] child start", "[1] child received: parent", "[0] parent received: child", "[0] parent end", "[1] child end"}
	if !slices.Equal(lines, want) {
		t.Fatalf("hello-spawn's output across containers:\n%s", strings.Join(lines, "\n"))
	}
	workers := map[string]bool{}
	for _, p := range mr.Processes[1:] {
		workers[p.Worker] = true
	}
	say("processes: hello-spawn's 6 lines in Hadean's order (parent on %s, child on %s); map-reduce's %d children on %d workers found 2832; %s",
		short(hello.Processes[0].Worker), short(hello.Processes[1].Worker), len(mr.Processes)-1, len(workers), ms(time.Since(start)))
	if len(workers) < 2 {
		t.Errorf("map-reduce's children all ran on one worker: %+v", mr.Processes)
	}
}
