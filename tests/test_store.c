/*
 * The results store: a run built by hand (two tasks, three models each, one failed) saved and loaded
 * back equal field by field, timelines included; the list of runs; errors that name the store; a
 * save that fails half-way leaving nothing behind; the schema's version table; delete.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "bench_fixture.h"
#include "fake_tree.h"
#include "store.h"
#include "util.h"

static char tmpdir[PATH_MAX - 64];
static int counter;

static void db_path(char *buf, size_t len)
{
    snprintf(buf, len, "%s/store-%d.db", tmpdir, ++counter);
}

static jp_store *open_new(char *path, size_t len)
{
    db_path(path, len);
    jp_store *db = NULL;
    int rc = jp_store_open(&db, path, JP_STORE_CREATE);
    if (rc != JP_OK) fail_msg("open %s: %s", path, jp_last_error());
    return db;
}

/* doubles equal, NaN equal to NaN */
static void same_double(double a, double b, const char *what)
{
    if (isnan(a) && isnan(b)) return;
    if (a != b) fail_msg("%s: %.17g != %.17g", what, a, b);
}

#define SAME_STR(x, y, f) assert_string_equal((x)->f, (y)->f)
#define SAME_NUM(x, y, f) same_double((double)(x)->f, (double)(y)->f, #f)
#define SAME_INT(x, y, f) assert_int_equal((x)->f, (y)->f)

static void assert_model_equal(const struct jp_bench_model *a, const struct jp_bench_model *b)
{
    SAME_STR(a, b, name);
    SAME_STR(a, b, kind);
    SAME_STR(a, b, command);
    SAME_INT(a, b, status);
    SAME_STR(a, b, error);
    SAME_INT(a, b, runs);
    SAME_INT(a, b, warmups);
    SAME_INT(a, b, items_timed);
    SAME_INT(a, b, items_scored);
    SAME_NUM(a, b, energy_j);
    SAME_NUM(a, b, energy_j_sd);
    SAME_NUM(a, b, duration_s);
    SAME_NUM(a, b, duration_s_sd);
    SAME_NUM(a, b, above_idle_j);
    SAME_INT(a, b, nphases);
    for (size_t k = 0; k < a->nphases; k++) {
        SAME_STR(a, b, phases[k].name);
        SAME_NUM(a, b, phases[k].joules);
        SAME_NUM(a, b, phases[k].seconds);
    }
    SAME_NUM(a, b, infer_j);
    SAME_NUM(a, b, infer_s);
    SAME_NUM(a, b, load_j);
    SAME_NUM(a, b, load_s);
    SAME_NUM(a, b, j_per_item);
    SAME_NUM(a, b, wh_per_1000);
    SAME_NUM(a, b, latency_s);
    SAME_NUM(a, b, items_per_s);
    SAME_INT(a, b, nmetrics);
    for (size_t k = 0; k < a->nmetrics; k++) {
        SAME_STR(a, b, metrics[k].name);
        SAME_NUM(a, b, metrics[k].value);
    }
    SAME_NUM(a, b, score);
    SAME_INT(a, b, estimated);
    SAME_INT(a, b, is_reference);
    SAME_NUM(a, b, saving_pct);
    SAME_NUM(a, b, score_delta);
    SAME_INT(a, b, pareto);
    SAME_INT(a, b, rating);
    SAME_NUM(a, b, proj_kwh);
    SAME_NUM(a, b, proj_g);
    SAME_NUM(a, b, attr_j_per_item);
    SAME_NUM(a, b, cpu_share);
    SAME_NUM(a, b, other_share);
    SAME_NUM(a, b, cmp_j_per_item);
    SAME_NUM(a, b, cmp_lo);
    SAME_NUM(a, b, cmp_hi);
    SAME_NUM(a, b, saving_lo);
    SAME_NUM(a, b, saving_hi);
    SAME_INT(a, b, saving_significant);
    SAME_INT(a, b, nrep);
    for (size_t k = 0; k < a->nrep; k++) {
        same_double(a->rep_j_per_item[k], b->rep_j_per_item[k], "rep_j_per_item");
        same_double(a->rep_attr_j_per_item[k], b->rep_attr_j_per_item[k], "rep_attr_j_per_item");
    }
    SAME_INT(a, b, nsamples);
    for (size_t s = 0; s < a->nsamples; s++) {
        same_double(a->sample_t[s], b->sample_t[s], "sample_t");
        same_double(a->sample_w[s], b->sample_w[s], "sample_w");
    }
}

