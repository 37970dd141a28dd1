package cli

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
)

// secrets are the files that say who may use a gateway's API and how it
// proves who it is: the token file and the TLS certificate and key. They
// are read at start, and again on SIGHUP or when their contents change
// (checked every reloadEvery), so tokens and certificates are replaced
// without a restart. A reload that fails keeps what was loaded before.
type secrets struct {
	tokenFile, certFile, keyFile string

	tokens *httpapi.Tokens // nil: no token file
	cert   atomic.Pointer[tls.Certificate]
	sum    [sha256.Size]byte // of the files' contents as last loaded
}

// reloadEvery is how often the files are checked for changes: reading a
// few small files is cheap next to what a gateway does anyway.
var reloadEvery = 2 * time.Second

func loadSecrets(tokenFile, certFile, keyFile string) (*secrets, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both, the certificate (PEM) and its private key, or neither to serve plain HTTP")
	}
	s := &secrets{tokenFile: tokenFile, certFile: certFile, keyFile: keyFile}
	sum, err := s.digest()
	if err != nil {
		return nil, err
	}
	tokens, cert, err := s.read()
	if err != nil {
		return nil, err
	}
	s.tokens, s.sum = tokens, sum
	s.cert.Store(cert)
	return s, nil
}

// read parses the files.
func (s *secrets) read() (*httpapi.Tokens, *tls.Certificate, error) {
	var tokens *httpapi.Tokens
	if s.tokenFile != "" {
		var err error
		if tokens, err = httpapi.LoadTokens(s.tokenFile); err != nil {
			return nil, nil, fmt.Errorf("--api-token-file %w", err)
		}
	}
	if s.certFile == "" {
		return tokens, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", s.certFile, s.keyFile, err)
	}
	return tokens, &cert, nil
}

// digest hashes the files' contents, to notice a change.
func (s *secrets) digest() ([sha256.Size]byte, error) {
	h := sha256.New()
	for _, f := range []struct{ flag, path string }{{"--api-token-file", s.tokenFile}, {"--tls-cert", s.certFile}, {"--tls-key", s.keyFile}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return [sha256.Size]byte{}, fmt.Errorf("%s %w", f.flag, err)
		}
		fmt.Fprintf(h, "%s %d\n", f.flag, len(b))
		h.Write(b)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, nil
}

// tlsConfig serves the current certificate, so a reload applies to new
// connections; nil when the gateway serves plain HTTP.
func (s *secrets) tlsConfig() *tls.Config {
	if s.certFile == "" {
		return nil
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil },
	}
}

func (s *secrets) scheme() string {
	if s.certFile != "" {
		return "https"
	}
	return "http"
}

// warnReadable warns when the token file may be read by other users.
func (s *secrets) warnReadable(log *slog.Logger) {
	if s.tokenFile == "" {
		return
	}
	if fi, err := os.Stat(s.tokenFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the token file is readable by other users; chmod 600 it", "file", s.tokenFile, "mode", fi.Mode().Perm())
	}
}

// watcher reloads the secrets until its context ends. It is made before
// the gateway says it is up, so that a SIGHUP from then on reloads rather
// than kills the process.
type watcher struct {
	s     *secrets
	log   *slog.Logger
	apply func(*httpapi.Tokens) // takes the reloaded tokens into use
	hup   chan os.Signal
}

func (s *secrets) watch(log *slog.Logger, apply func(*httpapi.Tokens)) *watcher {
	w := &watcher{s: s, log: log, apply: apply, hup: make(chan os.Signal, 1)}
	signal.Notify(w.hup, syscall.SIGHUP)
	return w
}

func (w *watcher) run(ctx context.Context) {
	defer signal.Stop(w.hup)
	t := time.NewTicker(reloadEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.hup:
			w.reload(true)
		case <-t.C:
			w.reload(false)
		}
	}
}

// reload re-reads the files: always on SIGHUP, else when their contents
// changed. A file caught in the middle of being replaced is read again at
// the next tick.
func (w *watcher) reload(hup bool) {
	sum, err := w.s.digest()
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist) && !hup:
		return
	case err != nil:
		w.log.Error("reload: keeping the tokens and certificate loaded before", "err", err)
		return
	case sum == w.s.sum && !hup:
		return
	}
	w.s.sum = sum // a broken file is reported once, not every tick
	tokens, cert, err := w.s.read()
	if err != nil {
		w.log.Error("reload: keeping the tokens and certificate loaded before", "err", err)
		return
	}
	if tokens != nil {
		w.s.tokens = tokens
		w.apply(tokens)
	}
	if cert != nil {
		w.s.cert.Store(cert)
	}
	w.log.Info("reloaded", "tokens", tokenCount(tokens), "tls", cert != nil)
	w.s.warnReadable(w.log)
}

func tokenCount(t *httpapi.Tokens) int {
	if t == nil {
		return 0
	}
	return t.Len()
}
