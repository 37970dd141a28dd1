package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
)

// Submission is a task to submit: the fields of POST /tasks. Only the
// fields that are set are sent; a zero value is sent only where it differs
// from leaving the field out (hence the pointers), so the gateway's
// defaults apply to the rest.
type Submission struct {
	ID          string // empty: the gateway makes one
	Description string
	Complete    int64         // initial value of the completions counter
	Duration    time.Duration // time limit of one run; 0: the gateway's default
	Start       time.Duration // before the first run
	Delay       time.Duration // between the starts of consecutive runs
	Repeats     int           // number of runs; 0: one
	Wasm        []byte        // the module, sent as the wasm file part
	Input       *int64
	Difficulty  *int64
	Args        []string // argv after argv[0]; nil: the default argv
	Env         []string // K=V
	Stdin       []byte   // nil: no stdin
	Memory      uint64   // bytes; 0: the worker's default
	Retries     *int     // attempts after a lost worker; nil: the gateway's default
	Priority    int
	Labels      []string // placement labels the worker must offer
	Dirs        []string // names of worker directories, mounted at /NAME
}

// Submit sends s as a multipart form, like
// `curl -F id=... -F wasm=@file.wasm ... URL/tasks`, and returns the task.
func (c *Client) Submit(ctx context.Context, s Submission) (httpapi.TaskView, error) {
	var out httpapi.TaskView
	body, ct, err := s.form()
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodPost, "/tasks", body, ct, &out)
}

// form encodes s as multipart/form-data and returns the body and its
// Content-Type.
func (s Submission) form() ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	var err error
	field := func(name, value string) {
		if err == nil {
			err = mw.WriteField(name, value)
		}
	}
	file := func(name, filename string, data []byte) {
		if err != nil {
			return
		}
		var w io.Writer
		if w, err = mw.CreateFormFile(name, filename); err == nil {
			_, err = w.Write(data)
		}
	}
	seconds := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

	if s.ID != "" {
		field("id", s.ID)
	}
	if s.Description != "" {
		field("description", s.Description)
	}
	if s.Complete != 0 {
		field("complete", strconv.FormatInt(s.Complete, 10))
	}
	if s.Duration != 0 {
		field("duration", seconds(s.Duration))
	}
	if s.Start != 0 {
		field("start", seconds(s.Start))
	}
	if s.Delay != 0 {
		field("delay", seconds(s.Delay))
	}
	if s.Repeats != 0 {
		field("repeats", strconv.Itoa(s.Repeats))
	}
	if s.Wasm != nil {
		file("wasm", "module.wasm", s.Wasm)
	}
	if s.Input != nil {
		field("input", strconv.FormatInt(*s.Input, 10))
	}
	if s.Difficulty != nil {
		field("difficulty", strconv.FormatInt(*s.Difficulty, 10))
	}
	if s.Args != nil {
		b, jerr := json.Marshal(s.Args)
		if jerr != nil {
			return nil, "", fmt.Errorf("encode args: %w", jerr)
		}
		field("args", string(b))
	}
	for _, e := range s.Env {
		field("env", e)
	}
	if s.Stdin != nil {
		file("stdin", "stdin", s.Stdin)
	}
	if s.Memory != 0 {
		field("memory", strconv.FormatUint(s.Memory, 10))
	}
	if s.Retries != nil {
		field("retries", strconv.Itoa(*s.Retries))
	}
	if s.Priority != 0 {
		field("priority", strconv.Itoa(s.Priority))
	}
	for _, l := range s.Labels {
		field("labels", l)
	}
	for _, d := range s.Dirs {
		field("dirs", d)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, "", fmt.Errorf("encode the task form: %w", err)
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}
