/* What the report writers share: formats, figures in words, conclusions, regions, escaping. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/internal.h"
#include "util.h"

/* ---- formats ------------------------------------------------------------------------------------ */

static const char *const format_names[] = {"table", "csv", "json", "md", "html"};

int jp_report_format_parse(const char *name, enum jp_report_format *out)
{
    if (name) {
        for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
            if (!strcasecmp(name, format_names[i])) {
                *out = (enum jp_report_format)i;
                return JP_OK;
            }
        if (!strcasecmp(name, "markdown")) {
            *out = JP_REPORT_MD;
            return JP_OK;
        }
        if (!strcasecmp(name, "text") || !strcasecmp(name, "txt")) {
            *out = JP_REPORT_TABLE;
            return JP_OK;
        }
    }
    return jp_fail(JP_ERR_INVAL, "unknown report format \"%s\": choose table, csv, json, md or html", name ? name : "");
}

const char *jp_report_format_name(enum jp_report_format f)
{
    return (unsigned)f < sizeof format_names / sizeof format_names[0] ? format_names[f] : "table";
}

enum jp_report_format jp_report_format_for_path(const char *path, bool *known)
{
    const char *slash = path ? strrchr(path, '/') : NULL, *base = slash ? slash + 1 : path;
    const char *dot = base ? strrchr(base, '.') : NULL;
    if (known) *known = true;
    if (!dot || dot == base) return JP_REPORT_TABLE; /* no extension (a leading dot is a hidden file) */
    if (!strcasecmp(dot, ".csv")) return JP_REPORT_CSV;
    if (!strcasecmp(dot, ".json")) return JP_REPORT_JSON;
    if (!strcasecmp(dot, ".md") || !strcasecmp(dot, ".markdown")) return JP_REPORT_MD;
    if (!strcasecmp(dot, ".html") || !strcasecmp(dot, ".htm")) return JP_REPORT_HTML;
    if (!strcasecmp(dot, ".txt")) return JP_REPORT_TABLE;
    if (known) *known = false;
    return JP_REPORT_TABLE;
}

int jp_report_format_for_output(const char *path, const enum jp_report_format *asked, enum jp_report_format *out)
{
    bool known;
    enum jp_report_format f = jp_report_format_for_path(path, &known);
    const char *dot = strrchr(path, '.');
    if (!known && !asked)
        return jp_fail(JP_ERR_INVAL,
                       "%s: unknown extension \"%s\": expected .txt (a table), .csv, .json, .md or .html, or choose the "
                       "format with --format",
                       path, dot ? dot : "");
    *out = asked ? *asked : f;
    return JP_OK;
}

int jp_report_write(FILE *out, const struct jp_bench_run *run, enum jp_report_format f)
{
    if (!out || !run) return jp_fail(JP_ERR_INVAL, "jp_report_write: no stream or no run");
    switch (f) {
    case JP_REPORT_CSV: return jp_report_csv(out, run);
    case JP_REPORT_JSON: return jp_report_json(out, run);
    case JP_REPORT_MD: return jp_report_md(out, run);
    case JP_REPORT_HTML: return jp_report_html(out, run);
    case JP_REPORT_TABLE: break;
    }
    return jp_report_table(out, run);
}

int rp_finish(FILE *out, const char *format)
{
    if (fflush(out) != 0 || ferror(out))
        return jp_fail(JP_ERR_IO, "writing the %s report: %s", format, errno ? strerror(errno) : "write error");
    return JP_OK;
}

/* ---- models ------------------------------------------------------------------------------------- */

bool rp_usable(const struct jp_bench_model *m)
{
    return m->status == JP_MODEL_OK && m->j_per_item > 0 && isfinite(m->j_per_item);
}

size_t rp_usable_count(const struct jp_bench_task *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nmodels; i++) n += rp_usable(&t->models[i]);
    return n;
}

size_t rp_failed_count(const struct jp_bench_task *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nmodels; i++) n += t->models[i].status != JP_MODEL_OK;
    return n;
}

