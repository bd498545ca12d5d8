/*
 * The benchmark harness's own cost per run: spawning the command, waiting for it, the meter's start and
 * stop, reading phase lines, counting outputs, scoring and bookkeeping, and storing the run, measured
 * against the same command spawned bare (fork, exec, blocking waitpid) in the same process and the same
 * run, in alternating blocks.
 *
 *   harness_overhead [-m MODELS] [-r REPEATS] [-n ROUNDS] [-d DELAY_MS]
 *
 * Each round runs, one block after the other:
 *   harness   the runner over a spec of MODELS models x REPEATS runs of `cp {inputs} {outputs}` (100 items)
 *   fork      the same number of fork + exec + waitpid of `cp`
 *   bare      the same with posix_spawnp + waitpid (the baseline: jp_spawn_run starts commands so too, and
 *             a fork copies this process's page tables, which costs more here than the harness)
 *   spawn     jp_spawn_run of `cp` as the runner configures it (output read for lines, own process group,
 *             a tick, a timeout), waiting with a pidfd, then with the waiting thread it falls back to
 *   late      with DELAY_MS > 0: a command that closes its output and exits DELAY_MS later
 *             (`sh -c 'exec >&-; sleep D'`), bare and through jp_spawn_run (pidfd): the case where a
 *             wait that looks again after a back-off overshoots the exit
 * and reports per run, as medians over the rounds, the wall time and this process's own CPU time
 * (user + system, its children excluded: robust on a loaded machine), and the harness's own cost as
 * the difference from the bare spawn.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/runner.h"
#include "bench/spec.h"
#include "spawn_wait.h"
#include "store.h"

extern char **environ;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double *c = malloc((size_t)n * sizeof *c);
    if (!c) return NAN;
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp);
    double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return m;
}

/* this process's own CPU time (not its children's), seconds */
static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

static void bare_spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    int ws;
    waitpid(pid, &ws, 0);
}

/* the same with posix_spawnp (as jp_spawn_run starts a command: no copy of this process's page tables) */
static void bare_posix_spawn(char *const argv[])
{
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0) return;
    int ws;
    waitpid(pid, &ws, 0);
}

static void tick(void *arg)
{
    (void)arg;
}

static void line(void *arg, const char *l, size_t len)
{
    (void)l;
    *(size_t *)arg += len;
}

/* as the runner runs a command (src/bench/runner.c, run_child) */
static int harness_spawn(char *const argv[])
{
    size_t bytes = 0;
    jp_spawn_config c;
    jp_spawn_config_init(&c);
    c.in = JP_SPAWN_NULL;
    c.out = JP_SPAWN_LINES;
    c.new_group = true;
    c.timeout_s = 600;
    c.on_line = line;
    c.on_tick = tick;
    c.arg = &bytes;
    jp_spawn_result r;
    if (jp_spawn_run(argv, &c, &r) != JP_OK || r.exit_status != 0) {
        fprintf(stderr, "harness_overhead: %s: %s\n", argv[0], r.exit_status ? "failed" : jp_last_error());
        return -1;
    }
    return 0;
}

enum { HARNESS, FORK, BARE, SPAWN_PIDFD, SPAWN_THREAD, LATE_BARE, LATE_SPAWN, NKINDS };
static const char *const kind_name[NKINDS] = {"the same run through the harness",
                                              "bare fork+exec+waitpid",
                                              "bare posix_spawnp+waitpid",
                                              "jp_spawn_run, pidfd",
                                              "jp_spawn_run, waiting thread",
                                              "late exit: bare posix_spawnp+waitpid",
                                              "late exit: jp_spawn_run, pidfd"};

