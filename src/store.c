/* The results store: benchmark runs in SQLite (see store.h for the schema and the guarantees). */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "escape.h"
#include "util.h"

struct jp_store {
    sqlite3 *h;
    char path[PATH_MAX];
    bool readonly;
    bool empty; /* read-only and no schema yet (an empty file): no runs */
    long version; /* the schema version of the file (read-only: it may be older than this build's) */
};

/* ---- errors ------------------------------------------------------------------------------------ */

static int code_of(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_NOMEM: return JP_ERR_NOMEM;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH: return JP_ERR_PERM;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
    case SQLITE_SCHEMA: return JP_ERR_PARSE;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG: return JP_ERR_INVAL;
    default: return JP_ERR_IO;
    }
}

/* "PATH: what: sqlite's message", with the code that fits sqlite's error. */
static int db_fail(const jp_store *db, const char *what)
{
    int rc = sqlite3_extended_errcode(db->h);
    const char *msg = sqlite3_errmsg(db->h);
    if ((rc & 0xff) == SQLITE_BUSY)
        return jp_fail(JP_ERR_IO, "%s: %s: the store is locked by another process (%s); try again", db->path, what, msg);
    if ((rc & 0xff) == SQLITE_NOTADB)
        return jp_fail(JP_ERR_PARSE, "%s: not a jouleprint results store (%s)", db->path, msg);
    return jp_fail(code_of(rc), "%s: %s: %s", db->path, what, msg);
}

/* ---- column tables: one list of fields per struct serves INSERT and SELECT ----------------------- */

/* C_MSTATUS, C_RSTATUS: an enum jp_model_status / jp_run_status, stored as its name; C_OPTINT: an int
 * where -1 (unknown) is stored as NULL */
enum col_type { C_TEXT, C_INT, C_LONG, C_REAL, C_BOOL, C_MSTATUS, C_RSTATUS, C_OPTINT };

struct col {
    const char *name;
    enum col_type type;
    size_t offset;
    size_t size; /* of a C_TEXT array */
};

#define TEXT(s, f) {#f, C_TEXT, offsetof(struct s, f), sizeof(((struct s *)0)->f)}
#define COL(s, f, t) {#f, t, offsetof(struct s, f), 0}

static const struct col run_cols[] = {
    TEXT(jp_bench_run, started_at),       TEXT(jp_bench_run, finished_at),  COL(jp_bench_run, status, C_RSTATUS),
    TEXT(jp_bench_run, spec_path),        TEXT(jp_bench_run, machine),      TEXT(jp_bench_run, sources),
    COL(jp_bench_run, estimated, C_BOOL), TEXT(jp_bench_run, region),       COL(jp_bench_run, g_per_kwh, C_REAL),
    TEXT(jp_bench_run, intensity_source), COL(jp_bench_run, pue, C_REAL),   COL(jp_bench_run, project_n, C_REAL),
    COL(jp_bench_run, baseline_w, C_REAL),
#define RUN_COLS_V2 13
    /* schema 3 */
    COL(jp_bench_run, intensity_year, C_OPTINT),
};

/* "references" is an SQL keyword: the column is refs (see task_sql_name). */
static const struct col task_cols[] = {
    TEXT(jp_bench_task, name),           TEXT(jp_bench_task, scorer),         TEXT(jp_bench_task, metric),
    TEXT(jp_bench_task, items),          TEXT(jp_bench_task, references),     COL(jp_bench_task, n_time, C_LONG),
    COL(jp_bench_task, n_score, C_LONG), COL(jp_bench_task, reference, C_INT), COL(jp_bench_task, pick, C_INT),
    COL(jp_bench_task, tolerance, C_REAL),
    TEXT(jp_bench_task, basis), /* schema 2 */
};
#define TASK_COLS_V1 10

static const struct col model_cols[] = {
    TEXT(jp_bench_model, name),
    TEXT(jp_bench_model, kind),
    TEXT(jp_bench_model, command),
    COL(jp_bench_model, status, C_MSTATUS),
    TEXT(jp_bench_model, error),
    COL(jp_bench_model, runs, C_INT),
    COL(jp_bench_model, warmups, C_INT),
    COL(jp_bench_model, items_timed, C_LONG),
    COL(jp_bench_model, items_scored, C_LONG),
    COL(jp_bench_model, energy_j, C_REAL),
    COL(jp_bench_model, energy_j_sd, C_REAL),
    COL(jp_bench_model, duration_s, C_REAL),
    COL(jp_bench_model, duration_s_sd, C_REAL),
    COL(jp_bench_model, above_idle_j, C_REAL),
    COL(jp_bench_model, infer_j, C_REAL),
    COL(jp_bench_model, infer_s, C_REAL),
    COL(jp_bench_model, load_j, C_REAL),
    COL(jp_bench_model, load_s, C_REAL),
    COL(jp_bench_model, j_per_item, C_REAL),
    COL(jp_bench_model, wh_per_1000, C_REAL),
    COL(jp_bench_model, latency_s, C_REAL),
    COL(jp_bench_model, items_per_s, C_REAL),
    COL(jp_bench_model, score, C_REAL),
    COL(jp_bench_model, estimated, C_BOOL),
    COL(jp_bench_model, is_reference, C_BOOL),
    COL(jp_bench_model, saving_pct, C_REAL),
    COL(jp_bench_model, score_delta, C_REAL),
    COL(jp_bench_model, pareto, C_BOOL),
    COL(jp_bench_model, rating, C_INT),
    COL(jp_bench_model, proj_kwh, C_REAL),
    COL(jp_bench_model, proj_g, C_REAL),
#define MODEL_COLS_V1 31
    /* schema 2 */
    COL(jp_bench_model, attr_j_per_item, C_REAL),
    COL(jp_bench_model, cpu_share, C_REAL),
    COL(jp_bench_model, other_share, C_REAL),
    COL(jp_bench_model, cmp_j_per_item, C_REAL),
    COL(jp_bench_model, cmp_lo, C_REAL),
    COL(jp_bench_model, cmp_hi, C_REAL),
    COL(jp_bench_model, saving_lo, C_REAL),
    COL(jp_bench_model, saving_hi, C_REAL),
    COL(jp_bench_model, saving_significant, C_BOOL),
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const char *sql_name(const char *name)
{
    if (!strcmp(name, "references")) return "refs";
    if (!strcmp(name, "reference")) return "reference_pos";
    if (!strcmp(name, "pick")) return "pick_pos";
    return name;
}

/* Binds the fields of obj listed in cols to parameters first.. of st. */
static int bind_cols(sqlite3_stmt *st, int first, const struct col *cols, size_t n, const void *obj)
{
    int rc = SQLITE_OK;
    for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
        const char *p = (const char *)obj + cols[i].offset;
        int k = first + (int)i;
        switch (cols[i].type) {
        case C_TEXT: rc = sqlite3_bind_text(st, k, p, (int)strnlen(p, cols[i].size), SQLITE_STATIC); break;
        case C_INT: rc = sqlite3_bind_int(st, k, *(const int *)p); break;
        case C_OPTINT:
            rc = *(const int *)p < 0 ? sqlite3_bind_null(st, k) : sqlite3_bind_int(st, k, *(const int *)p);
            break;
        case C_LONG: rc = sqlite3_bind_int64(st, k, *(const long *)p); break;
        case C_REAL: rc = sqlite3_bind_double(st, k, *(const double *)p); break; /* NaN becomes NULL */
        case C_BOOL: rc = sqlite3_bind_int(st, k, *(const bool *)p ? 1 : 0); break;
        case C_MSTATUS:
            rc = sqlite3_bind_text(st, k, jp_model_status_name(*(const enum jp_model_status *)p), -1, SQLITE_STATIC);
            break;
        case C_RSTATUS:
            rc = sqlite3_bind_text(st, k, jp_run_status_name(*(const enum jp_run_status *)p), -1, SQLITE_STATIC);
            break;
        }
    }
    return rc;
}

