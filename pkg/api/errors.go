package api

import (
	"fmt"
	"net/http"
	"strings"
)

// Code says what kind of failure an Error is; it decides the HTTP status.
type Code string

// The error codes of the API. Each has one HTTP status (Code.Status).
const (
	CodeInvalid      Code = "invalid"       // 400: a field or the body is wrong; Field names it
	CodeUnauthorized Code = "unauthorized"  // 401: no token, or one the gateway does not know
	CodeForbidden    Code = "forbidden"     // 403: the token may not do this (its role is not admin)
	CodeNotFound     Code = "not_found"     // 404: no such task, module or endpoint
	CodeNotAllowed   Code = "not_allowed"   // 405: the path exists, the method does not
	CodeConflict     Code = "conflict"      // 409: the id is taken, or the task has ended
	CodeTimeout      Code = "timeout"       // 408: the request body came too slowly
	CodeTooLarge     Code = "too_large"     // 413: the body is over the upload limit
	CodeTooMany      Code = "too_many"      // 429: a queue or quota is full; retry later
	CodeUnavailable  Code = "unavailable"   // 503: the gateway is stopping or not ready
	CodeNoSpace      Code = "no_space"      // 507: the gateway's disk is full; nothing was stored
	CodeInternal     Code = "internal"      // 500: the gateway failed; its log says why
	CodeNotReachable Code = "not_reachable" // no gateway answered (client side only)
	CodeNotSupported Code = "not_supported" // the gateway does not know the request (client side only)
)

// codeStatus is the one table from codes to HTTP statuses.
var codeStatus = map[Code]int{
	CodeInvalid:      http.StatusBadRequest,
	CodeUnauthorized: http.StatusUnauthorized,
	CodeForbidden:    http.StatusForbidden,
	CodeNotFound:     http.StatusNotFound,
	CodeNotAllowed:   http.StatusMethodNotAllowed,
	CodeConflict:     http.StatusConflict,
	CodeTimeout:      http.StatusRequestTimeout,
	CodeTooLarge:     http.StatusRequestEntityTooLarge,
	CodeTooMany:      http.StatusTooManyRequests,
	CodeUnavailable:  http.StatusServiceUnavailable,
	CodeNoSpace:      http.StatusInsufficientStorage,
	CodeInternal:     http.StatusInternalServerError,
	CodeNotReachable: http.StatusBadGateway,
	CodeNotSupported: http.StatusNotImplemented,
}

// Status is the HTTP status of an answer with this code (500 for a code
// this version does not know).
func (c Code) Status() int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// CodeOf is the code of an HTTP status, for answers that carry none (a
// proxy's, or an older gateway's).
func CodeOf(status int) Code {
	for c, s := range codeStatus {
		if s == status && c != CodeNotReachable && c != CodeNotSupported {
			return c
		}
	}
	switch {
	case status >= 500:
		return CodeInternal
	case status >= 400:
		return CodeInvalid
	}
	return ""
}

// Error is an error answer of the API, and the error a client returns for
// it. Field names the request field at fault (like "difficulty" or
// "tasks[3].module"), when there is one.
type Error struct {
	Message string `json:"error"`
	Field   string `json:"field,omitempty"`
	Code    Code   `json:"code,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) true for every *Error whose code is
// not_found, whatever its message: the ErrXxx values stand for their code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Field == "" && t.Code == e.Code
}

// Status is the HTTP status of e.
func (e *Error) Status() int { return e.Code.Status() }

// Errorf returns an *Error with code c and a formatted message.
func Errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a CodeInvalid error about field; its message starts with
// the field's name, like "difficulty: \"abc\" is not an integer".
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// Values of each code, for errors.Is: errors.Is(err, api.ErrNotFound).
var (
	ErrInvalid      = &Error{Code: CodeInvalid}
	ErrUnauthorized = &Error{Code: CodeUnauthorized}
	ErrForbidden    = &Error{Code: CodeForbidden}
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrNotAllowed   = &Error{Code: CodeNotAllowed}
	ErrConflict     = &Error{Code: CodeConflict}
	ErrTimeout      = &Error{Code: CodeTimeout}
	ErrTooLarge     = &Error{Code: CodeTooLarge}
	ErrTooMany      = &Error{Code: CodeTooMany}
	ErrUnavailable  = &Error{Code: CodeUnavailable}
	ErrNoSpace      = &Error{Code: CodeNoSpace}
	ErrInternal     = &Error{Code: CodeInternal}
	ErrNotReachable = &Error{Code: CodeNotReachable}
	ErrNotSupported = &Error{Code: CodeNotSupported}
)

// Under puts e's field under prefix, the way a batch names the fields of
// its tasks: "difficulty" under "tasks[3]" is "tasks[3].difficulty", and a
// message that starts with the field's name is renamed with it. An error
// without a field is about prefix itself.
func (e *Error) Under(prefix string) *Error {
	out := *e
	if e.Field == "" {
		out.Field = prefix
		out.Message = prefix + ": " + e.Message
		return &out
	}
	out.Field = prefix + "." + e.Field
	if rest, ok := strings.CutPrefix(e.Message, e.Field+": "); ok {
		out.Message = out.Field + ": " + rest
	} else {
		out.Message = prefix + ": " + e.Message
	}
	return &out
}
