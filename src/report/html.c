/*
 * The HTML report: one self-contained page (no network, no external fonts or scripts) with inline SVG
 * charts drawn here: per task, energy per item against the score with the Pareto front, energy per
 * item by model, emissions of the projected volume by region, and the power timelines; the run's
 * metadata (loudly when figures are estimates) and the tables. Every string from the run is escaped.
 * A few lines of inline script turn the charts' <title> tooltips into styled ones on hover, and mark
 * how many charts were laid out (body data-charts-rendered) for the rendering test.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/html.h"

/* ---- the page ----------------------------------------------------------------------------------- */

static void meta_row(FILE *out, const char *key, const char *value, bool code)
{
    if (!value || !*value) return;
    fprintf(out, "<dt>%s</dt><dd>%s", key, code ? "<code>" : "");
    esc(out, value);
    fprintf(out, "%s</dd>\n", code ? "</code>" : "");
}

static void rating_dots(FILE *out, int r)
{
    fputs("<span class=\"dots\" title=\"rating ", out);
    fprintf(out, "%d of 5\">", r);
    for (int k = 1; k <= 5; k++) fputs(k <= r ? "●" : "<i>●</i>", out);
    fputs("</span>", out);
}

/* "289 us" -> "289 µs" for the page */
static const char *micro(char *s)
{
    size_t n = strlen(s);
    if (n >= 3 && !strcmp(s + n - 3, " us") && n + 2 < 64) strcpy(s + n - 2, "µs");
    return s;
}

static void td_num(FILE *out, const char *s) { fprintf(out, "<td class=\"n\">%s</td>", s); }

/* a figure with a smaller one under it */
static void td_two(FILE *out, const char *s, const char *sub)
{
    fprintf(out, "<td class=\"n\">%s<small>%s</small></td>", s, sub);
}

