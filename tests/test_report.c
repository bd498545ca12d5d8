/*
 * The report writers on a run built by hand (tests/bench_fixture.h): every format written and its
 * content checked (figures present, the seed-style conclusions, CSV that parses with the right
 * columns, JSON that parses, well-formed Markdown tables, HTML that escapes a model named
 * <script>x</script>), and `jouleprint report` end to end on a store (--list, --run, --format, -o,
 * errors that name the store).
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench_fixture.h"
#include "fake_tree.h"
#include "report/report.h"
#include "store.h"
#include "util.h"

static char tmpdir[PATH_MAX - 64];
static struct jp_bench_run run;

/* The report of the fixture in format f, as a malloc'd string. */
static char *render(enum jp_report_format f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    int rc = jp_report_write(out, &run, f);
    if (rc != JP_OK) fail_msg("%s: %s", jp_report_format_name(f), jp_last_error());
    fclose(out);
    return buf;
}

static void contains(const char *text, const char *what)
{
    if (!strstr(text, what)) fail_msg("missing \"%s\" in:\n%s", what, text);
}

static void lacks(const char *text, const char *what)
{
    if (strstr(text, what)) fail_msg("unexpected \"%s\" in the output", what);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot read", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* ---- formats, names, paths ------------------------------------------------------------------------ */

static void test_format_names(void **state)
{
    (void)state;
    enum jp_report_format f;
    const char *names[] = {"table", "csv", "json", "md", "html"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(jp_report_format_parse(names[i], &f), JP_OK);
        assert_int_equal(f, i);
        assert_string_equal(jp_report_format_name(f), names[i]);
    }
    assert_int_equal(jp_report_format_parse("Markdown", &f), JP_OK);
    assert_int_equal(f, JP_REPORT_MD);
    assert_int_equal(jp_report_format_parse("pdf", &f), JP_ERR_INVAL);
    contains(jp_last_error(), "table, csv, json, md or html");
    bool known;
    assert_int_equal(jp_report_format_for_path("out/run.HTML", &known), JP_REPORT_HTML);
    assert_int_equal(jp_report_format_for_path("run.csv", &known), JP_REPORT_CSV);
    assert_int_equal(jp_report_format_for_path("run.json", &known), JP_REPORT_JSON);
    assert_int_equal(jp_report_format_for_path("run.md", &known), JP_REPORT_MD);
    assert_int_equal(jp_report_format_for_path("run.txt", &known), JP_REPORT_TABLE);
    assert_true(known);
    assert_int_equal(jp_report_format_for_path("dir.d/run", &known), JP_REPORT_TABLE);
    assert_true(known);
    /* an extension that names no format is refused for -o, unless the format is asked for */
    jp_report_format_for_path("x.pdf", &known);
    assert_false(known);
    assert_int_equal(jp_report_format_for_output("x.pdf", NULL, &f), JP_ERR_INVAL);
    contains(jp_last_error(), "x.pdf: unknown extension \".pdf\"");
    enum jp_report_format csv = JP_REPORT_CSV;
    assert_int_equal(jp_report_format_for_output("x.pdf", &csv, &f), JP_OK);
    assert_int_equal(f, JP_REPORT_CSV);
    assert_int_equal(jp_report_format_for_output("x.json", &csv, &f), JP_OK); /* --format wins */
    assert_int_equal(f, JP_REPORT_CSV);
    assert_int_equal(jp_report_format_for_output("out.d/run", NULL, &f), JP_OK);
    assert_int_equal(f, JP_REPORT_TABLE);
}

static void test_conclusions(void **state)
{
    (void)state;
    char text[4096];
    jp_report_conclusions(&run, &run.tasks[0], text, sizeof text);
    contains(text, "base uses 25.96% (18.6% to 33.3%) less energy per item than large at the same accuracy.\n");
    contains(text, "Pick: base, the least energy per item among the models within 1 point of the best accuracy.");
    contains(text, "small uses 74.00% (70.8% to 77.2%) less energy per item than large at 4.20 points less accuracy.");
    /* compared on the attributed figure, said first */
    assert_true(!strncmp(text, "Energy compared: attributed to each model's own processes", 57));
    contains(text, "95% t-interval over the measured runs (savings: paired by round), 3 runs per model, round-robin.");
    contains(text, "large: other work used 35% of the machine's CPU while it was measured");
    /* attributed 0.8 x 14.808 mJ x 1e8 = 1.18464 MJ = 0.329 kWh */
    contains(text, "100 million items with base: 329 Wh");
    contains(text, "against 444 Wh");
    contains(text, "Across the seed's 23 regions:");
    contains(text, "in the cleanest (gcp:");
    contains(text, "in the dirtiest (gcp:");
    jp_report_conclusions(&run, &run.tasks[1], text, sizeof text);
    contains(text, "Pick: " FIX_SCRIPT_NAME);
    contains(text, "Energy compared: the whole machine's (no attributed figure for every model)");
    contains(text, "fast uses 66.67% less energy per item than " FIX_SCRIPT_NAME " at 13.00 points less word recall (no interval: not shown to be more than the noise).");
    contains(text, "broken failed: " FIX_ERROR);
    /* a tiny buffer is cut, never overrun */
    char small[16];
    jp_report_conclusions(&run, &run.tasks[0], small, sizeof small);
    assert_true(strlen(small) < sizeof small);
}

/* ---- table ------------------------------------------------------------------------------------------- */

static void test_table(void **state)
{
    (void)state;
    char *t = render(JP_REPORT_TABLE);
    contains(t, "run 7, complete; 2 tasks, 6 models");
    contains(t, "ESTIMATED");
    contains(t, "testhost: AMD EPYC 7B13");
    contains(t, "base uses 25.96% (18.6% to 33.3%) less energy per item than large at the same accuracy.");
    contains(t, "<- pick");
    /* units chosen for the size */
    contains(t, "5.20 mJ");
    contains(t, "14.8 mJ");
    contains(t, "2.40 J");
    contains(t, "800 mJ");
    contains(t, "87.10%");
    contains(t, "-4.20 pts");
    contains(t, "failed");
    contains(t, "idle 12.5 W");
    contains(t, "100 million items");

    /* aligned: in the classify table every model's energy ends in the column where the header's does */
    const char *hdr = strstr(t, "   model  energy/item");
    assert_non_null(hdr);
    const char *eol = strchr(hdr, '\n');
    const char *e = strstr(hdr, "energy/item");
    assert_true(e && e < eol);
    size_t col = (size_t)(e - hdr) + strlen("energy/item (attributed)");
    const char *line = strchr(eol + 1, '\n') + 1; /* after the rule */
    int rows = 0;
    while (*line && *line != '\n') {
        const char *end = strchr(line, '\n');
        assert_true((size_t)(end - line) > col);
        assert_true(line[col] == ' ');
        assert_true(line[col - 1] == 'J');
        line = end + 1;
        rows++;
    }
    assert_int_equal(rows, 3);
    /* no line ends in blanks */
    for (const char *p = strchr(t, '\n'); p; p = strchr(p + 1, '\n'))
        if (p > t) assert_true(p[-1] != ' ');
    free(t);
}

/* ---- CSV ------------------------------------------------------------------------------------------- */

#define MAXF 64
struct csv_row {
    size_t n;
    char *f[MAXF];
};

/* RFC 4180: fields separated by commas, quoted with "" for a quote inside; LF or CRLF ends a row. */
static size_t parse_csv(char *s, struct csv_row *rows, size_t max)
{
    size_t nr = 0;
    char *p = s;
    while (*p && nr < max) {
        struct csv_row *r = &rows[nr++];
        r->n = 0;
        for (;;) {
            char *field = p, *w = p;
            if (*p == '"') {
                p++;
                for (;;) {
                    if (!*p) fail_msg("CSV: unterminated quote");
                    if (*p == '"' && p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                    } else if (*p == '"') {
                        p++;
                        break;
                    } else {
                        *w++ = *p++;
                    }
                }
                if (*p != ',' && *p != '\n' && *p != '\r' && *p) fail_msg("CSV: text after a closing quote");
            } else {
                while (*p && *p != ',' && *p != '\n' && *p != '\r') *w++ = *p++;
            }
            char sep = *p;
            *w = '\0';
            assert_true(r->n < MAXF);
            r->f[r->n++] = field;
            if (sep == ',') {
                p++;
                continue;
            }
            if (sep) p++; /* past the LF, or the CR of a CRLF */
            if (sep == '\r' && *p == '\n') p++;
            break;
        }
    }
    return nr;
}

static int col_of(const struct csv_row *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->f[i], name)) return (int)i;
    fail_msg("CSV: no column %s", name);
    return -1;
}

