/*
 * jp_store_import and `jouleprint report --import FILE`: a store received from a colleague merged into
 * the local one with nothing lost and nothing twice (a second import adds nothing, the reverse import
 * only what the other side lacks); malformed and malicious stores (made by editing a good one with SQL:
 * wrong types, infinities, negative energies, broken references, a newer schema, timelines shorter than
 * their count, over-long names, unknown statuses, triggers, views, extra columns, missing tables,
 * non-finite samples, garbage and truncated files) refused with one line naming the table, row and
 * column, and the local store left as it was.
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
#include <sqlite3.h>

#include "bench_fixture.h"
#include "fake_tree.h"
#include "store.h"
#include "util.h"

static char tmpdir[PATH_MAX - 64];

static void path_of(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmpdir, name); }

/* The fixture run with its machine (and so its fingerprint) made different by tag. */
static void tagged_run(struct jp_bench_run *run, const char *tag, double energy_scale)
{
    fix_build_run(run);
    snprintf(run->machine, sizeof run->machine, "testhost %s", tag);
    run->tasks[0].models[0].j_per_item *= energy_scale;
    struct jp_bench_model *m = &run->tasks[0].models[1];
    m->cpu_share = 0.42;
    m->attr_j_per_item = 0.0123 * energy_scale;
    m->nrep = 3;
    free(m->rep_j_per_item); /* the fixture's own runs, replaced */
    free(m->rep_attr_j_per_item);
    m->rep_j_per_item = malloc(3 * sizeof(double));
    m->rep_attr_j_per_item = malloc(3 * sizeof(double));
    for (size_t r = 0; r < 3; r++) {
        m->rep_j_per_item[r] = 0.014 + 0.001 * (double)r;
        m->rep_attr_j_per_item[r] = NAN;
    }
}

static void save_runs(const char *path, const char *const *tags, size_t n)
{
    unlink(path);
    jp_store *db;
    if (jp_store_open(&db, path, JP_STORE_CREATE) != JP_OK) fail_msg("%s", jp_last_error());
    for (size_t i = 0; i < n; i++) {
        struct jp_bench_run run;
        tagged_run(&run, tags[i], 1.0 + (double)i);
        if (jp_store_save(db, &run) != JP_OK) fail_msg("%s", jp_last_error());
        jp_bench_run_clear(&run);
    }
    jp_store_close(db);
}

static size_t count_runs(const char *path)
{
    jp_store *db;
    if (jp_store_open(&db, path, JP_STORE_READONLY) != JP_OK) fail_msg("%s", jp_last_error());
    struct jp_store_entry *e = NULL;
    size_t n = 0;
    if (jp_store_list(db, &e, &n) != JP_OK) fail_msg("%s", jp_last_error());
    free(e);
    jp_store_close(db);
    return n;
}

static int import(const char *dst, const char *src, struct jp_store_import_result *res)
{
    jp_store *db;
    if (jp_store_open(&db, dst, JP_STORE_CREATE) != JP_OK) fail_msg("%s", jp_last_error());
    int rc = jp_store_import(db, src, res);
    jp_store_close(db);
    return rc;
}

static void load(const char *path, long id, struct jp_bench_run *run)
{
    jp_store *db;
    if (jp_store_open(&db, path, JP_STORE_READONLY) != JP_OK) fail_msg("%s", jp_last_error());
    if (jp_store_load(db, id, run) != JP_OK) fail_msg("%s", jp_last_error());
    jp_store_close(db);
}

