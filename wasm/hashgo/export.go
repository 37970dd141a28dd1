//go:build wasip1 && ww

package main

// main is required in package main but never runs: with -buildmode=c-shared
// the module is a reactor whose _initialize only starts the Go runtime.
func main() {}

// run is the ww ABI entry point: it returns the counter that solves the
// puzzle, or -1 (see solve).
//
//go:wasmexport run
func run(input, difficulty int32) int32 {
	return solve(input, difficulty)
}
