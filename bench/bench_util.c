/* Helpers shared by the benchmark programs; see bench_util.h. */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(const double *v, int n)
{
    double s[BENCH_MAX_SAMPLES];
    if (n > BENCH_MAX_SAMPLES) n = BENCH_MAX_SAMPLES;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

void bench_spread(const double *v, int n, double *lo, double *hi)
{
    *lo = *hi = v[0];
    for (int i = 1; i < n; i++) {
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
}

void bench_loadavg(char *buf, size_t len)
{
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(buf, (int)len, f)) snprintf(buf, len, "?");
    if (f) fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

void bench_cpuinfo(struct bench_cpu *c)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    memset(c, 0, sizeof *c);
    c->family = c->model = c->stepping = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '\n') break;
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *key = line, *val = colon + 1, *e = colon;
        while (e > key && (e[-1] == ' ' || e[-1] == '\t')) e--;
        *e = '\0';
        while (*val == ' ') val++;
        val[strcspn(val, "\n")] = '\0';
        if (!strcmp(key, "model name")) jp_strlcpy(c->name, val, sizeof c->name);
        else if (!strcmp(key, "cpu family")) c->family = atoi(val);
        else if (!strcmp(key, "model")) c->model = atoi(val);
        else if (!strcmp(key, "stepping")) c->stepping = atoi(val);
        else if (!strcmp(key, "flags")) {
            for (char *save = NULL, *t = strtok_r(val, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (!strcmp(t, "avx2")) c->avx2 = 1;
                else if (!strcmp(t, "avx512f")) c->avx512f = 1;
                else if (!strcmp(t, "fma")) c->fma = 1;
            }
        }
    }
    if (f) fclose(f);
}

int bench_child_start(struct bench_child *c, const char *const argv[], int threads)
{
    int to_child[2], from_child[2];
    memset(c, 0, sizeof *c);
    if (pipe(to_child)) return -1;
    if (pipe(from_child)) {
        close(to_child[0]);
        close(to_child[1]);
        return -1;
    }
    fflush(NULL); /* nothing buffered here may be written twice by the child */
    c->pid = fork();
    if (c->pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[0]);
        close(to_child[1]);
        close(from_child[0]);
        close(from_child[1]);
        char t[16];
        snprintf(t, sizeof t, "%d", threads);
        setenv("OPENBLAS_NUM_THREADS", t, 1);
        setenv("OMP_NUM_THREADS", t, 1);
        setenv("MKL_NUM_THREADS", t, 1);
        /* execv's argv is char *const[] for historical reasons; it does not write to the strings */
        execv(argv[0], (char *const *)(void *)argv);
        fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    if (c->pid < 0) {
        close(to_child[1]);
        close(from_child[0]);
        return -1;
    }
    c->out = fdopen(to_child[1], "w");
    c->in = fdopen(from_child[0], "r");
    char line[1024];
    while (c->in && fgets(line, sizeof line, c->in))
        if (!strncmp(line, "READY ", 6)) {
            jp_strlcpy(c->how, line + 6, sizeof c->how);
            c->how[strcspn(c->how, "\n")] = '\0';
            return c->out ? 0 : -1;
        }
    return -1;
}

double bench_child_window2(struct bench_child *c, double seconds, double *extra_per_s)
{
    char line[256];
    long items = 0, extra = 0;
    double secs = 0;
    if (extra_per_s) *extra_per_s = -1;
    if (!c->out || !c->in) return -1;
    fprintf(c->out, "GO %g\n", seconds);
    fflush(c->out);
    while (fgets(line, sizeof line, c->in)) {
        int n = strncmp(line, "DONE ", 5) ? 0 : sscanf(line + 5, "%ld %lf %ld", &items, &secs, &extra);
        if (n >= 2 && items > 0 && secs > 0) {
            if (n == 3 && extra_per_s) *extra_per_s = (double)extra / secs;
            return (double)items / secs;
        }
    }
    return -1;
}

double bench_child_window(struct bench_child *c, double seconds) { return bench_child_window2(c, seconds, NULL); }

void bench_child_stop(struct bench_child *c)
{
    if (c->out) {
        fputs("QUIT\n", c->out);
        fclose(c->out);
        c->out = NULL;
    }
    if (c->in) {
        fclose(c->in);
        c->in = NULL;
    }
    if (c->pid > 0) waitpid(c->pid, NULL, 0);
    c->pid = 0;
}
