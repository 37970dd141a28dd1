//go:build docker

package docker

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// jobs runs jobs across the containers, through the API as the host sees
// it: the example pipeline, its artifacts downloaded and checked; then a
// job whose worker container is killed (docker kill) in the middle of its
// long step, which runs again from its first step on another worker.
// containers maps the workers' peer IDs to their containers.
func jobs(t *testing.T, c *cluster, say func(string, ...any), containers map[string]string) {
	t.Helper()
	start := time.Now()
	for name, file := range map[string]string{
		"jobgen":       "../../examples/jobgen.wasm",
		"jobtransform": "../../examples/jobtransform.wasm",
		"jobsummary":   "../../examples/jobsummary.wasm",
		"hash":         "../../wasm/hash/hash-cmd.wasm",
	} {
		c.mustDo(t, http.MethodPut, "/modules?name="+name, mustRead(t, file), http.StatusCreated, nil)
	}

	var j api.Job
	c.mustDo(t, http.MethodPost, "/jobs", mustRead(t, "../../examples/jobs/pipeline.json"), http.StatusCreated, &j)
	j = c.jobDone(t, j.ID)
	if _, ok := containers[j.Worker]; j.Status != api.Succeeded || !ok {
		t.Fatalf("pipeline: %s on %q (%s), want succeeded on a worker container", j.Status, j.Worker, j.Error)
	}
	c.mustArtifacts(t, j)
	say("jobs: the pipeline (examples/jobs/pipeline.json) succeeded on %s, its 3 artifacts downloaded with the listed sha256, summary.json right; %s",
		short(j.Worker), ms(time.Since(start)))

	// testdata/longstep.json: the pipeline with the hash puzzle (seconds)
	// as a step between generate and transform.
	c.mustDo(t, http.MethodPost, "/jobs", mustRead(t, "../testdata/longstep.json"), http.StatusCreated, &j)
	waitFor(t, time.Minute, "step spin running", func() bool {
		return c.getJSON("/jobs/"+j.ID, &j) && len(j.Steps) == 4 && j.Steps[1].Status == api.Running
	})
	victim, ok := containers[j.Worker]
	if !ok {
		t.Fatalf("job %s runs on %q, no worker container", j.ID, j.Worker)
	}
	lost := j.Worker
	killed := time.Now()
	docker(t, "kill", victim)
	say("jobs: docker kill the worker container running step spin of job %s (%s)", j.ID, short(lost))
	j = c.jobDone(t, j.ID)
	if _, ok := containers[j.Worker]; j.Status != api.Succeeded || j.Attempt != 1 || j.Worker == lost || !ok {
		t.Fatalf("job %s after its worker was killed: %s, attempt %d on %q (%s); want succeeded, attempt 1, on another worker",
			j.ID, j.Status, j.Attempt, j.Worker, j.Error)
	}
	c.mustArtifacts(t, j)
	say("jobs: job %s ran again from its first step and succeeded on %s (attempt 1) %s after the kill, its artifacts each once",
		j.ID, short(j.Worker), ms(time.Since(killed)))
}

// jobDone waits for job id to end and returns it.
func (c *cluster) jobDone(t *testing.T, id string) api.Job {
	t.Helper()
	var j api.Job
	waitFor(t, 2*time.Minute, "job "+id+" ended", func() bool {
		return c.getJSON("/jobs/"+id+"?wait=5s", &j) && j.Status.Done()
	})
	return j
}

// mustArtifacts downloads each of the pipeline's artifacts, listed once,
// checks them against the listing's size and sha256, and the summary's
// count and sum.
func (c *cluster) mustArtifacts(t *testing.T, j api.Job) {
	t.Helper()
	var files []api.File
	c.mustDo(t, http.MethodGet, "/jobs/"+j.ID+"/files", nil, http.StatusOK, &files)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	if want := []string{"data.csv", "summary.json", "transformed.csv"}; !slices.Equal(paths, want) {
		t.Fatalf("job %s: artifacts %v, want each of %v once", j.ID, paths, want)
	}
	for _, f := range files {
		var b []byte
		c.mustDo(t, http.MethodGet, "/jobs/"+j.ID+"/files/"+f.Path, nil, http.StatusOK, &b)
		if sum := sha256.Sum256(b); int64(len(b)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Fatalf("job %s: %s downloaded as %d bytes of sha256 %x, listed as %d of %s", j.ID, f.Path, len(b), sum, f.Size, f.SHA256)
		}
		if f.Path != "summary.json" {
			continue
		}
		var s struct{ Count, Sum int }
		if err := json.Unmarshal(b, &s); err != nil || s.Count != 500 || s.Sum != 249500 {
			t.Fatalf("job %s: summary.json %v, want count 500 and sum 249500:\n%s", j.ID, err, b)
		}
	}
}

// mustDo sends a request to the API and fails the test unless it answers
// want. out, if not nil, receives the body: *[]byte as it is, else decoded
// from JSON.
func (c *cluster) mustDo(t *testing.T, method, path string, body []byte, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, c.api+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s, want %d: %s", method, path, resp.Status, want, b)
	}
	switch out := out.(type) {
	case nil:
	case *[]byte:
		*out = b
	default:
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