bool rp_task_scored(const struct jp_bench_task *t)
{
    for (size_t i = 0; i < t->nmodels; i++)
        if (rp_usable(&t->models[i]) && isfinite(t->models[i].score)) return true;
    return false;
}

double rp_tolerance(const struct jp_bench_task *t)
{
    return t->tolerance > 0 ? t->tolerance : jp_metric_default_tolerance(t->metric);
}

/* ---- figures in words ----------------------------------------------------------------------------- */

const char *rp_metric_label(const char *metric)
{
    static const struct {
        const char *name, *label;
    } labels[] = {{"accuracy", "accuracy"},   {"cer", "CER"},         {"wer", "WER"},
                  {"word_recall", "word recall"}, {"rouge1", "ROUGE-1"}, {"rouge2", "ROUGE-2"},
                  {"rougeL", "ROUGE-L"},      {"exact_match", "exact match"}, {"adherence", "adherence"},
                  {"fid", "FID"},             {"nearest_train_l2", "nearest training image"}};
    if (!metric || !*metric) return "score";
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (!strcmp(metric, labels[i].name)) return labels[i].label;
    return metric;
}

void rp_format_score(double v, char *buf, size_t len)
{
    if (!isfinite(v)) snprintf(buf, len, "n/a");
    else snprintf(buf, len, "%.2f%%", v * 100.0);
}

void rp_format_points(double d, char *buf, size_t len)
{
    if (!isfinite(d)) snprintf(buf, len, "n/a");
    else if (fabs(d * 100.0) < 0.005) snprintf(buf, len, "0.00 pts");
    else snprintf(buf, len, "%+.2f pts", d * 100.0);
}

void rp_format_metric(const char *metric, double v, char *buf, size_t len)
{
    if (jp_metric_is_fraction(metric)) rp_format_score(v, buf, len);
    else if (!isfinite(v)) snprintf(buf, len, "n/a");
    else snprintf(buf, len, strcmp(metric ? metric : "", "nearest_train_l2") ? "%.1f" : "%.2f", v);
}

void rp_format_metric_delta(const char *metric, double d, char *buf, size_t len)
{
    if (jp_metric_is_fraction(metric)) rp_format_points(d, buf, len);
    else if (!isfinite(d)) snprintf(buf, len, "n/a");
    else if (fabs(d) < 0.05) snprintf(buf, len, "0.0");
    else snprintf(buf, len, "%+.1f", d);
}

void rp_format_pct(double pct, char *buf, size_t len)
{
    if (!isfinite(pct)) snprintf(buf, len, "n/a");
    else if (fabs(pct) < 0.005) snprintf(buf, len, "0.00%%");
    else snprintf(buf, len, "%.2f%%", pct);
}

void rp_format_sig3(double v, char *buf, size_t len)
{
    double a = fabs(v);
    if (!isfinite(v)) snprintf(buf, len, "n/a");
    else if (a == 0) snprintf(buf, len, "0");
    else if (a >= 100) snprintf(buf, len, "%.0f", v);
    else if (a >= 10) snprintf(buf, len, "%.1f", v);
    else if (a >= 1) snprintf(buf, len, "%.2f", v);
    else {
        int d = 2 - (int)floor(log10(a));
        if (d > 12) d = 12;
        snprintf(buf, len, "%.*f", d, v);
    }
}

void rp_format_latency(double s, char *buf, size_t len)
{
    char n[32];
    if (!isfinite(s) || s < 0) snprintf(buf, len, "n/a");
    else if (s == 0) snprintf(buf, len, "0 s");
    else if (s < 1e-3) {
        rp_format_sig3(s * 1e6, n, sizeof n);
        snprintf(buf, len, "%s us", n);
    } else if (s < 1) {
        rp_format_sig3(s * 1e3, n, sizeof n);
        snprintf(buf, len, "%s ms", n);
    } else jp_format_duration(s, buf, len);
}

