/* The built-in `generate` workload: the generation models of the zoo, prompts matched to classes, the
 * DDIM sampler on the engine's UNet (src/nn/unet.c), and a measured run in phases "load" and "infer". */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include "workload/generate.h"

#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"
#include "workload/model_dir.h"
#include "workload/ocr.h" /* the project's generator (jp_rng) and the PNG writer */

#define MAX_THREADS 64

/* Appends sep and s to buf (of cap bytes), cutting what does not fit. */
static void append(char *buf, size_t cap, const char *sep, const char *s)
{
    size_t l = strlen(buf);
    if (l && l + 1 < cap) jp_strlcpy(buf + l, sep, cap - l);
    l = strlen(buf);
    if (l + 1 < cap) jp_strlcpy(buf + l, s, cap - l);
}

/* ---- the zoo ---------------------------------------------------------------------------------------- */

static int read_info(const char *dir, const char *name, jp_generate_model_info *info)
{
    memset(info, 0, sizeof *info);
    json_t *root;
    int rc = jp_model_dir_config(dir, &root);
    if (rc) return rc;
    json_t *mt = json_object_get(root, "model_type");
    if (!json_is_string(mt) || strcmp(json_string_value(mt), "jp-unet")) {
        json_decref(root);
        return jp_fail(JP_ERR_NOTFOUND, "%s: not a generation model (model_type is not \"jp-unet\")", dir);
    }
    jp_strlcpy(info->name, name, sizeof info->name);
    jp_strlcpy(info->dir, dir, sizeof info->dir);
    json_t *jp = json_object_get(root, "jouleprint");
    if (json_is_object(jp)) {
        json_t *d = json_object_get(jp, "description");
        if (json_is_string(d)) jp_strlcpy(info->description, json_string_value(d), sizeof info->description);
        info->params = (uint64_t)jp_json_num(jp, "params");
        info->flops_per_step = jp_json_num(jp, "flops_per_step");
        info->train_steps = (int)jp_json_num(jp, "train_steps");
        info->train_epochs = jp_json_num(jp, "train_epochs");
        info->train_seconds = jp_json_num(jp, "train_seconds");
        info->train_complete = json_is_true(json_object_get(jp, "train_complete"));
    }
    json_decref(root);
    return JP_OK;
}

static int by_flops(const void *a, const void *b)
{
    const jp_generate_model_info *x = a, *y = b;
    return x->flops_per_step < y->flops_per_step ? -1 : x->flops_per_step > y->flops_per_step ? 1 : strcmp(x->name, y->name);
}

int jp_generate_list(const char *models_dir, jp_generate_model_info *out, size_t max)
{
    char zoo[PATH_MAX];
    int rc = jp_classify_models_dir(models_dir, zoo, sizeof zoo);
    if (rc) return rc;
    DIR *d = opendir(zoo);
    if (!d) return jp_fail(JP_ERR_IO, "%s: cannot be listed", zoo);
    size_t n = 0, cap = 16;
    jp_generate_model_info *all = malloc(cap * sizeof *all);
    struct dirent *e;
    while (all && (e = readdir(d))) {
        char dir[PATH_MAX];
        if (e->d_name[0] == '.' || jp_pathf(dir, sizeof dir, "%s/%s", zoo, e->d_name)) continue;
        if (n == cap) {
            jp_generate_model_info *na = realloc(all, cap * 2 * sizeof *all);
            if (!na) break;
            all = na;
            cap *= 2;
        }
        if (read_info(dir, e->d_name, &all[n]) == JP_OK) n++;
    }
    closedir(d);
    jp_clear_error();
    if (!all) return jp_fail(JP_ERR_NOMEM, "out of memory");
    qsort(all, n, sizeof *all, by_flops);
    for (size_t i = 0; i < n && i < max; i++) out[i] = all[i];
    free(all);
    return (int)n;
}

