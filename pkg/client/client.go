package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
)

// Client talks to one gateway. It is safe for concurrent use.
type Client struct {
	base  string // scheme://host[/path], without a trailing slash
	hc    *http.Client
	token string // bearer token sent with every request; "" for none
}

// Option sets up a Client.
type Option func(*Client)

// WithToken makes the client send token as `Authorization: Bearer token`
// with every request: a gateway with --api-token-file refuses requests
// without one of its tokens. An empty token sends none.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// New returns a client of the gateway at baseURL, like
// http://127.0.0.1:8080 or https://gw.example:8443. A nil hc means
// http.DefaultClient; its Timeout, if any, also bounds Follow, so streaming
// callers should bound calls with their context instead. To trust a
// gateway's own certificate, pass an hc whose transport has it in RootCAs.
func New(baseURL string, hc *http.Client, opts ...Option) (*Client, error) {
	if !strings.Contains(baseURL, "://") {
		return nil, fmt.Errorf("gateway URL %q must start with http:// or https:// (like http://127.0.0.1:8080)", baseURL)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("gateway URL %q: %w", baseURL, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("gateway URL %q must start with http:// or https:// (like http://127.0.0.1:8080)", baseURL)
	case u.Host == "":
		return nil, fmt.Errorf("gateway URL %q has no host (like http://127.0.0.1:8080)", baseURL)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("gateway URL %q must be only scheme://host:port[/path], without user, query or fragment", baseURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{base: strings.TrimRight(u.String(), "/"), hc: hc}
	for _, o := range opts {
		o(c)
	}
	if strings.ContainsAny(c.token, " \t\r\n") {
		return nil, fmt.Errorf("the token contains whitespace; a token is one word (check the token file or $SHOAL_TOKEN)")
	}
	return c, nil
}

// URL is the gateway's base URL.
func (c *Client) URL() string { return c.base }

// Tasks lists all tasks in creation order, walking the task list a page
// of api.MaxTaskLimit at a time.
func (c *Client) Tasks(ctx context.Context) ([]api.Task, error) {
	var out []api.Task
	q := api.TaskQuery{Limit: api.MaxTaskLimit, Order: api.OrderAsc}
	for {
		page, next, err := c.TaskPage(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		if next == q.After {
			return nil, fmt.Errorf("GET %s/tasks: the gateway gave the same next page again", c.base)
		}
		q.After = next
	}
}

// TaskPage returns one page of the task list (newest first unless q says
// otherwise) and the cursor of the next page, "" after the last: pass it
// as q.After, with the rest of q unchanged, for the next page. With
// q.Status a page may be short, even empty, and still have a next one.
func (c *Client) TaskPage(ctx context.Context, q api.TaskQuery) ([]api.Task, string, error) {
	var out []api.Task
	next, err := c.page(ctx, "/tasks", q, &out)
	return out, next, err
}

// page reads one page of the list at path into out, and returns the
// cursor of the next page ("" after the last).
func (c *Client) page(ctx context.Context, path string, q api.TaskQuery, out any) (string, error) {
	if v := q.Values().Encode(); v != "" {
		path += "?" + v
	}
	resp, err := c.send(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return "", fmt.Errorf("GET %s: reading the gateway's answer: %w", c.base+path, err)
	}
	return resp.Header.Get(api.HeaderNextCursor), nil
}

// Task returns one task.
func (c *Client) Task(ctx context.Context, id string) (api.Task, error) {
	var out api.Task
	p, err := taskPath(id)
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodGet, p, nil, "", &out)
}

// Cancel cancels a task and returns it as it is after the cancel.
func (c *Client) Cancel(ctx context.Context, id string) (api.Task, error) {
	var out api.Task
	p, err := taskPath(id)
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodDelete, p, nil, "", &out)
}

// Purge deletes a task with its runs, results and logs, canceling it
// first if it has not ended.
func (c *Client) Purge(ctx context.Context, id string) error {
	p, err := taskPath(id)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, http.MethodDelete, p+"?"+api.ParamPurge+"=1", nil, "")
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Logs returns the output the gateway holds for a task so far.
func (c *Client) Logs(ctx context.Context, id string) (api.Logs, error) {
	var out api.Logs
	p, err := taskPath(id)
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodGet, p+"/logs", nil, "", &out)
}

// Workers lists the workers in the gateway's pool.
func (c *Client) Workers(ctx context.Context) ([]api.Worker, error) {
	var out []api.Worker
	return out, c.do(ctx, http.MethodGet, "/workers", nil, "", &out)
}

// Info returns the gateway's peer ID, addresses and version.
func (c *Client) Info(ctx context.Context) (api.Info, error) {
	var out api.Info
	return out, c.do(ctx, http.MethodGet, "/info", nil, "", &out)
}

func taskPath(id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("empty task id")
	}
	return "/tasks/" + url.PathEscape(id), nil
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, body []byte, contentType string, out any) error {
	resp, err := c.send(ctx, method, path, body, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: reading the gateway's answer: %w", method, c.base+path, err)
	}
	return nil
}

// send sends one request and returns the response when it is a 2xx; any
// other status becomes an *APIError.
func (c *Client) send(ctx context.Context, method, path string, body []byte, contentType string) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		e := readAPIError(resp)
		if e.Status == http.StatusUnauthorized {
			e.hint = c.authHint()
		}
		return nil, e
	}
	return resp, nil
}
