// jobfile.c: a job step that puts a file in the job's directory or checks
// one there, a WASI command in C (examples/jobs/thirdparty.json).
//
//	[id, "write", PATH]   copies stdin to PATH (created or truncated) and
//	                      prints how many bytes it wrote
//	[id, "cat", PATH...]  prints the files, one after the other
//	[id, "expect", PATH]  prints PATH, then exits 1 with a message on
//	                      stderr unless its bytes are stdin's
//
// A step's stdin is the job's "stdin" text, so a job writes a program's
// input file with "write" and checks the program's output with "expect".
// A file that cannot be read or written is a message on stderr and exit
// code 1; other argv is a usage line and exit code 2.

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "writeall.h"

// fail prints "jobfile: path: why" and returns 1.
static int fail(const char *path, const char *why) {
	put(2, "jobfile: ");
	put(2, path);
	put(2, ": ");
	put(2, why);
	put(2, "\n");
	return 1;
}

static char *utoa(uint64_t v, char buf[21]) {
	char *p = buf + 20;
	*p = 0;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return p;
}

static char buf[65536];

// copy copies in to out and returns the bytes copied, or -1 with errno
// set; *read_failed tells which side failed.
static int64_t copy(int in, int out, int *read_failed) {
	int64_t total = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n == 0)
			return total;
		if (n < 0) {
			*read_failed = 1;
			return -1;
		}
		if (write_all(out, buf, (size_t)n) != 0) {
			*read_failed = 0;
			return -1;
		}
		total += n;
	}
}

static int write_file(const char *path) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail(path, strerror(errno));
	int read_failed;
	int64_t n = copy(0, fd, &read_failed);
	if (n < 0)
		return fail(read_failed ? "stdin" : path, strerror(errno));
	if (close(fd) != 0)
		return fail(path, strerror(errno));
	char num[21];
	put(1, "jobfile: wrote ");
	put(1, utoa((uint64_t)n, num));
	put(1, " bytes to ");
	put(1, path);
	put(1, "\n");
	return 0;
}

static int cat(const char *path) {
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail(path, strerror(errno));
	int read_failed;
	if (copy(fd, 1, &read_failed) < 0)
		return fail(read_failed ? path : "stdout", strerror(errno));
	close(fd);
	return 0;
}

// The expected text is a step's stdin, at most 1 MiB (api.MaxStepStdin):
// expect holds both it and the file, a byte more than that each.
#define MAX_EXPECT ((1 << 20) + 1)
static char want[MAX_EXPECT], got[MAX_EXPECT];

// read_full reads fd to its end or to max bytes, and returns the count.
static ssize_t read_full(int fd, char *p, size_t max) {
	size_t n = 0;
	while (n < max) {
		ssize_t k = read(fd, p + n, max - n);
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		n += (size_t)k;
	}
	return (ssize_t)n;
}

static int expect(const char *path) {
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail(path, strerror(errno));
	ssize_t ng = read_full(fd, got, sizeof got);
	if (ng < 0)
		return fail(path, strerror(errno));
	close(fd);
	ssize_t nw = read_full(0, want, sizeof want);
	if (nw < 0)
		return fail("stdin", strerror(errno));
	if (ng == (ssize_t)sizeof got || nw == (ssize_t)sizeof want)
		return fail(path, "larger than expect compares (1 MiB)");
	(void)write_all(1, got, (size_t)ng);

	size_t at = 0;
	while (at < (size_t)ng && at < (size_t)nw && got[at] == want[at])
		at++;
	if (ng == nw && at == (size_t)ng)
		return 0;
	char num[21];
	put(2, "jobfile: ");
	put(2, path);
	put(2, " is not what was expected: it differs at byte ");
	put(2, utoa(at, num));
	put(2, " (");
	put(2, utoa((uint64_t)ng, num));
	put(2, " bytes, expected ");
	put(2, utoa((uint64_t)nw, num));
	put(2, ")\n");
	return 1;
}

static int usage(void) {
	put(2, "usage: jobfile write PATH | cat PATH... | expect PATH\n");
	return 2;
}

int main(int argc, char **argv) {
	if (argc < 3)
		return usage();
	const char *cmd = argv[1];
	if (strcmp(cmd, "write") == 0 && argc == 3)
		return write_file(argv[2]);
	if (strcmp(cmd, "expect") == 0 && argc == 3)
		return expect(argv[2]);
	if (strcmp(cmd, "cat") == 0) {
		for (int i = 2; i < argc; i++)
			if (cat(argv[i]) != 0)
				return 1;
		return 0;
	}
	return usage();
}
