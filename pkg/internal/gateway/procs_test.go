package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/p2p"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

// logEntries returns a task's log entries.
func logEntries(tb testing.TB, url, id string) []api.LogEntry {
	tb.Helper()
	resp, err := http.Get(url + "/tasks/" + id + "/logs")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var logs api.Logs
	if err := json.NewDecoder(resp.Body).Decode(&logs); err != nil {
		tb.Fatal(err)
	}
	return logs.Entries
}

// lines are the whole lines of the entries of stream, each prefixed with
// its pid.
func lines(entries []api.LogEntry, stream string) []string {
	var out []string
	for _, e := range entries {
		if e.Stream != stream {
			continue
		}
		for l := range strings.SplitSeq(strings.TrimSuffix(e.Data, "\n"), "\n") {
			out = append(out, "["+strconv.Itoa(e.Process)+"] "+l)
		}
	}
	return out
}

// The hello example of Hadean: a parent spawns a child, each sends the
// other a string, and their output comes in the order the messages
// force, each line with its pid; the task's view shows the tree, and its
// log the reservations, taken and given back.
func TestHelloSpawn(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(map[int]string{1: "one worker", 2: "two workers"}[workers], func(t *testing.T) {
			m := meshtest.Start(t, meshtest.Options{Workers: workers, Slots: 1})
			m.WaitWorkers(workers)
			mustPost(t, m.URL, field{name: "id", value: "hello"}, field{name: "wasm", file: wasm.HelloSpawn})
			v := waitDone(t, m.URL, "hello")
			if v.Status != task.Succeeded {
				t.Fatalf("hello: %s: %+v", v.Status, v.Runs)
			}
			entries := logEntries(t, m.URL, "hello")
			want := []string{"[0] parent start", "[1] child start", "[1] child received: parent", "[0] parent received: child", "[0] parent end", "[1] child end"}
			if got := lines(entries, "stdout"); !slices.Equal(got, want) {
				t.Fatalf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			shoal := lines(entries, "shoal")
			if len(shoal) != 2 || !strings.HasPrefix(shoal[0], "[1] Reserving resources for 1 on ") || !strings.HasPrefix(shoal[1], "[1] Releasing resources for 1 on ") ||
				!strings.Contains(shoal[0], "delta: cores=1/16,memory=64 MiB") {
				t.Fatalf("reservation lines: %q", shoal)
			}
			if len(v.Processes) != 2 {
				t.Fatalf("processes: %+v", v.Processes)
			}
			root, child := v.Processes[0], v.Processes[1]
			if root.PID != 0 || root.Parent != -1 || child.PID != 1 || child.Parent != 0 || child.Status != task.Succeeded ||
				child.Key != "hello/0#0.1" || child.Worker == "" || child.Cores != 0.063 || child.Memory != 64<<20 {
				t.Fatalf("tree: %+v", v.Processes)
			}
		})
	}
}

// The map-reduce example finds the hash puzzle's answer with children on
// both workers.
func TestMapReduce(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 2, Slots: 1})
	m.WaitWorkers(2)
	mustPost(t, m.URL, field{name: "id", value: "mr"}, field{name: "wasm", file: wasm.MapReduce})
	v := waitDone(t, m.URL, "mr")
	if v.Status != task.Succeeded || v.Result != "the answer is 2832\n" {
		t.Fatalf("mapreduce: %s %q: %+v", v.Status, v.Result, v.Runs)
	}
	if len(v.Processes) != 5 {
		t.Fatalf("want the root and 4 children: %+v", v.Processes)
	}
	workers := map[string]bool{}
	for _, p := range v.Processes[1:] {
		workers[p.Worker] = true
		if p.Status != task.Succeeded {
			t.Errorf("child %d: %s %q", p.PID, p.Status, p.Error)
		}
	}
	if len(workers) != 2 {
		t.Errorf("children ran on %d workers, want 2: %+v", len(workers), v.Processes)
	}
}

