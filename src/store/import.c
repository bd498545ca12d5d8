/* The results store's import, second half: the checked file's runs merged into the store, each once
 * (by a fingerprint of everything it holds). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include "store/internal.h"

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
    fp_cols(&f, store_run_cols, store_run_ncols, run);
    fp_bytes(&f, &run->ntasks, sizeof run->ntasks);
    for (size_t t = 0; t < run->ntasks; t++) {
        const struct jp_bench_task *task = &run->tasks[t];
        fp_cols(&f, store_task_cols, store_task_ncols, task);
        fp_bytes(&f, &task->nmodels, sizeof task->nmodels);
        for (size_t i = 0; i < task->nmodels; i++) {
            const struct jp_bench_model *m = &task->models[i];
            fp_cols(&f, store_model_cols, store_model_ncols, m);
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
            if (m->nimages > 0 && m->images) { /* (a run without images hashes as it did before schema 4) */
                fp_bytes(&f, &m->nimages, sizeof m->nimages);
                fp_bytes(&f, &m->image_side, sizeof m->image_side);
                fp_bytes(&f, m->images, (size_t)m->nimages * (size_t)m->image_side * (size_t)m->image_side);
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
        return store_fail(db, "listing runs");
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
    if (rc == JP_OK && step != SQLITE_DONE) rc = store_fail(db, "listing runs");
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
    int rc = store_import_open(path, &src.h);
    if (rc) return rc;
    if ((rc = store_import_validate(src.h, path, &src.version))) {
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
