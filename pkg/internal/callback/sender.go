package callback

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// Keys of the Sender's log lines.
const (
	keyJob     = "job"
	keyStatus  = "status"
	keyAttempt = "attempt"
	keyErr     = "err"
	keyCount   = "count"
)

// Sender delivers jobs' statuses to their callback URLs (doc.go): Send
// queues a delivery, Run makes them.
type Sender struct {
	cfg    Config
	client *http.Client
	record func(job string, a api.Callback)
	log    *slog.Logger

	// ready holds each job whose first delivery is to be made, at most
	// once, and never while a worker is making it. Only jobs with a
	// delivery queued are in it, and they are at most MaxPending, its
	// capacity: a send to it never blocks.
	ready chan string
	// dropped wakes the goroutine that records drops.
	dropped chan struct{}

	mu      sync.Mutex
	jobs    map[string]*line // jobs with a delivery queued
	pending int              // deliveries in all lines
	drops   []drop           // drops not yet recorded, at most MaxPending
}

// line is one job's deliveries, oldest first. The first is being made
// (or is next, when the job is in ready); the others wait behind it.
type line struct {
	queue []delivery
	// newer wakes the worker waiting to retry the first delivery: one was
	// queued behind it. A token may be stale; the worker looks at queue.
	newer chan struct{}
}

// delivery is one status of a job to POST.
type delivery struct {
	url    string
	status api.Status
	body   []byte
}

// drop is the record of a delivery Send did not queue.
type drop struct {
	job string
	cb  api.Callback
}

// New returns a Sender that makes no delivery until Run. client nil is
// one that follows no redirects (a 3xx answer is final). record is called
// once per attempt, and for each delivery dropped or abandoned (doc.go),
// always from the Sender's own goroutines, never from Send: the caller of
// Send may hold locks that record takes. cfg must be valid (Validate).
func New(cfg Config, client *http.Client, record func(job string, a api.Callback), logger *slog.Logger) *Sender {
	if client == nil {
		client = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	return &Sender{
		cfg:     cfg,
		client:  client,
		record:  record,
		log:     logger.With("component", "callback"),
		ready:   make(chan string, cfg.MaxPending),
		dropped: make(chan struct{}, 1),
		jobs:    make(map[string]*line),
	}
}

// Send queues a POST of body (the JSON of the job, status its status) to
// url, after the job's earlier deliveries. It never blocks: past
// MaxPending queued deliveries the status is dropped, and recorded so.
// An empty url sends nothing. body is kept: the caller must not change it.
func (s *Sender) Send(job, url string, status api.Status, body []byte) {
	if url == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending >= s.cfg.MaxPending {
		s.dropLocked(job, status)
		return
	}
	s.pending++
	l := s.jobs[job]
	if l == nil {
		l = &line{newer: make(chan struct{}, 1)}
		s.jobs[job] = l
		s.ready <- job // never blocks: see ready
	}
	l.queue = append(l.queue, delivery{url: url, status: status, body: body})
	if len(l.queue) > 1 {
		select {
		case l.newer <- struct{}{}:
		default:
		}
	}
}

// dropLocked keeps the record of a dropped delivery for the drops
// goroutine, and wakes it.
func (s *Sender) dropLocked(job string, status api.Status) {
	if len(s.drops) >= s.cfg.MaxPending {
		s.log.Warn("callback dropped, and too many drops to record it", keyJob, job, keyStatus, status)
		return
	}
	s.log.Warn("callback dropped: queue full", keyJob, job, keyStatus, status)
	s.drops = append(s.drops, drop{job: job, cb: api.Callback{
		Time:   time.Now(),
		Status: status,
		Error:  fmt.Sprintf("dropped: %d callbacks already queued", s.cfg.MaxPending),
	}})
	select {
	case s.dropped <- struct{}{}:
	default:
	}
}

// Run makes the queued deliveries, Workers at a time, until ctx ends; it
// returns when its goroutines have stopped. A POST in flight is cut and not
// recorded; deliveries still queued are not made (their count is logged).
// Call Run once.
func (s *Sender) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() { s.work(ctx) })
	}
	wg.Go(func() { s.recordDrops(ctx) })
	wg.Wait()
	s.mu.Lock()
	left := s.pending
	s.mu.Unlock()
	if left > 0 {
		s.log.Info("stopped with callbacks not delivered", keyCount, left)
	}
}

// work makes the first delivery of each ready job, one job at a time.
func (s *Sender) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-s.ready:
			s.deliverFirst(ctx, job)
		}
	}
}

// deliverFirst makes a job's first delivery, then puts the job back at
// the end of ready if it has more: a job with many statuses takes turns
// with the others.
func (s *Sender) deliverFirst(ctx context.Context, job string) {
	s.mu.Lock()
	l := s.jobs[job]
	d := l.queue[0]
	s.mu.Unlock()

	ended := s.deliver(ctx, job, l, d)

	s.mu.Lock()
	defer s.mu.Unlock()
	if !ended {
		s.ready <- job // cut by the end of Run: it stays first
		return
	}
	l.queue[0] = delivery{}
	l.queue = l.queue[1:]
	s.pending--
	if len(l.queue) == 0 {
		delete(s.jobs, job)
		return
	}
	s.ready <- job
}

// recordDrops records the drops Send kept, outside of Send.
func (s *Sender) recordDrops(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dropped:
		}
		s.mu.Lock()
		drops := s.drops
		s.drops = nil
		s.mu.Unlock()
		for _, d := range drops {
			s.record(d.job, d.cb)
		}
	}
}
