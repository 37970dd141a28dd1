package httpapi_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

// The dirs field, repeated or comma-separated, names the task's directories
// and makes their labels placement requirements; with no worker offering
// them, the task waits.
func TestSubmitDirs(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	ct, body := multipartBody(part{name: "wasm", file: wasm.Hello}, part{name: "id", value: "d"},
		part{name: "dirs", value: "data"}, part{name: "dirs", value: " out, logs ,"}, part{name: "labels", value: "gpu"})
	if code, _, b := do(t, "POST", m.URL+"/tasks", ct, body); code != 201 {
		t.Fatalf("POST: %d %s", code, b)
	}
	_, _, b := do(t, "GET", m.URL+"/tasks/d", "", nil)
	var v api.Task
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if want := []string{"data", "out", "logs"}; !slices.Equal(v.Dirs, want) {
		t.Errorf("dirs %q; want %q", v.Dirs, want)
	}
	if want := []string{"gpu", "dir:data", "dir:out", "dir:logs"}; !slices.Equal(v.Labels, want) {
		t.Errorf("labels %q; want %q", v.Labels, want)
	}
	if v.Status != task.Queued {
		t.Errorf("status %s; want queued", v.Status)
	}
}