static void models_table(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
{
    const char *label = rp_metric_label(t->metric);
    char b[128], c[64];
    /* extra metrics: every metric other than the main one, in order of first appearance */
    const char *extra[16];
    size_t nx = 0;
    bool load = false;
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        if (m->load_j > 0) load = true;
        for (size_t k = 0; k < m->nmetrics && k < JP_BENCH_MAX_METRICS; k++) {
            if (!strcmp(m->metrics[k].name, t->metric)) continue;
            size_t j = 0;
            while (j < nx && strcmp(extra[j], m->metrics[k].name)) j++;
            if (j == nx && nx < 16) extra[nx++] = m->metrics[k].name;
        }
    }
    /* per-model "estimated" marks only when some figures are measured and some not: else the banner says it */
    size_t nest = 0, nok = 0;
    for (size_t i = 0; i < t->nmodels; i++)
        if (rp_usable(&t->models[i])) {
            nok++;
            nest += t->models[i].estimated;
        }
    bool mixed = nest > 0 && nest < nok;
    rp_format_count(run->project_n, c, sizeof c);
    if (t->reference >= 0 && (size_t)t->reference < t->nmodels) {
        fputs("<p class=\"note\">Savings and changes are against <b>", out);
        esc(out, t->models[t->reference].name);
        fputs("</b>, the model with the most energy per item. Ratings: 5 dots for the least energy per item of the "
              "task, 1 for the most (log scale).</p>\n",
              out);
    }
    fprintf(out, "<div style=\"overflow-x:auto\"><table class=\"models\">\n<thead><tr><th>model</th><th class=\"n\">energy / "
          "item, %s<small>95%% interval</small></th><th class=\"n\">whole machine / item<small>Wh / 1,000 items</small></th>"
          "<th class=\"n\">time / item<small>items/s</small></th>", rp_attributed(t) ? "attributed" : "whole machine");
    if (load) fputs("<th class=\"n\">load</th>", out);
    fputs("<th class=\"n\">", out);
    esc(out, label);
    fputs("</th>", out);
    for (size_t j = 0; j < nx; j++) {
        fputs("<th class=\"n\">", out);
        esc(out, rp_metric_label(extra[j]));
        fputs("</th>", out);
    }
    fputs("<th class=\"n\">saving</th><th class=\"n\">", out);
    esc(out, label);
    fprintf(out, " change</th><th>rating</th><th>Pareto front</th><th class=\"n\">%s items<small>CO2e in ", c);
    esc(out, run->region);
    fputs("</small></th></tr></thead>\n<tbody>\n", out);
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        bool ok = rp_usable(m), pick = (int)i == t->pick;
        fprintf(out, "<tr class=\"%s\" data-model=\"", pick ? "pick" : ok ? "" : "failed");
        esc(out, m->name);
        fprintf(out, "\"><td><span class=\"sw\" style=\"background:%s\"></span>", ok ? sv_colour(i) : "#c4cbd4");
        esc(out, m->name);
        if (pick) fputs("<span class=\"badge b-pick\">pick</span>", out);
        if (m->is_reference) fputs("<span class=\"badge b-ref\">largest</span>", out);
        if (m->estimated && mixed) fputs("<span class=\"badge b-est\">estimated</span>", out);
        if (!ok) {
            fputs("<span class=\"badge b-fail\">", out);
            esc(out, jp_model_status_name(m->status));
            fputs("</span>", out);
        }
        fputs("</td>", out);
        int span = 9 + (load ? 1 : 0) + (int)nx;
        if (!ok) {
            fprintf(out, "<td colspan=\"%d\" class=\"err\">", span);
            esc(out, *m->error ? m->error : "no energy figure");
            fputs("</td></tr>\n", out);
            continue;
        }
        char sub[64], n3[32];
        jp_format_energy(rp_cmp(m), b, sizeof b);
        rp_format_energy_ci(m, n3, sizeof n3);
        snprintf(sub, sizeof sub, "95%%: %s", n3);
        td_two(out, b, sub);
        jp_format_energy(m->j_per_item, b, sizeof b);
        rp_format_wh(m->wh_per_1000, n3, sizeof n3);
        snprintf(sub, sizeof sub, "%s / 1,000", n3);
        td_two(out, b, sub);
        rp_format_latency(m->latency_s, b, sizeof b);
        rp_format_sig3(m->items_per_s, n3, sizeof n3);
        snprintf(sub, sizeof sub, "%s /s", n3);
        td_two(out, micro(b), sub);
        if (load) {
            jp_format_energy(m->load_j, b, sizeof b);
            td_num(out, b);
        }
        rp_format_metric(t->metric, m->score, b, sizeof b);
        td_num(out, b);
        for (size_t j = 0; j < nx; j++) {
            rp_format_metric(extra[j], jp_bench_metric(m, extra[j]), b, sizeof b);
            td_num(out, b);
        }
        if (m->is_reference) {
            td_num(out, "&ndash;");
            td_num(out, "&ndash;");
        } else {
            rp_format_saving(m, b, sizeof b);
            td_num(out, b);
            rp_format_metric_delta(t->metric, m->score_delta, b, sizeof b);
            td_num(out, b);
        }
        fputs("<td>", out);
        rating_dots(out, m->rating);
        fprintf(out, "</td><td>%s</td>", m->pareto ? "yes" : "");
        rp_format_kwh(m->proj_kwh, b, sizeof b);
        jp_format_mass(m->proj_g, n3, sizeof n3);
        snprintf(sub, sizeof sub, "%s CO2e", n3);
        td_two(out, b, sub);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table></div>\n", out);
}

static void card(FILE *out, const char *k, const char *v, const char *d)
{
    fputs("<div class=\"card\"><div class=\"k\">", out);
    esc(out, k);
    fputs("</div><div class=\"v\">", out);
    esc(out, v);
    fputs("</div><div class=\"d\">", out);
    esc(out, d);
    fputs("</div></div>\n", out);
}

