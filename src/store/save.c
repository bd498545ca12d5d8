/* The results store: a run saved (or replaced) in one transaction. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include "store/internal.h"

/* ---- save ---------------------------------------------------------------------------------------- */

struct stmts {
    sqlite3_stmt *run, *task, *model, *phase, *metric, *timeline, *repeats, *images;
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
    sqlite3_finalize(s->images);
    memset(s, 0, sizeof *s);
}

static int prepare_inserts(jp_store *db, struct stmts *s)
{
    char sql[4096];
    snprintf(sql, sizeof sql, "INSERT INTO runs (id, saved_at, jouleprint_version, ");
    store_col_list(sql, sizeof sql, store_run_cols, store_run_ncols, false);
    strcat(sql, ") VALUES (?, ?, ?, ");
    store_col_list(sql, sizeof sql, store_run_cols, store_run_ncols, true);
    strcat(sql, ")");
    if (sqlite3_prepare_v2(db->h, sql, -1, &s->run, NULL) != SQLITE_OK) return store_fail(db, "preparing the save");

    snprintf(sql, sizeof sql, "INSERT INTO tasks (run_id, pos, ");
    store_col_list(sql, sizeof sql, store_task_cols, store_task_ncols, false);
    strcat(sql, ") VALUES (?, ?, ");
    store_col_list(sql, sizeof sql, store_task_cols, store_task_ncols, true);
    strcat(sql, ")");
    if (sqlite3_prepare_v2(db->h, sql, -1, &s->task, NULL) != SQLITE_OK) return store_fail(db, "preparing the save");

    snprintf(sql, sizeof sql, "INSERT INTO models (task_id, pos, machine, sources, ");
    store_col_list(sql, sizeof sql, store_model_cols, store_model_ncols, false);
    strcat(sql, ") VALUES (?, ?, ?, ?, ");
    store_col_list(sql, sizeof sql, store_model_cols, store_model_ncols, true);
    strcat(sql, ")");
    if (sqlite3_prepare_v2(db->h, sql, -1, &s->model, NULL) != SQLITE_OK) return store_fail(db, "preparing the save");

    if (sqlite3_prepare_v2(db->h, "INSERT INTO phases (model_id, pos, name, joules, seconds) VALUES (?, ?, ?, ?, ?)",
                           -1, &s->phase, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "INSERT INTO metrics (model_id, pos, name, value) VALUES (?, ?, ?, ?)", -1,
                           &s->metric, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "INSERT INTO timelines (model_id, nsamples, t, w) VALUES (?, ?, ?, ?)", -1,
                           &s->timeline, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "INSERT INTO repeats (model_id, nrep, j, attr) VALUES (?, ?, ?, ?)", -1,
                           &s->repeats, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "INSERT INTO images (model_id, side, nimages, pixels) VALUES (?, ?, ?, ?)", -1,
                           &s->images, NULL) != SQLITE_OK)
        return store_fail(db, "preparing the save");
    return JP_OK;
}

/* Runs an INSERT whose parameters are bound; resets it for the next use. */
static int step_insert(jp_store *db, sqlite3_stmt *st, int bind_rc, const char *what)
{
    int rc = bind_rc == SQLITE_OK ? sqlite3_step(st) : bind_rc;
    int r = rc == SQLITE_DONE ? JP_OK : store_fail(db, what);
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
            if (m->nimages < 0 || m->nimages > JP_BENCH_MAX_IMAGES ||
                (m->nimages > 0 && (!m->images || m->image_side < 1 || m->image_side > STORE_IMAGE_SIDE_MAX)))
                return jp_fail(JP_ERR_INVAL,
                               "%s: cannot save: model %zu of task %zu has %d sample images of side %d "
                               "(expected 0 to %d images of 1 to %d pixels, and their pixels)",
                               db->path, i, t, m->nimages, m->image_side, JP_BENCH_MAX_IMAGES, STORE_IMAGE_SIDE_MAX);
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
    if (b == SQLITE_OK) b = store_bind_cols(s->model, 5, store_model_cols, store_model_ncols, m);
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
        unsigned char *t = store_pack_doubles(m->sample_t, m->nsamples), *w = store_pack_doubles(m->sample_w, m->nsamples);
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
        unsigned char *j = store_pack_doubles(m->rep_j_per_item, m->nrep), *a = store_pack_doubles(m->rep_attr_j_per_item, m->nrep);
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
    if (m->nimages > 0) { /* bounded by check_run: at most 10 * 256 * 256 bytes */
        int bytes = m->nimages * m->image_side * m->image_side;
        b = sqlite3_bind_int64(s->images, 1, id);
        if (b == SQLITE_OK) b = sqlite3_bind_int(s->images, 2, m->image_side);
        if (b == SQLITE_OK) b = sqlite3_bind_int(s->images, 3, m->nimages);
        if (b == SQLITE_OK) b = sqlite3_bind_blob(s->images, 4, m->images, bytes, SQLITE_STATIC);
        if ((rc = step_insert(db, s->images, b, what))) return rc;
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
    if ((rc = store_exec(db, "BEGIN IMMEDIATE", "cannot save the run"))) {
        finalize_all(&s);
        return rc;
    }
    if (replace) {
        /* the same id, everything under it written again: the old rows go (ON DELETE CASCADE) in the
         * same transaction, so that a reader sees the old run or the new one, never a mix */
        char del[96];
        snprintf(del, sizeof del, "DELETE FROM runs WHERE id = %ld", run->id);
        if ((rc = store_exec(db, del, "updating the run"))) goto fail;
    }
    char now[32];
    store_utc_now(now, sizeof now);
    int b = replace ? sqlite3_bind_int64(s.run, 1, run->id) : sqlite3_bind_null(s.run, 1);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s.run, 2, now, -1, SQLITE_TRANSIENT);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s.run, 3, JP_VERSION, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = store_bind_cols(s.run, 4, store_run_cols, store_run_ncols, run);
    if ((rc = step_insert(db, s.run, b, "saving the run"))) goto fail;
    sqlite3_int64 run_id = sqlite3_last_insert_rowid(db->h);
    for (size_t t = 0; t < run->ntasks; t++) {
        const struct jp_bench_task *task = &run->tasks[t];
        char what[128];
        snprintf(what, sizeof what, "saving task %.64s", task->name);
        b = sqlite3_bind_int64(s.task, 1, run_id);
        if (b == SQLITE_OK) b = sqlite3_bind_int64(s.task, 2, (sqlite3_int64)t);
        if (b == SQLITE_OK) b = store_bind_cols(s.task, 3, store_task_cols, store_task_ncols, task);
        if ((rc = step_insert(db, s.task, b, what))) goto fail;
        sqlite3_int64 task_id = sqlite3_last_insert_rowid(db->h);
        for (size_t i = 0; i < task->nmodels; i++)
            if ((rc = save_model(db, &s, run, task_id, i, &task->models[i]))) goto fail;
    }
    if ((rc = store_exec(db, "COMMIT", "cannot save the run"))) goto fail;
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