/* Reads result columns first.. of st into the fields of obj. A status that is not one of the names
 * fails (JP_ERR_PARSE, the message naming the column: the caller adds where). */
static int read_cols(sqlite3_stmt *st, int first, const struct col *cols, size_t n, void *obj)
{
    int rc = JP_OK;
    for (size_t i = 0; i < n; i++) {
        char *p = (char *)obj + cols[i].offset;
        int k = first + (int)i;
        bool null = sqlite3_column_type(st, k) == SQLITE_NULL;
        switch (cols[i].type) {
        case C_TEXT: {
            const unsigned char *s = sqlite3_column_text(st, k);
            jp_strlcpy(p, s ? (const char *)s : "", cols[i].size);
            break;
        }
        case C_INT: *(int *)p = sqlite3_column_int(st, k); break;
        case C_OPTINT: *(int *)p = null ? -1 : sqlite3_column_int(st, k); break;
        case C_LONG: *(long *)p = (long)sqlite3_column_int64(st, k); break;
        case C_REAL: *(double *)p = null ? NAN : sqlite3_column_double(st, k); break;
        case C_BOOL: *(bool *)p = sqlite3_column_int(st, k) != 0; break;
        case C_MSTATUS:
        case C_RSTATUS: {
            const unsigned char *s = sqlite3_column_text(st, k);
            int r = cols[i].type == C_MSTATUS ? jp_model_status_parse((const char *)s, (enum jp_model_status *)p)
                                              : jp_run_status_parse((const char *)s, (enum jp_run_status *)p);
            if (r != JP_OK && rc == JP_OK) rc = r;
            break;
        }
        }
    }
    return rc;
}

/* "a, b, c" of the columns' SQL names, or "?, ?, ?" */
static void col_list(char *buf, size_t len, const struct col *cols, size_t n, bool marks)
{
    size_t at = strlen(buf);
    for (size_t i = 0; i < n && at < len; i++) {
        int w = snprintf(buf + at, len - at, "%s%s", (at && buf[at - 1] != '(' && buf[at - 1] != ' ') ? ", " : "",
                         marks ? "?" : sql_name(cols[i].name));
        if (w < 0) break;
        at += (size_t)w;
    }
}

/* ---- the schema and its migrations --------------------------------------------------------------- */

/* migrations[v - 1] brings a store from version v - 1 to v. Append, never edit. */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE runs (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  saved_at TEXT NOT NULL, jouleprint_version TEXT NOT NULL,\n"
    "  started_at TEXT NOT NULL, finished_at TEXT NOT NULL, status TEXT NOT NULL, spec_path TEXT NOT NULL,\n"
    "  machine TEXT NOT NULL, sources TEXT NOT NULL, estimated INTEGER NOT NULL,\n"
    "  region TEXT NOT NULL, g_per_kwh REAL, intensity_source TEXT NOT NULL, pue REAL, project_n REAL,\n"
    "  baseline_w REAL);\n"
    "CREATE TABLE tasks (\n"
    "  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  pos INTEGER NOT NULL, name TEXT NOT NULL, scorer TEXT NOT NULL, metric TEXT NOT NULL,\n"
    "  items TEXT NOT NULL, refs TEXT NOT NULL, n_time INTEGER NOT NULL, n_score INTEGER NOT NULL,\n"
    "  reference_pos INTEGER NOT NULL, pick_pos INTEGER NOT NULL, tolerance REAL,\n"
    "  UNIQUE (run_id, pos));\n"
    "CREATE TABLE models (\n"
    "  id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,\n"
    "  pos INTEGER NOT NULL, machine TEXT NOT NULL, sources TEXT NOT NULL,\n"
    "  name TEXT NOT NULL, kind TEXT NOT NULL, command TEXT NOT NULL, status TEXT NOT NULL,\n"
    "  error TEXT NOT NULL, runs INTEGER NOT NULL, warmups INTEGER NOT NULL,\n"
    "  items_timed INTEGER NOT NULL, items_scored INTEGER NOT NULL,\n"
    "  energy_j REAL, energy_j_sd REAL, duration_s REAL, duration_s_sd REAL, above_idle_j REAL,\n"
    "  infer_j REAL, infer_s REAL, load_j REAL, load_s REAL,\n"
    "  j_per_item REAL, wh_per_1000 REAL, latency_s REAL, items_per_s REAL, score REAL,\n"
    "  estimated INTEGER NOT NULL, is_reference INTEGER NOT NULL, saving_pct REAL, score_delta REAL,\n"
    "  pareto INTEGER NOT NULL, rating INTEGER NOT NULL, proj_kwh REAL, proj_g REAL,\n"
    "  UNIQUE (task_id, pos));\n"
    "CREATE TABLE phases (\n"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE, pos INTEGER NOT NULL,\n"
    "  name TEXT NOT NULL, joules REAL, seconds REAL, PRIMARY KEY (model_id, pos));\n"
    "CREATE TABLE metrics (\n"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE, pos INTEGER NOT NULL,\n"
    "  name TEXT NOT NULL, value REAL, PRIMARY KEY (model_id, pos));\n"
    "-- t and w: nsamples little-endian IEEE 754 doubles each (seconds since start, total watts)\n"
    "CREATE TABLE timelines (\n"
    "  model_id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,\n"
    "  nsamples INTEGER NOT NULL, t BLOB NOT NULL, w BLOB NOT NULL);\n"
    "CREATE INDEX tasks_by_run ON tasks (run_id);\n"
    "CREATE INDEX models_by_task ON models (task_id);\n"
    "CREATE INDEX models_by_name ON models (name);\n",
    /* 2: attributed energy, intervals, and every measured run (issue 14) */
    "ALTER TABLE tasks ADD COLUMN basis TEXT NOT NULL DEFAULT 'machine';\n"
    "ALTER TABLE models ADD COLUMN attr_j_per_item REAL;\n"
    "ALTER TABLE models ADD COLUMN cpu_share REAL;\n"
    "ALTER TABLE models ADD COLUMN other_share REAL;\n"
    "ALTER TABLE models ADD COLUMN cmp_j_per_item REAL;\n"
    "ALTER TABLE models ADD COLUMN cmp_lo REAL;\n"
    "ALTER TABLE models ADD COLUMN cmp_hi REAL;\n"
    "ALTER TABLE models ADD COLUMN saving_lo REAL;\n"
    "ALTER TABLE models ADD COLUMN saving_hi REAL;\n"
    "ALTER TABLE models ADD COLUMN saving_significant INTEGER NOT NULL DEFAULT 0;\n"
    "-- j and attr: nrep little-endian IEEE 754 doubles each (energy per item of each measured run, in\n"
    "-- the order run: whole machine, and attributed, NaN where unknown)\n"
    "CREATE TABLE repeats (\n"
    "  model_id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,\n"
    "  nrep INTEGER NOT NULL, j BLOB NOT NULL, attr BLOB NOT NULL);\n",
    /* 3: the intensity whole (issue 12): the year of the figure (NULL: a run stored before, year unknown;
     * 0: a figure without a year) */
    "ALTER TABLE runs ADD COLUMN intensity_year INTEGER;\n",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == JP_STORE_SCHEMA_VERSION,
               "one migration per schema version");

static void utc_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int exec(jp_store *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK) return db_fail(db, what);
    return JP_OK;
}

