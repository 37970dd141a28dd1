package callback_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/callback"
)

// Each answer decides whether a status is POSTed again, and what the
// last record says.
func TestAnswers(t *testing.T) {
	tests := []struct {
		code      int
		attempts  int    // POSTs made, of 3 allowed
		lastError string // in the last record's error; "" for none
	}{
		{http.StatusOK, 1, ""},
		{http.StatusNoContent, 1, ""},
		{http.StatusFound, 1, "not retried"},
		{http.StatusBadRequest, 1, "not retried"},
		{http.StatusNotFound, 1, "not retried"},
		{http.StatusGone, 1, "not retried"},
		{http.StatusRequestTimeout, 3, "gave up after attempt 3"},
		{http.StatusTooManyRequests, 3, "gave up after attempt 3"},
		{http.StatusInternalServerError, 3, "gave up after attempt 3"},
		{http.StatusServiceUnavailable, 3, "gave up after attempt 3"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			cfg := fastConfig()
			cfg.Attempts = 3
			rec := newRecorder()
			ep := mustEndpoint(t, answerWith(tt.code))
			s := mustStart(t, cfg, rec)
			s.Send("j", ep.URL, api.Running, []byte(`{"id":"j"}`))

			got := rec.wait(t, "j", tt.attempts)
			var want []brief
			for i := range tt.attempts {
				want = append(want, brief{api.Running, i + 1, tt.code})
			}
			if !slices.Equal(briefs(got), want) {
				t.Fatalf("records %+v, want %+v", briefs(got), want)
			}
			last := got[len(got)-1].Error
			if tt.lastError == "" && last != "" || !strings.Contains(last, tt.lastError) {
				t.Errorf("last error %q, want it to say %q", last, tt.lastError)
			}
			if n := len(ep.got("j")); n != tt.attempts {
				t.Errorf("endpoint got %d POSTs, want %d", n, tt.attempts)
			}
		})
	}
}