static void assert_run_equal(const struct jp_bench_run *a, const struct jp_bench_run *b)
{
    SAME_STR(a, b, started_at);
    SAME_STR(a, b, finished_at);
    SAME_INT(a, b, status);
    SAME_STR(a, b, spec_path);
    SAME_STR(a, b, machine);
    SAME_STR(a, b, sources);
    SAME_INT(a, b, estimated);
    SAME_STR(a, b, region);
    SAME_NUM(a, b, g_per_kwh);
    SAME_STR(a, b, intensity_source);
    SAME_INT(a, b, intensity_year);
    SAME_NUM(a, b, pue);
    SAME_NUM(a, b, project_n);
    SAME_NUM(a, b, baseline_w);
    SAME_INT(a, b, ntasks);
    for (size_t t = 0; t < a->ntasks; t++) {
        const struct jp_bench_task *x = &a->tasks[t], *y = &b->tasks[t];
        SAME_STR(x, y, name);
        SAME_STR(x, y, scorer);
        SAME_STR(x, y, metric);
        SAME_STR(x, y, items);
        SAME_STR(x, y, references);
        SAME_INT(x, y, n_time);
        SAME_INT(x, y, n_score);
        SAME_INT(x, y, reference);
        SAME_INT(x, y, pick);
        SAME_NUM(x, y, tolerance);
        SAME_STR(x, y, basis);
        SAME_INT(x, y, nmodels);
        for (size_t i = 0; i < x->nmodels; i++) assert_model_equal(&x->models[i], &y->models[i]);
    }
}

static void test_fixture_is_analysed(void **state)
{
    (void)state;
    struct jp_bench_run run;
    fix_build_run(&run);
    const struct jp_bench_task *t = &run.tasks[0];
    assert_int_equal(t->reference, 2); /* large */
    assert_int_equal(t->pick, 1);      /* base */
    assert_true(fabs(t->models[1].saving_pct - 25.96) < 1e-9);
    /* on the attributed figure, with a t-interval over its three runs */
    assert_string_equal(t->basis, "attributed");
    const struct jp_bench_model *base = &t->models[1];
    assert_float_equal(base->cmp_j_per_item, 0.8 * 0.014808, 1e-15);
    double half = 4.303 * (0.8 * 0.014808 * 0.02) / sqrt(3.0);
    assert_float_equal(base->cmp_lo, base->cmp_j_per_item - half, 1e-12);
    assert_float_equal(base->cmp_hi, base->cmp_j_per_item + half, 1e-12);
    /* the saving's interval: the per-round savings 22.94%, 25.96%, 28.86% (base's runs against
     * large's in the same round): t half-width 7.35 points around 25.96% */
    double r[3] = {1 - 1.02 * 0.014808 / (0.98 * 0.02), 1 - 0.014808 / 0.02, 1 - 0.98 * 0.014808 / (1.02 * 0.02)};
    double mu = (r[0] + r[1] + r[2]) / 3, sq = 0;
    for (int k = 0; k < 3; k++) sq += (r[k] - mu) * (r[k] - mu);
    double shalf = 4.303 * sqrt(sq / 2) / sqrt(3.0) * 100;
    assert_float_equal(base->saving_lo, 25.96 - shalf, 1e-9);
    assert_float_equal(base->saving_hi, 25.96 + shalf, 1e-9);
    assert_true(base->saving_lo > 18.5 && base->saving_lo < 18.7 && base->saving_hi > 33.2 && base->saving_hi < 33.4);
    assert_true(base->saving_significant);
    assert_false(t->models[2].saving_significant); /* the reference itself */
    /* the projection on the compared figure */
    assert_float_equal(base->proj_kwh, 0.8 * 0.014808 * 1e8 / 3.6e6, 1e-9);
    /* the ocr task has no attribution and one run: whole machine, no interval */
    assert_string_equal(run.tasks[1].basis, "machine");
    assert_true(isnan(run.tasks[1].models[0].cmp_lo) && isnan(run.tasks[1].models[0].saving_lo));
    assert_false(run.tasks[1].models[0].saving_significant);
    assert_int_equal(run.tasks[1].reference, 1);
    assert_int_equal(run.tasks[1].pick, 1);
    assert_int_equal(run.tasks[1].models[2].status, JP_MODEL_FAILED);
    jp_bench_run_clear(&run);
}

