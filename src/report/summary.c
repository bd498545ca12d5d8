/*
 * The study's summary: the seed's conclusions, in words, from the figures of a run. For each task
 * the model to pick and what it saves against the largest at what accuracy cost, every model's
 * energy per item, the projection to the run's volume; then where it runs: the emissions of that
 * volume in the seed's 23 regions, the best and the worst, and what moving from the run's region
 * to the cleanest saves. Estimates are said where the figures are, not in a footnote.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "report/internal.h"
#include "util.h"

/* Energy of the run's projected volume with every task's pick, joules. */
static double picks_joules(const struct jp_bench_run *run)
{
    double j = 0;
    for (size_t t = 0; t < run->ntasks; t++) {
        const struct jp_bench_task *task = &run->tasks[t];
        if (task->pick >= 0 && rp_usable(&task->models[task->pick]))
            j += rp_cmp(&task->models[task->pick]) * run->project_n;
    }
    return j;
}

/* "0.0214 MWh (21.4 kWh)": the seed's unit, and the one a reader would choose */
static void mwh(double joules, char *buf, size_t len)
{
    double v = joules / 3.6e9;
    int decimals = v >= 100 ? 0 : v >= 1 ? 2 : v >= 0.001 ? 4 : 7;
    char human[32];
    jp_format_energy(joules, human, sizeof human);
    if (v >= 1) snprintf(buf, len, "%.*f MWh", decimals, v);
    else snprintf(buf, len, "%.*f MWh (%s)", decimals, v, human);
}

/* The figures an FID task has beside its main one, one line each: "  adherence: gen-s 89.30%, ..." */
static void extra_metrics(FILE *out, const struct jp_bench_task *t)
{
    static const char *const extra[] = {"adherence", "nearest_train_l2"};
    static const char *const what[] = {"the share of images the classifier assigns to the prompted class",
                                       "mean L2 distance to the nearest training image; 0 is a copy"};
    if (strcmp(t->metric, "fid") != 0) return;
    for (size_t e = 0; e < sizeof extra / sizeof extra[0]; e++) {
        bool any = false;
        for (size_t i = 0; i < t->nmodels; i++) {
            const struct jp_bench_model *m = &t->models[i];
            double v = jp_bench_metric(m, extra[e]);
            if (!rp_usable(m) || !isfinite(v)) continue;
            char c[32];
            rp_format_metric(extra[e], v, c, sizeof c);
            if (!any) fprintf(out, "  %s (%s): ", rp_metric_label(extra[e]), what[e]);
            jp_escf(out, JP_ESC_TERM, "%s%s %s", any ? ", " : "", m->name, c);
            any = true;
        }
        if (any) fputc('\n', out);
    }
}

