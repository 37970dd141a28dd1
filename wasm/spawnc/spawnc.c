// spawnc.c: a ping between a parent and a child in C, through
// wasm/include/shoal.h (docs/PROCESSES.md).
//
// Run as a task it is the parent: it spawns its own module with argv
// [key, "child"], sends "ping", and receives the answer first into a
// buffer too small for it (SHOAL_ERR_TOO_BIG writes the length), then
// into one that fits. It prints "spawnc: pong", waits for the child and
// exits with the child's exit code. The child answers "pong", closes its
// side and exits with 0. A failed call is
// printed to stderr, "spawnc: send: SHOAL_ERR_CLOSED: the child exited",
// with exit code 1.

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "shoal.h"

static void say(int fd, const char *s, size_t n) { shoal_write(fd, s, n); }

static void says(int fd, const char *s) { say(fd, s, strlen(s)); }

// fail reports the failed call op with the host's reason and returns 1.
static int fail(const char *op, int32_t code) {
	says(2, "spawnc: ");
	shoal_report(2, op, code);
	return 1;
}

static int child(void) {
	char msg[16];
	uint32_t n;
	int32_t rc = shoal_recv(SHOAL_PARENT, msg, sizeof msg, SHOAL_FOREVER, &n);
	if (rc < 0)
		return fail("recv", rc);
	if (n != 4 || memcmp(msg, "ping", 4) != 0) {
		says(2, "spawnc: the parent did not send ping\n");
		return 1;
	}
	if ((rc = shoal_send(SHOAL_PARENT, "pong", 4)) < 0)
		return fail("send", rc);
	if ((rc = shoal_close(SHOAL_PARENT)) < 0)
		return fail("close", rc);
	return 0;
}

static int parent(void) {
	uint8_t req[64];
	size_t len = 0;
	if (shoal_req_add_str(req, sizeof req, &len, SHOAL_TAG_ARG, "child") != 0 ||
	    shoal_req_add_str(req, sizeof req, &len, SHOAL_TAG_NEAR, "parent") != 0)
		return fail("request", SHOAL_ERR_TOO_BIG);
	int32_t c = shoal_spawn(req, len);
	if (c < 0)
		return fail("spawn", c);
	int32_t rc = shoal_send(c, "ping", 4);
	if (rc < 0)
		return fail("send", rc);

	char small[2], msg[16];
	uint32_t n = 0;
	rc = shoal_recv(c, small, sizeof small, SHOAL_FOREVER, &n);
	if (rc != SHOAL_ERR_TOO_BIG || n != 4)
		return fail("recv into 2 bytes", rc);
	if ((rc = shoal_recv(c, msg, n, 0, &n)) < 0)
		return fail("recv", rc);
	says(1, "spawnc: ");
	say(1, msg, n);
	says(1, "\n");

	int32_t code;
	if ((rc = shoal_wait(c, &code)) < 0)
		return fail("wait", rc);
	return code;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	return parent();
}
