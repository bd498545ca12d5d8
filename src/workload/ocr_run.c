/* A measured OCR run: one configuration over a data set, in the phases "load" (engines) and
 * "infer" (every line), scored per split. The library side of `jouleprint ocr` and of the bench
 * harness's `builtin: ocr`. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "workload/ocr.h"

#define DEFAULT_SEED 1
#define DEFAULT_LINES 100

void jp_ocr_config_init(jp_ocr_config *cfg)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->threads = 1;
}

void jp_ocr_result_free(jp_ocr_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nlines; i++) {
        free(r->lines[i].file);
        free(r->lines[i].ref);
        free(r->lines[i].hyp);
    }
    free(r->lines);
    r->lines = NULL;
    r->nlines = 0;
}

/* ---- the data ---- */

struct item {
    int split;
    char *file, *ref;
    jp_ocr_image img;
};

struct items {
    struct item *v;
    size_t n, cap;
};

static void items_free(struct items *it)
{
    for (size_t i = 0; i < it->n; i++) {
        free(it->v[i].file);
        free(it->v[i].ref);
        jp_ocr_image_free(&it->v[i].img);
    }
    free(it->v);
    it->v = NULL;
    it->n = it->cap = 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int png_only(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && !strcmp(d->d_name + n - 4, ".png");
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static int read_text_file(const char *path, char **out)
{
    /* a line's ground truth: a line of text, bounded */
    unsigned char *data;
    size_t n;
    int rc = jp_read_file(path, 65535, &data, &n);
    if (rc != JP_OK) {
        char why[600];
        jp_strlcpy(why, jp_last_error(), sizeof why);
        return jp_fail(rc, "cannot read the ground truth: %s", why);
    }
    char *buf = (char *)data;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    *out = buf;
    return JP_OK;
}

/* The first `limit` (0: all) PNG files of folder, with NAME.gt.txt (or NAME.txt) beside each. */
static int load_split(const char *folder, int split, size_t limit, struct items *it)
{
    struct dirent **names;
    int k = scandir(folder, &names, png_only, by_name);
    if (k < 0) return jp_fail(JP_ERR_IO, "%s: cannot list: %s", folder, strerror(errno));
    int rc = JP_OK;
    size_t use = limit && (size_t)k > limit ? limit : (size_t)k;
    for (size_t i = 0; i < use && rc == JP_OK; i++) {
        if (it->n == it->cap) {
            size_t cap = it->cap ? it->cap * 2 : 64;
            struct item *v = realloc(it->v, cap * sizeof *v);
            if (!v) {
                rc = jp_fail(JP_ERR_NOMEM, "out of memory");
                break;
            }
            it->v = v;
            it->cap = cap;
        }
        struct item *x = &it->v[it->n];
        memset(x, 0, sizeof *x);
        x->split = split;
        char png[PATH_MAX], gt[PATH_MAX];
        size_t stem = strlen(names[i]->d_name) - 4;
        if ((rc = jp_pathf(png, sizeof png, "%s/%s", folder, names[i]->d_name)) != JP_OK) break;
        if ((rc = jp_pathf(gt, sizeof gt, "%s/%.*s.gt.txt", folder, (int)stem, names[i]->d_name)) != JP_OK) break;
        if (access(gt, R_OK) != 0) {
            char alt[PATH_MAX];
            if (jp_pathf(alt, sizeof alt, "%s/%.*s.txt", folder, (int)stem, names[i]->d_name) == JP_OK &&
                access(alt, R_OK) == 0)
                jp_strlcpy(gt, alt, sizeof gt);
        }
        x->file = strdup(png);
        if (!x->file) {
            rc = jp_fail(JP_ERR_NOMEM, "out of memory");
            break;
        }
        it->n++; /* counted now so that items_free frees what is set */
        if ((rc = read_text_file(gt, &x->ref)) != JP_OK) break;
        rc = jp_ocr_png_read(png, &x->img);
    }
    for (int i = 0; i < k; i++) free(names[i]);
    free(names);
    if (rc == JP_OK && use == 0) rc = jp_fail(JP_ERR_NOTFOUND, "%s: no .png images", folder);
    return rc;
}

int jp_ocr_folder_read(const char *folder, size_t limit, size_t *nlines, size_t *pixels)
{
    struct items it = {0};
    int rc = load_split(folder, 0, limit, &it);
    *nlines = it.n;
    *pixels = 0;
    for (size_t i = 0; i < it.n; i++) *pixels += (size_t)it.v[i].img.width * (size_t)it.v[i].img.height;
    items_free(&it);
    return rc;
}

static int default_data(size_t n, char *dir, size_t len)
{
    const char *const *words;
    size_t nwords;
    uint64_t digest;
    int rc = jp_ocr_words(&words, &nwords, &digest);
    if (rc != JP_OK) return rc;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char cache[PATH_MAX];
    if (xdg && *xdg) rc = jp_pathf(cache, sizeof cache, "%s/jouleprint", xdg);
    else if (home && *home) rc = jp_pathf(cache, sizeof cache, "%s/.cache/jouleprint", home);
    else return jp_fail(JP_ERR_NOTFOUND, "no cache folder for the default OCR data (set XDG_CACHE_HOME or HOME, or "
                                         "give a folder made by `jouleprint ocr-data`)");
    if (rc != JP_OK) return rc;
    size_t lines = n > DEFAULT_LINES ? n : DEFAULT_LINES;
    if ((rc = jp_pathf(dir, len, "%s/ocr-v%d-seed%d-n%zu-%016llx", cache, JP_OCR_DATA_VERSION, DEFAULT_SEED, lines,
                       (unsigned long long)digest)) != JP_OK)
        return rc;
    char manifest[PATH_MAX];
    if ((rc = jp_pathf(manifest, sizeof manifest, "%s/manifest.tsv", dir)) != JP_OK) return rc;
    if (access(manifest, R_OK) == 0) return JP_OK;
    return jp_ocr_data_write(dir, lines, DEFAULT_SEED);
}

/* ---- the run ---- */


struct work {
    struct items *it;
    const size_t *idx; /* the items of this batch */
    size_t count;
    atomic_size_t next;
    char **hyp;
    double *secs;
    pthread_mutex_t mu;
    int rc;
    char err[512];
};

struct worker {
    struct work *w;
    jp_ocr_engine *e;
};

static void *work_loop(void *arg)
{
    struct worker *k = arg;
    struct work *w = k->w;
    for (;;) {
        size_t j = atomic_fetch_add(&w->next, 1);
        if (j >= w->count) break;
        size_t i = w->idx[j];
        double t0 = jp_now();
        int rc = jp_ocr_engine_read(k->e, &w->it->v[i].img, &w->hyp[i]);
        w->secs[i] = jp_now() - t0;
        if (rc != JP_OK) {
            pthread_mutex_lock(&w->mu);
            if (w->rc == JP_OK) {
                w->rc = rc;
                jp_strlcpy(w->err, jp_last_error(), sizeof w->err);
            }
            pthread_mutex_unlock(&w->mu);
            atomic_store(&w->next, w->count);
            break;
        }
    }
    return NULL;
}

/* Reads the items listed in idx with every engine at once. */
static int read_batch(struct items *it, const size_t *idx, size_t count, jp_ocr_engine **eng, int threads,
                      char **hyp, double *secs)
{
    struct work w;
    memset(&w, 0, sizeof w);
    w.it = it;
    w.idx = idx;
    w.count = count;
    atomic_init(&w.next, 0);
    w.hyp = hyp;
    w.secs = secs;
    pthread_mutex_init(&w.mu, NULL);
    struct worker ks[64];
    pthread_t tid[64];
    int started = 0;
    for (int t = 0; t < threads; t++) ks[t] = (struct worker){&w, eng[t]};
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, work_loop, &ks[t]) != 0) break;
        started = t;
    }
    work_loop(&ks[0]);
    for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&w.mu);
    if (w.rc != JP_OK) return jp_fail(w.rc, "%s", w.err);
    return JP_OK;
}

