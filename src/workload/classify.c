/* The built-in `classify` workload: the model zoo (models/NAME/config.json), and a measured run of
 * one model over Fashion-MNIST's test set in two meter phases, "load" and "infer". */
#define _DEFAULT_SOURCE /* realpath */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "nn/nn.h"
#include "util.h"
#include "workload/model_dir.h"
#include "workload/classify.h"
#include "workload/dirs.h"

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int jp_classify_models_dir(const char *models_dir, char *buf, size_t len)
{
    if (models_dir && *models_dir) {
        if (!is_dir(models_dir)) return jp_fail(JP_ERR_NOTFOUND, "%s: no such folder of models", models_dir);
        return jp_pathf(buf, len, "%s", models_dir);
    }
    const char *env = getenv("JP_MODELS_DIR");
    if (env && *env) {
        if (!is_dir(env)) return jp_fail(JP_ERR_NOTFOUND, "JP_MODELS_DIR=%s: no such folder", env);
        return jp_pathf(buf, len, "%s", env);
    }
    const char *def = jp_workloads_models_default();
    if (def) {
        if (!is_dir(def)) return jp_fail(JP_ERR_NOTFOUND, "%s: no such folder of models", def);
        return jp_pathf(buf, len, "%s", def);
    }
    if (jp_workloads_is_zoo("models")) return jp_pathf(buf, len, "models");
    return jp_fail(JP_ERR_NOTFOUND, "cannot find the model zoo (models/ of the source tree): set JP_MODELS_DIR or "
                                    "pass --models-dir");
}

/* Fills info from dir/config.json. */
static int read_info(const char *dir, const char *name, jp_classify_model_info *info)
{
    memset(info, 0, sizeof *info);
    json_t *root;
    int rc = jp_model_dir_config(dir, &root);
    if (rc) return rc;
    json_t *mt = json_object_get(root, "model_type");
    if (json_is_string(mt) && !strcmp(json_string_value(mt), "jp-unet")) { /* models/gen-*: see generate */
        json_decref(root);
        return jp_fail(JP_ERR_NOTFOUND, "%s: a generation model, not an image classifier (see jouleprint generate)", dir);
    }
    jp_strlcpy(info->name, name, sizeof info->name);
    jp_strlcpy(info->dir, dir, sizeof info->dir);
    jp_strlcpy(info->type, json_is_string(mt) ? json_string_value(mt) : "?", sizeof info->type);
    json_t *jp = json_object_get(root, "jouleprint");
    if (json_is_object(jp)) {
        json_t *d = json_object_get(jp, "description");
        if (json_is_string(d)) jp_strlcpy(info->description, json_string_value(d), sizeof info->description);
        info->params = (uint64_t)jp_json_num(jp, "params");
        info->flops = jp_json_num(jp, "flops_per_image");
        info->test_correct = (int)jp_json_num(jp, "test_correct");
        info->test_total = (int)jp_json_num(jp, "test_total");
        info->accuracy = info->test_total ? (double)info->test_correct / info->test_total : 0;
        info->train_seconds = jp_json_num(jp, "train_seconds");
    }
    json_decref(root);
    return JP_OK;
}

int jp_classify_find(const char *models_dir, const char *name, jp_classify_model_info *out)
{
    if (!name || !*name) return jp_fail(JP_ERR_INVAL, "no model named");
    if (strchr(name, '/')) { /* a path to a model folder */
        const char *base = strrchr(name, '/') + 1;
        char nm[64];
        jp_strlcpy(nm, *base ? base : name, sizeof nm);
        return read_info(name, nm, out);
    }
    char zoo[PATH_MAX], dir[PATH_MAX];
    int rc = jp_classify_models_dir(models_dir, zoo, sizeof zoo);
    if (rc) return rc;
    if ((rc = jp_pathf(dir, sizeof dir, "%s/%s", zoo, name))) return rc;
    if (!is_dir(dir)) {
        jp_classify_model_info all[32];
        int n = jp_classify_list(zoo, all, 32);
        char names[512] = "";
        for (int i = 0; i < n && i < 32; i++) {
            size_t l = strlen(names), add = strlen(all[i].name) + 2;
            if (l + add >= sizeof names) break;
            if (i) memcpy(names + l, ", ", 3), l += 2;
            memcpy(names + l, all[i].name, strlen(all[i].name) + 1);
        }
        return jp_fail(JP_ERR_NOTFOUND, "no model '%s' in %s (the zoo has: %s)", name, zoo, names);
    }
    return read_info(dir, name, out);
}