int jp_generate_find(const char *models_dir, const char *name, jp_generate_model_info *out)
{
    if (!name || !*name) return jp_fail(JP_ERR_INVAL, "no model named");
    if (strchr(name, '/')) {
        const char *base = strrchr(name, '/') + 1;
        char nm[64];
        jp_strlcpy(nm, *base ? base : name, sizeof nm);
        return read_info(name, nm, out);
    }
    char zoo[PATH_MAX], dir[PATH_MAX];
    int rc = jp_classify_models_dir(models_dir, zoo, sizeof zoo);
    if (rc) return rc;
    if ((rc = jp_pathf(dir, sizeof dir, "%s/%s", zoo, name))) return rc;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        jp_generate_model_info all[16];
        int n = jp_generate_list(zoo, all, 16);
        char names[256] = "";
        for (int i = 0; i < n && i < 16; i++) append(names, sizeof names, ", ", all[i].name);
        return jp_fail(JP_ERR_NOTFOUND, "no generation model '%s' in %s (there are: %s)", name, zoo,
                       n > 0 ? names : "none");
    }
    return read_info(dir, name, out);
}

/* ---- prompts ---------------------------------------------------------------------------------------- */

#define MAX_WORDS 64

/* Lower-case words of [a-z0-9-'] in text: up to max, each up to 31 characters. */
static int words_of(const char *text, char w[][32], int max)
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p && n < max) {
        while (*p && !(isalnum(*p) || *p == '-' || *p == '\'')) p++;
        if (!*p) break;
        int len = 0;
        while (*p && (isalnum(*p) || *p == '-' || *p == '\'')) {
            if (len < 31) w[n][len++] = (char)tolower(*p);
            p++;
        }
        w[n][len] = '\0';
        n++;
    }
    return n;
}

/* Does the term (words tw[0..tn-1]) occur in the prompt at word position at? The last word may carry a
 * plural "s" or "es". */
static int term_at(char pw[][32], int pn, int at, char tw[][32], int tn)
{
    if (at + tn > pn) return 0;
    for (int i = 0; i < tn; i++) {
        const char *a = pw[at + i], *b = tw[i];
        if (!strcmp(a, b)) continue;
        size_t la = strlen(a), lb = strlen(b);
        if (i == tn - 1 && ((la == lb + 1 && !strncmp(a, b, lb) && a[lb] == 's') ||
                            (la == lb + 2 && !strncmp(a, b, lb) && !strcmp(a + lb, "es"))))
            continue;
        return 0;
    }
    return 1;
}

struct match {
    int cls, start, end;
};

static int match_prompt(const jp_unet *u, const char *prompt, int *cls)
{
    char pw[MAX_WORDS][32];
    int pn = words_of(prompt, pw, MAX_WORDS);
    struct match m[256];
    int nm = 0;
    jp_unet_info info;
    jp_unet_info_get(u, &info);
    for (int c = 0; c < info.num_labels; c++) {
        /* the terms: the class name split at '/', then the synonyms */
        char terms[24][72];
        int nt = 0;
        const char *label = jp_unet_label(u, c);
        const char *p = label;
        while (*p && nt < 8) {
            const char *slash = strchr(p, '/');
            size_t len = slash ? (size_t)(slash - p) : strlen(p);
            if (len >= sizeof terms[0]) len = sizeof terms[0] - 1;
            memcpy(terms[nt], p, len);
            terms[nt++][len] = '\0';
            p += len + (slash ? 1 : 0);
            if (!slash) break;
        }
        int ns;
        const char *const *syn = jp_unet_synonyms(u, c, &ns);
        for (int i = 0; i < ns && nt < 24; i++) jp_strlcpy(terms[nt++], syn[i], sizeof terms[0]);
        for (int t = 0; t < nt; t++) {
            char tw[8][32];
            int tn = words_of(terms[t], tw, 8);
            if (!tn) continue;
            for (int at = 0; at < pn && nm < 256; at++)
                if (term_at(pw, pn, at, tw, tn)) m[nm++] = (struct match){c, at, at + tn};
        }
    }
    /* drop a match lying inside a longer match of another class */
    int found = -1, two = 0;
    for (int i = 0; i < nm; i++) {
        int inside = 0;
        for (int j = 0; j < nm && !inside; j++)
            inside = m[j].cls != m[i].cls && m[j].start <= m[i].start && m[j].end >= m[i].end &&
                     m[j].end - m[j].start > m[i].end - m[i].start;
        if (inside) continue;
        if (found >= 0 && found != m[i].cls) two = 1;
        found = found < 0 ? m[i].cls : found;
    }
    if (found >= 0 && !two) {
        *cls = found;
        return JP_OK;
    }
    char list[512] = "";
    for (int c = 0; c < info.num_labels; c++) append(list, sizeof list, ", ", jp_unet_label(u, c));
    return jp_fail(JP_ERR_NOTFOUND, "prompt \"%.80s\" names %s: name one of %s (the model is class-conditional)", prompt,
                   two ? "more than one class" : "no class", list);
}

