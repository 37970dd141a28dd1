// hash.c: the Shoal hash puzzle as a WebAssembly guest.
//
// Puzzle: starting at counter 1, find the first counter for which the
// lowercase hex SHA-256 of decimal(input) immediately followed by
// decimal(counter) starts with `difficulty` '0' characters. For example,
// input 0 and counter 12 hash the three bytes "012". Input 0 at difficulty 3
// gives 2832.
//
// One source, two ABIs (DESIGN.md, "Module ABIs"):
//
//   -DHASH_WW  a WASI reactor exporting run(input, difficulty) -> counter.
//   otherwise  a WASI command: argv is [id, input, difficulty]; it prints the
//              counter and a newline, or a usage line and exits 2.
//
// The command must not export run: a module exporting run is taken to speak
// the ww ABI.
//
// wasi-libc has no SHA-256, so it is implemented here from FIPS 180-4.

#include <stddef.h>
#include <stdint.h>

// ---- SHA-256, FIPS 180-4 sections 4.1.2, 4.2.2, 5.1.1, 5.3.3 and 6.2 ----

// First 32 bits of the fractional parts of the cube roots of the first 64
// primes (4.2.2).
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// First 32 bits of the fractional parts of the square roots of the first 8
// primes (5.3.3).
static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static uint32_t load_be32(const uint8_t *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// compress folds one 512-bit block into the hash state (6.2.2).
static void compress(uint32_t h[8], const uint8_t block[64]) {
	uint32_t w[64];
	for (int t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = s1 + w[t - 7] + s0 + w[t - 16];
	}

	uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
	uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int t = 0; t < 64; t++) {
		uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t T1 = hh + S1 + ch + K[t] + w[t];
		uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t T2 = S0 + maj;
		hh = g;
		g = f;
		f = e;
		e = d + T1;
		d = c;
		c = b;
		b = a;
		a = T1 + T2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

// sha256 hashes msg[0:n]. The digest is left as eight words: byte i of the
// usual digest is byte (i % 4) of digest[i / 4], most significant first.
static void sha256(const uint8_t *msg, size_t n, uint32_t digest[8]) {
	for (int i = 0; i < 8; i++)
		digest[i] = H0[i];
	uint64_t bits = (uint64_t)n * 8;
	for (; n >= 64; msg += 64, n -= 64)
		compress(digest, msg);

	// Padding (5.1.1): a 1 bit, zeros, then the 64-bit big-endian message
	// length, spilling into a second block when fewer than 9 bytes remain.
	uint8_t tail[128] = {0};
	for (size_t i = 0; i < n; i++)
		tail[i] = msg[i];
	tail[n] = 0x80;
	size_t len = n < 56 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[len - 1 - i] = (uint8_t)(bits >> (8 * i));
	compress(digest, tail);
	if (len == 128)
		compress(digest, tail + 64);
}

// ---- The puzzle ----

// format_decimal writes v in ASCII decimal, with a leading '-' when negative,
// and returns its length (at most 11).
static size_t format_decimal(char *dst, int32_t v) {
	// Negate in unsigned arithmetic so that INT32_MIN works.
	uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
	char buf[10];
	size_t n = 0;
	do {
		buf[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	size_t len = 0;
	if (v < 0)
		dst[len++] = '-';
	while (n > 0)
		dst[len++] = buf[--n];
	return len;
}

// zero_hex_prefix reports whether the hex digest starts with n '0'
// characters. Hex character i is nibble i of the digest, so this tests the
// nibbles directly instead of formatting the hex.
static int zero_hex_prefix(const uint32_t digest[8], int n) {
	for (int i = 0; i < n; i++)
		if ((digest[i / 8] >> (28 - 4 * (i % 8))) & 0xf)
			return 0;
	return 1;
}

#define MAX_DIFFICULTY 64 // the length of the hex digest

// solve returns the puzzle's answer, or -1 when difficulty is outside
// [0, MAX_DIFFICULTY] or no counter up to INT32_MAX solves it.
static int32_t solve(int32_t input, int32_t difficulty) {
	if (difficulty < 0 || difficulty > MAX_DIFFICULTY)
		return -1;
	char msg[22]; // two int32 decimals of at most 11 characters each
	size_t prefix = format_decimal(msg, input);
	uint32_t digest[8];
	for (uint32_t counter = 1; counter <= INT32_MAX; counter++) {
		size_t n = prefix + format_decimal(msg + prefix, (int32_t)counter);
		sha256((const uint8_t *)msg, n, digest);
		if (zero_hex_prefix(digest, (int)difficulty))
			return (int32_t)counter;
	}
	return -1;
}

#ifdef HASH_WW

// run is the ww ABI entry point: it returns the counter that solves the
// puzzle, or -1 (see solve).
__attribute__((export_name("run"))) int32_t run(int32_t input, int32_t difficulty) {
	return solve(input, difficulty);
}

#else // WASI command

#include <unistd.h>

static int write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

// parse_int32 accepts an optional '-' and decimal digits, nothing else, and
// rejects values outside int32.
static int parse_int32(const char *s, int32_t *out) {
	int neg = *s == '-';
	if (neg)
		s++;
	if (*s == '\0')
		return -1;
	int64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > (int64_t)INT32_MAX + 1)
			return -1;
	}
	if (neg)
		v = -v;
	if (v > INT32_MAX)
		return -1;
	*out = (int32_t)v;
	return 0;
}

int main(int argc, char **argv) {
	int32_t input, difficulty;
	if (argc != 3 || parse_int32(argv[1], &input) != 0 ||
	    parse_int32(argv[2], &difficulty) != 0 ||
	    difficulty < 0 || difficulty > MAX_DIFFICULTY) {
		static const char usage[] =
		    "usage: hash ID INPUT DIFFICULTY (INPUT an int32, DIFFICULTY 0 to 64)\n";
		write_all(2, usage, sizeof usage - 1);
		return 2;
	}

	int32_t counter = solve(input, difficulty);
	if (counter < 0) {
		static const char none[] = "hash: no counter up to 2147483647 solves the puzzle\n";
		write_all(2, none, sizeof none - 1);
		return 1;
	}
	char out[12];
	size_t n = format_decimal(out, counter);
	out[n++] = '\n';
	return write_all(1, out, n) == 0 ? 0 : 1;
}

#endif
