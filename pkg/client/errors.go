package client

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/shoalmesh/shoal/pkg/api"
)

// ErrUnreachable is wrapped by the error of every call that found no
// gateway listening at the client's URL; errors.Is(err,
// api.ErrNotReachable) is true for it too.
var ErrUnreachable = &api.Error{Code: api.CodeNotReachable, Message: "gateway not reachable"}

// APIError is an error answer of the gateway: its HTTP status and the JSON
// error body, {"error": ..., "field": ..., "code": ...}. It keeps the
// answer's code: errors.Is(err, api.ErrNotFound) is true for a 404, and
// errors.As(err, &e) with e an *api.Error gets the gateway's error.
type APIError struct {
	Status  int
	Code    api.Code
	Message string
	// Field names the submitted form field at fault, when there is one.
	Field string
	hint  string // what to do, added by the client
}

// Unwrap returns the gateway's error as an *api.Error.
func (e *APIError) Unwrap() error {
	return &api.Error{Code: e.Code, Field: e.Field, Message: e.Message}
}

func (e *APIError) Error() string {
	switch {
	case e.Code == api.CodeNoSpace:
		return e.Message // not a failure its log explains: the message says it all
	case e.Status >= 500:
		return fmt.Sprintf("the gateway failed (HTTP %d): %s; its log says why", e.Status, e.Message)
	case e.hint != "":
		return e.Message + "; " + e.hint
	}
	return e.Message
}

// authHint says what to do about a 401: the answer of a gateway that wants
// a token the client did not send, or does not know the one it sent.
func (c *Client) authHint() string {
	if c.token == "" {
		return fmt.Sprintf("the gateway at %s requires a token: give one with --token-file FILE or $SHOAL_TOKEN", c.base)
	}
	return fmt.Sprintf("the gateway at %s does not accept this token: check --token-file or $SHOAL_TOKEN against its --api-token-file (a token file re-read after a change may have dropped it)", c.base)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

func readAPIError(resp *http.Response) *APIError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode, Code: api.CodeOf(resp.StatusCode)}
	var body api.Error
	if json.Unmarshal(b, &body) == nil && body.Message != "" {
		e.Message, e.Field = body.Message, body.Field
		if body.Code != "" {
			e.Code = body.Code
		}
		return e
	}
	// Not the gateway's JSON: a proxy, or another server on that port.
	e.Message = fmt.Sprintf("%s answered %s", resp.Request.URL.Redacted(), resp.Status)
	if s := strings.TrimSpace(string(b)); s != "" && len(s) < 200 {
		e.Message += ": " + s
	}
	if strings.Contains(string(b), "HTTP request to an HTTPS server") {
		e.hint = "the gateway serves HTTPS: use an https:// URL"
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
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("%s %s: %w; if the gateway uses its own certificate, trust it with --ca-file FILE (the certificate, or the CA that signed it)", method, c.base+path, err)
	case errors.As(err, &badHost):
		return fmt.Errorf("%s %s: %w; use a --gateway URL whose host the certificate names", method, c.base+path, err)
	case errors.Is(err, http.ErrSchemeMismatch):
		return fmt.Errorf("%s %s: %w; the gateway serves plain HTTP: use an http:// URL", method, c.base+path, err)
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