static void test_round_trip(void **state)
{
    (void)state;
    char path[PATH_MAX];
    jp_store *db = open_new(path, sizeof path);
    struct jp_bench_run run, back;
    fix_build_run(&run);
    assert_int_equal(run.id, 0);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(run.id, 1);

    assert_int_equal(jp_store_load(db, 1, &back), JP_OK);
    assert_int_equal(back.id, 1);
    assert_run_equal(&run, &back);
    /* the failed model: NaN figures, its error and its partial timeline survive */
    const struct jp_bench_model *broken = &back.tasks[1].models[2];
    assert_string_equal(broken->error, FIX_ERROR);
    assert_true(isnan(broken->j_per_item));
    assert_int_equal(broken->nsamples, 4);
    assert_string_equal(back.tasks[1].models[1].name, FIX_SCRIPT_NAME);
    jp_bench_run_clear(&back);

    /* reopened from the file, latest */
    jp_store_close(db);
    assert_int_equal(jp_store_open(&db, path, 0), JP_OK);
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_int_equal(back.id, 1);
    assert_run_equal(&run, &back);
    jp_bench_run_clear(&back);

    /* a second save is a second run */
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(run.id, 2);
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_int_equal(back.id, 2);
    jp_bench_run_clear(&back);
    jp_bench_run_clear(&run);
    jp_store_close(db);
}

static void test_empty_run_and_long_timeline(void **state)
{
    (void)state;
    char path[PATH_MAX];
    jp_store *db = open_new(path, sizeof path);
    struct jp_bench_run run, back;
    memset(&run, 0, sizeof run);
    run.status = JP_RUN_INTERRUPTED;
    run.g_per_kwh = NAN;
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(jp_store_load(db, run.id, &back), JP_OK);
    assert_run_equal(&run, &back);
    assert_null(back.tasks);
    jp_bench_run_clear(&back);

    /* 200,000 samples (an hour at 20 ms) go in as BLOBs and come back exact */
    fix_build_run(&run);
    struct jp_bench_model *m = &run.tasks[0].models[0];
    free(m->sample_t);
    free(m->sample_w);
    m->nsamples = 200000;
    m->sample_t = malloc(m->nsamples * sizeof(double));
    m->sample_w = malloc(m->nsamples * sizeof(double));
    for (size_t s = 0; s < m->nsamples; s++) {
        m->sample_t[s] = 0.02 * (double)s + 1e-13 * (double)s;
        m->sample_w[s] = 30 + 10 * sin((double)s / 1000.0) + 1.0 / 3.0;
    }
    m->sample_w[7] = INFINITY;
    m->sample_w[8] = -0.0;
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(jp_store_load(db, run.id, &back), JP_OK);
    assert_run_equal(&run, &back);
    assert_true(signbit(back.tasks[0].models[0].sample_w[8]));

    /* stored as little-endian IEEE 754 doubles */
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT tl.nsamples, tl.w FROM timelines tl JOIN models m ON m.id = tl.model_id "
                                        "JOIN tasks t ON t.id = m.task_id WHERE t.run_id = ? AND t.pos = 0 AND m.pos = 0",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, run.id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 200000);
    assert_int_equal(sqlite3_column_bytes(st, 1), 200000 * 8);
    const unsigned char *blob = sqlite3_column_blob(st, 1);
    uint64_t bits;
    memcpy(&bits, &m->sample_w[1], 8);
    for (int k = 0; k < 8; k++) assert_int_equal(blob[8 + k], (bits >> (8 * k)) & 0xff);
    sqlite3_finalize(st);
    sqlite3_close(h);

    jp_bench_run_clear(&back);
    jp_bench_run_clear(&run);
    jp_store_close(db);
}