static int by_flops(const void *a, const void *b)
{
    const jp_classify_model_info *x = a, *y = b;
    return x->flops < y->flops ? -1 : x->flops > y->flops ? 1 : strcmp(x->name, y->name);
}

int jp_classify_list(const char *models_dir, jp_classify_model_info *out, size_t max)
{
    char zoo[PATH_MAX];
    int rc = jp_classify_models_dir(models_dir, zoo, sizeof zoo);
    if (rc) return rc;
    DIR *d = opendir(zoo);
    if (!d) return jp_fail(JP_ERR_IO, "%s: cannot be listed", zoo);
    size_t n = 0, cap = 16;
    jp_classify_model_info *all = malloc(cap * sizeof *all);
    struct dirent *e;
    while (all && (e = readdir(d))) {
        char dir[PATH_MAX], cfg[PATH_MAX];
        if (e->d_name[0] == '.' || jp_pathf(dir, sizeof dir, "%s/%s", zoo, e->d_name) ||
            jp_pathf(cfg, sizeof cfg, "%s/config.json", dir) || access(cfg, R_OK) != 0)
            continue;
        if (n == cap) {
            jp_classify_model_info *na = realloc(all, cap * 2 * sizeof *all);
            if (!na) break;
            all = na;
            cap *= 2;
        }
        /* the summarization models (model_type jp-seq2seq, `jouleprint summarize`) share the folder */
        if (read_info(dir, e->d_name, &all[n]) == JP_OK && strcmp(all[n].type, "jp-seq2seq") != 0) n++;
    }
    closedir(d);
    if (!all) return jp_fail(JP_ERR_NOMEM, "out of memory");
    qsort(all, n, sizeof *all, by_flops);
    for (size_t i = 0; i < n && i < max; i++) out[i] = all[i];
    free(all);
    return (int)n;
}

void jp_classify_config_init(jp_classify_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->batch = 64;
    cfg->threads = 1;
}

/* ---- the measured run ---- */


