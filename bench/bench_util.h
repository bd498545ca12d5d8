/* Helpers shared by the benchmark programs that compare an engine of jouleprint with PyTorch
 * (bench/classify_speed.c, bench/generate_speed.c, bench/summarize_speed.c): the statistics of their windows, the load of the
 * machine, and the long-lived PyTorch child they drive over pipes.
 *
 * The child protocol (bench/classify_speed_torch.py, bench/generate_speed_torch.py), one line each
 * way: the child prints "READY <configuration>" once it has loaded, tuned and warmed up its model; then
 * for each "GO <seconds>" it works in whole units until <seconds> have passed and prints
 * "DONE <items> <seconds>" (optionally followed by a second count, e.g. generated tokens:
 * bench/summarize_speed_torch.py); it exits on "QUIT" or at the end of its input. */
#ifndef JP_BENCH_UTIL_H
#define JP_BENCH_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* The most samples bench_median takes (more are ignored). */
#define BENCH_MAX_SAMPLES 64

/* The median of v[0..n-1] (n >= 1; v is not reordered). */
double bench_median(const double *v, int n);
/* The lowest and highest of v[0..n-1] (n >= 1). */
void bench_spread(const double *v, int n, double *lo, double *hi);
/* /proc/loadavg's line without its newline, or "?". */
void bench_loadavg(char *buf, size_t len);

/* The first processor's block of /proc/cpuinfo: its name, family, model, stepping (-1 if not shown) and
 * the flags that matter to the kernels here. */
struct bench_cpu {
    char name[160];
    int family, model, stepping;
    int avx2, avx512f, fma;
};
void bench_cpuinfo(struct bench_cpu *c);

struct bench_child {
    pid_t pid;
    FILE *in, *out;  /* its stdout (read here), its stdin (written here) */
    char how[512];   /* the configuration from its READY line */
};

/* Starts argv[0] with the arguments argv[1..] (NULL-terminated) and with OPENBLAS_NUM_THREADS,
 * OMP_NUM_THREADS and MKL_NUM_THREADS set to threads in its environment (they must be set before the
 * libraries that read them are loaded, so before the interpreter imports torch), and waits for its
 * READY line. 0, or -1 if it could not be started or ended before READY (its stderr is ours, so it
 * has said why); bench_child_stop is to be called either way. */
int bench_child_start(struct bench_child *c, const char *const argv[], int threads);
/* One window of `seconds`: items per second as the child timed them, or -1 if it failed. */
double bench_child_window(struct bench_child *c, double seconds);
/* The same, with the DONE line's second count per second in *extra_per_s (-1 if the line has none). */
double bench_child_window2(struct bench_child *c, double seconds, double *extra_per_s);
/* Asks it to quit, closes the pipes and waits for it. */
void bench_child_stop(struct bench_child *c);

#endif
