/*
 * Escaping at the writer boundary (src/escape.c): each kind's bytes exactly, the escaping printf,
 * the error channel, and a results database whose every stored string is hostile (markup, quotes,
 * ESC[2J, CR, LF, |, a spreadsheet formula, a C1 control, a bidi override) rendered in every format:
 * the output bytes are checked for anything live (a tag, a broken table or CSV row, a control
 * character on the terminal).
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench_fixture.h"
#include "escape.h"
#include "report/report.h"
#include "util.h"

/* ESC[2J clears a terminal; C2 9B is U+009B (CSI); E2 80 AE is U+202E (right-to-left override). */
#define HOSTILE "<svg onload=x>\"'|\x1b[2J\r\n=c\xc2\x9b\xe2\x80\xae"

static char tmpdir[PATH_MAX - 64];

static char *esc_s(enum jp_esc_kind k, const char *s)
{
    size_t need = jp_esc_str(NULL, 0, k, s);
    char *b = malloc(need + 1);
    assert_non_null(b);
    assert_int_equal(jp_esc_str(b, need + 1, k, s), need);
    assert_int_equal(strlen(b), need);
    return b;
}

static void expect(enum jp_esc_kind k, const char *in, const char *want)
{
    char *got = esc_s(k, in);
    if (strcmp(got, want)) fail_msg("kind %d: \"%s\" became \"%s\", expected \"%s\"", (int)k, in, got, want);
    free(got);
}

