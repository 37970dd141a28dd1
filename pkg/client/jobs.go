package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// SubmitJob sends r as JSON to POST /jobs and returns the job as taken.
func (c *Client) SubmitJob(ctx context.Context, r api.JobRequest) (api.Job, error) {
	var out api.Job
	body, err := json.Marshal(r)
	if err != nil {
		return out, fmt.Errorf("encode the job: %w", err)
	}
	return out, c.do(ctx, http.MethodPost, "/jobs", body, "application/json", &out)
}

// Job returns one job, with its steps, artifacts and callback attempts.
func (c *Client) Job(ctx context.Context, id string) (api.Job, error) {
	return c.WaitJob(ctx, id, 0)
}

// WaitJob returns job id once it has ended, or as it is after wait,
// whichever comes first: the gateway holds the answer (GET
// /jobs/{id}?wait=), up to its own bound of a few minutes, so callers
// loop while the job's status is not Done. A wait of 0 answers at once.
func (c *Client) WaitJob(ctx context.Context, id string, wait time.Duration) (api.Job, error) {
	var out api.Job
	p, err := jobPath(id)
	if err != nil {
		return out, err
	}
	if wait > 0 {
		p += "?wait=" + api.FormatSeconds(wait)
	}
	return out, c.do(ctx, http.MethodGet, p, nil, "", &out)
}

// JobPage returns one page of the job list (newest first unless q says
// otherwise) and the cursor of the next page, "" after the last, as
// TaskPage does for tasks; q.Runs does not apply to jobs.
func (c *Client) JobPage(ctx context.Context, q api.TaskQuery) ([]api.Job, string, error) {
	var out []api.Job
	next, err := c.page(ctx, "/jobs", q, &out)
	return out, next, err
}

// CancelJob cancels a job (its running steps end, no other starts) and
// returns it as it is after the cancel. A job that has already ended
// answers an error that is api.ErrConflict.
func (c *Client) CancelJob(ctx context.Context, id string) (api.Job, error) {
	var out api.Job
	p, err := jobPath(id)
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodDelete, p, nil, "", &out)
}

// JobLogs returns the output the gateway holds for a job so far, each
// entry with its step.
func (c *Client) JobLogs(ctx context.Context, id string) (api.JobLogs, error) {
	var out api.JobLogs
	p, err := jobPath(id)
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodGet, p+"/logs", nil, "", &out)
}

// JobFiles lists a job's artifacts: the files it left in /shared.
func (c *Client) JobFiles(ctx context.Context, id string) ([]api.File, error) {
	p, err := jobPath(id)
	if err != nil {
		return nil, err
	}
	return c.files(ctx, p)
}

// TaskFiles lists a task's artifacts (a task submitted with shared=1):
// the files its run that ended last left in /shared.
func (c *Client) TaskFiles(ctx context.Context, id string) ([]api.File, error) {
	p, err := taskPath(id)
	if err != nil {
		return nil, err
	}
	return c.files(ctx, p)
}

func (c *Client) files(ctx context.Context, p string) ([]api.File, error) {
	var out []api.File
	return out, c.do(ctx, http.MethodGet, p+"/files", nil, "", &out)
}

// JobFile opens one artifact of a job, by its path in JobFiles; the
// caller closes it. Each segment of the path is escaped, so a name with
// '?', '#' or '%' reaches the gateway as it is.
func (c *Client) JobFile(ctx context.Context, id, path string) (io.ReadCloser, error) {
	p, err := jobPath(id)
	if err != nil {
		return nil, err
	}
	return c.file(ctx, p, path)
}

// TaskFile opens one artifact of a task, as JobFile does a job's.
func (c *Client) TaskFile(ctx context.Context, id, path string) (io.ReadCloser, error) {
	p, err := taskPath(id)
	if err != nil {
		return nil, err
	}
	return c.file(ctx, p, path)
}

func (c *Client) file(ctx context.Context, p, path string) (io.ReadCloser, error) {
	if path == "" {
		return nil, fmt.Errorf("empty artifact path")
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	resp, err := c.send(ctx, http.MethodGet, p+"/files/"+strings.Join(segs, "/"), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// PutModule uploads a module (PUT /modules) so that tasks and jobs can
// name it by hash, and, when name is not "", gives it that name, which a
// job's steps may use instead of the hash (the name moves from any module
// it named before).
func (c *Client) PutModule(ctx context.Context, wasm []byte, name string) (api.Module, error) {
	var out api.Module
	p := "/modules"
	if name != "" {
		p += "?name=" + url.QueryEscape(name)
	}
	return out, c.do(ctx, http.MethodPut, p, wasm, "application/wasm", &out)
}

// ModuleNames lists the names given to modules, by name.
func (c *Client) ModuleNames(ctx context.Context) ([]api.ModuleName, error) {
	var out []api.ModuleName
	return out, c.do(ctx, http.MethodGet, "/modules", nil, "", &out)
}

func jobPath(id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("empty job id")
	}
	return "/jobs/" + url.PathEscape(id), nil
}
