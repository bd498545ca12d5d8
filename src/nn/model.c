/* Models of the inference engine: config.json + model.safetensors -> a loaded network with all its
 * workspace allocated, and the forward passes of the four families (mlp, cnn, resnet, vit).
 *
 * Tensor names follow Hugging Face transformers for the families it has (ResNetForImageClassification,
 * ViTForImageClassification); the MLP and CNN use the same conventions ("classifier", ".convolution",
 * ".normalization"). Batch norm is folded into the preceding convolution at load.
 *
 * Threads: a model loaded with T threads keeps T-1 worker threads (OpenBLAS itself is kept on one
 * thread). A batch of two or more images is split into up to T slices run side by side, one forward
 * pass each; a single image runs on the calling thread with each large convolution, linear layer and
 * attention split across the T threads (by output rows, output columns, heads). Workers spin briefly
 * before sleeping, so that the many short hand-offs of a single image stay cheap. Every buffer is
 * allocated at load: jp_nn_forward allocates nothing. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/ops.h"
#include "nn/safetensors.h"
#include "util.h"
#include "nn/nn.h"

#define BN_EPS 1e-5
/* Everything a model may allocate, weights and workspace together (4 GiB): a config that asks for
 * more (a huge image_size, a large batch of large images) is refused before anything that size is
 * allocated, with a message naming the figure. */
#define MAX_MODEL_BYTES ((size_t)4 << 30)
size_t jp_nn_max_model_bytes = MAX_MODEL_BYTES;
/* A config.json is a page of JSON (ImageNet's 1000 labels make the largest, about 30 KB). */
#define MAX_CONFIG_BYTES ((size_t)16 << 20)
#define MAX_THREADS 64
/* Below this many FLOPs an operation on a single image is not worth splitting across threads. */
#define PAR_MIN_FLOPS 150000.0
/* How long a worker (or the caller waiting for workers) spins before sleeping, seconds. */
#define SPIN_S 200e-6

static inline void cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

enum family { FAM_MLP, FAM_CNN, FAM_RESNET, FAM_VIT };
static const char *family_names[] = {"mlp", "cnn", "resnet", "vit"};

typedef struct linear {
    int in, out;
    float *w, *b;
} linear;

typedef struct block { /* one ResNet layer: 2 (basic) or 3 (bottleneck) convolutions and a shortcut */
    jp_nn_conv conv[3];
    int nconv;
    jp_nn_conv sc;
    int has_sc;
} block;

typedef struct vit_layer {
    float *ln1_g, *ln1_b, *ln2_g, *ln2_b;
    linear qkv, out, fc1, fc2;
} vit_layer;

typedef struct lane {
    struct jp_nn_model *m;
    int index;
    float *buf[4];  /* activations */
    float *col;     /* im2col workspace */
    float *scores;  /* attention scores, t x t */
    float *feats;   /* where the images in progress put their penultimate features, or NULL */
    pthread_t thread;
    int started;
} lane;

struct jp_nn_model {
    enum family fam;
    int c, h, w, nlabels;
    char **labels;
    float mean, std;
    uint64_t params;
    double flops;
    int max_batch, threads, lane_batch;
    int sub_batch; /* images a lane runs at once, so that its activations stay in cache */

    /* mlp: hidden layers; cnn: fully connected layer (fc[0]) */
    linear *fc;
    int nfc;
    linear cls;

    /* cnn: convolutions, each followed by ReLU and a 2x2 max-pool */
    jp_nn_conv *convs;
    int nconvs;

    /* resnet */
    jp_nn_conv stem;
    int stem_pool;
    block *blocks;
    int nblocks;

    /* vit */
    int patch, dim, heads, inter, tokens;
    float ln_eps;
    linear patch_proj; /* dim x (c*patch*patch) */
    float *cls_token, *pos;
    vit_layer *layers;
    int nlayers;
    float *final_g, *final_b;

    size_t act_size, col_size, buf_size[4]; /* floats per lane */
    float *input;                           /* max_batch * c*h*w, for jp_nn_forward_u8 */
    void **allocs;
    size_t nallocs, capallocs;
    size_t allocated;  /* bytes, against MAX_MODEL_BYTES */
    size_t over_bytes; /* the request that went over it (0: none) */
    lane lanes[MAX_THREADS];

    /* the worker pool */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int pool_ready;
    atomic_ulong generation;
    atomic_int pending, quit;
    void (*task)(struct jp_nn_model *m, int li, int lanes, void *arg);
    void *task_arg;
    int task_lanes;
    int intra; /* the forward pass in progress is one image with operations split across lanes */
    const float *job_in;
    float *job_logits;
    float *job_feats; /* jp_nn_forward_features: [batch][cls.in], or NULL */
    int job_batch;
};

/* ---- allocation: everything the model owns is recorded and freed together ---------------------- */

static void *zalloc(jp_nn_model *m, size_t bytes)
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

static float *falloc(jp_nn_model *m, size_t n)
{
    if (n > SIZE_MAX / sizeof(float)) {
        if (!m->over_bytes) m->over_bytes = SIZE_MAX;
        return NULL;
    }
    return zalloc(m, n * sizeof(float));
}

/* a * b * c as a count of values a layer works on, refused above INT_MAX (the engine's indices) */
/* *out is 0 when the product does not fit, so callers never read an unset value. */
static int prod_int(const char *path, const char *what, size_t a, size_t b, size_t c, int *out)
{
    *out = 0;
    if ((b && a > (size_t)INT_MAX / b) || (c && a * b > (size_t)INT_MAX / c))
        return jp_fail(JP_ERR_RANGE, "%s: %s of %zu x %zu x %zu values is more than the engine handles (%d)", path,
                       what, a, b, c, INT_MAX);
    *out = (int)(a * b * c);
    return JP_OK;
}

/* ---- config ------------------------------------------------------------------------------------ */

struct cfg {
    const char *path;
    json_t *root;
};

static int cfg_int(const struct cfg *c, const char *key, int def, int lo, int hi, int *out)
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

static int cfg_bool(const struct cfg *c, const char *key, int def, int *out)
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