/* 1234567 -> "1,234,567" */
static void grouped(double n, char *buf, size_t len)
{
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", fabs(n));
    size_t nd = strlen(digits), o = 0;
    if (n < 0 && o + 1 < len) buf[o++] = '-';
    for (size_t i = 0; i < nd && o + 1 < len; i++) {
        if (i && (nd - i) % 3 == 0 && o + 1 < len) buf[o++] = ',';
        if (o + 1 < len) buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

void rp_format_count(double n, char *buf, size_t len)
{
    static const struct {
        double v;
        const char *word;
    } big[] = {{1e12, "trillion"}, {1e9, "billion"}, {1e6, "million"}};
    if (!isfinite(n)) {
        snprintf(buf, len, "n/a");
        return;
    }
    for (size_t i = 0; i < 3; i++) {
        if (fabs(n) >= big[i].v) {
            double x = n / big[i].v;
            if (fabs(x - round(x)) < 1e-9) snprintf(buf, len, "%.0f %s", x, big[i].word);
            else snprintf(buf, len, "%.3g %s", x, big[i].word);
            return;
        }
    }
    grouped(n, buf, len);
}

void rp_format_kwh(double kwh, char *buf, size_t len) { jp_format_energy(kwh * 3.6e6, buf, len); }

/* the tolerance in words: "1 point", "0.5 points"; for a metric not in fractions, its own unit ("5 FID") */
const char *rp_tolerance_words(const struct jp_bench_task *t, char *buf, size_t len)
{
    if (!jp_metric_is_fraction(t->metric)) {
        snprintf(buf, len, "%.3g %s", rp_tolerance(t), rp_metric_label(t->metric));
        return buf;
    }
    double pts = rp_tolerance(t) * 100.0;
    snprintf(buf, len, "%.3g point%s", pts, fabs(pts - 1.0) < 1e-9 ? "" : "s");
    return buf;
}

void rp_accuracy_phrase(const struct jp_bench_task *t, const struct jp_bench_model *m, char *buf, size_t len)
{
    const char *label = rp_metric_label(t->metric);
    double d = m->score_delta;
    if (!isfinite(d)) {
        buf[0] = '\0';
        return;
    }
    char tol[32];
    if (!jp_metric_is_fraction(t->metric)) {
        /* in the metric's own unit; lower is better for FID */
        bool lower = jp_metric_lower_is_better(t->metric);
        bool better = lower ? d < 0 : d > 0;
        if (fabs(d) < 0.05) snprintf(buf, len, "at the same %s", label);
        else if (fabs(d) <= rp_tolerance(t) + 1e-12)
            snprintf(buf, len, "at the same %s within %s (%+.1f)", label, rp_tolerance_words(t, tol, sizeof tol), d);
        else
            snprintf(buf, len, "at a %s %s (%.1f %s, %s)", d > 0 ? "higher" : "lower", label, fabs(d),
                     d > 0 ? "more" : "less", better ? "better" : "worse");
        return;
    }
    double pts = d * 100.0;
    if (fabs(pts) < 0.005) snprintf(buf, len, "at the same %s", label);
    else if (fabs(d) <= rp_tolerance(t) + 1e-12)
        snprintf(buf, len, "at the same %s within %s (%+.2f points)", label, rp_tolerance_words(t, tol, sizeof tol), pts);
    else if (jp_metric_lower_is_better(t->metric))
        snprintf(buf, len, d > 0 ? "at %.2f points more %s (worse)" : "with %.2f points less %s (better)", fabs(pts), label);
    else if (d > 0) snprintf(buf, len, "with %.2f points more %s", pts, label);
    else snprintf(buf, len, "at %.2f points less %s", -pts, label);
}

/* ---- the compared figure ----------------------------------------------------------------------------- */

double rp_cmp(const struct jp_bench_model *m)
{
    return isfinite(m->cmp_j_per_item) && m->cmp_j_per_item > 0 ? m->cmp_j_per_item : m->j_per_item;
}

double rp_cmp_wh1000(const struct jp_bench_model *m) { return rp_cmp(m) * 1000.0 / 3600.0; }

bool rp_attributed(const struct jp_bench_task *t) { return !strcmp(t->basis, "attributed"); }

const char *rp_basis_short(const struct jp_bench_task *t) { return rp_attributed(t) ? "attributed" : "whole machine"; }

void rp_basis_sentence(const struct jp_bench_task *t, char *buf, size_t len)
{
    int runs = 0;
    for (size_t i = 0; i < t->nmodels; i++)
        if (rp_usable(&t->models[i]) && (int)t->models[i].nrep > runs) runs = (int)t->models[i].nrep;
    char ci[160];
    if (runs >= 2) snprintf(ci, sizeof ci, "intervals: %s, %d runs per model, round-robin", JP_BENCH_CI_METHOD, runs);
    else snprintf(ci, sizeof ci, "one run per model, so no interval: a saving is not shown to be larger than the noise");
    if (rp_attributed(t))
        snprintf(buf, len,
                 "Energy compared: attributed to each model's own processes (their share of the machine's busy CPU "
                 "time, applied to its energy; the whole machine's figure is beside it); %s.",
                 ci);
    else
        snprintf(buf, len, "Energy compared: the whole machine's (no attributed figure for every model); %s.", ci);
}

void rp_format_energy_ci(const struct jp_bench_model *m, char *buf, size_t len)
{
    if (!isfinite(m->cmp_lo) || !isfinite(m->cmp_hi)) {
        snprintf(buf, len, "n/a (%zu run%s)", m->nrep ? m->nrep : (size_t)m->runs, (m->nrep ? m->nrep : (size_t)m->runs) == 1 ? "" : "s");
        return;
    }
    char a[32], b[32];
    jp_format_energy(m->cmp_lo, a, sizeof a); /* the analysis cut it at 0 */
    jp_format_energy(m->cmp_hi, b, sizeof b);
    snprintf(buf, len, "%s to %s", a, b);
}

void rp_format_saving(const struct jp_bench_model *m, char *buf, size_t len)
{
    if (!isfinite(m->saving_pct)) {
        snprintf(buf, len, "n/a");
        return;
    }
    if (!isfinite(m->saving_lo) || !isfinite(m->saving_hi)) {
        snprintf(buf, len, "%.2f%% (no interval)", m->saving_pct);
        return;
    }
    if (!m->saving_significant)
        snprintf(buf, len, "no significant saving (%.1f to %.1f%%)", m->saving_lo, m->saving_hi);
    else if (m->saving_pct >= 0)
        snprintf(buf, len, "%.2f%% (%.1f to %.1f%%)", m->saving_pct, m->saving_lo, m->saving_hi);
    else
        snprintf(buf, len, "uses %.2f%% (%.1f to %.1f%%) more", -m->saving_pct, -m->saving_hi, -m->saving_lo);
}

/* ---- conclusions ------------------------------------------------------------------------------------ */

struct sb {
    char *buf;
    size_t len, at;
};

static void sb_printf(struct sb *b, const char *fmt, ...) JP_PRINTF(2, 3);
/* Appends; a line break inside a %s argument (a stored name) becomes a space, so that the text's
 * lines are the sentences written here (each writer escapes the text for its format). */
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    if (b->at + 1 >= b->len) return;
    char *piece = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&piece, &n);
    if (!f) return;
    va_list ap;
    va_start(ap, fmt);
    jp_vescf(f, JP_ESC_LINE, fmt, ap);
    va_end(ap);
    if (fclose(f) != 0 || !piece) {
        free(piece);
        return;
    }
    size_t room = b->len - 1 - b->at;
    if (n > room) n = room;
    memcpy(b->buf + b->at, piece, n);
    b->at += n;
    b->buf[b->at] = '\0';
    free(piece);
}

