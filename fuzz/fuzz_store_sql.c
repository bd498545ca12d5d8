/* A valid store (the test fixture's run: two tasks, a failed model, timelines, a name like a script
 * tag) edited by arbitrary SQL, then listed and rendered in every format: the store's reader must hold
 * whatever values, NULLs, types, lengths and missing rows the edit leaves. Input: SQL text. */
#include "fuzz_common.h"

#include <sqlite3.h>

#include "../tests/bench_fixture.h"
#include "fuzz_store_render.h"

static unsigned char *tmpl;
static size_t tmpl_len;

static void make_template(void)
{
    char p[300];
    fz_path(p, sizeof p, "template.db");
    jp_store *db;
    if (jp_store_open(&db, p, JP_STORE_CREATE) != JP_OK) abort();
    struct jp_bench_run run;
    fix_build_run(&run);
    if (jp_store_save(db, &run) != JP_OK) abort();
    jp_bench_run_clear(&run);
    jp_store_close(db);
    FILE *f = fopen(p, "rb");
    if (!f) abort();
    fseek(f, 0, SEEK_END);
    tmpl_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    tmpl = malloc(tmpl_len);
    if (!tmpl || fread(tmpl, 1, tmpl_len, f) != tmpl_len) abort();
    fclose(f);
    /* JP_FUZZ_WRITE_TEMPLATE=FILE: writes the template (the seed of fuzz_store's corpus) */
    const char *w = getenv("JP_FUZZ_WRITE_TEMPLATE");
    if (w) fz_write(w, tmpl, tmpl_len);
}

static int authorize(void *u, int action, const char *a, const char *b, const char *c, const char *d)
{
    (void)u, (void)a, (void)b, (void)c, (void)d;
    /* no ATTACH (files elsewhere) and no loading of extensions */
    return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY : SQLITE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tmpl) make_template();
    if (size > 4096) return 0;
    char p[300];
    fz_path(p, sizeof p, "edited.db");
    fz_write(p, tmpl, tmpl_len);
    char *sql = fz_str(data, size);
    sqlite3 *h;
    if (sqlite3_open(p, &h) == SQLITE_OK) {
        sqlite3_set_authorizer(h, authorize, NULL);
        sqlite3_limit(h, SQLITE_LIMIT_LENGTH, 1 << 20);
        sqlite3_exec(h, sql, NULL, NULL, NULL);
    }
    sqlite3_close(h);
    free(sql);
    fz_render_store(p);
    return 0;
}