/* A single integer from sql (no parameters); *found false when there is no row. */
static int query_int(jp_store *db, const char *sql, long *out, bool *found)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(db, "reading the schema");
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : (long)sqlite3_column_int64(st, 0);
    int r = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? JP_OK : db_fail(db, "reading the schema");
    sqlite3_finalize(st);
    return r;
}

/* The applied schema version (0: a new, empty file); fails on a file that is not a store. */
static int schema_version(jp_store *db, long *version)
{
    long n = 0;
    bool found;
    int rc = query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
                       &n, &found);
    if (rc) return rc;
    if (n == 0) {
        long others = 0;
        rc = query_int(db, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'", &others, &found);
        if (rc) return rc;
        if (others > 0)
            return jp_fail(JP_ERR_PARSE, "%s: a SQLite file, but not a jouleprint results store (it has other tables)",
                           db->path);
        *version = 0;
        return JP_OK;
    }
    return query_int(db, "SELECT max(version) FROM schema_version", version, &found);
}

static int migrate(jp_store *db)
{
    long v;
    int rc = schema_version(db, &v);
    if (rc) return rc;
    if (v > JP_STORE_SCHEMA_VERSION)
        return jp_fail(JP_ERR_PARSE,
                       "%s: written by a newer jouleprint (store schema version %ld; this one reads up to %d): "
                       "use that version, or another --db",
                       db->path, v, JP_STORE_SCHEMA_VERSION);
    if (db->readonly) {
        /* a read never writes: an empty file stays empty (it holds no runs), an older schema is read as it
         * is only if it is the current one */
        if (v == 0) db->empty = true;
        db->version = v; /* an older schema is read as it is (what it did not keep is unknown) */
        return JP_OK;
    }
    while (v < JP_STORE_SCHEMA_VERSION) {
        /* BEGIN IMMEDIATE takes the write lock, so two processes opening a new store at once do not both
         * migrate: the second sees the first's version once it gets the lock. */
        if ((rc = exec(db, "BEGIN IMMEDIATE", "starting the schema update"))) return rc;
        if ((rc = schema_version(db, &v))) goto fail;
        if (v >= JP_STORE_SCHEMA_VERSION) {
            exec(db, "COMMIT", "ending the schema update");
            break;
        }
        if (v == 0 && (rc = exec(db,
                                 "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT "
                                 "NULL, jouleprint_version TEXT NOT NULL)",
                                 "creating the schema")))
            goto fail;
        if ((rc = exec(db, migrations[v], "updating the schema"))) goto fail;
        char now[32], sql[256];
        utc_now(now, sizeof now);
        snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%ld, '%s', '%s')", v + 1, now, JP_VERSION);
        if ((rc = exec(db, sql, "updating the schema"))) goto fail;
        if ((rc = exec(db, "COMMIT", "committing the schema update"))) goto fail;
        v++;
    }
    db->version = JP_STORE_SCHEMA_VERSION;
    return JP_OK;
fail:
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int jp_store_open(jp_store **out, const char *path, unsigned flags)
{
    if (!out || !path || !*path) return jp_fail(JP_ERR_INVAL, "jp_store_open: no path given");
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT) return jp_fail(errno == EACCES ? JP_ERR_PERM : JP_ERR_IO, "%s: %s", path, strerror(errno));
        if (!(flags & JP_STORE_CREATE)) return jp_fail(JP_ERR_NOTFOUND, "%s: no such results store", path);
    } else if (S_ISDIR(sb.st_mode)) {
        return jp_fail(JP_ERR_INVAL, "%s: is a directory, not a results store", path);
    }
    jp_store *db = calloc(1, sizeof *db);
    if (!db) return jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
    jp_strlcpy(db->path, path, sizeof db->path);
    db->readonly = (flags & JP_STORE_READONLY) != 0;
    int oflags = db->readonly ? SQLITE_OPEN_READONLY
                              : SQLITE_OPEN_READWRITE | ((flags & JP_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &db->h, oflags, NULL);
    if (rc != SQLITE_OK) {
        if (db->h) rc = db_fail(db, "cannot open");
        else rc = jp_fail(JP_ERR_NOMEM, "%s: cannot open: out of memory", path);
        jp_store_close(db);
        return rc;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, 10000);
    if ((rc = exec(db, "PRAGMA foreign_keys = ON", "cannot open")) ||
        (db->readonly && (rc = exec(db, "PRAGMA query_only = ON", "cannot open"))) || (rc = migrate(db))) {
        jp_store_close(db);
        return rc;
    }
    *out = db;
    return JP_OK;
}

void jp_store_close(jp_store *db)
{
    if (!db) return;
    sqlite3_close(db->h);
    free(db);
}

const char *jp_store_path(const jp_store *db) { return db ? db->path : ""; }

/* ---- timelines as little-endian doubles ---------------------------------------------------------- */

static unsigned char *pack_doubles(const double *v, size_t n)
{
    unsigned char *b = malloc(n ? n * 8 : 1);
    if (!b) return NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &v[i], 8);
        for (int k = 0; k < 8; k++) b[i * 8 + (size_t)k] = (unsigned char)(u >> (8 * k));
    }
    return b;
}

static double *unpack_doubles(const unsigned char *b, size_t n)
{
    double *v = malloc(n ? n * sizeof *v : 1);
    if (!v) return NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t u = 0;
        for (int k = 0; k < 8; k++) u |= (uint64_t)b[i * 8 + (size_t)k] << (8 * k);
        memcpy(&v[i], &u, 8);
    }
    return v;
}

/* ---- save ---------------------------------------------------------------------------------------- */

struct stmts {
    sqlite3_stmt *run, *task, *model, *phase, *metric, *timeline, *repeats;
};

static void finalize_all(struct stmts *s)
{
    sqlite3_finalize(s->run);
    sqlite3_finalize(s->task);
    sqlite3_finalize(s->model);
    sqlite3_finalize(s->phase);
    sqlite3_finalize(s->metric);
    sqlite3_finalize(s->timeline);
    sqlite3_finalize(s->repeats);
    memset(s, 0, sizeof *s);
}

static int prepare_inserts(jp_store *db, struct stmts *s)
{
    char sql[4096];
    snprintf(sql, sizeof sql, "INSERT INTO runs (id, saved_at, jouleprint_version, ");
    col_list(sql, sizeof sql, run_cols, NCOLS(run_cols), false);
    strcat(sql, ") VALUES (?, ?, ?, ");
    col_list(sql, sizeof sql, run_cols, NCOLS(run_cols), true);
    strcat(sql, ")");
    if (sqlite3_prepare_v2(db->h, sql, -1, &s->run, NULL) != SQLITE_OK) return db_fail(db, "preparing the save");

    snprintf(sql, sizeof sql, "INSERT INTO tasks (run_id, pos, ");
    col_list(sql, sizeof sql, task_cols, NCOLS(task_cols), false);
    strcat(sql, ") VALUES (?, ?, ");
    col_list(sql, sizeof sql, task_cols, NCOLS(task_cols), true);
    strcat(sql, ")");
    if (sqlite3_prepare_v2(db->h, sql, -1, &s->task, NULL) != SQLITE_OK) return db_fail(db, "preparing the save");

    snprintf(sql, sizeof sql, "INSERT INTO models (task_id, pos, machine, sources, ");
    col_list(sql, sizeof sql, model_cols, NCOLS(model_cols), false);
    strcat(sql, ") VALUES (?, ?, ?, ?, ");
    col_list(sql, sizeof sql, model_cols, NCOLS(model_cols), true);
    strcat(sql, ")");
    if (sqlite3_prepare_v2(db->h, sql, -1, &s->model, NULL) != SQLITE_OK) return db_fail(db, "preparing the save");

    if (sqlite3_prepare_v2(db->h, "INSERT INTO phases (model_id, pos, name, joules, seconds) VALUES (?, ?, ?, ?, ?)",
                           -1, &s->phase, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "INSERT INTO metrics (model_id, pos, name, value) VALUES (?, ?, ?, ?)", -1,
                           &s->metric, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "INSERT INTO timelines (model_id, nsamples, t, w) VALUES (?, ?, ?, ?)", -1,
                           &s->timeline, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "INSERT INTO repeats (model_id, nrep, j, attr) VALUES (?, ?, ?, ?)", -1,
                           &s->repeats, NULL) != SQLITE_OK)
        return db_fail(db, "preparing the save");
    return JP_OK;
}