static int cfg_ints(const struct cfg *c, const char *key, int *out, int max, int *n)
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

static int cfg_act(const struct cfg *c, const char *want)
{
    json_t *v = json_object_get(c->root, "hidden_act");
    if (v && (!json_is_string(v) || strcmp(json_string_value(v), want)))
        return jp_fail(JP_ERR_PARSE, "%s: \"hidden_act\" %s is not supported for this model type (only \"%s\")", c->path,
                       json_is_string(v) ? json_string_value(v) : "(not a string)", want);
    return JP_OK;
}

/* ---- loading weights --------------------------------------------------------------------------- */

static int missing(jp_safetensors *st, const char *name, int rc)
{
    if (rc == JP_ERR_NOTFOUND)
        return jp_fail(JP_ERR_PARSE, "%s: the config needs tensor '%s', which is missing (config.json and the weights "
                                     "disagree?)", st->path, name);
    return rc;
}

/* Checks that the weights hold this tensor, with this shape and a floating dtype, before anything is
 * allocated for it: what the loader allocates for weights is then bounded by the weights file. */
static int need(jp_safetensors *st, const char *name, int ndim, ...)
{
    int64_t shape[4];
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) shape[i] = va_arg(ap, int);
    va_end(ap);
    return missing(st, name, jp_st_check_f32(st, name, ndim, shape));
}

static int read_f32(jp_safetensors *st, const char *name, float *dst, int ndim, ...)
{
    int64_t shape[4];
    size_t n = 1;
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) {
        shape[i] = va_arg(ap, int);
        n *= (size_t)shape[i];
    }
    va_end(ap);
    int rc = missing(st, name, jp_st_read_f32(st, name, ndim, shape, dst));
    if (rc) return rc;
    /* a NaN or an infinity would make every prediction the same label, silently */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(dst[i]))
            return jp_fail(JP_ERR_PARSE, "%s: tensor '%s' holds %s at index %zu: weights must be finite numbers", st->path,
                           name, isnan(dst[i]) ? "NaN" : "an infinity", i);
    return JP_OK;
}

/* name = "prefix.suffix", or an error naming the file when it does not fit in size bytes (never a
 * truncated name that could match another tensor). */
static int tensor_name(char *name, size_t size, const jp_safetensors *st, const char *prefix, const char *suffix)
{
    int len = snprintf(name, size, "%s.%s", prefix, suffix);
    if (len < 0 || (size_t)len >= size)
        return jp_fail(JP_ERR_RANGE, "%s: tensor name \"%s.%s\" is longer than %zu bytes", st->path, prefix, suffix,
                       size - 1);
    return JP_OK;
}

static int load_linear(jp_nn_model *m, jp_safetensors *st, const char *prefix, int in, int out, int bias, linear *l)
{
    char wname[256], bname[256];
    int rc;
    l->in = in;
    l->out = out;
    if ((rc = tensor_name(wname, sizeof wname, st, prefix, "weight")) ||
        (rc = tensor_name(bname, sizeof bname, st, prefix, "bias")))
        return rc;
    if ((rc = need(st, wname, 2, out, in))) return rc;
    if (bias && (rc = need(st, bname, 1, out))) return rc;
    l->w = falloc(m, (size_t)in * out);
    l->b = bias ? falloc(m, (size_t)out) : NULL;
    if (!l->w || (bias && !l->b)) return jp_fail(JP_ERR_NOMEM, "out of memory loading %s", prefix);
    rc = read_f32(st, wname, l->w, 2, out, in);
    if (rc) return rc;
    if (bias) rc = read_f32(st, bname, l->b, 1, out);
    return rc;
}

static int load_vec(jp_nn_model *m, jp_safetensors *st, const char *prefix, const char *suffix, int n, float **out)
{
    char name[256];
    int rc = tensor_name(name, sizeof name, st, prefix, suffix);
    if (rc) return rc;
    rc = need(st, name, 1, n);
    if (rc) return rc;
    *out = falloc(m, (size_t)n);
    if (!*out) return jp_fail(JP_ERR_NOMEM, "out of memory loading %s", name);
    return read_f32(st, name, *out, 1, n);
}

/* prefix.convolution.weight [cout, cin, k, k] (no bias) and prefix.normalization.{weight, bias,
 * running_mean, running_var}, folded. */
static int load_conv_bn(jp_nn_model *m, jp_safetensors *st, const char *prefix, int cin, int cout, int k, int stride,
                        jp_nn_conv *c)
{
    char name[256];
    c->cin = cin;
    c->cout = cout;
    c->k = k;
    c->stride = stride;
    c->pad = k / 2;
    int rc = tensor_name(name, sizeof name, st, prefix, "convolution.weight");
    if (rc) return rc;
    rc = need(st, name, 4, cout, cin, k, k);
    if (rc) return rc;
    c->w = falloc(m, (size_t)cout * cin * k * k);
    c->b = falloc(m, (size_t)cout);
    if (!c->w || !c->b) return jp_fail(JP_ERR_NOMEM, "out of memory loading %s", prefix);
    rc = read_f32(st, name, c->w, 4, cout, cin, k, k);
    if (rc) return rc;
    float *g, *b, *mean, *var;
    if ((rc = tensor_name(name, sizeof name, st, prefix, "normalization")) || (rc = load_vec(m, st, name, "weight", cout, &g)) || (rc = load_vec(m, st, name, "bias", cout, &b)) ||
        (rc = load_vec(m, st, name, "running_mean", cout, &mean)) || (rc = load_vec(m, st, name, "running_var", cout, &var)))
        return rc;
    for (int i = 0; i < cout; i++)
        if (!(var[i] >= 0))
            return jp_fail(JP_ERR_PARSE, "%s: %s.running_var[%d] is negative or NaN", st->path, name, i);
    jp_nn_fold_bn(c, g, b, mean, var, BN_EPS);
    return JP_OK;
}

