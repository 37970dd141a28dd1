// Package apischema checks an OpenAPI 3.0 document's structure, and JSON
// values against its schemas: the subset of JSON Schema that api.OpenAPI
// writes (type, format date-time, nullable, enum, required, properties,
// additionalProperties false, items, oneOf, allOf, $ref). It is for tests:
// that the gateway's document is sound, and that the answers the gateway
// gives and the README shows are what the document says.
package apischema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Doc is an OpenAPI document as JSON decodes it.
type Doc struct {
	root map[string]any
}

// New reads a document from its JSON, or from any value that encodes to
// it (api.OpenAPI's map).
func New(v any) (*Doc, error) {
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	var root map[string]any
	if err := decode(b, &root); err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	return &Doc{root: root}, nil
}

// decode decodes JSON with numbers as json.Number, so an integer stays one.
func decode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// Structure checks what every OpenAPI 3.0 document needs: the top-level
// keys, an operation with responses (each described) under every path,
// the path's {parameters} declared, and every $ref resolving.
func (d *Doc) Structure() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if v, _ := d.root["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		bad("openapi: %q is not 3.0.x", d.root["openapi"])
	}
	info, _ := d.root["info"].(map[string]any)
	if s, _ := info["title"].(string); s == "" {
		bad("info.title is missing")
	}
	if s, _ := info["version"].(string); s == "" {
		bad("info.version is missing")
	}
	paths, ok := d.root["paths"].(map[string]any)
	if !ok || len(paths) == 0 {
		bad("paths is missing")
	}
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		if !strings.HasPrefix(path, "/") || len(ops) == 0 {
			bad("paths[%s]: not a path with operations", path)
		}
		for method, op := range ops {
			where := fmt.Sprintf("%s %s", strings.ToUpper(method), path)
			if !slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, method) {
				bad("%s: not an HTTP method", where)
				continue
			}
			o, _ := op.(map[string]any)
			resp, _ := o["responses"].(map[string]any)
			if len(resp) == 0 {
				bad("%s: no responses", where)
			}
			for status, r := range resp {
				if _, err := strconv.Atoi(status); err != nil && status != "default" {
					bad("%s: response %q is not a status", where, status)
				}
				if s, _ := r.(map[string]any)["description"].(string); s == "" {
					bad("%s %s: no description", where, status)
				}
			}
			declared := map[string]bool{}
			params, _ := o["parameters"].([]any)
			for _, p := range params {
				p, _ := p.(map[string]any)
				if p["in"] == "path" {
					declared[fmt.Sprint(p["name"])] = true
					if p["required"] != true {
						bad("%s: path parameter %v is not required", where, p["name"])
					}
				}
				if p["schema"] == nil {
					bad("%s: parameter %v has no schema", where, p["name"])
				}
			}
			for seg := range strings.SplitSeq(path, "/") {
				if name, ok := strings.CutPrefix(seg, "{"); ok && !declared[strings.TrimSuffix(name, "}")] {
					bad("%s: path parameter %s is not declared", where, seg)
				}
			}
		}
	}
	walk(d.root, "#", func(where, ref string) {
		if _, err := d.resolve(ref); err != nil {
			bad("%s: %v", where, err)
		}
	})
	if errs != nil {
		slices.Sort(errs)
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// walk calls fn for every $ref under v.
func walk(v any, where string, fn func(where, ref string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				fn(where, s)
				continue
			}
			walk(x, where+"/"+k, fn)
		}
	case []any:
		for i, x := range v {
			walk(x, fmt.Sprintf("%s/%d", where, i), fn)
		}
	}
}

// resolve finds a local $ref: #/components/schemas/Task.
func (d *Doc) resolve(ref string) (map[string]any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = d.root
	for key := range strings.SplitSeq(rest, "/") {
		m, _ := cur.(map[string]any)
		if cur, ok = m[key]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q is not an object", ref)
	}
	return m, nil
}

// Operation finds the operation that answers method on a concrete path
// (/tasks/t1 finds /tasks/{id}) and returns its path template.
func (d *Doc) Operation(method, path string) (template string, op map[string]any, err error) {
	paths, _ := d.root["paths"].(map[string]any)
	for tmpl, item := range paths {
		if !matches(tmpl, path) {
			continue
		}
		// A literal segment beats a parameter: /tasks/batch is not /tasks/{id}.
		if template != "" && strings.Count(tmpl, "{") > strings.Count(template, "{") {
			continue
		}
		if o, ok := item.(map[string]any)[strings.ToLower(method)].(map[string]any); ok {
			template, op = tmpl, o
		}
	}
	if op == nil {
		return "", nil, fmt.Errorf("no operation %s %s", method, path)
	}
	return template, op, nil
}

