// jobtransform.c: the second step of the example job pipeline
// (examples/jobs/pipeline.json), a WASI command in C reading and writing
// the job's directory.
//
// It reads /shared/data.csv (jobgen's "id,value,word" rows), keeps the rows
// whose value is even, and writes them to /shared/transformed.csv with a
// fourth column, square = value * value. It prints the counts of rows read
// and kept. A missing or unreadable input is a message on stderr and exit
// code 1, as is a malformed line (naming it); argv after argv[0] is a usage
// line and exit code 2.
//
// It streams both files through fixed buffers, so any size of input runs
// in the same memory, and writes with write(2): crt/start.c flushes no
// stdio.

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "writeall.h"

#define IN_PATH "/shared/data.csv"
#define OUT_PATH "/shared/transformed.csv"
#define HEADER "id,value,word"
#define MAX_LINE 256

// utoa writes v in decimal at the end of buf[0..21) and returns its start.
static char *utoa(uint64_t v, char buf[21]) {
	char *p = buf + 20;
	*p = 0;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return p;
}

// fail prints "jobtransform: what: why" (why may be null) and returns 1.
static int fail(const char *what, const char *why) {
	put(2, "jobtransform: ");
	put(2, what);
	if (why) {
		put(2, ": ");
		put(2, why);
	}
	put(2, "\n");
	return 1;
}

static int fail_line(uint64_t line, const char *why) {
	char num[21];
	put(2, "jobtransform: " IN_PATH ":");
	put(2, utoa(line, num));
	put(2, ": ");
	put(2, why);
	put(2, "\n");
	return 1;
}

// The output buffer, flushed when full and at the end.
static char out_buf[65536];
static size_t out_len;
static int out_fd;

static int out(const char *p, size_t n) {
	if (out_len + n > sizeof out_buf) {
		if (write_all(out_fd, out_buf, out_len) != 0)
			return -1;
		out_len = 0;
	}
	memcpy(out_buf + out_len, p, n);
	out_len += n;
	return 0;
}

// parse_u64 reads the decimal digits of [p, end): at least one, at most
// digits, and no sign.
static int parse_u64(const char *p, const char *end, ptrdiff_t digits, uint64_t *v) {
	if (p == end || end - p > digits)
		return -1;
	uint64_t x = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	*v = x;
	return 0;
}

// row handles one line after the header; it returns 1 when the row is
// kept, 0 when it is not, -1 when it is malformed and -2 on a failed write.
static int row(const char *line, size_t n) {
	const char *end = line + n;
	const char *c1 = memchr(line, ',', n);
	if (!c1)
		return -1;
	const char *c2 = memchr(c1 + 1, ',', (size_t)(end - c1 - 1));
	if (!c2 || memchr(c2 + 1, ',', (size_t)(end - c2 - 1)) || c2 + 1 == end)
		return -1;
	uint64_t id, value;
	// Values of at most 9 digits keep their square within 64 bits.
	if (parse_u64(line, c1, 18, &id) != 0 || parse_u64(c1 + 1, c2, 9, &value) != 0)
		return -1;
	if (value % 2 != 0)
		return 0;
	char num[21];
	const char *sq = utoa(value * value, num);
	if (out(line, n) != 0 || out(",", 1) != 0 || out(sq, strlen(sq)) != 0 || out("\n", 1) != 0)
		return -2;
	return 1;
}

int main(int argc, char **argv) {
	(void)argv;
	if (argc > 1) {
		put(2, "usage: jobtransform  (reads " IN_PATH ", writes " OUT_PATH ")\n");
		return 2;
	}
	int in = open(IN_PATH, O_RDONLY);
	if (in < 0)
		return fail(IN_PATH, strerror(errno));
	out_fd = open(OUT_PATH, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out_fd < 0)
		return fail(OUT_PATH, strerror(errno));
	static const char header[] = HEADER ",square\n";
	if (out(header, sizeof header - 1) != 0)
		return fail(OUT_PATH, strerror(errno));

	static char in_buf[65536];
	char line[MAX_LINE];
	size_t line_len = 0;
	uint64_t lineno = 0, rows = 0, kept = 0;
	int eof = 0;
	while (!eof) {
		ssize_t n = read(in, in_buf, sizeof in_buf);
		if (n < 0)
			return fail(IN_PATH, strerror(errno));
		if (n == 0) {
			eof = 1;
			if (line_len == 0)
				break;
			n = 1; // a last line without a newline: end it
			in_buf[0] = '\n';
		}
		for (ssize_t i = 0; i < n; i++) {
			char ch = in_buf[i];
			if (ch != '\n') {
				if (line_len == sizeof line)
					return fail_line(lineno + 1, "line too long");
				line[line_len++] = ch;
				continue;
			}
			lineno++;
			size_t len = line_len;
			line_len = 0;
			if (len > 0 && line[len - 1] == '\r')
				len--;
			if (lineno == 1) {
				if (len != sizeof HEADER - 1 || memcmp(line, HEADER, len) != 0)
					return fail_line(lineno, "want the header " HEADER);
				continue;
			}
			if (len == 0)
				continue;
			int r = row(line, len);
			if (r == -1)
				return fail_line(lineno, "want id,value,word with a decimal id and a value below 10^9");
			if (r == -2)
				return fail(OUT_PATH, strerror(errno));
			rows++;
			kept += (uint64_t)r;
		}
	}
	if (lineno == 0)
		return fail(IN_PATH, "empty, want the header " HEADER);
	if (write_all(out_fd, out_buf, out_len) != 0 || close(out_fd) != 0)
		return fail(OUT_PATH, strerror(errno));
	close(in);

	char num[21];
	put(1, "jobtransform: read ");
	put(1, utoa(rows, num));
	put(1, " rows from " IN_PATH ", kept ");
	put(1, utoa(kept, num));
	put(1, " with an even value in " OUT_PATH "\n");
	return 0;
}