static void test_list(void **state)
{
    (void)state;
    char path[PATH_MAX];
    jp_store *db = open_new(path, sizeof path);
    struct jp_store_entry *e;
    size_t n = 99;
    assert_int_equal(jp_store_list(db, &e, &n), JP_OK);
    assert_int_equal(n, 0);
    assert_null(e);

    struct jp_bench_run run;
    fix_build_run(&run);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    run.status = JP_RUN_INTERRUPTED;
    snprintf(run.spec_path, sizeof run.spec_path, "other.yaml");
    run.estimated = false;
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(jp_store_list(db, &e, &n), JP_OK);
    assert_int_equal(n, 2);
    /* newest first */
    assert_int_equal(e[0].id, 2);
    assert_int_equal(e[1].id, 1);
    assert_int_equal(e[0].status, JP_RUN_INTERRUPTED);
    assert_int_equal(e[1].status, JP_RUN_COMPLETE);
    assert_string_equal(e[0].spec_path, "other.yaml");
    assert_false(e[0].estimated);
    assert_true(e[1].estimated);
    assert_string_equal(e[1].started_at, "2026-11-25T17:03:55Z");
    assert_string_equal(e[1].machine, run.machine);
    assert_string_equal(e[1].region, run.region);
    assert_int_equal(e[1].ntasks, 2);
    assert_int_equal(e[1].nmodels, 6);
    assert_int_equal(e[1].nfailed, 1);
    assert_string_equal(e[1].tasks, "classify, ocr");
    assert_string_equal(e[1].picks, "classify: base; ocr: " FIX_SCRIPT_NAME);
    free(e);
    jp_bench_run_clear(&run);
    jp_store_close(db);
}

static void test_errors_name_the_store(void **state)
{
    (void)state;
    char path[PATH_MAX];
    jp_store *db = NULL;
    snprintf(path, sizeof path, "%s/nothing-here.db", tmpdir);
    assert_int_equal(jp_store_open(&db, path, 0), JP_ERR_NOTFOUND);
    assert_null(db);
    assert_non_null(strstr(jp_last_error(), path));
    assert_int_equal(access(path, F_OK), -1); /* not created */

    /* a text file is not a store */
    snprintf(path, sizeof path, "%s/notes.db", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("these are my notes, not a database; there are enough of them to fill a header page.\n", f);
    for (int i = 0; i < 40; i++) fputs("more notes more notes more notes more notes more notes\n", f);
    fclose(f);
    assert_int_equal(jp_store_open(&db, path, JP_STORE_CREATE), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), path));
    assert_non_null(strstr(jp_last_error(), "not a jouleprint results store"));

    /* a SQLite file of something else */
    snprintf(path, sizeof path, "%s/other-app.db", tmpdir);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TABLE contacts (name TEXT)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(jp_store_open(&db, path, JP_STORE_CREATE), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "other tables"));

    /* a directory */
    assert_int_equal(jp_store_open(&db, tmpdir, JP_STORE_CREATE), JP_ERR_INVAL);
    assert_non_null(strstr(jp_last_error(), tmpdir));

    /* no such run */
    db = open_new(path, sizeof path);
    struct jp_bench_run run;
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &run), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), path));
    assert_non_null(strstr(jp_last_error(), "no runs"));
    fix_build_run(&run);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    jp_bench_run_clear(&run);
    assert_int_equal(jp_store_load(db, 42, &run), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), path));
    assert_non_null(strstr(jp_last_error(), "no run 42"));
    assert_non_null(strstr(jp_last_error(), "run 1"));
    assert_int_equal(run.ntasks, 0);
    assert_null(run.tasks);
    jp_store_close(db);
}

