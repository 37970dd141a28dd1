package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// load submits tasks of every kind and records the accepted ones in the
// ledger.
type load struct {
	url     string
	hc      *http.Client
	ledger  *ledger
	modules map[kind]string // sha256 of each kind's module
	seq     atomic.Int64
	refused atomic.Int64 // 429s: the queue was full
	errors  atomic.Int64
	polls   atomic.Int64
	pollErr atomic.Int64
}

// putModule uploads a module once; tasks name it by its hash.
func putModule(hc *http.Client, url string, wasm []byte) (string, error) {
	req, _ := http.NewRequest(http.MethodPut, url+"/modules", bytes.NewReader(wasm))
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var m struct{ SHA256 string }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("PUT /modules: %s %v", resp.Status, err)
	}
	return m.SHA256, nil
}

// every calls fn every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (ld *load) hashes(ctx context.Context) {
	every(ctx, 50*time.Millisecond, func() {
		e := &entry{kind: kindHash, repeats: 1 + rand.IntN(3), input: rand.Int64N(1_000_000), difficulty: 1 + rand.Int64N(3)}
		ld.submit(ctx, e, [][2]string{{"input", fmt.Sprint(e.input)}, {"difficulty", fmt.Sprint(e.difficulty)}}, 0)
	})
}

func (ld *load) hellos(ctx context.Context) {
	every(ctx, 100*time.Millisecond, func() {
		ld.submit(ctx, &entry{kind: kindHello, repeats: 1 + rand.IntN(2)}, [][2]string{{"args", `["a","b"]`}}, 0)
	})
}

// floods print up to the gateway's --max-output, every fourth twice that.
func (ld *load) floods(ctx context.Context) {
	n := 0
	every(ctx, time.Second, func() {
		n++
		e := &entry{kind: kindFlood, repeats: 1, input: int64(ld.ledger.maxOutput)}
		if n%4 == 0 {
			e.input *= 2
		}
		ld.submit(ctx, e, [][2]string{{"input", fmt.Sprint(e.input)}, {"difficulty", "0"}}, 0)
	})
}

// bigStdin submits hello with 10 to 60 MB of stdin, which it echoes.
func (ld *load) bigStdin(ctx context.Context) {
	every(ctx, 10*time.Second, func() {
		size := int64(10+rand.IntN(51)) * 1_000_000
		ld.submit(ctx, &entry{kind: kindStdin, repeats: 1}, [][2]string{{"args", `["a","b"]`}}, size)
	})
}

// submit POSTs one task, its stdin (if any) streamed from a generator, and
// records it in the ledger if the gateway took it. A request that failed
// on the way (the load stopping mid-upload) is looked up: a task that
// exists was accepted.
func (ld *load) submit(ctx context.Context, e *entry, fields [][2]string, stdin int64) {
	e.id = fmt.Sprintf("%s-%d", e.kind, ld.seq.Add(1))
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(func() error {
			all := append([][2]string{{"id", e.id}, {"module", "sha256:" + ld.modules[e.kind]}, {"repeats", strconv.Itoa(e.repeats)}}, fields...)
			for _, f := range all {
				if err := mw.WriteField(f[0], f[1]); err != nil {
					return err
				}
			}
			if stdin > 0 {
				w, err := mw.CreateFormFile("stdin", "stdin")
				if err != nil {
					return err
				}
				if _, err := io.CopyN(w, pattern{}, stdin); err != nil {
					return err
				}
			}
			return mw.Close()
		}())
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ld.url+"/tasks", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := ld.hc.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		if _, gerr := ld.ledger.task(e.id); gerr == nil {
			ld.ledger.accepted(e)
		}
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		ld.ledger.accepted(e)
	case http.StatusTooManyRequests:
		ld.refused.Add(1)
	default:
		ld.errors.Add(1)
		ld.ledger.note("submit %s: %s %s", e.id, resp.Status, bytes.TrimSpace(body))
	}
}

// pattern is an endless stdin: lines of x.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
		if i%64 == 63 {
			p[i] = '\n'
		}
	}
	return len(p), nil
}

// browse does what the dashboard does in a browser left open on the task
// list: it loads the page and its files (again every minute, as a reload),
// asks for the list every second with the ETag it got, the workers every
// two seconds, and one task's page every second.
func (ld *load) browse(ctx context.Context) {
	get := func(path string, header http.Header) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ld.url+path, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := ld.hc.Do(req)
		ld.polls.Add(1)
		if err != nil {
			if ctx.Err() == nil {
				ld.pollErr.Add(1)
			}
			return nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 { // a 404: a task purged, or of another kind
			ld.pollErr.Add(1)
		}
		return resp
	}
	etag := ""
	tick := 0
	every(ctx, time.Second, func() {
		if tick%60 == 0 {
			for _, p := range []string{"/", "/ui/app.js", "/ui/api.js", "/ui/style.css", "/ui/favicon.svg", "/info"} {
				get(p, nil)
			}
		}
		h := http.Header{}
		if etag != "" {
			h.Set("If-None-Match", etag)
		}
		if resp := get("/tasks?limit=50", h); resp != nil && resp.StatusCode == http.StatusOK {
			etag = resp.Header.Get("ETag")
		}
		if tick%2 == 0 {
			get("/workers", nil)
		}
		if n := ld.seq.Load(); n > 0 {
			get(fmt.Sprintf("/tasks/hash-%d?runs=50", rand.Int64N(n)+1), nil)
		}
		tick++
	})
}
