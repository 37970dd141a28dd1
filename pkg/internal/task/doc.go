// Package task holds Shoal's domain model: a task as a user submits it (Spec),
// the task as the gateway tracks it (Task), and its runs (Run).
//
// A task asks for Repeats runs of one WASM module. Run i becomes due at
// Created + Start + i*Delay (Delay is the time between the starts of
// consecutive runs). Each run ends succeeded or failed; a task's Completions
// counter starts at Spec.Complete and counts succeeded runs. The package has
// no transport or storage dependencies: adapters translate at the edge.
package task