int main(int argc, char **argv)
{
    int models = 4, repeats = 5, rounds = 5, delay_ms = 0, opt;
    while ((opt = getopt(argc, argv, "m:r:n:d:")) != -1) {
        int v = atoi(optarg);
        if (v < (opt == 'd' ? 0 : 1) || v > 1000) {
            fprintf(stderr, "harness_overhead: -%c %s: expected %d to 1000\n", opt, optarg, opt == 'd' ? 0 : 1);
            return 2;
        }
        if (opt == 'm') models = v;
        else if (opt == 'r') repeats = v;
        else if (opt == 'n') rounds = v;
        else if (opt == 'd') delay_ms = v;
        else return 2;
    }
    char dir[] = "/tmp/jp-harness-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[4200], spec_path[4200];
    snprintf(path, sizeof path, "%s/items.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    for (int i = 0; i < 100; i++) fprintf(f, "item-%d\n", i);
    fclose(f);
    snprintf(spec_path, sizeof spec_path, "%s/spec.yaml", dir);
    f = fopen(spec_path, "w");
    if (!f) return 1;
    fprintf(f, "repeats: %d\nwarmup: 0\ntasks:\n  - name: copy\n    items: items.txt\n    references: items.txt\n"
               "    scorer: exact_match\n    models:\n", repeats);
    for (int m = 0; m < models; m++) fprintf(f, "      - name: m%d\n        command: cp {inputs} {outputs}\n", m);
    fclose(f);
    struct jp_spec spec;
    if (jp_spec_load(spec_path, &spec) != JP_OK) {
        fprintf(stderr, "harness_overhead: %s\n", jp_last_error());
        return 1;
    }
    double *wall[NKINDS], *cpu[NKINDS], *store = calloc((size_t)rounds, sizeof *store);
    for (int k = 0; k < NKINDS; k++) {
        wall[k] = calloc((size_t)rounds, sizeof *wall[k]);
        cpu[k] = calloc((size_t)rounds, sizeof *cpu[k]);
    }
    char db_path[4200], out[4200], late_cmd[64];
    snprintf(db_path, sizeof db_path, "%s/runs.db", dir);
    snprintf(out, sizeof out, "%s/bare-out.txt", dir);
    snprintf(late_cmd, sizeof late_cmd, "exec >&-; sleep %d.%03d", delay_ms / 1000, delay_ms % 1000);
    char *cp_argv[] = {"cp", path, out, NULL};
    char *late_argv[] = {"sh", "-c", late_cmd, NULL};
    int runs = models * repeats;
    for (int r = 0; r < rounds; r++) {
        struct jp_bench_options o;
        jp_bench_options_init(&o);
        o.workdir = dir;
        struct jp_bench_run run;
        double t0 = jp_now(), c0 = self_cpu();
        if (jp_bench_run_spec(&spec, &o, &run) != JP_OK) {
            fprintf(stderr, "harness_overhead: %s\n", jp_last_error());
            return 1;
        }
        wall[HARNESS][r] = (jp_now() - t0) / runs;
        cpu[HARNESS][r] = (self_cpu() - c0) / runs;
        for (size_t i = 0; i < run.tasks[0].nmodels; i++)
            if (run.tasks[0].models[i].status != JP_MODEL_OK) {
                fprintf(stderr, "harness_overhead: model %zu %s: %s\n", i, jp_model_status_name(run.tasks[0].models[i].status),
                        run.tasks[0].models[i].error);
                return 1;
            }
        jp_store *db;
        if (jp_store_open(&db, db_path, JP_STORE_CREATE) != JP_OK) {
            fprintf(stderr, "harness_overhead: %s\n", jp_last_error());
            return 1;
        }
        t0 = jp_now();
        if (jp_store_save(db, &run) != JP_OK) {
            fprintf(stderr, "harness_overhead: %s\n", jp_last_error());
            return 1;
        }
        store[r] = (jp_now() - t0) / runs;
        jp_store_close(db);
        jp_bench_run_clear(&run);
        for (int k = FORK; k < NKINDS; k++) {
            if ((k == LATE_BARE || k == LATE_SPAWN) && delay_ms == 0) continue;
            jp_spawn_wait_kind(k != SPAWN_THREAD);
            t0 = jp_now();
            c0 = self_cpu();
            for (int i = 0; i < runs; i++) {
                if (k == FORK) bare_spawn(cp_argv);
                else if (k == BARE) bare_posix_spawn(cp_argv);
                else if (k == LATE_BARE) bare_posix_spawn(late_argv);
                else if (harness_spawn(k == LATE_SPAWN ? late_argv : cp_argv) != 0) return 1;
            }
            wall[k][r] = (jp_now() - t0) / runs;
            cpu[k][r] = (self_cpu() - c0) / runs;
        }
        jp_spawn_wait_kind(true);
    }
    double mw[NKINDS], mc[NKINDS];
    for (int k = 0; k < NKINDS; k++) {
        mw[k] = median(wall[k], rounds);
        mc[k] = median(cpu[k], rounds);
    }
    printf("harness overhead per run (%d models x %d runs, cp over 100 items, %d rounds, medians; cpu: this process's "
           "own, children excluded)\n",
           models, repeats, rounds);
    printf("  %-40s %9s %9s %10s\n", "", "wall ms", "cpu ms", "wall - bare");
    for (int k = 0; k < NKINDS; k++) {
        if ((k == LATE_BARE || k == LATE_SPAWN) && delay_ms == 0) continue;
        int base = k >= LATE_BARE ? LATE_BARE : BARE;
        printf("  %-40s %9.3f %9.3f", kind_name[k], mw[k] * 1e3, mc[k] * 1e3);
        if (k != base && k != FORK) printf(" %+10.3f  (%.2fx)", (mw[k] - mw[base]) * 1e3, mw[k] / mw[base]);
        printf("\n");
    }
    /* each round's difference (the two blocks ran next to each other), then their median */
    double *dw = calloc((size_t)rounds, sizeof *dw), *dc = calloc((size_t)rounds, sizeof *dc),
           *dl = calloc((size_t)rounds, sizeof *dl);
    if (!dw || !dc || !dl) return 1;
    for (int r = 0; r < rounds; r++) {
        dw[r] = wall[HARNESS][r] - wall[BARE][r];
        dc[r] = cpu[HARNESS][r] - cpu[BARE][r];
        dl[r] = wall[LATE_SPAWN][r] - wall[LATE_BARE][r];
    }
    printf("  %-40s %9.3f ms  (median of each round's difference)\n", "harness's own cost: wall - bare spawn",
           median(dw, rounds) * 1e3);
    printf("  %-40s %9.3f ms\n", "harness's own cost: cpu - bare spawn", median(dc, rounds) * 1e3);
    if (delay_ms)
        printf("  %-40s %9.3f ms  (command exits %d ms after closing its output)\n", "late exit: spawn - bare",
               median(dl, rounds) * 1e3, delay_ms);
    free(dw);
    free(dc);
    free(dl);
    printf("  %-40s %9.3f ms\n", "storing (SQLite, per run)", median(store, rounds) * 1e3);
    jp_spec_free(&spec);
    for (int k = 0; k < NKINDS; k++) {
        free(wall[k]);
        free(cpu[k]);
    }
    free(store);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0;
}