static void note_act(jp_nn_model *m, size_t per_image) { m->act_size = per_image > m->act_size ? per_image : m->act_size; }
static void note_conv(jp_nn_model *m, const jp_nn_conv *c, int *h, int *w)
{
    size_t col = jp_nn_conv_col_size(c, m->lane_batch, *h, *w);
    m->col_size = col > m->col_size ? col : m->col_size;
    int oh = jp_nn_out_size(*h, c->k, c->stride, c->pad), ow = jp_nn_out_size(*w, c->k, c->stride, c->pad);
    m->flops += 2.0 * c->cout * oh * ow * (double)c->cin * c->k * c->k;
    *h = oh;
    *w = ow;
    note_act(m, (size_t)c->cout * oh * ow);
}

static int build_mlp(jp_nn_model *m, const struct cfg *c, jp_safetensors *st)
{
    int hs[16], n = 0, rc;
    if ((rc = cfg_ints(c, "hidden_sizes", hs, 16, &n)) || (rc = cfg_act(c, "relu"))) return rc;
    m->fc = calloc((size_t)n, sizeof *m->fc);
    if (!m->fc) return jp_fail(JP_ERR_NOMEM, "out of memory");
    m->nfc = n;
    int in;
    if ((rc = prod_int(c->path, "an input", (size_t)m->c, (size_t)m->h, (size_t)m->w, &in))) return rc;
    note_act(m, (size_t)in);
    for (int i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "mlp.layers.%d", i);
        if ((rc = load_linear(m, st, p, in, hs[i], 1, &m->fc[i]))) return rc;
        m->flops += 2.0 * in * hs[i];
        in = hs[i];
        note_act(m, (size_t)in);
    }
    m->flops += 2.0 * in * m->nlabels;
    return load_linear(m, st, "classifier", in, m->nlabels, 1, &m->cls);
}

static int build_cnn(jp_nn_model *m, const struct cfg *c, jp_safetensors *st)
{
    int ch[16], n = 0, k = 0, fc = 0, rc;
    if ((rc = cfg_ints(c, "conv_channels", ch, 16, &n)) || (rc = cfg_int(c, "kernel_size", 3, 1, 15, &k)) ||
        (rc = cfg_int(c, "fc_size", -1, 1, 1 << 20, &fc)) || (rc = cfg_act(c, "relu")))
        return rc;
    m->convs = calloc((size_t)n, sizeof *m->convs);
    m->fc = calloc(1, sizeof *m->fc);
    if (!m->convs || !m->fc) return jp_fail(JP_ERR_NOMEM, "out of memory");
    m->nconvs = n;
    m->nfc = 1;
    int cin = m->c, h = m->h, w = m->w;
    note_act(m, (size_t)cin * h * w);
    for (int i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "cnn.layers.%d", i);
        if ((rc = load_conv_bn(m, st, p, cin, ch[i], k, 1, &m->convs[i]))) return rc;
        note_conv(m, &m->convs[i], &h, &w);
        if (h < 2 || w < 2) return jp_fail(JP_ERR_PARSE, "%s: too many pooled convolutions for a %dx%d image", c->path, m->h, m->w);
        h /= 2;
        w /= 2;
        cin = ch[i];
    }
    int flat;
    if ((rc = prod_int(c->path, "the flattened convolution output", (size_t)cin, (size_t)h, (size_t)w, &flat))) return rc;
    note_act(m, (size_t)flat);
    note_act(m, (size_t)fc);
    m->flops += 2.0 * flat * fc + 2.0 * fc * m->nlabels;
    if ((rc = load_linear(m, st, "cnn.fc", flat, fc, 1, &m->fc[0]))) return rc;
    return load_linear(m, st, "classifier", fc, m->nlabels, 1, &m->cls);
}

static int build_resnet(jp_nn_model *m, const struct cfg *c, jp_safetensors *st)
{
    int emb = 0, ek = 0, es = 0, pool = 0, hs[8], depths[8], nh = 0, nd = 0, dfs = 0, dib = 0, rc;
    if ((rc = cfg_int(c, "embedding_size", 64, 1, 65536, &emb)) || (rc = cfg_int(c, "embedding_kernel_size", 7, 1, 15, &ek)) ||
        (rc = cfg_int(c, "embedding_stride", 2, 1, 8, &es)) || (rc = cfg_bool(c, "embedding_pooling", 1, &pool)) ||
        (rc = cfg_ints(c, "hidden_sizes", hs, 8, &nh)) || (rc = cfg_ints(c, "depths", depths, 8, &nd)) ||
        (rc = cfg_bool(c, "downsample_in_first_stage", 0, &dfs)) ||
        (rc = cfg_bool(c, "downsample_in_bottleneck", 0, &dib)) || (rc = cfg_act(c, "relu")))
        return rc;
    if (nh != nd) return jp_fail(JP_ERR_PARSE, "%s: \"hidden_sizes\" and \"depths\" differ in length", c->path);
    json_t *lt = json_object_get(c->root, "layer_type");
    const char *type = json_is_string(lt) ? json_string_value(lt) : "bottleneck";
    int bottleneck = !strcmp(type, "bottleneck");
    if (!bottleneck && strcmp(type, "basic"))
        return jp_fail(JP_ERR_PARSE, "%s: \"layer_type\" must be \"basic\" or \"bottleneck\"", c->path);
    int nb = 0;
    for (int i = 0; i < nd; i++) nb += depths[i];
    m->blocks = calloc((size_t)nb, sizeof *m->blocks);
    if (!m->blocks) return jp_fail(JP_ERR_NOMEM, "out of memory");
    m->nblocks = nb;
    int h = m->h, w = m->w;
    note_act(m, (size_t)m->c * h * w);
    if ((rc = load_conv_bn(m, st, "resnet.embedder.embedder", m->c, emb, ek, es, &m->stem))) return rc;
    note_conv(m, &m->stem, &h, &w);
    m->stem_pool = pool;
    if (pool) {
        h = jp_nn_out_size(h, 3, 2, 1);
        w = jp_nn_out_size(w, 3, 2, 1);
    }
    int cin = emb, bi = 0;
    for (int s = 0; s < nd; s++) {
        for (int l = 0; l < depths[s]; l++, bi++) {
            block *b = &m->blocks[bi];
            int cout = hs[s], stride = l ? 1 : (s ? 2 : (dfs ? 2 : 1));
            char p[128], q[160];
            snprintf(p, sizeof p, "resnet.encoder.stages.%d.layers.%d", s, l);
            int bh = h, bw = w;
            if (bottleneck) {
                int mid = cout / 4;
                if (mid < 1) return jp_fail(JP_ERR_PARSE, "%s: hidden size %d is too small for a bottleneck", c->path, cout);
                b->nconv = 3;
                snprintf(q, sizeof q, "%s.layer.0", p);
                if ((rc = load_conv_bn(m, st, q, cin, mid, 1, dib ? stride : 1, &b->conv[0]))) return rc;
                snprintf(q, sizeof q, "%s.layer.1", p);
                if ((rc = load_conv_bn(m, st, q, mid, mid, 3, dib ? 1 : stride, &b->conv[1]))) return rc;
                snprintf(q, sizeof q, "%s.layer.2", p);
                if ((rc = load_conv_bn(m, st, q, mid, cout, 1, 1, &b->conv[2]))) return rc;
            } else {
                b->nconv = 2;
                snprintf(q, sizeof q, "%s.layer.0", p);
                if ((rc = load_conv_bn(m, st, q, cin, cout, 3, stride, &b->conv[0]))) return rc;
                snprintf(q, sizeof q, "%s.layer.1", p);
                if ((rc = load_conv_bn(m, st, q, cout, cout, 3, 1, &b->conv[1]))) return rc;
            }
            for (int i = 0; i < b->nconv; i++) note_conv(m, &b->conv[i], &bh, &bw);
            if (cin != cout || stride != 1) {
                b->has_sc = 1;
                snprintf(q, sizeof q, "%s.shortcut", p);
                if ((rc = load_conv_bn(m, st, q, cin, cout, 1, stride, &b->sc))) return rc;
                b->sc.pad = 0;
                int sh = h, sw = w;
                note_conv(m, &b->sc, &sh, &sw);
            }
            h = bh;
            w = bw;
            cin = cout;
        }
    }
    m->flops += 2.0 * cin * m->nlabels;
    note_act(m, (size_t)cin);
    return load_linear(m, st, "classifier.1", cin, m->nlabels, 1, &m->cls);
}

