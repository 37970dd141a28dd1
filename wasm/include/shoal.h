// shoal.h: the shoal host module for C guests (docs/PROCESSES.md).
//
// A run spawns children anywhere in the cluster, talks with each over a
// pair of ordered, reliable channels, and waits for them. The functions
// are the host module's own, declared as imports; the Go SDK
// (wasm/shoal) wraps the same ones. Every call returns 0 or more on
// success and one of enum shoal_error otherwise; shoal_last_error says why.
//
// A spawn request is a record of fields, each a tag byte, a little-endian
// u32 length and that many bytes; shoal_req_add builds one in a buffer of
// the caller's:
//
//	uint8_t req[256];
//	size_t len = 0;
//	if (shoal_req_add_str(req, sizeof req, &len, SHOAL_TAG_ARG, "child") != 0 ||
//	    shoal_req_add_str(req, sizeof req, &len, SHOAL_TAG_CORES, "1/16") != 0)
//		return 1; // the buffer is too small
//	int32_t child = shoal_spawn(req, len);
//	if (child < 0) {
//		char why[256];
//		int32_t n = shoal_last_error(why, sizeof why);
//		...
//	}
//	shoal_send(child, "ping", 4);
//
// Include it in a module built with clang --target=wasm32-wasi.

#ifndef SHOAL_H
#define SHOAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

// The host functions' errors.
enum shoal_error {
	SHOAL_ERR_INVALID = -1,     // a bad handle, pointer or request record
	SHOAL_ERR_CLOSED = -2,      // the peer closed its side or exited (any exit code) and every message was received
	SHOAL_ERR_TIMEOUT = -3,     // recv's timeout passed with no message
	SHOAL_ERR_FAILED = -4,      // the peer trapped, hit a limit, was ended with its parent or was lost
	SHOAL_ERR_TOO_BIG = -5,     // the message is longer than the buffer; its length was written
	SHOAL_ERR_SPAWN = -6,       // the gateway refused the spawn
	SHOAL_ERR_UNSUPPORTED = -7, // this run cannot use processes
};

// The spawn request record's tags; ARG, ENV and LABEL may repeat.
enum shoal_tag {
	SHOAL_TAG_MODULE = 1,  // "sha256:HEX"; absent: the spawner's own module
	SHOAL_TAG_ARG = 2,     // one argument after argv[0] (the child's key)
	SHOAL_TAG_ENV = 3,     // one "K=V" of the child's environment (it inherits none)
	SHOAL_TAG_STDIN = 4,   // the child's whole stdin
	SHOAL_TAG_CORES = 5,   // cores to reserve: "1/16", "0.25", "250m"
	SHOAL_TAG_MEMORY = 6,  // memory to reserve and its limit: "8MiB", "67108864"
	SHOAL_TAG_LABEL = 7,   // a "key=value" constraint on the worker's labels
	SHOAL_TAG_NEAR = 8,    // "parent": prefer the parent's worker
	SHOAL_TAG_TIMEOUT = 9, // the child's time limit: "30s", "2m"
};

// SHOAL_PARENT is the handle of this process's parent; a task's run, the
// root of its process tree, has none.
#define SHOAL_PARENT 0

// SHOAL_FOREVER as recv's timeout waits as long as the run may.
#define SHOAL_FOREVER ((int64_t)-1)

#define SHOAL_IMPORT(name) __attribute__((import_module("shoal"), import_name(name)))

// shoal_spawn spawns the child that the record req describes and returns
// its handle (1 or more) at once; a spawn the gateway refuses fails the
// first call on the handle with SHOAL_ERR_SPAWN.
SHOAL_IMPORT("spawn") int32_t shoal_spawn(const void *req, size_t req_len);

// shoal_send sends len bytes to handle, blocking until the receiver's
// buffer has taken them. A message is at most 4 MiB.
SHOAL_IMPORT("send") int32_t shoal_send(int32_t handle, const void *msg, size_t len);

// shoal_recv receives the next message from handle into buf (at most cap
// bytes) and writes its length to *len. timeout_ms < 0 waits as long as
// the run may, 0 only takes a message already there. SHOAL_ERR_TOO_BIG
// keeps the message and writes its length: call again with room enough.
SHOAL_IMPORT("recv") int32_t shoal_recv(int32_t handle, void *buf, size_t cap, int64_t timeout_ms, uint32_t *len);