static long count_rows(const char *path, const char *table)
{
    sqlite3 *h;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void test_failed_save_leaves_nothing(void **state)
{
    (void)state;
    char path[PATH_MAX];
    jp_store *db = open_new(path, sizeof path);
    struct jp_bench_run run;
    fix_build_run(&run);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    long runs = count_rows(path, "runs"), tasks = count_rows(path, "tasks"), models = count_rows(path, "models"),
         timelines = count_rows(path, "timelines"), metrics = count_rows(path, "metrics"),
         phases = count_rows(path, "phases");

    /* the 4th timeline of the next save fails, as a full disk or a crash would: by then the run, its
     * tasks, several models, metrics and timelines are written */
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TRIGGER boom BEFORE INSERT ON timelines WHEN (SELECT count(*) FROM timelines) >= %ld "
             "BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END",
             timelines + 3);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);

    run.id = 0;
    int rc = jp_store_save(db, &run);
    assert_int_not_equal(rc, JP_OK);
    assert_int_equal(run.id, 0);
    assert_non_null(strstr(jp_last_error(), path));
    assert_non_null(strstr(jp_last_error(), "disk full (test)"));
    assert_non_null(strstr(jp_last_error(), "nothing of this run was stored"));
    assert_int_equal(count_rows(path, "runs"), runs);
    assert_int_equal(count_rows(path, "tasks"), tasks);
    assert_int_equal(count_rows(path, "models"), models);
    assert_int_equal(count_rows(path, "metrics"), metrics);
    assert_int_equal(count_rows(path, "timelines"), timelines);
    assert_int_equal(count_rows(path, "phases"), phases);

    /* the store still works, and the next run gets the next id */
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "DROP TRIGGER boom", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(count_rows(path, "runs"), runs + 1);
    struct jp_bench_run back;
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_run_equal(&run, &back);
    jp_bench_run_clear(&back);

    /* a run the store cannot take is refused before anything is written */
    run.tasks[0].models[0].nmetrics = JP_BENCH_MAX_METRICS + 1;
    assert_int_equal(jp_store_save(db, &run), JP_ERR_INVAL);
    assert_non_null(strstr(jp_last_error(), path));
    run.tasks[0].models[0].nmetrics = 1;
    assert_int_equal(count_rows(path, "runs"), runs + 1);
    jp_bench_run_clear(&run);
    jp_store_close(db);
}

static void test_schema_versions(void **state)
{
    (void)state;
    char path[PATH_MAX];
    jp_store *db = open_new(path, sizeof path);
    jp_store_close(db);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT version, applied_at, jouleprint_version FROM schema_version", -1, &st,
                                        NULL),
                     SQLITE_OK);
    for (int v = 1; v <= JP_STORE_SCHEMA_VERSION; v++) { /* every migration applied, once, in order */
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), v);
        assert_int_equal(strlen((const char *)sqlite3_column_text(st, 1)), 20);
        assert_string_equal((const char *)sqlite3_column_text(st, 2), JP_VERSION);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(h);

    /* opening again applies nothing more */
    assert_int_equal(jp_store_open(&db, path, 0), JP_OK);
    jp_store_close(db);
    assert_int_equal(count_rows(path, "schema_version"), JP_STORE_SCHEMA_VERSION);

    /* a store from a newer jouleprint is refused, not damaged */
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "INSERT INTO schema_version VALUES (99, '2030-01-01T00:00:00Z', '9.0')", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(jp_store_open(&db, path, 0), JP_ERR_PARSE);
    assert_null(db);
    assert_non_null(strstr(jp_last_error(), path));
    assert_non_null(strstr(jp_last_error(), "newer jouleprint"));
    assert_non_null(strstr(jp_last_error(), "99"));
}

