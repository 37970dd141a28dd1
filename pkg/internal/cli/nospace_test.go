package cli_test

import (
	"bytes"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// TestSubmitOnFullDisk: a gateway whose disk is full refuses the task, and
// shoal says so and what to do, rather than "the gateway failed".
func TestSubmitOnFullDisk(t *testing.T) {
	dir := meshtest.Tmpfs(t, 4<<20)
	m := meshtest.Start(t, meshtest.Options{Data: dir})
	mod := MustWriteFile(t, "hello.wasm", wasm.Hello)
	// 128 KiB of stdin: a task record too large for pages the store freed.
	in := MustWriteFile(t, "in.txt", bytes.Repeat([]byte("0123456789abcdef"), 8<<10))
	meshtest.FillDisk(t, dir)
	shoal(t, "submit", mod, "--id", "full", "--stdin", in, "--gateway", m.URL).want(t, 1, nil, []string{
		"shoal: submit: the gateway's disk is full: nothing was stored",
		"free some on the disk of the gateway's --data directory: the gateway then takes work again by itself",
	})
	shoal(t, "task", "full", "--gateway", m.URL).want(t, 1, nil, []string{"task full not found"})
}