// shoal_close closes this process's sending side of the channel to handle.
SHOAL_IMPORT("close") int32_t shoal_close(int32_t handle);

// shoal_wait waits until child handle ends and writes its exit code to
// *code; SHOAL_ERR_FAILED when it trapped, hit a limit or was lost.
SHOAL_IMPORT("wait") int32_t shoal_wait(int32_t handle, int32_t *code);

// shoal_last_error copies the text of this process's last error (at most
// cap bytes, not NUL-terminated) and returns its whole length.
SHOAL_IMPORT("last_error") int32_t shoal_last_error(char *buf, size_t cap);

// shoal_self copies this process's key (at most cap bytes, not
// NUL-terminated) and returns its whole length.
SHOAL_IMPORT("self") int32_t shoal_self(char *buf, size_t cap);

#undef SHOAL_IMPORT

// shoal_req_add appends the field tag with the n bytes at data to the
// record of *len bytes in buf, which holds cap, and advances *len. It
// returns 0, or SHOAL_ERR_TOO_BIG and leaves the record as it was when
// the field does not fit.
static inline int32_t shoal_req_add(uint8_t *buf, size_t cap, size_t *len, uint8_t tag, const void *data, size_t n) {
	if (*len > cap || cap - *len < 5 || cap - *len - 5 < n)
		return SHOAL_ERR_TOO_BIG;
#if SIZE_MAX > UINT32_MAX
	if (n > UINT32_MAX)
		return SHOAL_ERR_TOO_BIG;
#endif
	uint8_t *p = buf + *len;
	p[0] = tag;
	p[1] = (uint8_t)n;
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)(n >> 16);
	p[4] = (uint8_t)(n >> 24);
	if (n > 0)
		memcpy(p + 5, data, n);
	*len += 5 + n;
	return 0;
}

// shoal_req_add_str appends the field tag with the NUL-terminated s.
static inline int32_t shoal_req_add_str(uint8_t *buf, size_t cap, size_t *len, uint8_t tag, const char *s) {
	return shoal_req_add(buf, cap, len, tag, s, strlen(s));
}

// shoal_error_name names an error code: "SHOAL_ERR_CLOSED", or "unknown".
static inline const char *shoal_error_name(int32_t code) {
	switch (code) {
	case SHOAL_ERR_INVALID: return "SHOAL_ERR_INVALID";
	case SHOAL_ERR_CLOSED: return "SHOAL_ERR_CLOSED";
	case SHOAL_ERR_TIMEOUT: return "SHOAL_ERR_TIMEOUT";
	case SHOAL_ERR_FAILED: return "SHOAL_ERR_FAILED";
	case SHOAL_ERR_TOO_BIG: return "SHOAL_ERR_TOO_BIG";
	case SHOAL_ERR_SPAWN: return "SHOAL_ERR_SPAWN";
	case SHOAL_ERR_UNSUPPORTED: return "SHOAL_ERR_UNSUPPORTED";
	default: return "unknown";
	}
}

// shoal_write writes all n bytes at s to fd (stopping at an error, when
// there is nowhere left to report it).
static inline void shoal_write(int fd, const void *s, size_t n) {
	const char *p = (const char *)s;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

// shoal_report writes "OP: SHOAL_ERR_...: REASON" and a newline to fd,
// the reason being shoal_last_error's text, as perror does.
static inline void shoal_report(int fd, const char *op, int32_t code) {
	char why[256];
	int32_t n = shoal_last_error(why, sizeof why);
	shoal_write(fd, op, strlen(op));
	shoal_write(fd, ": ", 2);
	const char *name = shoal_error_name(code);
	shoal_write(fd, name, strlen(name));
	if (n > 0) {
		shoal_write(fd, ": ", 2);
		shoal_write(fd, why, (size_t)n < sizeof why ? (size_t)n : sizeof why);
	}
	shoal_write(fd, "\n", 1);
}

#ifdef __cplusplus
}
#endif

#endif
