package wasm

import _ "embed"

// The example job's steps (examples/jobs, docs/JOBS.md): WASI commands
// that share the job's directory, mounted at /shared, and have argv[0] set
// to their step's id. examples/ holds copies under the names of the
// examples' "module" fields (examples/jobgen.wasm, ...), beside
// examples/jsonnet.wasm: go-jsonnet's command, a program written
// elsewhere, which is not embedded here (8 MB).

// JobGen is the pipeline's first step in Go (jobgen/jobgen.wasm): argv
// [id] or [id, N] writes N rows (default 1000) to /shared/data.csv, the
// header "id,value,word" and then, for i from 1 to N,
// "i,(i*7919)%1000,word" with word the (i%5)th of alpha, bravo, charlie,
// delta, echo; it prints "jobgen: wrote N rows to /shared/data.csv (SIZE
// bytes)". A bad N exits 2.
//
//go:embed jobgen/jobgen.wasm
var JobGen []byte

// JobTransform is the pipeline's second step in C
// (jobtransform/jobtransform.wasm): it keeps the rows of /shared/data.csv
// whose value is even and writes them to /shared/transformed.csv with a
// fourth column, square (header "id,value,word,square"), printing the
// counts of rows read and kept. A missing or malformed input exits 1 with
// a message on stderr.
//
//go:embed jobtransform/jobtransform.wasm
var JobTransform []byte

// JobSummary is the pipeline's last step in Go
// (jobsummary/jobsummary.wasm): it reads /shared/transformed.csv and
// writes, and prints, /shared/summary.json: {"title" (the environment's
// JOB_TITLE, when set), "count", "sum", "min", "max", "mean" of the value
// column, "sum_squares" of the square column, "words": rows per word}. A
// missing or malformed input exits 1.
//
//go:embed jobsummary/jobsummary.wasm
var JobSummary []byte

// JobFail is a step in C that fails on purpose (jobfail/jobfail.wasm):
// argv [id] or [id, code] writes "jobfail: step ID exits with CODE\n" to
// /shared/jobfail.txt and to stderr, and exits with the code (default 3).
//
//go:embed jobfail/jobfail.wasm
var JobFail []byte

// JobFile is a step in C that puts a file in the job's directory or checks
// one (jobfile/jobfile.wasm): argv [id, "write", PATH] copies stdin to
// PATH; [id, "cat", PATH...] prints the files; [id, "expect", PATH] prints
// PATH and exits 1 unless its bytes are stdin's.
//
//go:embed jobfile/jobfile.wasm
var JobFile []byte
