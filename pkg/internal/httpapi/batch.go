package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// MaxBatch bounds the tasks of one POST /tasks/batch.
const MaxBatch = api.MaxBatch

// postBatch takes many tasks in one request, all or none, recorded in one
// transaction. The body is JSON: an array of tasks, or an object
// {"defaults": {...}, "tasks": [...]} whose defaults every task starts
// from. A task has the fields of POST /tasks, as strings or numbers (args,
// env, labels and dirs also as arrays), and names its module by hash
// (module=sha256:HEX, uploaded before with PUT /modules).
func (s *Server) postBatch(w http.ResponseWriter, r *http.Request) {
	reqs, err := parseBatch(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	owner := ownerOf(r)
	specs := make([]task.Spec, len(reqs))
	for i := range reqs {
		specs[i] = specOf(&reqs[i], owner)
	}
	ts, err := s.g.SubmitBatch(specs)
	if item := (*gateway.ItemError)(nil); errors.As(err, &item) {
		s.failItem(w, r, item.Index, item.Err)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := api.Batch{Count: len(ts), Tasks: make([]api.BatchTask, len(ts))}
	for i, t := range ts {
		out.Tasks[i] = api.BatchTask{ID: t.Task.Spec.ID, Status: t.Task.Status}
	}
	writeJSON(w, http.StatusCreated, out)
}

// failItem answers with err's status, its field named within the batch:
// tasks[3].difficulty.
func (s *Server) failItem(w http.ResponseWriter, r *http.Request, i int, err error) {
	body := errorOf(err)
	if body.Code == api.CodeInternal {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, body.Status(), body.Under(fmt.Sprintf("tasks[%d]", i)))
}

// parseBatch reads a batch body into specs without their owner. The body
// is read as a stream, task by task, so a batch of more than MaxBatch
// tasks is refused when its MaxBatch+1st task starts, before the rest is
// held in memory.
func parseBatch(body io.Reader) ([]api.TaskRequest, error) {
	br := bufio.NewReader(body)
	dec := json.NewDecoder(br)
	var raw []map[string]json.RawMessage
	var defaults map[string]json.RawMessage
	first, err := peekNonSpace(br)
	if err != nil {
		return nil, bodyError(err)
	}
	switch first {
	case '[':
		if raw, err = decodeTasks(dec); err != nil {
			return nil, err
		}
	case '{':
		if raw, defaults, err = decodeBatchObject(dec); err != nil {
			return nil, err
		}
	default:
		return nil, api.Invalid("body", `must be JSON: an array of tasks, or {"defaults": {...}, "tasks": [...]}`)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, api.Invalid("body", "more after the batch's JSON value")
	}
	if len(raw) == 0 {
		return nil, api.Invalid("tasks", "the batch has no tasks")
	}
	base, err := batchValues(defaults)
	if err == nil {
		_, err = api.ParseTask(base, nil) // a bad default is named as one
	}
	if err != nil {
		return nil, under(err, "defaults")
	}
	reqs := make([]api.TaskRequest, len(raw))
	for i, fields := range raw {
		item := fmt.Sprintf("tasks[%d]", i)
		if fields == nil {
			return nil, api.Invalid(item, "must be an object")
		}
		vals, err := batchValues(fields)
		if err != nil {
			return nil, under(err, item)
		}
		_, ownDuration := vals["duration"]
		_, ownTimeout := vals["timeout"]
		for k, v := range base {
			if _, ok := vals[k]; ok {
				continue
			}
			if (k == "duration" || k == "timeout") && (ownDuration || ownTimeout) {
				continue // the task's own time limit, by either name, wins
			}
			vals[k] = v
		}
		req, err := api.ParseTask(vals, nil)
		if err != nil {
			return nil, under(err, item)
		}
		if req.Module == "" {
			return nil, api.Invalid(item+".module", "required: a batch names its module as sha256:HEX (upload it with PUT /modules)")
		}
		reqs[i] = req
	}
	return reqs, nil
}

// batchValues turns a task object into the form's values: strings and
// numbers as they are written; arrays, for the repeatable fields, one
// value each (args as one JSON array, which the form reads as argv).
func batchValues(fields map[string]json.RawMessage) (map[string][]string, error) {
	vals := make(map[string][]string, len(fields))
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names) // the first bad field is the same on every try
	for _, name := range names {
		v := bytes.TrimSpace(fields[name])
		f, known := api.TaskField(name)
		switch {
		case name == "":
			return nil, &api.Error{Code: api.CodeInvalid, Message: "a field has an empty name"}
		case name == "wasm":
			return nil, api.Invalid(name, "a batch names its module by hash: upload it with PUT /modules and give module=sha256:HEX")
		case !known:
			return nil, api.Invalid(name, "unknown field")
		case bytes.Equal(v, []byte("null")):
			continue
		}
		switch v[0] {
		case '"':
			var x string
			if err := json.Unmarshal(v, &x); err != nil {
				return nil, api.Invalid(name, "bad JSON string: %v", err)
			}
			vals[name] = []string{x}
		case '[':
			if !f.Repeatable {
				return nil, api.Invalid(name, "takes one value, not an array")
			}
			var xs []json.RawMessage
			if err := json.Unmarshal(v, &xs); err != nil {
				return nil, api.Invalid(name, "bad JSON array: %v", err)
			}
			list := make([]string, 0, len(xs))
			for _, x := range xs {
				s, err := scalar(x)
				if err != nil {
					return nil, api.Invalid(name, "%v", err)
				}
				list = append(list, s)
			}
			if name == "args" {
				enc, _ := json.Marshal(list) // strings always encode
				list = []string{string(enc)}
			}
			vals[name] = list
		default:
			s, err := scalar(v)
			if err != nil {
				return nil, api.Invalid(name, "%v", err)
			}
			vals[name] = []string{s}
		}
	}
	return vals, nil
}

// scalar reads a JSON string or number as text.
func scalar(v json.RawMessage) (string, error) {
	var x any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return "", fmt.Errorf("bad JSON value: %v", err)
	}
	switch x := x.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool: // a flag's value: shared
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("must be a string or a number, got %s", v)
}