/* Runs an INSERT whose parameters are bound; resets it for the next use. */
static int step_insert(jp_store *db, sqlite3_stmt *st, int bind_rc, const char *what)
{
    int rc = bind_rc == SQLITE_OK ? sqlite3_step(st) : bind_rc;
    int r = rc == SQLITE_DONE ? JP_OK : db_fail(db, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r;
}

static int check_run(const jp_store *db, const struct jp_bench_run *run)
{
    if (run->ntasks && !run->tasks) return jp_fail(JP_ERR_INVAL, "%s: cannot save: the run has tasks but no array", db->path);
    for (size_t t = 0; t < run->ntasks; t++) {
        const struct jp_bench_task *task = &run->tasks[t];
        if (task->nmodels && !task->models)
            return jp_fail(JP_ERR_INVAL, "%s: cannot save: task %zu has models but no array", db->path, t);
        for (size_t i = 0; i < task->nmodels; i++) {
            const struct jp_bench_model *m = &task->models[i];
            if (m->nphases > JP_BENCH_MAX_PHASES || m->nmetrics > JP_BENCH_MAX_METRICS)
                return jp_fail(JP_ERR_INVAL, "%s: cannot save: model %zu of task %zu has too many phases or metrics",
                               db->path, i, t);
            if (m->nsamples && (!m->sample_t || !m->sample_w))
                return jp_fail(JP_ERR_INVAL, "%s: cannot save: model %zu of task %zu has samples but no arrays",
                               db->path, i, t);
            if (m->nrep && (!m->rep_j_per_item || !m->rep_attr_j_per_item))
                return jp_fail(JP_ERR_INVAL, "%s: cannot save: model %zu of task %zu has runs but no arrays", db->path, i, t);
            if (m->nrep > (size_t)INT32_MAX / 8)
                return jp_fail(JP_ERR_RANGE, "%s: cannot save: %zu runs are too many", db->path, m->nrep);
            if (m->nsamples > (size_t)INT32_MAX / 8)
                return jp_fail(JP_ERR_RANGE, "%s: cannot save: a timeline of %zu samples is too long", db->path,
                               m->nsamples);
        }
    }
    return JP_OK;
}

static int save_model(jp_store *db, struct stmts *s, const struct jp_bench_run *run, sqlite3_int64 task_id, size_t pos,
                      const struct jp_bench_model *m)
{
    char what[160];
    snprintf(what, sizeof what, "saving model %.64s", m->name);
    int b = sqlite3_bind_int64(s->model, 1, task_id);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s->model, 2, (sqlite3_int64)pos);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s->model, 3, run->machine, (int)strnlen(run->machine, sizeof run->machine), SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s->model, 4, run->sources, (int)strnlen(run->sources, sizeof run->sources), SQLITE_STATIC);
    if (b == SQLITE_OK) b = bind_cols(s->model, 5, model_cols, NCOLS(model_cols), m);
    int rc = step_insert(db, s->model, b, what);
    if (rc) return rc;
    sqlite3_int64 id = sqlite3_last_insert_rowid(db->h);
    for (size_t k = 0; k < m->nphases; k++) {
        const struct jp_bench_phase *p = &m->phases[k];
        b = sqlite3_bind_int64(s->phase, 1, id);
        if (b == SQLITE_OK) b = sqlite3_bind_int64(s->phase, 2, (sqlite3_int64)k);
        if (b == SQLITE_OK) b = sqlite3_bind_text(s->phase, 3, p->name, (int)strnlen(p->name, sizeof p->name), SQLITE_STATIC);
        if (b == SQLITE_OK) b = sqlite3_bind_double(s->phase, 4, p->joules);
        if (b == SQLITE_OK) b = sqlite3_bind_double(s->phase, 5, p->seconds);
        if ((rc = step_insert(db, s->phase, b, what))) return rc;
    }
    for (size_t k = 0; k < m->nmetrics; k++) {
        const struct jp_bench_metric *x = &m->metrics[k];
        b = sqlite3_bind_int64(s->metric, 1, id);
        if (b == SQLITE_OK) b = sqlite3_bind_int64(s->metric, 2, (sqlite3_int64)k);
        if (b == SQLITE_OK) b = sqlite3_bind_text(s->metric, 3, x->name, (int)strnlen(x->name, sizeof x->name), SQLITE_STATIC);
        if (b == SQLITE_OK) b = sqlite3_bind_double(s->metric, 4, x->value);
        if ((rc = step_insert(db, s->metric, b, what))) return rc;
    }
    if (m->nsamples) {
        unsigned char *t = pack_doubles(m->sample_t, m->nsamples), *w = pack_doubles(m->sample_w, m->nsamples);
        if (!t || !w) {
            free(t);
            free(w);
            return jp_fail(JP_ERR_NOMEM, "%s: %s: out of memory", db->path, what);
        }
        int bytes = (int)(m->nsamples * 8);
        b = sqlite3_bind_int64(s->timeline, 1, id);
        if (b == SQLITE_OK) b = sqlite3_bind_int64(s->timeline, 2, (sqlite3_int64)m->nsamples);
        if (b == SQLITE_OK) b = sqlite3_bind_blob(s->timeline, 3, t, bytes, SQLITE_STATIC);
        if (b == SQLITE_OK) b = sqlite3_bind_blob(s->timeline, 4, w, bytes, SQLITE_STATIC);
        rc = step_insert(db, s->timeline, b, what);
        free(t);
        free(w);
        if (rc) return rc;
    }
    if (m->nrep) {
        unsigned char *j = pack_doubles(m->rep_j_per_item, m->nrep), *a = pack_doubles(m->rep_attr_j_per_item, m->nrep);
        if (!j || !a) {
            free(j);
            free(a);
            return jp_fail(JP_ERR_NOMEM, "%s: %s: out of memory", db->path, what);
        }
        int bytes = (int)(m->nrep * 8);
        b = sqlite3_bind_int64(s->repeats, 1, id);
        if (b == SQLITE_OK) b = sqlite3_bind_int64(s->repeats, 2, (sqlite3_int64)m->nrep);
        if (b == SQLITE_OK) b = sqlite3_bind_blob(s->repeats, 3, j, bytes, SQLITE_STATIC);
        if (b == SQLITE_OK) b = sqlite3_bind_blob(s->repeats, 4, a, bytes, SQLITE_STATIC);
        rc = step_insert(db, s->repeats, b, what);
        free(j);
        free(a);
        if (rc) return rc;
    }
    return JP_OK;
}

