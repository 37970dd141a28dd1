package api

import (
	"cmp"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OpenAPIVersion is the version of the OpenAPI specification OpenAPI's
// document follows.
const OpenAPIVersion = "3.0.3"

// OpenAPI returns the API's OpenAPI document, built from Routes, from
// TaskFields (the form of POST /tasks, the task objects of POST
// /tasks/batch) and from the Go types of the answers by their json tags.
// Its info.version is "dev"; a gateway sets its own.
//
// The types map to schemas as encoding/json writes them: a struct is an
// object whose fields are required unless omitempty or omitzero, a
// pointer is nullable, a slice is an array (nullable too unless omitempty,
// since nil is written as null), time.Time is a date-time string and
// time.Duration an integer of nanoseconds. Named structs and enums
// (Status, Code) are components, referred to by name.
func OpenAPI() (map[string]any, error) {
	g := &generator{schemas: map[string]any{}}
	if _, err := g.schema(reflect.TypeFor[Error]()); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	g.schemas["TaskForm"] = taskForm()
	g.schemas["BatchTaskRequest"] = batchTaskRequest()
	paths := map[string]any{}
	for i := range Routes {
		r := &Routes[i]
		op, err := g.operation(r)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", r.Pattern(), err)
		}
		item, _ := paths[r.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": OpenAPIVersion,
		"info": map[string]any{
			"title":   "Shoal gateway API",
			"version": "dev",
			"description": "The HTTP API of a Shoal gateway: submit WebAssembly tasks, follow their runs and logs, " +
				"and watch the mesh's workers. Every error answer is an Error, whose code decides its status. " +
				"With --api-token-file every route but the public ones wants `Authorization: Bearer TOKEN`. " +
				"The dashboard's page and files (GET / and /ui/...) are served too, without a token.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer",
					"description": "a token of the gateway's --api-token-file, when it has one"},
			},
		},
		// A gateway without --api-token-file takes requests without a token.
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{}},
	}, nil
}

// generator collects the component schemas of the types it meets.
type generator struct {
	schemas map[string]any
}

func (g *generator) operation(r *Route) (map[string]any, error) {
	op := map[string]any{
		"operationId": operationID(r),
		"summary":     r.Summary,
	}
	if r.Public {
		op["security"] = []any{} // no token, whatever the gateway's tokens
	}
	var params []any
	for _, name := range pathParams(r.Path) {
		params = append(params, map[string]any{"name": name, "in": "path", "required": true,
			"schema": map[string]any{"type": "string"}})
	}
	query := r.Query
	if r.Local {
		query = append(slices.Clip(query), consistentParam)
	}
	for _, p := range query {
		q := map[string]any{"name": p.Name, "in": "query", "required": false,
			"description": p.Usage, "schema": paramSchema(p)}
		if p.Kind == KindList {
			q["style"], q["explode"] = "form", false
		}
		params = append(params, q)
	}
	if params != nil {
		op["parameters"] = params
	}
	switch r.Body {
	case FormBody:
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"multipart/form-data": map[string]any{"schema": ref("TaskForm"), "encoding": formEncoding()},
		}}
	case BatchBody:
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": batchBody()},
		}}
	case JobBody, PolicyBody, MemberBody:
		body, err := g.schema(reflect.TypeOf(map[BodyKind]any{JobBody: JobRequest{}, PolicyBody: ClusterPolicy{}, MemberBody: RaftMember{}}[r.Body]))
		if err != nil {
			return nil, err
		}
		op["requestBody"] = map[string]any{"required": true, "content": jsonContent(body)}
	case TarBody:
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/x-tar": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}},
		}}
	case WasmBody:
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/wasm": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}},
		}}
	}
	responses := map[string]any{}
	ok, err := g.answer(r)
	if err != nil {
		return nil, err
	}
	responses[strconv.Itoa(r.Status)] = ok
	for _, a := range r.Also {
		if a.Body == nil { // an answer without a body (204)
			responses[strconv.Itoa(a.Status)] = map[string]any{"description": a.Usage}
			continue
		}
		s, err := g.schema(reflect.TypeOf(a.Body))
		if err != nil {
			return nil, err
		}
		responses[strconv.Itoa(a.Status)] = map[string]any{"description": a.Usage, "content": jsonContent(s)}
	}
	for status, codes := range errorsByStatus(r.Errors) {
		names := make([]string, len(codes))
		for i, c := range codes {
			names[i] = string(c)
		}
		responses[strconv.Itoa(status)] = map[string]any{
			"description": "an Error with code " + strings.Join(names, " or "),
			"content":     jsonContent(ref("Error")),
		}
	}
	responses["default"] = map[string]any{"description": "an Error", "content": jsonContent(ref("Error"))}
	op["responses"] = responses
	return op, nil
}

