// hello.c: a small WASI command exercising argv, stdout and stdin.
//
// It prints "hello", then each argument after argv[0] preceded by a space,
// then a newline, and then copies stdin to stdout. With args [t, a, b] and
// stdin "xyz" the output is "hello a b\nxyz".

#include <stddef.h>
#include <string.h>
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

int main(int argc, char **argv) {
	if (write_all(1, "hello", 5) != 0)
		return 1;
	for (int i = 1; i < argc; i++)
		if (write_all(1, " ", 1) != 0 || write_all(1, argv[i], strlen(argv[i])) != 0)
			return 1;
	if (write_all(1, "\n", 1) != 0)
		return 1;

	char buf[4096];
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0 || write_all(1, buf, (size_t)n) != 0)
			return 1;
	}
}