static int build_vit(jp_nn_model *m, const struct cfg *c, jp_safetensors *st)
{
    int p = 0, d = 0, nl = 0, heads = 0, inter = 0, qkv_bias = 0, rc;
    if ((rc = cfg_int(c, "patch_size", 16, 1, 1024, &p)) || (rc = cfg_int(c, "hidden_size", 768, 1, 65536, &d)) ||
        (rc = cfg_int(c, "num_hidden_layers", 12, 1, 256, &nl)) ||
        (rc = cfg_int(c, "num_attention_heads", 12, 1, 1024, &heads)) ||
        (rc = cfg_int(c, "intermediate_size", 3072, 1, 1 << 20, &inter)) || (rc = cfg_bool(c, "qkv_bias", 1, &qkv_bias)) ||
        (rc = cfg_act(c, "gelu")))
        return rc;
    if (d % heads) return jp_fail(JP_ERR_PARSE, "%s: hidden_size %d is not a multiple of num_attention_heads %d", c->path, d, heads);
    if (m->h % p || m->w % p)
        return jp_fail(JP_ERR_PARSE, "%s: image_size %d is not a multiple of patch_size %d", c->path, m->h, p);
    json_t *eps = json_object_get(c->root, "layer_norm_eps");
    m->ln_eps = 1e-12f;
    if (eps) {
        if (!json_is_number(eps) || json_number_value(eps) <= 0 || json_number_value(eps) > 1)
            return jp_fail(JP_ERR_PARSE, "%s: \"layer_norm_eps\" must be a number in (0, 1]", c->path);
        m->ln_eps = (float)json_number_value(eps);
    }
    m->patch = p;
    m->dim = d;
    m->heads = heads;
    m->inter = inter;
    int np = (m->h / p) * (m->w / p);
    m->tokens = np + 1;
    int t = m->tokens;
    /* every tensor the embedding needs is there, with its shape, before it is allocated */
    if ((rc = need(st, "vit.embeddings.patch_embeddings.projection.weight", 4, d, m->c, p, p)) ||
        (rc = need(st, "vit.embeddings.patch_embeddings.projection.bias", 1, d)) ||
        (rc = need(st, "vit.embeddings.cls_token", 3, 1, 1, d)) ||
        (rc = need(st, "vit.embeddings.position_embeddings", 3, 1, t, d)))
        return rc;
    /* the patch embedding: a p x p convolution of stride p, kept as a linear layer over gathered patches */
    m->patch_proj.in = m->c * p * p;
    m->patch_proj.out = d;
    m->patch_proj.w = falloc(m, (size_t)d * m->c * p * p);
    m->patch_proj.b = falloc(m, (size_t)d);
    m->cls_token = falloc(m, (size_t)d);
    m->pos = falloc(m, (size_t)t * d);
    m->layers = calloc((size_t)nl, sizeof *m->layers);
    if (!m->patch_proj.w || !m->patch_proj.b || !m->cls_token || !m->pos || !m->layers)
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    m->nlayers = nl;
    if ((rc = read_f32(st, "vit.embeddings.patch_embeddings.projection.weight", m->patch_proj.w, 4, d, m->c, p, p)) ||
        (rc = read_f32(st, "vit.embeddings.patch_embeddings.projection.bias", m->patch_proj.b, 1, d)) ||
        (rc = read_f32(st, "vit.embeddings.cls_token", m->cls_token, 3, 1, 1, d)) ||
        (rc = read_f32(st, "vit.embeddings.position_embeddings", m->pos, 3, 1, t, d)))
        return rc;
    m->flops += 2.0 * np * d * m->c * p * p;
    for (int i = 0; i < nl; i++) {
        vit_layer *L = &m->layers[i];
        char pre[96], name[160];
        snprintf(pre, sizeof pre, "vit.encoder.layer.%d", i);
        static const char *qkv[] = {"query", "key", "value"};
        for (int j = 0; j < 3; j++) {
            snprintf(name, sizeof name, "%s.attention.attention.%s.weight", pre, qkv[j]);
            if ((rc = need(st, name, 2, d, d))) return rc;
            snprintf(name, sizeof name, "%s.attention.attention.%s.bias", pre, qkv[j]);
            if (qkv_bias && (rc = need(st, name, 1, d))) return rc;
        }
        /* query, key and value are fused into one [3d x d] matrix */
        L->qkv.in = d;
        L->qkv.out = 3 * d;
        L->qkv.w = falloc(m, (size_t)3 * d * d);
        L->qkv.b = falloc(m, (size_t)3 * d);
        if (!L->qkv.w || !L->qkv.b) return jp_fail(JP_ERR_NOMEM, "out of memory");
        for (int j = 0; j < 3; j++) {
            snprintf(name, sizeof name, "%s.attention.attention.%s.weight", pre, qkv[j]);
            if ((rc = read_f32(st, name, L->qkv.w + (size_t)j * d * d, 2, d, d))) return rc;
            if (qkv_bias) {
                snprintf(name, sizeof name, "%s.attention.attention.%s.bias", pre, qkv[j]);
                if ((rc = read_f32(st, name, L->qkv.b + (size_t)j * d, 1, d))) return rc;
            }
        }
        snprintf(name, sizeof name, "%s.attention.output.dense", pre);
        if ((rc = load_linear(m, st, name, d, d, 1, &L->out))) return rc;
        snprintf(name, sizeof name, "%s.intermediate.dense", pre);
        if ((rc = load_linear(m, st, name, d, inter, 1, &L->fc1))) return rc;
        snprintf(name, sizeof name, "%s.output.dense", pre);
        if ((rc = load_linear(m, st, name, inter, d, 1, &L->fc2))) return rc;
        snprintf(name, sizeof name, "%s.layernorm_before", pre);
        if ((rc = load_vec(m, st, name, "weight", d, &L->ln1_g)) || (rc = load_vec(m, st, name, "bias", d, &L->ln1_b)))
            return rc;
        snprintf(name, sizeof name, "%s.layernorm_after", pre);
        if ((rc = load_vec(m, st, name, "weight", d, &L->ln2_g)) || (rc = load_vec(m, st, name, "bias", d, &L->ln2_b)))
            return rc;
        m->flops += 2.0 * t * d * 3 * d + 4.0 * t * t * d + 2.0 * t * d * d + 4.0 * t * d * inter;
    }
    if ((rc = load_vec(m, st, "vit.layernorm", "weight", d, &m->final_g)) ||
        (rc = load_vec(m, st, "vit.layernorm", "bias", d, &m->final_b)))
        return rc;
    m->flops += 2.0 * d * m->nlabels;
    return load_linear(m, st, "classifier", d, m->nlabels, 1, &m->cls);
}

