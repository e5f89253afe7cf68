/* A static probe run inside test containers: prints the process
 * attributes the runtime sets and busybox cannot read, one line each:
 *   sched: policy=N nice=N priority=N flags=0xN runtime=N deadline=N period=N
 *   ioprio: class=N level=N
 *   mempolicy: mode=N nodes=0xN
 *   cpus: LIST            (sched_getaffinity, as Cpus_allowed_list)
 * then, with arguments, execs them (so a policy that forbids fork, such
 * as SCHED_DEADLINE, can still be read by the process itself).
 * Built by the tests with `cc -static` (gcc and libc6-dev). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

int main(int argc, char **argv) {
    struct attr a;
    memset(&a, 0, sizeof a);
    if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) < 0)
        printf("sched: %s\n", strerror(errno));
    else
        printf("sched: policy=%u nice=%d priority=%u flags=0x%llx runtime=%llu deadline=%llu period=%llu\n",
               a.policy, a.nice, a.priority, (unsigned long long)a.flags,
               (unsigned long long)a.runtime, (unsigned long long)a.deadline,
               (unsigned long long)a.period);
    /* IOPRIO_WHO_PROCESS, self */
    long io = syscall(SYS_ioprio_get, 1, 0);
    if (io < 0)
        printf("ioprio: %s\n", strerror(errno));
    else
        printf("ioprio: class=%ld level=%ld\n", io >> 13, io & 0x1fff);
    int mode = -1;
    unsigned long nodes[16];
    memset(nodes, 0, sizeof nodes);
    if (syscall(SYS_get_mempolicy, &mode, nodes, sizeof nodes * 8, 0, 0) < 0)
        printf("mempolicy: %s\n", strerror(errno));
    else
        printf("mempolicy: mode=%d nodes=0x%lx\n", mode, nodes[0]);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) < 0) {
        printf("cpus: %s\n", strerror(errno));
    } else {
        printf("cpus:");
        const char *sep = " ";
        for (int i = 0; i < CPU_SETSIZE; i++)
            if (CPU_ISSET(i, &set)) {
                printf("%s%d", sep, i);
                sep = ",";
            }
        printf("\n");
    }
    fflush(stdout);
    if (argc > 1) {
        execvp(argv[1], argv + 1);
        printf("exec %s: %s\n", argv[1], strerror(errno));
        return 127;
    }
    return 0;
}
