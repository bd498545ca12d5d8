/* The results store: its handle, errors, the schema and its migrations, open and close (see
 * internal.h for the modules, include/jouleprint/bench.h for the schema and the guarantees). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

#include "store/internal.h"

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
int store_fail(const jp_store *db, const char *what)
{
    int rc = sqlite3_extended_errcode(db->h);
    const char *msg = sqlite3_errmsg(db->h);
    if ((rc & 0xff) == SQLITE_BUSY)
        return jp_fail(JP_ERR_IO, "%s: %s: the store is locked by another process (%s); try again", db->path, what, msg);
    if ((rc & 0xff) == SQLITE_NOTADB)
        return jp_fail(JP_ERR_PARSE, "%s: not a jouleprint results store (%s)", db->path, msg);
    return jp_fail(code_of(rc), "%s: %s: %s", db->path, what, msg);
}

/* ---- the schema and its migrations --------------------------------------------------------------- */

/* store_migrations[v - 1] brings a store from version v - 1 to v. Append, never edit. */
const char *const store_migrations[] = {
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
    /* 4: the sample images of a model whose predictions are images (issue 15), for the HTML report's
     * strip: one row per model that made any, nimages images of side x side 8-bit grey pixels in item
     * order, as one BLOB of nimages * side * side bytes */
    "CREATE TABLE images (\n"
    "  model_id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,\n"
    "  side INTEGER NOT NULL, nimages INTEGER NOT NULL, pixels BLOB NOT NULL);\n",
};

_Static_assert(sizeof store_migrations / sizeof store_migrations[0] == JP_STORE_SCHEMA_VERSION,
               "one migration per schema version");

void store_utc_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int store_exec(jp_store *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK) return store_fail(db, what);
    return JP_OK;
}

/* A single integer from sql (no parameters); *found false when there is no row. */
int store_query_int(jp_store *db, const char *sql, long *out, bool *found)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) return store_fail(db, "reading the schema");
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : (long)sqlite3_column_int64(st, 0);
    int r = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? JP_OK : store_fail(db, "reading the schema");
    sqlite3_finalize(st);
    return r;
}

/* The applied schema version (0: a new, empty file); fails on a file that is not a store. */
static int schema_version(jp_store *db, long *version)
{
    long n = 0;
    bool found;
    int rc = store_query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
                       &n, &found);
    if (rc) return rc;
    if (n == 0) {
        long others = 0;
        rc = store_query_int(db, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'", &others, &found);
        if (rc) return rc;
        if (others > 0)
            return jp_fail(JP_ERR_PARSE, "%s: a SQLite file, but not a jouleprint results store (it has other tables)",
                           db->path);
        *version = 0;
        return JP_OK;
    }
    return store_query_int(db, "SELECT max(version) FROM schema_version", version, &found);
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
        if ((rc = store_exec(db, "BEGIN IMMEDIATE", "starting the schema update"))) return rc;
        if ((rc = schema_version(db, &v))) goto fail;
        if (v >= JP_STORE_SCHEMA_VERSION) {
            store_exec(db, "COMMIT", "ending the schema update");
            break;
        }
        if (v == 0 && (rc = store_exec(db,
                                 "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT "
                                 "NULL, jouleprint_version TEXT NOT NULL)",
                                 "creating the schema")))
            goto fail;
        if ((rc = store_exec(db, store_migrations[v], "updating the schema"))) goto fail;
        char now[32], sql[256];
        store_utc_now(now, sizeof now);
        snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%ld, '%s', '%s')", v + 1, now, JP_VERSION);
        if ((rc = store_exec(db, sql, "updating the schema"))) goto fail;
        if ((rc = store_exec(db, "COMMIT", "committing the schema update"))) goto fail;
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
        if (db->h) rc = store_fail(db, "cannot open");
        else rc = jp_fail(JP_ERR_NOMEM, "%s: cannot open: out of memory", path);
        jp_store_close(db);
        return rc;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, 10000);
    if ((rc = store_exec(db, "PRAGMA foreign_keys = ON", "cannot open")) ||
        (db->readonly && (rc = store_exec(db, "PRAGMA query_only = ON", "cannot open"))) || (rc = migrate(db))) {
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
