package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
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

// principal is who a request's token stands for.
type principal struct {
	name  string // the token's name: the owner of the tasks it submits
	admin bool   // role=admin
}

type principalKey struct{}

// ownerOf is the name of the token r was authenticated with; "" when the
// API has no tokens.
func ownerOf(r *http.Request) string {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p.name
}

// scopeOf is the owner whose tasks alone r may see, follow and cancel; ""
// when r may see every task (the API has no tokens, or r's token is an
// admin's).
func scopeOf(r *http.Request) string {
	p, ok := r.Context().Value(principalKey{}).(principal)
	if !ok || p.admin {
		return ""
	}
	return p.name
}

// errNotAdmin refuses a token of role owner what only an admin may see.
var errNotAdmin = api.Errorf(api.CodeForbidden, "only a token of role admin may read this (its line in --api-token-file says role=admin); "+
	"Prometheus can scrape the gateway's --metrics address, which needs no token")

// needAdmin returns errNotAdmin unless r may see every owner's data.
func needAdmin(r *http.Request) error {
	if scopeOf(r) != "" {
		return errNotAdmin
	}
	return nil
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
	p, ok := tokens.lookup(secret)
	if !ok {
		return nil, errBadToken
	}
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), nil
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
