package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

const aliceToken = "alice-0123456789abcdef"

// MustSecureGateway runs a gateway whose API takes alice's token only,
// over HTTPS with a certificate made for the test.
func MustSecureGateway(tb testing.TB) (*meshtest.Mesh, *meshtest.Cert) {
	tb.Helper()
	tokens, err := httpapi.ParseTokens(strings.NewReader("alice " + aliceToken + "\n"))
	if err != nil {
		tb.Fatal(err)
	}
	cert := meshtest.SelfSigned(tb)
	m := meshtest.Start(tb, meshtest.Options{Workers: 1, Slots: 1, Tokens: tokens, TLS: cert.ServerConfig()})
	return m, cert
}

// A client that trusts the gateway's certificate and has a token submits,
// follows and reads a task over HTTPS.
func TestTLSRoundTripWithToken(t *testing.T) {
	m, cert := MustSecureGateway(t)
	if !strings.HasPrefix(m.URL, "https://") {
		t.Fatalf("URL %s", m.URL)
	}
	c, err := client.New(m.URL, cert.Client(), client.WithToken(aliceToken))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	tv, err := c.Submit(ctx, client.Submission{ID: "hi", Wasm: wasm.Hello, Args: []string{"over", "tls"}})
	if err != nil || tv.Owner != "alice" {
		t.Fatalf("submit: %+v, %v", tv, err)
	}
	var out strings.Builder
	end, err := c.Follow(ctx, "hi", func(e task.LogEntry) error { out.WriteString(e.Data); return nil })
	if err != nil || end.Status != task.Succeeded || out.String() != "hello over tls\n" {
		t.Fatalf("follow: %s %q, %v", end.Status, out.String(), err)
	}
	if got, err := c.Task(ctx, "hi"); err != nil || got.Owner != "alice" || got.Result != "hello over tls\n" {
		t.Fatalf("task: %+v, %v", got, err)
	}
}

// Every way of getting security wrong ends in an error that says what to do.
func TestAuthAndTLSErrorsSayWhatToDo(t *testing.T) {
	m, cert := MustSecureGateway(t)
	plain := meshtest.Start(t, meshtest.Options{})
	for _, c := range []struct {
		name, url string
		hc        *http.Client
		token     string
		status    int
		want      string
	}{
		{"no token", m.URL, cert.Client(), "", 401, "requires a token: give one with --token-file FILE or $SHOAL_TOKEN"},
		{"wrong token", m.URL, cert.Client(), "mallory-0123456789abcdef", 401, "does not accept this token"},
		{"untrusted certificate", m.URL, nil, aliceToken, 0, "trust it with --ca-file FILE"},
		{"http to https", "http://" + strings.TrimPrefix(m.URL, "https://"), nil, aliceToken, 400, "use an https:// URL"},
		{"https to http", "https://" + strings.TrimPrefix(plain.URL, "http://"), cert.Client(), "", 0, "use an http:// URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, err := client.New(c.url, c.hc, client.WithToken(c.token))
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.Tasks(testContext(t))
			var ae *client.APIError
			if err == nil || !strings.Contains(err.Error(), c.want) || (c.status != 0) != errors.As(err, &ae) || (ae != nil && ae.Status != c.status) {
				t.Fatalf("error %v, want status %d and %q", err, c.status, c.want)
			}
		})
	}
	if _, err := client.New(m.URL, nil, client.WithToken("two words")); err == nil {
		t.Error("a token with a space was taken")
	}
}