static int save(jp_store *db, struct jp_bench_run *run, bool replace)
{
    if (!db || !run) return jp_fail(JP_ERR_INVAL, "jp_store_save: no store or no run");
    if (db->readonly) return jp_fail(JP_ERR_STATE, "%s: opened read-only", db->path);
    if (replace && run->id <= 0) return jp_fail(JP_ERR_INVAL, "jp_store_update: the run was never saved");
    int rc = check_run(db, run);
    if (rc) return rc;
    struct stmts s = {0};
    if ((rc = prepare_inserts(db, &s))) {
        finalize_all(&s);
        return rc;
    }
    if ((rc = exec(db, "BEGIN IMMEDIATE", "cannot save the run"))) {
        finalize_all(&s);
        return rc;
    }
    if (replace) {
        /* the same id, everything under it written again: the old rows go (ON DELETE CASCADE) in the
         * same transaction, so that a reader sees the old run or the new one, never a mix */
        char del[96];
        snprintf(del, sizeof del, "DELETE FROM runs WHERE id = %ld", run->id);
        if ((rc = exec(db, del, "updating the run"))) goto fail;
    }
    char now[32];
    utc_now(now, sizeof now);
    int b = replace ? sqlite3_bind_int64(s.run, 1, run->id) : sqlite3_bind_null(s.run, 1);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s.run, 2, now, -1, SQLITE_TRANSIENT);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s.run, 3, JP_VERSION, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = bind_cols(s.run, 4, run_cols, NCOLS(run_cols), run);
    if ((rc = step_insert(db, s.run, b, "saving the run"))) goto fail;
    sqlite3_int64 run_id = sqlite3_last_insert_rowid(db->h);
    for (size_t t = 0; t < run->ntasks; t++) {
        const struct jp_bench_task *task = &run->tasks[t];
        char what[128];
        snprintf(what, sizeof what, "saving task %.64s", task->name);
        b = sqlite3_bind_int64(s.task, 1, run_id);
        if (b == SQLITE_OK) b = sqlite3_bind_int64(s.task, 2, (sqlite3_int64)t);
        if (b == SQLITE_OK) b = bind_cols(s.task, 3, task_cols, NCOLS(task_cols), task);
        if ((rc = step_insert(db, s.task, b, what))) goto fail;
        sqlite3_int64 task_id = sqlite3_last_insert_rowid(db->h);
        for (size_t i = 0; i < task->nmodels; i++)
            if ((rc = save_model(db, &s, run, task_id, i, &task->models[i]))) goto fail;
    }
    if ((rc = exec(db, "COMMIT", "cannot save the run"))) goto fail;
    finalize_all(&s);
    run->id = (long)run_id;
    return JP_OK;
fail:
    finalize_all(&s);
    {
        /* keep the message of the failure, not the rollback's */
        char keep[1024];
        jp_strlcpy(keep, jp_last_error(), sizeof keep);
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        jp_fail(rc, "%s (nothing of this run was stored)", keep);
    }
    return rc;
}

int jp_store_save(jp_store *db, struct jp_bench_run *run) { return save(db, run, false); }

int jp_store_update(jp_store *db, struct jp_bench_run *run) { return save(db, run, true); }

/* ---- load ---------------------------------------------------------------------------------------- */

/* "runs 1-5", "run 3", "no runs yet" */
static void describe_runs(jp_store *db, char *buf, size_t len)
{
    long lo = 0, hi = 0, n = 0;
    bool found;
    query_int(db, "SELECT count(*) FROM runs", &n, &found);
    query_int(db, "SELECT min(id) FROM runs", &lo, &found);
    query_int(db, "SELECT max(id) FROM runs", &hi, &found);
    if (n == 0) snprintf(buf, len, "it holds no runs yet");
    else if (n == 1) snprintf(buf, len, "it holds run %ld only", lo);
    else if (hi - lo + 1 == n) snprintf(buf, len, "it holds runs %ld-%ld", lo, hi);
    else snprintf(buf, len, "it holds %ld runs, ids %ld to %ld", n, lo, hi);
}

static int select_stmt(jp_store *db, sqlite3_stmt **st, const char *head, const struct col *cols, size_t n,
                       const char *tail)
{
    char sql[4096];
    snprintf(sql, sizeof sql, "%s", head);
    col_list(sql, sizeof sql, cols, n, false);
    strncat(sql, tail, sizeof sql - strlen(sql) - 1);
    if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK) return db_fail(db, "preparing the load");
    return JP_OK;
}

