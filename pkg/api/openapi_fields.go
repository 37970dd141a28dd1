package api

// The schemas of the task request's fields, from TaskFields: as the parts
// of POST /tasks's multipart form, and as the keys of a task object of
// POST /tasks/batch, which takes strings or numbers alike (and null for
// "not given").

// taskForm is the schema of POST /tasks's form.
func taskForm() map[string]any {
	props := map[string]any{}
	for i := range TaskFields {
		f := &TaskFields[i]
		props[f.Name] = withUsage(formSchema(f), f.Usage, f.Repeatable, "repeat the part")
	}
	return map[string]any{"type": "object", "properties": props,
		"description": "a task: its module as the wasm file part, or module=sha256:HEX of one uploaded before; " +
			"every other field is optional, and absent ones take the gateway's defaults"}
}

// batchTaskRequest is the schema of one task object of POST /tasks/batch:
// the form's fields but wasm (a batch names modules by hash).
func batchTaskRequest() map[string]any {
	props := map[string]any{}
	for i := range TaskFields {
		f := &TaskFields[i]
		if f.Name == "wasm" {
			continue
		}
		props[f.Name] = withUsage(batchSchema(f), f.Usage, f.Repeatable, "give an array")
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false,
		"description": "a task of a batch: the fields of POST /tasks as strings or numbers, its module by hash; " +
			"a field that is null is not given"}
}

// batchBody is the schema of POST /tasks/batch's body: an array of tasks,
// or the tasks with defaults every one starts from.
func batchBody() map[string]any {
	tasks := map[string]any{"type": "array", "items": ref("BatchTaskRequest"), "minItems": 1, "maxItems": MaxBatch}
	return map[string]any{"oneOf": []any{
		tasks,
		map[string]any{"type": "object", "required": []any{"tasks"}, "additionalProperties": false,
			"properties": map[string]any{"defaults": ref("BatchTaskRequest"), "tasks": tasks}},
	}}
}

// formEncoding gives the form's file parts their media types.
func formEncoding() map[string]any {
	out := map[string]any{}
	for i := range TaskFields {
		if f := &TaskFields[i]; f.Kind == KindFile {
			ct := "application/octet-stream"
			if f.Name == "wasm" {
				ct = "application/wasm"
			}
			out[f.Name] = map[string]any{"contentType": ct}
		}
	}
	return out
}

// formSchema is the schema of a form field's value: every part is text,
// so the type says how the text reads.
func formSchema(f *Field) map[string]any {
	var s map[string]any
	switch f.Kind {
	case KindInt:
		s = map[string]any{"type": "integer", "format": "int64"}
	case KindFile:
		s = map[string]any{"type": "string", "format": "binary"}
	case KindModule:
		s = moduleSchema()
	case KindBool:
		s = map[string]any{"type": "string", "enum": []string{"1", "true", "0", "false"}}
	default:
		s = map[string]any{"type": "string"}
	}
	if f.Repeatable {
		return map[string]any{"type": "array", "items": s}
	}
	return s
}

// batchSchema is the schema of a field in a task object.
func batchSchema(f *Field) map[string]any {
	str := map[string]any{"type": "string"}
	var s map[string]any
	switch f.Kind {
	case KindInt, KindBytes:
		s = oneOf(map[string]any{"type": "integer"}, str)
	case KindSeconds, KindCores:
		s = oneOf(map[string]any{"type": "number"}, str)
	case KindModule:
		s = moduleSchema()
	case KindBool:
		s = oneOf(map[string]any{"type": "boolean"}, map[string]any{"type": "string", "enum": []string{"1", "true", "0", "false"}})
	default:
		s = str
	}
	if f.Repeatable {
		return oneOf(s, map[string]any{"type": "array", "items": s})
	}
	return s
}

// paramSchema is the schema of a query parameter.
func paramSchema(p Param) map[string]any {
	var s map[string]any
	switch p.Kind {
	case KindInt:
		s = map[string]any{"type": "integer", "format": "int64"}
	default:
		s = map[string]any{"type": "string"}
	}
	if p.Enum != nil {
		s["enum"] = p.Enum
	}
	if p.Kind == KindList {
		return map[string]any{"type": "array", "items": s} // comma-separated: style form, explode false
	}
	return s
}

func moduleSchema() map[string]any {
	return map[string]any{"type": "string", "pattern": "^sha256:[0-9a-fA-F]{64}$"}
}

func oneOf(a, b map[string]any) map[string]any { return map[string]any{"oneOf": []any{a, b}} }

// withUsage is s described by usage, and how to give a repeatable field
// more than one value.
func withUsage(s map[string]any, usage string, repeatable bool, how string) map[string]any {
	if repeatable {
		usage += " (" + how + " for more than one)"
	}
	s["description"] = usage
	return s
}
