/*
 * The sample images of a model whose predictions are images (`builtin: generate`) kept by the results
 * store (schema 4), so that `jouleprint report` of a stored run shows the HTML report's strip: saved and
 * loaded back byte for byte (and again after jp_store_update); a damaged side, count or pixel blob in the
 * database refused with one line naming the store, run, task and model and what was expected, by the
 * loader and by the import's checks; a store of schema 3 (no images table) still read as it is, imported,
 * and migrated when opened to write; the HTML report of the stored run holding the strip.
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

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(h);
}

/* The one integer sql returns (-1 when it returns no row). */
static long query_long(const char *path, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    long v = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void give_images(struct jp_bench_model *m, int n, int side, unsigned seed)
{
    free(m->images);
    size_t bytes = (size_t)n * (size_t)side * (size_t)side;
    m->images = malloc(bytes);
    assert_non_null(m->images);
    for (size_t k = 0; k < bytes; k++) m->images[k] = (uint8_t)((k * 2654435761u + seed) >> 7);
    m->nimages = n;
    m->image_side = side;
}

/* The fixture run with images on two models: classify's "base" (10 of 28 x 28, as generate makes) and
 * ocr's script-named model (3 of 5 x 5). */
static void run_with_images(struct jp_bench_run *run)
{
    fix_build_run(run);
    give_images(&run->tasks[0].models[1], 10, 28, 1);
    give_images(&run->tasks[1].models[1], 3, 5, 2);
}

static void assert_same_images(const struct jp_bench_run *a, const struct jp_bench_run *b)
{
    assert_int_equal(a->ntasks, b->ntasks);
    for (size_t t = 0; t < a->ntasks; t++) {
        assert_int_equal(a->tasks[t].nmodels, b->tasks[t].nmodels);
        for (size_t i = 0; i < a->tasks[t].nmodels; i++) {
            const struct jp_bench_model *x = &a->tasks[t].models[i], *y = &b->tasks[t].models[i];
            if (x->nimages != y->nimages || x->image_side != y->image_side)
                fail_msg("task %zu model %zu: %d images of %d, loaded %d of %d", t, i, x->nimages, x->image_side,
                         y->nimages, y->image_side);
            if (!x->nimages) {
                assert_null(y->images);
                continue;
            }
            assert_non_null(y->images);
            assert_memory_equal(x->images, y->images, (size_t)x->nimages * (size_t)x->image_side * (size_t)x->image_side);
        }
    }
}

static void save_to(const char *path, struct jp_bench_run *run)
{
    unlink(path);
    jp_store *db;
    if (jp_store_open(&db, path, JP_STORE_CREATE) != JP_OK) fail_msg("%s", jp_last_error());
    if (jp_store_save(db, run) != JP_OK) fail_msg("%s", jp_last_error());
    jp_store_close(db);
}

static int load_from(const char *path, unsigned flags, struct jp_bench_run *back)
{
    jp_store *db;
    if (jp_store_open(&db, path, flags) != JP_OK) fail_msg("%s", jp_last_error());
    int rc = jp_store_load(db, JP_STORE_LATEST, back);
    jp_store_close(db);
    return rc;
}

static void test_round_trip(void **state)
{
    (void)state;
    char path[PATH_MAX];
    path_of(path, sizeof path, "round.db");
    struct jp_bench_run run, back;
    run_with_images(&run);
    save_to(path, &run);
    assert_int_equal(query_long(path, "SELECT count(*) FROM images"), 2);
    assert_int_equal(query_long(path, "SELECT length(pixels) FROM images WHERE side = 28"), 10 * 28 * 28);

    assert_int_equal(load_from(path, JP_STORE_READONLY, &back), JP_OK);
    assert_int_equal(back.tasks[0].models[1].nimages, 10);
    assert_int_equal(back.tasks[0].models[1].image_side, 28);
    assert_int_equal(back.tasks[1].models[1].nimages, 3);
    assert_int_equal(back.tasks[1].models[1].image_side, 5);
    assert_same_images(&run, &back);
    jp_bench_run_clear(&back);

    /* written again under its id (a session stores each model as soon as it is measured): the images
     * replaced with the run's, the old rows gone */
    jp_store *db;
    assert_int_equal(jp_store_open(&db, path, 0), JP_OK);
    give_images(&run.tasks[0].models[1], 4, 16, 9);
    free(run.tasks[1].models[1].images);
    run.tasks[1].models[1].images = NULL;
    run.tasks[1].models[1].nimages = run.tasks[1].models[1].image_side = 0;
    if (jp_store_update(db, &run) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(jp_store_load(db, run.id, &back), JP_OK);
    assert_same_images(&run, &back);
    jp_bench_run_clear(&back);
    jp_store_close(db);
    assert_int_equal(query_long(path, "SELECT count(*) FROM images"), 1);

    /* a model whose images the store cannot take is refused before anything is written */
    assert_int_equal(jp_store_open(&db, path, 0), JP_OK);
    run.tasks[0].models[1].image_side = 300;
    run.id = 0;
    assert_int_equal(jp_store_save(db, &run), JP_ERR_INVAL);
    assert_non_null(strstr(jp_last_error(), "300"));
    run.tasks[0].models[1].image_side = 16;
    run.tasks[0].models[1].nimages = JP_BENCH_MAX_IMAGES + 1;
    assert_int_equal(jp_store_save(db, &run), JP_ERR_INVAL);
    run.tasks[0].models[1].nimages = 4;
    jp_store_close(db);
    assert_int_equal(query_long(path, "SELECT count(*) FROM runs"), 1);
    jp_bench_run_clear(&run);
}

/* The store edited with sql is refused on load with one line holding the needles; the store is then
 * restored from good. */
/* A damaged images row leaves the images out, says so in the run's warnings, and hides nothing else:
 * the run loads with every measured figure. */
static void expect_images_left_out(const char *good, const char *path, const char *sql, const char *needle)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", good, path);
    assert_int_equal(system(cmd), 0);
    sql_exec(path, sql);
    struct jp_bench_run back;
    int rc = load_from(path, JP_STORE_READONLY, &back);
    if (rc != JP_OK) fail_msg("after %s: not loaded: %s", sql, jp_last_error());
    const struct jp_bench_model *base = &back.tasks[0].models[1];
    if (base->nimages != 0 || base->images) fail_msg("after %s: %d images kept", sql, base->nimages);
    assert_true(fabs(base->saving_pct - 25.96) < 1e-9); /* the measured figures are all there */
    assert_true(base->nrep == 3);
    if (!strstr(back.warnings, "the sample images of task classify, model base are damaged (") ||
        !strstr(back.warnings, needle) || !strstr(back.warnings, "): left out"))
        fail_msg("after %s: the warnings \"%s\" lack the model or \"%s\"", sql, back.warnings, needle);
    jp_bench_run_clear(&back);
}

static void test_damaged_left_out(void **state)
{
    (void)state;
    char good[PATH_MAX], path[PATH_MAX];
    path_of(good, sizeof good, "good.db");
    path_of(path, sizeof path, "damaged.db");
    struct jp_bench_run run;
    run_with_images(&run);
    save_to(good, &run);
    jp_bench_run_clear(&run);
    /* each damage (on the 28-pixel images) and what the warning must say */
    static const char *const damage[][2] = {
        {"pixels = substr(pixels, 1, 100)", "100 bytes of pixels, expected 7840 (10 images of 28 x 28)"},
        {"pixels = CAST(pixels || x'00' AS BLOB)", "7841 bytes of pixels, expected 7840"},
        {"side = 27", "7840 bytes of pixels, expected 7290 (10 images of 27 x 27)"},
        {"side = 280, nimages = 1", "side 280 pixels, expected 1 to 256"},
        {"side = 0", "side 0 pixels, expected 1 to 256"},
        {"nimages = 11", "11 images, expected 1 to 10"},
        {"nimages = -4", "-4 images, expected 1 to 10"},
        {"side = 28.5", "not integers"},
        {"pixels = CAST(pixels AS TEXT)", "the pixels not a BLOB, expected a BLOB of 7840 bytes"},
    };
    for (size_t k = 0; k < sizeof damage / sizeof damage[0]; k++) {
        char sql[256];
        snprintf(sql, sizeof sql, "UPDATE images SET %s WHERE side = 28", damage[k][0]);
        expect_images_left_out(good, path, sql, damage[k][1]);
    }

    /* the same damage in a store received from someone else: refused by the import's checks, naming the
     * table, row and column, and nothing imported */
    char dst[PATH_MAX];
    path_of(dst, sizeof dst, "dst.db");
    unlink(dst);
    jp_store *db;
    assert_int_equal(jp_store_open(&db, dst, JP_STORE_CREATE), JP_OK);
    struct {
        const char *sql, *needle1, *needle2;
    } bad[] = {
        {"UPDATE images SET pixels = substr(pixels, 1, 100) WHERE side = 28", "table images, row ", "column pixels: not side x side bytes an image (100 bytes)"},
        {"UPDATE images SET side = 999 WHERE side = 28", "column side", "out of range [1, 256] (999)"},
        {"UPDATE images SET nimages = 0 WHERE side = 28", "column nimages", "out of range [1, 10] (0)"},
        {"UPDATE images SET side = 'x' WHERE side = 28", "column side", "wrong type, expected INTEGER"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char cmd[3 * PATH_MAX];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", good, path);
        assert_int_equal(system(cmd), 0);
        sql_exec(path, bad[k].sql);
        struct jp_store_import_result res;
        int rc = jp_store_import(db, path, &res);
        const char *e = jp_last_error();
        if (rc != JP_ERR_PARSE || !strstr(e, path) || !strstr(e, bad[k].needle1) || !strstr(e, bad[k].needle2))
            fail_msg("after %s: rc %d, \"%s\"", bad[k].sql, rc, e);
        assert_int_equal(res.imported, 0);
    }
    jp_store_close(db);
    assert_int_equal(query_long(dst, "SELECT count(*) FROM runs"), 0);
}

/* A store of schema 3 (no images table): made from one of this version by taking the table and the
 * version out, as a jouleprint before issue 15 would have written it. */
static void make_schema3_store(const char *path)
{
    struct jp_bench_run run;
    run_with_images(&run);
    save_to(path, &run);
    jp_bench_run_clear(&run);
    sql_exec(path, "DROP TABLE images; DELETE FROM schema_version WHERE version = 4");
    assert_int_equal(query_long(path, "SELECT max(version) FROM schema_version"), 3);
}

static void test_schema3_store(void **state)
{
    (void)state;
    char old[PATH_MAX], fresh[PATH_MAX];
    path_of(old, sizeof old, "schema3.db");
    path_of(fresh, sizeof fresh, "fresh.db");
    make_schema3_store(old);
    struct jp_bench_run back, mine;

    /* read as it is: the run, without images; the file untouched */
    assert_int_equal(load_from(old, JP_STORE_READONLY, &back), JP_OK);
    assert_int_equal(back.ntasks, 2);
    assert_int_equal(back.tasks[0].nmodels, 3);
    assert_int_equal(back.tasks[0].models[1].nimages, 0);
    assert_null(back.tasks[0].models[1].images);
    assert_true(fabs(back.tasks[0].models[1].saving_pct - 25.96) < 1e-9);
    jp_bench_run_clear(&back);
    assert_int_equal(query_long(old, "SELECT max(version) FROM schema_version"), 3);
    assert_int_equal(query_long(old, "SELECT count(*) FROM sqlite_master WHERE name = 'images'"), 0);

    /* imported into a store of this version: the run arrives without images; the same run with its images
     * is another run (the images are part of what a run holds), and each comes only once */
    unlink(fresh);
    jp_store *db;
    assert_int_equal(jp_store_open(&db, fresh, JP_STORE_CREATE), JP_OK);
    struct jp_store_import_result res;
    if (jp_store_import(db, old, &res) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(res.imported, 1);
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_int_equal(back.tasks[0].models[1].nimages, 0);
    jp_bench_run_clear(&back);
    char withimg[PATH_MAX];
    path_of(withimg, sizeof withimg, "withimg.db");
    run_with_images(&mine);
    save_to(withimg, &mine);
    for (int pass = 0; pass < 2; pass++) {
        if (jp_store_import(db, withimg, &res) != JP_OK) fail_msg("%s", jp_last_error());
        assert_int_equal(res.imported, pass == 0 ? 1 : 0);
        assert_int_equal(res.duplicates, pass == 0 ? 0 : 1);
    }
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_same_images(&mine, &back);
    jp_bench_run_clear(&back);
    jp_store_close(db);
    assert_int_equal(query_long(fresh, "SELECT count(*) FROM images"), 2);

    /* opened to write: brought to schema 4, the old run still without images, a new run keeps its own */
    assert_int_equal(jp_store_open(&db, old, 0), JP_OK);
    assert_int_equal(query_long(old, "SELECT max(version) FROM schema_version"), JP_STORE_SCHEMA_VERSION);
    assert_int_equal(query_long(old, "SELECT count(*) FROM images"), 0);
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    assert_int_equal(back.tasks[0].models[1].nimages, 0);
    jp_bench_run_clear(&back);
    mine.id = 0;
    assert_int_equal(jp_store_save(db, &mine), JP_OK);
    assert_int_equal(mine.id, 2);
    assert_int_equal(jp_store_load(db, 2, &back), JP_OK);
    assert_same_images(&mine, &back);
    jp_bench_run_clear(&back);
    jp_store_close(db);
    jp_bench_run_clear(&mine);
}

static size_t count_of(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *at = s; (at = strstr(at, needle)) != NULL; at += strlen(needle)) n++;
    return n;
}

/* `jouleprint report --db --format html` of the stored run: the strip, one PNG per model with images. */
static void test_html_report_of_stored_run(void **state)
{
    (void)state;
    char path[PATH_MAX], out[PATH_MAX];
    path_of(path, sizeof path, "report.db");
    path_of(out, sizeof out, "report.html");
    struct jp_bench_run run;
    run_with_images(&run);
    save_to(path, &run);
    jp_bench_run_clear(&run);
    unlink(out);
    const char *args[] = {"report", "--db", path, "--format", "html", "-o", out, NULL};
    assert_int_equal(ft_run_cli(NULL, NULL, args), 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    static char html[1 << 21];
    size_t n = fread(html, 1, sizeof html - 1, f);
    fclose(f);
    html[n] = '\0';
    assert_true(n > 1000 && n < sizeof html - 1);
    assert_int_equal(count_of(html, "<h3>Sample images</h3>"), 2); /* one strip per task with images */
    assert_int_equal(count_of(html, "src=\"data:image/png;base64,"), 2);
    if (!strstr(html, "alt=\"base: 10 sample images\"") ||
        !strstr(html, "alt=\"&lt;script&gt;x&lt;/script&gt;: 3 sample images\""))
        fail_msg("the strip's rows are not those of base (10 images) and the script-named model (3)");
    /* 10 images of 28 pixels with 2-pixel gaps, shown at 3x */
    assert_non_null(strstr(html, "width=\"906\" height=\"96\""));
}

static int setup(void **state)
{
    (void)state;
    return fix_scratch_make(tmpdir, sizeof tmpdir, "store_images");
}

static int teardown(void **state)
{
    (void)state;
    return fix_scratch_remove(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged_left_out),
        cmocka_unit_test(test_schema3_store),
        cmocka_unit_test(test_html_report_of_stored_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