// under puts a field error under prefix: tasks[3] + difficulty; an
// invalid request without a field is about prefix itself.
func under(err error, prefix string) error {
	var e *api.Error
	if errors.As(err, &e) && e.Code == api.CodeInvalid {
		return e.Under(prefix)
	}
	return err
}

// peekNonSpace returns the first byte of the body that is not JSON white
// space, leaving it unread.
func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, api.Invalid("body", "empty: want a JSON batch")
			}
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
		default:
			return b[0], nil
		}
	}
}

// decodeTasks reads a JSON array of task objects, at most MaxBatch.
func decodeTasks(dec *json.Decoder) ([]map[string]json.RawMessage, error) {
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, batchSyntax(err, "tasks", "an array of task objects")
	}
	var out []map[string]json.RawMessage
	for dec.More() {
		if len(out) == MaxBatch {
			return nil, api.Invalid("tasks", "more than %d tasks; a batch holds at most %d", MaxBatch, MaxBatch)
		}
		var m map[string]json.RawMessage
		if err := dec.Decode(&m); err != nil {
			return nil, batchSyntax(err, fmt.Sprintf("tasks[%d]", len(out)), "a task object")
		}
		if m == nil {
			return nil, api.Invalid(fmt.Sprintf("tasks[%d]", len(out)), "must be an object")
		}
		out = append(out, m)
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return nil, batchSyntax(err, "tasks", "an array of task objects")
	}
	return out, nil
}

// decodeBatchObject reads {"defaults": {...}, "tasks": [...]}.
func decodeBatchObject(dec *json.Decoder) (tasks []map[string]json.RawMessage, defaults map[string]json.RawMessage, err error) {
	if _, err := dec.Token(); err != nil { // the {
		return nil, nil, batchSyntax(err, "body", "a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, batchSyntax(err, "body", "a JSON object")
		}
		key, _ := t.(string)
		if seen[key] {
			return nil, nil, api.Invalid("body", "%q given twice", key)
		}
		seen[key] = true
		switch key {
		case "defaults":
			if err := dec.Decode(&defaults); err != nil {
				return nil, nil, batchSyntax(err, "defaults", "an object of task fields")
			}
		case "tasks":
			if tasks, err = decodeTasks(dec); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, api.Invalid("body", `unknown key %q: a batch object has "defaults" and "tasks"`, key)
		}
	}
	if _, err := dec.Token(); err != nil { // the }
		return nil, nil, batchSyntax(err, "body", "a JSON object")
	}
	return tasks, defaults, nil
}

// batchSyntax names what a batch got wrong: the upload limit and a slow
// body as themselves, anything else as a field error.
func batchSyntax(err error, field, want string) error {
	if err == nil {
		return api.Invalid(field, "must be %s", want)
	}
	var tooBig *http.MaxBytesError
	var slow *SlowBodyError
	if errors.As(err, &tooBig) || errors.As(err, &slow) {
		return err
	}
	return api.Invalid(field, "must be %s: %v", want, err)
}