static void test_merge(void **state)
{
    (void)state;
    char src[PATH_MAX], dst[PATH_MAX];
    path_of(src, sizeof src, "alice.db");
    path_of(dst, sizeof dst, "mine.db");
    save_runs(src, (const char *[]){"a1", "a2"}, 2);
    save_runs(dst, (const char *[]){"m1"}, 1);

    struct jp_store_import_result res;
    if (import(dst, src, &res) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(res.imported, 2);
    assert_int_equal(res.duplicates, 0);
    assert_int_equal(res.first_id, 2);
    assert_int_equal(res.last_id, 3);
    assert_int_equal(count_runs(dst), 3);
    /* the runs arrived whole: figures, names, metrics, phases, timelines */
    struct jp_bench_run a, b;
    load(src, 2, &a);
    load(dst, 3, &b);
    assert_string_equal(b.machine, "testhost a2");
    assert_string_equal(b.machine, a.machine);
    assert_int_equal(b.ntasks, a.ntasks);
    for (size_t t = 0; t < a.ntasks; t++) {
        assert_int_equal(b.tasks[t].nmodels, a.tasks[t].nmodels);
        assert_string_equal(b.tasks[t].metric, a.tasks[t].metric);
        for (size_t i = 0; i < a.tasks[t].nmodels; i++) {
            const struct jp_bench_model *x = &a.tasks[t].models[i], *y = &b.tasks[t].models[i];
            assert_string_equal(y->name, x->name);
            assert_int_equal(y->status, x->status);
            assert_string_equal(y->error, x->error);
            if (isfinite(x->j_per_item)) assert_true(y->j_per_item == x->j_per_item);
            assert_int_equal(y->nmetrics, x->nmetrics);
            assert_int_equal(y->nphases, x->nphases);
            assert_int_equal(y->nsamples, x->nsamples);
            for (size_t s = 0; s < x->nsamples; s++) assert_true(y->sample_w[s] == x->sample_w[s]);
            /* the attributed figures and every measured run's energy too (schema 2) */
            assert_memory_equal(&y->cpu_share, &x->cpu_share, sizeof x->cpu_share);
            assert_memory_equal(&y->attr_j_per_item, &x->attr_j_per_item, sizeof x->attr_j_per_item);
            assert_int_equal(y->nrep, x->nrep);
            for (size_t r = 0; r < x->nrep; r++) assert_memory_equal(&y->rep_j_per_item[r], &x->rep_j_per_item[r], 8);
        }
    }
    assert_true(a.tasks[0].models[0].j_per_item == 2 * 0.0052);
    jp_bench_run_clear(&a);
    jp_bench_run_clear(&b);

    /* again: nothing added */
    if (import(dst, src, &res) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(res.imported, 0);
    assert_int_equal(res.duplicates, 2);
    assert_int_equal(count_runs(dst), 3);
    /* the other way: only what alice lacks */
    if (import(src, dst, &res) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(res.imported, 1);
    assert_int_equal(res.duplicates, 2);
    assert_int_equal(count_runs(src), 3);
    load(src, 3, &a);
    assert_string_equal(a.machine, "testhost m1");
    jp_bench_run_clear(&a);
    /* a store into itself: everything there already */
    if (import(src, src, &res) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(res.imported, 0);
    assert_int_equal(res.duplicates, 3);
    /* an empty store imports into a new one: nothing, no error */
    char empty[PATH_MAX], fresh[PATH_MAX];
    path_of(empty, sizeof empty, "empty.db");
    path_of(fresh, sizeof fresh, "fresh.db");
    save_runs(empty, NULL, 0);
    unlink(fresh);
    if (import(fresh, empty, &res) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(res.imported + res.duplicates, 0);
    /* hostile strings are data: they arrive as they are (the writers escape them) */
    struct jp_bench_run h;
    fix_build_run(&h);
    snprintf(h.tasks[0].metric, sizeof h.tasks[0].metric, "<svg onload=x>\x1b[2J|");
    snprintf(h.region, sizeof h.region, "\"'><script>");
    jp_store *db;
    assert_int_equal(jp_store_open(&db, empty, JP_STORE_CREATE), JP_OK);
    assert_int_equal(jp_store_save(db, &h), JP_OK);
    jp_store_close(db);
    jp_bench_run_clear(&h);
    if (import(fresh, empty, &res) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(res.imported, 1);
    load(fresh, 1, &h);
    assert_string_equal(h.tasks[0].metric, "<svg onload=x>\x1b[2J|");
    assert_string_equal(h.region, "\"'><script>");
    jp_bench_run_clear(&h);
}

/* A copy of the good store edited with sql, imported into a store of one run: refused with a message
 * holding each of the needles, and the store still holds its one run. */
static void expect_refused(const char *sql, const char *needle1, const char *needle2)
{
    char good[PATH_MAX], bad[PATH_MAX], dst[PATH_MAX];
    path_of(good, sizeof good, "good.db");
    path_of(bad, sizeof bad, "bad.db");
    path_of(dst, sizeof dst, "target.db");
    save_runs(good, (const char *[]){"g1", "g2"}, 2);
    save_runs(dst, (const char *[]){"t1"}, 1);
    unlink(bad);
    {
        char cmd[3 * PATH_MAX];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", good, bad);
        assert_int_equal(system(cmd), 0);
    }
    sqlite3 *h;
    assert_int_equal(sqlite3_open(bad, &h), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err);
    sqlite3_close(h);
    struct jp_store_import_result res;
    int rc = import(dst, bad, &res);
    if (rc == JP_OK) fail_msg("imported (%zu runs) after: %s", res.imported, sql);
    const char *e = jp_last_error();
    if (!strstr(e, bad) || !strstr(e, needle1) || (needle2 && !strstr(e, needle2)))
        fail_msg("after %s\nthe error \"%s\" lacks \"%s\" / \"%s\"", sql, e, needle1, needle2 ? needle2 : "");
    assert_null(strchr(e, '\n'));
    assert_int_equal(res.imported, 0);
    assert_int_equal(count_runs(dst), 1);
}

static void test_refused(void **state)
{
    (void)state;
    expect_refused("UPDATE models SET energy_j = 'lots' WHERE id = 2", "table models, row 2, column energy_j",
                   "wrong type, expected REAL");
    expect_refused("UPDATE models SET energy_j = 9e999 WHERE id = 3", "table models, row 3, column energy_j",
                   "out of range");
    expect_refused("UPDATE models SET j_per_item = -1 WHERE id = 1", "table models, row 1, column j_per_item",
                   "out of range [0,");
    expect_refused("UPDATE runs SET pue = 1e300 WHERE id = 2", "table runs, row 2, column pue", "out of range");
    expect_refused("UPDATE models SET rating = 9 WHERE id = 4", "table models, row 4, column rating", "[0, 5]");
    expect_refused("UPDATE tasks SET n_time = 2.5 WHERE id = 1", "table tasks, row 1, column n_time", "wrong type");
    expect_refused("PRAGMA foreign_keys = OFF; UPDATE models SET task_id = 999 WHERE id = 4",
                   "table models, row 4, column task_id", "refers to no row of tasks");
    expect_refused("PRAGMA foreign_keys = OFF; UPDATE timelines SET model_id = 777 WHERE model_id = 2",
                   "table timelines, row 777, column model_id", "refers to no row of models");
    expect_refused("INSERT INTO schema_version VALUES (99, 'later', 'later')", "table schema_version, column version",
                   "schema version 99");
    expect_refused("UPDATE timelines SET nsamples = nsamples + 1 WHERE model_id = 2", "table timelines, row 2, column t",
                   "not 8 bytes a sample");
    expect_refused("UPDATE timelines SET w = CAST(x'000000000000F07F' || substr(w, 9) AS BLOB) WHERE model_id = 1",
                   "table timelines, row 1, column w", "sample 0 is not a finite number");
    expect_refused("UPDATE models SET name = printf('%.200c', 'x') WHERE id = 5", "table models, row 5, column name",
                   "longer than the 63 bytes");
    expect_refused("UPDATE models SET status = 'pwned' WHERE id = 2", "table models, row 2, column status",
                   "not a status name");
    expect_refused("UPDATE runs SET status = 'done' WHERE id = 1", "table runs, row 1, column status", "not a status");
    expect_refused("UPDATE tasks SET reference_pos = 50 WHERE id = 1", "table tasks, row 1, column reference_pos",
                   "a model the task has not");
    expect_refused("INSERT INTO metrics SELECT model_id, pos + 10, name, value FROM metrics WHERE model_id = 1;"
                   "INSERT INTO metrics SELECT model_id, pos + 20, name, value FROM metrics WHERE model_id = 1;"
                   "INSERT INTO metrics SELECT model_id, pos + 40, name, value FROM metrics WHERE model_id = 1;"
                   "INSERT INTO metrics SELECT model_id, pos + 80, name, value FROM metrics WHERE model_id = 1;",
                   "table metrics", "column pos");
    expect_refused("CREATE TRIGGER wipe AFTER INSERT ON runs BEGIN DELETE FROM runs; END", "has a trigger \"wipe\"",
                   NULL);
    expect_refused("CREATE VIEW v AS SELECT 1", "has a view \"v\"", NULL);
    expect_refused("CREATE TABLE extra (x)", "has a table \"extra\"", NULL);
    expect_refused("ALTER TABLE runs ADD COLUMN x TEXT", "table runs, column x", "not a column of a jouleprint store");
    expect_refused("DROP TABLE metrics", "no table metrics", NULL);
    expect_refused("ALTER TABLE models RENAME COLUMN score TO scor", "table models, column scor", "expected \"score REAL");
}

static void test_not_a_store(void **state)
{
    (void)state;
    char bad[PATH_MAX], dst[PATH_MAX], good[PATH_MAX];
    path_of(bad, sizeof bad, "garbage.db");
    path_of(dst, sizeof dst, "target2.db");
    path_of(good, sizeof good, "good2.db");
    save_runs(dst, (const char *[]){"t"}, 1);
    struct jp_store_import_result res;
    /* bytes that are not SQLite */
    FILE *f = fopen(bad, "w");
    for (int i = 0; i < 4096; i++) fputc("jouleprint"[i % 10], f);
    fclose(f);
    assert_int_equal(import(dst, bad, &res), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), bad));
    assert_non_null(strstr(jp_last_error(), "not a jouleprint results store"));
    /* a store cut in half */
    save_runs(good, (const char *[]){"x", "y", "z"}, 3);
    FILE *in = fopen(good, "r");
    f = fopen(bad, "w");
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    for (long i = 0; i < n / 2; i++) fputc(fgetc(in), f);
    fclose(in);
    fclose(f);
    int rc = import(dst, bad, &res);
    if (rc == JP_OK) fail_msg("a truncated store was imported (%zu runs)", res.imported);
    assert_non_null(strstr(jp_last_error(), bad));
    /* not there, a folder, a tiny file */
    path_of(bad, sizeof bad, "missing.db");
    assert_int_equal(import(dst, bad, &res), JP_ERR_NOTFOUND);
    assert_int_equal(import(dst, tmpdir, &res), JP_ERR_INVAL);
    path_of(bad, sizeof bad, "tiny.db");
    f = fopen(bad, "w");
    fputs("SQLite format 3", f);
    fclose(f);
    assert_int_equal(import(dst, bad, &res), JP_ERR_PARSE);
    assert_int_equal(count_runs(dst), 1);
    /* a store opened read-only cannot take an import */
    jp_store *db;
    assert_int_equal(jp_store_open(&db, dst, JP_STORE_READONLY), JP_OK);
    assert_int_equal(jp_store_import(db, good, &res), JP_ERR_STATE);
    jp_store_close(db);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot read", path);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_cli(void **state)
{
    (void)state;
    const char *cli = getenv("JP_CLI");
    if (!cli || !*cli) fail_msg("JP_CLI is not set: run this test under ctest");
    char src[PATH_MAX], dst[PATH_MAX], out[PATH_MAX], err[PATH_MAX], bad[PATH_MAX];
    path_of(src, sizeof src, "cli-src.db");
    path_of(dst, sizeof dst, "cli-dst.db");
    path_of(out, sizeof out, "out.txt");
    path_of(err, sizeof err, "err.txt");
    path_of(bad, sizeof bad, "cli-bad.db");
    save_runs(src, (const char *[]){"c1", "c2"}, 2);
    unlink(dst);
    /* into a store that does not exist yet: made */
    assert_int_equal(ft_run_cli(out, err, (const char *[]){"report", "--db", dst, "--import", src, NULL}), 0);
    char want[2 * PATH_MAX];
    snprintf(want, sizeof want, "imported 2 runs into %s (runs 1-2)\n", dst);
    assert_string_equal(slurp(out), want);
    assert_int_equal(ft_run_cli(out, err, (const char *[]){"report", "--db", dst, "--import", src, NULL}), 0);
    snprintf(want, sizeof want, "imported no run into %s; 2 were there already\n", dst);
    assert_string_equal(slurp(out), want);
    /* a bad one: exit 1, one line naming the file, table, row and column */
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, bad);
    assert_int_equal(system(cmd), 0);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(bad, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "UPDATE models SET duration_s = 'x' WHERE id = 3", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(ft_run_cli(out, err, (const char *[]){"report", "--db", dst, "--import", bad, NULL}), 1);
    const char *e = slurp(err);
    assert_non_null(strstr(e, "jouleprint report: --import "));
    assert_non_null(strstr(e, bad));
    assert_non_null(strstr(e, "table models, row 3, column duration_s"));
    assert_int_equal(strchr(e, '\n') - e + 1, (long)strlen(e)); /* one line */
    assert_int_equal(count_runs(dst), 2);
    /* --import takes no rendering options */
    assert_int_equal(ft_run_cli(out, err, (const char *[]){"report", "--import", src, "--list", NULL}), 2);
}

static int setup(void **state)
{
    (void)state;
    return fix_scratch_make(tmpdir, sizeof tmpdir, "import");
}

static int teardown(void **state)
{
    (void)state;
    return fix_scratch_remove(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_not_a_store),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
