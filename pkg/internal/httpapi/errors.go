package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// errorOf is the API's error for err. This table is the only place that
// maps domain errors to the API's codes (and so to HTTP statuses); an error
// it does not know is internal, and its details stay in the gateway's log.
func errorOf(err error) *api.Error {
	var ae *api.Error
	var tooBig *http.MaxBytesError
	var auth *authError
	var slow *SlowBodyError
	switch {
	case errors.As(err, &auth):
		return &api.Error{Code: api.CodeUnauthorized, Message: auth.Error()}
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &tooBig):
		return &api.Error{Code: api.CodeTooLarge, Field: "body",
			Message: "request body is larger than the upload limit of " + api.FormatBytes(uint64(tooBig.Limit))}
	case errors.As(err, &slow):
		return &api.Error{Code: api.CodeTimeout, Field: "body", Message: slow.Error()}
	case errors.Is(err, sched.ErrExists):
		return &api.Error{Code: api.CodeConflict, Field: "id", Message: err.Error() + " (choose another id)"}
	case errors.Is(err, sched.ErrNotFound):
		return &api.Error{Code: api.CodeNotFound, Message: err.Error()}
	case errors.Is(err, sched.ErrDone), errors.Is(err, sched.ErrNotDone):
		return &api.Error{Code: api.CodeConflict, Message: err.Error()}
	case errors.Is(err, gateway.ErrQueueFull), errors.Is(err, gateway.ErrOverQuota):
		return &api.Error{Code: api.CodeTooMany, Message: err.Error() + "; retry later"}
	case errors.Is(err, gateway.ErrClosed):
		return &api.Error{Code: api.CodeUnavailable, Message: err.Error() + "; retry later"}
	case errors.Is(err, gateway.ErrNotLeader):
		return &api.Error{Code: api.CodeUnavailable, Message: "this gateway lost its group's leadership (or its majority) before the write was committed: it may or may not have been stored; retry (with the same id, a task is stored once)"}
	case errors.Is(err, gateway.ErrNoSpace):
		return &api.Error{Code: api.CodeNoSpace, Message: noSpaceMessage}
	case errors.Is(err, gateway.ErrMachinesBusy):
		return &api.Error{Code: api.CodeConflict, Message: err.Error()}
	case errors.Is(err, gateway.ErrNoModule):
		return &api.Error{Code: api.CodeInvalid, Field: "module", Message: err.Error() + " (upload it with PUT /modules or as the wasm field)"}
	}
	return &api.Error{Code: api.CodeInternal, Message: "internal error"}
}

// noSpaceMessage is the answer to a write the gateway's full disk
// refused. The store's error, with the file's path, stays in the log.
const noSpaceMessage = "the gateway's disk is full: nothing was stored; retry once GET /readyz says ready"

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	body := errorOf(err)
	code := body.Status()
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if code == http.StatusRequestTimeout {
		w.Header().Set("Connection", "close") // the connection's deadline has passed
	}
	if auth := (*authError)(nil); errors.As(err, &auth) {
		w.Header().Set("WWW-Authenticate", auth.challenge())
	}
	switch code {
	case http.StatusInternalServerError:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusInsufficientStorage:
		s.log.Warn("request refused: the disk is full", "method", r.Method, "path", r.URL.Path, "err", err)
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
