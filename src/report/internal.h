/* Pieces the report writers share: figures in words, the seed's regions, escaping, write checks. */
#ifndef JP_REPORT_INTERNAL_H
#define JP_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "escape.h"
#include "report/report.h"

/* A model that completed and has an energy per item (as the analysis counts it). */
bool rp_usable(const struct jp_bench_model *m);
/* How many models of the task are usable, and how many did not complete. */
size_t rp_usable_count(const struct jp_bench_task *t);
size_t rp_failed_count(const struct jp_bench_task *t);
/* Whether any usable model of the task has a score. */
bool rp_task_scored(const struct jp_bench_task *t);

/* The tolerance the analysis used (t->tolerance, or its default), and in words ("1 point"). */
double rp_tolerance(const struct jp_bench_task *t);
const char *rp_tolerance_words(const struct jp_bench_task *t, char *buf, size_t len);

/* "accuracy", "word recall", "ROUGE-L", "CER", ... for a metric name. */
const char *rp_metric_label(const char *metric);
/* "91.30%" (fractions as percent), "n/a" for NaN. */
void rp_format_score(double v, char *buf, size_t len);
/* A score in its metric's form: "91.30%" for a fraction, "119.9" for FID (jp_metric_is_fraction);
 * "n/a" for NaN. */
void rp_format_metric(const char *metric, double v, char *buf, size_t len);
/* A score difference in its metric's form: "+1.20 pts" for a fraction, "-12.3" for FID. */
void rp_format_metric_delta(const char *metric, double d, char *buf, size_t len);
/* "+1.20 pts", "-0.40 pts", "0.00 pts", "n/a". */
void rp_format_points(double delta, char *buf, size_t len);
/* "25.96%", "n/a" (a saving, signed only when negative) */
void rp_format_pct(double pct, char *buf, size_t len);
/* v with 3 significant digits, no exponent: "0.00342", "12.3", "4521". "n/a" for NaN. */
void rp_format_sig3(double v, char *buf, size_t len);
/* "35.2 us", "812 us", "12.3 ms", "2.40 s" (jp_format_duration below 1 ms too) */
void rp_format_latency(double s, char *buf, size_t len);
/* "100 million", "2.5 billion", "10,000" */
void rp_format_count(double n, char *buf, size_t len);
/* watt-hours with an SI prefix for the size: "78.5 uWh", "2.09 mWh", "1.20 Wh", "4.2 kWh" */
void rp_format_wh(double wh, char *buf, size_t len);
/* energy of n items at j per item, as "342 kWh" */
void rp_format_kwh(double kwh, char *buf, size_t len);

/* "at the same accuracy", "at 2.10 points less accuracy", "with 1.20 points more accuracy", for a
 * lower-is-better metric "at a lower FID (12.3 less, better)", or "" when either is not scored. */
void rp_accuracy_phrase(const struct jp_bench_task *t, const struct jp_bench_model *m, char *buf, size_t len);

/* The regions for the emissions of the projection: the seed study's Google regions (the carbon data's
 * seed flag) for the year of the run's figure where it can be told (else the latest), plus the run's
 * own region when it is not one of them; sorted by intensity, cleanest first. */
#define RP_MAX_REGIONS 48
struct rp_region {
    char id[64];    /* "gcp:europe-west6" */
    char name[64];  /* "Zürich" */
    double g_per_kwh;
    int year;       /* 0 if none */
    bool seed;      /* one of the seed's regions */
    bool run;       /* the run's own region */
};
struct rp_regions {
    size_t n;
    struct rp_region r[RP_MAX_REGIONS];
    int year;          /* the year of the run's figure (0: the latest) */
    bool year_inferred; /* year inferred from the figure: the run comes from a store that kept no year */
    int min_year, max_year; /* of the figures used */
    size_t nseed;      /* seed regions with a figure */
    size_t missing;    /* seed regions without a figure for that year */
    int cleanest, dirtiest; /* indexes in r of the cleanest and dirtiest seed region, -1 if none */
    char source[160];  /* the source of the seed figures */
};
void rp_regions_for(const struct jp_bench_run *run, struct rp_regions *out);
/* grams of CO2e for the run's projected volume with model m at intensity g */
double rp_proj_grams(const struct jp_bench_run *run, const struct jp_bench_model *m, double g_per_kwh);

/* ---- the compared figure, its interval, the basis (issue 14) ---- */
/* The energy per item the task compares (attributed or whole machine: t->basis); the whole machine's
 * when the run was never analysed with a basis (an older store). */
double rp_cmp(const struct jp_bench_model *m);
double rp_cmp_wh1000(const struct jp_bench_model *m); /* the same, Wh per 1,000 items */
bool rp_attributed(const struct jp_bench_task *t);
/* "attributed" or "whole machine" (short, for a column or a label) */
const char *rp_basis_short(const struct jp_bench_task *t);
/* One sentence: which energy the task's comparisons use, and how the intervals were made. */
void rp_basis_sentence(const struct jp_bench_task *t, char *buf, size_t len);
/* "11.3 mJ to 12.4 mJ", or "n/a (1 run)" when there is no interval. */
void rp_format_energy_ci(const struct jp_bench_model *m, char *buf, size_t len);
/* A saving in words for a table cell: "25.96% (18.6 to 33.3%)", "no significant saving (-3.1 to
 * 5.2%)", "uses 12.0% (4.1 to 19.9%) more" (significant and negative), or "25.96% (no interval)" (one run, or the runs not kept). */
void rp_format_saving(const struct jp_bench_model *m, char *buf, size_t len);

/* Escapers that write to a stream: the writer-boundary escaping of escape.h, one per format. */
static inline void rp_html(FILE *out, const char *s) { jp_esc(out, JP_ESC_HTML, s); } /* text and attributes */
static inline void rp_csv(FILE *out, const char *s) { jp_esc(out, JP_ESC_CSV, s); }   /* an RFC 4180 field */
static inline void rp_md(FILE *out, const char *s) { jp_esc(out, JP_ESC_MD, s); }     /* a cell or inline text */
static inline void rp_term(FILE *out, const char *s) { jp_esc(out, JP_ESC_TERM, s); } /* terminal text */

/* Display width of UTF-8 text in terminal columns (one per code point). */
size_t rp_width(const char *s);
/* Copies s into buf cut to at most `cols` display columns, ending in "..." when cut. */
void rp_cut(char *buf, size_t len, const char *s, size_t cols);

/* The HTML report's strip of sample images of a task whose models made images (html_samples.c): a wide
 * figure, one row per model with images, each a PNG in a data: URI; nothing when no model has any. */
void rp_html_samples(FILE *out, const struct jp_bench_task *t);

/* Flushes and checks the stream: JP_OK or JP_ERR_IO (with a message naming the format). */
int rp_finish(FILE *out, const char *format);

#endif