static void task_text(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
{
    char a[64], b[64], c[64], e[160];
    rp_format_count((double)t->n_time, a, sizeof a);
    rp_format_count((double)t->n_score, b, sizeof b);
    jp_escf(out, JP_ESC_TERM, "\n%s: %zu models; energy over %s items per model, %s scored%s%s%s\n", t->name, t->nmodels, a,
            b, t->metric[0] ? " by " : "", t->metric[0] ? rp_metric_label(t->metric) : "",
            t->metric[0] && jp_metric_lower_is_better(t->metric) ? " (lower is better)" : "");
    char basis[512];
    rp_basis_sentence(t, basis, sizeof basis);
    jp_escf(out, JP_ESC_TERM, "  %s\n", basis);
    jp_escf(out, JP_ESC_TERM, "  %-14s %14s %25s %14s %12s   %s\n", "model", run->estimated ? "energy/item*" : "energy/item",
            "95% interval", run->estimated ? "machine/item*" : "machine/item", rp_metric_label(t->metric[0] ? t->metric : "score"),
            "against the largest");
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        if (!rp_usable(m)) {
            jp_escf(out, JP_ESC_TERM, "  %-14s %s: %s\n", m->name, jp_model_status_name(m->status), m->error);
            continue;
        }
        char ci[64], sv[96];
        jp_format_energy(rp_cmp(m), a, sizeof a);
        rp_format_energy_ci(m, ci, sizeof ci);
        jp_format_energy(m->j_per_item, b, sizeof b);
        rp_format_metric(t->metric, m->score, c, sizeof c);
        if (m->is_reference) {
            snprintf(e, sizeof e, "the largest");
        } else {
            rp_format_saving(m, sv, sizeof sv);
            char pts[32];
            rp_format_metric_delta(t->metric, m->score_delta, pts, sizeof pts);
            if (!strncmp(sv, "no significant", 14) || !strncmp(sv, "uses", 4)) snprintf(e, sizeof e, "%s, %s", sv, pts);
            else snprintf(e, sizeof e, "%s less energy, %s", sv, pts);
        }
        jp_escf(out, JP_ESC_TERM, "  %-14s %14s %25s %14s %12s   %s%s\n", m->name, a, ci, b, c, e, (int)i == t->pick ? "   <- pick" : "");
    }
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        if (rp_usable(m) && m->other_share > JP_BENCH_OTHER_SHARE_WARN)
            jp_escf(out, JP_ESC_TERM, "  %s: other work used %.0f%% of the machine's CPU while it was measured.\n", m->name,
                    m->other_share * 100);
    }
    extra_metrics(out, t);
    if (t->pick < 0 || t->reference < 0) return;
    const struct jp_bench_model *p = &t->models[t->pick], *r = &t->models[t->reference];
    char phrase[96];
    rp_accuracy_phrase(t, p, phrase, sizeof phrase);
    if (t->pick == t->reference) {
        jp_escf(out, JP_ESC_TERM, "  Pick %s: the largest model is also the only one within %s of the best %s.\n", p->name,
                rp_tolerance_words(t, a, sizeof a), rp_metric_label(t->metric[0] ? t->metric : "score"));
    } else if (isfinite(p->saving_lo) && !p->saving_significant) {
        jp_escf(out, JP_ESC_TERM, "  Pick %s: no significant saving against %s, the largest (95%% interval %.1f%% to %.1f%%), %s.\n",
                p->name, r->name, p->saving_lo, p->saving_hi, phrase[0] ? phrase : "(not scored)");
    } else if (isfinite(p->saving_lo)) {
        jp_escf(out, JP_ESC_TERM, "  Pick %s: it uses %.0f%% (%.0f-%.0f%%) less energy per item than %s, the largest, %s.\n", p->name,
                p->saving_pct, p->saving_lo, p->saving_hi, r->name, phrase[0] ? phrase : "(not scored)");
    } else {
        rp_format_pct(p->saving_pct, a, sizeof a);
        jp_escf(out, JP_ESC_TERM, "  Pick %s: it uses %s less energy per item than %s, the largest, %s (no interval).\n", p->name,
                a, r->name, phrase[0] ? phrase : "(not scored)");
    }
    rp_format_count(run->project_n, a, sizeof a);
    mwh(rp_cmp(p) * run->project_n, b, sizeof b);
    mwh(rp_cmp(r) * run->project_n, c, sizeof c);
    jp_escf(out, JP_ESC_TERM, "  %s inferences: %s with %s, against %s with %s%s.\n", a, b, p->name, c, r->name,
            run->estimated ? " (estimated)" : "");
}

void jp_report_summary(FILE *out, const struct jp_bench_run *run)
{
    char a[64], b[64], c[64];
    jp_escf(out, JP_ESC_TERM, "\njouleprint study on %s\n", run->machine);
    if (run->estimated)
        jp_escf(out, JP_ESC_TERM, "ESTIMATED: no energy counter could be read here (sources: %s), so every energy and carbon\n"
                     "figure below is the power model's estimate. It compares models run on this machine well; do\n"
                     "not quote it as measured energy. (* marks estimated columns.)\n",
                run->sources);
    else
        jp_escf(out, JP_ESC_TERM, "Measured with %s.\n", run->sources);
    for (size_t t = 0; t < run->ntasks; t++) task_text(out, run, &run->tasks[t]);

    double j = picks_joules(run);
    if (!(j > 0)) return;
    struct rp_regions rg;
    rp_regions_for(run, &rg);
    rp_format_count(run->project_n, a, sizeof a);
    mwh(j, b, sizeof b);
    jp_escf(out, JP_ESC_TERM, "\nWhere it runs: %s inferences of each task with its pick, %s%s, in the seed's %zu regions\n", a, b,
            run->estimated ? " (estimated)" : "", rg.nseed);
    jp_escf(out, JP_ESC_TERM, "(figures: %s; PUE %.2f)\n", rg.source[0] ? rg.source : "the built-in data", run->pue > 0 ? run->pue : 1.0);
    if (rg.year_inferred)
        jp_escf(out, JP_ESC_TERM, "(the year %d is inferred from the run's figure: its store kept no year)\n", rg.year);
    double pue = run->pue > 0 ? run->pue : 1.0;
    for (size_t k = 0; k < rg.n; k++) {
        const struct rp_region *r = &rg.r[k];
        jp_format_mass(jp_carbon_grams(j, r->g_per_kwh, pue), c, sizeof c);
        char label[160];
        if (strstr(r->name, r->id)) snprintf(label, sizeof label, "%s", r->name); /* "world average" */
        else snprintf(label, sizeof label, "%s %s", r->id, r->name);
        jp_escf(out, JP_ESC_TERM, "  %-40s %6.0f g/kWh %12s%s\n", label, r->g_per_kwh, c,
                (int)k == rg.cleanest ? "   cleanest" : (int)k == rg.dirtiest ? "   dirtiest" : r->run ? "   <- this run" : "");
    }
    if (rg.cleanest >= 0) {
        const struct rp_region *best = &rg.r[rg.cleanest];
        double here = jp_carbon_grams(j, run->g_per_kwh, pue), there = jp_carbon_grams(j, best->g_per_kwh, pue);
        jp_format_mass(here, a, sizeof a);
        jp_format_mass(there, b, sizeof b);
        jp_escf(out, JP_ESC_TERM, "Moving from %s (%.1f g/kWh: %s) to %s %s (%.0f g/kWh: %s) saves %.1f%% of the emissions.\n",
                run->region, run->g_per_kwh, a, best->id, best->name, best->g_per_kwh, b,
                here > 0 ? (here - there) / here * 100 : 0.0);
    }
}