int jp_generate_match(const char *dir, const char *prompt, int *cls)
{
    if (!dir || !prompt || !cls) return jp_fail(JP_ERR_INVAL, "jp_generate_match: NULL argument");
    jp_unet *u;
    int rc = jp_unet_load(&u, dir);
    if (rc) return rc;
    rc = match_prompt(u, prompt, cls);
    jp_unet_free(u);
    return rc;
}

/* ---- noise ---------------------------------------------------------------------------------------- */

void jp_gen_noise(uint64_t seed, uint64_t a, uint64_t b, int hw, float *out)
{
    jp_rng r = jp_rng_for(seed, 0x67656e6572617465ULL ^ a, b);
    for (int i = 0; i < hw; i += 2) {
        double u1 = 1.0 - jp_rng_unit(&r), u2 = jp_rng_unit(&r); /* u1 in (0, 1] */
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        out[i] = (float)(rad * cos(th));
        if (i + 1 < hw) out[i + 1] = (float)(rad * sin(th));
    }
}

uint8_t jp_gen_pixel(float v)
{
    float p = (v + 1.0f) * 127.5f;
    if (!(p > 0.0f)) return 0; /* also NaN */
    if (p >= 255.0f) return 255;
    return (uint8_t)lrintf(p);
}

/* ---- the sampler ------------------------------------------------------------------------------------ */

/* Two lanes meeting twice a step (guided sampling of one image on two threads). A barrier that can be
 * called off: should a thread of the pair fail to start, its partner must not wait forever. */
typedef struct pair_sync {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int waiting, off;
    unsigned long round;
} pair_sync;