static size_t phase_index(jp_meter *m, const char *name)
{
    for (size_t i = 0; i < jp_meter_phase_count(m); i++)
        if (!strcmp(jp_meter_phase_name(m, i), name)) return i;
    return (size_t)-1;
}

int jp_ocr_run(const jp_ocr_config *cfg, jp_meter *m, jp_ocr_result *out)
{
    if (!cfg || !out || !cfg->model) return jp_fail(JP_ERR_INVAL, "jp_ocr_run: need a configuration with a model");
    memset(out, 0, sizeof *out);
    out->load_share = out->infer_share = -1;
    int threads = cfg->threads > 0 ? cfg->threads : 1;
    /* lines per split the meter covers (0: all); set before any jump to `stop` */
    size_t timed = cfg->timed > 0 && (cfg->n == 0 || cfg->timed < cfg->n) ? cfg->timed : 0;
    if (threads > 64) return jp_fail(JP_ERR_RANGE, "threads: at most 64");
    const jp_ocr_model *model = jp_ocr_model_find(cfg->model);
    if (!model) return JP_ERR_NOTFOUND;
    char tdir[PATH_MAX], tfile[PATH_MAX];
    int rc = jp_ocr_model_locate(cfg->model, cfg->tessdata, tdir, sizeof tdir, tfile, sizeof tfile);
    if (rc != JP_OK) return rc;
    jp_strlcpy(out->model, model->name, sizeof out->model);

    char data[PATH_MAX];
    if (cfg->data) rc = jp_pathf(data, sizeof data, "%s", cfg->data);
    else rc = default_data(cfg->n, data, sizeof data);
    if (rc != JP_OK) return rc;
    if (!is_dir(data)) return jp_fail(JP_ERR_NOTFOUND, "%s: no such folder (make one with `jouleprint ocr-data`)", data);
    char *real = realpath(data, NULL);
    jp_strlcpy(out->data, real ? real : data, sizeof out->data);
    free(real);

    /* the images, into memory before anything is measured */
    struct items it = {0};
    for (int s = 0; s < JP_OCR_SPLITS && rc == JP_OK; s++) {
        char sub[PATH_MAX];
        if ((rc = jp_pathf(sub, sizeof sub, "%s/%s", data, jp_ocr_split_name(s))) != JP_OK) break;
        if (!is_dir(sub)) continue;
        rc = load_split(sub, (int)out->nsplits, cfg->n, &it);
        jp_strlcpy(out->split[out->nsplits++].name, jp_ocr_split_name(s), sizeof out->split[0].name);
    }
    if (rc == JP_OK && out->nsplits == 0) {
        rc = load_split(data, 0, cfg->n, &it);
        jp_strlcpy(out->split[out->nsplits++].name, "all", sizeof out->split[0].name);
    }
    if (rc != JP_OK) {
        items_free(&it);
        return rc;
    }
    size_t *idx = malloc(it.n * sizeof *idx);
    char **hyp = calloc(it.n, sizeof *hyp);
    double *secs = calloc(it.n, sizeof *secs);
    jp_ocr_engine **eng = calloc((size_t)threads, sizeof *eng);
    if (!idx || !hyp || !secs || !eng) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    jp_roots roots;
    int roots_ok = jp_roots_from_env(&roots) == JP_OK;
    struct jp_cpu_mark m0 = {0}, m1 = {0}, m2 = {0};
    if (m && (rc = jp_meter_start(m)) != JP_OK) goto done;
    if (m && (rc = jp_meter_phase(m, "load")) != JP_OK) goto stop;
    jp_cpu_mark_now(roots_ok ? &roots : NULL, &m0);
    for (int t = 0; t < threads; t++)
        if ((rc = jp_ocr_engine_open(&eng[t], cfg->model, cfg->tessdata)) != JP_OK) goto stop;
    jp_cpu_mark_now(roots_ok ? &roots : NULL, &m1);
    if (m && (rc = jp_meter_phase(m, "infer")) != JP_OK) goto stop;
    /* the timed lines: the first `timed` of each split (every line without cfg->timed); the items are
     * in split order, each split's in file order, as a run of n = timed would load them */
    for (size_t s = 0; s < out->nsplits; s++) {
        size_t count = 0;
        for (size_t i = 0; i < it.n; i++)
            if (it.v[i].split == (int)s && (!timed || count < timed)) idx[count++] = i;
        double t0 = jp_now();
        if ((rc = read_batch(&it, idx, count, eng, threads, hyp, secs)) != JP_OK) goto stop;
        out->split[s].infer_s = jp_now() - t0;
        out->lines_timed += count;
    }
    jp_cpu_mark_now(roots_ok ? &roots : NULL, &m2);
stop:
    if (m) {
        char saved[1024];
        jp_strlcpy(saved, jp_last_error(), sizeof saved);
        int src = jp_meter_stop(m);
        if (rc != JP_OK) jp_fail(rc, "%s", saved);
        else rc = src;
    }
    if (rc == JP_OK && timed) {
        /* the rest of each split, after the meter stopped: read for their outputs only */
        for (size_t s = 0; s < out->nsplits && rc == JP_OK; s++) {
            size_t count = 0, k = 0;
            for (size_t i = 0; i < it.n; i++)
                if (it.v[i].split == (int)s && k++ >= timed) idx[count++] = i;
            if (count > 0) rc = read_batch(&it, idx, count, eng, threads, hyp, secs);
        }
    }
    if (rc != JP_OK) goto done;
    out->load_s = m1.t - m0.t;
    out->infer_s = m2.t - m1.t;
    out->load_cpu_s = m1.cpu - m0.cpu;
    out->infer_cpu_s = m2.cpu - m1.cpu;
    out->load_share = jp_cpu_share_between(&m0, &m1);
    out->infer_share = jp_cpu_share_between(&m1, &m2);
    if (m) {
        size_t pl = phase_index(m, "load"), pi = phase_index(m, "infer");
        if (pl != (size_t)-1) out->load_j = jp_meter_phase_joules(m, pl, JP_TOTAL);
        if (pi != (size_t)-1) out->infer_j = jp_meter_phase_joules(m, pi, JP_TOTAL);
    }
    for (size_t i = 0; i < it.n; i++) {
        jp_ocr_score(it.v[i].ref, hyp[i], &out->split[it.v[i].split].counts);
        jp_ocr_score(it.v[i].ref, hyp[i], &out->all);
    }
    if (cfg->keep_lines) {
        out->lines = calloc(it.n, sizeof *out->lines);
        if (!out->lines) {
            rc = jp_fail(JP_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < it.n; i++) {
            jp_ocr_line *l = &out->lines[i];
            l->split = it.v[i].split;
            l->seconds = secs[i];
            l->file = it.v[i].file;
            l->ref = it.v[i].ref;
            l->hyp = hyp[i];
            it.v[i].file = it.v[i].ref = hyp[i] = NULL; /* moved into the result */
            out->nlines++;
        }
    }
done:
    for (int t = 0; eng && t < threads; t++) jp_ocr_engine_close(eng[t]);
    for (size_t i = 0; hyp && i < it.n; i++) free(hyp[i]);
    free(eng);
    free(hyp);
    free(secs);
    free(idx);
    items_free(&it);
    if (rc != JP_OK) jp_ocr_result_free(out);
    return rc;
}
