/* The results store's import, first half: a store received from someone else, opened as untrusted
 * data and checked whole (schema version, objects, columns, every value's type and bounds, references,
 * blobs) before anything is read from it. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

#include "store/internal.h"

/* ---- import: a store received from someone else, checked, then merged -------------------------------- */

/* Why a value of the file is refused: "FILE: table T, row R, column C: why" (one line). */
static int imp_fail(const char *path, const char *table, sqlite3_int64 row, const char *col, const char *fmt, ...)
    JP_PRINTF(5, 6);
static int imp_fail(const char *path, const char *table, sqlite3_int64 row, const char *col, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (row >= 0 && col)
        return jp_fail(JP_ERR_PARSE, "%s: table %s, row %lld, column %s: %s (nothing imported)", path, table,
                       (long long)row, col, why);
    if (col) return jp_fail(JP_ERR_PARSE, "%s: table %s, column %s: %s (nothing imported)", path, table, col, why);
    return jp_fail(JP_ERR_PARSE, "%s: table %s: %s (nothing imported)", path, table, why);
}

/* The file's handle, opened so that its content is only data: read only, no functions from its schema
 * (trusted_schema off), defensive, cells checked, no memory map, values at most 256 MiB. */
int store_import_open(const char *path, sqlite3 **h)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return jp_fail(errno == ENOENT ? JP_ERR_NOTFOUND : JP_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return jp_fail(JP_ERR_INVAL, "%s: not a regular file", path);
    if (sb.st_size < 512) return jp_fail(JP_ERR_PARSE, "%s: not a jouleprint results store (%lld bytes)", path, (long long)sb.st_size);
    if ((unsigned long long)sb.st_size > (4ULL << 30))
        return jp_fail(JP_ERR_RANGE, "%s: %lld bytes: more than a results store holds (4 GiB at most)", path,
                       (long long)sb.st_size);
    if (sqlite3_open_v2(path, h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        int rc = jp_fail(JP_ERR_IO, "%s: cannot open: %s", path, *h ? sqlite3_errmsg(*h) : "out of memory");
        sqlite3_close(*h);
        *h = NULL;
        return rc;
    }
    sqlite3_db_config(*h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(*h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_limit(*h, SQLITE_LIMIT_LENGTH, 256 << 20);
    if (sqlite3_exec(*h, "PRAGMA query_only = ON; PRAGMA cell_size_check = ON; PRAGMA mmap_size = 0", NULL, NULL,
                     NULL) != SQLITE_OK) {
        int rc = jp_fail(JP_ERR_PARSE, "%s: not a jouleprint results store (%s)", path, sqlite3_errmsg(*h));
        sqlite3_close(*h);
        *h = NULL;
        return rc;
    }
    return JP_OK;
}

/* The first column of the first row of sql as text into buf ("" when there is none). */
static int imp_text(sqlite3 *h, const char *path, const char *sql, char *buf, size_t len, sqlite3_int64 *num)
{
    sqlite3_stmt *st;
    buf[0] = '\0';
    if (num) *num = 0;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return jp_fail(JP_ERR_PARSE, "%s: not a jouleprint results store (%s)", path, sqlite3_errmsg(h));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *s = sqlite3_column_text(st, 0);
        jp_strlcpy(buf, s ? (const char *)s : "", len);
        if (num) *num = sqlite3_column_int64(st, 0);
        if (num && sqlite3_column_count(st) > 1) num[1] = sqlite3_column_int64(st, 1);
    }
    int r = (rc == SQLITE_ROW || rc == SQLITE_DONE)
                ? JP_OK
                : jp_fail(JP_ERR_PARSE, "%s: not a sound SQLite file (%s)", path, sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return r;
}

/* The tables of schema version `version` (1 .. this build's), made in memory, to compare the file's with. */
static int imp_reference(sqlite3 **ref, long version)
{
    if (sqlite3_open_v2(":memory:", ref, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return jp_fail(JP_ERR_NOMEM, "importing: cannot open an in-memory database");
    int rc = sqlite3_exec(*ref,
                          "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL, "
                          "jouleprint_version TEXT NOT NULL)",
                          NULL, NULL, NULL);
    for (long v = 0; rc == SQLITE_OK && v < version; v++) rc = sqlite3_exec(*ref, store_migrations[v], NULL, NULL, NULL);
    return rc == SQLITE_OK ? JP_OK : jp_fail(JP_ERR_IO, "importing: building the schema: %s", sqlite3_errmsg(*ref));
}

static const char *const imp_tables[] = {"schema_version", "runs", "tasks", "models", "phases", "metrics", "timelines",
                                         "repeats", "images"};
/* the schema version that made each of imp_tables */
static const long imp_table_since[] = {1, 1, 1, 1, 1, 1, 1, 2, 4};
_Static_assert(sizeof imp_tables / sizeof imp_tables[0] == sizeof imp_table_since / sizeof imp_table_since[0],
               "a version for each table");

/* Bounds of the numbers: [lo, hi] for the column (NULL allowed where the schema allows it). */
struct imp_bound {
    const char *table, *col;
    double lo, hi;
};
static const struct imp_bound imp_bounds[] = {
    {"runs", "id", 1, 9e15},
    {"runs", "estimated", 0, 1},
    {"runs", "g_per_kwh", 0, 5000},
    {"runs", "pue", 0, 100},
    {"runs", "project_n", 0, 1e18},
    {"runs", "baseline_w", 0, 1e7},
    {"runs", "intensity_year", 0, 2100},
    {"tasks", "pos", 0, 1e6},
    {"tasks", "n_time", 0, 1e12},
    {"tasks", "n_score", 0, 1e12},
    {"tasks", "reference_pos", -1, 1e6},
    {"tasks", "pick_pos", -1, 1e6},
    {"tasks", "tolerance", 0, 100},
    {"models", "pos", 0, 1e6},
    {"models", "runs", 0, 1e6},
    {"models", "warmups", 0, 1e6},
    {"models", "items_timed", 0, 1e12},
    {"models", "items_scored", 0, 1e12},
    {"models", "energy_j", 0, 1e15},
    {"models", "energy_j_sd", 0, 1e15},
    {"models", "duration_s", 0, 1e9},
    {"models", "duration_s_sd", 0, 1e9},
    {"models", "above_idle_j", -1e15, 1e15},
    {"models", "infer_j", 0, 1e15},
    {"models", "infer_s", 0, 1e9},
    {"models", "load_j", 0, 1e15},
    {"models", "load_s", 0, 1e9},
    {"models", "j_per_item", 0, 1e15},
    {"models", "wh_per_1000", 0, 1e18},
    {"models", "latency_s", 0, 1e9},
    {"models", "items_per_s", 0, 1e15},
    {"models", "estimated", 0, 1},
    {"models", "is_reference", 0, 1},
    {"models", "pareto", 0, 1},
    {"models", "rating", 0, 5},
    {"models", "proj_kwh", 0, 1e18},
    {"models", "proj_g", 0, 1e21},
    {"phases", "pos", 0, 7},
    {"phases", "joules", -1e15, 1e15},
    {"phases", "seconds", 0, 1e9},
    {"metrics", "pos", 0, 7},
    {"timelines", "nsamples", 0, 1 << 24},
    {"repeats", "nrep", 0, 1 << 20},
    {"images", "side", 1, STORE_IMAGE_SIDE_MAX},
    {"images", "nimages", 1, JP_BENCH_MAX_IMAGES},
};

/* The longest text the loader keeps for a column (what is longer would be cut: refused instead). */
static size_t imp_text_max(const char *table, const char *col)
{
    const struct col *cols = NULL;
    size_t n = 0;
    if (!strcmp(table, "runs")) cols = store_run_cols, n = store_run_ncols;
    else if (!strcmp(table, "tasks")) cols = store_task_cols, n = store_task_ncols;
    else if (!strcmp(table, "models")) cols = store_model_cols, n = store_model_ncols;
    for (size_t i = 0; i < n; i++)
        if (cols[i].type == C_TEXT && !strcmp(store_sql_name(cols[i].name), col)) return cols[i].size - 1;
    if (!strcmp(table, "phases") || !strcmp(table, "metrics")) return 31;
    return 4096; /* saved_at, jouleprint_version, the status names, models.machine and .sources */
}

/* One check on the file: the first row that sql (SELECT rowid, value ...) returns is the offender. */
static int imp_first(sqlite3 *h, const char *path, const char *sql, const char *table, const char *col,
                     const char *why)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return jp_fail(JP_ERR_PARSE, "%s: table %s: cannot be read (%s) (nothing imported)", path, table, sqlite3_errmsg(h));
    int rc = sqlite3_step(st), r = JP_OK;
    if (rc == SQLITE_ROW) {
        char val[96];
        const unsigned char *s = sqlite3_column_text(st, 1);
        if (sqlite3_column_type(st, 1) == SQLITE_NULL) snprintf(val, sizeof val, "NULL");
        else jp_strlcpy(val, s ? (const char *)s : "", 64);
        r = imp_fail(path, table, sqlite3_column_int64(st, 0), col, "%s (%s)", why, val);
    } else if (rc != SQLITE_DONE) {
        r = jp_fail(JP_ERR_PARSE, "%s: table %s: cannot be read (%s) (nothing imported)", path, table, sqlite3_errmsg(h));
    }
    sqlite3_finalize(st);
    return r;
}

/* Everything the loader and the writers rely on, checked on the file before anything is read from it.
 * *version: the file's schema version (an older one is read as it is, as a read-only open reads it). */
int store_import_validate(sqlite3 *h, const char *path, long *version)
{
    char buf[512], sql[1024];
    sqlite3_int64 num[2];
    int rc;
    /* a sound SQLite file */
    if ((rc = imp_text(h, path, "PRAGMA quick_check(1)", buf, sizeof buf, NULL))) return rc;
    if (strcmp(buf, "ok")) return jp_fail(JP_ERR_PARSE, "%s: a damaged SQLite file (quick_check: %.200s) (nothing imported)", path, buf);
    /* only the objects of a store: no view, no trigger, no other table */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "SELECT type, name FROM sqlite_master ORDER BY rowid", -1, &st, NULL) != SQLITE_OK)
        return jp_fail(JP_ERR_PARSE, "%s: not a jouleprint results store (%s)", path, sqlite3_errmsg(h));
    rc = JP_OK;
    bool seen[sizeof imp_tables / sizeof imp_tables[0]] = {false};
    while (rc == JP_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0), *name = (const char *)sqlite3_column_text(st, 1);
        if (!type || !name) continue;
        if (!strcmp(type, "index")) continue; /* indexes hold no data of their own (functions in them are off) */
        size_t k = 0, nt = sizeof imp_tables / sizeof imp_tables[0];
        while (k < nt && strcmp(imp_tables[k], name)) k++;
        if (!strcmp(type, "table") && k < nt) seen[k] = true;
        else if (!(!strcmp(type, "table") && !strcmp(name, "sqlite_sequence")))
            rc = jp_fail(JP_ERR_PARSE, "%s: has a %.16s \"%.64s\", which a jouleprint results store has not (nothing imported)",
                         path, type, name);
    }
    sqlite3_finalize(st);
    if (rc) return rc;
    /* a schema version this jouleprint reads: its own, or an older one */
    if (!seen[0]) return jp_fail(JP_ERR_PARSE, "%s: not a jouleprint results store (no table schema_version) (nothing imported)", path);
    if ((rc = imp_text(h, path, "SELECT max(version), count(*) FROM schema_version", buf, sizeof buf, num))) return rc;
    if (num[0] < 1 || num[0] > JP_STORE_SCHEMA_VERSION)
        return imp_fail(path, "schema_version", -1, "version",
                        "schema version %lld, this jouleprint reads versions 1 to %d", (long long)num[0], JP_STORE_SCHEMA_VERSION);
    *version = (long)num[0];
    for (size_t k = 0; k < sizeof imp_tables / sizeof imp_tables[0]; k++)
        if (!seen[k] && imp_table_since[k] <= *version)
            return jp_fail(JP_ERR_PARSE, "%s: not a jouleprint results store (no table %s) (nothing imported)", path,
                           imp_tables[k]);
        else if (seen[k] && imp_table_since[k] > *version)
            return jp_fail(JP_ERR_PARSE, "%s: has a table \"%s\", which a store of schema version %ld has not (nothing imported)",
                           path, imp_tables[k], *version);
    /* every table's columns as that version makes them (name, type, NOT NULL, key), and their values */
    sqlite3 *ref = NULL;
    if ((rc = imp_reference(&ref, *version))) {
        sqlite3_close(ref);
        return rc;
    }
    for (size_t k = 0; rc == JP_OK && k < sizeof imp_tables / sizeof imp_tables[0]; k++) {
        const char *t = imp_tables[k];
        if (imp_table_since[k] > *version) continue;
        snprintf(sql, sizeof sql, "SELECT name, upper(type), \"notnull\", pk FROM pragma_table_info('%s') ORDER BY cid", t);
        sqlite3_stmt *a = NULL, *b = NULL;
        if (sqlite3_prepare_v2(h, sql, -1, &a, NULL) != SQLITE_OK || sqlite3_prepare_v2(ref, sql, -1, &b, NULL) != SQLITE_OK) {
            rc = imp_fail(path, t, -1, NULL, "its columns cannot be read (%s)", sqlite3_errmsg(h));
            sqlite3_finalize(a);
            sqlite3_finalize(b);
            break;
        }
        for (;;) {
            int ra = sqlite3_step(a), rb = sqlite3_step(b);
            if (ra != SQLITE_ROW && rb != SQLITE_ROW) break;
            const char *na = ra == SQLITE_ROW ? (const char *)sqlite3_column_text(a, 0) : NULL;
            const char *nb = rb == SQLITE_ROW ? (const char *)sqlite3_column_text(b, 0) : NULL;
            if (!na || !nb) {
                rc = nb ? imp_fail(path, t, -1, nb, "missing") : imp_fail(path, t, -1, na ? na : "?", "not a column of a jouleprint store");
                break;
            }
            const char *ta = (const char *)sqlite3_column_text(a, 1), *tb = (const char *)sqlite3_column_text(b, 1);
            if (strcmp(na, nb) || strcmp(ta ? ta : "", tb ? tb : "") || sqlite3_column_int(a, 2) != sqlite3_column_int(b, 2) ||
                sqlite3_column_int(a, 3) != sqlite3_column_int(b, 3)) {
                rc = imp_fail(path, t, -1, na, "declared as \"%.64s %.16s\", expected \"%.64s %.16s%s\"", na, ta ? ta : "", nb,
                              tb ? tb : "", sqlite3_column_int(b, 2) ? " NOT NULL" : "");
                break;
            }
            /* the column's values: their type, their size, their range */
            bool notnull = sqlite3_column_int(b, 2) || sqlite3_column_int(b, 3);
            const char *want = !strcmp(tb, "INTEGER") ? "'integer'" : !strcmp(tb, "REAL") ? "'real'"
                               : !strcmp(tb, "TEXT")  ? "'text'" : "'blob'";
            snprintf(sql, sizeof sql, "SELECT rowid, typeof(\"%s\") FROM \"%s\" WHERE typeof(\"%s\") NOT IN (%s%s) LIMIT 1",
                     nb, t, nb, want, notnull ? "" : ", 'null'");
            char why[64];
            snprintf(why, sizeof why, "holds a value of the wrong type, expected %s", tb);
            if ((rc = imp_first(h, path, sql, t, nb, why))) break;
            if (!strcmp(tb, "TEXT")) {
                size_t max = imp_text_max(t, nb);
                snprintf(sql, sizeof sql, "SELECT rowid, length(CAST(\"%s\" AS BLOB)) || ' bytes' FROM \"%s\" "
                                          "WHERE length(CAST(\"%s\" AS BLOB)) > %zu LIMIT 1",
                         nb, t, nb, max);
                snprintf(why, sizeof why, "longer than the %zu bytes a store keeps", max);
                if ((rc = imp_first(h, path, sql, t, nb, why))) break;
            } else if (!strcmp(tb, "REAL") || !strcmp(tb, "INTEGER")) {
                double lo = -1e18, hi = 1e18;
                for (size_t i = 0; i < sizeof imp_bounds / sizeof imp_bounds[0]; i++)
                    if (!strcmp(imp_bounds[i].table, t) && !strcmp(imp_bounds[i].col, nb)) {
                        lo = imp_bounds[i].lo;
                        hi = imp_bounds[i].hi;
                    }
                snprintf(sql, sizeof sql, "SELECT rowid, \"%s\" FROM \"%s\" WHERE \"%s\" IS NOT NULL AND NOT (\"%s\" >= %.17g AND \"%s\" <= %.17g) LIMIT 1",
                         nb, t, nb, nb, lo, nb, hi);
                snprintf(why, sizeof why, "out of range [%g, %g]", lo, hi);
                if ((rc = imp_first(h, path, sql, t, nb, why))) break;
            }
        }
        sqlite3_finalize(a);
        sqlite3_finalize(b);
    }
    sqlite3_close(ref);
    if (rc) return rc;
    /* the statuses are names this jouleprint knows */
    {
        const char *q[2] = {"SELECT id, status FROM runs", "SELECT id, status FROM models"};
        for (int k = 0; k < 2 && rc == JP_OK; k++) {
            if (sqlite3_prepare_v2(h, q[k], -1, &st, NULL) != SQLITE_OK) return imp_fail(path, k ? "models" : "runs", -1, "status", "cannot be read");
            while (rc == JP_OK && sqlite3_step(st) == SQLITE_ROW) {
                const char *s = (const char *)sqlite3_column_text(st, 1);
                enum jp_run_status rs;
                enum jp_model_status ms;
                int ok = k ? jp_model_status_parse(s, &ms) : jp_run_status_parse(s, &rs);
                if (ok != JP_OK) rc = imp_fail(path, k ? "models" : "runs", sqlite3_column_int64(st, 0), "status", "not a status name (%.32s)", s ? s : "");
            }
            sqlite3_finalize(st);
        }
        if (rc) return rc;
    }
    /* every reference leads to a row */
    if (sqlite3_prepare_v2(h, "SELECT f.\"table\", f.rowid, f.parent, l.\"from\" FROM pragma_foreign_key_check AS f "
                              "LEFT JOIN pragma_foreign_key_list(f.\"table\") AS l ON l.id = f.fkid LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return jp_fail(JP_ERR_PARSE, "%s: its references cannot be checked (%s) (nothing imported)", path, sqlite3_errmsg(h));
    if (sqlite3_step(st) == SQLITE_ROW) {
        char t[32], p[32], c[32];
        jp_strlcpy(t, (const char *)sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "?", sizeof t);
        jp_strlcpy(p, (const char *)sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "?", sizeof p);
        jp_strlcpy(c, (const char *)sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "?", sizeof c);
        rc = imp_fail(path, t, sqlite3_column_int64(st, 1), c, "refers to no row of %s", p);
    }
    sqlite3_finalize(st);
    if (rc) return rc;
    /* what the loader reads: positions within bounds, no more phases and metrics than a model has room for,
     * timelines whose blobs hold their samples */
    struct {
        const char *sql, *table, *col, *why;
    } checks[] = { /* (the tables a version lacks are skipped below) */
        {"SELECT t.id, t.reference_pos FROM tasks t WHERE t.reference_pos >= (SELECT count(*) FROM models m WHERE "
         "m.task_id = t.id) LIMIT 1",
         "tasks", "reference_pos", "names a model the task has not"},
        {"SELECT t.id, t.pick_pos FROM tasks t WHERE t.pick_pos >= (SELECT count(*) FROM models m WHERE m.task_id = "
         "t.id) LIMIT 1",
         "tasks", "pick_pos", "names a model the task has not"},
        {"SELECT model_id, count(*) FROM phases GROUP BY model_id HAVING count(*) > 8 LIMIT 1", "phases", "model_id",
         "more than 8 phases for one model"},
        {"SELECT model_id, count(*) FROM metrics GROUP BY model_id HAVING count(*) > 8 LIMIT 1", "metrics", "model_id",
         "more than 8 metrics for one model"},
        {"SELECT rowid, length(t) || ' bytes' FROM timelines WHERE length(t) <> 8 * nsamples LIMIT 1", "timelines", "t",
         "not 8 bytes a sample"},
        {"SELECT rowid, length(w) || ' bytes' FROM timelines WHERE length(w) <> 8 * nsamples LIMIT 1", "timelines", "w",
         "not 8 bytes a sample"},
        {"SELECT rowid, length(j) || ' bytes' FROM repeats WHERE length(j) <> 8 * nrep LIMIT 1", "repeats", "j",
         "not 8 bytes a run"},
        {"SELECT rowid, length(attr) || ' bytes' FROM repeats WHERE length(attr) <> 8 * nrep LIMIT 1", "repeats", "attr",
         "not 8 bytes a run"},
        {"SELECT rowid, length(pixels) || ' bytes' FROM images WHERE length(pixels) <> nimages * side * side LIMIT 1",
         "images", "pixels", "not side x side bytes an image"},
        {"SELECT id, (SELECT count(*) FROM tasks t WHERE t.run_id = r.id) FROM runs r WHERE (SELECT count(*) FROM "
         "tasks t WHERE t.run_id = r.id) > 10000 LIMIT 1",
         "runs", "id", "more than 10,000 tasks in one run"},
        {"SELECT t.id, (SELECT count(*) FROM models m WHERE m.task_id = t.id) FROM tasks t WHERE (SELECT count(*) FROM "
         "models m WHERE m.task_id = t.id) > 10000 LIMIT 1",
         "tasks", "id", "more than 10,000 models in one task"},
    };
    for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++) {
        size_t t = 0, nt = sizeof imp_tables / sizeof imp_tables[0];
        while (t < nt && strcmp(imp_tables[t], checks[k].table)) t++;
        if (t < nt && imp_table_since[t] > *version) continue; /* a table this version has not */
        if ((rc = imp_first(h, path, checks[k].sql, checks[k].table, checks[k].col, checks[k].why))) return rc;
    }
    /* the samples themselves: finite numbers */
    if (sqlite3_prepare_v2(h, "SELECT model_id, nsamples, t, w FROM timelines", -1, &st, NULL) != SQLITE_OK)
        return imp_fail(path, "timelines", -1, NULL, "cannot be read (%s)", sqlite3_errmsg(h));
    while (rc == JP_OK && sqlite3_step(st) == SQLITE_ROW) {
        sqlite3_int64 n = sqlite3_column_int64(st, 1);
        for (int c = 2; c <= 3 && rc == JP_OK; c++) {
            const unsigned char *b = sqlite3_column_blob(st, c);
            for (sqlite3_int64 i = 0; b && i < n; i++) {
                uint64_t u = 0;
                for (int k = 0; k < 8; k++) u |= (uint64_t)b[i * 8 + k] << (8 * k);
                double d;
                memcpy(&d, &u, sizeof d);
                if (!isfinite(d)) {
                    rc = imp_fail(path, "timelines", sqlite3_column_int64(st, 0), c == 2 ? "t" : "w",
                                  "sample %lld is not a finite number", (long long)i);
                    break;
                }
            }
        }
    }
    sqlite3_finalize(st);
    return rc;
}