/* 0 when both have arrived, -1 if the pair was called off. */
static int pair_wait(pair_sync *p)
{
    pthread_mutex_lock(&p->mu);
    unsigned long r = p->round;
    if (!p->off && ++p->waiting == 2) {
        p->waiting = 0;
        p->round++;
        pthread_cond_broadcast(&p->cv);
    } else {
        while (p->round == r && !p->off) pthread_cond_wait(&p->cv, &p->mu);
    }
    int rc = p->round != r ? 0 : -1;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void pair_set_off(pair_sync *p, int off)
{
    pthread_mutex_lock(&p->mu);
    p->off = off;
    p->waiting = 0;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

typedef struct gen_lane {
    jp_unet_ws *ws;
    float *xin, *e2, *x, *tt;
    int *ll;
    pthread_t thread;
} gen_lane;

struct jp_gen_sampler {
    const jp_unet *u;
    int batch, threads, slice, hw;
    int *ts;
    gen_lane lanes[MAX_THREADS];
    /* Guided sampling of a group with at least two threads per image: lanes 2i and 2i+1 share slice i,
     * the first evaluating the prompts, the second the empty prompt, meeting twice a step (pair_sync). */
    pair_sync pairs[MAX_THREADS / 2];
    int pairs_ready;
    /* the call in progress */
    const float *noise;
    const int *labels;
    int n, steps;
    float guidance;
    float *out;
    atomic_long done;
    void (*progress)(void *, long, long);
    void *arg;
};

void jp_gen_timesteps(int steps, int T, int *ts)
{
    for (int i = 0; i < steps; i++) ts[i] = (int)(((long long)(steps - i) * T) / steps) - 1;
}

void jp_gen_sampler_free(jp_gen_sampler *s)
{
    if (!s) return;
    for (int i = 0; i < s->threads; i++) {
        gen_lane *L = &s->lanes[i];
        jp_unet_ws_free(L->ws);
        free(L->xin), free(L->e2), free(L->x), free(L->tt), free(L->ll);
    }
    for (int i = 0; i < s->pairs_ready; i++) {
        pthread_mutex_destroy(&s->pairs[i].mu);
        pthread_cond_destroy(&s->pairs[i].cv);
    }
    free(s->ts);
    free(s);
}

int jp_gen_sampler_new(jp_gen_sampler **out, const jp_unet *u, int batch, int threads)
{
    *out = NULL;
    if (batch < 1 || batch > 4096) return jp_fail(JP_ERR_RANGE, "batch %d outside 1..4096", batch);
    if (threads < 1 || threads > MAX_THREADS) return jp_fail(JP_ERR_RANGE, "threads %d outside 1..%d", threads, MAX_THREADS);
    jp_gen_sampler *s = calloc(1, sizeof *s);
    if (!s) return jp_fail(JP_ERR_NOMEM, "out of memory");
    jp_unet_info info;
    jp_unet_info_get(u, &info);
    s->u = u;
    s->batch = batch;
    /* up to two threads an image: the second of a pair evaluates the guidance's empty prompt */
    s->threads = threads < 2 * batch ? threads : 2 * batch;
    int lanes_b = s->threads < batch ? s->threads : batch;
    s->slice = (batch + lanes_b - 1) / lanes_b;
    s->hw = info.image_size * info.image_size;
    s->ts = malloc((size_t)info.train_timesteps * sizeof *s->ts);
    int ok = s->ts != NULL;
    size_t two = (size_t)2 * s->slice;
    for (int i = 0; i < s->threads && ok; i++) {
        gen_lane *L = &s->lanes[i];
        L->ws = jp_unet_ws_new(u, 2 * s->slice);
        L->xin = malloc(two * s->hw * sizeof *L->xin);
        L->e2 = malloc(two * s->hw * sizeof *L->e2);
        L->x = malloc((size_t)s->slice * s->hw * sizeof *L->x);
        L->tt = malloc(two * sizeof *L->tt);
        L->ll = malloc(two * sizeof *L->ll);
        ok = L->ws && L->xin && L->e2 && L->x && L->tt && L->ll;
    }
    if (!ok) {
        jp_gen_sampler_free(s);
        return jp_fail(JP_ERR_NOMEM, "out of memory for a batch of %d", batch);
    }
    for (int i = 0; i < s->threads / 2; i++) {
        pair_sync *p = &s->pairs[i];
        if (pthread_mutex_init(&p->mu, NULL) != 0) break;
        if (pthread_cond_init(&p->cv, NULL) != 0) {
            pthread_mutex_destroy(&p->mu);
            break;
        }
        s->pairs_ready = i + 1;
    }
    if (s->pairs_ready < s->threads / 2) {
        jp_gen_sampler_free(s);
        return jp_fail(JP_ERR_THREAD, "cannot set up the sampling threads' synchronization");
    }
    *out = s;
    return JP_OK;
}

/* Step k of DDIM (eta 0) on the px values of L->x, from the network's output in L->e2: with guidance, the
 * prompts' eps in e2[0, px) and the empty prompt's in e2[px, 2px). Counts the b images' step as done. */
static void ddim_update(jp_gen_sampler *s, int k, gen_lane *L, size_t px, int guided, int li, int b)
{
    const float *ac = jp_unet_alphas_cumprod(s->u);
    int t = s->ts[k];
    float g = s->guidance;
    float a = ac[t], ap = k + 1 < s->steps ? ac[s->ts[k + 1]] : 1.0f;
    float sa = (float)sqrt((double)a), s1a = (float)sqrt(1.0 - (double)a);
    float sap = (float)sqrt((double)ap), s1ap = (float)sqrt(1.0 - (double)ap);
    for (size_t j = 0; j < px; j++) {
        float eps = guided ? L->e2[px + j] + g * (L->e2[j] - L->e2[px + j]) : L->e2[j];
        float x = L->x[j];
        float x0 = (x - s1a * eps) / sa;
        x0 = x0 < -1.0f ? -1.0f : x0 > 1.0f ? 1.0f : x0;
        eps = (x - sa * x0) / s1a;
        L->x[j] = sap * x0 + s1ap * eps;
    }
    long done = atomic_fetch_add(&s->done, b) + b;
    if (li == 0 && s->progress) s->progress(s->arg, done, (long)s->n * s->steps);
}

/* DDIM for images [i0, i1) on one lane. */
static void ddim_slice(jp_gen_sampler *s, gen_lane *L, int li, int i0, int i1)
{
    const jp_unet *u = s->u;
    jp_unet_info info;
    jp_unet_info_get(u, &info);
    int b = i1 - i0, hw = s->hw, guided = s->guidance != 1.0f;
    size_t px = (size_t)b * hw;
    memcpy(L->x, s->noise + (size_t)i0 * hw, px * sizeof *L->x);
    for (int i = 0; i < b; i++) {
        L->ll[i] = s->labels[i0 + i];
        L->ll[b + i] = info.null_class;
    }
    for (int k = 0; k < s->steps; k++) {
        int t = s->ts[k];
        for (int i = 0; i < 2 * b; i++) L->tt[i] = (float)t;
        memcpy(L->xin, L->x, px * sizeof *L->xin);
        if (guided) memcpy(L->xin + px, L->x, px * sizeof *L->xin);
        jp_unet_eps(u, L->ws, L->xin, L->tt, L->ll, guided ? 2 * b : b, L->e2);
        ddim_update(s, k, L, px, guided, li, b);
    }
    memcpy(s->out + (size_t)i0 * hw, L->x, px * sizeof *L->x);
}

/* DDIM for images [i0, i1) on the pair of lanes 2p (li even: the prompts; it holds x and the update) and
 * 2p + 1 (the empty prompt), each evaluating the network on its own workspace, the same arithmetic as
 * ddim_slice's one batch of 2b (the images of a batch are independent in every operation). */
static void ddim_pair(jp_gen_sampler *s, int li, int i0, int i1)
{
    const jp_unet *u = s->u;
    jp_unet_info info;
    jp_unet_info_get(u, &info);
    int first = li % 2 == 0, b = i1 - i0, hw = s->hw;
    gen_lane *L = &s->lanes[li - !first], *M = &s->lanes[li];
    pair_sync *sync = &s->pairs[li / 2];
    size_t px = (size_t)b * hw;
    if (first) memcpy(L->x, s->noise + (size_t)i0 * hw, px * sizeof *L->x);
    for (int i = 0; i < b; i++) M->ll[i] = first ? s->labels[i0 + i] : info.null_class;
    if (pair_wait(sync)) return; /* x is set */
    for (int k = 0; k < s->steps; k++) {
        int t = s->ts[k];
        for (int i = 0; i < b; i++) M->tt[i] = (float)t;
        memcpy(M->xin, L->x, px * sizeof *M->xin);
        jp_unet_eps(u, M->ws, M->xin, M->tt, M->ll, b, L->e2 + (first ? 0 : px));
        if (pair_wait(sync)) return; /* both halves of e2 are in */
        if (first) ddim_update(s, k, L, px, 1, li, b);
        if (pair_wait(sync)) return; /* x is updated */
    }
    if (first) memcpy(s->out + (size_t)i0 * hw, L->x, px * sizeof *L->x);
}

static int split(int total, int li, int lanes) { return (int)((long long)total * li / lanes); }

static void run_lane(jp_gen_sampler *s, int li)
{
    for (int g0 = 0; g0 < s->n; g0 += s->batch) {
        int gb = s->n - g0 < s->batch ? s->n - g0 : s->batch;
        if (s->guidance != 1.0f && s->threads >= 2 * gb) { /* two lanes an image */
            if (li >= 2 * gb) continue;
            ddim_pair(s, li, g0 + li / 2, g0 + li / 2 + 1);
            continue;
        }
        int lanes = s->threads < gb ? s->threads : gb;
        if (li >= lanes) continue;
        int a = g0 + split(gb, li, lanes), b = g0 + split(gb, li + 1, lanes);
        if (b > a) ddim_slice(s, &s->lanes[li], li, a, b);
    }
}

struct lane_arg {
    jp_gen_sampler *s;
    int li;
};

static void *lane_main(void *p)
{
    struct lane_arg *a = p;
    run_lane(a->s, a->li);
    return NULL;
}

int jp_gen_sample(jp_gen_sampler *s, const float *noise, const int *labels, int n, int steps, float guidance,
                  float *out, void (*progress)(void *, long, long), void *arg)
{
    jp_unet_info info;
    jp_unet_info_get(s->u, &info);
    if (n < 1) return jp_fail(JP_ERR_RANGE, "n %d: at least one image", n);
    if (steps < 1 || steps > info.train_timesteps)
        return jp_fail(JP_ERR_RANGE, "steps %d outside 1..%d (the training schedule)", steps, info.train_timesteps);
    if (!(guidance >= 0.0f) || guidance > 100.0f) return jp_fail(JP_ERR_RANGE, "guidance %g outside 0..100", (double)guidance);
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= info.num_labels)
            return jp_fail(JP_ERR_RANGE, "label %d outside 0..%d", labels[i], info.num_labels - 1);
    jp_gen_timesteps(steps, info.train_timesteps, s->ts);
    s->noise = noise, s->labels = labels, s->n = n, s->steps = steps, s->guidance = guidance, s->out = out;
    s->progress = progress, s->arg = arg;
    atomic_store(&s->done, 0);
    struct lane_arg args[MAX_THREADS];
    int started = 1, lanes = s->threads < (guidance != 1.0f ? 2 : 1) * n ? s->threads : (guidance != 1.0f ? 2 : 1) * n;
    int rc = JP_OK;
    for (int i = 0; i < s->pairs_ready; i++) pair_set_off(&s->pairs[i], 0);
    for (int i = 1; i < lanes; i++) {
        args[i] = (struct lane_arg){s, i};
        if (pthread_create(&s->lanes[i].thread, NULL, lane_main, &args[i]) != 0) {
            rc = jp_fail(JP_ERR_THREAD, "cannot start sampling thread %d", i);
            break;
        }
        started++;
    }
    if (rc == JP_OK)
        run_lane(s, 0);
    else /* a lane that waits for a partner that never started gives up */
        for (int i = 0; i < s->pairs_ready; i++) pair_set_off(&s->pairs[i], 1);
    for (int i = 1; i < started; i++) pthread_join(s->lanes[i].thread, NULL);
    return rc;
}

/* ---- the measured run -------------------------------------------------------------------------------- */

void jp_generate_config_init(jp_generate_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->n = 1;
    cfg->steps = 20;
    cfg->guidance = 3.0;
    cfg->batch = 16;
    cfg->threads = 1;
}

void jp_generate_result_free(jp_generate_result *r)
{
    if (!r) return;
    free(r->classes), free(r->prompt_index), free(r->image_index), free(r->pixels);
    r->classes = r->prompt_index = r->image_index = NULL;
    r->pixels = NULL;
}

static size_t phase_index(jp_meter *m, const char *name)
{
    for (size_t i = 0; i < jp_meter_phase_count(m); i++)
        if (!strcmp(jp_meter_phase_name(m, i), name)) return i;
    return (size_t)-1;
}

static int run_phases(const jp_generate_config *cfg, jp_meter *m, jp_generate_result *out)
{
    int rc = jp_generate_find(cfg->models_dir, cfg->model, &out->model);
    if (rc) return rc;
    if (cfg->nprompts < 1 || cfg->nprompts > JP_GENERATE_MAX_PROMPTS || !cfg->prompts)
        return jp_fail(JP_ERR_RANGE, "%d prompts: give 1 to %d", cfg->nprompts, JP_GENERATE_MAX_PROMPTS);
    if (cfg->n < 1 || cfg->n > 100000) return jp_fail(JP_ERR_RANGE, "n %d: give 1 to 100000 images per prompt", cfg->n);
    if (!(cfg->guidance >= 0.0) || cfg->guidance > 100.0)
        return jp_fail(JP_ERR_RANGE, "guidance %g: give a scale from 0 to 100 (1: no guidance)", cfg->guidance);
    if (cfg->batch < 1 || cfg->batch > 4096) return jp_fail(JP_ERR_RANGE, "batch %d outside 1..4096", cfg->batch);
    if (cfg->threads < 1 || cfg->threads > MAX_THREADS)
        return jp_fail(JP_ERR_RANGE, "threads %d outside 1..%d", cfg->threads, MAX_THREADS);
    jp_roots roots, *rp = jp_roots_from_env(&roots) == JP_OK ? &roots : NULL;
    struct jp_cpu_mark m0 = {0}, m1 = {0}, m2 = {0};
    jp_unet *u = NULL;
    jp_gen_sampler *s = NULL;
    float *noise = NULL, *img = NULL;
    long total = (long)cfg->nprompts * cfg->n;
    if (total > 1000000) return jp_fail(JP_ERR_RANGE, "%ld images: at most 1000000 in one run", total);
    int n = (int)total;
    if (m && (rc = jp_meter_phase(m, "load")) != JP_OK) return rc;
    jp_cpu_mark_now(rp, &m0);
    if ((rc = jp_unet_load(&u, out->model.dir))) goto done;
    jp_unet_info info;
    jp_unet_info_get(u, &info);
    if (cfg->steps < 1 || cfg->steps > info.train_timesteps) {
        rc = jp_fail(JP_ERR_RANGE, "steps %d: give 1 to %d (%s's training schedule)", cfg->steps, info.train_timesteps,
                     out->model.name);
        goto done;
    }
    out->size = info.image_size;
    out->num_classes = info.num_labels;
    for (int c = 0; c < info.num_labels && c < 64; c++) jp_strlcpy(out->class_names[c], jp_unet_label(u, c), 64);
    int hw = info.image_size * info.image_size;
    out->classes = malloc((size_t)n * sizeof *out->classes);
    out->prompt_index = malloc((size_t)n * sizeof *out->prompt_index);
    out->image_index = malloc((size_t)n * sizeof *out->image_index);
    out->pixels = malloc((size_t)n * hw);
    noise = malloc((size_t)n * hw * sizeof *noise);
    img = malloc((size_t)n * hw * sizeof *img);
    if (!out->classes || !out->prompt_index || !out->image_index || !out->pixels || !noise || !img) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory for %d images", n);
        goto done;
    }
    for (int p = 0; p < cfg->nprompts; p++) {
        int cls;
        if (!cfg->prompts[p]) {
            rc = jp_fail(JP_ERR_INVAL, "prompt %d is missing", p + 1);
            goto done;
        }
        if ((rc = match_prompt(u, cfg->prompts[p], &cls))) goto done;
        for (int j = 0; j < cfg->n; j++) {
            int i = p * cfg->n + j;
            out->classes[i] = cls;
            out->prompt_index[i] = p;
            out->image_index[i] = j;
        }
    }
    if (!out->model.params) out->model.params = info.params;
    if (!out->model.flops_per_step) out->model.flops_per_step = info.flops;
    if ((rc = jp_gen_sampler_new(&s, u, cfg->batch, cfg->threads))) goto done;
    jp_cpu_mark_now(rp, &m1);
    if (m && (rc = jp_meter_phase(m, "infer")) != JP_OK) goto done;
    for (int i = 0; i < n; i++)
        jp_gen_noise(cfg->seed, (uint64_t)out->prompt_index[i], (uint64_t)out->image_index[i], hw, noise + (size_t)i * hw);
    if ((rc = jp_gen_sample(s, noise, out->classes, n, cfg->steps, (float)cfg->guidance, img, cfg->progress,
                            cfg->progress_arg)))
        goto done;
    for (size_t i = 0; i < (size_t)n * hw; i++) out->pixels[i] = jp_gen_pixel(img[i]);
    jp_cpu_mark_now(rp, &m2);
    out->n = n;
    out->network_evals = (cfg->guidance != 1.0 ? 2.0 : 1.0) * cfg->steps;
    out->load_s = m1.t - m0.t;
    out->infer_s = m2.t - m1.t;
    out->load_cpu_s = m1.cpu - m0.cpu;
    out->infer_cpu_s = m2.cpu - m1.cpu;
    out->load_share = jp_cpu_share_between(&m0, &m1);
    out->infer_share = jp_cpu_share_between(&m1, &m2);
done:
    free(noise);
    free(img);
    jp_gen_sampler_free(s);
    jp_unet_free(u);
    return rc;
}

