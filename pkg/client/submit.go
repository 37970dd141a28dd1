package client

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"

	"github.com/shoalmesh/shoal/pkg/api"
)

// Submission is a task to submit: the fields of POST /tasks. Only the
// fields that are set are sent, so the gateway's defaults apply to the
// rest (see api.TaskRequest).
type Submission = api.TaskRequest

// Submit sends s as a multipart form, like
// `curl -F id=... -F wasm=@file.wasm ... URL/tasks`, and returns the task.
func (c *Client) Submit(ctx context.Context, s Submission) (api.Task, error) {
	var out api.Task
	body, ct, err := form(&s)
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodPost, "/tasks", body, ct, &out)
}

// form encodes r as multipart/form-data, the fields api.TaskFields lists,
// and returns the body and its Content-Type.
func form(r *api.TaskRequest) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, v := range r.Values() {
		if v.File == nil {
			if err := mw.WriteField(v.Name, v.Value); err != nil {
				return nil, "", fmt.Errorf("encode the task form: %w", err)
			}
			continue
		}
		filename := v.Name
		if v.Name == "wasm" {
			filename = "module.wasm"
		}
		w, err := mw.CreateFormFile(v.Name, filename)
		if err == nil {
			_, err = w.Write(v.File)
		}
		if err != nil {
			return nil, "", fmt.Errorf("encode the task form: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", fmt.Errorf("encode the task form: %w", err)
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}
