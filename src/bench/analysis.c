/* The harness's analysis: savings against the largest model, the Pareto front, ratings, the pick. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

void jp_bench_run_clear(struct jp_bench_run *run)
{
    if (!run) return;
    for (size_t t = 0; t < run->ntasks; t++) {
        struct jp_bench_task *task = &run->tasks[t];
        for (size_t i = 0; i < task->nmodels; i++) {
            free(task->models[i].sample_t);
            free(task->models[i].sample_w);
        }
        free(task->models);
    }
    free(run->tasks);
    memset(run, 0, sizeof *run);
}

double jp_bench_metric(const struct jp_bench_model *m, const char *name)
{
    for (size_t i = 0; i < m->nmetrics; i++)
        if (!strcmp(m->metrics[i].name, name)) return m->metrics[i].value;
    return NAN;
}

static bool usable(const struct jp_bench_model *m)
{
    return m->status == JP_MODEL_OK && m->j_per_item > 0 && isfinite(m->j_per_item);
}

/* a dominates b: no more energy, no less score, and better in one */
static bool dominates(const struct jp_bench_model *a, const struct jp_bench_model *b)
{
    bool scored = isfinite(a->score) && isfinite(b->score);
    if (!scored) return a->j_per_item < b->j_per_item;
    return a->j_per_item <= b->j_per_item && a->score >= b->score &&
           (a->j_per_item < b->j_per_item || a->score > b->score);
}

static void analyze_task(const struct jp_bench_run *run, struct jp_bench_task *t)
{
    double emin = INFINITY, emax = 0, best = -INFINITY;
    t->reference = -1;
    for (size_t i = 0; i < t->nmodels; i++) {
        struct jp_bench_model *m = &t->models[i];
        m->is_reference = m->pareto = false;
        m->rating = 0;
        m->saving_pct = m->score_delta = NAN;
        m->proj_kwh = m->proj_g = NAN;
        if (!usable(m)) continue;
        if (m->j_per_item > emax) {
            emax = m->j_per_item;
            t->reference = (int)i;
        }
        if (m->j_per_item < emin) emin = m->j_per_item;
        if (isfinite(m->score) && m->score > best) best = m->score;
    }
    if (t->reference < 0) {
        t->pick = -1;
        return;
    }
    const struct jp_bench_model *ref = &t->models[t->reference];
    t->models[t->reference].is_reference = true;
    double tol = t->tolerance > 0 ? t->tolerance : 0.01;
    t->pick = -1;
    for (size_t i = 0; i < t->nmodels; i++) {
        struct jp_bench_model *m = &t->models[i];
        if (!usable(m)) continue;
        m->saving_pct = (ref->j_per_item - m->j_per_item) / ref->j_per_item * 100.0;
        m->score_delta = (isfinite(m->score) && isfinite(ref->score)) ? m->score - ref->score : NAN;
        m->pareto = true;
        for (size_t k = 0; k < t->nmodels && m->pareto; k++)
            if (k != i && usable(&t->models[k]) && dominates(&t->models[k], m)) m->pareto = false;
        /* 5 = least energy per item of the task, 1 = most, on a log scale between them */
        if (emax > emin) {
            double x = (log(m->j_per_item) - log(emin)) / (log(emax) - log(emin));
            int r = 5 - (int)floor(x * 5.0);
            m->rating = r < 1 ? 1 : r > 5 ? 5 : r;
        } else {
            m->rating = 5;
        }
        m->proj_kwh = m->j_per_item * run->project_n / 3.6e6;
        m->proj_g = m->proj_kwh * run->g_per_kwh * (run->pue > 0 ? run->pue : 1.0);
        /* the pick: as accurate as the best (within the tolerance) for the least energy */
        bool qualifies = !isfinite(best) || (isfinite(m->score) && m->score >= best - tol);
        if (qualifies && (t->pick < 0 || m->j_per_item < t->models[t->pick].j_per_item)) t->pick = (int)i;
    }
}

void jp_bench_analyze(struct jp_bench_run *run)
{
    for (size_t t = 0; t < run->ntasks; t++) analyze_task(run, &run->tasks[t]);
}
