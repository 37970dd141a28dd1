// procbench.c: the process benchmarks' guest (docs/BENCHMARKS.md, "Issue
// 13: processes"), in C so that a child's instantiation costs microseconds.
//
// Run as a task, argv[1] chooses what the parent measures; every child it
// spawns is this module again, with the placement fields given after the
// mode's numbers (near=parent, label=KEY=VALUE, cores=..., memory=...):
//
//	spawn N      N children one after another, each sending its start time
//	             and exiting at once; the parent waits for each. Prints the
//	             p50/p99 from the spawn call to the child's start (start_),
//	             to its first message (msg_) and to wait's return (wait_).
//	spawns N K   N children that exit at once, K of them in flight; prints
//	             the elapsed time (elapsed_ns) and how much of it went in
//	             spawn calls (in_spawn_ns) and in waits (in_wait_ns).
//	pingpong N SIZE  one child echoes; N round trips of SIZE bytes, each
//	             timed (rtt_).
//	stream N SIZE    one child sends N messages of SIZE bytes as fast as
//	             sends return; prints the time from the first message
//	             received to the last (elapsed_ns).
//
// The figures are printed to stdout as "name value" lines, in nanoseconds,
// for the benchmark to read from the task's result. A child's modes are
// "up", "exit", "echo" and "source N SIZE". A failed call exits with 1
// after printing "procbench: OP: SHOAL_ERR_...: reason" to stderr.

#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#include "shoal.h"

#define MAX_MSG (64 << 10)
#define MAX_SAMPLES 4096
#define MAX_INFLIGHT 256

static uint8_t buf[MAX_MSG];
static int64_t start_s[MAX_SAMPLES], msg_s[MAX_SAMPLES], wait_s[MAX_SAMPLES];

static void say(int fd, const char *s, size_t n) { shoal_write(fd, s, n); }

static void says(int fd, const char *s) { say(fd, s, strlen(s)); }

static void sayi(int fd, int64_t v) {
	char d[24];
	int i = sizeof d;
	int neg = v < 0;
	uint64_t u = neg ? (uint64_t)(-v) : (uint64_t)v;
	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (neg)
		d[--i] = '-';
	say(fd, d + i, sizeof d - (size_t)i);
}

// figure prints "name value\n" to stdout.
static void figure(const char *name, int64_t v) {
	says(1, name);
	says(1, " ");
	sayi(1, v);
	says(1, "\n");
}

static int fail(const char *op, int32_t code) {
	says(2, "procbench: ");
	shoal_report(2, op, code);
	return 1;
}

static int usage(void) {
	says(2, "usage: procbench spawn N | spawns N K | pingpong N SIZE | stream N SIZE [near=parent] [label=K=V] [cores=C] [memory=M]\n");
	return 2;
}

static int64_t now(__wasi_clockid_t clock) {
	__wasi_timestamp_t t = 0;
	if (__wasi_clock_time_get(clock, 1, &t) != 0)
		return 0;
	return (int64_t)t;
}

static int64_t mono(void) { return now(__WASI_CLOCKID_MONOTONIC); }

// wall is the host's clock, the one clock a child and its parent share.
static int64_t wall(void) { return now(__WASI_CLOCKID_REALTIME); }