static void test_csv(void **state)
{
    (void)state;
    char *t = render(JP_REPORT_CSV);
    struct csv_row rows[16];
    size_t n = parse_csv(t, rows, 16);
    assert_int_equal(n, 7); /* header + 6 models */
    const char *expect[] = {"run_id", "task", "metric", "model", "kind", "status", "error", "runs", "warmups",
                            "items_timed", "items_scored", "energy_j", "energy_j_sd", "duration_s", "duration_s_sd",
                            "above_idle_j", "load_j", "load_s", "infer_j", "infer_s", "j_per_item", "wh_per_1000",
                            "time_per_item_s", "items_per_s", "score", "accuracy", "cer", "wer", "word_recall", "estimated",
                            "is_reference", "is_pick", "pareto", "saving_pct", "score_delta", "rating", "project_n",
                            "proj_kwh", "proj_g", "region", "g_per_kwh", "pue", "basis", "compared_j_per_item",
                            "compared_lo", "compared_hi", "attributed_j_per_item", "cpu_share", "other_share", "saving_lo",
                            "saving_hi", "saving_significant", "interval_method", "runs_j_per_item",
                            "runs_attributed_j_per_item"};
    size_t ne = sizeof expect / sizeof expect[0];
    assert_int_equal(rows[0].n, ne);
    for (size_t i = 0; i < ne; i++) assert_string_equal(rows[0].f[i], expect[i]);
    for (size_t r = 1; r < n; r++) assert_int_equal(rows[r].n, ne);

    int model = col_of(&rows[0], "model"), jpi = col_of(&rows[0], "j_per_item"), pick = col_of(&rows[0], "is_pick"),
        saving = col_of(&rows[0], "saving_pct"), err = col_of(&rows[0], "error"), acc = col_of(&rows[0], "accuracy"),
        cer = col_of(&rows[0], "cer"), score = col_of(&rows[0], "score"), status = col_of(&rows[0], "status");
    assert_string_equal(rows[2].f[model], "base");
    assert_true(fabs(strtod(rows[2].f[jpi], NULL) - 0.014808) < 1e-12);
    assert_string_equal(rows[2].f[pick], "true");
    assert_string_equal(rows[1].f[pick], "false");
    assert_true(fabs(strtod(rows[2].f[saving], NULL) - 25.96) < 1e-6);
    int cmpc = col_of(&rows[0], "compared_j_per_item"), lo = col_of(&rows[0], "saving_lo"), basis = col_of(&rows[0], "basis"),
        rj = col_of(&rows[0], "runs_attributed_j_per_item");
    assert_true(fabs(strtod(rows[2].f[cmpc], NULL) - 0.0118464) < 1e-12);
    assert_true(fabs(strtod(rows[2].f[lo], NULL) - 18.6) < 0.05);
    assert_string_equal(rows[2].f[basis], "attributed");
    assert_string_equal(rows[2].f[rj], "0.012083328;0.0118464;0.011609472");
    assert_string_equal(rows[5].f[basis], "machine");
    assert_true(fabs(strtod(rows[2].f[acc], NULL) - 0.913) < 1e-12);
    assert_string_equal(rows[2].f[cer], ""); /* not a metric of this task */
    assert_string_equal(rows[5].f[model], FIX_SCRIPT_NAME);
    assert_true(fabs(strtod(rows[5].f[cer], NULL) - 0.012) < 1e-12);
    /* the failed model: its error with a comma, quotes and a bar comes back whole; NaN figures empty */
    assert_string_equal(rows[6].f[model], "broken");
    assert_string_equal(rows[6].f[status], "failed");
    assert_string_equal(rows[6].f[err], FIX_ERROR);
    assert_string_equal(rows[6].f[jpi], "");
    assert_string_equal(rows[6].f[score], "");
    free(t);
}

