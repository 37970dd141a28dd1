// Package gateway is the gateway role of a Shoal node. It exports the
// Gateway capability on its libp2p host, takes the offers workers send into
// its channel, keeps tasks in the scheduler (package sched), and carries out
// the scheduler's decisions by calling Worker.run on the chosen worker.
//
// One goroutine, the loop, owns timing: it asks the scheduler for due work
// whenever something changed (a task, an offer, a result) or the next run
// becomes due. Every dispatched run is a goroutine that waits for the
// worker's answer and feeds it back to the scheduler.
package gateway
