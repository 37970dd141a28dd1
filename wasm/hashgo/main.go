//go:build wasip1 && !ww

package main

import (
	"os"
	"strconv"
)

const usage = "usage: hashgo ID INPUT DIFFICULTY (INPUT an int32, DIFFICULTY 0 to 64)\n"

// main is the WASI command ABI: argv is [id, input, difficulty]. It avoids
// fmt to keep the module small.
func main() {
	os.Exit(command(os.Args))
}

// command runs the puzzle for args and returns the exit code.
func command(args []string) int {
	if len(args) != 3 {
		os.Stderr.WriteString(usage)
		return 2
	}
	input, err1 := strconv.ParseInt(args[1], 10, 32)
	difficulty, err2 := strconv.ParseInt(args[2], 10, 32)
	if err1 != nil || err2 != nil || difficulty < 0 || difficulty > maxDifficulty {
		os.Stderr.WriteString(usage)
		return 2
	}
	counter := solve(int32(input), int32(difficulty))
	if counter < 0 {
		os.Stderr.WriteString("hashgo: no counter up to 2147483647 solves the puzzle\n")
		return 1
	}
	if _, err := os.Stdout.WriteString(strconv.Itoa(int(counter)) + "\n"); err != nil {
		return 1
	}
	return 0
}