/* ---- JSON ------------------------------------------------------------------------------------------ */

static void test_json(void **state)
{
    (void)state;
    char *t = render(JP_REPORT_JSON);
    json_error_t jerr;
    json_t *o = json_loads(t, 0, &jerr);
    if (!o) fail_msg("not JSON: %s (line %d)", jerr.text, jerr.line);
    assert_string_equal(json_string_value(json_object_get(o, "format")), "jouleprint-bench-run/1");
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 7);
    assert_true(json_is_true(json_object_get(o, "estimated")));
    assert_string_equal(json_string_value(json_object_get(o, "machine")), run.machine);
    assert_true(fabs(json_real_value(json_object_get(o, "project_n")) - 1e8) < 1e-3);
    json_t *tasks = json_object_get(o, "tasks");
    assert_int_equal(json_array_size(tasks), 2);
    json_t *t0 = json_array_get(tasks, 0);
    assert_string_equal(json_string_value(json_object_get(t0, "pick")), "base");
    assert_string_equal(json_string_value(json_object_get(t0, "reference")), "large");
    json_t *concl = json_object_get(t0, "conclusions");
    assert_true(!strncmp(json_string_value(json_array_get(concl, 0)), "Energy compared: attributed", 27));
    assert_string_equal(json_string_value(json_array_get(concl, 1)),
                        "base uses 25.96% (18.6% to 33.3%) less energy per item than large at the same accuracy.");
    assert_string_equal(json_string_value(json_object_get(t0, "basis")), "attributed");
    json_t *b1 = json_array_get(json_object_get(t0, "models"), 1);
    assert_true(fabs(json_real_value(json_object_get(b1, "compared_j_per_item")) - 0.0118464) < 1e-12);
    assert_true(fabs(json_real_value(json_object_get(json_object_get(b1, "saving_ci95"), "lo")) - 18.6) < 0.05);
    assert_true(json_is_true(json_object_get(b1, "saving_significant")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(b1, "runs_j_per_item"), "attributed")), 3);
    json_t *base = json_array_get(json_object_get(t0, "models"), 1);
    assert_string_equal(json_string_value(json_object_get(base, "name")), "base");
    assert_true(fabs(json_real_value(json_object_get(base, "saving_pct")) - 25.96) < 1e-9);
    assert_true(json_is_true(json_object_get(base, "is_pick")));
    assert_true(json_is_true(json_object_get(base, "pareto")));
    assert_true(fabs(json_real_value(json_object_get(json_object_get(base, "metrics"), "accuracy")) - 0.913) < 1e-12);
    json_t *tl = json_object_get(base, "timeline");
    assert_int_equal(json_array_size(json_object_get(tl, "t_s")), 90);
    assert_int_equal(json_array_size(json_object_get(tl, "w")), 90);
    assert_int_equal(json_array_size(json_object_get(base, "phases")), 2);
    /* the seed's 23 regions, cleanest first, with the projection of the pick and of the reference */
    json_t *regions = json_object_get(t0, "regions");
    assert_int_equal(json_array_size(regions), 23);
    json_t *r0 = json_array_get(regions, 0), *r22 = json_array_get(regions, 22);
    assert_true(json_is_true(json_object_get(r0, "cleanest")));
    assert_true(json_is_true(json_object_get(r22, "dirtiest")));
    /* the study's own list (src/data/carbon/seed_regions.csv), each with its latest figure: Paris the
     * cleanest, Mumbai the dirtiest; Zurich, which the seed never listed, is not among them */
    assert_string_equal(json_string_value(json_object_get(r0, "region")), "gcp:europe-west9");
    assert_string_equal(json_string_value(json_object_get(r22, "region")), "gcp:asia-south1");
    for (size_t k = 0; k < 23; k++)
        assert_string_not_equal(json_string_value(json_object_get(json_array_get(regions, k), "region")),
                                "gcp:europe-west6");
    assert_true(json_real_value(json_object_get(r0, "pick_g")) < json_real_value(json_object_get(r22, "pick_g")));
    assert_true(json_real_value(json_object_get(r0, "pick_g")) < json_real_value(json_object_get(r0, "reference_g")));

    json_t *t1 = json_array_get(tasks, 1);
    json_t *script = json_array_get(json_object_get(t1, "models"), 1);
    assert_string_equal(json_string_value(json_object_get(script, "name")), FIX_SCRIPT_NAME);
    json_t *broken = json_array_get(json_object_get(t1, "models"), 2);
    assert_string_equal(json_string_value(json_object_get(broken, "error")), FIX_ERROR);
    assert_true(json_is_null(json_object_get(broken, "score")));
    assert_true(json_is_null(json_object_get(broken, "j_per_item")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(broken, "timeline"), "w")), 4);
    json_decref(o);
    free(t);
}

