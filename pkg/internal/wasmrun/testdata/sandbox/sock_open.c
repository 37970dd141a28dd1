// sock_open asks for a socket of its own through WasmEdge's
// wasi_snapshot_preview1.sock_open, which WASI preview1 does not have: the
// runner must refuse the module before it runs.
#include <stdint.h>

__attribute__((import_module("wasi_snapshot_preview1"), import_name("sock_open")))
int32_t sock_open(int32_t family, int32_t type, int32_t *fd);

int main(void) {
    int32_t fd;
    return sock_open(2 /* INET4 */, 1 /* STREAM */, &fd) != 0;
}
