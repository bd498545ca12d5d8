/* Scorers for the harness: accuracy, exact match, OCR error rates and recall, ROUGE. See score.h. */
#define _POSIX_C_SOURCE 200809L
#include "bench/score.h"
#include "jouleprint/workloads.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* ---- ROUGE ------------------------------------------------------------------------------------ */
/* rouge-score's definitions (jp_rouge in jouleprint.h, src/workload/rouge.c), F1 only. */

double jp_rouge_n(const char *pred, const char *ref, int n)
{
    jp_rouge_scores s;
    if (jp_rouge(pred, ref, &s) != JP_OK) return 0.0;
    return n == 1 ? s.r1.f : n == 2 ? s.r2.f : 0.0;
}

double jp_rouge_l(const char *pred, const char *ref)
{
    jp_rouge_scores s;
    return jp_rouge(pred, ref, &s) == JP_OK ? s.rl.f : 0.0;
}

/* ---- scorers ----------------------------------------------------------------------------------- */

static const struct {
    const char *name, *main;
} scorers[] = {
    {"accuracy", "accuracy"}, {"exact_match", "exact_match"}, {"ocr", "word_recall"}, {"rouge", "rougeL"},
    {"adherence", "adherence"}, {"fid", "fid"}, {"none", NULL},
};

const char *jp_scorer_main_metric(const char *scorer)
{
    for (size_t i = 0; i < sizeof scorers / sizeof scorers[0]; i++)
        if (!strcmp(scorers[i].name, scorer)) return scorers[i].main ? scorers[i].main : "";
    return NULL;
}

const char *jp_scorer_names(void) { return "accuracy, exact_match, ocr, rouge, adherence, fid, none"; }

/* Compares with surrounding whitespace ignored. */
static bool same_trimmed(const char *a, const char *b)
{
    while (isspace((unsigned char)*a)) a++;
    while (isspace((unsigned char)*b)) b++;
    size_t la = strlen(a), lb = strlen(b);
    while (la && isspace((unsigned char)a[la - 1])) la--;
    while (lb && isspace((unsigned char)b[lb - 1])) lb--;
    return la == lb && !memcmp(a, b, la);
}

static size_t put(struct jp_bench_metric *m, size_t k, size_t max, const char *name, double v)
{
    if (k < max) {
        jp_strlcpy(m[k].name, name, sizeof m[k].name);
        m[k].value = v;
    }
    return k + 1;
}

/* ---- images: adherence and FID ------------------------------------------------------------------ */

#define IMG_SIDE 28 /* Fashion-MNIST's */
#define MAX_IMAGES 100000

/* s with surrounding whitespace dropped, into buf; false if it does not fit */
static bool trimmed(const char *s, char *buf, size_t len)
{
    while (isspace((unsigned char)*s)) s++;
    size_t l = strlen(s);
    while (l && isspace((unsigned char)s[l - 1])) l--;
    if (l >= len) return false;
    memcpy(buf, s, l);
    buf[l] = '\0';
    return true;
}

bool jp_score_is_image_path(const char *s)
{
    char t[4096];
    if (!trimmed(s, t, sizeof t)) return false;
    size_t l = strlen(t);
    return l > 4 && !strcasecmp(t + l - 4, ".png");
}

/* The Fashion-MNIST class a reference line names ("Sneaker"), or -1. */
static int class_of(const char *ref)
{
    char t[64];
    if (!trimmed(ref, t, sizeof t)) return -1;
    for (int k = 0; k < 10; k++) {
        const char *name = jp_classify_label_name(k);
        if (name && !strcmp(name, t)) return k;
    }
    return -1;
}

/* pred[i] is the path of the image made for the class ref[i] names. "adherence": the share that the zoo's
 * (models_dir's, as for jp_classify_models_dir) best classifier assigns to that class (a missing image counts as not adherent); "fid": the Frechet
 * distance of that classifier's features against the test set's, with adherence and the mean distance to
 * the nearest training image beside it (every image must be there). */