/* ---- Markdown -------------------------------------------------------------------------------------- */

/* Pipes that separate cells: not escaped with a backslash. */
static int cell_bars(const char *line, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\\') {
            i++;
            continue;
        }
        if (line[i] == '|') n++;
    }
    return n;
}

static void test_md(void **state)
{
    (void)state;
    char *t = render(JP_REPORT_MD);
    contains(t, "# jouleprint report: run 7\n");
    contains(t, "> **Estimated figures.**");
    contains(t, "## Task classify");
    contains(t, "- base uses 25.96% (18.6% to 33.3%) less energy per item than large at the same accuracy.");
    contains(t, "**base** (pick)");
    contains(t, "&lt;script&gt;x&lt;/script&gt;");
    lacks(t, FIX_SCRIPT_NAME);
    contains(t, "not found \\| see log"); /* a bar in a cell is escaped */

    /* every table: lines that start and end with a bar, the same number of cells, a separator row */
    int tables = 0;
    const char *p = t;
    while (*p) {
        const char *end = strchr(p, '\n');
        if (!end) end = p + strlen(p);
        if (*p == '|') {
            tables++;
            int bars = cell_bars(p, (size_t)(end - p));
            assert_true(bars >= 3);
            int row = 0;
            while (*p == '|') {
                end = strchr(p, '\n');
                size_t len = (size_t)(end - p);
                assert_true(p[len - 1] == '|');
                assert_int_equal(cell_bars(p, len), bars);
                if (row == 1) {
                    for (size_t i = 0; i < len; i++) assert_true(strchr("|:-", p[i]) != NULL);
                }
                row++;
                p = end + 1;
            }
            assert_int_equal(row, 2 + 3); /* header, separator, three models */
            continue;
        }
        p = *end ? end + 1 : end;
    }
    assert_int_equal(tables, 2);
    free(t);
}