// A 500 then a 200: two attempts recorded, each POST as the rules say.
func TestRetryThenDelivered(t *testing.T) {
	rec := newRecorder()
	ep := mustEndpoint(t, func(p post, _ *http.Request) int {
		if p.attempt == "1" {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	s := mustStart(t, fastConfig(), rec)
	body := `{"id":"j1","status":"succeeded"}`
	s.Send("j1", ep.URL, api.Succeeded, []byte(body))

	got := rec.wait(t, "j1", 2)
	want := []brief{{api.Succeeded, 1, 500}, {api.Succeeded, 2, 200}}
	if !slices.Equal(briefs(got), want) {
		t.Fatalf("records %+v, want %+v", briefs(got), want)
	}
	if got[0].Error == "" || got[1].Error != "" {
		t.Errorf("errors %q, %q: want the failure's only", got[0].Error, got[1].Error)
	}
	if got[0].Time.IsZero() || got[1].Time.Before(got[0].Time) {
		t.Errorf("times %v, %v", got[0].Time, got[1].Time)
	}
	wantPosts := []post{
		{"j1", "succeeded", "1", "application/json", body},
		{"j1", "succeeded", "2", "application/json", body},
	}
	if ps := ep.got("j1"); !slices.Equal(ps, wantPosts) {
		t.Errorf("POSTs %+v, want %+v", ps, wantPosts)
	}
}

// An endpoint that does not answer: every attempt recorded, without a
// code; then the POSTs stop.
func TestNoServer(t *testing.T) {
	ep := mustEndpoint(t, answerWith(http.StatusOK))
	url := ep.URL
	ep.Close()
	cfg := fastConfig()
	cfg.Attempts = 2
	rec := newRecorder()
	s := mustStart(t, cfg, rec)
	s.Send("j", url, api.Failed, nil)

	got := rec.wait(t, "j", 2)
	want := []brief{{api.Failed, 1, 0}, {api.Failed, 2, 0}}
	if !slices.Equal(briefs(got), want) {
		t.Fatalf("records %+v, want %+v", briefs(got), want)
	}
	if e := got[1].Error; !strings.Contains(e, "gave up") || strings.Contains(e, url) {
		t.Errorf("error %q: want why, without the url", e)
	}
}

// Each job's statuses arrive in the order sent, though the first POST of
// "running" fails and jobs are delivered at once. ("running" is retried,
// or abandoned if "succeeded" is already queued: either keeps the order.)
func TestOrder(t *testing.T) {
	rec := newRecorder()
	ep := mustEndpoint(t, func(p post, _ *http.Request) int {
		if p.status == string(api.Running) && p.attempt == "1" {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	s := mustStart(t, fastConfig(), rec)
	statuses := []api.Status{api.Queued, api.Running, api.Succeeded}
	const jobs = 20
	for _, st := range statuses {
		for i := range jobs {
			job := fmt.Sprint("j", i)
			s.Send(job, ep.URL, st, []byte(job))
		}
	}
	for i := range jobs {
		job := fmt.Sprint("j", i)
		got := rec.wait(t, job, 4) // running's second record: its retry or its abandonment
		var posted []api.Status
		for _, p := range ep.got(job) {
			posted = append(posted, api.Status(p.status))
		}
		if !slices.Equal(slices.Compact(posted), statuses) {
			t.Errorf("job %s: POSTs of %v, want each of %v in order", job, posted, statuses)
		}
		if last := got[len(got)-1]; last.Status != api.Succeeded || last.Code != 200 {
			t.Errorf("job %s: last record %+v, want succeeded delivered", job, last)
		}
	}
}

// An endpoint that hangs holds back only its own job: another job's
// callback is delivered meanwhile, and with one worker, once Timeout ends
// the hung POST.
func TestHungEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		timeout time.Duration
	}{
		{"another worker", 2, time.Hour},
		{"after the timeout", 1, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hung := make(chan struct{}, 1)
			slow := mustEndpoint(t, func(_ post, r *http.Request) int {
				hung <- struct{}{}
				<-r.Context().Done()
				return http.StatusOK
			})
			fast := mustEndpoint(t, answerWith(http.StatusOK))
			cfg := fastConfig()
			cfg.Workers = tt.workers
			cfg.Timeout = tt.timeout
			cfg.Attempts = 1
			rec := newRecorder()
			s := mustStart(t, cfg, rec)

			s.Send("slow", slow.URL, api.Running, nil)
			<-hung
			s.Send("fast", fast.URL, api.Running, nil)
			got := rec.wait(t, "fast", 1)
			if want := []brief{{api.Running, 1, 200}}; !slices.Equal(briefs(got), want) {
				t.Fatalf("fast job's records %+v, want %+v", briefs(got), want)
			}
			if tt.workers == 1 {
				slowGot := rec.of("slow")
				if len(slowGot) != 1 || !strings.Contains(slowGot[0].Error, "no answer within") {
					t.Errorf("slow job's records %+v, want its timeout before the fast one", slowGot)
				}
			}
		})
	}
}

// A newer status cuts short the retries of a failing older one, which is
// recorded as abandoned; the newer is then delivered.
func TestAbandonedForNewer(t *testing.T) {
	ep := mustEndpoint(t, func(p post, _ *http.Request) int {
		if p.status == string(api.Running) {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	cfg := callback.DefaultConfig()
	cfg.After = never // the retry of "running" waits until "succeeded" comes
	rec := newRecorder()
	s := mustStart(t, cfg, rec)

	s.Send("j", ep.URL, api.Running, nil)
	rec.wait(t, "j", 1)
	s.Send("j", ep.URL, api.Succeeded, nil)

	got := rec.wait(t, "j", 3)
	want := []brief{{api.Running, 1, 500}, {api.Running, 0, 0}, {api.Succeeded, 1, 200}}
	if !slices.Equal(briefs(got), want) {
		t.Fatalf("records %+v, want %+v", briefs(got), want)
	}
	if e := got[1].Error; !strings.HasPrefix(e, "abandoned after attempt 1: succeeded") {
		t.Errorf("abandoned with error %q", e)
	}
}

// Past MaxPending, Send drops without blocking, and the drops are
// recorded once Run runs, up to MaxPending of them.
func TestQueueFull(t *testing.T) {
	ep := mustEndpoint(t, answerWith(http.StatusOK))
	cfg := fastConfig()
	cfg.MaxPending = 2
	rec := newRecorder()
	s := mustNew(t, cfg, rec)

	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for _, st := range []api.Status{api.Queued, api.Running, api.Succeeded} {
			s.Send("a", ep.URL, st, nil)
		}
		for range 100 {
			s.Send("b", ep.URL, api.Queued, nil)
		}
	}()
	select {
	case <-sent:
	case <-time.After(patience):
		t.Fatal("Send blocked with its queue full")
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	a := rec.wait(t, "a", 3)
	b := rec.wait(t, "b", 1)
	delivered := []brief{{api.Queued, 1, 200}, {api.Running, 1, 200}}
	if got := briefs(slices.DeleteFunc(slices.Clone(a), dropped)); !slices.Equal(got, delivered) {
		t.Errorf("job a delivered %+v, want %+v", got, delivered)
	}
	if d := slices.DeleteFunc(slices.Clone(a), notDropped); len(d) != 1 || d[0].Status != api.Succeeded {
		t.Errorf("job a: drops recorded %+v, want succeeded's", d)
	}
	// The drops past the first two were logged, not kept.
	if d := slices.DeleteFunc(slices.Clone(b), notDropped); len(d) != 1 || len(b) != 1 {
		t.Errorf("job b: records %+v, want one drop", b)
	}
}

func dropped(cb api.Callback) bool {
	return cb.Attempt == 0 && strings.HasPrefix(cb.Error, "dropped")
}

func notDropped(cb api.Callback) bool { return !dropped(cb) }

// Run returns once its context ends, with a POST in flight cut and not
// recorded; Send still returns at once afterwards.
func TestRunStops(t *testing.T) {
	hung := make(chan struct{}, 1)
	ep := mustEndpoint(t, func(_ post, r *http.Request) int {
		hung <- struct{}{}
		<-r.Context().Done()
		return http.StatusOK
	})
	rec := newRecorder()
	s := mustNew(t, fastConfig(), rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	s.Send("j", ep.URL, api.Running, nil)
	<-hung
	cancel()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("Run did not return after its context ended")
	}
	if got := rec.of("j"); len(got) != 0 {
		t.Errorf("records %+v of a POST cut by the end of Run", got)
	}
	for range 2 * callback.DefaultConfig().MaxPending {
		s.Send("j", ep.URL, api.Succeeded, nil)
	}
}

// Backoff doubles from First up to Max, jittered down to no less than
// half; the waits go through Config.After.
func TestBackoffWaits(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	cfg := callback.DefaultConfig()
	cfg.Attempts = 5
	cfg.First = 100 * time.Millisecond
	cfg.Max = 300 * time.Millisecond
	cfg.After = func(d time.Duration) <-chan time.Time {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return fire(d)
	}
	ep := mustEndpoint(t, answerWith(http.StatusBadGateway))
	rec := newRecorder()
	s := mustStart(t, cfg, rec)
	s.Send("j", ep.URL, api.Failed, nil)
	rec.wait(t, "j", 5)

	mu.Lock()
	defer mu.Unlock()
	ceilings := []time.Duration{100, 200, 300, 300}
	if len(waits) != len(ceilings) {
		t.Fatalf("waits %v, want %d", waits, len(ceilings))
	}
	for i, c := range ceilings {
		c *= time.Millisecond
		if waits[i] < c/2 || waits[i] > c {
			t.Errorf("wait %d: %v, want in [%v, %v]", i+1, waits[i], c/2, c)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		field string
		bad   func(*callback.Config)
	}{
		{"Attempts", func(c *callback.Config) { c.Attempts = 0 }},
		{"First", func(c *callback.Config) { c.First = 0 }},
		{"Max", func(c *callback.Config) { c.Max = c.First / 2 }},
		{"Timeout", func(c *callback.Config) { c.Timeout = -time.Second }},
		{"MaxPending", func(c *callback.Config) { c.MaxPending = 0 }},
		{"Workers", func(c *callback.Config) { c.Workers = 0 }},
	}
	if err := callback.DefaultConfig().Validate(); err != nil {
		t.Fatalf("the default: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			cfg := callback.DefaultConfig()
			tt.bad(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("error %v, want one naming %s", err, tt.field)
			}
		})
	}
}