/* "base uses 25.96% (18.6 to 33.3%) less energy per item than large at the same accuracy." and the
 * forms for no significant saving, one run, and more energy */
static void saving_sentence(struct sb *b, const struct jp_bench_model *m, const struct jp_bench_model *ref, const char *phrase)
{
    const char *sp = *phrase ? " " : "";
    if (!isfinite(m->saving_pct)) return;
    if (!isfinite(m->saving_lo) || !isfinite(m->saving_hi))
        sb_printf(b, "%s uses %.2f%% less energy per item than %s%s%s (no interval: not shown to be more than the "
                     "noise).\n",
                  m->name, m->saving_pct, ref->name, sp, phrase);
    else if (!m->saving_significant)
        sb_printf(b, "%s: no significant saving against %s (95%% interval %.1f%% to %.1f%%)%s%s.\n", m->name, ref->name,
                  m->saving_lo, m->saving_hi, sp, phrase);
    else if (m->saving_pct >= 0)
        sb_printf(b, "%s uses %.2f%% (%.1f%% to %.1f%%) less energy per item than %s%s%s.\n", m->name, m->saving_pct,
                  m->saving_lo, m->saving_hi, ref->name, sp, phrase);
    else
        sb_printf(b, "%s uses %.2f%% (%.1f%% to %.1f%%) more energy per item than %s%s%s.\n", m->name, -m->saving_pct,
                  -m->saving_hi, -m->saving_lo, ref->name, sp, phrase);
}

