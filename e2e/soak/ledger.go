package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/wasm"
)

// kind is what a task of the soak runs.
type kind string

const (
	kindHash  kind = "hash"  // the C hash puzzle (ww ABI): its result is checked against wasm.Puzzle
	kindHello kind = "hello" // hello with args: its result starts "hello a b"
	kindFlood kind = "flood" // prints input bytes: its result is min(input, --max-output) bytes
	kindStdin kind = "stdin" // hello with a big stdin: its result is --max-output bytes, truncated
)

// entry is an accepted task and what its runs must give.
type entry struct {
	id                string
	kind              kind
	repeats           int
	input, difficulty int64
}

// ledger tracks every task the gateway accepted until it is checked: each
// must end with exactly its repeats, all succeeded, with the right result.
type ledger struct {
	url       string
	maxOutput int
	hc        *http.Client

	mu      sync.Mutex
	pending map[string]*entry
	counts  map[string]int // accepted, runs, ok, failed, lost, duplicated, wrong, purged, by kind
	notes   []string       // the first failures, for the report
	purge   string         // "", "yes" or "no": whether DELETE ?purge=1 removes a task
}

func newLedger(url string, maxOutput int) *ledger {
	return &ledger{url: url, maxOutput: maxOutput, hc: &http.Client{Timeout: 2 * time.Minute},
		pending: map[string]*entry{}, counts: map[string]int{}}
}

func (l *ledger) accepted(e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending[e.id] = e
	l.counts["accepted"]++
	l.counts["accepted "+string(e.kind)]++
	l.counts["runs"] += e.repeats
}

func (l *ledger) add(key string, n int) {
	l.mu.Lock()
	l.counts[key] += n
	l.mu.Unlock()
}

func (l *ledger) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[key]
}

func (l *ledger) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.notes) < 20 {
		l.notes = append(l.notes, fmt.Sprintf(format, args...))
	}
}

func (l *ledger) inFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// checkEnded checks every pending task that has ended, and purges it. It
// returns how many were checked.
func (l *ledger) checkEnded() int {
	l.mu.Lock()
	ids := make([]*entry, 0, len(l.pending))
	for _, e := range l.pending {
		ids = append(ids, e)
	}
	l.mu.Unlock()
	slices.SortFunc(ids, func(a, b *entry) int { return strings.Compare(a.id, b.id) })
	checked := 0
	for _, e := range ids {
		t, err := l.task(e.id)
		if err != nil {
			l.note("%s: %v", e.id, err)
			continue
		}
		if !t.Status.Done() {
			continue
		}
		l.verify(e, t)
		l.mu.Lock()
		delete(l.pending, e.id)
		l.mu.Unlock()
		l.purgeTask(e.id)
		checked++
	}
	return checked
}

func (l *ledger) task(id string) (api.Task, error) {
	var t api.Task
	resp, err := l.hc.Get(l.url + "/tasks/" + id)
	if err != nil {
		return t, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return t, fmt.Errorf("GET /tasks/%s: %s", id, resp.Status)
	}
	return t, json.NewDecoder(resp.Body).Decode(&t)
}

// verify counts an ended task's runs: a run missing is lost, one too many
// (or completions over the repeats) is duplicated, a failed or wrong run
// is counted with its reason.
func (l *ledger) verify(e *entry, t api.Task) {
	ok, failed, wrong := 0, 0, 0
	for _, r := range t.Runs {
		switch {
		case r.Status != api.Succeeded:
			failed++
			l.note("%s (%s) run %d: %s: %s", e.id, e.kind, r.Index, r.Status, r.Error)
		case !l.rightResult(e, r):
			wrong++
			l.note("%s (%s) run %d: wrong result %.40q (%d bytes, truncated %v)", e.id, e.kind, r.Index, r.Result, len(r.Result), r.Truncated)
		default:
			ok++
		}
	}
	lost, dup := max(0, e.repeats-len(t.Runs)), max(0, len(t.Runs)-e.repeats)
	if extra := int(t.Completions) - e.repeats; extra > dup {
		dup = extra
	}
	if lost > 0 || dup > 0 {
		l.note("%s: %d runs and %d completions for %d repeats", e.id, len(t.Runs), t.Completions, e.repeats)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts["checked"]++
	l.counts["ok"] += ok
	l.counts["failed"] += failed
	l.counts["wrong"] += wrong
	l.counts["lost"] += lost
	l.counts["duplicated"] += dup
}

func (l *ledger) rightResult(e *entry, r api.Run) bool {
	switch e.kind {
	case kindHash:
		return r.Result == strconv.FormatInt(wasm.Puzzle(e.input, e.difficulty), 10)
	case kindHello:
		return r.Result == "hello a b\n"
	case kindFlood:
		want := min(int(e.input), l.maxOutput)
		return len(r.Result) == want && r.Truncated == (int(e.input) > l.maxOutput) && strings.HasPrefix(r.Result, "flood 000000000000")
	case kindStdin:
		return len(r.Result) == l.maxOutput && r.Truncated && strings.HasPrefix(r.Result, "hello a b\n")
	}
	return false
}

// purgeTask deletes a checked task with DELETE ?purge=1, and learns from
// the first whether the gateway supports it: a purged task is 404.
func (l *ledger) purgeTask(id string) {
	l.mu.Lock()
	state := l.purge
	l.mu.Unlock()
	if state == "no" {
		return
	}
	req, _ := http.NewRequest(http.MethodDelete, l.url+"/tasks/"+id+"?purge=1", nil)
	resp, err := l.hc.Do(req)
	if err != nil {
		l.note("purge %s: %v", id, err)
		return
	}
	resp.Body.Close()
	if state == "" {
		_, err := l.task(id)
		gone := err != nil && strings.Contains(err.Error(), "404")
		l.mu.Lock()
		l.purge = map[bool]string{true: "yes", false: "no"}[gone]
		l.mu.Unlock()
		if !gone {
			fmt.Printf("NOTE: this gateway does not support DELETE /tasks/{id}?purge=1 yet (%s answered %s, and the task is still there): finished tasks stay, so the database grows\n", id, resp.Status)
			return
		}
	}
	l.add("purged", 1)
}
