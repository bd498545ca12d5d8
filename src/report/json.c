/* The JSON report: the whole run as one object (NaN as null), with the conclusions in words. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/internal.h"
#include "util.h"

static json_t *real(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* A JSON string of s; bytes of s that are not valid UTF-8 become '?' (JSON must be UTF-8). */
static json_t *utf8(char *s)
{
    json_t *j = json_string(s);
    if (j) return j;
    for (unsigned char *p = (unsigned char *)s; *p; p++)
        if (*p >= 0x80) *p = '?';
    j = json_string(s);
    return j ? j : json_null();
}

static json_t *str(const char *s, size_t max)
{
    /* the run's strings are fixed arrays: never read past one */
    char *copy = malloc(max + 1);
    if (!copy) return json_null();
    memcpy(copy, s, max);
    copy[max] = '\0';
    json_t *j = utf8(copy);
    free(copy);
    return j;
}
#define STR(field) str(field, sizeof(field))

static void set(json_t *o, const char *key, json_t *v) { json_object_set_new(o, key, v ? v : json_null()); }

static json_t *model_json(const struct jp_bench_task *t, size_t i)
{
    const struct jp_bench_model *m = &t->models[i];
    json_t *o = json_object();
    set(o, "name", STR(m->name));
    set(o, "kind", STR(m->kind));
    set(o, "command", STR(m->command));
    set(o, "status", json_string(jp_model_status_name(m->status))); /* a constant name, not a field */
    set(o, "error", STR(m->error));
    set(o, "runs", json_integer(m->runs));
    set(o, "warmups", json_integer(m->warmups));
    set(o, "items_timed", json_integer(m->items_timed));
    set(o, "items_scored", json_integer(m->items_scored));
    set(o, "energy_j", real(m->energy_j));
    set(o, "energy_j_sd", real(m->energy_j_sd));
    set(o, "duration_s", real(m->duration_s));
    set(o, "duration_s_sd", real(m->duration_s_sd));
    set(o, "above_idle_j", real(m->above_idle_j));
    set(o, "load_j", real(m->load_j));
    set(o, "load_s", real(m->load_s));
    set(o, "infer_j", real(m->infer_j));
    set(o, "infer_s", real(m->infer_s));
    json_t *phases = json_array();
    for (size_t k = 0; k < m->nphases && k < JP_BENCH_MAX_PHASES; k++)
        json_array_append_new(phases, json_pack("{s:o, s:o, s:o}", "name", STR(m->phases[k].name), "joules",
                                                real(m->phases[k].joules), "seconds", real(m->phases[k].seconds)));
    set(o, "phases", phases);
    set(o, "j_per_item", real(m->j_per_item));
    set(o, "wh_per_1000", real(m->wh_per_1000));
    set(o, "time_per_item_s", real(m->latency_s));
    set(o, "items_per_s", real(m->items_per_s));
    set(o, "score", real(m->score));
    json_t *metrics = json_object();
    for (size_t k = 0; k < m->nmetrics && k < JP_BENCH_MAX_METRICS; k++) {
        char name[sizeof m->metrics[k].name + 1];
        memcpy(name, m->metrics[k].name, sizeof m->metrics[k].name);
        name[sizeof name - 1] = '\0';
        json_t *key = utf8(name); /* the key must be UTF-8 too */
        if (json_is_string(key)) json_object_set_new(metrics, json_string_value(key), real(m->metrics[k].value));
        json_decref(key);
    }
    set(o, "metrics", metrics);
    set(o, "estimated", json_boolean(m->estimated));
    set(o, "is_reference", json_boolean(m->is_reference));
    set(o, "is_pick", json_boolean((int)i == t->pick));
    set(o, "pareto", json_boolean(m->pareto));
    set(o, "saving_pct", real(m->saving_pct));
    set(o, "score_delta", real(m->score_delta));
    set(o, "rating", json_integer(m->rating));
    set(o, "proj_kwh", real(m->proj_kwh));
    set(o, "proj_g", real(m->proj_g));
    /* what the comparisons used, its interval, and every run's figure */
    set(o, "compared_j_per_item", rp_usable(m) ? real(rp_cmp(m)) : json_null());
    set(o, "compared_ci95", json_pack("{s:o, s:o}", "lo", real(m->cmp_lo), "hi", real(m->cmp_hi)));
    set(o, "attributed_j_per_item", real(m->attr_j_per_item));
    set(o, "cpu_share", m->cpu_share >= 0 ? real(m->cpu_share) : json_null());
    set(o, "other_share", m->other_share >= 0 ? real(m->other_share) : json_null());
    set(o, "saving_ci95", json_pack("{s:o, s:o}", "lo", real(m->saving_lo), "hi", real(m->saving_hi)));
    set(o, "saving_significant", json_boolean(m->saving_significant));
    json_t *rj = json_array(), *ra = json_array();
    for (size_t k = 0; k < m->nrep && m->rep_j_per_item && m->rep_attr_j_per_item; k++) {
        json_array_append_new(rj, real(m->rep_j_per_item[k]));
        json_array_append_new(ra, real(m->rep_attr_j_per_item[k]));
    }
    set(o, "runs_j_per_item", json_pack("{s:o, s:o}", "machine", rj, "attributed", ra));
    json_t *tt = json_array(), *tw = json_array();
    for (size_t s = 0; s < m->nsamples && m->sample_t && m->sample_w; s++) {
        json_array_append_new(tt, real(m->sample_t[s]));
        json_array_append_new(tw, real(m->sample_w[s]));
    }
    set(o, "timeline", json_pack("{s:o, s:o}", "t_s", tt, "w", tw));
    return o;
}

