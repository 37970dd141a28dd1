package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/wasm"
)

// The parent's rule (the smallest hit of the first round with any) gives
// the answer of the search in order, whatever the number of children.
func TestRoundsFindTheFirstCounter(t *testing.T) {
	for _, p := range []struct{ input, difficulty int64 }{{0, 3}, {-5, 2}, {7, 1}, {42, 0}, {1, 4}} {
		want := wasm.Puzzle(p.input, p.difficulty)
		for n := int64(1); n <= 7; n++ {
			shares := make([]share, n)
			for i := range shares {
				shares[i] = share{start: int64(i) + 1, step: n}
			}
			var got int64
			for r := 0; got == 0; r++ {
				for i := range shares {
					if hit := shares[i].searchRound(p.input, int(p.difficulty), r); hit != 0 && (got == 0 || hit < got) {
						got = hit
					}
				}
			}
			if got != want {
				t.Errorf("input %d difficulty %d, %d children: %d, want %d", p.input, p.difficulty, n, got, want)
			}
		}
	}
}

func TestRoundSize(t *testing.T) {
	for r, want := range map[int]int64{0: 256, 1: 512, 7: 32768, 8: 65536, 9: 65536, 100: 65536} {
		if got := roundSize(r); got != want {
			t.Errorf("roundSize(%d) = %d, want %d", r, got, want)
		}
	}
}

// Natively the parent fails at its first spawn, and bad argv is usage.
func TestRunNative(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"t"}, 1, "mapreduce: shoal: spawn: processes unsupported: "},
		{[]string{"t", "0", "3", "2"}, 1, "mapreduce: shoal: spawn: processes unsupported: "},
		{[]string{"t", "0"}, 2, "usage: "},
		{[]string{"t", "0", "65"}, 2, "usage: "},
		{[]string{"t", "0", "3", "0"}, 2, "usage: "},
		{[]string{"t", "map", "0", "3", "0", "4"}, 2, "usage: "},
		{[]string{"t", "map", "0", "3", "1", "4"}, 1, "mapreduce: shoal: recv from parent: processes unsupported: "},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != tc.code || stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), tc.stderr) {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want %d, no stdout, stderr %q...", tc.args, code, &stdout, &stderr, tc.code, tc.stderr)
		}
	}
}
