/* The results store's modules (src/store/): what they share. The public API and the schema's
 * description are in include/jouleprint/bench.h; src/store.h includes it for the library's others.
 *
 *   schema.c        the handle, errors, the schema's migrations, open and close
 *   columns.c       the column tables (one list of fields per struct serves INSERT and SELECT), the
 *                   timelines' and runs' blobs
 *   save.c          a run written in one transaction
 *   load.c          a run read back, the list of runs, delete
 *   import_check.c  a store received from someone else, checked whole before anything is read
 *   import.c        its runs merged, each once (by fingerprint)
 */
#ifndef JP_STORE_INTERNAL_H
#define JP_STORE_INTERNAL_H

#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct jp_store {
    sqlite3 *h;
    char path[PATH_MAX];
    bool readonly;
    bool empty;   /* read-only and no schema yet (an empty file): no runs */
    long version; /* the schema version of the file (read-only: it may be older than this build's) */
};

/* ---- errors, statements (schema.c) ---- */

/* "PATH: what: sqlite's message", with the code that fits sqlite's error. */
int store_fail(const jp_store *db, const char *what);
int store_exec(jp_store *db, const char *sql, const char *what);
/* A single integer from sql (no parameters); *found false when there is no row. */
int store_query_int(jp_store *db, const char *sql, long *out, bool *found);
void store_utc_now(char *buf, size_t len);
/* store_migrations[v - 1] brings a store from version v - 1 to v. */
extern const char *const store_migrations[JP_STORE_SCHEMA_VERSION];

/* ---- column tables (columns.c) ---- */

/* C_MSTATUS, C_RSTATUS: an enum jp_model_status / jp_run_status, stored as its name; C_OPTINT: an int
 * where -1 (unknown) is stored as NULL */
enum col_type { C_TEXT, C_INT, C_LONG, C_REAL, C_BOOL, C_MSTATUS, C_RSTATUS, C_OPTINT };

struct col {
    const char *name;
    enum col_type type;
    size_t offset;
    size_t size; /* of a C_TEXT array */
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))
/* the columns older schemas have: a read-only look at an older store reads only these */
#define RUN_COLS_V2 13   /* runs before schema 3 */
#define TASK_COLS_V1 10  /* tasks before schema 2 */
#define MODEL_COLS_V1 31 /* models before schema 2 */

/* the sample images a model may keep (schema 4): at most JP_BENCH_MAX_IMAGES of side x side pixels,
 * side at most this (what the HTML report draws) */
#define STORE_IMAGE_SIDE_MAX 256

extern const struct col store_run_cols[], store_task_cols[], store_model_cols[];
extern const size_t store_run_ncols, store_task_ncols, store_model_ncols;

/* The SQL name of a field ("references" is an SQL keyword: the column is refs). */
const char *store_sql_name(const char *name);
/* Binds the fields of obj listed in cols to parameters first.. of st. */
int store_bind_cols(sqlite3_stmt *st, int first, const struct col *cols, size_t n, const void *obj);
/* Reads result columns first.. of st into the fields of obj; a status that is not one of the names
 * fails (JP_ERR_PARSE, the message naming the column: the caller adds where). */
int store_read_cols(sqlite3_stmt *st, int first, const struct col *cols, size_t n, void *obj);
/* Appends "a, b, c" of the columns' SQL names, or "?, ?, ?", to buf. */
void store_col_list(char *buf, size_t len, const struct col *cols, size_t n, bool marks);
/* n doubles as 8n little-endian IEEE 754 bytes, and back (malloc'd; NULL when out of memory). */
unsigned char *store_pack_doubles(const double *v, size_t n);
double *store_unpack_doubles(const unsigned char *b, size_t n);

/* ---- import (import_check.c) ---- */

/* The file's handle, opened so that its content is only data. */
int store_import_open(const char *path, sqlite3 **h);
/* Everything the loader and the writers rely on, checked on the file; *version: its schema version. */
int store_import_validate(sqlite3 *h, const char *path, long *version);

#endif
