package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// ErrUnreachable is wrapped by the error of every call that found no
// gateway listening at the client's URL.
var ErrUnreachable = errors.New("gateway not reachable")

// APIError is an error answer of the gateway: its HTTP status and the JSON
// error body, {"error": ..., "field": ...}.
type APIError struct {
	Status  int
	Message string
	// Field names the submitted form field at fault, when there is one.
	Field string
}

func (e *APIError) Error() string {
	if e.Status >= 500 {
		return fmt.Sprintf("the gateway failed (HTTP %d): %s; its log says why", e.Status, e.Message)
	}
	return e.Message
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

func readAPIError(resp *http.Response) *APIError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode}
	var body struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error != "" {
		e.Message, e.Field = body.Error, body.Field
		return e
	}
	// Not the gateway's JSON: a proxy, or another server on that port.
	e.Message = fmt.Sprintf("%s answered %s", resp.Request.URL.Redacted(), resp.Status)
	if s := strings.TrimSpace(string(b)); s != "" && len(s) < 200 {
		e.Message += ": " + s
	}
	return e
}

// transportError says what to do when no gateway answers; other failures
// keep their cause.
func (c *Client) transportError(method, path string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var dns *net.DNSError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.As(err, &dns) {
		return fmt.Errorf("%w at %s (%w); start one with `shoal gateway`, or pass --gateway URL", ErrUnreachable, c.base, rootCause(err))
	}
	return fmt.Errorf("%s %s: %w", method, c.base+path, err)
}

// rootCause drops the url.Error and net.OpError layers, which repeat the
// address the message already names.
func rootCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