/* ---- the worker pool ----------------------------------------------------------------------- */

typedef void (*task_fn)(jp_nn_model *m, int li, int lanes, void *arg);

static void *worker(void *arg)
{
    lane *L = arg;
    jp_nn_model *m = L->m;
    unsigned long seen = 0;
    for (;;) {
        unsigned long g = atomic_load(&m->generation);
        if (g == seen && !atomic_load(&m->quit)) {
            double t0 = jp_now();
            for (int i = 0; (g = atomic_load(&m->generation)) == seen && !atomic_load(&m->quit); i++) {
                cpu_relax();
                if ((i & 63) == 63 && jp_now() - t0 > SPIN_S) break;
            }
        }
        if (g == seen && !atomic_load(&m->quit)) {
            pthread_mutex_lock(&m->mu);
            while ((g = atomic_load(&m->generation)) == seen && !atomic_load(&m->quit)) pthread_cond_wait(&m->go, &m->mu);
            pthread_mutex_unlock(&m->mu);
        }
        if (atomic_load(&m->quit)) break;
        seen = g;
        if (L->index < m->task_lanes) m->task(m, L->index, m->task_lanes, m->task_arg);
        if (atomic_fetch_sub(&m->pending, 1) == 1) { /* the last one wakes the caller, should it sleep */
            pthread_mutex_lock(&m->mu);
            pthread_cond_signal(&m->done);
            pthread_mutex_unlock(&m->mu);
        }
    }
    return NULL;
}

/* Runs fn on lanes 0 .. lanes-1 (lane 0 on the calling thread) and waits for all of them. */
static void pool_run(jp_nn_model *m, task_fn fn, void *arg, int lanes)
{
    if (lanes <= 1 || !m->pool_ready) {
        fn(m, 0, 1, arg);
        return;
    }
    m->task = fn;
    m->task_arg = arg;
    m->task_lanes = lanes;
    atomic_store(&m->pending, m->threads - 1);
    pthread_mutex_lock(&m->mu);
    atomic_fetch_add(&m->generation, 1);
    pthread_cond_broadcast(&m->go);
    pthread_mutex_unlock(&m->mu);
    fn(m, 0, lanes, arg);
    /* spin briefly, then sleep: a worker that the scheduler has put aside gets the core sooner */
    double t0 = jp_now();
    for (int i = 0; atomic_load(&m->pending) > 0; i++) {
        cpu_relax();
        if ((i & 63) == 63 && jp_now() - t0 > SPIN_S) {
            pthread_mutex_lock(&m->mu);
            while (atomic_load(&m->pending) > 0) pthread_cond_wait(&m->done, &m->mu);
            pthread_mutex_unlock(&m->mu);
            break;
        }
    }
}

static int split(int total, int li, int lanes) { return (int)((long long)total * li / lanes); }

/* ---- operations that a single image splits across lanes ------------------------------------- */

struct conv_task {
    const jp_nn_conv *c;
    const float *in, *res;
    float *out;
    int n, h, w, rows;
    jp_nn_act act;
};