func matches(template, path string) bool {
	t, p := strings.Split(template, "/"), strings.Split(path, "/")
	if len(t) != len(p) {
		return false
	}
	for i := range t {
		if !strings.HasPrefix(t[i], "{") && t[i] != p[i] {
			return false
		}
	}
	return true
}

// Answer is the schema of the JSON answer with status of method on path.
// An answer that the operation does not list is its default's.
func (d *Doc) Answer(method, path string, status int) (map[string]any, error) {
	_, op, err := d.Operation(method, path)
	if err != nil {
		return nil, err
	}
	resp, _ := op["responses"].(map[string]any)
	r, ok := resp[strconv.Itoa(status)].(map[string]any)
	if !ok {
		if r, ok = resp["default"].(map[string]any); !ok {
			return nil, fmt.Errorf("%s %s: no answer %d", method, path, status)
		}
	}
	content, _ := r["content"].(map[string]any)
	mt, _ := content["application/json"].(map[string]any)
	schema, ok := mt["schema"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s %s: answer %d is not JSON", method, path, status)
	}
	return schema, nil
}

// CheckJSON checks the JSON b against schema.
func (d *Doc) CheckJSON(schema map[string]any, b []byte) error {
	var v any
	if err := decode(b, &v); err != nil {
		return err
	}
	return d.Check(schema, v, true)
}

// Check checks v, as JSON decodes it with numbers as json.Number, against
// schema. Without required, the required properties may be missing (a
// value shown in part).
func (d *Doc) Check(schema map[string]any, v any, required bool) error {
	return d.check(schema, v, "$", required)
}

func (d *Doc) check(s map[string]any, v any, at string, required bool) error {
	if ref, ok := s["$ref"].(string); ok {
		target, err := d.resolve(ref)
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		return d.check(target, v, at, required)
	}
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return fmt.Errorf("%s: null, but not nullable", at)
	}
	if subs, ok := s["allOf"].([]any); ok {
		for _, sub := range subs {
			if err := d.check(sub.(map[string]any), v, at, required); err != nil {
				return err
			}
		}
	}
	if subs, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, sub := range subs {
			if d.check(sub.(map[string]any), v, at, required) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: %s matches %d of oneOf's schemas, want 1", at, short(v), n)
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		return fmt.Errorf("%s: %s is not one of %v", at, short(v), enum)
	}
	t, _ := s["type"].(string)
	switch t {
	case "":
		return nil
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s is not an object", at, short(v))
		}
		return d.object(s, m, at, required)
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %s is not an array", at, short(v))
		}
		items, _ := s["items"].(map[string]any)
		for i, x := range a {
			if err := d.check(items, x, fmt.Sprintf("%s[%d]", at, i), required); err != nil {
				return err
			}
		}
		return nil
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %s is not a string", at, short(v))
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", at, str)
			}
		}
		return nil
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %s is not a number", at, short(v))
		}
		if t == "integer" && strings.ContainsAny(n.String(), ".eE") {
			return fmt.Errorf("%s: %s is not an integer", at, n)
		}
		if min, ok := s["minimum"].(json.Number); ok {
			x, _ := n.Float64()
			lo, _ := min.Float64()
			if x < lo {
				return fmt.Errorf("%s: %s is under the minimum %s", at, n, min)
			}
		}
		return nil
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %s is not a boolean", at, short(v))
		}
		return nil
	}
	return fmt.Errorf("%s: the checker does not know type %q", at, t)
}

func (d *Doc) object(s map[string]any, m map[string]any, at string, required bool) error {
	props, _ := s["properties"].(map[string]any)
	if required {
		req, _ := s["required"].([]any)
		for _, name := range req {
			if _, ok := m[name.(string)]; !ok {
				return fmt.Errorf("%s: %q is required", at, name)
			}
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first error is the same on every run
	for _, k := range keys {
		p, ok := props[k].(map[string]any)
		if !ok {
			if s["additionalProperties"] == false || props != nil {
				// Every object the API writes lists its properties: one
				// that is not listed is a field the document lacks.
				return fmt.Errorf("%s: %q is not a property", at, k)
			}
			continue
		}
		if err := d.check(p, m[k], at+"."+k, required); err != nil {
			return err
		}
	}
	return nil
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}