static void test_delete(void **state)
{
    (void)state;
    char path[PATH_MAX];
    jp_store *db = open_new(path, sizeof path);
    struct jp_bench_run run;
    fix_build_run(&run);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(jp_store_delete(db, 1), JP_OK);
    struct jp_bench_run back;
    assert_int_equal(jp_store_load(db, 1, &back), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "run 2 only"));
    assert_int_equal(jp_store_delete(db, 1), JP_ERR_NOTFOUND);
    /* everything the run owned went with it */
    assert_int_equal(count_rows(path, "tasks"), 2);
    assert_int_equal(count_rows(path, "models"), 6);
    assert_int_equal(count_rows(path, "timelines"), 6);
    /* ids are never reused */
    assert_int_equal(jp_store_delete(db, 2), JP_OK);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    assert_int_equal(run.id, 3);
    jp_bench_run_clear(&run);
    jp_store_close(db);
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(h);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A timeline whose sample count disagrees with its blobs (the length check is what keeps the load
 * inside the blob) is left out with a warning; the run, and every other timeline, loads; the report
 * renders in every format and says so on stderr. */
static void test_damaged_timeline_left_out(void **state)
{
    (void)state;
    char path[PATH_MAX];
    jp_store *db = open_new(path, sizeof path);
    struct jp_bench_run run;
    fix_build_run(&run);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    jp_store_close(db);
    const char *victim = run.tasks[0].models[0].name;
    size_t n0 = run.tasks[0].models[0].nsamples, n1 = run.tasks[0].models[1].nsamples;
    assert_true(n0 > 0 && n1 > 0);
    /* one sample more than the blobs hold */
    sql_exec(path, "UPDATE timelines SET nsamples = nsamples + 1 WHERE model_id = "
                   "(SELECT min(model_id) FROM timelines)");
    assert_int_equal(jp_store_open(&db, path, JP_STORE_READONLY), JP_OK);
    struct jp_bench_run back;
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_int_equal(back.tasks[0].models[0].nsamples, 0);
    assert_null(back.tasks[0].models[0].sample_t);
    assert_int_equal(back.tasks[0].models[1].nsamples, n1);
    same_double(back.tasks[0].models[0].energy_j, run.tasks[0].models[0].energy_j, "energy_j");
    assert_non_null(strstr(back.warnings, victim));
    assert_non_null(strstr(back.warnings, "damaged"));
    assert_non_null(strstr(back.warnings, "left out"));
    jp_bench_run_clear(&back);
    jp_store_close(db);
    /* a blob cut short, and a negative count */
    sql_exec(path, "UPDATE timelines SET nsamples = nsamples - 1, w = substr(w, 1, 8) WHERE model_id = "
                   "(SELECT min(model_id) FROM timelines)");
    sql_exec(path, "UPDATE timelines SET nsamples = -5 WHERE model_id = (SELECT max(model_id) FROM timelines)");
    assert_int_equal(jp_store_open(&db, path, JP_STORE_READONLY), JP_OK);
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_int_equal(back.tasks[0].models[0].nsamples, 0);
    assert_non_null(strstr(back.warnings, "-5 samples"));
    jp_bench_run_clear(&back);
    jp_store_close(db);
    /* the tool: every format renders, with one warning line on stderr */
    static const char *fmts[] = {"table", "csv", "json", "md", "html"};
    for (size_t i = 0; i < 5; i++) {
        char out[PATH_MAX + 16], err[PATH_MAX + 16];
        snprintf(out, sizeof out, "%s/report.%s", tmpdir, fmts[i]);
        snprintf(err, sizeof err, "%s/report.err", tmpdir);
        const char *args[] = {"report", "--db", path, "--format", fmts[i], "-o", out, NULL};
        assert_int_equal(ft_run_cli(NULL, err, args), 0);
        assert_true(file_size(out) > 100);
        FILE *f = fopen(err, "r");
        char line[1024] = "";
        assert_non_null(f);
        assert_non_null(fgets(line, sizeof line, f));
        fclose(f);
        assert_non_null(strstr(line, "warning"));
        assert_non_null(strstr(line, "damaged"));
    }
    jp_bench_run_clear(&run);
}