static void test_kinds(void **state)
{
    (void)state;
    expect(JP_ESC_HTML, "<a href=\"x\">'&'</a>", "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    expect(JP_ESC_HTML, "a\x1b[2Jb\x7f\tc\nd", "a [2Jb \tc\nd");
    expect(JP_ESC_MD, "a|b\nc\\d*e_[f]#`<g>&", "a\\|b c\\\\d\\*e\\_\\[f\\]\\#\\`&lt;g&gt;&amp;");
    expect(JP_ESC_MD, "x\x1b[2J\r\n", "x \\[2J  ");
    expect(JP_ESC_CSV, "plain text", "plain text");
    expect(JP_ESC_CSV, "a,b", "\"a,b\"");
    expect(JP_ESC_CSV, "say \"hi\"", "\"say \"\"hi\"\"\"");
    expect(JP_ESC_CSV, "two\nlines", "\"two\nlines\"");
    expect(JP_ESC_CSV, " padded", "\" padded\"");
    expect(JP_ESC_CSV, "=1+2", "\"'=1+2\"");
    expect(JP_ESC_CSV, "@SUM(A1)", "\"'@SUM(A1)\"");
    expect(JP_ESC_CSV, "-cmd", "\"'-cmd\"");
    expect(JP_ESC_CSV, "a\x1b[2Jb", "a\\x1b[2Jb");
    expect(JP_ESC_CSV, "", "");
    expect(JP_ESC_TERM, "plain, \"quoted\" <ok> | \\ done", "plain, \"quoted\" <ok> | \\ done");
    expect(JP_ESC_TERM, "\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07");
    expect(JP_ESC_TERM, "a\nb\rc\td\x7f", "a\\nb\\rc\\td\\x7f");
    expect(JP_ESC_TERM, "csi \xc2\x9b" "31m", "csi \\u009b31m");
    expect(JP_ESC_TERM, "\xe2\x80\xae" "evil\xe2\x81\xa6" "x\xe2\x80\xa8", "\\u202eevil\\u2066x\\u2028");
    /* UTF-8 text stays; bytes that are not UTF-8 (stray, overlong, surrogate, truncated) are shown */
    expect(JP_ESC_TERM, "Zürich µs ●", "Zürich µs ●");
    expect(JP_ESC_TERM, "\xff\x9b", "\\xff\\x9b");
    expect(JP_ESC_TERM, "\xc0\xaf", "\\xc0\\xaf");
    expect(JP_ESC_TERM, "\xed\xa0\x80", "\\xed\\xa0\\x80");
    expect(JP_ESC_TERM, "end\xe2\x80", "end\\xe2\\x80");
    expect(JP_ESC_LINE, "a\r\nb\x1b", "a  b\x1b");
    expect(JP_ESC_HTML, NULL, "");
}

static void test_cut(void **state)
{
    (void)state;
    char b[8];
    /* cut at a whole escape, always terminated, the length it needed returned */
    assert_int_equal(jp_esc_str(b, sizeof b, JP_ESC_TERM, "ab\x1b\x1b"), 10);
    assert_string_equal(b, "ab\\x1b");
    assert_int_equal(jp_esc_str(b, sizeof b, JP_ESC_HTML, "abcd<"), 8);
    assert_string_equal(b, "abcd");
    assert_int_equal(jp_esc_str(b, 1, JP_ESC_HTML, "x"), 1);
    assert_string_equal(b, "");
}

static char *escf(enum jp_esc_kind k, const char *fmt, ...)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    int n = jp_vescf(f, k, fmt, ap);
    va_end(ap);
    fclose(f);
    assert_int_equal((size_t)n, len);
    return buf;
}

static void test_printf(void **state)
{
    (void)state;
    char *s = escf(JP_ESC_TERM, "[%-8s|%5.2f|%zu|%ld|%lld|%x|%c|%%|%3d|%.3s]\n", "a\x1b", 3.14159, (size_t)42, -7L,
                   123456789012LL, 255u, '\x1b', 5, "abcdef");
    assert_string_equal(s, "[a\\x1b   | 3.14|42|-7|123456789012|ff|\\x1b|%|  5|abc]\n");
    free(s);
    /* width and precision from the arguments; the format's own controls are kept */
    s = escf(JP_ESC_TERM, "\r\033[K%*s|%-*.*s|%e\n", 6, "<x>", 5, 2, "\nzz", 1e10);
    assert_string_equal(s, "\r\033[K   <x>|\\n   |1.000000e+10\n");
    free(s);
    s = escf(JP_ESC_HTML, "<td title=\"%s\">%s</td>", "\"><script>", "a&b");
    assert_string_equal(s, "<td title=\"&quot;&gt;&lt;script&gt;\">a&amp;b</td>");
    free(s);
}

static void test_error_channel(void **state)
{
    (void)state;
    /* a name from a spec or a child's output in an error message: one line, nothing live */
    assert_int_equal(jp_fail(JP_ERR_PARSE, "spec.yaml: line %d: model %s: bad", 3, "x\x1b[2J\ny"), JP_ERR_PARSE);
    assert_string_equal(jp_last_error(), "spec.yaml: line 3: model x\\x1b[2J\\ny: bad");
    /* re-raising the last error keeps it (no double escape) */
    jp_fail(JP_ERR_IO, "store: %s", jp_last_error());
    assert_string_equal(jp_last_error(), "store: spec.yaml: line 3: model x\\x1b[2J\\ny: bad");
    /* long messages are cut, terminated */
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    jp_fail(JP_ERR_IO, "%s", big);
    assert_int_equal(strlen(jp_last_error()), 1023);
}

/* ---- a store with hostile strings, rendered in every format --------------------------------------- */

static void set_hostile(struct jp_bench_run *run)
{
#define H(field) snprintf(field, sizeof field, "%s", HOSTILE)
    H(run->spec_path);
    H(run->machine);
    H(run->sources);
    H(run->region);
    H(run->intensity_source);
    for (size_t t = 0; t < run->ntasks; t++) {
        struct jp_bench_task *k = &run->tasks[t];
        H(k->name);
        k->name[strlen(k->name) - 1] = (char)('0' + t); /* task names differ */
        H(k->metric);
        H(k->items);
        H(k->references);
        for (size_t i = 0; i < k->nmodels; i++) {
            struct jp_bench_model *m = &k->models[i];
            snprintf(m->name, sizeof m->name, "%s%zu", HOSTILE, i); /* model names differ */
            H(m->command);
            if (m->status != JP_MODEL_OK) snprintf(m->error, sizeof m->error, "=HYPERLINK(\"x\")|%s", HOSTILE);
            /* the main metric keeps its value under its new name */
            for (size_t j = 0; j < m->nmetrics; j++)
                if (!strcmp(m->metrics[j].name, k->metric) || j == 0) H(m->metrics[j].name);
        }
    }
#undef H
}

static char *render(const struct jp_bench_run *run, enum jp_report_format f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    if (jp_report_write(out, run, f) != JP_OK) fail_msg("%s: %s", jp_report_format_name(f), jp_last_error());
    fclose(out);
    assert_int_equal(strlen(buf), len); /* no NUL written */
    return buf;
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static void lacks(const char *text, const char *what, const char *format)
{
    const char *p = strstr(text, what);
    if (p) fail_msg("%s: live \"%s\" at byte %td", format, what, p - text);
}

/* Terminal text: no control byte but LF, no C1 control, no bidi override. */
static void terminal_clean(const char *text, const char *format)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f) fail_msg("%s: control byte 0x%02x at %td", format, *p, (const char *)p - text);
    lacks(text, "\xc2\x9b", format);
    lacks(text, "\xe2\x80\xae", format);
}

/* A line of the text that starts with what the hostile string holds after its newline. */
static void no_line_starts(const char *text, const char *what, const char *format)
{
    size_t n = strlen(what);
    for (const char *p = text; p; p = strchr(p, '\n')) {
        if (*p == '\n') p++;
        if (!strncmp(p, what, n)) fail_msg("%s: a stored newline started a line: %.40s", format, p);
    }
}

/* Fields of an RFC 4180 record at *p; moves *p past it. */
static size_t csv_record(const char **p, char fields[][600], size_t max)
{
    size_t n = 0;
    const char *s = *p;
    for (;;) {
        char f[600];
        size_t k = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                if (!*s) fail_msg("CSV: unterminated quote");
                if (*s == '"' && s[1] == '"') {
                    if (k < sizeof f - 1) f[k++] = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    if (k < sizeof f - 1) f[k++] = *s;
                    s++;
                }
            }
        } else {
            while (*s && *s != ',' && *s != '\n') {
                if (*s == '"') fail_msg("CSV: quote inside an unquoted field");
                if (k < sizeof f - 1) f[k++] = *s;
                s++;
            }
        }
        f[k] = '\0';
        if (n < max) memcpy(fields[n], f, k + 1);
        n++;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\n') s++;
        else if (*s) fail_msg("CSV: junk after a quoted field");
        break;
    }
    *p = s;
    return n;
}

