// Command jobgen is the first step of the example job pipeline
// (examples/jobs/pipeline.json): it writes /shared/data.csv, which
// jobtransform reads.
//
// Its argv is [id] or [id, N] (N rows, default 1000). The file has the
// header "id,value,word" and then, for i from 1 to N, the row
// "i,(i*7919)%1000,word" where word is the (i%5)th of alpha, bravo,
// charlie, delta, echo: the same N always gives the same bytes, so tests
// and users can check the later steps' numbers. It prints what it wrote;
// a bad N is a usage line on stderr and exit code 2, a failed write a
// message and exit code 1.
package main

import (
	"bufio"
	"os"
	"strconv"
)

// path is the step's output, in the job's directory.
const path = "/shared/data.csv"

// maxRows keeps a typo in N from filling the worker's disk.
const maxRows = 10_000_000

var words = [...]string{"alpha", "bravo", "charlie", "delta", "echo"}

func main() {
	n := 1000
	if len(os.Args) > 2 {
		usage()
	}
	if len(os.Args) == 2 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v < 0 || v > maxRows {
			usage()
		}
		n = v
	}
	size, err := generate(n)
	if err != nil {
		os.Stderr.WriteString("jobgen: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("jobgen: wrote " + strconv.Itoa(n) + " rows to " + path + " (" + strconv.Itoa(size) + " bytes)\n")
}

func usage() {
	os.Stderr.WriteString("usage: jobgen [rows]  (0 to " + strconv.Itoa(maxRows) + ", default 1000)\n")
	os.Exit(2)
}

// generate writes the n rows and returns the file's size.
func generate(n int) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	size, _ := w.WriteString("id,value,word\n")
	var line []byte
	for i := 1; i <= n; i++ {
		line = strconv.AppendInt(line[:0], int64(i), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(i*7919%1000), 10)
		line = append(line, ',')
		line = append(line, words[i%len(words)]...)
		line = append(line, '\n')
		k, _ := w.Write(line) // a failed write is kept by w and returned by Flush
		size += k
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return size, f.Close()
}
