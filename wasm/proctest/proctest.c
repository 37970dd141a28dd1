// proctest.c: the guest of the process tree's failure and backpressure
// tests (pkg/internal/gateway/proctree_test.go), through
// wasm/include/shoal.h (docs/PROCESSES.md). What it does is chosen by
// argv (argv[0] is the key or task id).
//
// A parent: argv [_, MODE, FIELD..., "--", CHILD-ARGV...] spawns its own
// module with argv CHILD-ARGV (after the key) and each FIELD of the spawn
// request: cores=X, memory=X, label=K=V, near=parent, timeout=X, and
// count=N, the number of such children (default 1). Then, by MODE:
//
//	wait   waits for each child in turn: "child H: exit CODE", or
//	       "child H: wait: SHOAL_ERR_...: REASON"
//	drain  receives from child 1 until an error, then waits for it:
//	       "received N", "recv: SHOAL_ERR_...: REASON", then as wait
//	leave  receives one message from each child ("ready"), prints
//	       "leaving" and exits 0 while they still run
//	slow   receives from child 1 with a millisecond's sleep before each
//	       message, checking that message i starts with i (u32, little
//	       endian): "received N in order", then as drain
//	feed N SIZE  sends child 1 N messages of SIZE bytes numbered as flood
//	       numbers them, closes, then waits for it
//	spawned   prints "spawned N" once every spawn returned (or
//	       "spawn: SHOAL_ERR_...: REASON" at the first that failed), then
//	       waits for child 1
//
// A child: argv [_, MODE, ...]:
//
//	trap          traps (unreachable)
//	exit N        exits with N
//	recv-forever  sends "ready", then receives from its parent until the
//	              run ends (exit 1 if a receive fails)
//	spin          sends "ready", then loops until it is ended
//	flood N SIZE [CODE]  sends N messages of SIZE bytes, message i
//	              starting with i, and exits with CODE (default 0)
//	              without closing
//	slow-recv     receives with a millisecond's sleep before each message
//	              until the channel closes; exit 0 when message i started
//	              with i, 1 otherwise
//	echo          sends back each message until the channel closes
//	hostile       calls every shoal function with a bad pointer, length
//	              or handle, and prints the codes, one a line
//
// Anything else prints a usage line to stderr and exits 2.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shoal.h"

#define MAX_MESSAGE (1 << 20)
#define MAX_CHILDREN 1024

static uint8_t msg[MAX_MESSAGE];

static void say(int fd, const char *s, size_t n) { shoal_write(fd, s, n); }

static void says(int fd, const char *s) { say(fd, s, strlen(s)); }

// sayn writes the decimal n.
static void sayn(int fd, long long n) {
	char b[24], *p = b + sizeof b;
	int neg = n < 0;
	unsigned long long u = neg ? -(unsigned long long)n : (unsigned long long)n;
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (neg)
		*--p = '-';
	say(fd, p, (size_t)(b + sizeof b - p));
}

// report prints "OP: SHOAL_ERR_...: REASON" to fd for the failed call's code.
static void report(int fd, const char *op, int32_t code) { shoal_report(fd, op, code); }

static int usage(void) {
	says(2, "usage: proctest wait|drain|leave|slow|spawned [FIELD...] -- CHILD-ARGV, proctest feed N SIZE [FIELD...] -- CHILD-ARGV,\n"
	        "       or proctest trap|exit N|recv-forever|spin|flood N SIZE [CODE]|slow-recv|echo|hostile\n");
	return 2;
}

static void number(uint32_t i) { memcpy(msg, &i, sizeof i); }

static uint32_t numbered(void) {
	uint32_t i;
	memcpy(&i, msg, sizeof i);
	return i;
}

// ---- children ----

static int ready(void) {
	int32_t rc = shoal_send(SHOAL_PARENT, "ready", 5);
	if (rc < 0)
		report(2, "send", rc);
	return rc;
}

