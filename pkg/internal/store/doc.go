// Package store is the gateway's database: one bbolt file in the data dir
// that holds every accepted task, its runs, the uploaded modules and the
// recent logs, so that a gateway killed with kill -9 and started again on
// the same file has lost nothing it acknowledged.
//
// # Durability
//
// Every write method returns after its transaction is committed and synced
// to disk; a caller acknowledges a request only after that. Concurrent
// writers share one transaction and one sync (group commit, see commit.go):
// a lone call costs one commit, about 0.4 ms on the reference machine, and
// many concurrent calls cost one commit per batch, so throughput grows with
// the number of callers. bbolt writes a new version of the pages it changes
// and switches to it in one meta page write, so a crash at any point leaves
// the last committed state.
//
// # Buckets
//
//	meta      "format" -> layout version (8 bytes); "count.*" -> counters for Stats
//	tasks     seq -> task record: Spec, Created, the canceled flag and time
//	ids       task id -> seq
//	runs      seq|index -> run record
//	modules   sha256 hex -> wasm bytes
//	logs      seq|n -> log entry
//	logstate  seq -> first and next n, and the bytes kept
//	results   seq -> the index and end of the task's result run: its last
//	          run that succeeded (see results.go)
//
// And, made by the first write that needs them (jobs.go, format 3):
//
//	steps     seq|index -> a job's step's state in its latest attempt
//	files     seq|path  -> an artifact of a job or shared task: size, sha256
//	blobs     sha256 -> an artifact's bytes, once however many name them
//	refs      sha256 -> how many file records name the blob
//	hooks     seq -> a job's latest callback attempts
//	names     name -> the sha256 of the module it names, and who named it
//
// seq is the task's creation sequence (bucket.NextSequence), 8 bytes
// big-endian, so iterating tasks is creation order; index is the run's
// Index, 4 bytes big-endian, so a task's runs are one prefix of the runs
// bucket, in index order. Ids are user strings of any order, hence the ids
// bucket to find a task's seq.
//
// # Why runs are separate records
//
// A task may have up to a million runs, and the gateway records an outcome
// every time one ends, thousands of times a second. With the runs inside the
// task record every outcome would rewrite all of them: quadratic in the
// runs, and a large record on every commit. As one record each, an outcome
// rewrites one small record (about 120 bytes) and the task record is
// written only at creation and cancellation. Status, Completions and Result
// are not stored at all: they are derived from the runs when a task is
// loaded, so they can never disagree with them.
//
// # Records
//
// Records use a small binary encoding with a version byte (codec.go), not
// encoding/json: a run is 116 bytes instead of 374 and decodes in 0.16 us
// instead of 3.6 us; 100,000 single-run tasks take 32 MiB instead of 64 and
// load in 0.14 s instead of 0.57 s. Tests fill every field of task.Spec and task.Run by reflection and
// fail when one is added without being encoded.
//
// # Versions and damage
//
// Open writes the layout version into a new file and refuses a file with a
// newer one (an older binary must not misread or rewrite it), a bbolt file
// that is not a store, and a truncated file. Damaged pages found later, by
// a read or write, are reported as ErrCorrupt rather than crashing the
// process. Recover (shoal gateway --recover) copies what can be read of a
// damaged file into a new one and keeps the damaged one: see recover.go,
// and pages.go for how it reads a file bbolt cannot.
//
// # A full disk
//
// A write that fails for lack of disk space (ENOSPC, EDQUOT) is ErrNoSpace
// and stored nothing; the file keeps its last committed state and takes
// writes again once there is space (space.go). Full reports the store full
// from such a failure until Probe, which writes a file of its own next to
// the store, finds space; Refused counts the writes refused.
package store
