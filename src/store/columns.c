/* The results store's column tables: one list of fields per struct serves INSERT and SELECT; and
 * the blobs of little-endian doubles (timelines, runs). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include "store/internal.h"

#define TEXT(s, f) {#f, C_TEXT, offsetof(struct s, f), sizeof(((struct s *)0)->f)}
#define COL(s, f, t) {#f, t, offsetof(struct s, f), 0}

const struct col store_run_cols[] = {
    TEXT(jp_bench_run, started_at),       TEXT(jp_bench_run, finished_at),  COL(jp_bench_run, status, C_RSTATUS),
    TEXT(jp_bench_run, spec_path),        TEXT(jp_bench_run, machine),      TEXT(jp_bench_run, sources),
    COL(jp_bench_run, estimated, C_BOOL), TEXT(jp_bench_run, region),       COL(jp_bench_run, g_per_kwh, C_REAL),
    TEXT(jp_bench_run, intensity_source), COL(jp_bench_run, pue, C_REAL),   COL(jp_bench_run, project_n, C_REAL),
    COL(jp_bench_run, baseline_w, C_REAL),
    /* schema 3 (RUN_COLS_V2: the columns before it) */
    COL(jp_bench_run, intensity_year, C_OPTINT),
};

/* "references" is an SQL keyword: the column is refs (see store_sql_name). */
const struct col store_task_cols[] = {
    TEXT(jp_bench_task, name),           TEXT(jp_bench_task, scorer),         TEXT(jp_bench_task, metric),
    TEXT(jp_bench_task, items),          TEXT(jp_bench_task, references),     COL(jp_bench_task, n_time, C_LONG),
    COL(jp_bench_task, n_score, C_LONG), COL(jp_bench_task, reference, C_INT), COL(jp_bench_task, pick, C_INT),
    COL(jp_bench_task, tolerance, C_REAL),
    TEXT(jp_bench_task, basis), /* schema 2 (TASK_COLS_V1: the columns before it) */
};

const struct col store_model_cols[] = {
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
    /* schema 2 (MODEL_COLS_V1: the columns before it) */
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

const size_t store_run_ncols = NCOLS(store_run_cols), store_task_ncols = NCOLS(store_task_cols),
             store_model_ncols = NCOLS(store_model_cols);
_Static_assert(NCOLS(store_run_cols) == RUN_COLS_V2 + 1, "schema 3 added one column to runs");
_Static_assert(NCOLS(store_task_cols) == TASK_COLS_V1 + 1, "schema 2 added one column to tasks");
_Static_assert(NCOLS(store_model_cols) == MODEL_COLS_V1 + 9, "schema 2 added nine columns to models");

const char *store_sql_name(const char *name)
{
    if (!strcmp(name, "references")) return "refs";
    if (!strcmp(name, "reference")) return "reference_pos";
    if (!strcmp(name, "pick")) return "pick_pos";
    return name;
}

/* Binds the fields of obj listed in cols to parameters first.. of st. */
int store_bind_cols(sqlite3_stmt *st, int first, const struct col *cols, size_t n, const void *obj)
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
int store_read_cols(sqlite3_stmt *st, int first, const struct col *cols, size_t n, void *obj)
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
void store_col_list(char *buf, size_t len, const struct col *cols, size_t n, bool marks)
{
    size_t at = strlen(buf);
    for (size_t i = 0; i < n && at < len; i++) {
        int w = snprintf(buf + at, len - at, "%s%s", (at && buf[at - 1] != '(' && buf[at - 1] != ' ') ? ", " : "",
                         marks ? "?" : store_sql_name(cols[i].name));
        if (w < 0) break;
        at += (size_t)w;
    }
}

/* ---- timelines as little-endian doubles ---------------------------------------------------------- */

unsigned char *store_pack_doubles(const double *v, size_t n)
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

double *store_unpack_doubles(const unsigned char *b, size_t n)
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
