package wasm

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Puzzle solves the hash modules' puzzle in Go: the answer every hash
// module must give for input at difficulty, for tests to check results
// against.
func Puzzle(input, difficulty int64) int64 {
	zeros := strings.Repeat("0", int(difficulty))
	prefix := strconv.FormatInt(input, 10)
	for c := int64(1); ; c++ {
		sum := sha256.Sum256([]byte(prefix + strconv.FormatInt(c, 10)))
		if strings.HasPrefix(hex.EncodeToString(sum[:]), zeros) {
			return c
		}
	}
}
