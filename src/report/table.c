/* The terminal report: aligned plain text, units chosen for the size, conclusions in words. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/internal.h"
#include "util.h"

#define MAXCOLS 12
#define CELL 96

struct grid {
    size_t ncols, nrows, cap;
    bool right[MAXCOLS];
    char (*cells)[MAXCOLS][CELL];
};

static int grid_row(struct grid *g)
{
    if (g->nrows == g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 8;
        void *grown = realloc(g->cells, ncap * sizeof *g->cells);
        if (!grown) return -1;
        g->cells = grown;
        g->cap = ncap;
    }
    memset(g->cells[g->nrows], 0, sizeof g->cells[0]);
    g->nrows++;
    return 0;
}

static void grid_set(struct grid *g, size_t col, const char *s)
{
    char e[4 * CELL];
    jp_esc_str(e, sizeof e, JP_ESC_TERM, s); /* every cell escaped: stored strings reach the terminal here */
    if (g->nrows && col < g->ncols) rp_cut(g->cells[g->nrows - 1][col], CELL, e, 40);
}

static void pad(FILE *out, size_t n)
{
    while (n--) fputc(' ', out);
}

/* Prints the grid with two spaces between columns; a rule under the first row (the header). */
static void grid_print(FILE *out, const struct grid *g, const char *indent)
{
    size_t w[MAXCOLS] = {0}, total = 0;
    for (size_t r = 0; r < g->nrows; r++)
        for (size_t c = 0; c < g->ncols; c++) {
            size_t x = rp_width(g->cells[r][c]);
            if (x > w[c]) w[c] = x;
        }
    /* the rule under the header spans the header's columns */
    for (size_t c = 0; c < g->ncols && g->nrows && g->cells[0][c][0]; c++) total += w[c] + (c ? 2 : 0);
    for (size_t r = 0; r < g->nrows; r++) {
        fputs(indent, out);
        /* the last non-empty cell ends the line: no trailing blanks */
        size_t last = 0;
        for (size_t c = 0; c < g->ncols; c++)
            if (g->cells[r][c][0]) last = c;
        for (size_t c = 0; c <= last; c++) {
            const char *s = g->cells[r][c];
            size_t fill = w[c] - rp_width(s);
            if (c) pad(out, 2);
            if (g->right[c]) pad(out, fill);
            fputs(s, out);
            if (!g->right[c] && c < last) pad(out, fill);
        }
        fputc('\n', out);
        if (r == 0) {
            fputs(indent, out);
            for (size_t i = 0; i < total; i++) fputc('-', out);
            fputc('\n', out);
        }
    }
}

/* Prints text wrapped at width columns, each line after indent. */
static void wrap(FILE *out, const char *indent, const char *text, size_t width)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *line = p, *brk = NULL;
        size_t cols = 0;
        while (*p && *p != '\n') {
            if (*p == ' ') brk = p;
            if (((unsigned char)*p & 0xC0) != 0x80) cols++;
            if (cols > width && brk) {
                p = brk;
                break;
            }
            p++;
        }
        fprintf(out, "%s%.*s\n", indent, (int)(p - line), line);
        if (*p == '\n' || *p == ' ') p++;
    }
}

static void meta_line(FILE *out, const char *key, const char *value)
{
    if (value && *value) jp_escf(out, JP_ESC_TERM, "  %-10s %s\n", key, value);
}

static void write_model_row(struct grid *g, const struct jp_bench_task *t, size_t i)
{
    const struct jp_bench_model *m = &t->models[i];
    char b[CELL];
    if (grid_row(g)) return;
    grid_set(g, 0, m->name);
    if (!rp_usable(m)) {
        grid_set(g, 1, m->status == JP_MODEL_OK ? "no energy" : jp_model_status_name(m->status));
        grid_set(g, 11, m->status != JP_MODEL_OK ? "did not finish" : "");
        return;
    }
    jp_format_energy(rp_cmp(m), b, sizeof b);
    grid_set(g, 1, b);
    rp_format_energy_ci(m, b, sizeof b);
    grid_set(g, 2, b);
    jp_format_energy(m->j_per_item, b, sizeof b);
    grid_set(g, 3, b);
    char n[48];
    rp_format_wh(rp_cmp_wh1000(m), n, sizeof n);
    snprintf(b, sizeof b, "%s", n);
    grid_set(g, 4, b);
    rp_format_latency(m->latency_s, b, sizeof b);
    grid_set(g, 5, b);
    rp_format_metric(t->metric, m->score, b, sizeof b);
    grid_set(g, 6, b);
    if (m->is_reference) {
        grid_set(g, 7, "-");
        grid_set(g, 8, "-");
    } else {
        rp_format_saving(m, b, sizeof b);
        grid_set(g, 7, b);
        rp_format_metric_delta(t->metric, m->score_delta, b, sizeof b);
        grid_set(g, 8, b);
    }
    snprintf(b, sizeof b, "%d/5", m->rating);
    grid_set(g, 9, b);
    grid_set(g, 10, m->pareto ? "yes" : "");
    b[0] = '\0';
    if ((int)i == t->pick) strcat(b, "<- pick");
    if (m->is_reference) strcat(b, *b ? ", largest" : "largest");
    grid_set(g, 11, b);
}

