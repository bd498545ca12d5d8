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
