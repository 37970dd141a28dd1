package wasm

import _ "embed"

// The process examples (docs/PROCESSES.md): guests of the shoal host
// module, built on its Go SDK (wasm/shoal) or its C header
// (wasm/include/shoal.h). A run without a process host fails at their
// first spawn with ERR_UNSUPPORTED, exit code 1.

// HelloSpawn is a WASI command in Go (hellospawn/hellospawn.wasm,
// examples/hello-spawn.wasm): the parent spawns its own module with argv
// [key, "child"] and the two trade a message each way, printing, across
// both processes, "parent start", "child start", "child received: parent",
// "parent received: child", "parent end", "child end" in that order.
//
//go:embed hellospawn/hellospawn.wasm
var HelloSpawn []byte

// MapReduce is a WASI command in Go (mapreduce/mapreduce.wasm,
// examples/mapreduce.wasm) that solves the hash puzzle with children: argv
// [id], [id, input, difficulty] or [id, input, difficulty, children]
// (default input 0, difficulty 3, 4 children) prints "the answer is
// COUNTER" ("the answer is 2832" by default). Its children run with argv
// [key, "map", input, difficulty, start, step].
//
//go:embed mapreduce/mapreduce.wasm
var MapReduce []byte

// SpawnC is a WASI command in C (spawnc/spawnc.c): the parent spawns its
// own module with argv [key, "child"], sends "ping", prints "spawnc: pong"
// once the child answers, and exits with the child's exit code, 0.
//
//go:embed spawnc/spawnc.wasm
var SpawnC []byte

// ProcBench is a WASI command in C (procbench/procbench.c) that measures
// processes from inside a run: argv [id, "spawn", N], [id, "spawns", N, K],
// [id, "pingpong", N, SIZE] or [id, "stream", N, SIZE], then the children's
// placement (near=parent, label=K=V, cores=C, memory=M), prints its figures
// as "name nanoseconds" lines; argv [id, "exit"] exits at once.
//
//go:embed procbench/procbench.wasm
var ProcBench []byte

// ProcTest is a WASI command in C (proctest/proctest.c), the guest of
// the process tree's failure and backpressure tests: argv picks a child's
// behaviour (trap, exit N, recv-forever, spin, flood N SIZE [CODE],
// slow-recv, echo, hostile) or a parent's, which spawns children with
// such argv and then waits for them, drains them, leaves them running,
// receives slowly or feeds them (see the source's head comment).
//
//go:embed proctest/proctest.wasm
var ProcTest []byte