static const char *failure_words(const struct jp_bench_model *m)
{
    switch (m->status) {
    case JP_MODEL_TIMEOUT: return "timed out";
    case JP_MODEL_INTERRUPTED: return "was interrupted";
    default: return "failed";
    }
}

void jp_report_conclusions(const struct jp_bench_run *run, const struct jp_bench_task *t, char *buf, size_t len)
{
    struct sb b = {buf, len, 0};
    if (!len) return;
    buf[0] = '\0';
    char a[64], c[64], d[64], phrase[160];
    const char *label = rp_metric_label(t->metric);
    size_t usable = rp_usable_count(t);
    if (t->reference < 0 || (size_t)t->reference >= t->nmodels || usable == 0) {
        sb_printf(&b, "No model of task %s completed: there is nothing to compare.\n", t->name);
    } else {
        const struct jp_bench_model *ref = &t->models[t->reference];
        const struct jp_bench_model *pick =
            (t->pick >= 0 && (size_t)t->pick < t->nmodels) ? &t->models[t->pick] : NULL;
        char basis[512];
        rp_basis_sentence(t, basis, sizeof basis);
        sb_printf(&b, "%s\n", basis);
        if (pick && pick != ref) {
            rp_accuracy_phrase(t, pick, phrase, sizeof phrase);
            saving_sentence(&b, pick, ref, phrase);
        }
        if (pick) {
            rp_format_score(pick->score, c, sizeof c);
            if (usable == 1)
                sb_printf(&b, "Pick: %s, the only model that completed.\n", pick->name);
            else if (isfinite(pick->score))
                sb_printf(&b, "Pick: %s, the least energy per item among the models within %s of the best %s.\n",
                          pick->name, rp_tolerance_words(t, d, sizeof d), label);
            else
                sb_printf(&b, "Pick: %s, the least energy per item (the task is not scored).\n", pick->name);
            if (pick == ref && usable > 1)
                sb_printf(&b, "No model that uses less energy per item than %s is as accurate.\n", ref->name);
        }
        for (size_t i = 0; i < t->nmodels; i++) {
            const struct jp_bench_model *m = &t->models[i];
            if (!rp_usable(m) || m == pick || m == ref) continue;
            rp_accuracy_phrase(t, m, phrase, sizeof phrase);
            if (!m->pareto) strncat(phrase, *phrase ? " (not on the Pareto front)" : "(not on the Pareto front)", sizeof phrase - strlen(phrase) - 1);
            saving_sentence(&b, m, ref, phrase);
        }
        for (size_t i = 0; i < t->nmodels; i++) {
            const struct jp_bench_model *m = &t->models[i];
            if (rp_usable(m) && m->other_share > JP_BENCH_OTHER_SHARE_WARN)
                sb_printf(&b, "%s: other work used %.0f%% of the machine's CPU while it was measured%s.\n", m->name,
                          m->other_share * 100,
                          rp_attributed(t) ? " (the attributed figure leaves it out)"
                                           : " (its whole-machine figure includes that work's energy)");
        }
        if (pick && isfinite(pick->proj_kwh)) {
            struct rp_regions rg;
            rp_regions_for(run, &rg);
            rp_format_count(run->project_n, c, sizeof c);
            rp_format_kwh(pick->proj_kwh, a, sizeof a);
            jp_format_mass(pick->proj_g, d, sizeof d);
            sb_printf(&b, "%s items with %s: %s, %s CO2e in %s (%.1f gCO2e/kWh, PUE %.2f)", c, pick->name, a, d,
                      run->region, run->g_per_kwh, run->pue > 0 ? run->pue : 1.0);
            if (pick != ref && isfinite(ref->proj_kwh)) {
                rp_format_kwh(ref->proj_kwh, a, sizeof a);
                jp_format_mass(ref->proj_g, d, sizeof d);
                sb_printf(&b, ", against %s and %s with %s", a, d, ref->name);
            }
            sb_printf(&b, ".\n");
            if (rg.cleanest >= 0 && rg.dirtiest >= 0 && rg.cleanest != rg.dirtiest) {
                const struct rp_region *lo = &rg.r[rg.cleanest], *hi = &rg.r[rg.dirtiest];
                jp_format_mass(rp_proj_grams(run, pick, lo->g_per_kwh), a, sizeof a);
                jp_format_mass(rp_proj_grams(run, pick, hi->g_per_kwh), d, sizeof d);
                sb_printf(&b, "Across the seed's %zu regions: %s CO2e in the cleanest (%s, %s), %s in the dirtiest (%s, %s).\n",
                          rg.nseed, a, lo->id, lo->name, d, hi->id, hi->name);
            }
        }
    }
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        if (m->status == JP_MODEL_OK) continue;
        sb_printf(&b, "%s %s%s%s.\n", m->name, failure_words(m), *m->error ? ": " : "", m->error);
    }
    if (b.at && buf[b.at - 1] == '\n') buf[--b.at] = '\0';
}