/* Reading never writes: an empty file opened to read stays empty (no schema, no journal), for the
 * library and for `report --db empty.db`. */
static void test_read_never_writes(void **state)
{
    (void)state;
    char path[PATH_MAX];
    db_path(path, sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    jp_store *db = NULL;
    assert_int_equal(jp_store_open(&db, path, JP_STORE_READONLY), JP_OK);
    struct jp_store_entry *runs = NULL;
    size_t n = 99;
    assert_int_equal(jp_store_list(db, &runs, &n), JP_OK);
    assert_int_equal(n, 0);
    struct jp_bench_run back;
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "no runs stored yet"));
    assert_int_equal(jp_store_delete(db, 1), JP_ERR_STATE);
    jp_store_close(db);
    assert_int_equal(file_size(path), 0);
    const char *args[] = {"report", "--db", path, NULL};
    assert_int_not_equal(ft_run_cli(NULL, NULL, args), 0);
    const char *list[] = {"report", "--db", path, "--list", NULL};
    assert_int_equal(ft_run_cli(NULL, NULL, list), 0);
    assert_int_equal(file_size(path), 0);
    char journal[PATH_MAX + 16];
    snprintf(journal, sizeof journal, "%s-journal", path);
    assert_int_equal(file_size(journal), -1);
}

static int setup(void **state)
{
    (void)state;
    return fix_scratch_make(tmpdir, sizeof tmpdir, "store");
}

static int teardown(void **state)
{
    (void)state;
    return fix_scratch_remove(tmpdir);
}

/* Statuses are stored as their names and read back through the one name table: a name the store
 * should not hold is an error naming the store, the run, the model and the names allowed, not a
 * status made up. */
static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(jp_model_status_name(JP_MODEL_TIMEOUT), "timeout");
    assert_string_equal(jp_run_status_name(JP_RUN_INTERRUPTED), "interrupted");
    assert_string_equal(jp_model_status_name((enum jp_model_status)42), "?");
    enum jp_model_status ms;
    assert_int_equal(jp_model_status_parse("interrupted", &ms), JP_OK);
    assert_int_equal(ms, JP_MODEL_INTERRUPTED);
    assert_int_equal(jp_model_status_parse("OK", &ms), JP_ERR_PARSE);

    char path[PATH_MAX];
    jp_store *db = open_new(path, sizeof path);
    struct jp_bench_run run, back;
    fix_build_run(&run);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    jp_bench_run_clear(&run);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "UPDATE models SET status = 'weird' WHERE name = 'small'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(jp_store_load(db, 1, &back), JP_ERR_PARSE);
    const char *e = jp_last_error();
    if (!strstr(e, path) || !strstr(e, "model small") || !strstr(e, "\"weird\"") ||
        !strstr(e, "ok, failed, timeout, interrupted"))
        fail_msg("message: %s", e);
    assert_null(back.tasks);

    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "UPDATE models SET status = 'ok' WHERE name = 'small';"
                                     "UPDATE runs SET status = 'half-done'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    struct jp_store_entry *list = NULL;
    size_t n = 0;
    assert_int_equal(jp_store_list(db, &list, &n), JP_ERR_PARSE);
    free(list);
    if (!strstr(jp_last_error(), "\"half-done\" is not one of complete, interrupted")) fail_msg("%s", jp_last_error());
    assert_int_equal(jp_store_load(db, 1, &back), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "run 1:"));
    jp_store_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_is_analysed),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_run_and_long_timeline),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_errors_name_the_store),
        cmocka_unit_test(test_failed_save_leaves_nothing),
        cmocka_unit_test(test_schema_versions),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_damaged_timeline_left_out),
        cmocka_unit_test(test_read_never_writes),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
