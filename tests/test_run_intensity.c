/*
 * A run keeps its intensity whole (issue 12): the figure, its region, its source and its year go into
 * the store (schema 3) and come back out, so that the reports take the year from the run instead of
 * guessing it from the number. A run stored with --intensity 123 reports 123 given; one stored with
 * --region "North Virginia" --year 2021 reports that region's 2021 figure and compares the seed's
 * regions in 2021; a figure from a file of one's own, with its year, is compared in that year (the old
 * guess, which looked for the year whose built-in figure equals the number, found none and fell back
 * to the latest). A store written before schema 3 (no year) still loads read-only, imports, and is
 * brought to schema 3 when opened to write; its runs say their year is unknown, and the reports infer
 * it from the figure and say so.
 */
#define _POSIX_C_SOURCE 200809L
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
#include <jansson.h>
#include <sqlite3.h>

#include "bench_fixture.h"
#include "fake_tree.h"
#include "jouleprint/bench.h"

static char tmpdir[256];

static void path_of(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmpdir, name); }

static long query_long(const char *db, const char *sql, bool *null)
{
    sqlite3 *h;
    long v = -999;
    if (null) *null = false;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (null) *null = sqlite3_column_type(st, 0) == SQLITE_NULL;
        v = (long)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void sql_exec(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(h);
}

/* The JSON report of run (jp_report_json), parsed. */
static json_t *report_json(const struct jp_bench_run *run)
{
    char path[400];
    path_of(path, sizeof path, "report.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(jp_report_json(f, run), JP_OK);
    fclose(f);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) fail_msg("report: not JSON: %s", err.text);
    return j;
}

/* The text summary of run (jp_report_summary), into buf. */
static void summary_text(const struct jp_bench_run *run, char *buf, size_t len)
{
    char path[400];
    path_of(path, sizeof path, "summary.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    jp_report_summary(f, run);
    fclose(f);
    f = fopen(path, "r");
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* The year of the seed regions the first task's regions carry (each the same), 0 when they differ. */
static int seed_year(json_t *report)
{
    json_t *regions = json_object_get(json_array_get(json_object_get(report, "tasks"), 0), "regions");
    assert_true(json_array_size(regions) >= 20);
    int year = -1;
    for (size_t i = 0; i < json_array_size(regions); i++) {
        json_t *r = json_array_get(regions, i);
        if (!json_is_true(json_object_get(r, "seed"))) continue;
        int y = (int)json_integer_value(json_object_get(r, "year"));
        if (year < 0) year = y;
        else if (y != year) return 0;
    }
    return year;
}

static int latest_year(const char *region)
{
    jp_intensity x;
    assert_int_equal(jp_intensity_lookup(region, &x), JP_OK);
    return x.year;
}

/* A figure of one's own with its year (an --intensity-file row): stored, loaded, and the seed's regions
 * compared in that year. */
static void test_store_keeps_the_year(void **state)
{
    (void)state;
    char db_path[400];
    path_of(db_path, sizeof db_path, "year.db");
    unlink(db_path);
    jp_store *db;
    assert_int_equal(jp_store_open(&db, db_path, JP_STORE_CREATE), JP_OK);
    struct jp_bench_run run;
    fix_build_run(&run);
    snprintf(run.region, sizeof run.region, "gcp:us-east4");
    run.g_per_kwh = 500; /* no built-in year has this figure */
    snprintf(run.intensity_source, sizeof run.intensity_source, "my-grid.csv (2021)");
    run.intensity_year = 2021;
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(query_long(db_path, "SELECT intensity_year FROM runs", NULL), 2021);
    struct jp_bench_run back;
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_string_equal(back.region, "gcp:us-east4");
    assert_true(back.g_per_kwh == 500);
    assert_string_equal(back.intensity_source, "my-grid.csv (2021)");
    assert_int_equal(back.intensity_year, 2021);
    json_t *j = report_json(&back);
    assert_int_equal(json_integer_value(json_object_get(j, "intensity_year")), 2021);
    assert_true(2021 != latest_year("gcp:us-east4"));
    assert_int_equal(seed_year(j), 2021); /* the guess found no year for 500 and used the latest */
    json_decref(j);
    char text[16384];
    summary_text(&back, text, sizeof text);
    assert_null(strstr(text, "inferred"));
    jp_bench_run_clear(&back);

    /* a figure given with --intensity: no year (stored as 0, not unknown), the latest figures compared */
    snprintf(run.region, sizeof run.region, "custom");
    run.g_per_kwh = 123;
    snprintf(run.intensity_source, sizeof run.intensity_source, "given with --intensity");
    run.intensity_year = 0;
    run.id = 0;
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    bool null;
    assert_int_equal(query_long(db_path, "SELECT intensity_year FROM runs WHERE id = 2", &null), 0);
    assert_false(null);
    assert_int_equal(jp_store_load(db, 2, &back), JP_OK);
    assert_true(back.g_per_kwh == 123);
    assert_int_equal(back.intensity_year, 0);
    j = report_json(&back);
    assert_true(json_is_null(json_object_get(j, "intensity_year")));
    assert_true(json_real_value(json_object_get(j, "g_per_kwh")) == 123);
    assert_int_equal(seed_year(j), latest_year("gcp:us-west1"));
    json_decref(j);
    jp_bench_run_clear(&back);
    jp_bench_run_clear(&run);
    jp_store_close(db);
}

/* A store of schema 2 (no year): made from one of this version by taking the column, the images table
 * (schema 4) and their versions out. */
static void make_old_store(const char *path, double g_per_kwh)
{
    unlink(path);
    jp_store *db;
    assert_int_equal(jp_store_open(&db, path, JP_STORE_CREATE), JP_OK);
    struct jp_bench_run run;
    fix_build_run(&run);
    snprintf(run.region, sizeof run.region, "gcp:us-east4");
    run.g_per_kwh = g_per_kwh;
    snprintf(run.intensity_source, sizeof run.intensity_source, "Google Cloud region-carbon-info 2021");
    run.intensity_year = 2021;
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    jp_bench_run_clear(&run);
    jp_store_close(db);
    sql_exec(path, "ALTER TABLE runs DROP COLUMN intensity_year; DROP TABLE images;"
                   "DELETE FROM schema_version WHERE version >= 3");
    assert_int_equal(query_long(path, "SELECT max(version) FROM schema_version", NULL), 2);
}

static void test_old_store_still_loads(void **state)
{
    (void)state;
    jp_intensity y2021;
    assert_int_equal(jp_intensity_lookup_year("gcp:us-east4", 2021, &y2021), JP_OK);
    char old[400], fresh[400];
    path_of(old, sizeof old, "old.db");
    path_of(fresh, sizeof fresh, "fresh.db");
    make_old_store(old, y2021.g_per_kwh);

    /* read-only: as it is, the year unknown; the reports infer it from the figure and say so */
    jp_store *db;
    assert_int_equal(jp_store_open(&db, old, JP_STORE_READONLY), JP_OK);
    struct jp_bench_run back;
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    jp_store_close(db);
    assert_true(back.g_per_kwh == y2021.g_per_kwh);
    assert_int_equal(back.intensity_year, -1);
    assert_int_equal(back.ntasks, 2);
    json_t *j = report_json(&back);
    assert_true(json_is_null(json_object_get(j, "intensity_year")));
    assert_int_equal(seed_year(j), 2021);
    json_decref(j);
    char text[16384];
    summary_text(&back, text, sizeof text);
    assert_non_null(strstr(text, "the year 2021 is inferred from the run's figure"));
    jp_bench_run_clear(&back);
    assert_int_equal(query_long(old, "SELECT max(version) FROM schema_version", NULL), 2); /* a read never writes */

    /* imported into a store of this version: the run arrives, its year still unknown (NULL) */
    unlink(fresh);
    assert_int_equal(jp_store_open(&db, fresh, JP_STORE_CREATE), JP_OK);
    struct jp_store_import_result res;
    if (jp_store_import(db, old, &res) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(res.imported, 1);
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_int_equal(back.intensity_year, -1);
    assert_true(back.g_per_kwh == y2021.g_per_kwh);
    jp_bench_run_clear(&back);
    if (jp_store_import(db, old, &res) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(res.imported, 0); /* the same run: not twice */
    assert_int_equal(res.duplicates, 1);
    jp_store_close(db);
    bool null;
    query_long(fresh, "SELECT intensity_year FROM runs", &null);
    assert_true(null);

    /* opened to write: brought to this schema, the old run's year NULL, a new run's kept */
    assert_int_equal(jp_store_open(&db, old, 0), JP_OK);
    assert_int_equal(query_long(old, "SELECT max(version) FROM schema_version", NULL), JP_STORE_SCHEMA_VERSION);
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_int_equal(back.intensity_year, -1);
    back.intensity_year = 2021;
    back.id = 0;
    assert_int_equal(jp_store_save(db, &back), JP_OK);
    jp_bench_run_clear(&back);
    jp_store_close(db);
    assert_int_equal(query_long(old, "SELECT intensity_year FROM runs WHERE id = 2", NULL), 2021);
    query_long(old, "SELECT intensity_year FROM runs WHERE id = 1", &null);
    assert_true(null);
}

/* ---- the commands -------------------------------------------------------------------------------- */

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) fail_msg("%s: not JSON: %s", path, err.text);
    return j;
}

static void write_spec(const char *path)
{
    char items[400];
    path_of(items, sizeof items, "items.txt");
    FILE *f = fopen(items, "w");
    assert_non_null(f);
    for (int i = 0; i < 5; i++) fprintf(f, "item-%d\n", i);
    fclose(f);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("repeats: 1\nwarmup: 0\ntimeout: 60s\ntasks:\n  - name: copy\n    items: items.txt\n    scorer: none\n"
          "    models:\n      - name: cat\n        command: sh -c 'cat {inputs} > {outputs}'\n",
          f);
    fclose(f);
}

static void test_bench_stores_the_intensity(void **state)
{
    (void)state;
    char spec[400], db[400], out[400], err[400];
    path_of(spec, sizeof spec, "spec.yaml");
    path_of(db, sizeof db, "bench.db");
    path_of(out, sizeof out, "out.json");
    path_of(err, sizeof err, "err.txt");
    write_spec(spec);
    unlink(db);

    /* --intensity 123: stored and reported as given */
    const char *given[] = {"bench", "--db", db, "--intensity", "123", "--format", "json", "-o", out,
                           "--interval", "10ms", spec, NULL};
    assert_int_equal(ft_run_cli(NULL, err, given), 0);
    json_t *j = load_json(out);
    assert_true(json_real_value(json_object_get(j, "g_per_kwh")) == 123);
    assert_non_null(strstr(json_string_value(json_object_get(j, "intensity_source")), "given"));
    json_decref(j);
    const char *report[] = {"report", "--db", db, "--run", "1", "--format", "json", "-o", out, NULL};
    assert_int_equal(ft_run_cli(NULL, err, report), 0);
    j = load_json(out);
    assert_true(json_real_value(json_object_get(j, "g_per_kwh")) == 123);
    assert_non_null(strstr(json_string_value(json_object_get(j, "intensity_source")), "given"));
    assert_true(json_is_null(json_object_get(j, "intensity_year")));
    json_decref(j);
    bool null;
    assert_int_equal(query_long(db, "SELECT intensity_year FROM runs WHERE id = 1", &null), 0);
    assert_false(null);

    /* --region "North Virginia" --year 2021: that figure, its year kept, the seed compared in 2021 */
    jp_intensity y2021;
    assert_int_equal(jp_intensity_lookup_year("North Virginia", 2021, &y2021), JP_OK);
    const char *year[] = {"bench", "--db", db, "--region", "North Virginia", "--year", "2021", "--format", "json",
                          "-o", out, "--interval", "10ms", spec, NULL};
    assert_int_equal(ft_run_cli(NULL, err, year), 0);
    const char *report2[] = {"report", "--db", db, "--run", "2", "--format", "json", "-o", out, NULL};
    assert_int_equal(ft_run_cli(NULL, err, report2), 0);
    j = load_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "region")), "gcp:us-east4");
    assert_true(json_real_value(json_object_get(j, "g_per_kwh")) == y2021.g_per_kwh);
    assert_int_equal(json_integer_value(json_object_get(j, "intensity_year")), 2021);
    assert_int_equal(seed_year(j), 2021);
    json_decref(j);
    assert_int_equal(query_long(db, "SELECT intensity_year FROM runs WHERE id = 2", NULL), 2021);

    /* a year the region has no figure for: refused before anything runs, one line naming the years */
    const char *bad[] = {"bench", "--db", db, "--region", "North Virginia", "--year", "1995", spec, NULL};
    assert_int_equal(ft_run_cli(NULL, err, bad), 2);
    assert_int_equal(query_long(db, "SELECT count(*) FROM runs", NULL), 2);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jp-test-intensity-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_keeps_the_year),
        cmocka_unit_test(test_old_store_still_loads),
        cmocka_unit_test(test_bench_stores_the_intensity),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
