package wasm

import (
	"encoding/binary"
	"math/rand/v2"
)

// Padded returns a ww-ABI module of about size bytes, for measuring what a
// large module costs to ship and start: nearly all of it is one data
// segment of pseudo-random bytes (the same for the same size) that every
// instance copies into its memory. run(input, difficulty) returns the sum of
// the difficulty bytes of that data starting at offset input (bytes outside
// it count 0), so a run reads what was shipped. The module is written out
// here, byte by byte, rather than built by a toolchain: no repository file
// need be that large.
func Padded(size int) []byte {
	data := make([]byte, max(size-256, 1))
	rng := rand.New(rand.NewPCG(uint64(size), 0x5ead))
	for i := 0; i < len(data); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		copy(data[i:], w[:])
	}
	pages := uint32(len(data)>>16) + 2

	var m []byte
	m = append(m, 0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00)
	// type 0: (i32, i32) -> i32
	m = section(m, 1, []byte{0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f})
	// function 0 has type 0
	m = section(m, 3, []byte{0x01, 0x00})
	// one memory, min and max pages
	m = section(m, 5, append(append([]byte{0x01, 0x01}, uleb(pages)...), uleb(pages)...))
	// exports: run (func 0), memory (memory 0)
	var exp []byte
	exp = append(exp, 0x02)
	exp = append(exp, name("run")...)
	exp = append(exp, 0x00, 0x00)
	exp = append(exp, name("memory")...)
	exp = append(exp, 0x02, 0x00)
	m = section(m, 7, exp)
	m = section(m, 10, runBody(uint32(len(data))))
	// data: one active segment at offset 0
	seg := []byte{0x01, 0x00, 0x41, 0x00, 0x0b}
	seg = append(seg, uleb(uint32(len(data)))...)
	seg = append(seg, data...)
	return section(m, 11, seg)
}

// runBody is the code section of Padded: a loop summing
// mem[input .. input+difficulty) within [0, n).
func runBody(n uint32) []byte {
	// locals: 2 = sum, 3 = i (address)
	body := []byte{0x01, 0x02, 0x7f} // 2 locals of i32
	body = append(body,
		0x20, 0x00, 0x22, 0x03, // local.get 0 ; local.tee 3 (i = input)
		0x20, 0x01, 0x6a, 0x21, 0x01, // local.get 1 ; i32.add ; local.set 1 (end = input+difficulty)
		0x02, 0x40, // block
		0x03, 0x40, // loop
		0x20, 0x03, 0x20, 0x01, 0x4e, 0x0d, 0x01, // i >= end (signed) -> br 1 (exit)
		0x20, 0x03, 0x41) // i ... i32.const n
	body = append(body, sleb(int32(n))...)
	body = append(body,
		0x49,       // i32.lt_u: 0 <= i < n
		0x04, 0x40, // if
		0x20, 0x02, 0x20, 0x03, 0x2d, 0x00, 0x00, 0x6a, 0x21, 0x02, // sum += load8_u(i)
		0x0b,                                     // end if
		0x20, 0x03, 0x41, 0x01, 0x6a, 0x21, 0x03, // i++
		0x0c, 0x00, // br 0 (loop)
		0x0b,       // end loop
		0x0b,       // end block
		0x20, 0x02, // local.get sum
		0x0b) // end function
	out := []byte{0x01}
	out = append(out, uleb(uint32(len(body)))...)
	return append(out, body...)
}

func section(m []byte, id byte, payload []byte) []byte {
	m = append(m, id)
	m = append(m, uleb(uint32(len(payload)))...)
	return append(m, payload...)
}

func name(s string) []byte { return append(uleb(uint32(len(s))), s...) }

func uleb(v uint32) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, b|0x80)
			continue
		}
		return append(out, b)
	}
}

func sleb(v int32) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

// PaddedSum is what Padded(size)'s run(input, difficulty) returns,
// computed from the module's bytes without running it.
func PaddedSum(module []byte, size int, input, difficulty int32) int32 {
	n := max(size-256, 1)
	data := module[len(module)-n:]
	var sum int32
	for i := input; i < input+difficulty; i++ {
		if i >= 0 && int(i) < n {
			sum += int32(data[i])
		}
	}
	return sum
}
