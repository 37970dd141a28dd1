package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
)

// apiFlags are the gateway's flags about who may use its HTTP API and how
// it is served.
type apiFlags struct {
	addr                         string
	tokenFile, certFile, keyFile string
	metrics                      string
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "http", "127.0.0.1:8080", "HTTP API listen address (host:port); binds loopback unless told otherwise")
	fs.StringVar(&f.tokenFile, "api-token-file", "", "bearer tokens the HTTP API requires, one a line: `NAME TOKEN [max-running=N] [max-queued=M] [max-stored=SIZE]`, or TOKEN alone; re-read on SIGHUP and when it changes (default: no tokens, the API is open)")
	fs.StringVar(&f.certFile, "tls-cert", "", "serve the HTTP API over HTTPS with this PEM certificate (chain); needs --tls-key; re-read like the token file")
	fs.StringVar(&f.keyFile, "tls-key", "", "the PEM private key of --tls-cert")
	fs.StringVar(&f.metrics, "metrics", "", "also serve /metrics, /healthz and /readyz on this address (host:port) without a token, for Prometheus and probes; over HTTPS with --tls-cert")
}

// load reads the token file and the certificate, and puts the tokens and
// their quotas into the API's and the gateway's configurations.
func (f *apiFlags) load(api *httpapi.Config, cfg *gateway.Config) (*secrets, error) {
	sec, err := loadSecrets(f.tokenFile, f.certFile, f.keyFile)
	if err != nil {
		return nil, err
	}
	if sec.tokens != nil {
		api.Tokens = sec.tokens
		cfg.Quotas = sec.tokens.Quotas()
	}
	return sec, nil
}

// apiServer is what startAPI serves: a gateway's API, or a replicated
// member's (ha.go), which is its gateway's while it leads.
type apiServer interface {
	http.Handler
	MetricsHandler() http.Handler
	// SetTokens applies reloaded tokens, and their quotas.
	SetTokens(*httpapi.Tokens)
}

// gatewayAPI is a lone gateway's API.
type gatewayAPI struct {
	*httpapi.Server
	g   *gateway.Gateway
	log *slog.Logger
}

func (a gatewayAPI) SetTokens(t *httpapi.Tokens) {
	a.Server.SetTokens(t)
	if err := a.g.SetQuotas(t.Quotas()); err != nil {
		a.log.Error("reload: quotas not applied", "err", err)
	}
}

// startAPI serves srv's HTTP API (and the metrics, with --metrics) and
// reloads the secrets until ctx ends. It returns the fields the start line
// shows, and stop, which shuts the servers down and waits for the reloads
// to end.
func (f *apiFlags) startAPI(ctx context.Context, e *env, sec *secrets, srv apiServer, log *slog.Logger) (fields []string, stop func(), code int) {
	ln, err := listen(f.addr, sec)
	if err != nil {
		return nil, nil, e.errorf("gateway: --http %s: %v (is another gateway running? pick another port with --http)", f.addr, err)
	}
	servers := []*http.Server{serve(ln, srv, log)}
	fields = []string{"http=" + sec.scheme() + "://" + ln.Addr().String()}
	if f.metrics != "" {
		mln, err := listen(f.metrics, sec)
		if err != nil {
			ln.Close()
			return nil, nil, e.errorf("gateway: --metrics %s: %v", f.metrics, err)
		}
		servers = append(servers, serve(mln, srv.MetricsHandler(), log))
		fields = append(fields, "metrics="+sec.scheme()+"://"+mln.Addr().String())
	}
	warnExposed(log, ln.Addr(), sec)
	sec.warnReadable(log)
	w := sec.watch(log, srv.SetTokens)
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		w.run(wctx)
	}()
	stop = func() {
		stopWatch()
		<-watched
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(sctx)
		}
	}
	return fields, stop, 0
}

// listen opens a TCP listener on addr, with TLS when sec has a certificate.
func listen(addr string, sec *secrets) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg := sec.tlsConfig(); cfg != nil {
		return tls.NewListener(ln, cfg), nil
	}
	return ln, nil
}

// serve serves h on ln until the returned server is shut down. The
// server's own complaints (TLS handshakes that fail, mostly) go to the
// debug log.
//
// Headers must come within ReadHeaderTimeout and a kept-alive connection
// may idle IdleTimeout; bodies are bounded by the API itself
// (httpapi.Config.BodyIdle and BodyRate), as they come. There is no
// ReadTimeout, which would cut a large upload on a slow link at a fixed
// time, and no WriteTimeout, which would cut log streams (?follow=1) and
// ?wait= answers.
func serve(ln net.Listener, h http.Handler, log *slog.Logger) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return srv
}

// warnExposed warns when the API can be reached from other machines
// without the protection that calls for.
func warnExposed(log *slog.Logger, addr net.Addr, sec *secrets) {
	if a, ok := addr.(*net.TCPAddr); ok && a.IP.IsLoopback() {
		return
	}
	switch {
	case sec.tokens == nil:
		log.Warn("the HTTP API binds a non-loopback address without --api-token-file: anyone who reaches it can run code on the workers", "http", addr.String())
	case sec.certFile == "":
		log.Warn("the HTTP API binds a non-loopback address without TLS: tokens cross the network in clear text; set --tls-cert and --tls-key", "http", addr.String())
	}
}