static int64_t num(const char *s) {
	int64_t v = 0;
	if (*s == 0)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

// The spawn request fields every child gets: the placement options of
// the parent's argv.
static uint8_t place[512];
static size_t place_len;

// placement adds the options of argv to place; -1 for one it does not know.
static int placement(int argc, char **argv) {
	static const struct {
		const char *prefix;
		uint8_t tag;
	} opts[] = {
	    {"near=", SHOAL_TAG_NEAR},
	    {"label=", SHOAL_TAG_LABEL},
	    {"cores=", SHOAL_TAG_CORES},
	    {"memory=", SHOAL_TAG_MEMORY},
	};
	for (int i = 0; i < argc; i++) {
		size_t k;
		for (k = 0; k < sizeof opts / sizeof opts[0]; k++) {
			size_t n = strlen(opts[k].prefix);
			if (strncmp(argv[i], opts[k].prefix, n) == 0) {
				if (shoal_req_add_str(place, sizeof place, &place_len, opts[k].tag, argv[i] + n) != 0)
					return -1;
				break;
			}
		}
		if (k == sizeof opts / sizeof opts[0])
			return -1;
	}
	return 0;
}

// spawn spawns a child with argv [key, args...] placed as the parent's
// options say; it returns its handle, or a negative error.
static int32_t spawn(int n, const char **args) {
	uint8_t req[sizeof place + 128];
	size_t len = place_len;
	memcpy(req, place, place_len);
	for (int i = 0; i < n; i++)
		if (shoal_req_add_str(req, sizeof req, &len, SHOAL_TAG_ARG, args[i]) != 0)
			return SHOAL_ERR_TOO_BIG;
	return shoal_spawn(req, len);
}

static int join(int32_t c) {
	int32_t code, rc = shoal_wait(c, &code);
	if (rc < 0)
		return fail("wait", rc);
	if (code != 0) {
		says(2, "procbench: a child exited with ");
		sayi(2, code);
		says(2, "\n");
		return 1;
	}
	return 0;
}

static int cmp(const void *a, const void *b) {
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

// quantiles prints the p50 and p99 of n samples as NAME_p50 and NAME_p99.
static void quantiles(const char *name, int64_t *s, int n) {
	// An insertion sort: n is a few thousand at most, and qsort would link
	// wasi-libc's.
	for (int i = 1; i < n; i++) {
		int64_t v = s[i];
		int j = i;
		for (; j > 0 && cmp(&s[j - 1], &v) > 0; j--)
			s[j] = s[j - 1];
		s[j] = v;
	}
	char key[32];
	size_t l = strlen(name);
	if (l > sizeof key - 5)
		l = sizeof key - 5;
	memcpy(key, name, l);
	memcpy(key + l, "_p50", 5);
	figure(key, s[n / 2]);
	memcpy(key + l, "_p99", 5);
	figure(key, s[n * 99 / 100]);
}

// recv_exact receives one message from h into buf, wanting want bytes
// (-1: any length).
static int recv_exact(int32_t h, int64_t want, uint32_t *got) {
	int32_t rc = shoal_recv(h, buf, sizeof buf, SHOAL_FOREVER, got);
	if (rc < 0)
		return fail("recv", rc);
	if (want >= 0 && *got != (uint32_t)want) {
		says(2, "procbench: a message of the wrong length\n");
		return 1;
	}
	return 0;
}

static int bench_spawn(int64_t n) {
	if (n < 1 || n > MAX_SAMPLES)
		return usage();
	const char *args[] = {"up"};
	for (int i = 0; i < n; i++) {
		int64_t w0 = wall(), t0 = mono();
		int32_t c = spawn(1, args);
		if (c < 0)
			return fail("spawn", c);
		uint32_t got;
		if (recv_exact(c, 8, &got) != 0)
			return 1;
		int64_t t1 = mono();
		int64_t up;
		memcpy(&up, buf, 8);
		if (join(c) != 0)
			return 1;
		start_s[i] = up - w0;
		msg_s[i] = t1 - t0;
		wait_s[i] = mono() - t0;
	}
	quantiles("start", start_s, n);
	quantiles("msg", msg_s, n);
	quantiles("wait", wait_s, n);
	return 0;
}

static int bench_spawns(int64_t n, int64_t k) {
	if (n < 1 || k < 1 || k > MAX_INFLIGHT)
		return usage();
	static int32_t ring[MAX_INFLIGHT];
	const char *args[] = {"exit"};
	int64_t t0 = mono(), in_spawn = 0, in_wait = 0;
	for (int64_t i = 0; i < n + k; i++) {
		int32_t *slot = &ring[i % k];
		int64_t t1 = mono();
		if (i >= k && join(*slot) != 0)
			return 1;
		int64_t t2 = mono();
		if (i < n && (*slot = spawn(1, args)) < 0)
			return fail("spawn", *slot);
		in_wait += t2 - t1;
		in_spawn += mono() - t2;
	}
	figure("elapsed_ns", mono() - t0);
	figure("in_spawn_ns", in_spawn);
	figure("in_wait_ns", in_wait);
	return 0;
}

static int bench_pingpong(int64_t n, int64_t size) {
	if (n < 1 || n > MAX_SAMPLES || size < 0 || size > MAX_MSG)
		return usage();
	const char *args[] = {"echo"};
	int32_t c = spawn(1, args);
	if (c < 0)
		return fail("spawn", c);
	memset(buf, 'p', (size_t)size);
	for (int i = -1; i < n; i++) { // the first round trip waits for the child to start
		int64_t t0 = mono();
		int32_t rc = shoal_send(c, buf, (size_t)size);
		if (rc < 0)
			return fail("send", rc);
		uint32_t got;
		if (recv_exact(c, size, &got) != 0)
			return 1;
		if (i >= 0)
			msg_s[i] = mono() - t0;
	}
	int32_t rc = shoal_close(c);
	if (rc < 0)
		return fail("close", rc);
	if (join(c) != 0)
		return 1;
	quantiles("rtt", msg_s, n);
	return 0;
}

static int bench_stream(const char *n, const char *size) {
	int64_t count = num(n), sz = num(size);
	if (count < 2 || sz < 0 || sz > MAX_MSG)
		return usage();
	const char *args[] = {"source", n, size};
	int32_t c = spawn(3, args);
	if (c < 0)
		return fail("spawn", c);
	int64_t t0 = 0;
	for (int64_t i = 0; i < count; i++) {
		uint32_t got;
		if (recv_exact(c, sz, &got) != 0)
			return 1;
		if (i == 0)
			t0 = mono();
	}
	figure("elapsed_ns", mono() - t0);
	return join(c);
}

static int child_echo(void) {
	for (;;) {
		uint32_t got;
		int32_t rc = shoal_recv(SHOAL_PARENT, buf, sizeof buf, SHOAL_FOREVER, &got);
		if (rc == SHOAL_ERR_CLOSED)
			return 0;
		if (rc < 0)
			return fail("recv", rc);
		if ((rc = shoal_send(SHOAL_PARENT, buf, got)) < 0)
			return fail("send", rc);
	}
}

static int child_source(int64_t n, int64_t size) {
	if (n < 0 || size < 0 || size > MAX_MSG)
		return usage();
	memset(buf, 's', (size_t)size);
	for (int64_t i = 0; i < n; i++) {
		int32_t rc = shoal_send(SHOAL_PARENT, buf, (size_t)size);
		if (rc < 0)
			return fail("send", rc);
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 2)
		return usage();
	const char *mode = argv[1];
	if (strcmp(mode, "exit") == 0)
		return 0;
	if (strcmp(mode, "up") == 0) {
		int64_t t = wall();
		int32_t rc = shoal_send(SHOAL_PARENT, &t, sizeof t);
		return rc < 0 ? fail("send", rc) : 0;
	}
	if (strcmp(mode, "echo") == 0)
		return child_echo();
	if (strcmp(mode, "source") == 0 && argc == 4)
		return child_source(num(argv[2]), num(argv[3]));

	int nums = strcmp(mode, "spawn") == 0 ? 1 : 2;
	if (argc < 2 + nums || placement(argc - 2 - nums, argv + 2 + nums) != 0)
		return usage();
	int64_t a = num(argv[2]), b = nums > 1 ? num(argv[3]) : 0;
	if (strcmp(mode, "spawn") == 0)
		return bench_spawn(a);
	if (strcmp(mode, "spawns") == 0)
		return bench_spawns(a, b);
	if (strcmp(mode, "pingpong") == 0)
		return bench_pingpong(a, b);
	if (strcmp(mode, "stream") == 0)
		return bench_stream(argv[2], argv[3]);
	return usage();
}
