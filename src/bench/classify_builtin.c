/* `builtin: classify` for the bench harness: a model of the zoo over the first n Fashion-MNIST test
 * images, in-process, measured with the harness's meter (started and stopped here, with the phases
 * "load" and "infer" marked, as jp_classify_run does). Its
 * predictions and the references are label names ("Ankle boot"), one per line, for the "accuracy"
 * scorer.
 *
 *     models:
 *       - name: resnet-s
 *         builtin: classify
 *         options: {model: resnet-s, batch: 64, threads: 2}
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/builtin.h"
#include "jouleprint/workloads.h"
#include "util.h"

struct opts {
    const char *model, *models_dir, *data;
    int batch, threads;
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
    out->batch = 64;
    out->threads = 1;
    for (size_t i = 0; i < n; i++) {
        const char *k = o[i].key, *v = o[i].value;
        int rc = JP_OK;
        if (!strcmp(k, "model")) out->model = v;
        else if (!strcmp(k, "models_dir") || !strcmp(k, "models-dir")) out->models_dir = v;
        else if (!strcmp(k, "data")) out->data = v;
        else if (!strcmp(k, "batch")) rc = parse_int(k, v, 1, 4096, &out->batch, why, whylen);
        else if (!strcmp(k, "threads")) rc = parse_int(k, v, 1, 64, &out->threads, why, whylen);
        else {
            snprintf(why, whylen, "classify has no option \"%s\" (model, batch, threads, models_dir, data)", k);
            return JP_ERR_INVAL;
        }
        if (rc) return rc;
    }
    if (!out->model) {
        snprintf(why, whylen, "classify needs options: {model: NAME} (jouleprint classify --list shows the zoo)");
        return JP_ERR_INVAL;
    }
    return JP_OK;
}

static int check(const struct jp_spec_option *opts, size_t nopts, char *why, size_t whylen)
{
    struct opts o;
    int rc = parse(opts, nopts, &o, why, whylen);
    if (rc) return rc;
    jp_classify_model_info info;
    if ((rc = jp_classify_find(o.models_dir, o.model, &info)) != JP_OK) snprintf(why, whylen, "%s", jp_last_error());
    return rc;
}

static int write_lines(const char *path, const int *labels, long n)
{
    FILE *f = fopen(path, "w");
    if (!f) return jp_fail(JP_ERR_IO, "%s: cannot be written", path);
    for (long i = 0; i < n; i++) {
        const char *name = jp_classify_label_name(labels[i]);
        fprintf(f, "%s\n", name ? name : "?");
    }
    if (fclose(f) != 0) return jp_fail(JP_ERR_IO, "%s: write failed", path);
    return JP_OK;
}

static int run(const struct jp_spec_option *opts, size_t nopts, long n, long timed, const char *outputs,
               const char *refs, jp_meter *m, long *done)
{
    struct opts o;
    char why[512];
    int rc = parse(opts, nopts, &o, why, sizeof why);
    if (rc) return jp_fail(rc, "%s", why);
    if (n < 1 || n > 10000) return jp_fail(JP_ERR_RANGE, "classify: %ld items asked; Fashion-MNIST's test set has 10000", n);
    if (timed < 1 || timed > n) return jp_fail(JP_ERR_RANGE, "classify: %ld items to time of %ld", timed, n);
    int *pred = malloc((size_t)n * sizeof *pred), *ref = malloc((size_t)n * sizeof *ref);
    if (!pred || !ref) {
        free(pred);
        free(ref);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    jp_classify_config c;
    jp_classify_config_init(&c);
    c.model = o.model;
    c.models_dir = o.models_dir;
    c.data_dir = o.data;
    c.n = (int)n;
    c.batch = o.batch;
    c.threads = o.threads;
    c.predictions = pred;
    c.references = ref;
    jp_classify_result r;
    rc = jp_classify_run_timed(&c, (int)timed, m, &r);
    if (rc == JP_OK) {
        if (done) *done = r.n;
        if ((rc = write_lines(outputs, pred, n)) == JP_OK && refs) rc = write_lines(refs, ref, n);
    }
    jp_classify_result_free(&r);
    free(pred);
    free(ref);
    return rc;
}

/* its first n images are Fashion-MNIST's first n: a run of more begins with a run of fewer */
const struct jp_bench_builtin jp_bench_builtin_classify = {"classify", "accuracy", check, run, true};
