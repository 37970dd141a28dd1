package callback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// The headers of every POST, besides Content-Type.
const (
	HeaderJob     = "X-Shoal-Job"     // the job's id
	HeaderStatus  = "X-Shoal-Status"  // the status the body tells
	HeaderAttempt = "X-Shoal-Attempt" // 1 for the first POST of this status
)

// drainLimit bounds the bytes of an answer read so that its connection
// can serve the next POST; the answer's body means nothing.
const drainLimit = 4 << 10

// deliver POSTs d until it is delivered, fails for good, runs out of
// attempts or is abandoned for a newer status of the job in l, recording
// each attempt and the abandonment. It reports false when ctx ended first:
// the delivery is then not over, and a POST that ctx cut is not recorded.
func (s *Sender) deliver(ctx context.Context, job string, l *line, d delivery) bool {
	for attempt := 1; ; attempt++ {
		cb, retry := s.post(ctx, job, d, attempt)
		if ctx.Err() != nil && cb.Code == 0 {
			return false // cut by the end of Run: no answer to record
		}
		last := !retry || attempt == s.cfg.Attempts
		switch {
		case cb.Error == "":
		case !retry:
			cb.Error += "; not retried"
		case last:
			cb.Error += fmt.Sprintf("; gave up after attempt %d", attempt)
		}
		s.record(job, cb)
		if cb.Error != "" {
			s.log.Debug("callback failed", keyJob, job, keyStatus, d.status, keyAttempt, attempt, keyErr, cb.Error)
		}
		if last {
			return true
		}
		newer, ok := s.wait(ctx, l, backoff(s.cfg.First, s.cfg.Max, attempt, rand.Float64()))
		if ctx.Err() != nil {
			return false
		}
		if !ok {
			s.record(job, api.Callback{
				Time:   time.Now(),
				Status: d.status,
				Error:  fmt.Sprintf("abandoned after attempt %d: %s is newer", attempt, newer),
			})
			return true
		}
	}
}

// wait waits d before the next attempt of l's first delivery. It returns
// ok false, with the status queued next, as soon as l holds a newer
// delivery (or ctx ends).
func (s *Sender) wait(ctx context.Context, l *line, d time.Duration) (newer api.Status, ok bool) {
	fire := s.cfg.After(d)
	for {
		s.mu.Lock()
		if len(l.queue) > 1 {
			newer = l.queue[1].status
		}
		s.mu.Unlock()
		if newer != "" {
			return newer, false
		}
		select {
		case <-ctx.Done():
			return "", false
		case <-fire:
			return "", true
		case <-l.newer:
		}
	}
}

// post makes one attempt, and reports whether a failure may be retried.
func (s *Sender) post(ctx context.Context, job string, d delivery, attempt int) (cb api.Callback, retry bool) {
	cb = api.Callback{Time: time.Now(), Status: d.status, Attempt: attempt}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		cb.Error = fmt.Sprintf("bad callback url: %v", err)
		return cb, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderJob, job)
	req.Header.Set(HeaderStatus, string(d.status))
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	resp, err := s.client.Do(req)
	if err != nil {
		cb.Error = s.postError(ctx, err)
		return cb, !errors.Is(err, ErrForbidden)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	_ = resp.Body.Close()
	cb.Code = resp.StatusCode
	if cb.Code >= 200 && cb.Code < 300 {
		return cb, false
	}
	// The server's own reason phrase is not shown: it is any text.
	cb.Error = fmt.Sprintf("answered %d %s", cb.Code, http.StatusText(cb.Code))
	return cb, retryable(cb.Code)
}

// postError says why a POST got no answer, without the URL (the job shows
// it already).
func (s *Sender) postError(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %v", s.cfg.Timeout)
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	return err.Error()
}

// retryable reports whether an answer of this HTTP status is tried again:
// 408, 429 and 5xx are; any other that is not 2xx is final.
func retryable(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code < 600
}

// backoff is the wait after the given attempt: first doubled per earlier
// attempt, capped at limit, then jittered by u (in [0, 1)) down to as little
// as half, so that the callbacks of many jobs to one server spread out.
func backoff(first, limit time.Duration, attempt int, u float64) time.Duration {
	d := first
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + time.Duration(u*float64(d/2))
}
