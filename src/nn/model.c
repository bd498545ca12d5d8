/* Models of the inference engine: allocation, config.json, loading a model (its files, labels, workspace
 * and worker pool) and freeing it. See model_impl.h for how the files share the work. */
#define _POSIX_C_SOURCE 200809L
#include "nn/model_impl.h"

size_t jp_nn_max_model_bytes = MAX_MODEL_BYTES;
static const char *family_names[] = {"mlp", "cnn", "resnet", "vit"};

/* ---- allocation: everything the model owns is recorded and freed together ---------------------- */

void *jp_nnm_zalloc(jp_nn_model *m, size_t bytes)
{
    if (m->allocated > jp_nn_max_model_bytes || bytes > jp_nn_max_model_bytes - m->allocated) {
        if (!m->over_bytes) m->over_bytes = bytes;
        return NULL;
    }
    if (m->nallocs == m->capallocs) {
        size_t cap = m->capallocs ? m->capallocs * 2 : 64;
        void **na = realloc(m->allocs, cap * sizeof *na);
        if (!na) return NULL;
        m->allocs = na;
        m->capallocs = cap;
    }
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    memset(p, 0, bytes ? bytes : 64);
    m->allocs[m->nallocs++] = p;
    m->allocated += bytes;
    return p;
}

float *jp_nnm_falloc(jp_nn_model *m, size_t n)
{
    if (n > SIZE_MAX / sizeof(float)) {
        if (!m->over_bytes) m->over_bytes = SIZE_MAX;
        return NULL;
    }
    return jp_nnm_zalloc(m, n * sizeof(float));
}

/* a * b * c as a count of values a layer works on, refused above INT_MAX (the engine's indices) */
/* *out is 0 when the product does not fit, so callers never read an unset value. */
int jp_nnm_prod_int(const char *path, const char *what, size_t a, size_t b, size_t c, int *out)
{
    *out = 0;
    if ((b && a > (size_t)INT_MAX / b) || (c && a * b > (size_t)INT_MAX / c))
        return jp_fail(JP_ERR_RANGE, "%s: %s of %zu x %zu x %zu values is more than the engine handles (%d)", path,
                       what, a, b, c, INT_MAX);
    *out = (int)(a * b * c);
    return JP_OK;
}

/* ---- config ------------------------------------------------------------------------------------ */

int jp_nnm_cfg_int(const struct cfg *c, const char *key, int def, int lo, int hi, int *out)
{
    json_t *v = json_object_get(c->root, key);
    if (!v) {
        if (def < lo) return jp_fail(JP_ERR_PARSE, "%s: \"%s\" is required", c->path, key);
        *out = def;
        return JP_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return jp_fail(JP_ERR_PARSE, "%s: \"%s\" must be a whole number from %d to %d", c->path, key, lo, hi);
    *out = (int)json_integer_value(v);
    return JP_OK;
}

int jp_nnm_cfg_bool(const struct cfg *c, const char *key, int def, int *out)
{
    json_t *v = json_object_get(c->root, key);
    if (!v) {
        *out = def;
        return JP_OK;
    }
    if (!json_is_boolean(v)) return jp_fail(JP_ERR_PARSE, "%s: \"%s\" must be true or false", c->path, key);
    *out = json_is_true(v);
    return JP_OK;
}

int jp_nnm_cfg_ints(const struct cfg *c, const char *key, int *out, int max, int *n)
{
    json_t *v = json_object_get(c->root, key);
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > (size_t)max)
        return jp_fail(JP_ERR_PARSE, "%s: \"%s\" must be a list of 1 to %d whole numbers", c->path, key, max);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 65536)
            return jp_fail(JP_ERR_PARSE, "%s: \"%s\"[%zu] must be a whole number from 1 to 65536", c->path, key, i);
        out[i] = (int)json_integer_value(e);
    }
    *n = (int)json_array_size(v);
    return JP_OK;
}