static int load_model_children(jp_store *db, sqlite3_int64 model_id, struct jp_bench_model *m, sqlite3_stmt *ph,
                               sqlite3_stmt *me, sqlite3_stmt *tl, struct jp_bench_run *run)
{
    int rc;
    sqlite3_bind_int64(ph, 1, model_id);
    while ((rc = sqlite3_step(ph)) == SQLITE_ROW && m->nphases < JP_BENCH_MAX_PHASES) {
        struct jp_bench_phase *p = &m->phases[m->nphases++];
        const unsigned char *name = sqlite3_column_text(ph, 0);
        jp_strlcpy(p->name, name ? (const char *)name : "", sizeof p->name);
        p->joules = sqlite3_column_type(ph, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(ph, 1);
        p->seconds = sqlite3_column_type(ph, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(ph, 2);
    }
    sqlite3_reset(ph);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_fail(db, "loading phases");
    sqlite3_bind_int64(me, 1, model_id);
    while ((rc = sqlite3_step(me)) == SQLITE_ROW && m->nmetrics < JP_BENCH_MAX_METRICS) {
        struct jp_bench_metric *x = &m->metrics[m->nmetrics++];
        const unsigned char *name = sqlite3_column_text(me, 0);
        jp_strlcpy(x->name, name ? (const char *)name : "", sizeof x->name);
        x->value = sqlite3_column_type(me, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(me, 1);
    }
    sqlite3_reset(me);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_fail(db, "loading metrics");
    sqlite3_bind_int64(tl, 1, model_id);
    rc = sqlite3_step(tl);
    int r = JP_OK;
    if (rc == SQLITE_ROW) {
        sqlite3_int64 n = sqlite3_column_int64(tl, 0);
        const unsigned char *t = sqlite3_column_blob(tl, 1);
        int tb = sqlite3_column_bytes(tl, 1);
        const unsigned char *w = sqlite3_column_blob(tl, 2);
        int wb = sqlite3_column_bytes(tl, 2);
        /* the length check keeps unpack_doubles inside the blobs; a damaged timeline is left out (the
         * model's figures are still there) and said so, instead of hiding the whole run */
        if (n < 0 || n > INT_MAX / 8 || (sqlite3_int64)tb != n * 8 || (sqlite3_int64)wb != n * 8 ||
            (n > 0 && (!t || !w))) {
            char line[sizeof run->warnings], name[4 * sizeof m->name];
            size_t at = strlen(run->warnings);
            jp_esc_str(name, sizeof name, JP_ESC_TERM, m->name); /* a line for the terminal */
            jp_textf(line, sizeof line, "the timeline of model %s is damaged (%lld samples, %d and %d bytes): left out",
                     name, (long long)n, tb, wb);
            if (at + strlen(line) + 2 < sizeof run->warnings)
                jp_textf(run->warnings + at, sizeof run->warnings - at, "%s%s", at ? "\n" : "", line);
        } else if (n > 0) {
            m->sample_t = unpack_doubles(t, (size_t)n);
            m->sample_w = unpack_doubles(w, (size_t)n);
            if (!m->sample_t || !m->sample_w) r = jp_fail(JP_ERR_NOMEM, "%s: loading a timeline: out of memory", db->path);
            else m->nsamples = (size_t)n;
        }
    } else if (rc != SQLITE_DONE) {
        r = db_fail(db, "loading a timeline");
    }
    sqlite3_reset(tl);
    return r;
}

/* A model's measured runs; damaged ones are left out and said so, as a damaged timeline is. */
static int load_repeats(jp_store *db, sqlite3_int64 model_id, struct jp_bench_model *m, sqlite3_stmt *rp,
                        struct jp_bench_run *run)
{
    sqlite3_bind_int64(rp, 1, model_id);
    int rc = sqlite3_step(rp), r = JP_OK;
    if (rc == SQLITE_ROW) {
        sqlite3_int64 n = sqlite3_column_int64(rp, 0);
        const unsigned char *j = sqlite3_column_blob(rp, 1);
        int jb = sqlite3_column_bytes(rp, 1);
        const unsigned char *a = sqlite3_column_blob(rp, 2);
        int ab = sqlite3_column_bytes(rp, 2);
        if (n < 0 || n > INT_MAX / 8 || (sqlite3_int64)jb != n * 8 || (sqlite3_int64)ab != n * 8 || (n > 0 && (!j || !a))) {
            char line[sizeof run->warnings];
            size_t at = strlen(run->warnings);
            jp_textf(line, sizeof line, "the runs of model %s are damaged (%lld runs, %d and %d bytes): left out", m->name,
                     (long long)n, jb, ab);
            if (at + strlen(line) + 2 < sizeof run->warnings)
                jp_textf(run->warnings + at, sizeof run->warnings - at, "%s%s", at ? "\n" : "", line);
        } else if (n > 0) {
            m->rep_j_per_item = unpack_doubles(j, (size_t)n);
            m->rep_attr_j_per_item = unpack_doubles(a, (size_t)n);
            if (!m->rep_j_per_item || !m->rep_attr_j_per_item) r = jp_fail(JP_ERR_NOMEM, "%s: loading runs: out of memory", db->path);
            else m->nrep = (size_t)n;
        }
    } else if (rc != SQLITE_DONE) {
        r = db_fail(db, "loading the runs of a model");
    }
    sqlite3_reset(rp);
    return r;
}

int jp_store_load(jp_store *db, long id, struct jp_bench_run *run)
{
    if (!db || !run) return jp_fail(JP_ERR_INVAL, "jp_store_load: no store or no run");
    memset(run, 0, sizeof *run);
    if (db->empty) return jp_fail(JP_ERR_NOTFOUND, "%s: no runs stored yet", db->path);
    sqlite3_stmt *rs = NULL, *ts = NULL, *ms = NULL, *ph = NULL, *me = NULL, *tl = NULL, *rp = NULL;
    int rc;
    /* a store of schema 1 (read-only) has neither the columns nor the table of schema 2 */
    size_t ntc = db->version >= 2 ? NCOLS(task_cols) : TASK_COLS_V1, nmc = db->version >= 2 ? NCOLS(model_cols) : MODEL_COLS_V1;
    /* nor one of schema 2 the intensity's year */
    size_t nrc = db->version >= 3 ? NCOLS(run_cols) : RUN_COLS_V2;
    if (id <= 0) {
        long latest = 0;
        bool found;
        if ((rc = query_int(db, "SELECT max(id) FROM runs", &latest, &found))) return rc;
        if (latest <= 0) return jp_fail(JP_ERR_NOTFOUND, "%s: no runs stored yet", db->path);
        id = latest;
    }
    if ((rc = select_stmt(db, &rs, "SELECT id, ", run_cols, nrc, " FROM runs WHERE id = ?")) ||
        (rc = select_stmt(db, &ts, "SELECT id, ", task_cols, ntc, " FROM tasks WHERE run_id = ? ORDER BY pos")) ||
        (rc = select_stmt(db, &ms, "SELECT id, ", model_cols, nmc,
                          " FROM models WHERE task_id = ? ORDER BY pos")))
        goto out;
    if (sqlite3_prepare_v2(db->h, "SELECT name, joules, seconds FROM phases WHERE model_id = ? ORDER BY pos", -1, &ph,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "SELECT name, value FROM metrics WHERE model_id = ? ORDER BY pos", -1, &me, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "SELECT nsamples, t, w FROM timelines WHERE model_id = ?", -1, &tl, NULL) !=
            SQLITE_OK ||
        (db->version >= 2 &&
         sqlite3_prepare_v2(db->h, "SELECT nrep, j, attr FROM repeats WHERE model_id = ?", -1, &rp, NULL) != SQLITE_OK)) {
        rc = db_fail(db, "preparing the load");
        goto out;
    }
    /* one read transaction, so that a save by another process cannot show half-way */
    if ((rc = exec(db, "BEGIN", "loading the run"))) goto out;
    sqlite3_bind_int64(rs, 1, id);
    int step = sqlite3_step(rs);
    if (step == SQLITE_DONE) {
        char which[96];
        describe_runs(db, which, sizeof which);
        rc = jp_fail(JP_ERR_NOTFOUND, "%s: no run %ld (%s)", db->path, id, which);
        goto end;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, "loading the run");
        goto end;
    }
    run->id = (long)sqlite3_column_int64(rs, 0);
    if (db->version < 3) run->intensity_year = -1; /* not kept: unknown */
    if ((rc = read_cols(rs, 1, run_cols, nrc, run)) != JP_OK) {
        char why[256];
        jp_strlcpy(why, jp_last_error(), sizeof why); /* jp_fail writes where jp_last_error reads */
        rc = jp_fail(rc, "%s: run %ld: %s", db->path, id, why);
        goto end;
    }

    sqlite3_int64 n = 0;
    {
        sqlite3_stmt *c;
        if (sqlite3_prepare_v2(db->h, "SELECT count(*) FROM tasks WHERE run_id = ?", -1, &c, NULL) != SQLITE_OK) {
            rc = db_fail(db, "loading the run");
            goto end;
        }
        sqlite3_bind_int64(c, 1, id);
        if (sqlite3_step(c) == SQLITE_ROW) n = sqlite3_column_int64(c, 0);
        sqlite3_finalize(c);
    }
    if (n > 0) {
        run->tasks = calloc((size_t)n, sizeof *run->tasks);
        if (!run->tasks) {
            rc = jp_fail(JP_ERR_NOMEM, "%s: loading run %ld: out of memory", db->path, id);
            goto end;
        }
    }
    sqlite3_bind_int64(ts, 1, id);
    while (run->ntasks < (size_t)n && (step = sqlite3_step(ts)) == SQLITE_ROW) {
        struct jp_bench_task *task = &run->tasks[run->ntasks++];
        sqlite3_int64 task_id = sqlite3_column_int64(ts, 0);
        (void)read_cols(ts, 1, task_cols, ntc, task); /* no status column: cannot fail */
        size_t cap = 0;
        sqlite3_bind_int64(ms, 1, task_id);
        while ((step = sqlite3_step(ms)) == SQLITE_ROW) {
            if (task->nmodels == cap) {
                size_t ncap = cap ? cap * 2 : 4;
                struct jp_bench_model *grown = realloc(task->models, ncap * sizeof *grown);
                if (!grown) {
                    sqlite3_reset(ms);
                    rc = jp_fail(JP_ERR_NOMEM, "%s: loading run %ld: out of memory", db->path, id);
                    goto end;
                }
                task->models = grown;
                cap = ncap;
            }
            struct jp_bench_model *m = &task->models[task->nmodels++];
            memset(m, 0, sizeof *m);
            sqlite3_int64 model_id = sqlite3_column_int64(ms, 0);
            if ((rc = read_cols(ms, 1, model_cols, nmc, m)) != JP_OK) {
                sqlite3_reset(ms);
                char why[256];
                jp_strlcpy(why, jp_last_error(), sizeof why);
                rc = jp_fail(rc, "%s: run %ld, task %s, model %s: %s", db->path, id, task->name, m->name, why);
                goto end;
            }
            if (db->version < 2) { /* a read-only look at an older store: what it did not keep is unknown */
                m->attr_j_per_item = m->cmp_j_per_item = m->cmp_lo = m->cmp_hi = m->saving_lo = m->saving_hi = NAN;
                m->cpu_share = m->other_share = -1;
            }
            if ((rc = load_model_children(db, model_id, m, ph, me, tl, run)) ||
                (rp && (rc = load_repeats(db, model_id, m, rp, run)))) {
                sqlite3_reset(ms);
                goto end;
            }
        }
        sqlite3_reset(ms);
        if (step != SQLITE_DONE) {
            rc = db_fail(db, "loading models");
            goto end;
        }
    }
    rc = JP_OK;
end:
    sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
out:
    sqlite3_finalize(rs);
    sqlite3_finalize(ts);
    sqlite3_finalize(ms);
    sqlite3_finalize(ph);
    sqlite3_finalize(me);
    sqlite3_finalize(tl);
    sqlite3_finalize(rp);
    if (rc != JP_OK) jp_bench_run_clear(run);
    return rc;
}

/* ---- list and delete ----------------------------------------------------------------------------- */

/* Appends piece to buf (separated by sep), ending in "..." when it does not fit. */
static void append_cut(char *buf, size_t len, const char *sep, const char *piece)
{
    size_t at = strlen(buf);
    if (at >= 3 && !strcmp(buf + at - 3, "...")) return;
    size_t need = (at ? strlen(sep) : 0) + strlen(piece);
    if (at + need + 1 > len) {
        if (at + 4 <= len) strcpy(buf + at, "...");
        else if (len >= 4) strcpy(buf + len - 4, "...");
        return;
    }
    if (at) strcat(buf, sep);
    strcat(buf, piece);
}

int jp_store_list(jp_store *db, struct jp_store_entry **out, size_t *n)
{
    if (!db || !out || !n) return jp_fail(JP_ERR_INVAL, "jp_store_list: missing argument");
    *out = NULL;
    *n = 0;
    if (db->empty) return JP_OK;
    static const char sql[] =
        "SELECT r.id, r.started_at, r.finished_at, r.status, r.spec_path, r.machine, r.sources, r.estimated, r.region,"
        " (SELECT count(*) FROM tasks t WHERE t.run_id = r.id),"
        " (SELECT count(*) FROM models m JOIN tasks t ON m.task_id = t.id WHERE t.run_id = r.id),"
        " (SELECT count(*) FROM models m JOIN tasks t ON m.task_id = t.id WHERE t.run_id = r.id AND m.status <> 'ok')"
        " FROM runs r ORDER BY r.id DESC";
    static const char task_sql[] =
        "SELECT t.name, (SELECT m.name FROM models m WHERE m.task_id = t.id AND m.pos = t.pick_pos)"
        " FROM tasks t WHERE t.run_id = ? ORDER BY t.pos";
    sqlite3_stmt *st = NULL, *ts = NULL;
    int rc = JP_OK, step;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, task_sql, -1, &ts, NULL) != SQLITE_OK) {
        rc = db_fail(db, "listing runs");
        goto out;
    }
    if ((rc = exec(db, "BEGIN", "listing runs"))) goto out;
    size_t cap = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct jp_store_entry *grown = realloc(*out, ncap * sizeof *grown);
            if (!grown) {
                rc = jp_fail(JP_ERR_NOMEM, "%s: listing runs: out of memory", db->path);
                break;
            }
            *out = grown;
            cap = ncap;
        }
        struct jp_store_entry *e = &(*out)[(*n)++];
        memset(e, 0, sizeof *e);
        e->id = (long)sqlite3_column_int64(st, 0);
