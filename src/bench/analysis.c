/* The harness's analysis: savings against the largest model, the Pareto front, ratings, the pick. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "util.h"

void jp_bench_run_clear(struct jp_bench_run *run)
{
    if (!run) return;
    for (size_t t = 0; t < run->ntasks; t++) {
        struct jp_bench_task *task = &run->tasks[t];
        for (size_t i = 0; i < task->nmodels; i++) {
            free(task->models[i].sample_t);
            free(task->models[i].sample_w);
            free(task->models[i].rep_j_per_item);
            free(task->models[i].rep_attr_j_per_item);
            free(task->models[i].images);
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

double jp_bench_attribute(double energy_j, double seconds, double share, double capacity, double idle_w)
{
    if (!(share >= 0) || !isfinite(energy_j)) return NAN;
    if (share > 1) share = 1;
    if (idle_w > 0 && seconds > 0 && capacity >= 0) {
        double idle_j = idle_w * seconds;
        double above = energy_j > idle_j ? energy_j - idle_j : 0;
        return share * above + (capacity > 1 ? 1 : capacity) * idle_j;
    }
    return share * energy_j;
}

double jp_bench_t95(int df)
{
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1) return NAN;
    if (df <= 30) return t[df - 1];
    return 1.96 + 2.5 / df; /* within 0.002 of the exact quantile above 30 */
}

int jp_bench_model_add_repeat(struct jp_bench_model *m, double j_per_item, double attr_j_per_item)
{
    double *a = realloc(m->rep_j_per_item, (m->nrep + 1) * sizeof *a);
    if (!a) return jp_fail(JP_ERR_NOMEM, "out of memory");
    m->rep_j_per_item = a;
    double *b = realloc(m->rep_attr_j_per_item, (m->nrep + 1) * sizeof *b);
    if (!b) return jp_fail(JP_ERR_NOMEM, "out of memory");
    m->rep_attr_j_per_item = b;
    a[m->nrep] = j_per_item;
    b[m->nrep] = attr_j_per_item;
    m->nrep++;
    return JP_OK;
}

bool jp_metric_lower_is_better(const char *metric)
{
    static const char *const lower[] = {"fid", "cer", "wer", "nearest_train_l2"};
    for (size_t i = 0; metric && i < sizeof lower / sizeof lower[0]; i++)
        if (!strcmp(metric, lower[i])) return true;
    return false;
}

bool jp_metric_is_fraction(const char *metric)
{
    return !metric || (strcmp(metric, "fid") != 0 && strcmp(metric, "nearest_train_l2") != 0);
}

double jp_metric_default_tolerance(const char *metric) { return jp_metric_is_fraction(metric) ? 0.01 : 1.0; }

static bool usable(const struct jp_bench_model *m)
{
    return m->status == JP_MODEL_OK && m->j_per_item > 0 && isfinite(m->j_per_item);
}

static bool has_attr(const struct jp_bench_model *m)
{
    return isfinite(m->attr_j_per_item) && m->attr_j_per_item > 0;
}

/* the runs' figures on the task's basis (NULL when not kept) */
static const double *reps(const struct jp_bench_model *m, bool attributed)
{
    return attributed ? m->rep_attr_j_per_item : m->rep_j_per_item;
}

/* mean and t half-width of x[0..n-1]; false with fewer than 2 finite values */
static bool t_interval(const double *x, size_t n, double *mean, double *half)
{
    if (!x || n < 2) return false;
    double s = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) return false;
        s += x[i];
    }
    double mu = s / (double)n;
    for (size_t i = 0; i < n; i++) sq += (x[i] - mu) * (x[i] - mu);
    double sd = sqrt(sq / (double)(n - 1));
    *mean = mu;
    *half = jp_bench_t95((int)n - 1) * sd / sqrt((double)n);
    return true;
}

static void interval_of(struct jp_bench_model *m, bool attributed)
{
    double mu, half;
    m->cmp_lo = m->cmp_hi = NAN;
    if (t_interval(reps(m, attributed), m->nrep, &mu, &half)) {
        /* cut to what is possible: no energy is below 0 (a t-interval of 3 noisy runs can reach past it) */
        m->cmp_lo = fmax(m->cmp_j_per_item - half, 0.0);
        m->cmp_hi = m->cmp_j_per_item + half;
    }
}

/* The saving's interval: the saving of the means (saving_pct) with the t half-width of the savings of
 * the rounds in which both ran (round k of m against round k of the reference, so that slow drift in
 * the machine's load cancels out). */
static void saving_interval(struct jp_bench_model *m, const struct jp_bench_model *ref, bool attributed)
{
    m->saving_lo = m->saving_hi = NAN;
    m->saving_significant = false;
    const double *a = reps(m, attributed), *r = reps(ref, attributed);
    size_t n = m->nrep < ref->nrep ? m->nrep : ref->nrep;
    if (!a || !r || n < 2 || m == ref) return;
    double *s = malloc(n * sizeof *s);
    if (!s) return;
    for (size_t k = 0; k < n; k++) s[k] = r[k] > 0 ? (r[k] - a[k]) / r[k] * 100.0 : NAN;
    double mu, half;
    if (t_interval(s, n, &mu, &half) && isfinite(m->saving_pct)) {
        m->saving_lo = m->saving_pct - half;
        m->saving_hi = fmin(m->saving_pct + half, 100.0); /* no model saves more than all of the energy */
        m->saving_significant = m->saving_lo > 0 || m->saving_hi < 0;
    }
    free(s);
}

