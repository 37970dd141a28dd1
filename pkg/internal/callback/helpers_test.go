package callback_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/callback"
)

// patience bounds a wait for what must happen; it is never a measure of
// speed, only a guard against a test that would hang.
const patience = 30 * time.Second

// fire is a clock whose waits end at once: retries without sleeps.
func fire(time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	c <- time.Time{}
	return c
}

// never is a clock whose waits never end: a retry waits for a newer
// status or the end of Run.
func never(time.Duration) <-chan time.Time { return nil }

// fastConfig is the default configuration with waits that end at once.
func fastConfig() callback.Config {
	cfg := callback.DefaultConfig()
	cfg.After = fire
	return cfg
}

// recorder keeps what a Sender records, by job.
type recorder struct {
	mu    sync.Mutex
	cond  chan struct{} // closed and replaced on each record
	byJob map[string][]api.Callback
}

func newRecorder() *recorder {
	return &recorder{cond: make(chan struct{}), byJob: make(map[string][]api.Callback)}
}

func (r *recorder) record(job string, cb api.Callback) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byJob[job] = append(r.byJob[job], cb)
	close(r.cond)
	r.cond = make(chan struct{})
}

// of returns the records of a job so far.
func (r *recorder) of(job string) []api.Callback {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.byJob[job])
}

// wait returns the records of a job once it has n.
func (r *recorder) wait(tb testing.TB, job string, n int) []api.Callback {
	tb.Helper()
	deadline := time.After(patience)
	for {
		r.mu.Lock()
		got, changed := slices.Clone(r.byJob[job]), r.cond
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			tb.Fatalf("job %s: %d records, want %d: %+v", job, len(got), n, got)
		}
	}
}

// mustStart runs a Sender until the test ends, and fails it if Run does
// not return then.
func mustStart(tb testing.TB, cfg callback.Config, rec *recorder) *callback.Sender {
	tb.Helper()
	s := mustNew(tb, cfg, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(patience):
			tb.Errorf("Run did not return after its context ended")
		}
	})
	return s
}

func mustNew(tb testing.TB, cfg callback.Config, rec *recorder) *callback.Sender {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return callback.New(cfg, nil, rec.record, slog.New(slog.DiscardHandler))
}

// post is one POST an endpoint received.
type post struct {
	job, status, attempt, contentType string
	body                              string
}

// endpoint is an HTTP server on 127.0.0.1 that keeps the POSTs it gets
// and answers each with what answer returns.
type endpoint struct {
	*httptest.Server
	mu    sync.Mutex
	posts []post
}

func mustEndpoint(tb testing.TB, answer func(p post, r *http.Request) int) *endpoint {
	tb.Helper()
	e := &endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p := post{
			job:         r.Header.Get(callback.HeaderJob),
			status:      r.Header.Get(callback.HeaderStatus),
			attempt:     r.Header.Get(callback.HeaderAttempt),
			contentType: r.Header.Get("Content-Type"),
			body:        string(body),
		}
		if r.Method != http.MethodPost {
			p.status = "method " + r.Method
		}
		e.mu.Lock()
		e.posts = append(e.posts, p)
		e.mu.Unlock()
		w.WriteHeader(answer(p, r))
	}))
	tb.Cleanup(e.Close)
	return e
}

// got returns the POSTs received so far for a job.
func (e *endpoint) got(job string) []post {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ps []post
	for _, p := range e.posts {
		if p.job == job {
			ps = append(ps, p)
		}
	}
	return ps
}

func answerWith(code int) func(post, *http.Request) int {
	return func(post, *http.Request) int { return code }
}

// brief is what a test compares of a record: all but its time.
type brief struct {
	Status  api.Status
	Attempt int
	Code    int
}

func briefs(cbs []api.Callback) []brief {
	var bs []brief
	for _, cb := range cbs {
		bs = append(bs, brief{cb.Status, cb.Attempt, cb.Code})
	}
	return bs
}
