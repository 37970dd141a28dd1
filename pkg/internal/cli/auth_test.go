package cli_test

import (
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

const (
	aliceToken = "alice-0123456789abcdef"
	bobToken   = "bob-0123456789abcdef0"
)

// MustSecureGateway runs a gateway whose API takes alice's and bob's
// tokens, over HTTPS, and returns its URL and the path of its certificate.
func MustSecureGateway(tb testing.TB) (url, caFile string) {
	tb.Helper()
	tokens, err := httpapi.ParseTokens(strings.NewReader("alice " + aliceToken + "\nbob " + bobToken + " max-queued=1\n"))
	if err != nil {
		tb.Fatal(err)
	}
	cert := meshtest.SelfSigned(tb)
	m := meshtest.Start(tb, meshtest.Options{Workers: 1, Slots: 1, Tokens: tokens, TLS: cert.ServerConfig()})
	return m.URL, MustWriteFile(tb, "ca.pem", cert.CertPEM)
}

// The client commands take the token from --token-file or $SHOAL_TOKEN and
// trust the gateway's certificate given with --ca-file.
func TestClientCommandsWithTokenAndCA(t *testing.T) {
	url, ca := MustSecureGateway(t)
	mod := MustWriteFile(t, "hello.wasm", wasm.Hello)
	tokenFile := MustWriteFile(t, "token", []byte("# my token\n\n  "+aliceToken+"  \n"))
	flags := []string{"--gateway", url, "--ca-file", ca}
	with := func(args ...string) []string { return append(append(args, flags...), "--token-file", tokenFile) }

	shoal(t, with("submit", mod, "--id", "hi", "--args", "there", "--wait")...).want(t, 0, []string{"hello there\n", "task hi succeeded"}, nil)
	shoal(t, with("task", "hi")...).want(t, 0, []string{"owner:", "alice"}, nil)
	shoal(t, with("tasks")...).want(t, 0, []string{"hi  ", "succeeded"}, nil)
	shoal(t, with("logs", "hi")...).want(t, 0, []string{"hello there\n"}, nil)
	shoal(t, with("logs", "-f", "hi")...).want(t, 0, []string{"hello there\n"}, nil)
	shoal(t, with("workers")...).want(t, 0, []string{"SLOTS", "/1 "}, nil)

	t.Setenv("SHOAL_TOKEN", bobToken)
	shoal(t, append([]string{"submit", mod, "--id", "of-bob", "--start", "1h"}, flags...)...).want(t, 0, []string{"of-bob scheduled"}, nil)
	shoal(t, append([]string{"submit", mod, "--id", "more", "--start", "1h"}, flags...)...).want(t, 1, nil,
		[]string{"shoal: submit: over quota: bob has 1 runs waiting to start and the task has 1; its max-queued is 1; retry later"})
	shoal(t, append([]string{"cancel", "of-bob"}, flags...)...).want(t, 0, []string{"of-bob canceled"}, nil)
	shoal(t, append([]string{"task", "of-bob", "--json"}, flags...)...).want(t, 0, []string{`"owner": "bob"`}, nil)
	// --token-file wins over $SHOAL_TOKEN: alice's token sees none of
	// bob's tasks, which are not found for her.
	shoal(t, with("task", "of-bob")...).want(t, 1, nil, []string{"task of-bob not found"})
	shoal(t, with("cancel", "of-bob")...).want(t, 1, nil, []string{"task of-bob not found"})
}

func TestClientAuthErrors(t *testing.T) {
	url, ca := MustSecureGateway(t)
	gw := []string{"--gateway", url, "--ca-file", ca}
	for _, c := range []struct {
		name string
		args []string
		env  string
		code int
		want string
	}{
		{"no token", nil, "", 1, "shoal: tasks: this gateway requires a bearer token"},
		{"no token hint", nil, "", 1, "requires a token: give one with --token-file FILE or $SHOAL_TOKEN"},
		{"wrong token", nil, "mallory-0123456789abcdef", 1, "does not accept this token: check --token-file or $SHOAL_TOKEN"},
		{"token file missing", []string{"--token-file", "/nonexistent/token"}, "", 2, "shoal: tasks: --token-file /nonexistent/token: no such file"},
		{"token file empty", []string{"--token-file", MustWriteFile(t, "empty", []byte("# none\n"))}, "", 2, "holds no token"},
		{"gateway's token file", []string{"--token-file", MustWriteFile(t, "gw", []byte("alice "+aliceToken+"\n"))}, "", 2, "put the token alone in the file"},
		{"two tokens", []string{"--token-file", MustWriteFile(t, "two", []byte(aliceToken+"\n"+bobToken+"\n"))}, "", 2, "holds more than one token"},
		{"env with spaces", nil, "a b", 2, "$SHOAL_TOKEN holds more than one word"},
		{"no ca", []string{"--ca-file", ""}, aliceToken, 1, "trust it with --ca-file FILE"},
		{"ca not pem", []string{"--ca-file", MustWriteFile(t, "bad.pem", []byte("nope"))}, aliceToken, 2, "holds no PEM certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SHOAL_TOKEN", c.env)
			shoal(t, append(append([]string{"tasks"}, gw...), c.args...)...).want(t, c.code, nil, []string{c.want})
		})
	}
}
