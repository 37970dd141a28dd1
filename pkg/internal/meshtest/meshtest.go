// Package meshtest starts a real Shoal mesh inside one process, for tests
// and benchmarks: a gateway with its HTTP API on an httptest server and N
// workers, each on its own libp2p host on 127.0.0.1, workers finding the
// gateway through multicast discovery on lo (on a port of the test's own)
// or by its address.
package meshtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/p2p"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
)

// Options shape a mesh. Zero values take the defaults.
type Options struct {
	Workers   int
	Slots     int  // per worker; default 2
	Discovery bool // workers find the gateway by multicast on lo
	Gateway   *gateway.Config
	Store     store.Options // the gateway's store (KeepResults)
	Worker    *worker.Config
	Logger    *slog.Logger
	// Tokens makes the API require these bearer tokens; their quotas
	// become the gateway's unless Gateway sets Quotas.
	Tokens *httpapi.Tokens
	// TLS serves the API over HTTPS with this configuration (its
	// certificate, or httptest's when it has none).
	TLS *tls.Config
	// Metrics serves /metrics, /healthz and /readyz without authentication
	// on a server of their own (Mesh.Metrics), as shoal gateway --metrics
	// does.
	Metrics bool
	// Data is the directory of the gateway's database (a small tmpfs, say:
	// see Tmpfs); default, a temporary directory of the test's.
	Data string
	// Light workers run no wasm: every run succeeds at once, with no
	// module fetched or compiled (see instant), for scale tests of the
	// gateway. They join as any worker does, each with its own libp2p
	// host and Cap'n Proto connection.
	Light bool
}

// Mesh is a running in-process mesh.
type Mesh struct {
	tb      testing.TB
	opts    Options
	ctx     context.Context
	cancel  context.CancelFunc
	group   string
	Gateway *gateway.Gateway
	Host    host.Host
	API     *httptest.Server
	URL     string
	Metrics *httptest.Server // with Options.Metrics
	// Server is the gateway's API, replaced by RestartGateway.
	Server *httpapi.Server
	// Store is the gateway's store, replaced by RestartGateway.
	Store *store.Store

	key     crypto.PrivKey
	token   join.Token // the gateway's join token, kept across restarts
	dbPath  string
	handler atomic.Pointer[http.Handler]
	metrics atomic.Pointer[http.Handler]
	stopGW  context.CancelFunc
	gwDone  chan struct{}

	mu      sync.Mutex
	workers []*Worker
	wg      sync.WaitGroup
}

// Worker is one in-process worker node.
type Worker struct {
	Host   host.Host
	Worker *worker.Worker
	stop   context.CancelFunc
	done   chan struct{}
}

// Start starts a mesh; it is stopped by tb's cleanup.
func Start(tb testing.TB, opts Options) *Mesh {
	tb.Helper()
	if opts.Slots == 0 {
		opts.Slots = 2
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	store.SetProcs() // as shoal gateway does
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mesh{tb: tb, opts: opts, ctx: ctx, cancel: cancel}
	m.group = fmt.Sprintf("/ip4/228.8.8.8/udp/%d/multicast/lo", 20000+rand.IntN(20000))
	tb.Cleanup(m.Close)

	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		tb.Fatal(err)
	}
	m.key = key
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	if m.token, err = join.New(id); err != nil {
		tb.Fatal(err)
	}
	if opts.Data == "" {
		opts.Data = tb.TempDir()
	}
	m.dbPath = filepath.Join(opts.Data, "gateway.db")
	m.startGateway()
	m.API = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*m.handler.Load()).ServeHTTP(w, r)
	}))
	// Failed handshakes, which TLS tests make on purpose, go to the log.
	m.API.Config.ErrorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)
	if opts.TLS != nil {
		m.API.TLS = opts.TLS
		m.API.StartTLS()
	} else {
		m.API.Start()
	}
	m.URL = m.API.URL
	if opts.Metrics {
		m.Metrics = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			(*m.metrics.Load()).ServeHTTP(w, r)
		}))
	}
	for range opts.Workers {
		m.AddWorker()
	}
	return m
}

func (m *Mesh) goRun(fn func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn()
	}()
}

