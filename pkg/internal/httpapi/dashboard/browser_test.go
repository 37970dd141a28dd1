package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns the browser the tests drive. Without one they fail
// when $CI is set (CI installs it: .ci/run) and are skipped otherwise.
func chromium(tb testing.TB) string {
	tb.Helper()
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("the dashboard's browser tests need Chromium, and none of %s is in PATH "+
		"(Debian: apt-get install chromium)", strings.Join(names, ", "))
	if os.Getenv("CI") != "" {
		tb.Fatal(msg + "; $CI is set, so this is a failure")
	}
	tb.Skip(msg + "; skipped (set CI=1 to make this a failure)")
	return ""
}

// browser is one tab of a headless Chromium, with everything the page
// wrote to its console. The tests share one Chromium (it takes a second or
// two to start); each has a tab of its own, and so its own session storage.
type browser struct {
	tb  testing.TB
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// stepTimeout bounds every wait of a test; the steps take milliseconds.
const stepTimeout = 20 * time.Second

// chrome is the Chromium the tests share, started by the first and
// stopped by TestMain.
var chrome struct {
	once    sync.Once
	ctx     context.Context
	stop    func()
	profile string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if chrome.stop != nil {
		chrome.stop()
	}
	if chrome.profile != "" {
		os.RemoveAll(chrome.profile)
	}
	os.Exit(code)
}

// startChrome starts Chromium with a profile of its own.
func startChrome(exe string) {
	chrome.profile, chrome.err = os.MkdirTemp("", "shoal-chromium-")
	if chrome.err != nil {
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.UserDataDir(chrome.profile))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to start its sandbox as root
	}
	actx, stopAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, stopBrowser := chromedp.NewContext(actx)
	chrome.ctx, chrome.stop = ctx, func() { stopBrowser(); stopAlloc() }
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		chrome.err = fmt.Errorf("starting %s: %w", exe, err)
	}
}

// startBrowser opens a tab, closed by the test's cleanup.
func startBrowser(tb testing.TB) *browser {
	tb.Helper()
	exe := chromium(tb)
	chrome.once.Do(func() { startChrome(exe) })
	if chrome.err != nil {
		tb.Fatal(chrome.err)
	}
	ctx, closeTab := chromedp.NewContext(chrome.ctx)
	b := &browser{tb: tb, ctx: ctx}
	collected := make(chan struct{})
	tb.Cleanup(func() {
		closeTab()
		<-collected
		if tb.Failed() {
			for _, m := range b.messages() {
				tb.Logf("console: %s (%s:%d)", m, m.URL, m.Line)
			}
		}
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900)); err != nil { // opens the tab
		close(collected)
		tb.Fatalf("opening a tab: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		defer close(collected)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

func (b *browser) messages() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.console...)
}

// checkConsole fails the test for every exception, error or warning the
// page logged, except those allow accepts.
func (b *browser) checkConsole(allow func(chromedp.ConsoleMessage) bool) {
	b.tb.Helper()
	for _, m := range b.messages() {
		switch m.Type {
		case chromedp.ConsoleException, chromedp.ConsoleError, chromedp.ConsoleWarning:
			if allow == nil || !allow(m) {
				b.tb.Errorf("the page logged %s (%s:%d)", m, m.URL, m.Line)
			}
		}
	}
}

// do runs actions on the tab, failing the test with what the page shows
// when one fails.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.tb.Fatalf("%s: %v\nthe page shows:\n%s", what, err, b.text())
	}
}

// reloadBy runs an action that makes the page load again, and waits for
// the load.
func (b *browser) reloadBy(what string, action chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, action); err != nil {
		b.tb.Fatalf("%s: %v\nthe page shows:\n%s", what, err, b.text())
	}
}

// eval returns the value of a JavaScript expression
// (chromedp.EvalAwaitPromise: of the promise it makes).
func eval[T any](b *browser, js string, opts ...chromedp.EvaluateOption) T {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		b.tb.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is true.
func (b *browser) waitFor(what, js string) {
	b.tb.Helper()
	b.do("waiting for "+what, chromedp.Poll[chromedp.Void](js,
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
}

// text is what the page shows, for failure messages.
func (b *browser) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// screenshot saves a PNG of the page as name in $SHOAL_SCREENSHOT_DIR, or
// in the test's temporary directory, and logs where.
func (b *browser) screenshot(name string) {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		b.tb.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("SHOAL_SCREENSHOT_DIR")
	if dir == "" {
		dir = b.tb.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.tb.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.tb.Fatal(err)
	}
	b.tb.Logf("screenshot: %s", path)
}

// js quotes s as a JavaScript string.
func js(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
