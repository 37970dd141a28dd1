package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/cli"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
)

// syncBuffer is a bytes.Buffer that a running command and a test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningGateway is `shoal gateway` running in-process.
type runningGateway struct {
	stdout, stderr syncBuffer
	fields         map[string]string // of the start line: http=..., metrics=...
}

// MustStartGateway runs `shoal gateway ARGS` on loopback, without discovery,
// until the test ends, and returns once it has printed its start line.
func MustStartGateway(tb testing.TB, args ...string) *runningGateway {
	tb.Helper()
	g := &runningGateway{fields: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	args = append([]string{"gateway", "--data", tb.TempDir(), "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0"}, args...)
	go func() { done <- cli.Run(ctx, args, &g.stdout, &g.stderr) }()
	tb.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			tb.Errorf("gateway exited %d: %s", code, g.stderr.String())
		}
	})
	deadline := time.Now().Add(clientTestTimeout)
	for !strings.Contains(g.stdout.String(), "\n") {
		select {
		case code := <-done:
			done <- code
			tb.Fatalf("gateway exited %d before it started: %s", code, g.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no start line: %s", g.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, f := range strings.Fields(g.stdout.String()) {
		if k, v, ok := strings.Cut(f, "="); ok {
			g.fields[k] = v
		}
	}
	return g
}

// get is GET url with an optional bearer token; it returns the status.
func get(tb testing.TB, hc *http.Client, url, token string) (int, string) {
	tb.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGatewaySecurityFlagErrors(t *testing.T) {
	cert := meshtest.SelfSigned(t)
	certFile, keyFile := MustWriteFile(t, "cert.pem", cert.CertPEM), MustWriteFile(t, "key.pem", cert.KeyPEM)
	badTokens := MustWriteFile(t, "tokens", []byte("# ok\nalice "+aliceToken+"\nbob short\n"))
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", certFile}, "--tls-cert and --tls-key go together"},
		{"key without cert", []string{"--tls-key", keyFile}, "--tls-cert and --tls-key go together"},
		{"key is no key", []string{"--tls-cert", certFile, "--tls-key", certFile}, "--tls-cert " + certFile + ", --tls-key " + certFile},
		{"missing token file", []string{"--api-token-file", "/nonexistent/tokens"}, "--api-token-file open /nonexistent/tokens"},
		{"bad token file", []string{"--api-token-file", badTokens}, "--api-token-file " + badTokens + ":3: token bob: shorter than 16 characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			shoal(t, append([]string{"gateway", "--data", t.TempDir(), "--discover", "none"}, c.args...)...).want(t, 1, nil, []string{"shoal: gateway: " + c.want})
		})
	}
}