static void check_html(const char *t)
{
    lacks(t, "<svg onload", "HTML");
    lacks(t, "onload=x>", "HTML");
    lacks(t, "\x1b", "HTML");
    lacks(t, "\r", "HTML");
    assert_int_equal(count(t, "<script"), 1); /* our own, constant script */
    /* each stored string is there, as text */
    assert_true(count(t, "&lt;svg onload=x&gt;&quot;&#39;|") > 20);
    /* no attribute value broken out of: every data-model="..." value is the escaped name */
    for (const char *p = strstr(t, "data-model=\""); p; p = strstr(p + 1, "data-model=\"")) {
        const char *v = p + 12, *end = strchr(v, '"');
        assert_non_null(end);
        if (strncmp(v, "&lt;svg onload=x&gt;&quot;&#39;|", 31)) fail_msg("HTML: attribute value %.60s", v);
    }
}

static void check_md(const char *t)
{
    lacks(t, "<svg", "Markdown");
    lacks(t, "<b>", "Markdown");
    lacks(t, "\x1b", "Markdown");
    lacks(t, "\r", "Markdown");
    no_line_starts(t, "=c\xc2", "Markdown");
    no_line_starts(t, "=x", "Markdown");
    /* every table row has the header's 15 cells: no stored | breaks one */
    size_t rows = 0;
    for (const char *line = t; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (*line != '|') continue;
        size_t bars = 0;
        for (const char *p = line; *p && *p != '\n'; p++)
            if (*p == '|' && (p == line || p[-1] != '\\')) bars++;
        if (bars != 16) fail_msg("Markdown: a row with %zu bars: %.80s", bars, line);
        rows++;
    }
    assert_int_equal(rows, 2 * (2 + 3)); /* two tasks: header, rule and three models */
    assert_true(count(t, "\\|") > 10);
}

static void check_csv(const char *t)
{
    lacks(t, "\x1b", "CSV");
    static char f[64][600];
    const char *p = t;
    size_t ncols = csv_record(&p, f, 64), rows = 0;
    assert_true(ncols > 20);
    size_t err_col = 64, metric_col = 64;
    for (size_t i = 0; i < ncols && i < 64; i++) {
        if (!strcmp(f[i], "error")) err_col = i;
        if (!strcmp(f[i], "metric")) metric_col = i;
    }
    assert_true(err_col < 64 && metric_col < 64);
    bool saw_error = false;
    while (*p) {
        size_t n = csv_record(&p, f, 64);
        if (n != ncols) fail_msg("CSV: a record with %zu fields, the header has %zu", n, ncols);
        rows++;
        /* the stored text comes back whole (control characters shown), no formula starts a field */
        assert_string_equal(f[metric_col], "<svg onload=x>\"'|\\x1b[2J\r\n=c\xc2\x9b\xe2\x80\xae");
        for (size_t i = 0; i < n; i++)
            if (f[i][0] == '=' || f[i][0] == '@') fail_msg("CSV: field %zu starts a formula: %s", i, f[i]);
        if (*f[err_col]) {
            assert_true(!strncmp(f[err_col], "'=HYPERLINK(\"x\")|<svg", 21));
            saw_error = true;
        }
    }
    assert_int_equal(rows, 6);
    assert_true(saw_error);
}

