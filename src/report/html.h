/*
 * The HTML report's pieces (internal to libjouleprint-bench): html.c writes the page, html_charts.c the
 * four SVG charts of a task, html_parts.c the small pieces they share (figure frames, axes, the task's
 * pick and reference); report.css and report.js are the page's style and script, built in as
 * jp_report_css and jp_report_js (generated at build time by tools/gen_table.c text).
 */
#ifndef JP_REPORT_HTML_H
#define JP_REPORT_HTML_H

#include <stdbool.h>
#include <stdio.h>

#include "report/internal.h"
#include "report/svg.h"
#include "util.h"

#define esc rp_html
#define HALF_W 560
#define FULL_W 1140
#define CHAR_W 6.6 /* mean width of a 12px label character, for placing labels */

extern const char jp_report_css[]; /* src/report/report.css */
extern const char jp_report_js[];  /* src/report/report.js: constant, nothing from the run is written into it */

/* ---- html_parts.c ---- */
const char *rp_html_task_ref_name(const struct jp_bench_task *t);
const struct jp_bench_model *rp_html_task_pick(const struct jp_bench_task *t);
const struct jp_bench_model *rp_html_task_ref(const struct jp_bench_task *t);
void rp_html_esc_cut(FILE *out, const char *s, size_t cols);
void rp_html_svg_open(FILE *out, const char *kind, int w, int h, const char *aria);
void rp_html_axis_x(FILE *out, const struct sv_scale *s, struct sv_unit u, double top, double bottom, const char *title,
                   bool grid);
void rp_html_axis_y(FILE *out, const struct sv_scale *s, struct sv_unit u, double left, double right, const char *title);
void rp_html_fig_open(FILE *out, bool wide, const char *title, const char *note);
void rp_html_fig_empty(FILE *out, bool wide, const char *title, const char *why);

/* ---- html_charts.c: one chart each, with its figure and caption ---- */
void rp_html_chart_scatter(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t);
void rp_html_chart_bars(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t);
void rp_html_chart_regions(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t,
                          const struct rp_regions *rg);
void rp_html_chart_timeline(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t);

#endif