static void write_task(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
{
    char c[64], d[64];
    const char *label = rp_metric_label(t->metric);
    jp_escf(out, JP_ESC_TERM, "\n Task %s", t->name);
    if (rp_task_scored(t)) jp_escf(out, JP_ESC_TERM, ": %s", label);
    rp_format_count((double)t->n_time, c, sizeof c);
    rp_format_count((double)t->n_score, d, sizeof d);
    fprintf(out, " (%s items timed, %s scored", c, d);
    if (*t->items) jp_escf(out, JP_ESC_TERM, "; items %s", t->items);
    fputs(")\n", out);
    if (t->reference >= 0 && (size_t)t->reference < t->nmodels)
        jp_escf(out, JP_ESC_TERM, " savings and %s changes are against %s, the model with the most energy per item\n", label,
                t->models[t->reference].name);
    fputc('\n', out);

    struct grid g = {.ncols = 12};
    if (grid_row(&g) == 0) {
        bool attr = rp_attributed(t);
        grid_set(&g, 0, "model");
        grid_set(&g, 1, attr ? "energy/item (attributed)" : "energy/item (machine)");
        grid_set(&g, 2, "95% interval");
        grid_set(&g, 3, "machine/item");
        grid_set(&g, 4, "per 1,000 items");
        grid_set(&g, 5, "time/item");
        grid_set(&g, 6, label);
        grid_set(&g, 7, "saving");
        grid_set(&g, 8, "change");
        grid_set(&g, 9, "rating");
        grid_set(&g, 10, "front");
        grid_set(&g, 11, "");
        for (size_t k = 1; k <= 10; k++) g.right[k] = true;
        g.right[10] = false;
        for (size_t i = 0; i < t->nmodels; i++) write_model_row(&g, t, i);
        grid_print(out, &g, "   ");
    }
    free(g.cells);

    char *text = malloc(8192);
    if (text) {
        jp_report_conclusions(run, t, text, 8192);
        fputc('\n', out);
        /* one sentence per line, each wrapped */
        char *line = text;
        while (line && *line) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            /* the sentence holds stored names: escaped whole, then wrapped */
            size_t need = jp_esc_str(NULL, 0, JP_ESC_TERM, line);
            char *e = malloc(need + 1);
            if (e) {
                jp_esc_str(e, need + 1, JP_ESC_TERM, line);
                wrap(out, "   ", e, 96);
                free(e);
            }
            line = nl ? nl + 1 : NULL;
        }
        free(text);
    }
}

int jp_report_table(FILE *out, const struct jp_bench_run *run)
{
    char b[512], c[64];
    size_t nmodels = 0;
    for (size_t t = 0; t < run->ntasks; t++) nmodels += run->tasks[t].nmodels;
    jp_escf(out, JP_ESC_TERM, "\n jouleprint report: run %ld, %s; %zu task%s, %zu model%s\n\n", run->id, jp_run_status_name(run->status),
            run->ntasks, run->ntasks == 1 ? "" : "s", nmodels, nmodels == 1 ? "" : "s");
    meta_line(out, "spec", run->spec_path);
    if (*run->started_at) {
        snprintf(b, sizeof b, "%s to %s", run->started_at, *run->finished_at ? run->finished_at : "?");
        meta_line(out, "time", b);
    }
    meta_line(out, "machine", run->machine);
    snprintf(b, sizeof b, "%s%s", run->sources, run->estimated ? "  (ESTIMATED)" : "  (measured)");
    meta_line(out, "sources", b);
    snprintf(b, sizeof b, "%s, %.1f gCO2e/kWh (%s), PUE %.2f", *run->region ? run->region : "?", run->g_per_kwh,
             *run->intensity_source ? run->intensity_source : "no source given", run->pue > 0 ? run->pue : 1.0);
    meta_line(out, "carbon", b);
    if (run->baseline_w > 0) {
        jp_format_power(run->baseline_w, c, sizeof c);
        snprintf(b, sizeof b, "idle %s, measured before the session", c);
        meta_line(out, "baseline", b);
    }
    rp_format_count(run->project_n, c, sizeof c);
    snprintf(b, sizeof b, "%s items", c);
    meta_line(out, "projected", b);
    if (run->estimated)
        fputs("\n  ESTIMATED: no energy counter could be read for (part of) this run; its energy and carbon\n"
              "  figures come from the power model. Compare models with them, do not quote them as measured.\n",
              out);
    if (run->status == JP_RUN_INTERRUPTED)
        fputs("\n  INTERRUPTED: the run was stopped before every model finished; what finished is shown.\n", out);
    for (size_t t = 0; t < run->ntasks; t++) write_task(out, run, &run->tasks[t]);
    if (!run->ntasks) fputs("\n  (this run has no tasks)\n", out);
    fputc('\n', out);
    return rp_finish(out, "table");
}