static void conv_task_fn(jp_nn_model *m, int li, int lanes, void *arg)
{
    struct conv_task *t = arg;
    int r0 = split(t->rows, li, lanes), r1 = split(t->rows, li + 1, lanes);
    if (jp_nn_conv_is_implicit(t->c))
        jp_nn_conv2d_padded_rows(t->c, t->in, t->n, t->h, t->w, t->out, t->res, t->act, r0, r1);
    else
        jp_nn_conv2d_rows(t->c, t->in, t->n, t->h, t->w, t->out, t->res, t->act, m->lanes[li].col, r0, r1);
}

static void conv(jp_nn_model *m, lane *L, const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                 const float *res, jp_nn_act act)
{
    int oh = jp_nn_out_size(h, c->k, c->stride, c->pad), ow = jp_nn_out_size(w, c->k, c->stride, c->pad);
    double flops = 2.0 * c->cout * n * oh * ow * (double)c->cin * c->k * c->k;
    if (!m->intra || flops < PAR_MIN_FLOPS || n * oh < 2) {
        jp_nn_conv2d(c, in, n, h, w, out, res, act, L->col);
        return;
    }
    struct conv_task t = {c, in, res, out, n, h, w, n * oh, act};
    if (jp_nn_conv_is_implicit(c)) { /* pad once here; the lanes read the padded copy */
        jp_nn_conv_pad(c, in, n, h, w, L->col);
        t.in = L->col;
    }
    pool_run(m, conv_task_fn, &t, m->threads < n * oh ? m->threads : n * oh);
}

struct lin_task {
    const float *x, *w, *b;
    float *y;
    int rows, in, out, acc;
    jp_nn_act act;
};

static void lin_task_fn(jp_nn_model *m, int li, int lanes, void *arg)
{
    (void)m;
    struct lin_task *t = arg;
    /* column ranges in multiples of 16 floats, so that no two lanes write one cache line */
    int units = (t->out + 15) / 16, o0 = split(units, li, lanes) * 16, o1 = split(units, li + 1, lanes) * 16;
    jp_nn_linear_cols(t->x, t->rows, t->in, t->w, t->b, t->out, t->y, t->acc, t->act, o0, o1 < t->out ? o1 : t->out);
}

static void lin(jp_nn_model *m, const float *x, int rows, const linear *l, float *y, int acc, jp_nn_act act)
{
    double flops = 2.0 * rows * l->in * (double)l->out;
    int units = (l->out + 15) / 16;
    if (!m->intra || flops < PAR_MIN_FLOPS || units < 2) {
        jp_nn_linear(x, rows, l->in, l->w, l->b, l->out, y, acc, act);
        return;
    }
    struct lin_task t = {x, l->w, l->b, y, rows, l->in, l->out, acc, act};
    pool_run(m, lin_task_fn, &t, m->threads < units ? m->threads : units);
}

struct attn_task {
    const float *qkv;
    float *ctx;
    int n, t, d, heads;
};

static void attn_task_fn(jp_nn_model *m, int li, int lanes, void *arg)
{
    struct attn_task *a = arg;
    int pairs = a->n * a->heads;
    jp_nn_attention_range(a->qkv, a->n, a->t, a->d, a->heads, a->ctx, m->lanes[li].scores, split(pairs, li, lanes),
                          split(pairs, li + 1, lanes));
}

static void attn(jp_nn_model *m, lane *L, const float *qkv, int n, float *ctx)
{
    int pairs = n * m->heads;
    double flops = 4.0 * n * m->tokens * (double)m->tokens * m->dim;
    if (!m->intra || flops < PAR_MIN_FLOPS || pairs < 2) {
        jp_nn_attention(qkv, n, m->tokens, m->dim, m->heads, ctx, L->scores);
        return;
    }
    struct attn_task a = {qkv, ctx, n, m->tokens, m->dim, m->heads};
    pool_run(m, attn_task_fn, &a, m->threads < pairs ? m->threads : pairs);
}

/* ---- forward passes (one lane: n images, input NCHW, logits [n][nlabels]) ------------------------ */

/* The classifier head: logits from the penultimate features x [n][cls.in], which are also copied to
 * the lane's feature output when one was asked for (jp_nn_forward_features). */
static void head(jp_nn_model *m, lane *L, const float *x, int n, float *logits)
{
    if (L->feats) memcpy(L->feats, x, (size_t)n * m->cls.in * sizeof *x);
    lin(m, x, n, &m->cls, logits, 0, JP_ACT_NONE);
}

static void forward_mlp(jp_nn_model *m, lane *L, const float *in, int n, float *logits)
{
    const float *x = in;
    for (int i = 0; i < m->nfc; i++) {
        float *y = L->buf[i & 1];
        lin(m, x, n, &m->fc[i], y, 0, JP_ACT_RELU);
        x = y;
    }
    head(m, L, x, n, logits);
}

/* The input as CNHW: for one channel NCHW is already CNHW. */
static const float *to_cnhw(jp_nn_model *m, const float *in, int n, float *scratch)
{
    if (m->c == 1) return in;
    jp_nn_nchw_to_cnhw(in, n, m->c, m->h * m->w, scratch);
    return scratch;
}

static void forward_cnn(jp_nn_model *m, lane *L, const float *in, int n, float *logits)
{
    const float *x = to_cnhw(m, in, n, L->buf[0]);
    int h = m->h, w = m->w, c = m->c;
    for (int i = 0; i < m->nconvs; i++) {
        const jp_nn_conv *cv = &m->convs[i];
        conv(m, L, cv, x, n, h, w, L->buf[1], NULL, JP_ACT_RELU);
        h = jp_nn_out_size(h, cv->k, 1, cv->pad);
        w = jp_nn_out_size(w, cv->k, 1, cv->pad);
        jp_nn_maxpool2d(L->buf[1], cv->cout * n, h, w, 2, 2, 0, L->buf[0]);
        h /= 2;
        w /= 2;
        c = cv->cout;
        x = L->buf[0];
    }
    jp_nn_cnhw_to_rows(x, c, n, h * w, L->buf[1]);
    lin(m, L->buf[1], n, &m->fc[0], L->buf[2], 0, JP_ACT_RELU);
    head(m, L, L->buf[2], n, logits);
}