static int score_images(const char *scorer, const char *const *pred, const char *const *ref, size_t n,
                        const char *models_dir, struct jp_bench_metric *metrics, size_t max)
{
    bool fid = !strcmp(scorer, "fid");
    if (n > MAX_IMAGES) return jp_fail(JP_ERR_RANGE, "%zu images to score: at most %d", n, MAX_IMAGES);
    if (fid && n < 2) return jp_fail(JP_ERR_RANGE, "FID needs at least 2 images, %zu given", n);
    const size_t hw = IMG_SIDE * IMG_SIDE;
    uint8_t *px = malloc(n * hw);
    int *cls = malloc(n * sizeof *cls), *label = malloc(n * sizeof *label);
    int rc = JP_OK;
    size_t have = 0, k = 0;
    if (!px || !cls || !label) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && rc == JP_OK; i++) {
        char path[4096];
        if ((cls[have] = class_of(ref[i])) < 0) {
            rc = jp_fail(JP_ERR_PARSE, "reference line %zu: \"%.64s\" is not a Fashion-MNIST class (T-shirt/top, Trouser, "
                         "Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot)", i + 1, ref[i]);
        } else if (!trimmed(pred[i], path, sizeof path) || !*path) {
            if (fid) rc = jp_fail(JP_ERR_PARSE, "prediction line %zu: no image (FID needs every image)", i + 1);
        } else if (!jp_score_is_image_path(path)) {
            rc = jp_fail(JP_ERR_PARSE, "prediction line %zu: \"%.200s\" is not the path of a .png image", i + 1, path);
        } else if ((rc = jp_gen_png_read(path, IMG_SIDE, px + have * hw)) != JP_OK) {
            rc = jp_fail(rc, "prediction line %zu: %s", i + 1, jp_last_error());
        } else {
            have++;
        }
    }
    if (rc) goto done;
    if (fid) {
        jp_gen_quality_config cfg = {.models_dir = models_dir, .reference_n = 0, .nearest_n = -1, .threads = 2};
        jp_gen_quality q;
        if ((rc = jp_gen_quality_score(&cfg, px, cls, (int)have, &q))) goto done;
        k = put(metrics, k, max, "fid", q.fid);
        k = put(metrics, k, max, "adherence", q.adherence);
        k = put(metrics, k, max, "nearest_train_l2", q.nearest_train_l2);
    } else {
        size_t hit = 0;
        if (have && (rc = jp_gen_classify(models_dir, px, (int)have, 2, label, NULL, 0))) goto done;
        for (size_t i = 0; i < have; i++) hit += label[i] == cls[i];
        k = put(metrics, k, max, "adherence", (double)hit / (double)n);
    }
done:
    free(px), free(cls), free(label);
    return rc ? rc : (int)(k < max ? k : max);
}

int jp_score_lines(const char *scorer, const char *const *pred, const char *const *ref, size_t n,
                   const char *models_dir, struct jp_bench_metric *metrics, size_t max)
{
    size_t k = 0;
    if (!strcmp(scorer, "none")) return 0;
    if (n == 0) return jp_fail(JP_ERR_INVAL, "nothing to score: no reference lines");
    if (!strcmp(scorer, "fid")) return score_images(scorer, pred, ref, n, models_dir, metrics, max);
    if (!strcmp(scorer, "adherence")) {
        for (size_t i = 0; i < n; i++)
            if (*pred[i]) {
                if (jp_score_is_image_path(pred[i])) return score_images(scorer, pred, ref, n, models_dir, metrics, max);
                break;
            }
    }
    if (!strcmp(scorer, "accuracy") || !strcmp(scorer, "exact_match") || !strcmp(scorer, "adherence")) {
        size_t hit = 0;
        for (size_t i = 0; i < n; i++) hit += same_trimmed(pred[i], ref[i]);
        k = put(metrics, k, max, scorer, (double)hit / (double)n);
    } else if (!strcmp(scorer, "ocr")) {
        /* the OCR workload's definitions (see jp_ocr_score), so that `jouleprint ocr` and a bench
         * of OCR models agree to the digit */
        jp_ocr_counts c;
        memset(&c, 0, sizeof c);
        for (size_t i = 0; i < n; i++) jp_ocr_score(ref[i], pred[i], &c);
        k = put(metrics, k, max, "word_recall", jp_ocr_recall(&c));
        k = put(metrics, k, max, "cer", jp_ocr_cer(&c));
        k = put(metrics, k, max, "wer", jp_ocr_wer(&c));
    } else if (!strcmp(scorer, "rouge")) {
        double r1 = 0, r2 = 0, rl = 0;
        for (size_t i = 0; i < n; i++) {
            r1 += jp_rouge_n(pred[i], ref[i], 1);
            r2 += jp_rouge_n(pred[i], ref[i], 2);
            rl += jp_rouge_l(pred[i], ref[i]);
        }
        k = put(metrics, k, max, "rougeL", rl / (double)n);
        k = put(metrics, k, max, "rouge1", r1 / (double)n);
        k = put(metrics, k, max, "rouge2", r2 / (double)n);
    } else {
        return jp_fail(JP_ERR_INVAL, "unknown scorer \"%s\": expected one of %s", scorer, jp_scorer_names());
    }
    return (int)(k < max ? k : max);
}

