/* A static probe run inside test containers (busybox has no keyctl and no
 * raw clone): `probe CALL` makes one system call and prints
 * "CALL: ok [RESULT]" or "CALL: <strerror>". Built by the tests with
 * `cc -static` (gcc and libc6-dev, which building nsbox needs anyway). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(const char *call, long rc) {
    if (rc < 0) {
        printf("%s: %s\n", call, strerror(errno));
        return 1;
    }
    printf("%s: ok %ld\n", call, rc);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: probe keyctl|finit_module|clone_newuser|clone3\n");
        return 2;
    }
    const char *call = argv[1];
    if (!strcmp(call, "keyctl")) {
        /* KEYCTL_GET_KEYRING_ID of KEY_SPEC_USER_KEYRING, without creating. */
        return report(call, syscall(SYS_keyctl, 0, -4, 0));
    }
    if (!strcmp(call, "finit_module")) {
        /* No module: fd -1 fails with EBADF once past the permission checks. */
        return report(call, syscall(SYS_finit_module, -1, "", 0));
    }
    if (!strcmp(call, "clone_newuser")) {
        long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0)
            _exit(0);
        if (pid > 0)
            waitpid((pid_t)pid, 0, 0);
        return report(call, pid > 0 ? 0 : pid);
    }
    if (!strcmp(call, "clone3")) {
        /* A bad size: EINVAL from the kernel, ENOSYS from a filter. */
        return report(call, syscall(SYS_clone3, 0, 0));
    }
    fprintf(stderr, "probe: unknown call %s\n", call);
    return 2;
}