static void write_task(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t, size_t ti,
                       const struct rp_regions *rg)
{
    char a[128], b[128], c[512];
    const char *label = rp_metric_label(t->metric);
    fprintf(out, "<section class=\"task\" id=\"task-%zu\" data-task=\"", ti + 1);
    esc(out, t->name);
    fputs("\">\n<h2>", out);
    esc(out, t->name);
    fputs("</h2>\n<p class=\"sub\">", out);
    rp_format_count((double)t->n_time, a, sizeof a);
    rp_format_count((double)t->n_score, b, sizeof b);
    fprintf(out, "%zu model%s; %s items timed, %s scored", t->nmodels, t->nmodels == 1 ? "" : "s", a, b);
    if (rp_task_scored(t)) {
        fputs("; main metric: ", out);
        esc(out, label);
    }
    if (*t->items) {
        fputs("; items <code>", out);
        esc(out, t->items);
        fputs("</code>", out);
    }
    fputs("</p>\n", out);

    /* the conclusions: the first sentence as the lead, the rest below it */
    char *text = malloc(8192);
    if (text) {
        jp_report_conclusions(run, t, text, 8192);
        char *first = text;
        if (!strncmp(first, "Energy compared:", 16)) {
            /* which energy is compared and how the intervals were made: a note above the finding */
            char *e = strchr(first, '\n');
            if (e) *e = '\0';
            fputs("<p class=\"note basis\">", out);
            esc(out, first);
            fputs("</p>\n", out);
            first = e ? e + 1 : first + strlen(first);
        }
        char *nl = strchr(first, '\n');
        if (nl) *nl = '\0';
        fputs("<p class=\"lead\">", out);
        esc(out, first);
        fputs("</p>\n", out);
        if (nl && nl[1]) {
            fputs("<ul class=\"more\">\n", out);
            for (char *line = nl + 1; line && *line;) {
                char *e = strchr(line, '\n');
                if (e) *e = '\0';
                fputs("<li>", out);
                esc(out, line);
                fputs("</li>\n", out);
                line = e ? e + 1 : NULL;
            }
            fputs("</ul>\n", out);
        }
        free(text);
    }

    const struct jp_bench_model *pick = rp_html_task_pick(t), *ref = rp_html_task_ref(t);
    if (pick) {
        fputs("<div class=\"cards\">\n", out);
        if (pick == ref) snprintf(c, sizeof c, "no model using less energy is as accurate");
        else if (isfinite(pick->score)) {
            char tol[32];
            snprintf(c, sizeof c, "least energy within %s of the best %s", rp_tolerance_words(t, tol, sizeof tol), label);
        }
        else snprintf(c, sizeof c, "least energy per item");
        card(out, "pick", pick->name, c);
        jp_format_energy(rp_cmp(pick), a, sizeof a);
        if (ref && ref != pick) {
            rp_format_saving(pick, b, sizeof b);
            if (isfinite(pick->saving_lo) && !pick->saving_significant) snprintf(c, sizeof c, "%s against %.60s", b, ref->name);
            else snprintf(c, sizeof c, "%s less than %.60s", b, ref->name);
        } else {
            snprintf(c, sizeof c, "per item");
        }
        card(out, "energy per item", a, c);
        if (isfinite(pick->score)) {
            rp_format_metric(t->metric, pick->score, a, sizeof a);
            if (ref && ref != pick) {
                rp_format_metric_delta(t->metric, pick->score_delta, b, sizeof b);
                snprintf(c, sizeof c, "%s against %.60s", b, ref->name);
            } else {
                snprintf(c, sizeof c, "the best of the task");
            }
            card(out, label, a, c);
        }
        if (isfinite(pick->proj_kwh)) {
            rp_format_kwh(pick->proj_kwh, a, sizeof a);
            jp_format_mass(pick->proj_g, b, sizeof b);
            char n[64];
            rp_format_count(run->project_n, n, sizeof n);
            snprintf(c, sizeof c, "%s CO2e in %s for %s items", b, run->region, n);
            card(out, "projected energy", a, c);
        }
        fputs("</div>\n", out);
    }

    fputs("<div class=\"charts\">\n", out);
    rp_html_chart_scatter(out, run, t);
    rp_html_chart_bars(out, run, t);
    rp_html_chart_regions(out, run, t, rg);
    rp_html_chart_timeline(out, run, t);
    rp_html_samples(out, t);
    fputs("</div>\n<h3>Models</h3>\n", out);
    models_table(out, run, t);
    size_t nfailed = rp_failed_count(t);
    if (nfailed) {
        fprintf(out, "<h3 style=\"margin-top:16px\">Did not finish (%zu)</h3>\n<ul class=\"failed-list\">\n", nfailed);
        for (size_t i = 0; i < t->nmodels; i++) {
            const struct jp_bench_model *m = &t->models[i];
            if (m->status == JP_MODEL_OK) continue;
            fputs("<li><b>", out);
            esc(out, m->name);
            fputs("</b> ", out);
            esc(out, jp_model_status_name(m->status));
            if (*m->error) {
                fputs(": <span class=\"err\">", out);
                esc(out, m->error);
                fputs("</span>", out);
            }
            if (*m->command) {
                fputs("<br><code>", out);
                esc(out, m->command);
                fputs("</code>", out);
            }
            fputs("</li>\n", out);
        }
        fputs("</ul>\n", out);
    }
    fputs("</section>\n", out);
}