/* Reads up to max lines (max <= 0: all) of a file; returns the count or a negative status. */
static long read_lines(const char *path, long max, char ***out)
{
    int orc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) return orc;
    size_t n = 0, cap = 64;
    char **lines = malloc(cap * sizeof *lines);
    char *buf = NULL;
    size_t bcap = 0;
    ssize_t len;
    while (lines && (max <= 0 || (long)n < max) && (len = getline(&buf, &bcap, f)) >= 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
        if (n == cap) {
            char **nl = realloc(lines, 2 * cap * sizeof *nl);
            if (!nl) break;
            lines = nl;
            cap *= 2;
        }
        lines[n] = strdup(buf);
        if (!lines[n]) break;
        n++;
    }
    free(buf);
    fclose(f);
    if (!lines) return jp_fail(JP_ERR_NOMEM, "out of memory reading %s", path);
    *out = lines;
    return (long)n;
}

static void free_lines(char **lines, long n)
{
    for (long i = 0; i < n; i++) free(lines[i]);
    free(lines);
}

int jp_score_files(const char *scorer, const char *pred_path, const char *ref_path, long n, const char *models_dir,
                   struct jp_bench_metric *metrics, size_t max, long *scored_out, long *missing_out)
{
    char **ref = NULL, **pred = NULL;
    long nref = read_lines(ref_path, n, &ref);
    if (nref < 0) return (int)nref;
    if (nref == 0) {
        free_lines(ref, 0);
        return jp_fail(JP_ERR_INVAL, "%s: no reference lines", ref_path);
    }
    long npred = read_lines(pred_path, nref, &pred);
    if (npred < 0) {
        free_lines(ref, nref);
        return (int)npred;
    }
    const char **p = malloc((size_t)nref * sizeof *p);
    if (!p) {
        free_lines(ref, nref);
        free_lines(pred, npred);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    for (long i = 0; i < nref; i++) p[i] = i < npred ? pred[i] : ""; /* a missing prediction is wrong */
    /* image paths are relative to the predictions file's folder */
    char *dir = strdup(pred_path), *slash = dir ? strrchr(dir, '/') : NULL;
    int rc = dir ? JP_OK : jp_fail(JP_ERR_NOMEM, "out of memory");
    if (slash) *slash = '\0';
    for (long i = 0; i < npred && rc == JP_OK && slash; i++) {
        if (pred[i][0] == '/' || !jp_score_is_image_path(pred[i])) continue;
        size_t need = strlen(dir) + strlen(pred[i]) + 2;
        char *full = malloc(need);
        if (!full) {
            rc = jp_fail(JP_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(full, need, "%s/%s", dir, pred[i]);
        free(pred[i]);
        p[i] = pred[i] = full;
    }
    free(dir);
    if (rc == JP_OK) rc = jp_score_lines(scorer, p, (const char *const *)ref, (size_t)nref, models_dir, metrics, max);
    if (scored_out) *scored_out = nref;
    if (missing_out) *missing_out = nref - npred;
    free(p);
    free_lines(ref, nref);
    free_lines(pred, npred);
    return rc;
}

int jp_score_sample_images(const char *pred_path, int max, uint8_t **pixels, int *side)
{
    *pixels = NULL;
    *side = 0;
    if (max < 1) return 0;
    if (max > JP_BENCH_MAX_IMAGES) max = JP_BENCH_MAX_IMAGES;
    char **lines = NULL;
    long nl = read_lines(pred_path, max, &lines);
    if (nl < 0) return (int)nl;
    const size_t hw = IMG_SIDE * IMG_SIDE;
    uint8_t *px = nl > 0 ? malloc((size_t)nl * hw) : NULL;
    char *dir = strdup(pred_path), *slash = dir ? strrchr(dir, '/') : NULL;
    int n = 0, rc = JP_OK;
    if (slash) *slash = '\0';
    for (long i = 0; i < nl && px && dir && rc == JP_OK; i++) {
        char t[4096], full[8200];
        if (!trimmed(lines[i], t, sizeof t) || !jp_score_is_image_path(t)) break;
        if (t[0] != '/' && slash) snprintf(full, sizeof full, "%s/%s", dir, t);
        else snprintf(full, sizeof full, "%s", t);
        if ((rc = jp_gen_png_read(full, IMG_SIDE, px + (size_t)n * hw)) == JP_OK) n++;
    }
    if (nl > 0 && (!px || !dir)) rc = jp_fail(JP_ERR_NOMEM, "out of memory");
    free(dir);
    free_lines(lines, nl);
    if (rc != JP_OK || n == 0) {
        free(px);
        return rc != JP_OK ? rc : 0;
    }
    *pixels = px;
    *side = IMG_SIDE;
    return n;
}
