// Package wasm embeds Shoal's example guest modules, built from the C and Go
// sources in the subdirectories by this directory's Makefile (`make -C wasm`)
// and checked in so that building Shoal needs no wasm toolchain.
//
// Each hash module solves the same puzzle: starting at counter 1, find the
// first counter for which the lowercase hex SHA-256 of decimal(input)
// immediately followed by decimal(counter) starts with difficulty '0'
// characters. Input 0 at difficulty 3 gives 2832.
//
// The modules cover both ABIs of DESIGN.md ("Module ABIs"): the ww ABI, a
// reactor exporting run(input, difficulty i32) i32, and the WASI command,
// whose argv is [id, input, difficulty] and whose result is stdout. Debug
// sections are stripped: wazero would otherwise parse DWARF on every trap and
// proc_exit.
package wasm

import _ "embed"

// HashC is the hash puzzle in C under the ww ABI (hash/hash.wasm): a WASI
// reactor with no imports, exporting _initialize and run(input, difficulty)
// returning the counter, or -1 when difficulty is outside [0, 64].
//
//go:embed hash/hash.wasm
var HashC []byte

// HashCCommand is the hash puzzle in C as a WASI command (hash/hash-cmd.wasm):
// argv [id, input, difficulty] prints the counter and a newline; a bad argv
// prints a usage line to stderr and exits 2.
//
//go:embed hash/hash-cmd.wasm
var HashCCommand []byte

// HashGo is the hash puzzle in Go (GOOS=wasip1) as a WASI command
// (hashgo/hashgo.wasm), with the same argv, output and exit codes as
// HashCCommand. At a few MB it exercises the cost of compiling a large module.
//
//go:embed hashgo/hashgo.wasm
var HashGo []byte

// HashGoWW is the hash puzzle in Go under the ww ABI (hashgo/hashgo-ww.wasm),
// built with -buildmode=c-shared: _initialize must run before run, as with
// HashC.
//
//go:embed hashgo/hashgo-ww.wasm
var HashGoWW []byte

// Hello is a WASI command (hello/hello.wasm) that prints "hello", then its
// arguments after argv[0] each preceded by a space, then a newline, and then
// copies stdin to stdout.
//
//go:embed hello/hello.wasm
var Hello []byte

// Flood is a WASI command (flood/flood.wasm) that prints argv[1] bytes to
// stdout, in numbered lines of 64 bytes: the task's input with the default
// argv. make soak uses it to load the gateway's output path.
//
//go:embed flood/flood.wasm
var Flood []byte
