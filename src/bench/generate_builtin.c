/* `builtin: generate` for the bench harness: n images from a generation model of the zoo, item i
 * prompted with class i % 10's name, in-process and measured with the harness's meter (started and
 * stopped by jp_generate_run, phases "load" and "infer"). Afterwards, unmeasured, each image is written
 * as a PNG beside the predictions file (images/NNNNNN.png, item order): the predictions are those paths
 * and the references the prompted classes, one per line, for the "adherence" and "fid" scorers (which
 * run the zoo's best classifier on them when scoring, not while the model is measured).
 *
 *     models:
 *       - name: gen-m-10
 *         builtin: generate
 *         options: {model: gen-m, steps: 10, guidance: 3, seed: 0}
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/builtin.h"
#include "jouleprint/workloads.h"
#include "util.h"

struct opts {
    const char *model, *models_dir;
    int steps, batch, threads;
    double guidance;
    unsigned long long seed;
};

static int parse(const struct jp_spec_option *o, size_t n, struct opts *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    out->steps = 20;
    out->guidance = 3.0;
    out->batch = 16;
    out->threads = 1;
    for (size_t i = 0; i < n; i++) {
        const char *k = o[i].key, *v = o[i].value;
        char *end;
        if (!strcmp(k, "model")) {
            out->model = v;
            continue;
        }
        if (!strcmp(k, "models_dir") || !strcmp(k, "models-dir")) {
            out->models_dir = v;
            continue;
        }
        if (!strcmp(k, "guidance")) {
            out->guidance = strtod(v, &end);
            if (end == v || *end || !(out->guidance >= 0 && out->guidance <= 100)) {
                snprintf(why, whylen, "option guidance: \"%s\" is not a number from 0 to 100", v);
                return JP_ERR_INVAL;
            }
            continue;
        }
        if (!strcmp(k, "seed")) {
            out->seed = strtoull(v, &end, 10);
            if (end == v || *end || v[0] == '-') {
                snprintf(why, whylen, "option seed: \"%s\" is not a whole number from 0 to 2^64-1", v);
                return JP_ERR_INVAL;
            }
            continue;
        }
        int *dst = !strcmp(k, "steps") ? &out->steps : !strcmp(k, "batch") ? &out->batch : !strcmp(k, "threads") ? &out->threads : NULL;
        if (!dst) {
            snprintf(why, whylen, "generate has no option \"%s\" (model, steps, guidance, seed, batch, threads, models_dir)", k);
            return JP_ERR_INVAL;
        }
        int hi = dst == &out->steps ? 100000 : dst == &out->batch ? 4096 : 64;
        long x = strtol(v, &end, 10);
        if (end == v || *end || x < 1 || x > hi) {
            snprintf(why, whylen, "option %s: \"%s\" is not a whole number from 1 to %d", k, v, hi);
            return JP_ERR_INVAL;
        }
        *dst = (int)x;
    }
    if (!out->model) {
        snprintf(why, whylen, "generate needs options: {model: NAME} (jouleprint generate --list shows them)");
        return JP_ERR_INVAL;
    }
    return JP_OK;
}

static int check(const struct jp_spec_option *opts, size_t nopts, char *why, size_t whylen)
{
    struct opts o;
    int rc = parse(opts, nopts, &o, why, whylen);
    if (rc) return rc;
    jp_generate_model_info info;
    if ((rc = jp_generate_find(o.models_dir, o.model, &info)) != JP_OK) snprintf(why, whylen, "%s", jp_last_error());
    return rc;
}

static int run(const struct jp_spec_option *opts, size_t nopts, long n, long timed, const char *outputs,
               const char *refs, jp_meter *m, long *done)
{
    (void)timed; /* always n: not times_prefix */
    struct opts o;
    char why[512];
    int rc = parse(opts, nopts, &o, why, sizeof why);
    if (rc) return jp_fail(rc, "%s", why);
    if (n < 1 || n > 100000) return jp_fail(JP_ERR_RANGE, "generate: %ld items asked; 1 to 100000", n);
    static const char *const names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    /* one prompt per class, n / 10 (rounded up) images each; the first n in item order i -> class i % 10 */
    int per = (int)((n + 9) / 10);
    jp_generate_config c;
    jp_generate_config_init(&c);
    c.model = o.model;
    c.models_dir = o.models_dir;
    c.prompts = names;
    c.nprompts = n < 10 ? (int)n : 10;
    c.n = per;
    c.steps = o.steps;
    c.guidance = o.guidance;
    c.seed = o.seed;
    c.batch = o.batch;
    c.threads = o.threads;
    jp_generate_result r;
    if ((rc = jp_generate_run(&c, m, &r)) != JP_OK) return rc;
    /* the images, beside the predictions file: images/NNNNNN.png in item order */
    char dir[4096], path[4200];
    FILE *po = NULL, *ro = NULL;
    if (jp_pathf(dir, sizeof dir, "%s", outputs) != JP_OK) {
        rc = JP_ERR_RANGE;
        goto out;
    }
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else jp_strlcpy(dir, ".", sizeof dir);
    if ((rc = jp_pathf(path, sizeof path, "%s/images", dir)) != JP_OK) goto out;
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        rc = jp_fail(JP_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    po = fopen(outputs, "w");
    ro = refs ? fopen(refs, "w") : NULL;
    if (!po || (refs && !ro)) {
        rc = jp_fail(JP_ERR_IO, "%s: cannot be written", !po ? outputs : refs);
        goto out;
    }
    /* item i: class i % 10, image i / 10 of that class's prompt */
    for (long i = 0; i < n && rc == JP_OK; i++) {
        int cls = (int)(i % 10), j = (int)(i / 10);
        int at = cls * per + j;
        if ((rc = jp_pathf(path, sizeof path, "%s/images/%06ld.png", dir, i)) != JP_OK) break;
        if ((rc = jp_generate_write_png(&r, at, path)) != JP_OK) break;
        fprintf(po, "images/%06ld.png\n", i);
        if (ro) fprintf(ro, "%s\n", names[cls]);
    }
    if (rc == JP_OK && done) *done = n;
out:
    if (po && fclose(po) != 0 && rc == JP_OK) rc = jp_fail(JP_ERR_IO, "%s: write failed", outputs);
    if (ro && fclose(ro) != 0 && rc == JP_OK) rc = jp_fail(JP_ERR_IO, "%s: write failed", refs);
    jp_generate_result_free(&r);
    return rc;
}

const struct jp_bench_builtin jp_bench_builtin_generate = {"generate", "fid", check, run, false};
