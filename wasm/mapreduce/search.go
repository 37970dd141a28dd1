package main

import (
	"crypto/sha256"
	"strconv"
)

// The search is split in rounds so that the parent can tell the smallest
// answer as soon as one round has any, and stop the children: in round r
// every child tests its next roundSize(r) counters, so a round covers one
// range of counters across the children, and the children's first hits of
// the first round with any are the candidates.

// Rounds start small, for an early answer at a low difficulty, and grow
// to bound the messages at a high one.
const (
	firstRound = 256
	maxRound   = 1 << 16
)

// roundSize is how many counters each child tests in round r.
func roundSize(r int) int64 {
	return min(int64(firstRound)<<min(r, 16), maxRound)
}

// share is the counters a child tests: start, start+step, start+2*step...
// The n children of a search take starts 1..n and step n, so that every
// counter from 1 is someone's.
type share struct {
	start, step int64
	next        int64 // index of the next counter to test
}

// searchRound tests the share's counters of round r (which must follow
// the last round it searched) for a hash of decimal(input) and
// decimal(counter) with difficulty leading hex zeros. It returns the first
// counter that solves the puzzle, or 0.
func (s *share) searchRound(input int64, difficulty, r int) int64 {
	msg := strconv.AppendInt(make([]byte, 0, 40), input, 10)
	prefix := len(msg)
	end := s.next + roundSize(r)
	for ; s.next < end; s.next++ {
		counter := s.start + s.next*s.step
		msg = strconv.AppendInt(msg[:prefix], counter, 10)
		if zeroHexPrefix(sha256.Sum256(msg), difficulty) {
			s.next = end
			return counter
		}
	}
	return 0
}

// zeroHexPrefix reports whether the hex form of sum starts with n '0'
// characters, testing nibbles as wasm/hashgo does.
func zeroHexPrefix(sum [sha256.Size]byte, n int) bool {
	for i := range n {
		if sum[i/2]>>(4*(1-i%2))&0xf != 0 {
			return false
		}
	}
	return true
}
