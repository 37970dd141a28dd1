// Package sched decides what runs where. It is a pure state machine in the
// style of etcd's raft: the caller feeds it events (a task submitted, a
// worker's offer, a run ended, a worker lost, the clock moved) and performs
// the decisions it returns (dispatch this run to that worker). It does no I/O,
// starts no goroutines and reads no clock, so every decision is tested
// deterministically.
//
// Placement is by free capacity and warmth: a due run goes to a worker that
// satisfies its labels and memory and has a free slot, preferring one that
// holds its module compiled, then the most free slots, ties broken by the
// worker that was given work least recently (never by map order).
package sched