/* ---- regions ------------------------------------------------------------------------------------- */

/* The year of the run's intensity figure when it is a Google region's figure of another year than its
 * latest (the seed's regions are then shown in that year); else 0 (each region's latest). The run keeps
 * its figure's year (store schema 3); for a run stored before that, the year is inferred from the figure
 * (the Google year whose figure equals it), and *inferred says so. */
static int run_year(const struct jp_bench_run *run, bool *inferred)
{
    *inferred = false;
    jp_intensity x;
    if (!*run->region || jp_intensity_lookup(run->region, &x) != JP_OK || strcmp(x.provider, "gcp") != 0) return 0;
    if (run->intensity_year >= 0) return run->intensity_year == x.year ? 0 : run->intensity_year;
    /* fallback, only for runs from older stores, which kept the figure but not its year */
    if (fabs(x.g_per_kwh - run->g_per_kwh) < 1e-6) return 0;
    int years[64];
    size_t idx = 0, count = jp_region_count(), ny = 0;
    while (idx < count && !(jp_region_get(idx, 0, &x) == JP_OK && !strcmp(x.region, run->region))) idx++;
    if (idx < count) ny = jp_region_years(idx, years, sizeof years / sizeof years[0]);
    for (size_t k = 0; k < ny && k < sizeof years / sizeof years[0]; k++)
        if (jp_region_get(idx, years[k], &x) == JP_OK && fabs(x.g_per_kwh - run->g_per_kwh) < 1e-6) {
            *inferred = true;
            return years[k];
        }
    return 0;
}

