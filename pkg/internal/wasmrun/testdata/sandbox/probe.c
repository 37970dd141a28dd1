// probe tries, one by one, the operations named on its command line and
// prints one line for each: "OP ARG: ok ..." or "OP ARG: failed: REASON".
// It exits with 0 when every operation worked and 1 otherwise, so a test
// sees both what the sandbox refused and that the run failed.
//
//   read PATH          open PATH and read it
//   write PATH TEXT    create or truncate PATH and write TEXT into it
//   mkdir PATH         create a directory
//   symlink TO LINK    create the symbolic link LINK pointing to TO
//   ls PATH            list a directory
//   env                print the whole environment
//   accept FD          accept a connection on the socket FD
//   grow MIB           allocate MIB MiB, one MiB at a time
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

extern char **environ;

static int failed;

static void fail(const char *op, const char *arg, const char *reason) {
    printf("%s %s: failed: %s\n", op, arg, reason);
    failed = 1;
}

static void do_read(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fail("read", path, strerror(errno));
        return;
    }
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    printf("read %s: ok %zu bytes: %s\n", path, n, buf);
}

static void do_write(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fail("write", path, strerror(errno));
        return;
    }
    size_t len = strlen(text);
    size_t n = fwrite(text, 1, len, f);
    if (fclose(f) != 0 || n != len) {
        fail("write", path, strerror(errno));
        return;
    }
    printf("write %s: ok\n", path);
}

static void do_mkdir(const char *path) {
    if (mkdir(path, 0755) != 0) {
        fail("mkdir", path, strerror(errno));
        return;
    }
    printf("mkdir %s: ok\n", path);
}

static void do_symlink(const char *to, const char *link) {
    if (symlink(to, link) != 0) {
        fail("symlink", link, strerror(errno));
        return;
    }
    printf("symlink %s: ok\n", link);
}

static void do_ls(const char *path) {
    DIR *d = opendir(path);
    if (d == NULL) {
        fail("ls", path, strerror(errno));
        return;
    }
    printf("ls %s: ok:", path);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        printf(" %s", e->d_name);
    }
    printf("\n");
    closedir(d);
}

static void do_env(void) {
    printf("env: ok:");
    for (char **e = environ; *e != NULL; e++) {
        printf(" %s", *e);
    }
    printf("\n");
}

static void do_accept(const char *fd) {
    __wasi_fd_t conn;
    __wasi_errno_t err = __wasi_sock_accept((__wasi_fd_t)atoi(fd), 0, &conn);
    if (err != 0) {
        fail("accept", fd, strerror(err));
        return;
    }
    printf("accept %s: ok: connection on fd %u\n", fd, conn);
}

// kept is where grow keeps its blocks, so that the compiler cannot drop
// allocations nobody reads.
char *volatile kept;

static void do_grow(const char *mib) {
    int want = atoi(mib);
    for (int i = 0; i < want; i++) {
        char *p = malloc(1 << 20);
        kept = p;
        if (p == NULL) {
            char reason[64];
            snprintf(reason, sizeof reason, "out of memory after %d MiB", i);
            fail("grow", mib, reason);
            return;
        }
        memset(p, 1, 1 << 20);
    }
    printf("grow %s: ok\n", mib);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        int left = argc - i - 1;
        if (strcmp(op, "env") == 0) {
            do_env();
        } else if (strcmp(op, "read") == 0 && left >= 1) {
            do_read(argv[++i]);
        } else if (strcmp(op, "mkdir") == 0 && left >= 1) {
            do_mkdir(argv[++i]);
        } else if (strcmp(op, "ls") == 0 && left >= 1) {
            do_ls(argv[++i]);
        } else if (strcmp(op, "accept") == 0 && left >= 1) {
            do_accept(argv[++i]);
        } else if (strcmp(op, "grow") == 0 && left >= 1) {
            do_grow(argv[++i]);
        } else if (strcmp(op, "write") == 0 && left >= 2) {
            do_write(argv[i + 1], argv[i + 2]);
            i += 2;
        } else if (strcmp(op, "symlink") == 0 && left >= 2) {
            do_symlink(argv[i + 1], argv[i + 2]);
            i += 2;
        } else {
            fail("usage", op, "unknown operation or missing argument");
        }
        fflush(stdout);
    }
    return failed;
}