// answer is the successful response of r.
func (g *generator) answer(r *Route) (map[string]any, error) {
	resp := map[string]any{"description": http.StatusText(r.Status)}
	content := map[string]any{}
	if r.Answer != nil {
		s, err := g.schema(reflect.TypeOf(r.Answer))
		if err != nil {
			return nil, err
		}
		content["application/json"] = map[string]any{"schema": s}
	} else {
		content[r.Media] = map[string]any{"schema": map[string]any{"type": "string"}}
	}
	if r.Events != nil {
		// OpenAPI 3.0 cannot describe an event stream; x-events names each
		// event's data schema, and the description says how to read them.
		events := map[string]any{}
		var names []string
		for _, e := range r.Events {
			s, err := g.schema(reflect.TypeOf(e.Data))
			if err != nil {
				return nil, err
			}
			events[e.Name] = s
			names = append(names, fmt.Sprintf("`%s` (data: %s)", e.Name, reflect.TypeOf(e.Data).Name()))
		}
		content["text/event-stream"] = map[string]any{
			"schema": map[string]any{"type": "string",
				"description": "server-sent events, each with JSON data: " + strings.Join(names, ", ")},
			"x-events": events,
		}
	}
	resp["content"] = content
	if r.Headers != nil {
		h := map[string]any{}
		for _, p := range r.Headers {
			h[p.Name] = map[string]any{"description": p.Usage, "schema": map[string]any{"type": "string"}}
		}
		resp["headers"] = h
	}
	return resp, nil
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
)

// enums are the named types whose values are a closed list.
var enums = map[reflect.Type]func() []string{
	reflect.TypeFor[Status](): func() []string {
		out := make([]string, len(Statuses))
		for i, s := range Statuses {
			out[i] = string(s)
		}
		return out
	},
	reflect.TypeFor[Code](): func() []string {
		var out []string
		for _, c := range serverCodes() {
			out = append(out, string(c))
		}
		return out
	},
}

// schema is the schema of t's JSON encoding: a $ref for a named struct or
// enum, whose component it adds.
func (g *generator) schema(t reflect.Type) (map[string]any, error) {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}, nil
	case t == durationType:
		return map[string]any{"type": "integer", "format": "int64", "description": "nanoseconds"}, nil
	case t == reflect.TypeFor[Seconds]():
		return oneOf(map[string]any{"type": "number", "description": "seconds"},
			map[string]any{"type": "string", "description": "seconds, or a duration like 1m30s"}), nil
	case t == reflect.TypeFor[Bytes]():
		return oneOf(map[string]any{"type": "integer", "description": "bytes"},
			map[string]any{"type": "string", "description": "bytes, or a size like 64MiB"}), nil
	case enums[t] != nil:
		if _, ok := g.schemas[t.Name()]; !ok {
			g.schemas[t.Name()] = map[string]any{"type": "string", "enum": enums[t]()}
		}
		return ref(t.Name()), nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer", "format": "int64"}, nil
	case reflect.Int32:
		return map[string]any{"type": "integer", "format": "int32"}, nil
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		return map[string]any{"type": "integer", "minimum": 0}, nil
	case reflect.Float64, reflect.Float32:
		return map[string]any{"type": "number"}, nil
	case reflect.Pointer:
		s, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return nullable(s), nil
	case reflect.Slice:
		items, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			break
		}
		return map[string]any{"type": "object"}, nil
	case reflect.Struct:
		if t.Name() == "" {
			break
		}
		if _, ok := g.schemas[t.Name()]; !ok {
			g.schemas[t.Name()] = nil // a cycle refers to it
			s, err := g.object(t)
			if err != nil {
				return nil, err
			}
			g.schemas[t.Name()] = s
		}
		return ref(t.Name()), nil
	}
	return nil, fmt.Errorf("no schema for the Go type %s", t)
}

// object is the schema of the struct t.
func (g *generator) object(t reflect.Type) (map[string]any, error) {
	props := map[string]any{}
	var required []string
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if f.Anonymous || name == "" {
			return nil, fmt.Errorf("%s.%s: only fields with a json name are described", t.Name(), f.Name)
		}
		s, err := g.schema(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		omitted := hasOpt(opts, "omitempty") || hasOpt(opts, "omitzero")
		if f.Type.Kind() == reflect.Slice && !omitted {
			s = nullable(s) // encoding/json writes a nil slice as null
		}
		props[name] = s
		if !omitted {
			required = append(required, name)
		}
	}
	out := map[string]any{"type": "object", "properties": props}
	if required != nil {
		out["required"] = required
	}
	return out, nil
}

func hasOpt(opts, opt string) bool {
	return slices.Contains(strings.Split(opts, ","), opt)
}

// nullable is s that also takes null. A $ref has no siblings in OpenAPI
// 3.0, and nullable needs a type beside it: a nullable struct is an
// object of allOf its $ref.
func nullable(s map[string]any) map[string]any {
	if _, ok := s["$ref"]; ok {
		return map[string]any{"type": "object", "allOf": []any{s}, "nullable": true}
	}
	out := make(map[string]any, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	out["nullable"] = true
	return out
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func jsonContent(schema map[string]any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// serverCodes are the codes a gateway answers with, by status: all but
// the ones a client makes up when no gateway answered as one should.
func serverCodes() []Code {
	var out []Code
	for c := range codeStatus {
		if c != CodeNotReachable && c != CodeNotSupported {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Code) int { return cmp.Or(cmp.Compare(a.Status(), b.Status()), cmp.Compare(a, b)) })
	return out
}

// errorsByStatus groups codes by their status.
func errorsByStatus(codes []Code) map[int][]Code {
	out := map[int][]Code{}
	for _, c := range codes {
		out[c.Status()] = append(out[c.Status()], c)
	}
	return out
}

// pathParams are the names of a path's {parameters}.
func pathParams(path string) []string {
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			out = append(out, strings.TrimSuffix(name, "}"))
		}
	}
	return out
}

// operationID names a route in camel case: GET /tasks/{id}/logs is
// getTasksIdLogs.
func operationID(r *Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	for _, w := range strings.FieldsFunc(r.Path, func(c rune) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9')
	}) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