static int by_intensity(const void *pa, const void *pb)
{
    const struct rp_region *a = pa, *b = pb;
    return (a->g_per_kwh > b->g_per_kwh) - (a->g_per_kwh < b->g_per_kwh);
}

void rp_regions_for(const struct jp_bench_run *run, struct rp_regions *out)
{
    memset(out, 0, sizeof *out);
    out->cleanest = out->dirtiest = -1;
    out->year = run_year(run, &out->year_inferred);
    out->min_year = 99999;
    bool run_seen = false;
    size_t count = jp_region_count();
    for (size_t i = 0; i < count && out->n < RP_MAX_REGIONS - 1; i++) {
        jp_intensity x;
        if (jp_region_get(i, out->year, &x) != JP_OK) {
            jp_intensity latest;
            if (out->year && jp_region_get(i, 0, &latest) == JP_OK && latest.seed) out->missing++;
            continue;
        }
        if (!x.seed) continue;
        struct rp_region *r = &out->r[out->n++];
        jp_strlcpy(r->id, x.region, sizeof r->id);
        jp_strlcpy(r->name, x.name, sizeof r->name);
        r->g_per_kwh = x.g_per_kwh;
        r->year = x.year;
        r->seed = true;
        r->run = !strcmp(x.region, run->region);
        run_seen |= r->run;
        if (!out->source[0]) jp_strlcpy(out->source, x.source, sizeof out->source);
        if (x.year && x.year < out->min_year) out->min_year = x.year;
        if (x.year > out->max_year) out->max_year = x.year;
    }
    out->nseed = out->n;
    if (out->min_year == 99999) out->min_year = 0;
    if (!run_seen && *run->region && isfinite(run->g_per_kwh)) {
        struct rp_region *r = &out->r[out->n++];
        jp_intensity x;
        jp_strlcpy(r->id, run->region, sizeof r->id);
        jp_strlcpy(r->name, jp_intensity_lookup(run->region, &x) == JP_OK ? x.name : "", sizeof r->name);
        r->g_per_kwh = run->g_per_kwh;
        r->year = run->intensity_year > 0 ? run->intensity_year : 0;
        r->run = true;
    }
    qsort(out->r, out->n, sizeof out->r[0], by_intensity);
    for (size_t i = 0; i < out->n; i++) {
        if (!out->r[i].seed) continue;
        if (out->cleanest < 0) out->cleanest = (int)i;
        out->dirtiest = (int)i;
    }
}

double rp_proj_grams(const struct jp_bench_run *run, const struct jp_bench_model *m, double g_per_kwh)
{
    return jp_carbon_grams(rp_cmp(m) * run->project_n, g_per_kwh, run->pue > 0 ? run->pue : 1.0);
}

/* ---- terminal widths ----------------------------------------------------------------------------- */

size_t rp_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) w++;
    return w;
}

void rp_cut(char *buf, size_t len, const char *s, size_t cols)
{
    if (!len) return;
    if (rp_width(s) <= cols) {
        jp_strlcpy(buf, s, len);
        return;
    }
    size_t o = 0, w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < len; p++) {
        if ((*p & 0xC0) != 0x80) {
            if (w + 3 >= cols) break;
            w++;
        }
        buf[o++] = (char)*p;
    }
    memcpy(buf + o, "...", 4);
}

void rp_format_wh(double wh, char *buf, size_t len)
{
    static const struct {
        double scale;
        const char *unit;
    } units[] = {{1e-6, "uWh"}, {1e-3, "mWh"}, {1, "Wh"}, {1e3, "kWh"}, {1e6, "MWh"}};
    if (!isfinite(wh)) {
        snprintf(buf, len, "n/a");
        return;
    }
    size_t k = 0;
    while (k + 1 < sizeof units / sizeof units[0] && fabs(wh) >= units[k + 1].scale) k++;
    char n[32];
    rp_format_sig3(wh / units[k].scale, n, sizeof n);
    snprintf(buf, len, "%s %s", n, units[k].unit);
}