int jp_generate_run(const jp_generate_config *cfg, jp_meter *m, jp_generate_result *out)
{
    if (!out) return jp_fail(JP_ERR_INVAL, "jp_generate_run: NULL result");
    memset(out, 0, sizeof *out);
    out->load_share = out->infer_share = -1;
    if (!cfg || !cfg->model) return jp_fail(JP_ERR_INVAL, "jp_generate_run: no model given");
    int rc;
    if (m && (rc = jp_meter_start(m)) != JP_OK) return rc;
    rc = run_phases(cfg, m, out);
    if (m) {
        int src = jp_meter_stop(m);
        if (!rc) rc = src;
    }
    if (!rc && m) {
        size_t pl = phase_index(m, "load"), pi = phase_index(m, "infer");
        if (pl != (size_t)-1) out->load_j = jp_meter_phase_joules(m, pl, JP_TOTAL);
        if (pi != (size_t)-1) out->infer_j = jp_meter_phase_joules(m, pi, JP_TOTAL);
        out->j_per_image = out->n ? out->infer_j / out->n : 0;
        out->estimated = jp_meter_estimated(m);
    }
    if (rc) jp_generate_result_free(out);
    return rc;
}

int jp_generate_write_png(const jp_generate_result *r, int i, const char *path)
{
    if (!r || i < 0 || i >= r->n || !path) return jp_fail(JP_ERR_INVAL, "jp_generate_write_png: bad arguments");
    jp_ocr_image img = {r->size, r->size, r->pixels + (size_t)i * r->size * r->size};
    return jp_ocr_png_write(path, &img);
}

