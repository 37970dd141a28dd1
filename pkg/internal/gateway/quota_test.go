package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

const (
	aliceToken = "alice-0123456789abcdef"
	bobToken   = "bob-0123456789abcdef0"
)

// postAs submits a task with a bearer token.
func postAs(tb testing.TB, url, token string, fields ...field) api.Task {
	tb.Helper()
	ct, body := form(fields...)
	req, _ := http.NewRequest("POST", url+"/tasks", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v api.Task
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &v) != nil {
		tb.Fatalf("POST /tasks: %d %s", resp.StatusCode, b)
	}
	return v
}

// maxOverlap is the most runs that were running at one instant.
func maxOverlap(runs []task.Run) int {
	type event struct {
		at    time.Time
		delta int
	}
	var evs []event
	for _, r := range runs {
		evs = append(evs, event{r.Started, 1}, event{r.Ended, -1})
	}
	// At the same instant an end comes first: the slot was free again.
	slices.SortFunc(evs, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	n, most := 0, 0
	for _, e := range evs {
		n += e.delta
		most = max(most, n)
	}
	return most
}

// One owner's runs never exceed its max-running, though the pool has room
// for all of them; another owner's runs take the rest of the pool meanwhile
// instead of waiting behind them.
func TestMaxRunningInACluster(t *testing.T) {
	tokens, err := httpapi.ParseTokens(strings.NewReader("alice " + aliceToken + " max-running=2\nbob " + bobToken + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := meshtest.Start(t, meshtest.Options{Workers: 3, Slots: 2, Tokens: tokens})
	m.WaitWorkers(3)
	// A few tenths of a second of hashing a run, six runs: three rounds of two.
	postAs(t, m.URL, aliceToken, field{name: "id", value: "alice-task"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "0"}, field{name: "difficulty", value: "4"}, field{name: "repeats", value: "6"}, field{name: "duration", value: "30"})
	postAs(t, m.URL, bobToken, field{name: "id", value: "bob-task"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "0"}, field{name: "difficulty", value: "1"}, field{name: "repeats", value: "4"})
	a := waitDoneAuth(t, m.URL, aliceToken, "alice-task")
	b := waitDoneAuth(t, m.URL, bobToken, "bob-task")
	if a.Status != task.Succeeded || b.Status != task.Succeeded || a.Owner != "alice" || b.Owner != "bob" {
		t.Fatalf("alice's task %s (owner %q), bob's %s (owner %q)", a.Status, a.Owner, b.Status, b.Owner)
	}
	if n := maxOverlap(a.Runs); n != 2 {
		t.Errorf("alice had up to %d runs running at once, want her max-running, 2", n)
	}
	lastA := slices.MaxFunc(a.Runs, func(x, y task.Run) int { return x.Started.Compare(y.Started) })
	for _, r := range b.Runs {
		if !r.Ended.Before(lastA.Started) {
			t.Errorf("bob's run %d ended at %v, after alice's last run started (%v): it waited behind alice's queue", r.Index, r.Ended, lastA.Started)
		}
	}
}

// waitDoneAuth polls a task, with a token, until it has ended.
func waitDoneAuth(tb testing.TB, url, token, id string) api.Task {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", url+"/tasks/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		var v api.Task
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil {
			tb.Fatal(err)
		}
		if v.Status.Done() {
			return v
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(v, "", " ")
			tb.Fatalf("task %s still %s after 30s: %s", id, v.Status, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
