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

#include <jansson.h>
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

/* ---- the command line ---- */

/* "<prog>: <what>; usage: <prog> <usage>" on stderr, one line; exit status 2. */
_Noreturn void bench_bad_usage(const char *prog, const char *usage, const char *what);
/* s as an integer in lo..hi, the value of option opt; else bench_bad_usage. */
long bench_int_arg(const char *prog, const char *usage, const char *opt, const char *s, long lo, long hi);
/* s as seconds in (0, 600], the value of option opt; else bench_bad_usage. */
double bench_seconds_arg(const char *prog, const char *usage, const char *opt, const char *s);
/* argv[*i], an option: if it is one of names (NULL-terminated), those that take a value, its value, with
 * *i moved on to it; else (an unknown option, or one without its value) bench_bad_usage. */
const char *bench_option_value(const char *prog, const char *usage, int argc, char **argv, int *i,
                               const char *const *names);

/* The settings every program takes: --model NAME (at most 16), --batch B (at most 8, in 1..max_batch),
 * --threads T (at most 8, in 1..max_threads), --rounds R (in 1..max_rounds), --seconds S. */
struct bench_settings {
    const char *models[16];
    int nmodels;
    int batches[8], nbatch;
    int threads[8], nthreads;
    int rounds;
    double seconds;
    long max_batch, max_threads, max_rounds;
};
/* Option a with its value v: 1 if it is one of the settings' (taken, or bench_bad_usage), else 0. */
int bench_settings_arg(struct bench_settings *s, const char *prog, const char *usage, const char *a, const char *v);

/* The settings where none were given: batches 1 and big_batch, threads 1 and 2. */
void bench_default_settings(int *batches, int *nbatch, int big_batch, int *threads, int *nthreads);
/* Sleeps s seconds (through signals). */
void bench_sleep(double s);

/* ---- the machine ---- */

/* What the programs report of the machine, before their own measurements. */
struct bench_machine {
    struct bench_cpu cpu;
    long online;        /* online CPUs */
    int cores;          /* physical, 0 if not known */
    int hypervisor;
    char coretype[64];  /* OPENBLAS_CORETYPE, read (never set), "" if unset */
    char blas[512];     /* OpenBLAS's build and kernel: filled by the caller (jp_nn_blas_describe) */
    char started[32], load0[128], load1[128]; /* UTC start; load average at the start and the end */
};
/* Reads all of it but blas (it loads OpenBLAS, whose threads a caller may want to keep away a while)
 * and load1. */
void bench_machine_read(struct bench_machine *m);
/* The lines "started ...", "CPU: ...", "cores: ...", "OPENBLAS_CORETYPE: ...", "OpenBLAS (engine): ...". */
void bench_machine_print(const struct bench_machine *m);

/* ---- JSON (jansson) ---- */

/* A figure, or null where there is none (failed windows are -1; JSON has no NaN). */
json_t *bench_jnum(double v);
/* A string, or null if it is not UTF-8. */
json_t *bench_jstr(const char *s);
/* The machine as a JSON object (cpu, family, model, stepping, flags, online_cpus, physical_cores,
 * hypervisor, openblas_coretype, openblas); a caller may add its own keys. */
json_t *bench_machine_json(const struct bench_machine *m);
/* The root object: program, command (argv), started, load_average_start, load_average_end. */
json_t *bench_json_root(const char *program, int argc, char **argv, const struct bench_machine *m);
/* The method object's first keys: rounds, window_s, gap_before_window_s, order (engine warm-up,
 * PyTorch warm-up, then engine, PyTorch each round). */
json_t *bench_json_method(int rounds, double seconds, double gap_s);
/* Adds to setting s: load_average_before, load_average_after, pytorch_configuration, engine, pytorch,
 * ratio_of_medians, per_round_ratios (ratio[0..rounds-1]) and median_per_round_ratio; the last three are
 * null (empty) unless both sides ran (both). */
void bench_json_comparison(json_t *s, const char *load0, const char *load1, const char *how, json_t *engine,
                           json_t *pytorch, int both, double ratio_of_medians, const double *ratio, int rounds,
                           double ratio_median);
/* Writes root to path (indented, in order, 10 digits) and frees it; 0, or -1 with a message. */
int bench_json_write(json_t *root, const char *path);

/* ---- output ---- */

/* A rate: "-" if not > 0, no decimals from 100 on, one below. */
const char *bench_rate(char *buf, size_t len, double v);
/* "median (lowest-highest)" as rates, or "-" if !ok. */
void bench_stats_text(char *buf, size_t len, int ok, double median, double lo, double hi);

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
/* If torch, starts the child as bench_child_start does and copies its configuration to how; else (or if
 * it did not start) says why in how. 1 if the child runs, else 0. */
int bench_child_start_or_say(struct bench_child *c, int torch, const char *const argv[], int threads, char *how,
                             size_t how_len);

#endif