/* ---- HTML (the rendering in Chromium is test_report_html) ------------------------------------------ */

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static void test_html(void **state)
{
    (void)state;
    char *t = render(JP_REPORT_HTML);
    assert_true(!strncmp(t, "<!DOCTYPE html>", 15));
    contains(t, "</html>\n");
    /* the model named like a script tag is text, never markup */
    lacks(t, FIX_SCRIPT_NAME);
    contains(t, "&lt;script&gt;x&lt;/script&gt;");
    assert_int_equal(count(t, "<script"), 1); /* our own, constant script only */
    lacks(t, "&lt;script&gt;x&lt;/script&gt;</script"); /* not inside it either */
    /* self-contained: nothing fetched from anywhere */
    lacks(t, "src=");
    lacks(t, "<link");
    lacks(t, "@import");
    lacks(t, "url(");
    lacks(t, "https:");
    /* four charts per task, with their data points */
    assert_int_equal(count(t, "<svg class=\"chart\""), 8);
    assert_int_equal(count(t, "data-chart=\"scatter\""), 2);
    assert_int_equal(count(t, "data-chart=\"bars\""), 2);
    assert_int_equal(count(t, "data-chart=\"regions\""), 2);
    assert_int_equal(count(t, "data-chart=\"timeline\""), 2);
    assert_int_equal(count(t, "<g class=\"pt\""), 5); /* the scored models that completed */
    contains(t, "<g class=\"pt\" data-model=\"base\" data-energy-j=\"0.0118464\" data-score=\"0.913\">");
    contains(t, "class=\"front\"");
    assert_int_equal(count(t, "<g class=\"bar\""), 5);
    assert_int_equal(count(t, "<g class=\"region\""), 46);
    assert_int_equal(count(t, "<g class=\"line\""), 6);
    contains(t, "cleanest</tspan>");
    contains(t, "dirtiest</tspan>");
    contains(t, "this run</tspan>");
    /* metadata, said loudly when estimated; the tables and conclusions */
    contains(t, "These figures are estimates");
    contains(t, "testhost: AMD EPYC 7B13");
    contains(t, "base uses 25.96% (18.6% to 33.3%) less energy per item than large at the same accuracy.");
    contains(t, "<span class=\"badge b-pick\">pick</span>");
    contains(t, "14.8 mJ");
    contains(t, "Did not finish (1)");
    contains(t, "exited with status 1: Traceback, &quot;model.bin&quot; not found | see log");
    free(t);
}