static int recv_forever(void) {
	if (ready() < 0)
		return 1;
	for (;;) {
		uint32_t n;
		int32_t rc = shoal_recv(SHOAL_PARENT, msg, sizeof msg, SHOAL_FOREVER, &n);
		if (rc < 0) {
			report(2, "recv", rc);
			return 1;
		}
	}
}

static int spin(void) {
	if (ready() < 0)
		return 1;
	for (volatile uint64_t i = 0;; i++) {
	}
}

static int flood(uint32_t count, uint32_t size, int code) {
	if (size < 4 || size > sizeof msg)
		return usage();
	memset(msg, 'x', size);
	for (uint32_t i = 0; i < count; i++) {
		number(i);
		int32_t rc = shoal_send(SHOAL_PARENT, msg, size);
		if (rc < 0) {
			report(2, "send", rc);
			return 1;
		}
	}
	return code;
}

// slow_recv receives from handle h, sleeping first, until an error; it
// returns how many messages came in order, or -1 at the first that did
// not, and leaves the error's code in *rc.
static long slow_recv(int32_t h, int32_t *rc) {
	long got = 0;
	for (;;) {
		usleep(1000);
		uint32_t n;
		if ((*rc = shoal_recv(h, msg, sizeof msg, SHOAL_FOREVER, &n)) < 0)
			return got;
		if (n < 4 || numbered() != (uint32_t)got)
			return -1;
		got++;
	}
}

static int echo(void) {
	for (;;) {
		uint32_t n;
		int32_t rc = shoal_recv(SHOAL_PARENT, msg, sizeof msg, SHOAL_FOREVER, &n);
		if (rc == SHOAL_ERR_CLOSED)
			return shoal_close(SHOAL_PARENT) < 0;
		if (rc < 0 || (rc = shoal_send(SHOAL_PARENT, msg, n)) < 0) {
			report(2, "echo", rc);
			return 1;
		}
	}
}

// hostile: every pointer past the end of memory, every handle unknown.
static int hostile(void) {
	uint8_t *end = (uint8_t *)(__builtin_wasm_memory_size(0) * 65536 - 2);
	uint32_t n;
	int32_t code;
	int32_t rcs[] = {
		shoal_spawn(end, 100),
		shoal_send(SHOAL_PARENT, end, 100),
		shoal_send(99, msg, 4),
		shoal_recv(SHOAL_PARENT, end, 100, 0, &n),
		shoal_recv(SHOAL_PARENT, msg, 4, 0, (uint32_t *)end),
		shoal_recv(99, msg, 4, 0, &n),
		shoal_close(99),
		shoal_wait(99, &code),
		shoal_wait(SHOAL_PARENT, &code),
		shoal_last_error((char *)end, 100),
		shoal_self((char *)end, 100),
	};
	for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
		sayn(1, rcs[i]);
		says(1, "\n");
	}
	return 0;
}

// ---- parents ----

// wait_for prints how child h ended.
static void wait_for(int32_t h) {
	int32_t code;
	int32_t rc = shoal_wait(h, &code);
	says(1, "child ");
	sayn(1, h);
	says(1, ": ");
	if (rc < 0) {
		report(1, "wait", rc);
		return;
	}
	says(1, "exit ");
	sayn(1, code);
	says(1, "\n");
}

// drain receives from child 1 until an error and prints how many came.
static void drain(void) {
	long got = 0;
	int32_t rc;
	uint32_t n;
	while ((rc = shoal_recv(1, msg, sizeof msg, SHOAL_FOREVER, &n)) >= 0)
		got++;
	says(1, "received ");
	sayn(1, got);
	says(1, "\n");
	report(1, "recv", rc);
}

static int feed(uint32_t count, uint32_t size) {
	if (size < 4 || size > sizeof msg)
		return usage();
	memset(msg, 'x', size);
	for (uint32_t i = 0; i < count; i++) {
		number(i);
		int32_t rc = shoal_send(1, msg, size);
		if (rc < 0) {
			report(1, "send", rc);
			return 1;
		}
	}
	int32_t rc = shoal_close(1);
	if (rc < 0)
		report(1, "close", rc);
	wait_for(1);
	return 0;
}

