// start.c: a small _start for the example WASI commands, linked with
// -nostartfiles in place of wasi-libc's crt1-command.o.
//
// wasi-libc's startup gets argv through malloc, which links dlmalloc: about
// 9 KB of a 13 KB module. This one reads argv into static storage, calls
// main, and returns when main returns 0 (a plain return is exit code 0 and
// costs the runtime less than proc_exit). It runs no atexit handlers and
// flushes no stdio, so the commands using it write with write(2).

#include <wasi/api.h>

#define MAX_ARGS 64
#define MAX_ARG_BYTES 4096

// Exit codes: arguments that do not fit are bad usage, as in the commands.
#define EXIT_FAILURE 1
#define EXIT_USAGE 2

static char *args[MAX_ARGS + 1];
static char arg_bytes[MAX_ARG_BYTES];

int main(int argc, char **argv);
void __wasm_call_ctors(void);

static void fail(const char *msg, __wasi_size_t len, int code) {
	__wasi_ciovec_t iov = {.buf = (const uint8_t *)msg, .buf_len = len};
	__wasi_size_t written;
	// Nothing is left to report a failed write to.
	(void)__wasi_fd_write(2, &iov, 1, &written);
	__wasi_proc_exit(code);
}

__attribute__((export_name("_start"))) void _start(void) {
	__wasm_call_ctors();

	__wasi_size_t argc, size;
	if (__wasi_args_sizes_get(&argc, &size) != 0) {
		static const char msg[] = "cannot read arguments\n";
		fail(msg, sizeof msg - 1, EXIT_FAILURE);
	}
	if (argc > MAX_ARGS || size > MAX_ARG_BYTES) {
		static const char msg[] = "too many arguments\n";
		fail(msg, sizeof msg - 1, EXIT_USAGE);
	}
	if (__wasi_args_get((uint8_t **)args, (uint8_t *)arg_bytes) != 0) {
		static const char msg[] = "cannot read arguments\n";
		fail(msg, sizeof msg - 1, EXIT_FAILURE);
	}
	args[argc] = 0;

	int code = main((int)argc, args);
	if (code != 0)
		__wasi_proc_exit((__wasi_exitcode_t)code);
}