static void test_unscored_and_empty(void **state)
{
    (void)state;
    /* a task without scores, a run with a task where nothing completed: every format still renders */
    struct jp_bench_run r;
    fix_build_run(&r);
    for (size_t i = 0; i < 3; i++) {
        r.tasks[0].models[i].score = NAN;
        r.tasks[0].models[i].nmetrics = 0;
    }
    snprintf(r.tasks[0].scorer, sizeof r.tasks[0].scorer, "none");
    for (size_t i = 0; i < 2; i++) r.tasks[1].models[i].status = JP_MODEL_TIMEOUT;
    r.status = JP_RUN_INTERRUPTED;
    jp_bench_analyze(&r);
    for (int f = 0; f <= JP_REPORT_HTML; f++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        assert_int_equal(jp_report_write(out, &r, (enum jp_report_format)f), JP_OK);
        fclose(out);
        assert_true(len > 200);
        if (f == JP_REPORT_TABLE) {
            contains(buf, "INTERRUPTED");
            contains(buf, "No model of task ocr completed");
            contains(buf, "the least energy per item (the task is not scored)");
        }
        if (f == JP_REPORT_HTML) {
            contains(buf, "No model of this task was scored");
            contains(buf, "Interrupted run");
        }
        if (f == JP_REPORT_JSON) {
            json_error_t e;
            json_t *o = json_loads(buf, 0, &e);
            assert_non_null(o);
            json_decref(o);
        }
        free(buf);
    }
    jp_bench_run_clear(&r);
}

static void test_write_error(void **state)
{
    (void)state;
    FILE *full = fopen("/dev/full", "w");
    if (!full) skip();
    setvbuf(full, NULL, _IONBF, 0);
    assert_int_equal(jp_report_write(full, &run, JP_REPORT_HTML), JP_ERR_IO);
    contains(jp_last_error(), "HTML");
    fclose(full);
}

/* ---- the CLI ------------------------------------------------------------------------------------------ */

static const char *cli;

/* Runs jouleprint with args; stdout to outfile, stderr to errfile. Returns the exit status. */
static int run_cli(const char *outfile, const char *errfile, const char *const *args)
{
    return ft_run_cli(outfile, errfile, args);
}

static void test_cli(void **state)
{
    (void)state;
    cli = getenv("JP_CLI");
    if (!cli || !*cli) fail_msg("JP_CLI is not set: run this test under ctest");
    char db[PATH_MAX], out[PATH_MAX], err[PATH_MAX], html[PATH_MAX], missing[PATH_MAX];
    snprintf(db, sizeof db, "%s/cli.db", tmpdir);
    snprintf(out, sizeof out, "%s/out.txt", tmpdir);
    snprintf(err, sizeof err, "%s/err.txt", tmpdir);
    snprintf(html, sizeof html, "%s/run1.html", tmpdir);
    snprintf(missing, sizeof missing, "%s/missing.db", tmpdir);

    /* errors first: no store, named in the message; bad options */
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--db", missing, NULL}), 1);
    char *e = slurp(err);
    contains(e, missing);
    contains(e, "no such results store");
    free(e);
    assert_int_equal(access(missing, F_OK), -1);
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--format", "pdf", NULL}), 2);
    e = slurp(err);
    contains(e, "table, csv, json, md or html");
    free(e);
    /* -o x.pdf: refused, and nothing written (it used to write a text table into x.pdf) */
    char pdf[PATH_MAX + 16];
    snprintf(pdf, sizeof pdf, "%s/x.pdf", tmpdir);
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "-o", pdf, NULL}), 2);
    e = slurp(err);
    contains(e, "jouleprint report: -o ");
    contains(e, "unknown extension \".pdf\"");
    free(e);
    assert_int_equal(access(pdf, F_OK), -1);
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--run", "abc", NULL}), 2);
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--help", NULL}), 0);
    e = slurp(out);
    contains(e, "usage: jouleprint report");
    contains(e, "--format");
    contains(e, "examples:");
    free(e);

    /* a store with two runs */
    jp_store *s;
    assert_int_equal(jp_store_open(&s, db, JP_STORE_CREATE), JP_OK);
    struct jp_bench_run r;
    fix_build_run(&r);
    assert_int_equal(jp_store_save(s, &r), JP_OK);
    snprintf(r.spec_path, sizeof r.spec_path, "second.yaml");
    snprintf(r.tasks[0].models[1].name, sizeof r.tasks[0].models[1].name, "base-v2");
    assert_int_equal(jp_store_save(s, &r), JP_OK);
    jp_bench_run_clear(&r);
    jp_store_close(s);

    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--db", db, "--list", NULL}), 0);
    char *o = slurp(out);
    contains(o, "second.yaml");
    contains(o, "examples/seed.yaml");
    contains(o, "classify: base-v2; ocr: " FIX_SCRIPT_NAME);
    assert_true(strstr(o, "second.yaml") < strstr(o, "examples/seed.yaml")); /* newest first */
    free(o);
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--db", db, "--list", "--format", "json", NULL}), 0);
    json_error_t jerr;
    json_t *j = json_load_file(out, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "failed")), 1);
    json_decref(j);

    /* the latest run by default, as a table */
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--db", db, NULL}), 0);
    o = slurp(out);
    contains(o, "run 2, complete");
    contains(o, "base-v2 uses 25.96% (18.6% to 33.3%) less energy per item than large at the same accuracy.");
    free(o);
    /* run 1 as HTML, the format taken from -o's extension */
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--db", db, "--run", "1", "-o", html, NULL}), 0);
    o = slurp(html);
    assert_true(!strncmp(o, "<!DOCTYPE html>", 15));
    contains(o, "base uses 25.96% (18.6% to 33.3%) less");
    free(o);
    /* --format wins over the extension; every format through the CLI */
    const char *fmts[] = {"table", "csv", "json", "md", "html"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(run_cli(out, err, (const char *[]){"report", "--db", db, "--run", "1", "--format", fmts[i], "-o",
                                                            html, NULL}),
                         0);
        o = slurp(html);
        assert_true(strlen(o) > 500);
        assert_int_equal(!strncmp(o, "<!DOCTYPE html>", 15), i == 4);
        free(o);
    }
    /* no such run: the message names the store and what it holds */
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--db", db, "--run", "9", NULL}), 1);
    e = slurp(err);
    contains(e, db);
    contains(e, "no run 9");
    contains(e, "runs 1-2");
    free(e);
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--db", db, "--list", "--run", "1", NULL}), 2);
    assert_int_equal(run_cli(out, err, (const char *[]){"report", "--db", db, "--list", "--format", "html", NULL}), 2);
}

