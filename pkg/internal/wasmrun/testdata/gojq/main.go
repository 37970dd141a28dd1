// Command gojq is a WASI command around github.com/itchyny/gojq, a real,
// third-party Go program of several MB for the runner's tests and
// benchmarks: gojq FILTER reads JSON values from stdin and writes each
// result of FILTER as a line of JSON. (gojq's own cmd/gojq would do, but
// its YAML dependency is a pseudo-version that the module proxy does not
// serve; the query engine, what takes the time, is the same.)
//
// Built by `make -C .. gojq` (GOOS=wasip1 GOARCH=wasm, stripped) and
// checked in as gojq.wasm.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
