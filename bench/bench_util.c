/* Helpers shared by the benchmark programs; see bench_util.h. */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jouleprint.h"
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

_Noreturn void bench_bad_usage(const char *prog, const char *usage, const char *what)
{
    fprintf(stderr, "%s: %s; usage: %s %s\n", prog, what, prog, usage);
    exit(2);
}

long bench_int_arg(const char *prog, const char *usage, const char *opt, const char *s, long lo, long hi)
{
    char *end, what[256];
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        snprintf(what, sizeof what, "bad argument '%s %s' (an integer in %ld..%ld)", opt, s, lo, hi);
        bench_bad_usage(prog, usage, what);
    }
    return v;
}

double bench_seconds_arg(const char *prog, const char *usage, const char *opt, const char *s)
{
    char *end, what[256];
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0 && v <= 600)) {
        snprintf(what, sizeof what, "bad argument '%s %s' (seconds in (0, 600])", opt, s);
        bench_bad_usage(prog, usage, what);
    }
    return v;
}

const char *bench_option_value(const char *prog, const char *usage, int argc, char **argv, int *i,
                               const char *const *names)
{
    const char *a = argv[*i];
    for (; *names; names++)
        if (!strcmp(a, *names)) {
            if (*i + 1 >= argc) {
                fprintf(stderr, "%s: bad argument '%s' (it needs a value); usage: %s %s\n", prog, a, prog, usage);
                exit(2);
            }
            return argv[++*i];
        }
    fprintf(stderr, "%s: bad argument '%s'; usage: %s %s\n", prog, a, prog, usage);
    exit(2);
}

int bench_settings_arg(struct bench_settings *s, const char *prog, const char *usage, const char *a, const char *v)
{
    if (!strcmp(a, "--model")) {
        if (s->nmodels == 16) bench_bad_usage(prog, usage, "bad argument '--model' (at most 16)");
        s->models[s->nmodels++] = v;
    } else if (!strcmp(a, "--batch")) {
        if (s->nbatch == 8) bench_bad_usage(prog, usage, "bad argument '--batch' (at most 8)");
        s->batches[s->nbatch++] = (int)bench_int_arg(prog, usage, a, v, 1, s->max_batch);
    } else if (!strcmp(a, "--threads")) {
        if (s->nthreads == 8) bench_bad_usage(prog, usage, "bad argument '--threads' (at most 8)");
        s->threads[s->nthreads++] = (int)bench_int_arg(prog, usage, a, v, 1, s->max_threads);
    } else if (!strcmp(a, "--rounds")) {
        s->rounds = (int)bench_int_arg(prog, usage, a, v, 1, s->max_rounds);
    } else if (!strcmp(a, "--seconds")) {
        s->seconds = bench_seconds_arg(prog, usage, a, v);
    } else {
        return 0;
    }
    return 1;
}

void bench_default_settings(int *batches, int *nbatch, int big_batch, int *threads, int *nthreads)
{
    if (!*nbatch) {
        batches[(*nbatch)++] = 1;
        batches[(*nbatch)++] = big_batch;
    }
    if (!*nthreads) {
        threads[(*nthreads)++] = 1;
        threads[(*nthreads)++] = 2;
    }
}

void bench_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