// Messages between processes on two workers go through the gateway until
// the sender's worker has a path of its own to the receiver's, then
// straight there.
func TestDirectMessages(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 2, Slots: 1})
	m.WaitWorkers(2)
	mustPost(t, m.URL, field{name: "id", value: "mr"}, field{name: "wasm", file: wasm.MapReduce},
		field{name: "args", value: "0"}, field{name: "args", value: "4"}, field{name: "args", value: "2"})
	v := waitDone(t, m.URL, "mr")
	if v.Status != task.Succeeded {
		t.Fatalf("mapreduce: %s %q", v.Status, v.Result)
	}
	var direct, relayed int64
	for _, w := range m.Workers() {
		d, r := w.Worker.Messages()
		direct, relayed = direct+d, relayed+r
	}
	t.Logf("messages between workers: %d direct, %d through the gateway", direct, relayed)
	if direct == 0 {
		t.Fatalf("%d messages went straight to the other worker, %d through the gateway", direct, relayed)
	}
}

// A worker hands its mailboxes only to a peer that proves it holds the
// cluster's join secret.
func TestMeshNeedsTheJoinSecret(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1})
	m.WaitWorkers(1)
	target := m.Workers()[0].Host
	stranger := mustHost(t, p2p.HostConfig{})
	ctx := context.Background()
	if err := stranger.Connect(ctx, peer.AddrInfo{ID: target.ID(), Addrs: target.Addrs()}); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string][]byte{"no proof": nil, "another cluster's secret": testSecret} {
		t.Run(name, func(t *testing.T) {
			conn, err := rpc.Dial(ctx, stranger, target.ID(), quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			boot := wire.Mesh(conn.Bootstrap(ctx))
			defer boot.Release()
			var proof []byte
			if secret != nil {
				f, release := boot.Challenge(ctx, nil)
				res, err := f.Struct()
				if err != nil {
					t.Fatal(err)
				}
				nonce, _ := res.Nonce()
				proof = join.Proof(secret, nonce, target.ID(), stranger.ID())
				release()
			}
			f, release := boot.Mailboxes(ctx, func(p wire.Mesh_mailboxes_Params) error { return p.SetProof(proof) })
			defer release()
			if _, err := f.Struct(); err == nil || !strings.Contains(err.Error(), "not admitted") {
				t.Fatalf("mailboxes without the cluster's secret: %v", err)
			}
		})
	}
}

// A task that asks for more cores or memory than any worker offers could
// never start: it is refused, naming the field; one that fits a worker
// once it is free waits.
func TestUnplaceableTaskRefused(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1})
	m.WaitWorkers(1)
	for name, value := range map[string]string{"cores": "64", "memory": "64GiB"} {
		ct, form := form(field{name: "wasm", file: wasm.HashC}, field{name: name, value: value})
		resp, err := http.Post(m.URL+"/tasks", ct, form)
		if err != nil {
			t.Fatal(err)
		}
		var e api.Error
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Field != name || !strings.Contains(e.Message, "no worker could ever take it") {
			t.Errorf("%s=%s: %d %+v", name, value, resp.StatusCode, e)
		}
	}
	v := mustPost(t, m.URL, field{name: "wasm", file: wasm.HashC}, field{name: "cores", value: "2"}, field{name: "difficulty", value: "1"})
	if got := waitDone(t, m.URL, v.ID); got.Status != task.Succeeded {
		t.Fatalf("a task of all a worker's cores: %s", got.Status)
	}
}

// A gateway's default requirements apply to the tasks that name none:
// their runs reserve them, and the reservation lines show it.
func TestTaskDefaultRequirements(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.TaskCores, cfg.TaskMemory = 63, 8<<20
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Gateway: &cfg})
	m.WaitWorkers(1)
	v := mustPost(t, m.URL, field{name: "wasm", file: wasm.HashC}, field{name: "difficulty", value: "1"})
	if v.Cores != 0.063 || v.Memory != 8<<20 {
		t.Fatalf("the task reserves cores %v, memory %d", v.Cores, v.Memory)
	}
	waitDone(t, m.URL, v.ID)
	shoal := lines(logEntries(t, m.URL, v.ID), "shoal")
	if len(shoal) != 2 || !strings.Contains(shoal[0], "Reserving resources for 0 on ") || !strings.Contains(shoal[0], "delta: cores=1/16,memory=8 MiB") {
		t.Fatalf("reservation lines: %q", shoal)
	}
	own := mustPost(t, m.URL, field{name: "wasm", file: wasm.HashC}, field{name: "cores", value: "0.5"})
	if own.Cores != 0.5 || own.Memory != 8<<20 {
		t.Fatalf("a task naming its cores: cores %v, memory %d", own.Cores, own.Memory)
	}
}
