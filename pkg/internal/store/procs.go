package store

import (
	"os"
	"runtime"
)

// defaultProcs is GOMAXPROCS as the Go runtime chose it (the cores, or the
// container's CPU limit), read before anyone changes it.
var defaultProcs = runtime.GOMAXPROCS(0)

// SetProcs gives the process twice the default GOMAXPROCS, unless
// $GOMAXPROCS is set, and returns the value in force. A process that
// commits to a Store under load should call it once at start.
//
// Each commit ends in fdatasync, which holds its thread for a millisecond
// or more, and Go's scheduler takes the thread's P back for other
// goroutines only after a delay. With as many Ps as cores, a gateway
// recording thousands of results a second had a P stuck in fdatasync much
// of the time: the dispatch phase of the batch benchmark used 148% of two
// cores, 8,100 tasks/s; with twice the Ps, 193%, 11,500 tasks/s
// (docs/BENCHMARKS.md). The cost: more Ps than cores can run goroutines
// at once (the kernel shares the cores), the garbage collector's share is
// counted on more Ps, and Go no longer follows a change of the container's
// CPU limit while the process runs.
func SetProcs() int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(2 * defaultProcs)
	return 2 * defaultProcs
}