int jp_nnm_cfg_act(const struct cfg *c, const char *want)
{
    json_t *v = json_object_get(c->root, "hidden_act");
    if (v && (!json_is_string(v) || strcmp(json_string_value(v), want)))
        return jp_fail(JP_ERR_PARSE, "%s: \"hidden_act\" %s is not supported for this model type (only \"%s\")", c->path,
                       json_is_string(v) ? json_string_value(v) : "(not a string)", want);
    return JP_OK;
}

/* ---- load and free ------------------------------------------------------------------------------ */

void jp_nn_free(jp_nn_model *m)
{
    if (!m) return;
    jp_nnm_pool_stop(m);
    if (m->labels)
        for (int i = 0; i < m->nlabels; i++) free(m->labels[i]);
    free(m->labels);
    free(m->fc);
    free(m->convs);
    free(m->blocks);
    free(m->layers);
    for (size_t i = 0; i < m->nallocs; i++) free(m->allocs[i]);
    free(m->allocs);
    free(m);
}

static int read_labels(jp_nn_model *m, const struct cfg *c)
{
    json_t *id2 = json_object_get(c->root, "id2label");
    int n = 0, rc;
    if (id2) {
        if (!json_is_object(id2) || json_object_size(id2) == 0 || json_object_size(id2) > 100000)
            return jp_fail(JP_ERR_PARSE, "%s: \"id2label\" must be a non-empty object", c->path);
        n = (int)json_object_size(id2);
    }
    if ((rc = jp_nnm_cfg_int(c, "num_labels", n ? n : -1, 1, 100000, &m->nlabels))) return rc;
    if (n && n != m->nlabels)
        return jp_fail(JP_ERR_PARSE, "%s: \"num_labels\" is %d but \"id2label\" has %d entries", c->path, m->nlabels, n);
    m->labels = calloc((size_t)m->nlabels, sizeof *m->labels);
    if (!m->labels) return jp_fail(JP_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->nlabels; i++) {
        char key[16], fallback[32];
        snprintf(key, sizeof key, "%d", i);
        json_t *v = id2 ? json_object_get(id2, key) : NULL;
        if (id2 && !json_is_string(v))
            return jp_fail(JP_ERR_PARSE, "%s: \"id2label\" has no string for label %d", c->path, i);
        snprintf(fallback, sizeof fallback, "LABEL_%d", i);
        m->labels[i] = strdup(v ? json_string_value(v) : fallback);
        if (!m->labels[i]) return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    return JP_OK;
}

/* Activations of one lane are kept near this many floats (2 MB, about a core's L2 and a share of L3)
 * by running its images in sub-batches. The ResNets keep a quarter of that (2 images of resnet-s or
 * resnet-m, whose widest activation is 50,176 floats an image): their 1x1 convolutions read each input
 * once per 8 output channels, so the input had better stay in the core's own L2 (1 MB). Measured at
 * batch 64, alternating the two settings (BENCHMARKS.md): 3-6% for both ResNets on 2 threads, 5-12% on
 * 1; `cnn`, whose images are a quarter the size and whose convolutions are few, lost 5% with it. */
#define SUB_BATCH_FLOATS (512 * 1024)
#define RESNET_SUB_BATCH_FLOATS (128 * 1024)

static int alloc_workspace(jp_nn_model *m)
{
    size_t per_image = m->act_size;
    if (m->fam == FAM_VIT) per_image = (size_t)m->tokens * (3 * m->dim > m->inter ? 3 * m->dim : m->inter);
    size_t target = m->fam == FAM_RESNET ? RESNET_SUB_BATCH_FLOATS : SUB_BATCH_FLOATS;
    size_t sub = per_image ? target / per_image : (size_t)m->lane_batch;
    m->sub_batch = sub < 1 ? 1 : sub > (size_t)m->lane_batch ? m->lane_batch : (int)sub;
    m->lane_batch = m->sub_batch; /* a lane never holds more than one sub-batch */
    int nb = m->lane_batch;
    size_t a = m->act_size * (size_t)nb;
    for (int i = 0; i < 4; i++) m->buf_size[i] = a;
    if (m->fam == FAM_VIT) {
        size_t rows = (size_t)nb * m->tokens, np = (size_t)m->tokens - 1;
        size_t cpp = (size_t)m->c * m->patch * m->patch;
        m->buf_size[0] = rows * m->dim;
        m->buf_size[1] = rows * m->dim;
        m->buf_size[2] = rows * 3 * m->dim > nb * np * cpp ? rows * 3 * m->dim : nb * np * cpp;
        m->buf_size[3] = rows * m->inter;
    }
    m->input = jp_nnm_falloc(m, (size_t)m->max_batch * m->c * m->h * m->w);
    if (!m->input) return jp_fail(JP_ERR_NOMEM, "out of memory for the input buffer");
    for (int l = 0; l < m->threads; l++) {
        lane *L = &m->lanes[l];
        L->m = m;
        L->index = l;
        for (int i = 0; i < 4; i++)
            if (!(L->buf[i] = jp_nnm_falloc(m, m->buf_size[i])))
                return jp_fail(JP_ERR_NOMEM, "out of memory for workspace (%zu floats)", m->buf_size[i]);
        if (!(L->col = jp_nnm_falloc(m, m->col_size)))
            return jp_fail(JP_ERR_NOMEM, "out of memory for im2col workspace");
        if (m->fam == FAM_VIT && !(L->scores = jp_nnm_falloc(m, (size_t)m->tokens * m->tokens)))
            return jp_fail(JP_ERR_NOMEM, "out of memory for attention workspace");
    }
    return JP_OK;
}

int jp_nn_load_files(jp_nn_model **out, const char *config_path, const char *weights_path, int max_batch, int threads)
{
    if (!out || !config_path || !weights_path) return jp_fail(JP_ERR_INVAL, "jp_nn_load: NULL argument");
    *out = NULL;
    if (max_batch < 1 || max_batch > 1 << 16) return jp_fail(JP_ERR_RANGE, "max_batch %d outside 1..65536", max_batch);
    if (threads < 1 || threads > MAX_THREADS) return jp_fail(JP_ERR_RANGE, "threads %d outside 1..%d", threads, MAX_THREADS);
    json_error_t jerr;
    unsigned char *text;
    size_t tlen;
    int rc = jp_read_file(config_path, MAX_CONFIG_BYTES, &text, &tlen);
    if (rc != JP_OK) return rc;
    json_t *root = json_loadb((const char *)text, tlen, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root) return jp_fail(JP_ERR_PARSE, "%s: line %d: %s", config_path, jerr.line, jerr.text);
    struct cfg c = {config_path, root};
    jp_safetensors *st = NULL;
    jp_nn_model *m = calloc(1, sizeof *m);
    if (!m) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    m->max_batch = max_batch;
    m->threads = threads;
    m->lane_batch = (max_batch + threads - 1) / threads;
    m->mean = 0.0f;
    m->std = 1.0f;
    if ((rc = jp_nn_blas_init()) != JP_OK) goto done;
    jp_nn_blas_threads(1); /* the engine threads itself (process-wide: see jp_nn_load) */
    if (!json_is_object(root)) {
        rc = jp_fail(JP_ERR_PARSE, "%s: not a JSON object", config_path);
        goto done;
    }
    json_t *mt = json_object_get(root, "model_type");
    if (!json_is_string(mt)) {
        rc = jp_fail(JP_ERR_PARSE, "%s: \"model_type\" is missing", config_path);
        goto done;
    }
    size_t f;
    for (f = 0; f < sizeof family_names / sizeof family_names[0]; f++)
        if (!strcmp(json_string_value(mt), family_names[f])) break;
    if (f == sizeof family_names / sizeof family_names[0]) {
        rc = jp_fail(JP_ERR_PARSE, "%s: model_type \"%s\" is not supported (mlp, cnn, resnet, vit)", config_path,
                     json_string_value(mt));
        goto done;
    }
    m->fam = (enum family)f;
    if ((rc = jp_nnm_cfg_int(&c, "num_channels", 3, 1, 64, &m->c)) ||
        (rc = jp_nnm_cfg_int(&c, "image_size", 224, 1, 8192, &m->h)) || (rc = read_labels(m, &c)))
        goto done;
    m->w = m->h;
    json_t *jp = json_object_get(root, "jouleprint");
    if (json_is_object(jp)) {
        json_t *mean = json_object_get(jp, "input_mean"), *sd = json_object_get(jp, "input_std");
        if (mean && json_is_number(mean)) m->mean = (float)json_number_value(mean);
        if (sd && json_is_number(sd)) m->std = (float)json_number_value(sd);
        if (!(m->std > 0)) {
            rc = jp_fail(JP_ERR_PARSE, "%s: jouleprint.input_std must be positive", config_path);
            goto done;
        }
    }
    if ((rc = jp_st_open(&st, weights_path))) goto done;
    switch (m->fam) {
    case FAM_MLP: rc = jp_nnm_build_mlp(m, &c, st); break;
    case FAM_CNN: rc = jp_nnm_build_cnn(m, &c, st); break;
    case FAM_RESNET: rc = jp_nnm_build_resnet(m, &c, st); break;
    case FAM_VIT: rc = jp_nnm_build_vit(m, &c, st); break;
    }
    if (rc) goto done;
    for (size_t i = 0; i < st->count; i++) {
        const jp_st_tensor *t = &st->tensors[i];
        size_t len = strlen(t->name);
        int stat = (len > 13 && !strcmp(t->name + len - 13, ".running_mean")) ||
                   (len > 12 && !strcmp(t->name + len - 12, ".running_var"));
        if (len > 20 && !strcmp(t->name + len - 20, ".num_batches_tracked")) continue;
        if (strstr(t->name, ".pooler.")) continue; /* Hugging Face's optional pooler: not used for classification */
        if (!t->used) {
            rc = jp_fail(JP_ERR_PARSE, "%s: tensor '%s' is not part of the model config.json describes (the config and "
                                       "the weights disagree?)", weights_path, t->name);
            goto done;
        }
        if (!stat) m->params += t->numel;
    }
    if ((rc = alloc_workspace(m)) || (rc = jp_nnm_start_pool(m))) goto done;
done:
    if (rc && m && m->over_bytes)
        rc = jp_fail(JP_ERR_RANGE, "%s: this model needs more than %zu MiB (weights and workspace for a batch of %d): "
                     "too large for the engine (check image_size, the layer sizes and the batch)",
                     config_path, jp_nn_max_model_bytes >> 20, max_batch);
    jp_st_close(st);
    json_decref(root);
    if (rc) {
        jp_nn_free(m);
        return rc;
    }
    *out = m;
    return JP_OK;
}

int jp_nn_load(jp_nn_model **out, const char *dir, int max_batch, int threads)
{
    if (!dir) return jp_fail(JP_ERR_INVAL, "jp_nn_load: NULL directory");
    char cfgp[PATH_MAX], wp[PATH_MAX];
    int rc;
    if ((rc = jp_pathf(cfgp, sizeof cfgp, "%s/config.json", dir)) || (rc = jp_pathf(wp, sizeof wp, "%s/model.safetensors", dir)))
        return rc;
    return jp_nn_load_files(out, cfgp, wp, max_batch, threads);
}

void jp_nn_info_get(const jp_nn_model *m, jp_nn_info *info)
{
    memset(info, 0, sizeof *info);
    jp_strlcpy(info->type, family_names[m->fam], sizeof info->type);
    info->channels = m->c;
    info->height = m->h;
    info->width = m->w;
    info->num_labels = m->nlabels;
    info->params = m->params;
    info->flops = m->flops;
    info->max_batch = m->max_batch;
    info->feature_dim = m->cls.in;
    info->threads = m->threads;
    info->input_mean = m->mean;
    info->input_std = m->std;
}

const char *jp_nn_label(const jp_nn_model *m, int i)
{
    return m && i >= 0 && i < m->nlabels ? m->labels[i] : NULL;
}
