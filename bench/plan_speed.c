/*
 * plan_speed: how long `jouleprint plan` takes on a long series (issue 13: 100,000 one-second rows with
 * --duration 12h took 4.3 s; planning was rows x duration/step).
 *
 *   plan_speed [--rows N] [--runs R] [--duration D] [--old OLD_JOULEPRINT] [--new NEW_JOULEPRINT]
 *
 * Writes a series of N one-second rows of one region (default 100,000; deterministic figures) to a
 * temporary file, then:
 *   - with --old: runs `OLD plan --energy 1kWh --duration D --series FILE --json` and the same with NEW
 *     (default build/jouleprint) in turn, R pairs (default 5), whole process from fork to reaping; prints
 *     each one's median, min and max wall and CPU (user + system, from wait4) seconds, and the median of
 *     the per-pair ratios OLD/NEW. Interleaved, so a neighbour's load or a drift of the clock hits both.
 *   - in this process: jp_series_load and jp_series_plan on 100,000, 300,000 and 1,000,000 rows, the CPU
 *     time of each (median of R), per row, to show how it grows with the rows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jouleprint.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int write_series(const char *path, long rows)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "timestamp,region,g_per_kwh\n");
    for (long i = 0; i < rows; i++)
        fprintf(f, "%ld,R,%ld\n", 1700000000L + i, 100 + (i * 7919) % 400);
    return fclose(f);
}

/* Runs bin plan ... once; wall and CPU seconds of the child; -1 if it failed. */
static int run_plan(const char *bin, const char *series, const char *duration, double *wall, double *cpu)
{
    double t0 = mono();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, "plan", "--energy", "1kWh", "--duration", duration, "--series", series, "--json",
              (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid) return -1;
    *wall = mono() - t0;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void print_stat(const char *label, double *v, int n)
{
    double lo = v[0], hi = v[0];
    for (int i = 1; i < n; i++) {
        if (v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
    }
    printf("  %-28s median %8.3f s   min %8.3f   max %8.3f\n", label, median(v, n), lo, hi);
}

int main(int argc, char **argv)
{
    long rows = 100000;
    int runs = 5;
    const char *old = NULL, *new_bin = "build/jouleprint", *duration = "12h";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = atol(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--old") && i + 1 < argc)
            old = argv[++i];
        else if (!strcmp(argv[i], "--new") && i + 1 < argc)
            new_bin = argv[++i];
        else if (!strcmp(argv[i], "--duration") && i + 1 < argc)
            duration = argv[++i];
        else {
            fprintf(stderr, "usage: plan_speed [--rows N] [--runs R] [--duration D] [--old BIN] [--new BIN]\n");
            return 2;
        }
    }
    if (rows < 2 || rows > 10000000 || runs < 1 || runs > 100) {
        fprintf(stderr, "plan_speed: --rows 2..10000000, --runs 1..100\n");
        return 2;
    }
    char path[] = "/tmp/plan_speed_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fd);
    if (old) {
        if (write_series(path, rows) != 0) {
            perror(path);
            return 1;
        }
        double *w[2], *c[2], *ratio_w = calloc((size_t)runs, sizeof(double)), *ratio_c = calloc((size_t)runs, sizeof(double));
        for (int k = 0; k < 2; k++) {
            w[k] = calloc((size_t)runs, sizeof(double));
            c[k] = calloc((size_t)runs, sizeof(double));
        }
        const char *bins[2] = {old, new_bin};
        printf("plan over %ld one-second rows, --duration %s: %d pairs, old and new in turn\n", rows, duration, runs);
        for (int r = 0; r < runs; r++)
            for (int k = 0; k < 2; k++)
                if (run_plan(bins[k], path, duration, &w[k][r], &c[k][r]) != 0) {
                    fprintf(stderr, "plan_speed: %s plan failed\n", bins[k]);
                    unlink(path);
                    return 1;
                }
        for (int r = 0; r < runs; r++) {
            ratio_w[r] = w[0][r] / w[1][r];
            ratio_c[r] = c[0][r] / c[1][r];
        }
        char label[64];
        for (int k = 0; k < 2; k++) {
            snprintf(label, sizeof label, "%s wall", k ? "new" : "old");
            print_stat(label, w[k], runs);
            snprintf(label, sizeof label, "%s cpu (user+sys)", k ? "new" : "old");
            print_stat(label, c[k], runs);
        }
        printf("  old/new, median of the pairs: wall %.1fx, cpu %.1fx\n", median(ratio_w, runs), median(ratio_c, runs));
    }
    /* in process: how the current library grows with the rows */
    printf("this library, in process (CPU time, median of %d): load, then plan a %s job\n", runs, duration);
    double dur_s;
    if (jp_parse_duration(duration, &dur_s) != JP_OK) {
        fprintf(stderr, "plan_speed: --duration: %s\n", jp_last_error());
        return 2;
    }
    const long sizes[] = {100000, 300000, 1000000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (write_series(path, sizes[i]) != 0) {
            perror(path);
            return 1;
        }
        double *tl = calloc((size_t)runs, sizeof(double)), *tp = calloc((size_t)runs, sizeof(double));
        for (int r = 0; r < runs; r++) {
            jp_series *s;
            double c0 = cpu_now();
            if (jp_series_load(path, &s) != JP_OK) {
                fprintf(stderr, "plan_speed: %s\n", jp_last_error());
                return 1;
            }
            double c1 = cpu_now();
            jp_plan_request req = {
                .joules = 3.6e6, .duration_s = dur_s, .window_start = NAN, .window_end = NAN, .region = NULL, .now = NAN};
            jp_plan_choice best, now;
            if (jp_series_plan(s, &req, &best, &now, NULL, 0, NULL) != JP_OK) {
                fprintf(stderr, "plan_speed: %s\n", jp_last_error());
                return 1;
            }
            tp[r] = cpu_now() - c1;
            tl[r] = c1 - c0;
            jp_series_free(s);
        }
        double ml = median(tl, runs), mp = median(tp, runs);
        printf("  %8ld rows: load %8.4f s (%5.0f ns/row), plan %8.4f s (%5.0f ns/row)\n", sizes[i], ml,
               ml / (double)sizes[i] * 1e9, mp, mp / (double)sizes[i] * 1e9);
        free(tl);
        free(tp);
    }
    unlink(path);
    return 0;
}
