//go:build wasip1

// Command hashgo is the Shoal hash puzzle written in Go for GOOS=wasip1
// GOARCH=wasm, the counterpart of wasm/hash/hash.c.
//
// Puzzle: starting at counter 1, find the first counter for which the
// lowercase hex SHA-256 of decimal(input) immediately followed by
// decimal(counter) starts with difficulty '0' characters. Input 0 at
// difficulty 3 gives 2832.
//
// One source tree, two ABIs (DESIGN.md, "Module ABIs"):
//
//	GOOS=wasip1 GOARCH=wasm go build                                  # WASI command
//	GOOS=wasip1 GOARCH=wasm go build -tags ww -buildmode=c-shared     # ww reactor
//
// The command takes argv [id, input, difficulty] and prints the counter; the
// reactor exports run(input, difficulty int32) int32. Every file is
// constrained to wasip1 so that host builds of the module see no package here.
package main

import (
	"crypto/sha256"
	"math"
	"strconv"
)

// maxDifficulty is the length of the hex digest.
const maxDifficulty = 2 * sha256.Size

// solve returns the puzzle's answer, or -1 when difficulty is outside
// [0, maxDifficulty] or no counter up to math.MaxInt32 solves it.
func solve(input, difficulty int32) int32 {
	if difficulty < 0 || difficulty > maxDifficulty {
		return -1
	}
	msg := strconv.AppendInt(make([]byte, 0, 22), int64(input), 10)
	prefix := len(msg)
	for counter := int64(1); counter <= math.MaxInt32; counter++ {
		msg = strconv.AppendInt(msg[:prefix], counter, 10)
		if zeroHexPrefix(sha256.Sum256(msg), int(difficulty)) {
			return int32(counter)
		}
	}
	return -1
}

// zeroHexPrefix reports whether the hex form of sum starts with n '0'
// characters. Hex character i is nibble i of sum, so the nibbles are tested
// directly instead of formatting the hex.
func zeroHexPrefix(sum [sha256.Size]byte, n int) bool {
	for i := range n {
		if sum[i/2]>>(4*(1-i%2))&0xf != 0 {
			return false
		}
	}
	return true
}