// A gateway with tokens, TLS and --metrics: the API wants a token over
// HTTPS, the metrics address none; SIGHUP reloads the tokens and the
// certificate.
func TestGatewayWithTokensTLSAndMetrics(t *testing.T) {
	defer cli.SetReloadEvery(cli.SetReloadEvery(time.Hour)) // only SIGHUP reloads
	cert := meshtest.SelfSigned(t)
	certFile, keyFile := MustWriteFile(t, "cert.pem", cert.CertPEM), MustWriteFile(t, "key.pem", cert.KeyPEM)
	tokens := MustWriteFile(t, "tokens", []byte("alice "+aliceToken+" max-running=1 role=admin\nbob "+bobToken+"\n"))
	if err := os.Chmod(tokens, 0o600); err != nil {
		t.Fatal(err)
	}
	g := MustStartGateway(t, "--http", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--api-token-file", tokens, "--tls-cert", certFile, "--tls-key", keyFile)
	api, metrics := g.fields["http"], g.fields["metrics"]
	if !strings.HasPrefix(api, "https://127.0.0.1:") || !strings.HasPrefix(metrics, "https://127.0.0.1:") {
		t.Fatalf("start line %q: want http=https://... metrics=https://...", g.stdout.String())
	}
	ca := MustWriteFile(t, "ca.pem", cert.CertPEM)
	aliceFile := MustWriteFile(t, "alice", []byte(aliceToken))
	shoal(t, "tasks", "--gateway", api, "--ca-file", ca, "--token-file", aliceFile).want(t, 0, nil, []string{"no tasks at " + api})
	shoal(t, "tasks", "--gateway", api, "--ca-file", ca).want(t, 1, nil, []string{"requires a token"})

	hc := cert.Client()
	for _, c := range []struct {
		url, token, has string
		code            int
	}{
		{metrics + "/metrics", "", `shoal_tasks{status="queued"} 0`, 200},
		{metrics + "/healthz", "", `"ok"`, 200},
		{metrics + "/readyz", "", `"ready"`, 200},
		{metrics + "/tasks", "", "no such endpoint", 404},
		{api + "/metrics", "", "bearer token", 401},
		{api + "/metrics", aliceToken, "shoal_runs_held", 200},
		{api + "/metrics", bobToken, "only a token of role admin", 403},
	} {
		if code, body := get(t, hc, c.url, c.token); code != c.code || !strings.Contains(body, c.has) {
			t.Errorf("GET %s: %d %s, want %d with %q", c.url, code, body, c.code, c.has)
		}
	}
	if strings.Contains(g.stderr.String(), "level=WARN") {
		t.Errorf("warnings on loopback with tokens and TLS: %s", g.stderr.String())
	}

	// A new token file and a new certificate, taken on SIGHUP.
	newCert := meshtest.SelfSigned(t)
	for name, data := range map[string][]byte{tokens: []byte("bob " + bobToken + "\n"), certFile: newCert.CertPEM, keyFile: newCert.KeyPEM} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	newHC := newCert.Client()
	// The reload takes the tokens, then the certificate: once the new
	// certificate is served, the new tokens are in use.
	meshtest.Eventually(t, "the new certificate is in use", func() bool {
		resp, err := newHC.Get(api + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	if code, _ := get(t, newHC, api+"/info", bobToken); code != 200 {
		t.Errorf("bob's token after the reload: %d", code)
	}
	if code, _ := get(t, newHC, api+"/info", aliceToken); code != 401 {
		t.Errorf("alice's token after the reload: %d, want 401", code)
	}
	meshtest.Eventually(t, "the reload is logged", func() bool { return strings.Contains(g.stderr.String(), "msg=reloaded tokens=1 tls=true") })
}

// Without SIGHUP, a changed token file is noticed by itself; a broken one
// is reported and the tokens loaded before stay in use. A non-loopback
// address gets a warning: without TLS, tokens cross the network in clear.
func TestGatewayReloadsChangedTokenFile(t *testing.T) {
	defer cli.SetReloadEvery(cli.SetReloadEvery(20 * time.Millisecond))
	tokens := MustWriteFile(t, "tokens", []byte("alice "+aliceToken+"\n"))
	g := MustStartGateway(t, "--http", "0.0.0.0:0", "--api-token-file", tokens)
	api := strings.Replace(g.fields["http"], "0.0.0.0", "127.0.0.1", 1)
	if !strings.Contains(g.stderr.String(), "without TLS: tokens cross the network in clear text") {
		t.Errorf("no clear-text warning: %s", g.stderr.String())
	}
	if !strings.Contains(g.stderr.String(), "the token file is readable by other users") {
		t.Errorf("no warning about the token file's mode: %s", g.stderr.String())
	}
	hc := http.DefaultClient
	if code, _ := get(t, hc, api+"/info", aliceToken); code != 200 {
		t.Fatalf("alice before: %d", code)
	}
	if err := os.WriteFile(tokens, []byte("alice "+aliceToken+"\nbob "+bobToken+" max-queued=3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	meshtest.Eventually(t, "bob's token is accepted", func() bool { code, _ := get(t, hc, api+"/info", bobToken); return code == 200 })

	if err := os.WriteFile(tokens, []byte("bob short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	meshtest.Eventually(t, "the broken file is reported", func() bool {
		return strings.Contains(g.stderr.String(), "reload: keeping the tokens and certificate loaded before")
	})
	if code, _ := get(t, hc, api+"/info", bobToken); code != 200 {
		t.Errorf("bob after a broken reload: %d, want the old tokens kept", code)
	}
}

func TestGatewayWarnsWhenOpenToTheNetwork(t *testing.T) {
	g := MustStartGateway(t, "--http", "0.0.0.0:0")
	if !strings.Contains(g.stderr.String(), "without --api-token-file: anyone who reaches it can run code on the workers") {
		t.Errorf("no warning: %s", g.stderr.String())
	}
	g = MustStartGateway(t, "--http", "127.0.0.1:0")
	if strings.Contains(g.stderr.String(), "level=WARN") || !strings.HasPrefix(g.fields["http"], "http://127.0.0.1:") {
		t.Errorf("loopback without tokens: %q %s", g.fields["http"], g.stderr.String())
	}
}