/* The score turned so that higher is better (a lower-is-better metric negated). */
static double goodness(double score, bool lower) { return lower ? -score : score; }

/* a dominates b: no more energy, no worse score, and better in one */
static bool dominates(const struct jp_bench_model *a, const struct jp_bench_model *b, bool lower)
{
    bool scored = isfinite(a->score) && isfinite(b->score);
    if (!scored) return a->cmp_j_per_item < b->cmp_j_per_item;
    double ga = goodness(a->score, lower), gb = goodness(b->score, lower);
    return a->cmp_j_per_item <= b->cmp_j_per_item && ga >= gb && (a->cmp_j_per_item < b->cmp_j_per_item || ga > gb);
}

static void analyze_task(const struct jp_bench_run *run, struct jp_bench_task *t)
{
    double emin = INFINITY, emax = 0, best = -INFINITY; /* best: the highest goodness */
    bool lower = jp_metric_lower_is_better(t->metric);
    t->reference = -1;
    /* the basis: attributed energy when every usable model has it, else the whole machine's */
    bool attributed = false;
    for (size_t i = 0; i < t->nmodels; i++) {
        if (!usable(&t->models[i])) continue;
        if (!has_attr(&t->models[i])) {
            attributed = false;
            break;
        }
        attributed = true;
    }
    jp_strlcpy(t->basis, attributed ? "attributed" : "machine", sizeof t->basis);
    for (size_t i = 0; i < t->nmodels; i++) {
        struct jp_bench_model *m = &t->models[i];
        m->is_reference = m->pareto = false;
        m->rating = 0;
        m->saving_pct = m->score_delta = m->saving_lo = m->saving_hi = NAN;
        m->saving_significant = false;
        m->proj_kwh = m->proj_g = NAN;
        m->cmp_j_per_item = m->cmp_lo = m->cmp_hi = NAN;
        if (!usable(m)) continue;
        m->cmp_j_per_item = attributed ? m->attr_j_per_item : m->j_per_item;
        interval_of(m, attributed);
        if (m->cmp_j_per_item > emax) {
            emax = m->cmp_j_per_item;
            t->reference = (int)i;
        }
        if (m->cmp_j_per_item < emin) emin = m->cmp_j_per_item;
        if (isfinite(m->score) && goodness(m->score, lower) > best) best = goodness(m->score, lower);
    }
    if (t->reference < 0) {
        t->pick = -1;
        return;
    }
    const struct jp_bench_model *ref = &t->models[t->reference];
    t->models[t->reference].is_reference = true;
    double tol = t->tolerance > 0 ? t->tolerance : jp_metric_default_tolerance(t->metric);
    t->pick = -1;
    for (size_t i = 0; i < t->nmodels; i++) {
        struct jp_bench_model *m = &t->models[i];
        if (!usable(m)) continue;
        m->saving_pct = (ref->cmp_j_per_item - m->cmp_j_per_item) / ref->cmp_j_per_item * 100.0;
        saving_interval(m, ref, attributed);
        m->score_delta = (isfinite(m->score) && isfinite(ref->score)) ? m->score - ref->score : NAN;
        m->pareto = true;
        for (size_t k = 0; k < t->nmodels && m->pareto; k++)
            if (k != i && usable(&t->models[k]) && dominates(&t->models[k], m, lower)) m->pareto = false;
        /* 5 = least energy per item of the task, 1 = most, on a log scale between them */
        if (emax > emin) {
            double x = (log(m->cmp_j_per_item) - log(emin)) / (log(emax) - log(emin));
            int r = 5 - (int)floor(x * 5.0);
            m->rating = r < 1 ? 1 : r > 5 ? 5 : r;
        } else {
            m->rating = 5;
        }
        m->proj_kwh = m->cmp_j_per_item * run->project_n / 3.6e6;
        m->proj_g = m->proj_kwh * run->g_per_kwh * (run->pue > 0 ? run->pue : 1.0);
        /* the pick: as good as the best (within the tolerance) for the least energy */
        bool qualifies = !isfinite(best) || (isfinite(m->score) && goodness(m->score, lower) >= best - tol);
        /* at equal energy, the better score */
        const struct jp_bench_model *p = t->pick >= 0 ? &t->models[t->pick] : NULL;
        bool better = !p || m->cmp_j_per_item < p->cmp_j_per_item ||
                      (m->cmp_j_per_item == p->cmp_j_per_item && isfinite(m->score) &&
                       (!isfinite(p->score) || goodness(m->score, lower) > goodness(p->score, lower)));
        if (qualifies && better) t->pick = (int)i;
    }
}

void jp_bench_analyze(struct jp_bench_run *run)
{
    for (size_t t = 0; t < run->ntasks; t++) analyze_task(run, &run->tasks[t]);
}
