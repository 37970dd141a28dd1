package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// The gateway lists only clean relative paths; artifactPath refuses the
// others anyway, so that a listing cannot write outside the directory.
func TestArtifactPath(t *testing.T) {
	dir := filepath.Join("out", "j1")
	for _, tc := range []struct {
		path, want, err string
	}{
		{path: "a.txt", want: filepath.Join(dir, "a.txt")},
		{path: "sub/dir/b.bin", want: filepath.Join(dir, "sub", "dir", "b.bin")},
		{path: "a/../b", err: "outside"}, // not clean: the gateway never lists such a path
		{path: "..", err: "outside"},
		{path: "../escape", err: "outside"},
		{path: "a/../../escape", err: "outside"},
		{path: "/etc/passwd", err: "not a relative path"},
		{path: `..\escape`, err: "not a relative path"},
		{path: "nul\x00", err: "not a relative path"},
		{path: "", err: "not a relative path"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := artifactPath(dir, tc.path)
			switch {
			case tc.err == "" && (err != nil || got != tc.want):
				t.Errorf("artifactPath(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("artifactPath(%q) = %q, %v; want an error with %q", tc.path, got, err, tc.err)
			}
		})
	}
}
