// host_call calls a host function the runner does not provide, as a module
// built for another embedder would: it must be refused before it runs.
__attribute__((import_module("env"), import_name("system")))
int host_system(const char *command);

int main(void) {
    return host_system("cat /etc/passwd");
}
