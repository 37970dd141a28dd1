package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// authError is why a request was refused: 401, with a WWW-Authenticate
// challenge (RFC 6750).
type authError struct {
	msg     string
	invalid bool // a token was sent, but it is not one of the gateway's
}

func (e *authError) Error() string { return e.msg }

// challenge is the WWW-Authenticate header of a 401.
func (e *authError) challenge() string {
	if e.invalid {
		return `Bearer realm="shoal", error="invalid_token"`
	}
	return `Bearer realm="shoal"`
}

var (
	errNoToken = &authError{msg: "this gateway requires a bearer token: send the header `Authorization: Bearer TOKEN` " +
		"with a token of its --api-token-file (shoal: --token-file FILE or $SHOAL_TOKEN)"}
	errNotBearer = &authError{msg: "the Authorization header must be `Bearer TOKEN`"}
	errBadToken  = &authError{msg: "the bearer token is not one this gateway accepts", invalid: true}
)

type ownerKey struct{}

// ownerOf is the name of the token r was authenticated with; "" when the
// API has no tokens.
func ownerOf(r *http.Request) string {
	name, _ := r.Context().Value(ownerKey{}).(string)
	return name
}

// authenticate checks r's bearer token when the API has tokens and the
// route is not public, and returns r carrying the token's name. It reads
// nothing of the body, so a refused client learns nothing but that it was
// refused.
func (s *Server) authenticate(r *http.Request) (*http.Request, error) {
	if isPublic(r) {
		return r, nil
	}
	return s.checkToken(r)
}

// checkToken checks r's bearer token when the API has tokens, public
// route or not: a public route may tell more to a request that has one.
func (s *Server) checkToken(r *http.Request) (*http.Request, error) {
	tokens := s.tokens.Load()
	if tokens == nil {
		return r, nil
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errNoToken
	}
	scheme, secret, _ := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return nil, errNotBearer
	}
	name, ok := tokens.lookup(secret)
	if !ok {
		return nil, errBadToken
	}
	return r.WithContext(context.WithValue(r.Context(), ownerKey{}, name)), nil
}

// SetTokens replaces the tokens the API accepts, as a reload of the token
// file does; requests under way keep the token they came with. nil opens
// the API to everyone.
func (s *Server) SetTokens(t *Tokens) { s.tokens.Store(t) }

func (s *Server) refused(w http.ResponseWriter, r *http.Request, err error) {
	var ae *authError
	if errors.As(err, &ae) && ae.invalid {
		s.log.Warn("refused a request with an unknown token", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
	}
	s.fail(w, r, err)
}
