package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// slowConfig bounds bodies tightly, so that the tests take well under a
// second: no wait over 300 ms, and 1,000 bytes a second on average.
func slowConfig() httpapi.Config {
	cfg := httpapi.DefaultConfig()
	cfg.BodyIdle, cfg.BodyRate = 300*time.Millisecond, 1000
	return cfg
}

// MustServe serves a gateway's API with cfg on a real http.Server on
// 127.0.0.1, as shoal gateway does, and returns its address.
func MustServe(tb testing.TB, m *meshtest.Mesh, cfg httpapi.Config) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: httpapi.New(cfg, m.Gateway, slog.New(slog.DiscardHandler)), ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestTrickledBodyIsCut sends bodies a byte every 20 ms (50 bytes a
// second, under the floor of 1,000): each request gets a 408 with a JSON
// error naming the body, and the gateway closes the connection.
func TestTrickledBodyIsCut(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	addr := MustServe(t, m, slowConfig())
	ct, form := multipartBody(hash, part{name: "id", value: "slow"})
	for _, tc := range []struct {
		name, method, path, ct string
		body                   []byte
	}{
		{"module upload", "PUT", "/modules", "application/wasm", wasm.HashC},
		{"multipart submit", "POST", "/tasks", ct, form},
		{"batch", "POST", "/tasks/batch", "application/json", []byte(`[{"id": "slow", "module": "sha256:` + hashCHex + `"}]`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(time.Minute)) // a hang fails instead of blocking the suite
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", tc.method, tc.path, addr, tc.ct, len(tc.body))
			go func() {
				for _, c := range tc.body {
					if _, err := conn.Write([]byte{c}); err != nil {
						return // the gateway hung up
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct{ Error, Field, Code string }
			if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != http.StatusRequestTimeout || e.Code != "timeout" || e.Field != "body" {
				t.Fatalf("%d %s, want 408 with a JSON error of code timeout naming the body", resp.StatusCode, body)
			}
			t.Logf("408: %s", e.Error)
			if n, err := br.Read(make([]byte, 1)); err == nil {
				t.Fatalf("the connection is still open after the 408 (read %d bytes)", n)
			}
		})
	}
}

// TestSlowSteadyUploadGoesThrough sends a module in 1 KiB pieces every
// 20 ms, for longer than the 300 ms a read may wait: at about 50 KB/s, far
// above the floor, it is taken.
func TestSlowSteadyUploadGoesThrough(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	addr := MustServe(t, m, slowConfig())
	body := wasm.Padded(24 << 10) // a valid module of 24 KiB
	pr, pw := io.Pipe()
	go func() {
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 1<<10)
			if _, err := pw.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
			time.Sleep(20 * time.Millisecond)
		}
		pw.Close()
	}()
	req, err := http.NewRequest("PUT", "http://"+addr+"/modules", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %s, want 201", resp.StatusCode, b)
	}
}

// TestFollowOutlivesBodyBounds follows a task's log for longer than a body
// may wait: a GET has no body, and the server no write timeout, so the
// stream stays open until the task ends (here: is canceled).
func TestFollowOutlivesBodyBounds(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{}) // no workers: the task waits
	addr := MustServe(t, m, slowConfig())
	ct, form := multipartBody(hash, part{name: "id", value: "waits"})
	if code, _, b := do(t, "POST", "http://"+addr+"/tasks", ct, form); code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, b)
	}
	resp, err := http.Get("http://" + addr + "/tasks/waits/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.Sleep(3 * slowConfig().BodyIdle) // longer than any body may wait
	if code, _, b := do(t, "DELETE", "http://"+addr+"/tasks/waits", "", nil); code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, b)
	}
	events, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(events), "event: end") || !strings.Contains(string(events), `"status":"canceled"`) {
		t.Fatalf("the stream ended without the end event: %v, %q", err, events)
	}
}
