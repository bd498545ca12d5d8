/* Reading CPU time from /proc (or JP_PROC_ROOT): the machine's busy time and a process tree's. */
#ifndef JP_PROC_H
#define JP_PROC_H

#include "util.h"

struct jp_cpu_times {
    uint64_t busy;  /* jiffies: user+nice+system+irq+softirq+steal */
    uint64_t total; /* busy + idle + iowait */
};

/* Reads the aggregate "cpu" line of <proc>/stat. */
int jp_proc_cpu_times(const jp_roots *roots, struct jp_cpu_times *out);

/* The same from a kept <proc>/stat (see jp_kfile), for a sampler. */
int jp_proc_cpu_times_kfile(jp_kfile *f, struct jp_cpu_times *out);

/* Jiffies per second (sysconf(_SC_CLK_TCK)). */
double jp_proc_hz(void);

/* CPU time (user+system, seconds) of the process pid and all its descendants alive now, from
 * <proc>/N/stat. Processes that vanish while being read are skipped. */
int jp_proc_tree_cpu(const jp_roots *roots, pid_t pid, double *seconds);

/* This process's CPU time (user + system, all threads) and that of the children it has waited for
 * (RUSAGE_CHILDREN: programs it ran to completion, with their own waited-for descendants), seconds. */
double jp_self_cpu_seconds(void);

/* A moment for attribution: the time, this process's CPU time (with its waited-for children's) and the
 * machine's busy time. */
struct jp_cpu_mark {
    double t, cpu;
    struct jp_cpu_times machine;
    bool machine_ok;
};
void jp_cpu_mark_now(const jp_roots *roots, struct jp_cpu_mark *m);
/* This process's share of the machine's busy CPU time between two marks (0..1), or -1 if unknown. */
double jp_cpu_share_between(const struct jp_cpu_mark *a, const struct jp_cpu_mark *b);

#endif
