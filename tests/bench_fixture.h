/*
 * A benchmark run built by hand for the store and report tests: two tasks of three models each, one
 * model failed, power timelines, and a model named like an HTML script tag.
 *
 *   classify (accuracy): small 5.2 mJ/item 87.1%, base 14.808 mJ 91.3%, large 20.0 mJ 91.3% (whole
 *                        machine); three runs each, attributed 80% of that (small: 4.16 mJ, base 11.8464,
 *                        large 16.0), the runs at 0.98, 1.00 and 1.02 of the mean (base: 1.02, 1.00, 0.98;
 *                        small: 1.03, 1.00, 0.97)
 *                        -> compared on the attributed figure: base saves 25.96% (18.6-33.3%) against
 *                        large at the same accuracy; the pick is base
 *   ocr:                 one run each, no attribution: compared on the whole machine's figure, no interval
 *   ocr (word_recall):   fast 0.8 J/line 82%, "<script>x</script>" 2.4 J 95%, broken (failed)
 *
 * Header-only (static functions) so that each test program includes it.
 */
#ifndef JP_BENCH_FIXTURE_H
#define JP_BENCH_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"

#define FIX_SCRIPT_NAME "<script>x</script>"
#define FIX_ERROR "exited with status 1: Traceback, \"model.bin\" not found | see log"

static void fix_metric(struct jp_bench_model *m, const char *name, double v)
{
    snprintf(m->metrics[m->nmetrics].name, sizeof m->metrics[0].name, "%s", name);
    m->metrics[m->nmetrics++].value = v;
}

/* A model that ran: j joules per item over `items` items, load energy on top, and a timeline of
 * nsamples samples of a load-then-infer power shape around watts. */
static void fix_model(struct jp_bench_model *m, const char *name, double j, long items, double watts, size_t nsamples,
                      double score)
{
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->kind, sizeof m->kind, "command");
    snprintf(m->command, sizeof m->command, "python3 run.py --model %s {inputs} {outputs}", name);
    m->status = JP_MODEL_OK;
    m->runs = 3;
    m->warmups = 1;
    m->items_timed = items;
    m->items_scored = items;
    m->infer_j = j * (double)items;
    m->infer_s = m->infer_j / watts;
    m->load_j = 0.25 * m->infer_j;
    m->load_s = m->load_j / watts;
    m->energy_j = m->infer_j + m->load_j;
    m->energy_j_sd = 0.02 * m->energy_j;
    m->duration_s = m->infer_s + m->load_s;
    m->duration_s_sd = 0.01 * m->duration_s;
    m->above_idle_j = m->energy_j - 12.5 * m->duration_s;
    m->nphases = 2;
    snprintf(m->phases[0].name, sizeof m->phases[0].name, "load");
    m->phases[0].joules = m->load_j;
    m->phases[0].seconds = m->load_s;
    snprintf(m->phases[1].name, sizeof m->phases[1].name, "infer");
    m->phases[1].joules = m->infer_j;
    m->phases[1].seconds = m->infer_s;
    m->j_per_item = j;
    m->wh_per_1000 = j * 1000.0 / 3600.0;
    m->latency_s = m->infer_s / (double)items;
    m->items_per_s = (double)items / m->infer_s;
    m->score = score;
    m->estimated = true;
    m->attr_j_per_item = NAN; /* unknown unless fix_runs says */
    m->cpu_share = m->other_share = -1;
    m->nsamples = nsamples;
    m->sample_t = malloc(nsamples * sizeof(double));
    m->sample_w = malloc(nsamples * sizeof(double));
    for (size_t s = 0; s < nsamples; s++) {
        double t = (double)(s + 1) * m->duration_s / (double)nsamples;
        m->sample_t[s] = t;
        m->sample_w[s] = (t < m->load_s ? 0.7 : 1.0) * watts + 0.8 * sin((double)s * 0.7) + 0.05 * (double)(s % 3);
    }
}

static void fix_failed(struct jp_bench_model *m, const char *name)
{
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->kind, sizeof m->kind, "command");
    snprintf(m->command, sizeof m->command, "./broken.sh {inputs} {outputs}");
    m->status = JP_MODEL_FAILED;
    snprintf(m->error, sizeof m->error, "%s", FIX_ERROR);
    m->runs = 0;
    m->warmups = 1;
    m->items_timed = 0;
    m->energy_j = m->duration_s = m->above_idle_j = NAN;
    m->energy_j_sd = m->duration_s_sd = NAN;
    m->infer_j = m->infer_s = m->load_j = m->load_s = NAN;
    m->j_per_item = m->wh_per_1000 = m->latency_s = m->items_per_s = NAN;
    m->score = NAN;
    m->estimated = true;
    m->attr_j_per_item = NAN;
    m->cpu_share = m->other_share = -1;
    /* a partial timeline: what was recorded before it crashed */
    m->nsamples = 4;
    m->sample_t = malloc(4 * sizeof(double));
    m->sample_w = malloc(4 * sizeof(double));
    for (size_t s = 0; s < 4; s++) {
        m->sample_t[s] = 0.1 * (double)(s + 1);
        m->sample_w[s] = 20.0 + (double)s;
    }
}

/* Three runs of m at the given factors of its mean, attributed share `share` of the machine's energy. */
static void fix_runs(struct jp_bench_model *m, double share, double f0, double f1, double f2)
{
    const double f[3] = {f0, f1, f2};
    m->nrep = 3;
    m->rep_j_per_item = malloc(3 * sizeof(double));
    m->rep_attr_j_per_item = malloc(3 * sizeof(double));
    for (size_t k = 0; k < 3; k++) {
        m->rep_j_per_item[k] = m->j_per_item * f[k];
        m->rep_attr_j_per_item[k] = m->j_per_item * share * f[k];
    }
    m->attr_j_per_item = m->j_per_item * share;
    m->cpu_share = share;
    m->other_share = 0.02;
}

