// jobfail.c: a job step that fails on purpose (examples/jobs/failing.json),
// a WASI command in C.
//
// Its argv is [id] or [id, code]: it writes "jobfail: step ID exits with
// CODE" and a newline to /shared/jobfail.txt, so a job shows what a failed
// step left behind, prints the same line to stderr, and exits with the code
// (default 3; 0 succeeds). A code outside [0, 255] or more arguments are a
// usage line and exit code 2.

#include <stddef.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "writeall.h"

#define PATH "/shared/jobfail.txt"

// parse_code reads a decimal exit code in [0, 255].
static int parse_code(const char *s) {
	int v = 0;
	if (*s == 0 || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= 255 ? v : -1;
}

int main(int argc, char **argv) {
	int code = 3;
	if (argc > 2 || (argc == 2 && (code = parse_code(argv[1])) < 0)) {
		put(2, "usage: jobfail [exit code]  (0 to 255, default 3)\n");
		return 2;
	}
	const char *id = argc > 0 ? argv[0] : "";
	char num[4] = {0};
	num[0] = (char)('0' + code / 100);
	num[1] = (char)('0' + code / 10 % 10);
	num[2] = (char)('0' + code % 10);
	const char *digits = code >= 100 ? num : code >= 10 ? num + 1 : num + 2;

	char line[512];
	size_t n = 0;
	const char *parts[] = {"jobfail: step ", id, " exits with ", digits, "\n"};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		size_t k = strlen(parts[i]);
		if (k > sizeof line - n)
			k = sizeof line - n; // a very long id is cut
		memcpy(line + n, parts[i], k);
		n += k;
	}

	// A failure to write the file is reported, but the exit code stays the
	// one asked for: the job's test is the code.
	int fd = open(PATH, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_all(fd, line, n) != 0 || close(fd) != 0)
		put(2, "jobfail: cannot write " PATH "\n");
	(void)write_all(2, line, n);
	return code;
}