void bench_machine_read(struct bench_machine *m)
{
    memset(m, 0, sizeof *m);
    bench_cpuinfo(&m->cpu);
    jp_host_info host;
    if (jp_host_read(&host) == JP_OK) {
        if (!m->cpu.name[0]) jp_strlcpy(m->cpu.name, host.brand, sizeof m->cpu.name);
        m->cores = host.cores;
        m->hypervisor = host.hypervisor;
    }
    m->online = sysconf(_SC_NPROCESSORS_ONLN);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    jp_strlcpy(m->coretype, ct ? ct : "", sizeof m->coretype);
    time_t now = time(NULL);
    struct tm tm;
    strftime(m->started, sizeof m->started, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    bench_loadavg(m->load0, sizeof m->load0);
}

void bench_machine_print(const struct bench_machine *m)
{
    printf("started %s, load average %s\n", m->started, m->load0);
    printf("CPU: %s (family %d, model %d, stepping %d); avx2 %s, avx512f %s, fma %s\n",
           m->cpu.name[0] ? m->cpu.name : "?", m->cpu.family, m->cpu.model, m->cpu.stepping,
           m->cpu.avx2 ? "yes" : "no", m->cpu.avx512f ? "yes" : "no", m->cpu.fma ? "yes" : "no");
    printf("cores: %ld online CPUs, %d physical cores%s\n", m->online, m->cores,
           m->hypervisor ? ", under a hypervisor (vCPUs)" : "");
    printf("OPENBLAS_CORETYPE: %s\n", m->coretype[0] ? m->coretype : "(unset)");
    printf("OpenBLAS (engine): %s\n", m->blas);
}

json_t *bench_jnum(double v) { return isfinite(v) && v >= 0 ? json_real(v) : json_null(); }

json_t *bench_jstr(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_null(); /* not UTF-8 */
}

json_t *bench_machine_json(const struct bench_machine *m)
{
    json_t *mj = json_object(), *flags = json_object();
    json_object_set_new(mj, "cpu", bench_jstr(m->cpu.name));
    json_object_set_new(mj, "family", json_integer(m->cpu.family));
    json_object_set_new(mj, "model", json_integer(m->cpu.model));
    json_object_set_new(mj, "stepping", json_integer(m->cpu.stepping));
    json_object_set_new(flags, "avx2", json_boolean(m->cpu.avx2));
    json_object_set_new(flags, "avx512f", json_boolean(m->cpu.avx512f));
    json_object_set_new(flags, "fma", json_boolean(m->cpu.fma));
    json_object_set_new(mj, "flags", flags);
    json_object_set_new(mj, "online_cpus", json_integer(m->online));
    json_object_set_new(mj, "physical_cores", json_integer(m->cores));
    json_object_set_new(mj, "hypervisor", json_boolean(m->hypervisor));
    json_object_set_new(mj, "openblas_coretype", m->coretype[0] ? bench_jstr(m->coretype) : json_null());
    json_object_set_new(mj, "openblas", bench_jstr(m->blas));
    return mj;
}

json_t *bench_json_root(const char *program, int argc, char **argv, const struct bench_machine *m)
{
    json_t *root = json_object(), *cmd = json_array();
    for (int i = 0; i < argc; i++) json_array_append_new(cmd, bench_jstr(argv[i]));
    json_object_set_new(root, "program", json_string(program));
    json_object_set_new(root, "command", cmd);
    json_object_set_new(root, "started", bench_jstr(m->started));
    json_object_set_new(root, "load_average_start", bench_jstr(m->load0));
    json_object_set_new(root, "load_average_end", bench_jstr(m->load1));
    return root;
}

json_t *bench_json_method(int rounds, double seconds, double gap_s)
{
    json_t *method = json_object();
    json_object_set_new(method, "rounds", json_integer(rounds));
    json_object_set_new(method, "window_s", json_real(seconds));
    json_object_set_new(method, "gap_before_window_s", json_real(gap_s));
    json_object_set_new(method, "order", json_string("engine warm-up, PyTorch warm-up, then each round: engine, "
                                                      "PyTorch"));
    return method;
}

void bench_json_comparison(json_t *s, const char *load0, const char *load1, const char *how, json_t *engine,
                           json_t *pytorch, int both, double ratio_of_medians, const double *ratio, int rounds,
                           double ratio_median)
{
    json_t *ratios = json_array();
    json_object_set_new(s, "load_average_before", bench_jstr(load0));
    json_object_set_new(s, "load_average_after", bench_jstr(load1));
    json_object_set_new(s, "pytorch_configuration", bench_jstr(how));
    json_object_set_new(s, "engine", engine);
    json_object_set_new(s, "pytorch", pytorch);
    for (int k = 0; both && k < rounds; k++) json_array_append_new(ratios, bench_jnum(ratio[k]));
    json_object_set_new(s, "ratio_of_medians", both ? bench_jnum(ratio_of_medians) : json_null());
    json_object_set_new(s, "per_round_ratios", ratios);
    json_object_set_new(s, "median_per_round_ratio", both ? bench_jnum(ratio_median) : json_null());
}

int bench_json_write(json_t *root, const char *path)
{
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (rc) fprintf(stderr, "%s: cannot be written\n", path);
    return rc ? -1 : 0;
}

const char *bench_rate(char *buf, size_t len, double v)
{
    if (!(v > 0)) snprintf(buf, len, "-");
    else snprintf(buf, len, v >= 100 ? "%.0f" : "%.1f", v);
    return buf;
}

void bench_stats_text(char *buf, size_t len, int ok, double median, double lo, double hi)
{
    char a[32], b[32], c[32];
    if (!ok) snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%s (%s-%s)", bench_rate(a, sizeof a, median), bench_rate(b, sizeof b, lo),
                 bench_rate(c, sizeof c, hi));
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

int bench_child_start_or_say(struct bench_child *c, int torch, const char *const argv[], int threads, char *how,
                             size_t how_len)
{
    if (!torch) {
        snprintf(how, how_len, "not run (--no-torch)");
        return 0;
    }
    if (bench_child_start(c, argv, threads)) {
        snprintf(how, how_len, "did not start");
        bench_child_stop(c);
        return 0;
    }
    jp_strlcpy(how, c->how, how_len);
    return 1;
}