#define TXT(k, f) jp_strlcpy(e->f, sqlite3_column_text(st, k) ? (const char *)sqlite3_column_text(st, k) : "", sizeof e->f)
        TXT(1, started_at);
        TXT(2, finished_at);
        if (jp_run_status_parse((const char *)sqlite3_column_text(st, 3), &e->status) != JP_OK) {
            char why[256];
            jp_strlcpy(why, jp_last_error(), sizeof why);
            rc = jp_fail(JP_ERR_PARSE, "%s: run %ld: %s", db->path, e->id, why);
            break;
        }
        TXT(4, spec_path);
        TXT(5, machine);
        TXT(6, sources);
        e->estimated = sqlite3_column_int(st, 7) != 0;
        TXT(8, region);
#undef TXT
        e->ntasks = (size_t)sqlite3_column_int64(st, 9);
        e->nmodels = (size_t)sqlite3_column_int64(st, 10);
        e->nfailed = (size_t)sqlite3_column_int64(st, 11);
        sqlite3_bind_int64(ts, 1, e->id);
        while (sqlite3_step(ts) == SQLITE_ROW) {
            const unsigned char *name = sqlite3_column_text(ts, 0), *pick = sqlite3_column_text(ts, 1);
            char piece[160];
            append_cut(e->tasks, sizeof e->tasks, ", ", name ? (const char *)name : "");
            snprintf(piece, sizeof piece, "%.64s: %.64s", name ? (const char *)name : "",
                     pick ? (const char *)pick : "-");
            append_cut(e->picks, sizeof e->picks, "; ", piece);
        }
        sqlite3_reset(ts);
    }
    if (rc == JP_OK && step != SQLITE_DONE) rc = db_fail(db, "listing runs");
    sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ts);
    if (rc != JP_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int jp_store_delete(jp_store *db, long id)
{
    if (!db) return jp_fail(JP_ERR_INVAL, "jp_store_delete: no store");
    if (db->readonly) return jp_fail(JP_ERR_STATE, "%s: opened read-only", db->path);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, "DELETE FROM runs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "deleting a run");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? JP_OK : db_fail(db, "deleting a run");
    sqlite3_finalize(st);
    if (rc == JP_OK && sqlite3_changes(db->h) == 0) {
        char which[96];
        describe_runs(db, which, sizeof which);
        return jp_fail(JP_ERR_NOTFOUND, "%s: no run %ld (%s)", db->path, id, which);
    }
    return rc;
}

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
static int imp_open(const char *path, sqlite3 **h)
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
    for (long v = 0; rc == SQLITE_OK && v < version; v++) rc = sqlite3_exec(*ref, migrations[v], NULL, NULL, NULL);
    return rc == SQLITE_OK ? JP_OK : jp_fail(JP_ERR_IO, "importing: building the schema: %s", sqlite3_errmsg(*ref));
}

static const char *const imp_tables[] = {"schema_version", "runs", "tasks", "models", "phases", "metrics", "timelines",
                                         "repeats"};
/* the schema version that made each of imp_tables */
static const long imp_table_since[] = {1, 1, 1, 1, 1, 1, 1, 2};

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
};

/* The longest text the loader keeps for a column (what is longer would be cut: refused instead). */
static size_t imp_text_max(const char *table, const char *col)
{
    const struct col *cols = NULL;
    size_t n = 0;
    if (!strcmp(table, "runs")) cols = run_cols, n = NCOLS(run_cols);
    else if (!strcmp(table, "tasks")) cols = task_cols, n = NCOLS(task_cols);
    else if (!strcmp(table, "models")) cols = model_cols, n = NCOLS(model_cols);
    for (size_t i = 0; i < n; i++)
        if (cols[i].type == C_TEXT && !strcmp(sql_name(cols[i].name), col)) return cols[i].size - 1;
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
static int imp_validate(sqlite3 *h, const char *path, long *version)
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
    } checks[] = {
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
        {"SELECT id, (SELECT count(*) FROM tasks t WHERE t.run_id = r.id) FROM runs r WHERE (SELECT count(*) FROM "
         "tasks t WHERE t.run_id = r.id) > 10000 LIMIT 1",
         "runs", "id", "more than 10,000 tasks in one run"},
        {"SELECT t.id, (SELECT count(*) FROM models m WHERE m.task_id = t.id) FROM tasks t WHERE (SELECT count(*) FROM "
         "models m WHERE m.task_id = t.id) > 10000 LIMIT 1",
         "tasks", "id", "more than 10,000 models in one task"},
    };
    for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++)
        if ((*version >= 2 || strcmp(checks[k].table, "repeats")) &&
            (rc = imp_first(h, path, checks[k].sql, checks[k].table, checks[k].col, checks[k].why)))
            return rc;
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

