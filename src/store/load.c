/* The results store: a run loaded, the runs listed, a run deleted. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "util.h"

#include "store/internal.h"

/* ---- load ---------------------------------------------------------------------------------------- */

/* "runs 1-5", "run 3", "no runs yet" */
static void describe_runs(jp_store *db, char *buf, size_t len)
{
    long lo = 0, hi = 0, n = 0;
    bool found;
    store_query_int(db, "SELECT count(*) FROM runs", &n, &found);
    store_query_int(db, "SELECT min(id) FROM runs", &lo, &found);
    store_query_int(db, "SELECT max(id) FROM runs", &hi, &found);
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
    store_col_list(sql, sizeof sql, cols, n, false);
    strncat(sql, tail, sizeof sql - strlen(sql) - 1);
    if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK) return store_fail(db, "preparing the load");
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
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return store_fail(db, "loading phases");
    sqlite3_bind_int64(me, 1, model_id);
    while ((rc = sqlite3_step(me)) == SQLITE_ROW && m->nmetrics < JP_BENCH_MAX_METRICS) {
        struct jp_bench_metric *x = &m->metrics[m->nmetrics++];
        const unsigned char *name = sqlite3_column_text(me, 0);
        jp_strlcpy(x->name, name ? (const char *)name : "", sizeof x->name);
        x->value = sqlite3_column_type(me, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(me, 1);
    }
    sqlite3_reset(me);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return store_fail(db, "loading metrics");
    sqlite3_bind_int64(tl, 1, model_id);
    rc = sqlite3_step(tl);
    int r = JP_OK;
    if (rc == SQLITE_ROW) {
        sqlite3_int64 n = sqlite3_column_int64(tl, 0);
        const unsigned char *t = sqlite3_column_blob(tl, 1);
        int tb = sqlite3_column_bytes(tl, 1);
        const unsigned char *w = sqlite3_column_blob(tl, 2);
        int wb = sqlite3_column_bytes(tl, 2);
        /* the length check keeps store_unpack_doubles inside the blobs; a damaged timeline is left out (the
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
            m->sample_t = store_unpack_doubles(t, (size_t)n);
            m->sample_w = store_unpack_doubles(w, (size_t)n);
            if (!m->sample_t || !m->sample_w) r = jp_fail(JP_ERR_NOMEM, "%s: loading a timeline: out of memory", db->path);
            else m->nsamples = (size_t)n;
        }
    } else if (rc != SQLITE_DONE) {
        r = store_fail(db, "loading a timeline");
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
            m->rep_j_per_item = store_unpack_doubles(j, (size_t)n);
            m->rep_attr_j_per_item = store_unpack_doubles(a, (size_t)n);
            if (!m->rep_j_per_item || !m->rep_attr_j_per_item) r = jp_fail(JP_ERR_NOMEM, "%s: loading runs: out of memory", db->path);
            else m->nrep = (size_t)n;
        }
    } else if (rc != SQLITE_DONE) {
        r = store_fail(db, "loading the runs of a model");
    }
    sqlite3_reset(rp);
    return r;
}

/* A model's sample images (schema 4). Their count, side and length are checked before anything is
 * copied (the pixels are copied by that size); damaged images are left out and said so in the run's
 * warnings, as a damaged timeline is: they only illustrate the report, and the run's measured figures
 * must not be hidden by them. */
static int load_images(jp_store *db, const struct jp_bench_task *task, sqlite3_int64 model_id,
                       struct jp_bench_model *m, sqlite3_stmt *im, struct jp_bench_run *run)
{
    sqlite3_bind_int64(im, 1, model_id);
    int rc = sqlite3_step(im), r = JP_OK;
    if (rc == SQLITE_ROW) {
        char why[192] = "";
        /* the types first: reading a value as another type converts it */
        bool ints = sqlite3_column_type(im, 0) == SQLITE_INTEGER && sqlite3_column_type(im, 1) == SQLITE_INTEGER;
        bool blob = sqlite3_column_type(im, 2) == SQLITE_BLOB;
        sqlite3_int64 side = sqlite3_column_int64(im, 0), n = sqlite3_column_int64(im, 1);
        const void *px = blob ? sqlite3_column_blob(im, 2) : NULL;
        int bytes = blob ? sqlite3_column_bytes(im, 2) : 0;
        if (!ints)
            snprintf(why, sizeof why, "side and count not integers, expected integers");
        else if (side < 1 || side > STORE_IMAGE_SIDE_MAX)
            snprintf(why, sizeof why, "side %lld pixels, expected 1 to %d", (long long)side, STORE_IMAGE_SIDE_MAX);
        else if (n < 1 || n > JP_BENCH_MAX_IMAGES)
            snprintf(why, sizeof why, "%lld images, expected 1 to %d", (long long)n, JP_BENCH_MAX_IMAGES);
        else if (!blob || !px)
            snprintf(why, sizeof why, "the pixels not a BLOB, expected a BLOB of %lld bytes (%lld images of %lld x %lld)",
                     (long long)(n * side * side), (long long)n, (long long)side, (long long)side);
        else if ((sqlite3_int64)bytes != n * side * side)
            snprintf(why, sizeof why, "%d bytes of pixels, expected %lld (%lld images of %lld x %lld)", bytes,
                     (long long)(n * side * side), (long long)n, (long long)side, (long long)side);
        if (why[0]) {
            char line[sizeof run->warnings], tname[4 * sizeof task->name], mname[4 * sizeof m->name];
            size_t at = strlen(run->warnings);
            jp_esc_str(tname, sizeof tname, JP_ESC_TERM, task->name); /* a line for the terminal */
            jp_esc_str(mname, sizeof mname, JP_ESC_TERM, m->name);
            jp_textf(line, sizeof line, "the sample images of task %s, model %s are damaged (%s): left out", tname, mname,
                     why);
            if (at + strlen(line) + 2 < sizeof run->warnings)
                jp_textf(run->warnings + at, sizeof run->warnings - at, "%s%s", at ? "\n" : "", line);
        } else {
            m->images = malloc((size_t)bytes);
            if (!m->images) {
                r = jp_fail(JP_ERR_NOMEM, "%s: loading sample images: out of memory", db->path);
            } else {
                memcpy(m->images, px, (size_t)bytes);
                m->nimages = (int)n;
                m->image_side = (int)side;
            }
        }
    } else if (rc != SQLITE_DONE) {
        r = store_fail(db, "loading the sample images of a model");
    }
    sqlite3_reset(im);
    return r;
}

int jp_store_load(jp_store *db, long id, struct jp_bench_run *run)
{
    if (!db || !run) return jp_fail(JP_ERR_INVAL, "jp_store_load: no store or no run");
    memset(run, 0, sizeof *run);
    if (db->empty) return jp_fail(JP_ERR_NOTFOUND, "%s: no runs stored yet", db->path);
    sqlite3_stmt *rs = NULL, *ts = NULL, *ms = NULL, *ph = NULL, *me = NULL, *tl = NULL, *rp = NULL, *im = NULL;
    int rc;
    /* a store of schema 1 (read-only) has neither the columns nor the table of schema 2 */
    size_t ntc = db->version >= 2 ? store_task_ncols : TASK_COLS_V1, nmc = db->version >= 2 ? store_model_ncols : MODEL_COLS_V1;
    /* nor one of schema 2 the intensity's year */
    size_t nrc = db->version >= 3 ? store_run_ncols : RUN_COLS_V2;
    if (id <= 0) {
        long latest = 0;
        bool found;
        if ((rc = store_query_int(db, "SELECT max(id) FROM runs", &latest, &found))) return rc;
        if (latest <= 0) return jp_fail(JP_ERR_NOTFOUND, "%s: no runs stored yet", db->path);
        id = latest;
    }
    if ((rc = select_stmt(db, &rs, "SELECT id, ", store_run_cols, nrc, " FROM runs WHERE id = ?")) ||
        (rc = select_stmt(db, &ts, "SELECT id, ", store_task_cols, ntc, " FROM tasks WHERE run_id = ? ORDER BY pos")) ||
        (rc = select_stmt(db, &ms, "SELECT id, ", store_model_cols, nmc,
                          " FROM models WHERE task_id = ? ORDER BY pos")))
        goto out;
    if (sqlite3_prepare_v2(db->h, "SELECT name, joules, seconds FROM phases WHERE model_id = ? ORDER BY pos", -1, &ph,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "SELECT name, value FROM metrics WHERE model_id = ? ORDER BY pos", -1, &me, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db->h, "SELECT nsamples, t, w FROM timelines WHERE model_id = ?", -1, &tl, NULL) !=
            SQLITE_OK ||
        (db->version >= 2 &&
         sqlite3_prepare_v2(db->h, "SELECT nrep, j, attr FROM repeats WHERE model_id = ?", -1, &rp, NULL) != SQLITE_OK) ||
        /* a store of schema 3 or older (read-only) kept no images */
        (db->version >= 4 &&
         sqlite3_prepare_v2(db->h, "SELECT side, nimages, pixels FROM images WHERE model_id = ?", -1, &im, NULL) !=
             SQLITE_OK)) {
        rc = store_fail(db, "preparing the load");
        goto out;
    }
    /* one read transaction, so that a save by another process cannot show half-way */
    if ((rc = store_exec(db, "BEGIN", "loading the run"))) goto out;
    sqlite3_bind_int64(rs, 1, id);
    int step = sqlite3_step(rs);
    if (step == SQLITE_DONE) {
        char which[96];
        describe_runs(db, which, sizeof which);
        rc = jp_fail(JP_ERR_NOTFOUND, "%s: no run %ld (%s)", db->path, id, which);
        goto end;
    }
    if (step != SQLITE_ROW) {
        rc = store_fail(db, "loading the run");
        goto end;
    }
    run->id = (long)sqlite3_column_int64(rs, 0);
    if (db->version < 3) run->intensity_year = -1; /* not kept: unknown */
    if ((rc = store_read_cols(rs, 1, store_run_cols, nrc, run)) != JP_OK) {
        char why[256];
        jp_strlcpy(why, jp_last_error(), sizeof why); /* jp_fail writes where jp_last_error reads */
        rc = jp_fail(rc, "%s: run %ld: %s", db->path, id, why);
        goto end;
    }

    sqlite3_int64 n = 0;
    {
        sqlite3_stmt *c;
        if (sqlite3_prepare_v2(db->h, "SELECT count(*) FROM tasks WHERE run_id = ?", -1, &c, NULL) != SQLITE_OK) {
            rc = store_fail(db, "loading the run");
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
        (void)store_read_cols(ts, 1, store_task_cols, ntc, task); /* no status column: cannot fail */
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
            if ((rc = store_read_cols(ms, 1, store_model_cols, nmc, m)) != JP_OK) {
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
                (rp && (rc = load_repeats(db, model_id, m, rp, run))) ||
                (im && (rc = load_images(db, task, model_id, m, im, run)))) {
                sqlite3_reset(ms);
                goto end;
            }
        }
        sqlite3_reset(ms);
        if (step != SQLITE_DONE) {
            rc = store_fail(db, "loading models");
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
    sqlite3_finalize(im);
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
        rc = store_fail(db, "listing runs");
        goto out;
    }
    if ((rc = store_exec(db, "BEGIN", "listing runs"))) goto out;
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
    if (rc == JP_OK && step != SQLITE_DONE) rc = store_fail(db, "listing runs");
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
        return store_fail(db, "deleting a run");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? JP_OK : store_fail(db, "deleting a run");
    sqlite3_finalize(st);
    if (rc == JP_OK && sqlite3_changes(db->h) == 0) {
        char which[96];
        describe_runs(db, which, sizeof which);
        return jp_fail(JP_ERR_NOTFOUND, "%s: no run %ld (%s)", db->path, id, which);
    }
    return rc;
}
