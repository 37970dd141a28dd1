package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// apiError is the JSON body of every error response.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// status maps a domain error to its HTTP status and client-facing body.
// This table is the only place that does so; anything it does not know is a
// 500 whose details stay in the gateway's log.
func status(err error) (int, apiError) {
	var fe *task.FieldError
	var tooBig *http.MaxBytesError
	var auth *authError
	switch {
	case errors.As(err, &auth):
		return http.StatusUnauthorized, apiError{Error: auth.Error()}
	case errors.As(err, &fe):
		return http.StatusBadRequest, apiError{Error: fe.Error(), Field: fe.Field}
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, apiError{Error: "request body is larger than the upload limit of " + formatBytes(tooBig.Limit), Field: "body"}
	case errors.Is(err, sched.ErrExists):
		return http.StatusConflict, apiError{Error: err.Error() + " (choose another id)", Field: "id"}
	case errors.Is(err, sched.ErrNotFound):
		return http.StatusNotFound, apiError{Error: err.Error()}
	case errors.Is(err, sched.ErrDone):
		return http.StatusConflict, apiError{Error: err.Error()}
	case errors.Is(err, gateway.ErrQueueFull), errors.Is(err, gateway.ErrOverQuota):
		return http.StatusTooManyRequests, apiError{Error: err.Error() + "; retry later"}
	case errors.Is(err, gateway.ErrClosed):
		return http.StatusServiceUnavailable, apiError{Error: err.Error() + "; retry later"}
	case errors.Is(err, gateway.ErrNoModule):
		return http.StatusBadRequest, apiError{Error: err.Error() + " (upload it with PUT /modules or as the wasm field)", Field: "module"}
	}
	return http.StatusInternalServerError, apiError{Error: "internal error"}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, body := status(err)
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if auth := (*authError)(nil); errors.As(err, &auth) {
		w.Header().Set("WWW-Authenticate", auth.challenge())
	}
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing left to tell it
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