static void forward_resnet(jp_nn_model *m, lane *L, const float *in, int n, float *logits)
{
    const float *x = to_cnhw(m, in, n, L->buf[0]);
    int h = m->h, w = m->w;
    conv(m, L, &m->stem, x, n, h, w, L->buf[1], NULL, JP_ACT_RELU);
    h = jp_nn_out_size(h, m->stem.k, m->stem.stride, m->stem.pad);
    w = jp_nn_out_size(w, m->stem.k, m->stem.stride, m->stem.pad);
    int cur = 1, c = m->stem.cout;
    if (m->stem_pool) {
        jp_nn_maxpool2d(L->buf[1], c * n, h, w, 3, 2, 1, L->buf[0]);
        h = jp_nn_out_size(h, 3, 2, 1);
        w = jp_nn_out_size(w, 3, 2, 1);
        cur = 0;
    }
    for (int bi = 0; bi < m->nblocks; bi++) {
        const block *b = &m->blocks[bi];
        int f[3], k = 0;
        for (int i = 0; i < 4; i++)
            if (i != cur) f[k++] = i;
        const float *sc = L->buf[cur];
        if (b->has_sc) {
            conv(m, L, &b->sc, L->buf[cur], n, h, w, L->buf[f[2]], NULL, JP_ACT_NONE);
            sc = L->buf[f[2]];
        }
        int src = cur, bh = h, bw = w;
        for (int i = 0; i < b->nconv; i++) {
            const jp_nn_conv *cv = &b->conv[i];
            int dst = f[i & 1], last = i == b->nconv - 1;
            conv(m, L, cv, L->buf[src], n, bh, bw, L->buf[dst], last ? sc : NULL, JP_ACT_RELU);
            bh = jp_nn_out_size(bh, cv->k, cv->stride, cv->pad);
            bw = jp_nn_out_size(bw, cv->k, cv->stride, cv->pad);
            src = dst;
        }
        cur = src;
        h = bh;
        w = bw;
        c = b->conv[b->nconv - 1].cout;
    }
    int f = cur == 0 ? 1 : 0;
    jp_nn_global_avgpool(L->buf[cur], c, n, h * w, L->buf[f]);
    head(m, L, L->buf[f], n, logits);
}

static void forward_vit(jp_nn_model *m, lane *L, const float *in, int n, float *logits)
{
    int p = m->patch, d = m->dim, t = m->tokens, gw = m->w / p, np = t - 1, cpp = m->c * p * p;
    float *X = L->buf[0], *H = L->buf[1], *QKV = L->buf[2], *M = L->buf[3];
    /* gather patches: row (b, patch) = [c][py][px] as the convolution weight is laid out */
    float *P = QKV;
    for (int b = 0; b < n; b++)
        for (int pi = 0; pi < np; pi++) {
            float *row = P + ((size_t)b * np + pi) * cpp;
            int y0 = (pi / gw) * p, x0 = (pi % gw) * p;
            for (int ci = 0; ci < m->c; ci++)
                for (int py = 0; py < p; py++)
                    memcpy(row + (ci * p + py) * p, in + (((size_t)b * m->c + ci) * m->h + y0 + py) * m->w + x0,
                           (size_t)p * sizeof *row);
        }
    lin(m, P, n * np, &m->patch_proj, H, 0, JP_ACT_NONE);
    for (int b = 0; b < n; b++) {
        float *xb = X + (size_t)b * t * d;
        for (int i = 0; i < d; i++) xb[i] = m->cls_token[i] + m->pos[i];
        for (int pi = 0; pi < np; pi++)
            for (int i = 0; i < d; i++)
                xb[(size_t)(pi + 1) * d + i] = H[((size_t)b * np + pi) * d + i] + m->pos[(size_t)(pi + 1) * d + i];
    }
    int rows = n * t;
    for (int li = 0; li < m->nlayers; li++) {
        const vit_layer *Ly = &m->layers[li];
        jp_nn_layernorm(X, rows, d, Ly->ln1_g, Ly->ln1_b, m->ln_eps, H);
        lin(m, H, rows, &Ly->qkv, QKV, 0, JP_ACT_NONE);
        attn(m, L, QKV, n, H);
        lin(m, H, rows, &Ly->out, X, 1, JP_ACT_NONE);
        jp_nn_layernorm(X, rows, d, Ly->ln2_g, Ly->ln2_b, m->ln_eps, H);
        lin(m, H, rows, &Ly->fc1, M, 0, JP_ACT_GELU);
        lin(m, M, rows, &Ly->fc2, X, 1, JP_ACT_NONE);
    }
    for (int b = 0; b < n; b++)
        jp_nn_layernorm(X + (size_t)b * t * d, 1, d, m->final_g, m->final_b, m->ln_eps, H + (size_t)b * d);
    head(m, L, H, n, logits);
}

static void run_lane(jp_nn_model *m, lane *L, const float *in, int n, float *logits)
{
    switch (m->fam) {
    case FAM_MLP: forward_mlp(m, L, in, n, logits); break;
    case FAM_CNN: forward_cnn(m, L, in, n, logits); break;
    case FAM_RESNET: forward_resnet(m, L, in, n, logits); break;
    case FAM_VIT: forward_vit(m, L, in, n, logits); break;
    }
}

/* ---- the forward pass ------------------------------------------------------------------------ */

/* Images start .. end-1 on one lane, in sub-batches. */
static void run_images(jp_nn_model *m, lane *L, const float *in, int start, int end, float *logits)
{
    size_t in_per = (size_t)m->c * m->h * m->w;
    for (int a = start; a < end; a += m->sub_batch) {
        int n = end - a < m->sub_batch ? end - a : m->sub_batch;
        L->feats = m->job_feats ? m->job_feats + (size_t)a * m->cls.in : NULL;
        run_lane(m, L, in + (size_t)a * in_per, n, logits + (size_t)a * m->nlabels);
    }
    L->feats = NULL;
}

