/* The Markdown report: metadata, one table per task, the conclusions as a list. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/internal.h"
#include "util.h"

static void item(FILE *out, const char *key, const char *value)
{
    if (!value || !*value) return;
    fprintf(out, "- **%s**: ", key);
    rp_md(out, value);
    fputc('\n', out);
}

static void cell(FILE *out, const char *s)
{
    fputs(" ", out);
    rp_md(out, s);
    fputs(" |", out);
}

static void write_task(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
{
    char b[160], n[64];
    const char *label = rp_metric_label(t->metric);
    fputs("\n## Task ", out);
    rp_md(out, t->name);
    fputs("\n\n", out);
    rp_format_count((double)t->n_time, b, sizeof b);
    rp_format_count((double)t->n_score, n, sizeof n);
    fprintf(out, "%s items timed, %s scored", b, n);
    if (rp_task_scored(t)) {
        fputs("; main metric: ", out);
        rp_md(out, label);
    }
    if (*t->items) {
        fputs("; items: ", out);
        rp_md(out, t->items);
    }
    fputs(".\n\n", out);

    const char *ref = (t->reference >= 0 && (size_t)t->reference < t->nmodels) ? t->models[t->reference].name : "largest";
    fprintf(out, "| model | status | energy / item (%s) | 95%% interval | machine / item | Wh / 1,000 items | time / item | items/s |",
            rp_basis_short(t));
    cell(out, label);
    snprintf(b, sizeof b, "saving vs %s", ref);
    cell(out, b);
    snprintf(b, sizeof b, "%s change", label);
    cell(out, b);
    rp_format_count(run->project_n, n, sizeof n);
    snprintf(b, sizeof b, "%s items", n);
    cell(out, b);
    fputs(" CO2e | rating | Pareto front |\n", out);
    fputs("|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|:-:|\n", out);
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        bool ok = rp_usable(m);
        fputs("|", out);
        fputs(" ", out);
        if ((int)i == t->pick) fputs("**", out);
        rp_md(out, m->name);
        if ((int)i == t->pick) fputs("** (pick)", out);
        if (m->is_reference) fputs(" (largest)", out);
        fputs(" |", out);
        cell(out, jp_model_status_name(m->status));
        if (!ok) {
            for (int k = 0; k < 13; k++) fputs(" |", out);
            fputc('\n', out);
            continue;
        }
        jp_format_energy(rp_cmp(m), b, sizeof b);
        cell(out, b);
        rp_format_energy_ci(m, b, sizeof b);
        cell(out, b);
        jp_format_energy(m->j_per_item, b, sizeof b);
        cell(out, b);
        rp_format_sig3(rp_cmp_wh1000(m), b, sizeof b);
        cell(out, b);
        rp_format_latency(m->latency_s, b, sizeof b);
        cell(out, b);
        rp_format_sig3(m->items_per_s, b, sizeof b);
        cell(out, b);
        rp_format_metric(t->metric, m->score, b, sizeof b);
        cell(out, b);
        if (m->is_reference) {
            cell(out, "-");
            cell(out, "-");
        } else {
            rp_format_saving(m, b, sizeof b);
            cell(out, b);
            rp_format_metric_delta(t->metric, m->score_delta, b, sizeof b);
            cell(out, b);
        }
        rp_format_kwh(m->proj_kwh, b, sizeof b);
        cell(out, b);
        jp_format_mass(m->proj_g, b, sizeof b);
        cell(out, b);
        snprintf(b, sizeof b, "%d/5", m->rating);
        cell(out, b);
        cell(out, m->pareto ? "yes" : "");
        fputc('\n', out);
    }
    char *text = malloc(8192);
    if (text) {
        jp_report_conclusions(run, t, text, 8192);
        fputc('\n', out);
        for (char *line = text; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            fputs("- ", out);
            rp_md(out, line);
            fputc('\n', out);
            line = nl ? nl + 1 : NULL;
        }
        free(text);
    }
}

int jp_report_md(FILE *out, const struct jp_bench_run *run)
{
    char b[512], c[64];
    fprintf(out, "# jouleprint report: run %ld\n\n", run->id);
    if (run->estimated)
        fputs("> **Estimated figures.** No energy counter could be read for (part of) this run: its energy and\n"
              "> carbon figures come from the power model. Compare models with them; do not quote them as measured.\n\n",
              out);
    if (run->status == JP_RUN_INTERRUPTED)
        fputs("> **Interrupted.** The run was stopped before every model finished; what finished is shown.\n\n", out);
    item(out, "Status", jp_run_status_name(run->status));
    item(out, "Spec", run->spec_path);
    if (*run->started_at) {
        snprintf(b, sizeof b, "%s to %s", run->started_at, run->finished_at);
        item(out, "Time", b);
    }
    item(out, "Machine", run->machine);
    snprintf(b, sizeof b, "%s (%s)", run->sources, run->estimated ? "estimated" : "measured");
    item(out, "Energy sources", b);
    snprintf(b, sizeof b, "%s, %.1f gCO2e/kWh (%s), PUE %.2f", run->region, run->g_per_kwh, run->intensity_source,
             run->pue > 0 ? run->pue : 1.0);
    item(out, "Carbon", b);
    if (run->baseline_w > 0) {
        jp_format_power(run->baseline_w, c, sizeof c);
        item(out, "Idle baseline", c);
    }
    rp_format_count(run->project_n, c, sizeof c);
    snprintf(b, sizeof b, "%s items", c);
    item(out, "Projected volume", b);
    for (size_t t = 0; t < run->ntasks; t++) write_task(out, run, &run->tasks[t]);
    fprintf(out, "\n*Generated by jouleprint %s.*\n", JP_VERSION);
    return rp_finish(out, "Markdown");
}