static int setup(void **state)
{
    (void)state;
    if (fix_scratch_make(tmpdir, sizeof tmpdir, "report")) return -1;
    fix_build_run(&run);
    run.id = 7;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    jp_bench_run_clear(&run);
    return fix_scratch_remove(tmpdir);
}



/* The charts are right in a screenshot: in "CO2e by region" each model's value sits at the end of its
 * own bar (the pick's was written at the end of the largest model's bar); the timeline is one panel per
 * model on a time axis with round ticks in the unit shown (2.5 min, not 3.333), says where each figure
 * came from, and draws a run too short for a line. */
static void test_html_charts(void **state)
{
    (void)state;
    struct jp_bench_run r;
    fix_build_run(&r);
    /* a 700 s timeline for large (minutes on the axis), and a run of 0.04 s for small */
    struct jp_bench_model *small = &r.tasks[0].models[0], *large = &r.tasks[0].models[2];
    for (size_t k = 0; k < large->nsamples; k++) large->sample_t[k] = 700.0 * (double)(k + 1) / (double)large->nsamples;
    small->nsamples = 2;
    small->sample_t[0] = 0.02;
    small->sample_t[1] = 0.04;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(jp_report_html(out, &r), JP_OK);
    fclose(out);
    /* the regions chart of classify: base (pick) and large both labelled, each at its own bar's end */
    const char *reg = strstr(buf, "data-region=\"gcp:asia-south1\"");
    assert_non_null(reg);
    const char *rect = strstr(reg, "<rect x=\"");
    double x0, w0, y0, h0;
    assert_int_equal(sscanf(rect, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\"", &x0, &y0, &w0, &h0), 4);
    const char *lp = strstr(reg, "data-value-of=\"pick\" x=\"");
    double lx;
    assert_non_null(lp);
    assert_int_equal(sscanf(lp, "data-value-of=\"pick\" x=\"%lf\"", &lx), 1);
    assert_float_equal(lx, x0 + w0 + 5, 0.11); /* the pick's value right after the pick's bar */
    const char *rect2 = strstr(rect + 1, "<rect x=\"");
    double x1, w1, y1, h1, rx;
    assert_int_equal(sscanf(rect2, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\"", &x1, &y1, &w1, &h1), 4);
    const char *lr = strstr(reg, "data-value-of=\"largest\" x=\"");
    assert_non_null(lr);
    assert_int_equal(sscanf(lr, "data-value-of=\"largest\" x=\"%lf\"", &rx), 1);
    assert_float_equal(rx, x1 + w1 + 5, 0.11);
    assert_true(w1 > w0 + 50); /* large's bar is the longer: the pick's value is not at its end */
    /* the timeline: a panel per model, minutes with round ticks, the origin of each figure */
    const char *tl = strstr(buf, "aria-label=\"Power during the last measured run of each model\"");
    if (!tl) tl = strstr(buf, "Power during the last measured run of each model");
    assert_non_null(tl);
    contains(tl, "time since the run started (min)");
    contains(tl, ">2.5</text>");
    contains(tl, ">7.5</text>");
    lacks(tl, ">3.333</text>");
    contains(tl, "too short to draw as a line");
    contains(tl, "estimate: power model,");
    contains(tl, "follows CPU utilisation");
    assert_true(count(tl, "data-estimated=\"true\"") >= 3);
    free(buf);
    jp_bench_run_clear(&r);
}