static size_t phase_index(jp_meter *m, const char *name)
{
    for (size_t i = 0; i < jp_meter_phase_count(m); i++)
        if (!strcmp(jp_meter_phase_name(m, i), name)) return i;
    return (size_t)-1;
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* The run with m (may be NULL) already started: marks "load" and "infer"; with timed_n and own_meter,
 * stops m after the timed images (else never starts or stops it). Fills everything in out but the
 * energy. */
static int run_pass(const jp_classify_config *cfg, int timed_n, jp_meter *m, bool own_meter, bool *stopped,
                    jp_classify_result *out)
{
    *stopped = false;
    if (!cfg || !out || !cfg->model) return jp_fail(JP_ERR_INVAL, "jp_classify_run: no model given");
    memset(out, 0, sizeof *out);
    out->load_share = out->infer_share = -1;
    int batch = cfg->batch ? cfg->batch : 64, threads = cfg->threads ? cfg->threads : 1;
    if (batch < 1 || batch > 4096) return jp_fail(JP_ERR_RANGE, "batch %d outside 1..4096", batch);
    if (threads < 1 || threads > 64) return jp_fail(JP_ERR_RANGE, "threads %d outside 1..64", threads);
    if (cfg->n < 0) return jp_fail(JP_ERR_RANGE, "n %d is negative", cfg->n);
    int rc = jp_classify_find(cfg->models_dir, cfg->model, &out->model);
    if (rc) return rc;
    jp_idx_images data;
    if ((rc = jp_fashion_mnist_read(cfg->data_dir, true, &data))) return rc;
    int n = cfg->n ? cfg->n : data.n;
    if (n > data.n) {
        jp_idx_free(&data);
        return jp_fail(JP_ERR_RANGE, "n %d is more than the %d test images", n, data.n);
    }
    int timed = timed_n > 0 && timed_n < n ? timed_n : n;
    if (batch > n) batch = n;
    jp_roots roots, *rp = jp_roots_from_env(&roots) == JP_OK ? &roots : NULL;
    jp_nn_model *net = NULL;
    float *logits = NULL;
    struct jp_cpu_mark m0 = {0}, m1 = {0}, m2 = {0};
    if (m && (rc = jp_meter_phase(m, "load")) != JP_OK) goto done;
    jp_cpu_mark_now(rp, &m0);
    if ((rc = jp_nn_load(&net, out->model.dir, batch, threads)) != JP_OK) goto done;
    jp_nn_info info;
    jp_nn_info_get(net, &info);
    if (info.channels != 1 || info.height != data.rows || info.width != data.cols || info.num_labels != 10) {
        rc = jp_fail(JP_ERR_PARSE, "%s: takes %dx%dx%d images into %d labels; Fashion-MNIST is 1x%dx%d into 10",
                     out->model.dir, info.channels, info.height, info.width, info.num_labels, data.rows, data.cols);
        goto done;
    }
    logits = malloc((size_t)batch * info.num_labels * sizeof *logits);
    if (!logits) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!out->model.params) out->model.params = info.params;
    if (!out->model.flops) out->model.flops = info.flops;
    jp_cpu_mark_now(rp, &m1);
    if (m && (rc = jp_meter_phase(m, "infer")) != JP_OK) goto done;
    size_t px = (size_t)data.rows * data.cols;
    int correct = 0;
    for (int at = 0; at < n;) {
        /* the timed images in the batches a run of n = timed has, then the rest */
        int end = at < timed ? timed : n;
        int b = end - at < batch ? end - at : batch;
        if ((rc = jp_nn_forward_u8(net, data.pixels + (size_t)at * px, b, logits)) != JP_OK) goto done;
        for (int i = 0; i < b; i++) {
            int p = argmax(logits + (size_t)i * info.num_labels, info.num_labels);
            correct += p == data.labels[at + i];
            if (cfg->predictions) cfg->predictions[at + i] = p;
            if (cfg->references) cfg->references[at + i] = data.labels[at + i];
        }
        at += b;
        if (at == timed) {
            jp_cpu_mark_now(rp, &m2);
            if (m && own_meter && timed < n) {
                *stopped = true;
                if ((rc = jp_meter_stop(m)) != JP_OK) goto done;
            }
        }
    }
    out->n = timed;
    out->correct = correct;
    out->accuracy = (double)correct / n;
    out->load_s = m1.t - m0.t;
    out->infer_s = m2.t - m1.t;
    out->images_per_s = out->infer_s > 0 ? timed / out->infer_s : 0;
    out->load_cpu_s = m1.cpu - m0.cpu;
    out->infer_cpu_s = m2.cpu - m1.cpu;
    out->load_share = jp_cpu_share_between(&m0, &m1);
    out->infer_share = jp_cpu_share_between(&m1, &m2);
done:
    free(logits);
    jp_nn_free(net);
    jp_idx_free(&data);
    return rc;
}

int jp_classify_run_phases(const jp_classify_config *cfg, jp_meter *m, jp_classify_result *out)
{
    bool stopped;
    return run_pass(cfg, 0, m, false, &stopped, out);
}

const char *jp_classify_label_name(int label)
{
    static const char *const names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return label >= 0 && label < 10 ? names[label] : NULL;
}

void jp_classify_result_free(jp_classify_result *r)
{
    if (r) memset(r, 0, sizeof *r);
}

static int run_measured(const jp_classify_config *cfg, int timed, jp_meter *m, jp_classify_result *out)
{
    if (!cfg || !out || !cfg->model) return jp_fail(JP_ERR_INVAL, "jp_classify_run: no model given");
    int rc;
    if (m && (rc = jp_meter_start(m)) != JP_OK) return rc;
    bool stopped;
    rc = run_pass(cfg, timed, m, true, &stopped, out);
    if (m && !stopped) {
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
    return rc;
}

int jp_classify_run(const jp_classify_config *cfg, jp_meter *m, jp_classify_result *out)
{
    return run_measured(cfg, 0, m, out);
}

int jp_classify_run_timed(const jp_classify_config *cfg, int timed, jp_meter *m, jp_classify_result *out)
{
    if (!cfg || !out || !cfg->model) return jp_fail(JP_ERR_INVAL, "jp_classify_run_timed: no model given");
    if (timed < 1 || (cfg->n > 0 && timed > cfg->n))
        return jp_fail(JP_ERR_RANGE, "jp_classify_run_timed: %d images to time of %d", timed, cfg->n);
    return run_measured(cfg, timed, m, out);
}
