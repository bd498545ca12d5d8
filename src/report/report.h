/*
 * Report writers: one benchmark run (struct jp_bench_run, analysed by jp_bench_analyze) rendered as
 *
 *   table  aligned plain text for a terminal: per task the models with energy per item, accuracy,
 *          savings against the largest, the Pareto front, ratings, and the conclusions in words
 *          ("base saves 25.96% energy per item against large at the same accuracy")
 *   csv    one row per model (RFC 4180, a header; one column per metric found in the run)
 *   json   one object: the run, its tasks and models with every figure, timelines, conclusions
 *   md     Markdown: metadata, a table per task, the conclusions
 *   html   one self-contained page (no network): inline SVG charts (energy per item against the
 *          score with the Pareto front, energy per item by model, emissions of the projected volume
 *          by region, power timelines), the metadata and the tables
 *
 * Writers never change the run; every string taken from it is escaped for the format. They return
 * JP_OK, or JP_ERR_IO when the stream reports a write error (jp_last_error says so).
 */
#ifndef JP_REPORT_H
#define JP_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "bench/bench.h"
#include "store.h"

enum jp_report_format { JP_REPORT_TABLE, JP_REPORT_CSV, JP_REPORT_JSON, JP_REPORT_MD, JP_REPORT_HTML };

/* "table", "csv", "json", "md" (also "markdown"), "html" -> the format; JP_ERR_INVAL naming the
 * choices otherwise. */
int jp_report_format_parse(const char *name, enum jp_report_format *out);
/* The format's name ("table", ...). */
const char *jp_report_format_name(enum jp_report_format f);
/* The format a file name implies by its extension: .csv, .json, .md/.markdown, .html/.htm, and
 * .txt or no extension for the table. *known is set to whether the name has one of these (an
 * unknown extension, x.pdf, gives the table and false: writing a table into x.pdf would mislead). */
enum jp_report_format jp_report_format_for_path(const char *path, bool *known);
/* For the tool's -o FILE: the format to write FILE in, given the --format asked (NULL: none), which
 * wins over the extension. Fails with JP_ERR_INVAL and a message naming the file when no format was
 * asked and FILE's extension names none. */
int jp_report_format_for_output(const char *path, const enum jp_report_format *asked, enum jp_report_format *out);

/* Writes run to out in format f. */
int jp_report_write(FILE *out, const struct jp_bench_run *run, enum jp_report_format f);

/* The writers, one per format. */
int jp_report_table(FILE *out, const struct jp_bench_run *run);
int jp_report_csv(FILE *out, const struct jp_bench_run *run);
int jp_report_json(FILE *out, const struct jp_bench_run *run);
int jp_report_md(FILE *out, const struct jp_bench_run *run);
int jp_report_html(FILE *out, const struct jp_bench_run *run);

/* The list of stored runs (jp_store_list, newest first) as table, csv, json or md; html is refused
 * with JP_ERR_INVAL. */
int jp_report_list(FILE *out, const struct jp_store_entry *runs, size_t n, enum jp_report_format f);

/* The task's conclusions in words, one sentence per line, "\n"-separated, into buf: the pick and
 * what it saves against the largest model at what accuracy, the other models' savings, the
 * projection to the run's volume with the cleanest and dirtiest of the seed's regions, and the
 * failed models. Shared by every format (and usable by `jouleprint bench` on its own). */
void jp_report_conclusions(const struct jp_bench_run *run, const struct jp_bench_task *task, char *buf, size_t len);

/* The study's summary in words (see src/report/summary.c), and the same figures as JSON. */
void jp_report_summary(FILE *out, const struct jp_bench_run *run);
int jp_report_summary_json(FILE *out, const struct jp_bench_run *run);

#endif