// startGateway starts the gateway node with the mesh's identity on a new
// port, as a restarted gateway process would.
func (m *Mesh) startGateway() {
	h := newHost(m.tb, m.key, p2p.GatewayPeers)
	gcfg := gateway.DefaultConfig()
	if m.opts.Gateway != nil {
		gcfg = *m.opts.Gateway
	}
	if gcfg.JoinSecret == nil && !gcfg.JoinByNetwork {
		gcfg.JoinSecret = m.token.Secret
	}
	if m.opts.Tokens != nil && gcfg.Quotas == nil {
		gcfg.Quotas = m.opts.Tokens.Quotas()
	}
	st, err := store.Open(m.dbPath, m.opts.Store)
	if err != nil {
		m.tb.Fatal(err)
	}
	g, err := gateway.New(gcfg, h, st, m.opts.Logger)
	if err != nil {
		m.tb.Fatal(err)
	}
	ctx, stop := context.WithCancel(m.ctx)
	done := make(chan struct{})
	m.mu.Lock()
	m.Host, m.Gateway, m.stopGW, m.gwDone = h, g, stop, done
	m.mu.Unlock()
	api := httpapi.DefaultConfig()
	api.Tokens = m.opts.Tokens
	srv := httpapi.New(api, g, m.opts.Logger)
	var handler, metrics http.Handler = srv, srv.MetricsHandler()
	m.handler.Store(&handler)
	m.metrics.Store(&metrics)
	m.mu.Lock()
	m.Server, m.Store = srv, st
	m.mu.Unlock()
	m.goRun(func() {
		defer close(done)
		_ = g.Run(ctx)
		_ = h.Close()
		_ = st.Close()
	})
	if m.opts.Discovery {
		m.discovery(ctx, m.key, h.Addrs)
	}
	waitReady(m.tb, g)
}

