package backend_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/backend"
)

// What the docker CLI says on failure reaches the caller on one line:
// docker writes "Unable to find image ..." and the daemon's error on two,
// and a failed start's reason is one line of GET /cluster.
func TestDockerErrorOneLine(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "docker")
	script := "#!/bin/sh\necho \"Unable to find image 'x:y' locally\" >&2\necho 'Error response from daemon: no such host' >&2\nexit 125\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	d := backend.NewDocker(backend.DockerConfig{Network: "n", Cluster: "c", Docker: fake})
	_, err := d.List(context.Background())
	if err == nil {
		t.Fatal("List with a failing docker: no error")
	}
	const want = "Unable to find image 'x:y' locally | Error response from daemon: no such host"
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, want) {
		t.Fatalf("error %q, want one line containing %q", msg, want)
	}
}