static void check_json(const char *t, const struct jp_bench_run *run)
{
    lacks(t, "\x1b", "JSON");
    json_error_t e;
    json_t *j = json_loads(t, 0, &e);
    if (!j) fail_msg("JSON: line %d: %s", e.line, e.text);
    /* the strings come back exactly */
    json_t *tasks = json_object_get(j, "tasks");
    assert_true(json_is_array(tasks));
    json_t *t0 = json_array_get(tasks, 0);
    assert_string_equal(json_string_value(json_object_get(t0, "metric")), run->tasks[0].metric);
    assert_string_equal(json_string_value(json_object_get(j, "region")), run->region);
    json_decref(j);
}

static void check_terminal(const char *t, const char *format)
{
    terminal_clean(t, format);
    no_line_starts(t, "=c\xc2", format);
    assert_true(count(t, "\\x1b[2J") >= 3);
    assert_true(count(t, "\\u202e") >= 3);
}

static void render_all(const struct jp_bench_run *run)
{
    char *t = render(run, JP_REPORT_HTML);
    check_html(t);
    free(t);
    t = render(run, JP_REPORT_MD);
    check_md(t);
    free(t);
    t = render(run, JP_REPORT_CSV);
    check_csv(t);
    free(t);
    t = render(run, JP_REPORT_JSON);
    check_json(t, run);
    free(t);
    t = render(run, JP_REPORT_TABLE);
    check_terminal(t, "table");
    free(t);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    jp_report_summary(out, run);
    fclose(out);
    check_terminal(buf, "summary");
    free(buf);
}

static void test_hostile_store(void **state)
{
    (void)state;
    struct jp_bench_run run, back;
    fix_build_run(&run);
    set_hostile(&run);
    jp_bench_analyze(&run);
    char db[PATH_MAX];
    snprintf(db, sizeof db, "%s/hostile.db", tmpdir);
    jp_store *st = NULL;
    if (jp_store_open(&st, db, JP_STORE_CREATE) != JP_OK) fail_msg("%s", jp_last_error());
    if (jp_store_save(st, &run) != JP_OK) fail_msg("%s", jp_last_error());
    if (jp_store_load(st, JP_STORE_LATEST, &back) != JP_OK) fail_msg("%s", jp_last_error());
    /* the store keeps the bytes: escaping is the writers' */
    assert_string_equal(back.region, HOSTILE);
    assert_string_equal(back.tasks[0].metric, HOSTILE);
    assert_string_equal(back.tasks[1].models[2].error, run.tasks[1].models[2].error);
    render_all(&back);

    /* the list of runs in every format */
    struct jp_store_entry *list = NULL;
    size_t n = 0;
    if (jp_store_list(st, &list, &n) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(n, 1);
    const enum jp_report_format fs[] = {JP_REPORT_TABLE, JP_REPORT_MD, JP_REPORT_CSV, JP_REPORT_JSON};
    for (size_t k = 0; k < 4; k++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        assert_int_equal(jp_report_list(out, list, n, fs[k]), JP_OK);
        fclose(out);
        lacks(buf, "\x1b", jp_report_format_name(fs[k]));
        if (fs[k] == JP_REPORT_TABLE) terminal_clean(buf, "list");
        if (fs[k] == JP_REPORT_MD) lacks(buf, "<svg", "list md");
        free(buf);
    }
    free(list);
    jp_store_close(st);
    jp_bench_run_clear(&back);
    jp_bench_run_clear(&run);
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/jp-test-escape-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/hostile.db", tmpdir);
    unlink(p);
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),         cmocka_unit_test(test_cut),
        cmocka_unit_test(test_printf),        cmocka_unit_test(test_error_channel),
        cmocka_unit_test(test_hostile_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
