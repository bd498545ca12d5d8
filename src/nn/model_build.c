/* The four families' layers and weights, read from model.safetensors with the shapes config.json gives
 * (batch norm folded into the preceding convolution), and each one's workspace needs. */
#define _POSIX_C_SOURCE 200809L
#include "nn/model_impl.h"

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
    l->w = jp_nnm_falloc(m, (size_t)in * out);
    l->b = bias ? jp_nnm_falloc(m, (size_t)out) : NULL;
    if (!l->w || (bias && !l->b)) return jp_fail(JP_ERR_NOMEM, "out of memory loading %s", prefix);
    rc = read_f32(st, wname, l->w, 2, out, in);
    if (rc) return rc;
    if (bias && (rc = read_f32(st, bname, l->b, 1, out))) return rc;
    if (jp_nn_gemm512_ok()) { /* a few rows at a time (batch 1) stream the transposed weight (ops.h) */
        if (!(l->wt = jp_nnm_falloc(m, (size_t)in * out))) return jp_fail(JP_ERR_NOMEM, "out of memory loading %s", prefix);
        jp_nn_transpose(l->w, (size_t)out, (size_t)in, l->wt);
    }
    return JP_OK;
}

static int load_vec(jp_nn_model *m, jp_safetensors *st, const char *prefix, const char *suffix, int n, float **out)
{
    char name[256];
    int rc = tensor_name(name, sizeof name, st, prefix, suffix);
    if (rc) return rc;
    rc = need(st, name, 1, n);
    if (rc) return rc;
    *out = jp_nnm_falloc(m, (size_t)n);
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
    c->w = jp_nnm_falloc(m, (size_t)cout * cin * k * k);
    c->b = jp_nnm_falloc(m, (size_t)cout);
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
    if (jp_nn_conv_wino_ok(c)) { /* 3x3 convolutions: Winograd's transformed weights (ops.h) */
        if (!(c->wino = jp_nnm_falloc(m, jp_nn_wino_weights_size(c))))
            return jp_fail(JP_ERR_NOMEM, "out of memory loading %s", prefix);
        jp_nn_wino_pack(c, c->wino);
    }
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

int jp_nnm_build_mlp(jp_nn_model *m, const struct cfg *c, jp_safetensors *st)
{
    int hs[16], n = 0, rc;
    if ((rc = jp_nnm_cfg_ints(c, "hidden_sizes", hs, 16, &n)) || (rc = jp_nnm_cfg_act(c, "relu"))) return rc;
    m->fc = calloc((size_t)n, sizeof *m->fc);
    if (!m->fc) return jp_fail(JP_ERR_NOMEM, "out of memory");
    m->nfc = n;
    int in;
    if ((rc = jp_nnm_prod_int(c->path, "an input", (size_t)m->c, (size_t)m->h, (size_t)m->w, &in))) return rc;
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

int jp_nnm_build_cnn(jp_nn_model *m, const struct cfg *c, jp_safetensors *st)
{
    int ch[16], n = 0, k = 0, fc = 0, rc;
    if ((rc = jp_nnm_cfg_ints(c, "conv_channels", ch, 16, &n)) || (rc = jp_nnm_cfg_int(c, "kernel_size", 3, 1, 15, &k)) ||
        (rc = jp_nnm_cfg_int(c, "fc_size", -1, 1, 1 << 20, &fc)) || (rc = jp_nnm_cfg_act(c, "relu")))
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
    if ((rc = jp_nnm_prod_int(c->path, "the flattened convolution output", (size_t)cin, (size_t)h, (size_t)w, &flat))) return rc;
    note_act(m, (size_t)flat);
    note_act(m, (size_t)fc);
    m->flops += 2.0 * flat * fc + 2.0 * fc * m->nlabels;
    if ((rc = load_linear(m, st, "cnn.fc", flat, fc, 1, &m->fc[0]))) return rc;
    return load_linear(m, st, "classifier", fc, m->nlabels, 1, &m->cls);
}

int jp_nnm_build_resnet(jp_nn_model *m, const struct cfg *c, jp_safetensors *st)
{
    int emb = 0, ek = 0, es = 0, pool = 0, hs[8], depths[8], nh = 0, nd = 0, dfs = 0, dib = 0, rc;
    if ((rc = jp_nnm_cfg_int(c, "embedding_size", 64, 1, 65536, &emb)) || (rc = jp_nnm_cfg_int(c, "embedding_kernel_size", 7, 1, 15, &ek)) ||
        (rc = jp_nnm_cfg_int(c, "embedding_stride", 2, 1, 8, &es)) || (rc = jp_nnm_cfg_bool(c, "embedding_pooling", 1, &pool)) ||
        (rc = jp_nnm_cfg_ints(c, "hidden_sizes", hs, 8, &nh)) || (rc = jp_nnm_cfg_ints(c, "depths", depths, 8, &nd)) ||
        (rc = jp_nnm_cfg_bool(c, "downsample_in_first_stage", 0, &dfs)) ||
        (rc = jp_nnm_cfg_bool(c, "downsample_in_bottleneck", 0, &dib)) || (rc = jp_nnm_cfg_act(c, "relu")))
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

int jp_nnm_build_vit(jp_nn_model *m, const struct cfg *c, jp_safetensors *st)
{
    int p = 0, d = 0, nl = 0, heads = 0, inter = 0, qkv_bias = 0, rc;
    if ((rc = jp_nnm_cfg_int(c, "patch_size", 16, 1, 1024, &p)) || (rc = jp_nnm_cfg_int(c, "hidden_size", 768, 1, 65536, &d)) ||
        (rc = jp_nnm_cfg_int(c, "num_hidden_layers", 12, 1, 256, &nl)) ||
        (rc = jp_nnm_cfg_int(c, "num_attention_heads", 12, 1, 1024, &heads)) ||
        (rc = jp_nnm_cfg_int(c, "intermediate_size", 3072, 1, 1 << 20, &inter)) || (rc = jp_nnm_cfg_bool(c, "qkv_bias", 1, &qkv_bias)) ||
        (rc = jp_nnm_cfg_act(c, "gelu")))
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
    m->patch_proj.w = jp_nnm_falloc(m, (size_t)d * m->c * p * p);
    m->patch_proj.b = jp_nnm_falloc(m, (size_t)d);
    m->cls_token = jp_nnm_falloc(m, (size_t)d);
    m->pos = jp_nnm_falloc(m, (size_t)t * d);
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
        L->qkv.w = jp_nnm_falloc(m, (size_t)3 * d * d);
        L->qkv.b = jp_nnm_falloc(m, (size_t)3 * d);
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

