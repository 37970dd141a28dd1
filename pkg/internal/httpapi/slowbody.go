package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// slowBody bounds how slowly a request body may arrive, with the
// connection's read deadline (http.ResponseController): a read waits at
// most idle for its next bytes, and the body as a whole must come at rate
// bytes a second or faster, averaged over the time spent waiting for it,
// with idle to spare. A steady upload on a slow link (a 100 MB module at
// 100 KB/s) goes through; a body trickled a byte a second, which would
// hold a connection and a handler for as long as the client likes, fails
// after about idle. The average, and not only the wait for the next byte,
// is what a trickle cannot pass: it keeps sending, just too little. Only
// time spent in Read counts: a handler that works between reads (checks a
// part of a form) is not the client's delay.
type slowBody struct {
	body   io.ReadCloser
	rc     *http.ResponseController
	idle   time.Duration
	rate   int64 // bytes per second
	n      int64 // bytes read
	waited time.Duration
	err    error // sticks: a deadline that passed has broken the connection
}

func newSlowBody(w http.ResponseWriter, body io.ReadCloser, idle time.Duration, rate int64) *slowBody {
	return &slowBody{body: body, rc: http.NewResponseController(w), idle: idle, rate: rate}
}

// allowed is how long the next read may wait.
func (b *slowBody) allowed() time.Duration {
	if b.rate <= 0 {
		return b.idle
	}
	earned := time.Duration(float64(b.n) / float64(b.rate) * float64(time.Second))
	return min(b.idle, b.idle+earned-b.waited)
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	start := time.Now()
	// An error means the connection has no deadlines (a test's recorder):
	// the body is read without a bound.
	_ = b.rc.SetReadDeadline(start.Add(b.allowed()))
	n, err := b.body.Read(p)
	b.n += int64(n)
	b.waited += time.Since(start)
	switch {
	case isTimeout(err):
		b.err = &SlowBodyError{Read: b.n, After: b.waited, Idle: b.idle, Rate: b.rate}
		return n, b.err
	case err != nil:
		// The whole body is read: the server reads the connection again
		// only for the next request, with its own deadline; until then a
		// deadline of ours would cancel the request of a client that is
		// only waiting for the answer (a ?wait=, a slow commit).
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *slowBody) Close() error { return b.body.Close() }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// SlowBodyError is a request body that came too slowly; the API answers
// it with 408.
type SlowBodyError struct {
	Read  int64         // bytes that came
	After time.Duration // while the gateway waited this long for them
	Idle  time.Duration
	Rate  int64
}

func (e *SlowBodyError) Error() string {
	return fmt.Sprintf("the request body came too slowly: %d bytes in %v of waiting; a body must come at %s/s or faster, with no wait over %v (--body-rate, --body-idle)",
		e.Read, e.After.Round(time.Millisecond), api.FormatBytes(uint64(e.Rate)), e.Idle)
}