int jp_report_summary_json(FILE *out, const struct jp_bench_run *run)
{
    json_t *o = json_object();
    json_object_set_new(o, "run", json_integer(run->id));
    json_object_set_new(o, "estimated", json_boolean(run->estimated));
    json_object_set_new(o, "region", json_string(run->region));
    json_object_set_new(o, "g_per_kwh", json_real(run->g_per_kwh));
    json_object_set_new(o, "pue", json_real(run->pue));
    json_object_set_new(o, "project_n", json_real(run->project_n));
    json_t *tasks = json_array();
    for (size_t t = 0; t < run->ntasks; t++) {
        const struct jp_bench_task *task = &run->tasks[t];
        json_t *models = json_array();
        for (size_t i = 0; i < task->nmodels; i++) {
            const struct jp_bench_model *m = &task->models[i];
            json_t *x = json_pack("{s:s, s:s}", "name", m->name, "status", jp_model_status_name(m->status));
            if (rp_usable(m)) {
                json_object_set_new(x, "j_per_item", json_real(m->j_per_item));
                json_object_set_new(x, "compared_j_per_item", json_real(rp_cmp(m)));
                json_object_set_new(x, "compared_ci95", json_pack("{s:o, s:o}", "lo", isfinite(m->cmp_lo) ? json_real(m->cmp_lo) : json_null(),
                                                                  "hi", isfinite(m->cmp_hi) ? json_real(m->cmp_hi) : json_null()));
                json_object_set_new(x, "score", isfinite(m->score) ? json_real(m->score) : json_null());
                json_object_set_new(x, "saving_pct", json_real(m->saving_pct));
                json_object_set_new(x, "saving_ci95", json_pack("{s:o, s:o}", "lo", isfinite(m->saving_lo) ? json_real(m->saving_lo) : json_null(),
                                                                "hi", isfinite(m->saving_hi) ? json_real(m->saving_hi) : json_null()));
                json_object_set_new(x, "saving_significant", json_boolean(m->saving_significant));
                json_object_set_new(x, "other_share", m->other_share >= 0 ? json_real(m->other_share) : json_null());
                json_object_set_new(x, "proj_j", json_real(rp_cmp(m) * run->project_n));
            }
            json_array_append_new(models, x);
        }
        json_array_append_new(tasks, json_pack("{s:s, s:s, s:b, s:s, s:s, s:o, s:o, s:o}", "name", task->name, "metric",
                                               task->metric, "lower_is_better", jp_metric_lower_is_better(task->metric), "basis",
                                               task->basis[0] ? task->basis : "machine", "interval_method", JP_BENCH_CI_METHOD,
                                               "pick",
                                               task->pick >= 0 ? json_string(task->models[task->pick].name) : json_null(),
                                               "reference",
                                               task->reference >= 0 ? json_string(task->models[task->reference].name)
                                                                    : json_null(),
                                               "models", models));
    }
    json_object_set_new(o, "tasks", tasks);
    double j = picks_joules(run);
    json_object_set_new(o, "picks_proj_j", json_real(j));
    struct rp_regions rg;
    rp_regions_for(run, &rg);
    json_t *regions = json_array();
    double pue = run->pue > 0 ? run->pue : 1.0;
    for (size_t k = 0; k < rg.n; k++)
        json_array_append_new(regions, json_pack("{s:s, s:f, s:i, s:f, s:b, s:b, s:b}", "region", rg.r[k].id, "g_per_kwh",
                                                 rg.r[k].g_per_kwh, "year", rg.r[k].year, "carbon_g",
                                                 jp_carbon_grams(j, rg.r[k].g_per_kwh, pue), "cleanest",
                                                 (int)k == rg.cleanest, "dirtiest", (int)k == rg.dirtiest, "this_run",
                                                 rg.r[k].run));
    json_object_set_new(o, "regions", regions);
    json_object_set_new(o, "this_region_carbon_g", json_real(jp_carbon_grams(j, run->g_per_kwh, pue)));
    int rc = json_dumpf(o, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    fputc('\n', out);
    json_decref(o);
    return rc == 0 ? rp_finish(out, "summary JSON") : jp_fail(JP_ERR_IO, "summary JSON: write failed");
}
