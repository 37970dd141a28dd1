// flood.c: a WASI command that prints a given number of bytes, as fast as
// it can, to load a gateway's output path (make soak).
//
// argv[1] is the number of bytes (the task's input, with the default argv
// [id, input, difficulty]); it prints numbered lines of 64 bytes, the last
// one cut to make the count, to stdout. A negative or missing count prints
// nothing.

#include <stddef.h>
#include <unistd.h>

static long parse(const char *s) {
	long n = 0;
	if (s == NULL || *s == '-')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (*s - '0');
	return n;
}

int main(int argc, char **argv) {
	long left = argc > 1 ? parse(argv[1]) : 0;
	char buf[4096];
	long line = 0;
	while (left > 0) {
		size_t n = 0;
		// Lines of 64 bytes: "flood" and the line's number, dots, "\n".
		for (; n + 64 <= sizeof buf; line++) {
			char *p = buf + n;
			long v = line;
			for (int i = 0; i < 64; i++)
				p[i] = '.';
			p[0] = 'f', p[1] = 'l', p[2] = 'o', p[3] = 'o', p[4] = 'd', p[5] = ' ';
			for (int i = 17; i >= 6; i--, v /= 10)
				p[i] = (char)('0' + v % 10);
			p[63] = '\n';
			n += 64;
		}
		if ((long)n > left)
			n = (size_t)left;
		for (size_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, n - off);
			if (w <= 0)
				return 1;
			off += (size_t)w;
		}
		left -= (long)n;
	}
	return 0;
}
