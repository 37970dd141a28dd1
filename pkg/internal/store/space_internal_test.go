package store

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

// TestNoSpaceClassified: a lack of space is ErrNoSpace wherever it is in
// the chain, and also when bbolt kept only its text.
func TestNoSpaceClassified(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"write", &fs.PathError{Op: "write", Path: "/d/gateway.db", Err: syscall.ENOSPC}, true},
		{"quota", fmt.Errorf("sync: %w", &fs.PathError{Op: "sync", Path: "/d/gateway.db", Err: syscall.EDQUOT}), true},
		{"grow, as text", fmt.Errorf("file resize error: %s", syscall.ENOSPC), true},
		{"already marked", fmt.Errorf("save runs: %w", &noSpaceError{syscall.ENOSPC}), true},
		{"other errno", &fs.PathError{Op: "write", Path: "/d/gateway.db", Err: syscall.EIO}, false},
		{"corrupt", ErrCorrupt, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := withNoSpace(tc.err)
			if got := errors.Is(err, ErrNoSpace); got != tc.want {
				t.Fatalf("errors.Is(withNoSpace(%v), ErrNoSpace) = %v, want %v", tc.err, got, tc.want)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("withNoSpace(%v) lost the cause: %v", tc.err, err)
			}
		})
	}
}
