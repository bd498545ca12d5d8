/*
 * The benchmark harness's own cost per run: spawning the command, the meter's start and stop,
 * reading phase lines, counting outputs, scoring and bookkeeping, and storing the run, measured
 * against the same command spawned bare (fork, exec, wait) in the same process and the same run.
 *
 *   harness_overhead [-m MODELS] [-r REPEATS] [-n ROUNDS]
 *
 * The command is `cp {inputs} {outputs}` over 100 items, so that nearly all of a run's time is the
 * harness's own or the process's start. Reports medians over ROUNDS rounds.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/runner.h"
#include "bench/spec.h"
#include "store.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double bare_spawn(const char *in, const char *out)
{
    double t0 = jp_now();
    pid_t pid = fork();
    if (pid == 0) {
        execlp("cp", "cp", in, out, (char *)NULL);
        _exit(127);
    }
    int ws;
    waitpid(pid, &ws, 0);
    return jp_now() - t0;
}

int main(int argc, char **argv)
{
    int models = 4, repeats = 5, rounds = 5, opt;
    while ((opt = getopt(argc, argv, "m:r:n:")) != -1) {
        int v = atoi(optarg);
        if (v < 1 || v > 1000) {
            fprintf(stderr, "harness_overhead: -%c %s: expected 1 to 1000\n", opt, optarg);
            return 2;
        }
        if (opt == 'm') models = v;
        else if (opt == 'r') repeats = v;
        else if (opt == 'n') rounds = v;
        else return 2;
    }
    char dir[] = "/tmp/jp-harness-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[4200], spec_path[4200];
    snprintf(path, sizeof path, "%s/items.txt", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 100; i++) fprintf(f, "item-%d\n", i);
    fclose(f);
    snprintf(spec_path, sizeof spec_path, "%s/spec.yaml", dir);
    f = fopen(spec_path, "w");
    fprintf(f, "repeats: %d\nwarmup: 0\ntasks:\n  - name: copy\n    items: items.txt\n    references: items.txt\n"
               "    scorer: exact_match\n    models:\n", repeats);
    for (int m = 0; m < models; m++) fprintf(f, "      - name: m%d\n        command: cp {inputs} {outputs}\n", m);
    fclose(f);
    struct jp_spec spec;
    if (jp_spec_load(spec_path, &spec) != JP_OK) {
        fprintf(stderr, "harness_overhead: %s\n", jp_last_error());
        return 1;
    }
    double *harness = calloc((size_t)rounds, sizeof *harness), *bare = calloc((size_t)rounds, sizeof *bare),
           *store = calloc((size_t)rounds, sizeof *store);
    char db_path[4200], out[4200];
    snprintf(db_path, sizeof db_path, "%s/runs.db", dir);
    snprintf(out, sizeof out, "%s/bare-out.txt", dir);
    int runs = models * repeats;
    for (int r = 0; r < rounds; r++) {
        struct jp_bench_options o;
        jp_bench_options_init(&o);
        o.workdir = dir;
        struct jp_bench_run run;
        double t0 = jp_now();
        if (jp_bench_run_spec(&spec, &o, &run) != JP_OK) {
            fprintf(stderr, "harness_overhead: %s\n", jp_last_error());
            return 1;
        }
        harness[r] = (jp_now() - t0) / runs;
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
        double b = 0;
        for (int k = 0; k < runs; k++) b += bare_spawn(path, out);
        bare[r] = b / runs;
    }
    double mh = median(harness, rounds), mb = median(bare, rounds), ms = median(store, rounds);
    printf("harness overhead per run (%d models x %d runs, cp over 100 items, %d rounds, medians)\n", models, repeats,
           rounds);
    printf("  %-34s %10.2f ms\n", "bare fork+exec+wait of the command", mb * 1e3);
    printf("  %-34s %10.2f ms\n", "the same run through the harness", mh * 1e3);
    printf("  %-34s %10.2f ms  (%.1fx the bare spawn)\n", "harness's own cost", (mh - mb) * 1e3, mh / mb);
    printf("  %-34s %10.2f ms\n", "storing (SQLite, per run)", ms * 1e3);
    jp_spec_free(&spec);
    free(harness);
    free(bare);
    free(store);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0;
}