static void batch_task_fn(jp_nn_model *m, int li, int lanes, void *arg)
{
    (void)arg;
    run_images(m, &m->lanes[li], m->job_in, split(m->job_batch, li, lanes), split(m->job_batch, li + 1, lanes),
               m->job_logits);
}

int jp_nn_forward_features(jp_nn_model *m, const float *input, int batch, float *logits, float *features)
{
    if (!m || !input || !logits || !features) return jp_fail(JP_ERR_INVAL, "jp_nn_forward_features: NULL argument");
    m->job_feats = features;
    int rc = jp_nn_forward(m, input, batch, logits);
    m->job_feats = NULL;
    return rc;
}

int jp_nn_forward_u8_features(jp_nn_model *m, const uint8_t *pixels, int batch, float *logits, float *features)
{
    if (!m || !pixels || !logits || !features) return jp_fail(JP_ERR_INVAL, "jp_nn_forward_u8_features: NULL argument");
    m->job_feats = features;
    int rc = jp_nn_forward_u8(m, pixels, batch, logits);
    m->job_feats = NULL;
    return rc;
}

int jp_nn_forward(jp_nn_model *m, const float *input, int batch, float *logits)
{
    if (!m || !input || !logits) return jp_fail(JP_ERR_INVAL, "jp_nn_forward: NULL argument");
    if (batch < 1 || batch > m->max_batch)
        return jp_fail(JP_ERR_RANGE, "jp_nn_forward: batch %d outside 1..%d (the max_batch given at load)", batch,
                       m->max_batch);
    if (batch == 1 || m->threads == 1) {
        m->intra = m->threads > 1;
        run_images(m, &m->lanes[0], input, 0, batch, logits);
        m->intra = 0;
        return JP_OK;
    }
    m->job_in = input;
    m->job_logits = logits;
    m->job_batch = batch;
    pool_run(m, batch_task_fn, NULL, batch < m->threads ? batch : m->threads);
    return JP_OK;
}

int jp_nn_forward_u8(jp_nn_model *m, const uint8_t *pixels, int batch, float *logits)
{
    if (!m || !pixels || !logits) return jp_fail(JP_ERR_INVAL, "jp_nn_forward_u8: NULL argument");
    if (batch < 1 || batch > m->max_batch)
        return jp_fail(JP_ERR_RANGE, "jp_nn_forward_u8: batch %d outside 1..%d (the max_batch given at load)", batch,
                       m->max_batch);
    size_t n = (size_t)batch * m->c * m->h * m->w;
    const float scale = 1.0f / 255.0f;
    for (size_t i = 0; i < n; i++) m->input[i] = ((float)pixels[i] * scale - m->mean) / m->std;
    return jp_nn_forward(m, m->input, batch, logits);
}

/* ---- load and free ------------------------------------------------------------------------------ */

void jp_nn_free(jp_nn_model *m)
{
    if (!m) return;
    if (m->pool_ready) {
        pthread_mutex_lock(&m->mu);
        atomic_store(&m->quit, 1);
        pthread_cond_broadcast(&m->go);
        pthread_mutex_unlock(&m->mu);
        for (int i = 1; i < m->threads; i++)
            if (m->lanes[i].started) pthread_join(m->lanes[i].thread, NULL);
        pthread_mutex_destroy(&m->mu);
        pthread_cond_destroy(&m->go);
        pthread_cond_destroy(&m->done);
    }
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
    if ((rc = cfg_int(c, "num_labels", n ? n : -1, 1, 100000, &m->nlabels))) return rc;
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
 * by running its images in sub-batches. */
#define SUB_BATCH_FLOATS (512 * 1024)

static int alloc_workspace(jp_nn_model *m)
{
    size_t per_image = m->act_size;
    if (m->fam == FAM_VIT) per_image = (size_t)m->tokens * (3 * m->dim > m->inter ? 3 * m->dim : m->inter);
    size_t sub = per_image ? SUB_BATCH_FLOATS / per_image : (size_t)m->lane_batch;
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
    m->input = falloc(m, (size_t)m->max_batch * m->c * m->h * m->w);
    if (!m->input) return jp_fail(JP_ERR_NOMEM, "out of memory for the input buffer");
    for (int l = 0; l < m->threads; l++) {
        lane *L = &m->lanes[l];
        L->m = m;
        L->index = l;
        for (int i = 0; i < 4; i++)
            if (!(L->buf[i] = falloc(m, m->buf_size[i])))
                return jp_fail(JP_ERR_NOMEM, "out of memory for workspace (%zu floats)", m->buf_size[i]);
        if (!(L->col = falloc(m, m->col_size)))
            return jp_fail(JP_ERR_NOMEM, "out of memory for im2col workspace");
        if (m->fam == FAM_VIT && !(L->scores = falloc(m, (size_t)m->tokens * m->tokens)))
            return jp_fail(JP_ERR_NOMEM, "out of memory for attention workspace");
    }
    return JP_OK;
}

static int start_pool(jp_nn_model *m)
{
    if (m->threads < 2) return JP_OK;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->go, NULL);
    pthread_cond_init(&m->done, NULL);
    atomic_init(&m->generation, 0);
    atomic_init(&m->pending, 0);
    atomic_init(&m->quit, 0);
    m->pool_ready = 1;
    for (int i = 1; i < m->threads; i++) {
        if (pthread_create(&m->lanes[i].thread, NULL, worker, &m->lanes[i]) != 0)
            return jp_fail(JP_ERR_THREAD, "could not start inference thread %d of %d", i + 1, m->threads);
        m->lanes[i].started = 1;
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
    if ((rc = cfg_int(&c, "num_channels", 3, 1, 64, &m->c)) ||
        (rc = cfg_int(&c, "image_size", 224, 1, 8192, &m->h)) || (rc = read_labels(m, &c)))
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
    case FAM_MLP: rc = build_mlp(m, &c, st); break;
    case FAM_CNN: rc = build_cnn(m, &c, st); break;
    case FAM_RESNET: rc = build_resnet(m, &c, st); break;
    case FAM_VIT: rc = build_vit(m, &c, st); break;
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
    if ((rc = alloc_workspace(m)) || (rc = start_pool(m))) goto done;
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
