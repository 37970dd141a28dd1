// writeall.h: writing whole buffers from the example C commands, with
// nothing but wasi-libc's write(2).
#ifndef SHOAL_WRITEALL_H
#define SHOAL_WRITEALL_H

#include <stddef.h>
#include <string.h>
#include <unistd.h>

// write_all writes all n bytes of p to fd; it returns 0, or -1 on an
// error.
static inline int write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

// put writes the string s to fd, its errors ignored (a message to a
// stream no one reads).
static inline void put(int fd, const char *s) { (void)write_all(fd, s, strlen(s)); }

#endif