// field adds "NAME=VALUE" to the request as its tag; count= sets *count.
static int field(uint8_t *req, size_t cap, size_t *len, const char *f, long *count) {
	static const struct {
		const char *name;
		uint8_t tag;
	} tags[] = {
		{"cores=", SHOAL_TAG_CORES}, {"memory=", SHOAL_TAG_MEMORY}, {"label=", SHOAL_TAG_LABEL},
		{"near=", SHOAL_TAG_NEAR}, {"timeout=", SHOAL_TAG_TIMEOUT},
	};
	if (strncmp(f, "count=", 6) == 0) {
		*count = atol(f + 6);
		return *count >= 1 && *count <= MAX_CHILDREN ? 0 : -1;
	}
	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
		size_t n = strlen(tags[i].name);
		if (strncmp(f, tags[i].name, n) == 0)
			return shoal_req_add_str(req, cap, len, tags[i].tag, f + n);
	}
	return -1;
}

static int parent(int argc, char **argv) {
	const char *mode = argv[1];
	int i = 2;
	uint32_t feed_count = 0, feed_size = 0;
	if (strcmp(mode, "feed") == 0) {
		if (argc < 4)
			return usage();
		feed_count = (uint32_t)atol(argv[2]);
		feed_size = (uint32_t)atol(argv[3]);
		i = 4;
	}
	static uint8_t req[4096];
	size_t len = 0;
	long count = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (field(req, sizeof req, &len, argv[i], &count) != 0)
			return usage();
	if (i == argc)
		return usage();
	for (i++; i < argc; i++)
		if (shoal_req_add_str(req, sizeof req, &len, SHOAL_TAG_ARG, argv[i]) != 0)
			return usage();

	for (long c = 0; c < count; c++) {
		int32_t h = shoal_spawn(req, len);
		if (h < 0) {
			report(1, "spawn", h);
			return 1;
		}
	}
	int32_t rc;
	if (strcmp(mode, "wait") == 0) {
		for (int32_t h = 1; h <= count; h++)
			wait_for(h);
	} else if (strcmp(mode, "drain") == 0) {
		drain();
		wait_for(1);
	} else if (strcmp(mode, "leave") == 0) {
		for (int32_t h = 1; h <= count; h++) {
			uint32_t n;
			if ((rc = shoal_recv(h, msg, sizeof msg, SHOAL_FOREVER, &n)) < 0) {
				report(1, "recv", rc);
				return 1;
			}
		}
		says(1, "leaving\n");
	} else if (strcmp(mode, "slow") == 0) {
		long got = slow_recv(1, &rc);
		if (got < 0) {
			says(1, "out of order\n");
			return 1;
		}
		says(1, "received ");
		sayn(1, got);
		says(1, " in order\n");
		report(1, "recv", rc);
		wait_for(1);
	} else if (strcmp(mode, "feed") == 0) {
		return feed(feed_count, feed_size);
	} else if (strcmp(mode, "spawned") == 0) {
		says(1, "spawned ");
		sayn(1, count);
		says(1, "\n");
		wait_for(1);
	} else {
		return usage();
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 2)
		return usage();
	const char *mode = argv[1];
	if (strcmp(mode, "trap") == 0)
		__builtin_trap();
	if (strcmp(mode, "exit") == 0 && argc == 3)
		return atoi(argv[2]);
	if (strcmp(mode, "recv-forever") == 0)
		return recv_forever();
	if (strcmp(mode, "spin") == 0)
		return spin();
	if (strcmp(mode, "flood") == 0 && (argc == 4 || argc == 5))
		return flood((uint32_t)atol(argv[2]), (uint32_t)atol(argv[3]), argc == 5 ? atoi(argv[4]) : 0);
	if (strcmp(mode, "slow-recv") == 0) {
		int32_t rc;
		long got = slow_recv(SHOAL_PARENT, &rc);
		return got < 0 || rc != SHOAL_ERR_CLOSED;
	}
	if (strcmp(mode, "echo") == 0)
		return echo();
	if (strcmp(mode, "hostile") == 0)
		return hostile();
	return parent(argc, argv);
}