// waitReady waits until g serves, so that a test starts with a ready
// gateway (its /readyz says 200).
func waitReady(tb testing.TB, g *gateway.Gateway) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for err := g.Ready(); err != nil; err = g.Ready() {
		if time.Now().After(deadline) {
			tb.Fatalf("gateway not ready after 10s: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// StopGateway stops the gateway node as SIGTERM does: it drains (running
// runs have the gateway's Grace to finish) and shuts down. It returns once
// the gateway has stopped; the API still answers, as a gateway that has
// shut down.
func (m *Mesh) StopGateway() {
	m.stopGW()
	<-m.gwDone
}

// JoinToken is the join token of the mesh's gateway.
func (m *Mesh) JoinToken() join.Token { return m.token }

// RestartGateway stops the gateway node and starts a new one with the same
// identity and database on a new port, as a restarted process would; the
// workers must find it again by themselves.
func (m *Mesh) RestartGateway() {
	m.tb.Helper()
	m.StopGateway()
	m.startGateway()
}

// CrashGateway cuts the gateway node off at once, as kill -9 does to its
// connections (its workers see them drop, with no hang-up and no cancel
// of their runs), then starts a new one with the same identity and
// database on a new port, as a restarted process would.
func (m *Mesh) CrashGateway() {
	m.tb.Helper()
	m.mu.Lock()
	h := m.Host
	m.mu.Unlock()
	_ = h.Close()
	m.StopGateway()
	m.startGateway()
}

// newHost starts a host on 127.0.0.1 sized for peers connections (see
// p2p.HostConfig).
func newHost(tb testing.TB, key crypto.PrivKey, peers int) host.Host {
	tb.Helper()
	if key == nil {
		var err error
		if key, _, err = crypto.GenerateEd25519Key(nil); err != nil {
			tb.Fatal(err)
		}
	}
	h, err := p2p.NewHost(p2p.HostConfig{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Peers: peers})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// discovery starts a discovery responder or surveyor on the mesh's group.
func (m *Mesh) discovery(ctx context.Context, key crypto.PrivKey, addrs func() []multiaddr.Multiaddr) *p2p.Discovery {
	group, err := p2p.ParseGroup(m.group)
	if err != nil {
		m.tb.Fatal(err)
	}
	d, err := p2p.New(p2p.Config{Group: group, Namespace: "meshtest", Key: key, Addrs: addrs, Logger: m.opts.Logger})
	if err != nil {
		m.tb.Fatal(err)
	}
	m.goRun(func() { _ = d.Run(ctx) })
	return d
}

// AddWorker starts one more worker and returns it once it is running (not
// necessarily in the pool yet: see WaitWorkers).
func (m *Mesh) AddWorker() *Worker {
	m.tb.Helper()
	cfg := worker.DefaultConfig()
	if m.opts.Worker != nil {
		cfg = *m.opts.Worker
	}
	return m.AddWorkerWith(cfg)
}

// sharedCache is the compilation cache the workers of test meshes share,
// one directory under the system's temporary one for every run: wazero's
// entries are keyed by its version and the module's bytes, and written
// to a temporary file then renamed, so concurrent test binaries share it
// safely, and it holds one entry per module and wazero version.
func sharedCache(tb testing.TB) string {
	dir := filepath.Join(os.TempDir(), "shoal-meshtest-cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// AddWorkerWith starts one more worker with its own configuration, as
// AddWorker does; its Slots are the mesh's, and it holds the gateway's join
// token unless cfg has one.
func (m *Mesh) AddWorkerWith(cfg worker.Config) *Worker {
	m.tb.Helper()
	if cfg.JoinToken == nil {
		cfg.JoinToken = &m.token
	}
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		m.tb.Fatal(err)
	}
	h := newHost(m.tb, key, 0)
	cfg.Slots = m.opts.Slots
	if cfg.Runtime.CacheDir == "" {
		// Workers of every mesh of a test binary share compiled code: a
		// Go guest compiles once, not once per worker (seconds under -race).
		cfg.Runtime.CacheDir = sharedCache(m.tb)
	}
	ctx, stop := context.WithCancel(m.ctx)
	var w *worker.Worker
	if m.opts.Light {
		w, err = worker.NewWithRunner(cfg, h, instant{}, m.opts.Logger)
	} else {
		w, err = worker.New(ctx, cfg, h, m.opts.Logger)
	}
	if err != nil {
		m.tb.Fatal(err)
	}
	resolve := func(context.Context) (peer.AddrInfo, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		return peer.AddrInfo{ID: m.Host.ID(), Addrs: m.Host.Addrs()}, nil
	}
	if m.opts.Discovery {
		d := m.discovery(ctx, key, h.Addrs)
		id, _ := peer.IDFromPrivateKey(m.key)
		resolve = func(ctx context.Context) (peer.AddrInfo, error) { return d.FindPeer(ctx, id) }
	}
	wk := &Worker{Host: h, Worker: w, stop: stop, done: make(chan struct{})}
	m.goRun(func() {
		defer close(wk.done)
		_ = w.Run(ctx, resolve)
		_ = w.Close(context.Background())
		_ = h.Close()
	})
	m.mu.Lock()
	m.workers = append(m.workers, wk)
	m.mu.Unlock()
	return wk
}

// Stop stops a worker gracefully, as SIGTERM does: it takes no new runs,
// finishes its running ones within its grace period, and leaves.
func (w *Worker) Stop() {
	w.stop()
	<-w.done
}

// Kill cuts a worker off at once, as kill -9 does to its connections: no
// drain, its running runs are lost to the gateway.
func (w *Worker) Kill() {
	_ = w.Host.Close()
	w.stop()
	<-w.done
}

// WaitWorkers waits until the gateway's pool holds n workers.
func (m *Mesh) WaitWorkers(n int) {
	m.tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(m.Gateway.Workers()) != n {
		if time.Now().After(deadline) {
			m.tb.Fatalf("pool has %d workers after 20s, want %d", len(m.Gateway.Workers()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Close stops every node of the mesh.
func (m *Mesh) Close() {
	m.cancel()
	if m.API != nil {
		m.API.Close()
	}
	if m.Metrics != nil {
		m.Metrics.Close()
	}
	m.wg.Wait()
}

// Workers returns the workers started so far, in start order.
func (m *Mesh) Workers() []*Worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Worker(nil), m.workers...)
}
