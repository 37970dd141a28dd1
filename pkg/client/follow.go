package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
)

// ErrStreamEnded is returned by Follow and FollowJobLogs when the gateway
// closed the log stream before the task or job ended (the gateway stopped, or a proxy cut it).
var ErrStreamEnded = errors.New("the log stream ended before the task did")

// maxEvent bounds one server-sent event line; log entries are chunks of a
// run's output, far smaller.
const maxEvent = 16 << 20

// Follow calls fn with each log entry of task id, those written so far and
// then new ones as they come, until the task ends; it returns the task as
// it ended. It stops early when ctx ends or fn returns an error, and
// returns that error.
func (c *Client) Follow(ctx context.Context, id string, fn func(api.LogEntry) error) (api.Task, error) {
	var end api.Task
	p, err := taskPath(id)
	if err != nil {
		return end, err
	}
	return end, c.follow(ctx, id, p+"/logs?follow=1", fn, &end)
}

// FollowJobLogs is Follow for a job: fn gets each log entry of job id,
// with the step that wrote it, until the job ends; it returns the job as
// it ended.
func (c *Client) FollowJobLogs(ctx context.Context, id string, fn func(api.LogEntry) error) (api.Job, error) {
	var end api.Job
	p, err := jobPath(id)
	if err != nil {
		return end, err
	}
	return end, c.follow(ctx, id, p+"/logs?follow=1", fn, &end)
}

// follow reads the log stream at path (of task or job id): fn gets each
// log event, and the end event is decoded into end.
func (c *Client) follow(ctx context.Context, id, path string, fn func(api.LogEntry) error, end any) error {
	resp, err := c.send(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if mt := resp.Header.Get("Content-Type"); !strings.HasPrefix(mt, "text/event-stream") {
		return fmt.Errorf("follow %s: the gateway answered %q, not an event stream", id, mt)
	}
	err = readEvents(resp.Body, func(event, data string) (bool, error) {
		switch event {
		case api.EventLog:
			var e api.LogEntry
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				return false, fmt.Errorf("follow %s: bad log event: %w", id, err)
			}
			return false, fn(e)
		case api.EventEnd:
			if err := json.Unmarshal([]byte(data), end); err != nil {
				return false, fmt.Errorf("follow %s: bad end event: %w", id, err)
			}
			return true, nil
		}
		return false, nil // unknown events are for newer clients
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// readEvents parses a text/event-stream and calls fn for each event until
// fn reports it is done, fn fails, or the stream ends (ErrStreamEnded).
func readEvents(r io.Reader, fn func(event, data string) (done bool, err error)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEvent)
	var event string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(data) > 0 {
				if event == "" {
					event = "message"
				}
				done, err := fn(event, strings.Join(data, "\n"))
				if done || err != nil {
					return err
				}
			}
			event, data = "", nil
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "event":
			event = value
		case "data":
			data = append(data, value)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the log stream: %w", err)
	}
	return ErrStreamEnded
}
