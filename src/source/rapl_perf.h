/* rapl-perf internals exposed for tests: the system calls it makes, behind a replaceable table. */
#ifndef JP_RAPL_PERF_H
#define JP_RAPL_PERF_H

#include <linux/perf_event.h>
#include <stddef.h>
#include <sys/types.h>

struct jp_perf_syscalls {
    /* perf_event_open(2): returns a file descriptor, or -1 with errno set. */
    int (*event_open)(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
                      unsigned long flags);
    /* read(2) on such a descriptor: 8 bytes, the 64-bit count. */
    ssize_t (*read)(int fd, void *buf, size_t count);
    int (*close)(int fd);
};

/* Replaces the system calls (the table is copied; a NULL member keeps the real call). NULL restores
 * the real ones. Not thread-safe: call it while no rapl-perf source is open. */
void jp_rapl_perf_set_syscalls(const struct jp_perf_syscalls *s);

#endif
