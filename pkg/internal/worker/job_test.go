package worker

import (
	"os"
	"path/filepath"
	"testing"
)

// A worker starting again removes the job directories its earlier life
// left, and nothing beside its job directory.
func TestClearJobDir(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "jobs")
	if err := clearJobDir(dir); err != nil {
		t.Fatalf("no directory yet: %v", err)
	}
	for _, p := range []string{"j1-0-123/out/a.txt", "j2-1-456/b.txt"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := clearJobDir(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(base, "keep")); err != nil {
		t.Fatalf("removed what was beside it: %v", err)
	}
}