static json_t *task_json(const struct jp_bench_run *run, const struct jp_bench_task *t, const struct rp_regions *rg)
{
    json_t *o = json_object();
    set(o, "name", STR(t->name));
    set(o, "scorer", STR(t->scorer));
    set(o, "metric", STR(t->metric));
    set(o, "lower_is_better", json_boolean(jp_metric_lower_is_better(t->metric)));
    set(o, "items", STR(t->items));
    set(o, "references", STR(t->references));
    set(o, "n_time", json_integer(t->n_time));
    set(o, "n_score", json_integer(t->n_score));
    set(o, "tolerance", real(rp_tolerance(t)));
    set(o, "basis", json_string(rp_attributed(t) ? "attributed" : "machine"));
    set(o, "interval_method", json_string(JP_BENCH_CI_METHOD));
    bool has_ref = t->reference >= 0 && (size_t)t->reference < t->nmodels;
    bool has_pick = t->pick >= 0 && (size_t)t->pick < t->nmodels;
    set(o, "reference", has_ref ? STR(t->models[t->reference].name) : json_null());
    set(o, "pick", has_pick ? STR(t->models[t->pick].name) : json_null());
    char *text = malloc(8192);
    json_t *lines = json_array();
    if (text) {
        jp_report_conclusions(run, t, text, 8192);
        for (char *line = text; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            json_array_append_new(lines, utf8(line));
            line = nl ? nl + 1 : NULL;
        }
        free(text);
    }
    set(o, "conclusions", lines);
    json_t *models = json_array();
    for (size_t i = 0; i < t->nmodels; i++) json_array_append_new(models, model_json(t, i));
    set(o, "models", models);
    /* emissions of the projected volume by region, for the pick and the reference */
    json_t *regions = json_array();
    for (size_t k = 0; k < rg->n; k++) {
        const struct rp_region *r = &rg->r[k];
        json_t *x = json_pack("{s:s, s:s, s:o, s:o, s:b, s:b, s:b, s:b}", "region", r->id, "name", r->name,
                              "g_per_kwh", real(r->g_per_kwh), "year", r->year ? json_integer(r->year) : json_null(),
                              "seed", r->seed, "run", r->run, "cleanest", (int)k == rg->cleanest, "dirtiest",
                              (int)k == rg->dirtiest);
        if (!x) continue;
        set(x, "pick_g", has_pick && rp_usable(&t->models[t->pick])
                             ? real(rp_proj_grams(run, &t->models[t->pick], r->g_per_kwh))
                             : json_null());
        set(x, "reference_g", has_ref && rp_usable(&t->models[t->reference])
                                  ? real(rp_proj_grams(run, &t->models[t->reference], r->g_per_kwh))
                                  : json_null());
        json_array_append_new(regions, x);
    }
    set(o, "regions", regions);
    return o;
}

int jp_report_json(FILE *out, const struct jp_bench_run *run)
{
    json_t *o = json_object();
    set(o, "format", json_string("jouleprint-bench-run/1"));
    set(o, "jouleprint_version", json_string(JP_VERSION));
    set(o, "id", json_integer(run->id));
    set(o, "started_at", STR(run->started_at));
    set(o, "finished_at", STR(run->finished_at));
    set(o, "status", json_string(jp_run_status_name(run->status))); /* a constant name */
    set(o, "spec_path", STR(run->spec_path));
    set(o, "machine", STR(run->machine));
    set(o, "sources", STR(run->sources));
    set(o, "estimated", json_boolean(run->estimated));
    set(o, "region", STR(run->region));
    set(o, "g_per_kwh", real(run->g_per_kwh));
    set(o, "intensity_source", STR(run->intensity_source));
    set(o, "intensity_year", run->intensity_year > 0 ? json_integer(run->intensity_year) : json_null());
    set(o, "pue", real(run->pue > 0 ? run->pue : 1.0));
    set(o, "project_n", real(run->project_n));
    set(o, "baseline_w", real(run->baseline_w));
    struct rp_regions *rg = malloc(sizeof *rg);
    if (rg) rp_regions_for(run, rg);
    json_t *tasks = json_array();
    for (size_t t = 0; t < run->ntasks; t++) {
        if (rg) json_array_append_new(tasks, task_json(run, &run->tasks[t], rg));
    }
    set(o, "tasks", tasks);
    free(rg);
    int rc = json_dumpf(o, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12) | JSON_ENSURE_ASCII) == 0 ? JP_OK : JP_ERR_IO;
    json_decref(o);
    if (rc) return jp_fail(JP_ERR_IO, "writing the JSON report failed");
    fputc('\n', out);
    return rp_finish(out, "JSON");
}