/* Fills *run (zeroed first) and analyses it. */
static void fix_build_run(struct jp_bench_run *run)
{
    memset(run, 0, sizeof *run);
    snprintf(run->started_at, sizeof run->started_at, "2026-11-25T17:03:55Z");
    snprintf(run->finished_at, sizeof run->finished_at, "2026-11-25T17:10:02Z");
    run->status = JP_RUN_COMPLETE;
    snprintf(run->spec_path, sizeof run->spec_path, "examples/seed.yaml");
    snprintf(run->machine, sizeof run->machine, "testhost: AMD EPYC 7B13, 2 CPUs, 25.3 GB");
    snprintf(run->sources, sizeof run->sources, "model");
    run->estimated = true;
    jp_intensity ci;
    if (jp_intensity_lookup("gcp:us-west1", &ci) == JP_OK) {
        snprintf(run->region, sizeof run->region, "%s", ci.region);
        run->g_per_kwh = ci.g_per_kwh;
        snprintf(run->intensity_source, sizeof run->intensity_source, "%s", ci.source);
        run->intensity_year = ci.year;
    } else {
        snprintf(run->region, sizeof run->region, "gcp:us-west1");
        run->g_per_kwh = 100.0;
        snprintf(run->intensity_source, sizeof run->intensity_source, "test figure");
    }
    run->pue = 1.0;
    run->project_n = 1e8;
    run->baseline_w = 12.5;
    run->ntasks = 2;
    run->tasks = calloc(2, sizeof *run->tasks);

    struct jp_bench_task *t = &run->tasks[0];
    snprintf(t->name, sizeof t->name, "classify");
    snprintf(t->scorer, sizeof t->scorer, "accuracy");
    snprintf(t->metric, sizeof t->metric, "accuracy");
    snprintf(t->items, sizeof t->items, "data/fashion-1000.txt");
    snprintf(t->references, sizeof t->references, "data/fashion-1000.labels");
    t->n_time = 1000;
    t->n_score = 1000;
    t->tolerance = 0.01;
    t->nmodels = 3;
    t->models = calloc(3, sizeof *t->models);
    fix_model(&t->models[0], "small", 0.0052, 1000, 18.0, 60, 0.871);
    fix_model(&t->models[1], "base", 0.014808, 1000, 24.0, 90, 0.913);
    fix_model(&t->models[2], "large", 0.0200, 1000, 27.0, 120, 0.913);
    for (size_t i = 0; i < 3; i++) fix_metric(&t->models[i], "accuracy", t->models[i].score);
    fix_runs(&t->models[0], 0.8, 1.03, 1.00, 0.97);
    fix_runs(&t->models[1], 0.8, 1.02, 1.00, 0.98);
    fix_runs(&t->models[2], 0.8, 0.98, 1.00, 1.02);
    t->models[2].other_share = 0.35; /* large ran beside other work */

    t = &run->tasks[1];
    snprintf(t->name, sizeof t->name, "ocr");
    snprintf(t->scorer, sizeof t->scorer, "ocr");
    snprintf(t->metric, sizeof t->metric, "word_recall");
    snprintf(t->items, sizeof t->items, "data/lines.txt");
    snprintf(t->references, sizeof t->references, "data/lines.gt");
    t->n_time = 200;
    t->n_score = 200;
    t->tolerance = 0.01;
    t->nmodels = 3;
    t->models = calloc(3, sizeof *t->models);
    fix_model(&t->models[0], "fast", 0.8, 200, 20.0, 40, 0.82);
    fix_metric(&t->models[0], "cer", 0.061);
    fix_metric(&t->models[0], "wer", 0.18);
    fix_metric(&t->models[0], "word_recall", 0.82);
    fix_model(&t->models[1], FIX_SCRIPT_NAME, 2.4, 200, 26.0, 70, 0.95);
    fix_metric(&t->models[1], "cer", 0.012);
    fix_metric(&t->models[1], "wer", 0.05);
    fix_metric(&t->models[1], "word_recall", 0.95);
    fix_failed(&t->models[2], "broken");

    jp_bench_analyze(run);
}

/* ---- the test group's scratch folder ------------------------------------------------------------ */

/* A folder of its own for a test group's files: $TMPDIR (else /tmp) /jp-test-NAME-XXXXXX, into dir.
 * 0, or -1 when it cannot be made (the group's setup fails). */
static inline int fix_scratch_make(char *dir, size_t len, const char *name)
{
    const char *base = getenv("TMPDIR");
    int n = snprintf(dir, len, "%s/jp-test-%s-XXXXXX", base && *base ? base : "/tmp", name);
    if (n < 0 || (size_t)n >= len) return -1;
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes it with what it holds (links removed, not followed; folders depth first): the group's
 * teardown. 0, or -1. */
static inline int fix_scratch_remove(const char *dir)
{
    if (!dir || !*dir || !strcmp(dir, "/")) return -1;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[PATH_MAX];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path || lstat(path, &st) != 0) {
            rc = -1;
            continue;
        }
        if (S_ISDIR(st.st_mode) ? fix_scratch_remove(path) : unlink(path)) rc = -1;
    }
    closedir(d);
    return rmdir(dir) == 0 && rc == 0 ? 0 : -1;
}

#endif
