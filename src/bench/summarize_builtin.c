/* `builtin: summarize` for the bench harness: a summarization model (or lead-1) over the first n pairs
 * of a pairs file (default: the evaluation set, data/summarize/eval.tsv of the source tree), in-process,
 * measured with the harness's meter (phases "load" and "infer", as jp_sum_run does). Predictions are the
 * summaries and references the synopses, one per line, for the "rouge" scorer.
 *
 *     models:
 *       - name: sum-s
 *         builtin: summarize
 *         options: {model: sum-s, beam: 1, max_len: 48, threads: 2}
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jouleprint/workloads.h"
#include "bench/builtin.h"
#include "util.h"

struct opts {
    const char *model, *models_dir, *data;
    int batch, threads, beam, max_len, no_repeat, words;
    double span_bonus;
};

static int parse_int(const char *key, const char *v, int lo, int hi, int *out, char *why, size_t whylen)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) {
        snprintf(why, whylen, "option %s: \"%s\" is not a whole number from %d to %d", key, v, lo, hi);
        return JP_ERR_INVAL;
    }
    *out = (int)x;
    return JP_OK;
}

static int parse(const struct jp_spec_option *o, size_t n, struct opts *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    out->batch = 16;
    out->threads = 1;
    out->beam = 1;
    out->words = 1;
    out->span_bonus = JP_SUM_SPAN_BONUS;
    for (size_t i = 0; i < n; i++) {
        const char *k = o[i].key, *v = o[i].value;
        int rc = JP_OK;
        if (!strcmp(k, "model")) out->model = v;
        else if (!strcmp(k, "models_dir") || !strcmp(k, "models-dir")) out->models_dir = v;
        else if (!strcmp(k, "data")) out->data = v;
        else if (!strcmp(k, "batch")) rc = parse_int(k, v, 1, 4096, &out->batch, why, whylen);
        else if (!strcmp(k, "threads")) rc = parse_int(k, v, 1, 64, &out->threads, why, whylen);
        else if (!strcmp(k, "beam")) rc = parse_int(k, v, 1, 16, &out->beam, why, whylen);
        else if (!strcmp(k, "max_len") || !strcmp(k, "max-len")) rc = parse_int(k, v, 2, 1024, &out->max_len, why, whylen);
        else if (!strcmp(k, "no_repeat_ngram")) rc = parse_int(k, v, 0, 16, &out->no_repeat, why, whylen);
        else if (!strcmp(k, "span_bonus")) {
            char *end;
            out->span_bonus = strtod(v, &end);
            if (end == v || *end || !(out->span_bonus >= 0 && out->span_bonus <= 100)) {
                snprintf(why, whylen, "option span_bonus: \"%s\" is not a number from 0 to 100", v);
                return JP_ERR_INVAL;
            }
        } else if (!strcmp(k, "words")) {
            if (!strcmp(v, "on")) out->words = 1;
            else if (!strcmp(v, "off")) out->words = 0;
            else {
                snprintf(why, whylen, "option words: \"%s\" is not on or off", v);
                return JP_ERR_INVAL;
            }
        } else {
            snprintf(why, whylen,
                     "summarize has no option \"%s\" (model, beam, max_len, no_repeat_ngram, words, span_bonus, "
                     "batch, threads, "
                     "models_dir, data)",
                     k);
            return JP_ERR_INVAL;
        }
        if (rc) return rc;
    }
    if (!out->model) {
        snprintf(why, whylen, "summarize needs options: {model: NAME} (jouleprint summarize --list shows them)");
        return JP_ERR_INVAL;
    }
    return JP_OK;
}

/* The pairs file: the option, else data/summarize/eval.tsv beside the models' folder. */
static int data_path(const struct opts *o, char *buf, size_t len)
{
    if (o->data) return jp_pathf(buf, len, "%s", o->data);
    char models[PATH_MAX];
    int rc = jp_classify_models_dir(o->models_dir, models, sizeof models);
    if (rc) return rc;
    return jp_pathf(buf, len, "%s/../data/summarize/eval.tsv", models);
}

static int check(const struct jp_spec_option *opts, size_t nopts, char *why, size_t whylen)
{
    struct opts o;
    int rc = parse(opts, nopts, &o, why, whylen);
    if (rc) return rc;
    jp_sum_model_info info;
    if ((rc = jp_sum_find(o.models_dir, o.model, &info)) != JP_OK) snprintf(why, whylen, "%s", jp_last_error());
    return rc;
}

static int write_lines(const char *path, char *const *lines, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) return jp_fail(JP_ERR_IO, "%s: cannot be written", path);
    for (size_t i = 0; i < n; i++) {
        for (const char *s = lines[i]; *s; s++) fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
        fputc('\n', f);
    }
    if (fclose(f) != 0) return jp_fail(JP_ERR_IO, "%s: write failed", path);
    return JP_OK;
}

static int run(const struct jp_spec_option *opts, size_t nopts, long n, long timed, const char *outputs,
               const char *refs, jp_meter *m, long *done)
{
    (void)timed; /* always n: not times_prefix */
    struct opts o;
    char why[512], path[PATH_MAX];
    int rc = parse(opts, nopts, &o, why, sizeof why);
    if (rc) return jp_fail(rc, "%s", why);
    if ((rc = data_path(&o, path, sizeof path)) != JP_OK) return rc;
    jp_sum_pairs p;
    if ((rc = jp_sum_pairs_read(path, &p)) != JP_OK) return rc;
    if (n < 1 || (size_t)n > p.n) {
        jp_sum_pairs_free(&p);
        return jp_fail(JP_ERR_RANGE, "summarize: %ld items asked; %s has %zu pairs", n, p.path, p.n);
    }
    jp_sum_config c;
    jp_sum_config_init(&c);
    c.model = o.model;
    c.models_dir = o.models_dir;
    c.texts = (const char *const *)p.texts;
    c.n = (size_t)n;
    c.batch = o.batch;
    c.threads = o.threads;
    c.gen.beam = o.beam;
    c.gen.max_len = o.max_len;
    c.gen.no_repeat_ngram = o.no_repeat;
    c.gen.words = o.words;
    c.gen.span_bonus = o.span_bonus;
    jp_sum_result r;
    rc = jp_sum_run(&c, m, &r);
    if (rc == JP_OK) {
        if (done) *done = (long)r.n;
        rc = write_lines(outputs, r.summaries, r.n);
        if (rc == JP_OK && refs) rc = write_lines(refs, p.refs, r.n);
        jp_sum_result_free(&r);
    }
    jp_sum_pairs_free(&p);
    return rc;
}

const struct jp_bench_builtin jp_bench_builtin_summarize = {"summarize", "rouge", check, run, false};
