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

#include "util.h"

/* ---- tokens ------------------------------------------------------------------------------------ */

struct toks {
    size_t n, cap;
    uint32_t *id;
};

static int toks_push(struct toks *t, uint32_t v)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        uint32_t *p = realloc(t->id, cap * sizeof *p);
        if (!p) return -1;
        t->id = p;
        t->cap = cap;
    }
    t->id[t->n++] = v;
    return 0;
}

/* A small interning table for words of two lines, so they compare as integers. */
struct words {
    size_t n, cap;
    const char **s;
    size_t *len;
};

static uint32_t intern(struct words *w, const char *s, size_t len)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->len[i] == len && !memcmp(w->s[i], s, len)) return (uint32_t)i;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 32;
        const char **ns = realloc(w->s, cap * sizeof *ns);
        if (ns) w->s = ns;
        size_t *nl = realloc(w->len, cap * sizeof *nl);
        if (nl) w->len = nl;
        if (!ns || !nl) return UINT32_MAX;
        w->cap = cap;
    }
    w->s[w->n] = s;
    w->len[w->n] = len;
    return (uint32_t)w->n++;
}

/* Splits on whitespace (mode 0) or into lower-cased alphanumeric runs (mode 1, ROUGE). Lower-casing
 * for ROUGE is ASCII only; other bytes stay part of the word. */
static int split_words(const char *s, int mode, struct words *dict, struct toks *out, char *lowered)
{
    const char *base = mode ? lowered : s;
    if (mode) {
        size_t i = 0;
        for (; s[i]; i++) lowered[i] = (char)tolower((unsigned char)s[i]);
        lowered[i] = '\0';
    }
    size_t i = 0;
    while (base[i]) {
        unsigned char c = (unsigned char)base[i];
        bool in = mode ? (isalnum(c) || c >= 0x80) : !isspace(c);
        if (!in) {
            i++;
            continue;
        }
        size_t start = i;
        while (base[i]) {
            c = (unsigned char)base[i];
            if (mode ? !(isalnum(c) || c >= 0x80) : isspace(c)) break;
            i++;
        }
        uint32_t id = intern(dict, base + start, i - start);
        if (id == UINT32_MAX || toks_push(out, id) != 0) return -1;
    }
    return 0;
}

/* ---- ROUGE ------------------------------------------------------------------------------------ */

/* Tokenizes both lines with one dictionary. Returns 0 or -1 (out of memory). */
static int pair_words(const char *a, const char *b, int mode, struct toks *x, struct toks *y)
{
    struct words dict = {0};
    char *la = mode ? malloc(strlen(a) + 1) : NULL, *lb = mode ? malloc(strlen(b) + 1) : NULL;
    int rc = (mode && (!la || !lb)) ? -1 : 0;
    if (rc == 0) rc = split_words(a, mode, &dict, x, la);
    if (rc == 0) rc = split_words(b, mode, &dict, y, lb);
    free(dict.s);
    free(dict.len);
    free(la);
    free(lb);
    return rc;
}

/* Size of the multiset intersection of two token lists. */
static size_t overlap(const uint32_t *a, size_t n, const uint32_t *b, size_t m)
{
    unsigned char *used = calloc(m ? m : 1, 1);
    if (!used) return 0;
    size_t hit = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            if (!used[j] && a[i] == b[j]) {
                used[j] = 1;
                hit++;
                break;
            }
    free(used);
    return hit;
}

static double f1(size_t hit, size_t npred, size_t nref)
{
    if (npred == 0 && nref == 0) return 1.0;
    if (npred == 0 || nref == 0 || hit == 0) return 0.0;
    double p = (double)hit / (double)npred, r = (double)hit / (double)nref;
    return 2 * p * r / (p + r);
}

double jp_rouge_n(const char *pred, const char *ref, int n)
{
    struct toks x = {0}, y = {0}, gx = {0}, gy = {0};
    double score = 0;
    if (n >= 1 && pair_words(pred, ref, 1, &x, &y) == 0) {
        /* encode n-grams (n <= 2 in practice) as ids of their own */
        struct toks *src[2] = {&x, &y}, *dst[2] = {&gx, &gy};
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i + (size_t)n <= src[k]->n; i++) {
                uint32_t h = 2166136261u;
                for (int j = 0; j < n; j++) h = (h ^ src[k]->id[i + (size_t)j]) * 16777619u;
                toks_push(dst[k], h);
            }
        score = f1(overlap(gx.id, gx.n, gy.id, gy.n), gx.n, gy.n);
    }
    free(x.id);
    free(y.id);
    free(gx.id);
    free(gy.id);
    return score;
}

double jp_rouge_l(const char *pred, const char *ref)
{
    struct toks x = {0}, y = {0};
    double score = 0;
    if (pair_words(pred, ref, 1, &x, &y) == 0) {
        size_t *row = calloc(y.n + 1, sizeof *row);
        if (row) {
            for (size_t i = 1; i <= x.n; i++) {
                size_t diag = 0;
                for (size_t j = 1; j <= y.n; j++) {
                    size_t up = row[j];
                    row[j] = x.id[i - 1] == y.id[j - 1] ? diag + 1 : (up > row[j - 1] ? up : row[j - 1]);
                    diag = up;
                }
            }
            score = f1(row[y.n], x.n, y.n);
            free(row);
        }
    }
    free(x.id);
    free(y.id);
    return score;
}

/* ---- scorers ----------------------------------------------------------------------------------- */

static const struct {
    const char *name, *main;
} scorers[] = {
    {"accuracy", "accuracy"}, {"exact_match", "exact_match"}, {"ocr", "word_recall"}, {"rouge", "rougeL"},
    {"adherence", "adherence"}, {"none", NULL},
};

const char *jp_scorer_main_metric(const char *scorer)
{
    for (size_t i = 0; i < sizeof scorers / sizeof scorers[0]; i++)
        if (!strcmp(scorers[i].name, scorer)) return scorers[i].main ? scorers[i].main : "";
    return NULL;
}

const char *jp_scorer_names(void) { return "accuracy, exact_match, ocr, rouge, adherence, none"; }

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

int jp_score_lines(const char *scorer, const char *const *pred, const char *const *ref, size_t n,
                   struct jp_bench_metric *metrics, size_t max)
{
    size_t k = 0;
    if (!strcmp(scorer, "none")) return 0;
    if (n == 0) return jp_fail(JP_ERR_INVAL, "nothing to score: no reference lines");
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

int jp_score_files(const char *scorer, const char *pred_path, const char *ref_path, long n,
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
    int rc = jp_score_lines(scorer, p, (const char *const *)ref, (size_t)nref, metrics, max);
    if (scored_out) *scored_out = nref;
    if (missing_out) *missing_out = nref - npred;
    free(p);
    free_lines(ref, nref);
    free_lines(pred, npred);
    return rc;
}