int jp_report_html(FILE *out, const struct jp_bench_run *run)
{
    char a[640], b[128];
    size_t nmodels = 0;
    for (size_t t = 0; t < run->ntasks; t++) nmodels += run->tasks[t].nmodels;
    struct rp_regions *rg = malloc(sizeof *rg);
    if (!rg) return jp_fail(JP_ERR_NOMEM, "writing the HTML report: out of memory");
    rp_regions_for(run, rg);

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"jouleprint " JP_VERSION "\">\n",
          out);
    fprintf(out, "<title>jouleprint report: run %ld", run->id);
    for (size_t t = 0; t < run->ntasks && t < 4; t++) {
        fputs(t ? ", " : " (", out);
        esc(out, run->tasks[t].name);
        if (t + 1 == run->ntasks || t == 3) fputs(run->ntasks > 4 ? ", ...)" : ")", out);
    }
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", jp_report_css);
    fprintf(out, "<h1>Energy and accuracy of %zu model%s", nmodels, nmodels == 1 ? "" : "s");
    if (run->ntasks == 1) {
        fputs(": ", out);
        esc(out, run->tasks[0].name);
    } else {
        fprintf(out, " on %zu tasks", run->ntasks);
    }
    fprintf(out, "</h1>\n<p class=\"sub\">jouleprint run %ld", run->id);
    fputs(", ", out);
    esc(out, jp_run_status_name(run->status));
    if (*run->started_at) {
        fputs(", ", out);
        esc(out, run->started_at);
    }
    if (*run->spec_path) {
        fputs(", spec <code>", out);
        esc(out, run->spec_path);
        fputs("</code>", out);
    }
    fputs("</p>\n", out);
    if (run->estimated) {
        fputs("<div class=\"banner\" id=\"estimated\"><strong>These figures are estimates</strong>No energy counter could "
              "be read for (part of) this run, so its energy and carbon figures come from jouleprint's power model "
              "(sources: ",
              out);
        esc(out, run->sources);
        fputs("). They compare models run on the same machine well; do not quote them as measured energy.</div>\n", out);
    }
    if (run->status == JP_RUN_INTERRUPTED)
        fputs("<div class=\"banner\"><strong>Interrupted run</strong>The run was stopped before every model finished; "
              "what finished is shown.</div>\n",
              out);

    fputs("<dl class=\"meta\">\n", out);
    snprintf(a, sizeof a, "%s%s%s", run->started_at, *run->finished_at ? " to " : "", run->finished_at);
    meta_row(out, "time (UTC)", a, false);
    meta_row(out, "machine", run->machine, false);
    snprintf(a, sizeof a, "%s (%s)", run->sources, run->estimated ? "ESTIMATED" : "measured");
    meta_row(out, "energy sources", a, false);
    snprintf(a, sizeof a, "%s: %.1f gCO2e/kWh, PUE %.2f", run->region, run->g_per_kwh, run->pue > 0 ? run->pue : 1.0);
    meta_row(out, "carbon", a, false);
    meta_row(out, "intensity source", run->intensity_source, false);
    if (run->baseline_w > 0) {
        jp_format_power(run->baseline_w, b, sizeof b);
        snprintf(a, sizeof a, "%s, measured before the session", b);
        meta_row(out, "idle baseline", a, false);
    }
    rp_format_count(run->project_n, b, sizeof b);
    snprintf(a, sizeof a, "%s items per model", b);
    meta_row(out, "projection", a, false);
    fputs("</dl>\n", out);

    for (size_t t = 0; t < run->ntasks; t++) write_task(out, run, &run->tasks[t], t, rg);
    if (!run->ntasks) fputs("<p>This run has no tasks.</p>\n", out);
    fprintf(out,
            "<footer>Generated by jouleprint %s. Energy per item is the inference phase's energy divided by the items "
            "timed; savings are against the task's largest model (the most energy per item); the pick is the model "
            "with the least energy per item among those within the task's tolerance of the best score. Palette: Okabe "
            "&amp; Ito, readable with colour-blindness. This page is self-contained and opens offline.</footer>\n",
            JP_VERSION);
    fprintf(out, "</main>\n<script>\n%s</script>\n</body>\n</html>\n", jp_report_js); /* constant */
    free(rg);
    return rp_finish(out, "HTML");
}