/* A fingerprint of everything a run holds but its id (FNV-1a, 64 bits): runs that are the same are the
 * same run, so an import brings each only once, however often the file is imported. */
struct fp {
    uint64_t h;
};

static void fp_bytes(struct fp *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        f->h ^= b[i];
        f->h *= 0x100000001b3ULL;
    }
}

static void fp_double(struct fp *f, double v)
{
    if (isnan(v)) v = NAN; /* one NaN */
    if (v == 0) v = 0;     /* one zero */
    fp_bytes(f, &v, sizeof v);
}

static void fp_cols(struct fp *f, const struct col *cols, size_t n, const void *obj)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)obj + cols[i].offset;
        switch (cols[i].type) {
        case C_TEXT: fp_bytes(f, p, strnlen(p, cols[i].size) + (strnlen(p, cols[i].size) < cols[i].size)); break;
        case C_INT:
        case C_OPTINT: fp_bytes(f, p, sizeof(int)); break;
        case C_LONG: fp_bytes(f, p, sizeof(long)); break;
        case C_REAL: fp_double(f, *(const double *)p); break;
        case C_BOOL: fp_bytes(f, (const char[]){*(const bool *)p ? 1 : 0}, 1); break;
        case C_MSTATUS: fp_bytes(f, p, sizeof(enum jp_model_status)); break;
        case C_RSTATUS: fp_bytes(f, p, sizeof(enum jp_run_status)); break;
        }
    }
}

static uint64_t run_fingerprint(const struct jp_bench_run *run)
{
    struct fp f = {0xcbf29ce484222325ULL};
    fp_cols(&f, run_cols, NCOLS(run_cols), run);
    fp_bytes(&f, &run->ntasks, sizeof run->ntasks);
    for (size_t t = 0; t < run->ntasks; t++) {
        const struct jp_bench_task *task = &run->tasks[t];
        fp_cols(&f, task_cols, NCOLS(task_cols), task);
        fp_bytes(&f, &task->nmodels, sizeof task->nmodels);
        for (size_t i = 0; i < task->nmodels; i++) {
            const struct jp_bench_model *m = &task->models[i];
            fp_cols(&f, model_cols, NCOLS(model_cols), m);
            fp_bytes(&f, &m->nphases, sizeof m->nphases);
            for (size_t k = 0; k < m->nphases && k < JP_BENCH_MAX_PHASES; k++) {
                fp_bytes(&f, m->phases[k].name, strnlen(m->phases[k].name, sizeof m->phases[k].name) + 1);
                fp_double(&f, m->phases[k].joules);
                fp_double(&f, m->phases[k].seconds);
            }
            fp_bytes(&f, &m->nmetrics, sizeof m->nmetrics);
            for (size_t k = 0; k < m->nmetrics && k < JP_BENCH_MAX_METRICS; k++) {
                fp_bytes(&f, m->metrics[k].name, strnlen(m->metrics[k].name, sizeof m->metrics[k].name) + 1);
                fp_double(&f, m->metrics[k].value);
            }
            fp_bytes(&f, &m->nsamples, sizeof m->nsamples);
            for (size_t k = 0; k < m->nsamples; k++) {
                fp_double(&f, m->sample_t[k]);
                fp_double(&f, m->sample_w[k]);
            }
            fp_bytes(&f, &m->nrep, sizeof m->nrep);
            for (size_t k = 0; k < m->nrep; k++) {
                fp_double(&f, m->rep_j_per_item[k]);
                fp_double(&f, m->rep_attr_j_per_item[k]);
            }
        }
    }
    return f.h;
}

/* The ids of a store's runs, oldest first (a malloc'd array, *n of them). */
static int run_ids(jp_store *db, sqlite3_int64 **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, "SELECT id FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "listing runs");
    size_t cap = 0;
    int rc = JP_OK, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            sqlite3_int64 *grown = realloc(*ids, ncap * sizeof *grown);
            if (!grown) {
                rc = jp_fail(JP_ERR_NOMEM, "%s: listing runs: out of memory", db->path);
                break;
            }
            *ids = grown;
            cap = ncap;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    if (rc == JP_OK && step != SQLITE_DONE) rc = db_fail(db, "listing runs");
    sqlite3_finalize(st);
    if (rc) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

int jp_store_import(jp_store *db, const char *path, struct jp_store_import_result *res)
{
    if (!db || !path || !res) return jp_fail(JP_ERR_INVAL, "jp_store_import: no store, file or result");
    memset(res, 0, sizeof *res);
    if (db->readonly) return jp_fail(JP_ERR_STATE, "%s: opened read-only", db->path);
    jp_store src = {.readonly = true}; /* imp_validate reads and checks the version */
    jp_strlcpy(src.path, path, sizeof src.path);
    int rc = imp_open(path, &src.h);
    if (rc) return rc;
    if ((rc = imp_validate(src.h, path, &src.version))) {
        sqlite3_close(src.h);
        return rc;
    }
    /* what the store holds already, by fingerprint */
    sqlite3_int64 *ids = NULL, *have = NULL;
    size_t n = 0, nhave = 0, nfp = 0;
    uint64_t *fps = NULL;
    struct jp_bench_run run;
    memset(&run, 0, sizeof run);
    if ((rc = run_ids(&src, &ids, &n))) goto out;
    if ((rc = run_ids(db, &have, &nhave))) goto out;
    fps = calloc(nhave + n + 1, sizeof *fps);
    if (!fps) {
        rc = jp_fail(JP_ERR_NOMEM, "importing %s: out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < nhave; i++) {
        if ((rc = jp_store_load(db, (long)have[i], &run))) goto out;
        fps[nfp++] = run_fingerprint(&run);
        jp_bench_run_clear(&run);
    }
    /* the file's runs, oldest first, each loaded as a report would load it and saved in one transaction
     * (all of it or none) unless the store has it: a second import of the same file adds nothing, and one
     * stopped half-way is finished by running it again */
    for (size_t i = 0; i < n; i++) {
        if ((rc = jp_store_load(&src, (long)ids[i], &run))) goto out;
        if (run.warnings[0]) {
            rc = jp_fail(JP_ERR_PARSE, "%s: run %lld: %s (not imported)", path, (long long)ids[i], run.warnings);
            goto out;
        }
        uint64_t f = run_fingerprint(&run);
        size_t k = 0;
        while (k < nfp && fps[k] != f) k++;
        if (k < nfp) {
            res->duplicates++;
        } else {
            run.id = 0;
            if ((rc = jp_store_save(db, &run))) goto out;
            fps[nfp++] = f;
            if (!res->imported++) res->first_id = run.id;
            res->last_id = run.id;
        }
        jp_bench_run_clear(&run);
    }
out:
    jp_bench_run_clear(&run);
    free(fps);
    free(ids);
    free(have);
    sqlite3_close(src.h);
    return rc;
}