/* A saving whose interval includes 0 is never called a saving: not in the conclusions, the table, the
 * summary's pick, nor the HTML card. */
static void test_no_significant_saving(void **state)
{
    (void)state;
    struct jp_bench_run r;
    fix_build_run(&r);
    struct jp_bench_model *base = &r.tasks[0].models[1];
    const double f[3] = {1.25, 1.0, 0.75}; /* rounds against large's 0.98, 1.00, 1.02 */
    for (int k = 0; k < 3; k++) base->rep_attr_j_per_item[k] = base->attr_j_per_item * f[k];
    jp_bench_analyze(&r);
    /* per-round savings 5.6%, 26.0%, 45.6%: t half-width 49.7 points around 25.96% */
    assert_true(base->saving_lo < 0 && base->saving_hi > 0);
    assert_false(base->saving_significant);
    assert_float_equal(base->saving_lo, -23.73, 0.01);
    assert_float_equal(base->saving_hi, 75.65, 0.01);
    assert_int_equal(r.tasks[0].pick, 1); /* still the pick, but not said to save anything */
    char text[4096];
    jp_report_conclusions(&r, &r.tasks[0], text, sizeof text);
    contains(text, "base: no significant saving against large (95% interval -23.7% to 75.6%) at the same accuracy.");
    assert_null(strstr(text, "base uses 25.96%"));
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(jp_report_table(out, &r), JP_OK);
    jp_report_summary(out, &r);
    assert_int_equal(jp_report_html(out, &r), JP_OK);
    fclose(out);
    contains(buf, "no significant saving (-23.7 to 75.6%)");
    contains(buf, "Pick base: no significant saving against large, the largest (95% interval -23.7% to 75.6%)");
    assert_null(strstr(buf, "25.96% less"));
    assert_null(strstr(buf, "25.96% (no interval)"));
    free(buf);
    jp_bench_run_clear(&r);
}

/* Intervals are cut to what is possible: a saving of more than 100% or an energy below 0 cannot be
 * (3 noisy runs of a tiny model gave "0.20 mJ, -0.44 to 0.84 mJ" and "96.92% (86.6 to 107.3%)") */
static void test_intervals_cut_to_possible(void **state)
{
    (void)state;
    struct jp_bench_run r;
    fix_build_run(&r);
    struct jp_bench_model *base = &r.tasks[0].models[1];
    /* per round a tenth, a fiftieth and a thousandth of large's energy: savings 90%, 98%, 99.9% */
    const double f[3] = {0.1, 0.02, 0.001};
    double sum = 0;
    for (int k = 0; k < 3; k++) sum += base->rep_attr_j_per_item[k] = r.tasks[0].models[0].rep_attr_j_per_item[k] * f[k];
    base->attr_j_per_item = sum / 3;
    jp_bench_analyze(&r);
    printf("energy %.6g (%.6g .. %.6g), saving %.3f (%.3f .. %.3f)\n", base->cmp_j_per_item, base->cmp_lo,
           base->cmp_hi, base->saving_pct, base->saving_lo, base->saving_hi);
    assert_true(base->cmp_lo == 0.0 && base->cmp_hi > base->cmp_j_per_item);
    assert_true(base->saving_hi == 100.0);
    assert_true(base->saving_lo < base->saving_pct && base->saving_lo > 70);
    assert_true(base->saving_significant);
    jp_bench_run_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names), cmocka_unit_test(test_conclusions), cmocka_unit_test(test_no_significant_saving), cmocka_unit_test(test_intervals_cut_to_possible),
        cmocka_unit_test(test_html_charts),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_csv),          cmocka_unit_test(test_json),        cmocka_unit_test(test_md),
        cmocka_unit_test(test_html),         cmocka_unit_test(test_unscored_and_empty),
        cmocka_unit_test(test_write_error),  cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