int jp_gen_png_read(const char *path, int side, uint8_t *pixels)
{
    if (!path || !pixels || side < 1 || side > 4096) return jp_fail(JP_ERR_INVAL, "jp_gen_png_read: bad arguments");
    jp_ocr_image img;
    int rc = jp_ocr_png_read(path, &img);
    if (rc) return rc;
    if (img.width != side || img.height != side) {
        rc = jp_fail(JP_ERR_PARSE, "%s: %dx%d pixels, expected %dx%d", path, img.width, img.height, side, side);
    } else {
        memcpy(pixels, img.pixels, (size_t)side * side);
    }
    jp_ocr_image_free(&img);
    return rc;
}

int jp_generate_write_grid(const jp_generate_result *r, const char *path)
{
    if (!r || !path || r->n < 1) return jp_fail(JP_ERR_INVAL, "jp_generate_write_grid: bad arguments");
    int gap = 2, side = r->size, rows = 0, cols = 0;
    for (int i = 0; i < r->n; i++) {
        if (r->prompt_index[i] + 1 > rows) rows = r->prompt_index[i] + 1;
        if (r->image_index[i] + 1 > cols) cols = r->image_index[i] + 1;
    }
    long w = (long)cols * (side + gap) + gap, h = (long)rows * (side + gap) + gap;
    if (w > 20000 || h > 20000) return jp_fail(JP_ERR_RANGE, "%ld x %ld pixels is too large for one image", w, h);
    jp_ocr_image img = {(int)w, (int)h, malloc((size_t)w * h)};
    if (!img.pixels) return jp_fail(JP_ERR_NOMEM, "out of memory");
    memset(img.pixels, 255, (size_t)w * h);
    for (int i = 0; i < r->n; i++) {
        int row = r->prompt_index[i], col = r->image_index[i];
        const uint8_t *src = r->pixels + (size_t)i * side * side;
        for (int y = 0; y < side; y++)
            memcpy(img.pixels + (size_t)(gap + row * (side + gap) + y) * w + gap + col * (side + gap), src + (size_t)y * side,
                   (size_t)side);
    }
    char tmp[4200];
    if (jp_pathf(tmp, sizeof tmp, "%s.tmp", path) != JP_OK) {
        free(img.pixels);
        return JP_ERR_RANGE;
    }
    int rc = jp_ocr_png_write(tmp, &img);
    free(img.pixels);
    if (rc == JP_OK && rename(tmp, path) != 0) rc = jp_fail(JP_ERR_IO, "%s: cannot be written", path);
    if (rc != JP_OK) unlink(tmp);
    return rc;
}
