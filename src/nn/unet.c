/* The diffusion UNet (see unet.h and models/gen/train.py, whose UNet class this follows line by line).
 *
 * Activations are CNHW ([channels][images][positions]) as in the rest of the engine, so that
 * concatenating a skip onto the current activation along channels is two block copies. */
#define _POSIX_C_SOURCE 200809L
#include "nn/unet.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/ops.h"
#include "nn/safetensors.h"
#include "util.h"

#define MAX_SYN 16

typedef struct res_block {
    int cin, cout;
    float *n1g, *n1b, *n2g, *n2b;
    jp_nn_conv c1, c2, sc;
    int has_sc;
    float *pw, *pb; /* time_emb_proj [cout][emb] */
} res_block;

typedef struct attn_block {
    int c, heads;
    float *ng, *nb;
    float *wqkv, *bqkv; /* [3c][c], [3c]: to_q, to_k, to_v stacked */
    float *wo, *bo;
} attn_block;

struct jp_unet {
    int size, levels, widths[JP_UNET_MAX_LEVELS], nres, groups, tch, emb, attention, heads, T, null_class, nlabels;
    float eps;
    float *l1w, *l1b, *l2w, *l2b, *cemb; /* cemb [null_class+1][emb] */
    jp_nn_conv conv_in, conv_out;
    float *og, *ob;
    res_block down[JP_UNET_MAX_LEVELS][4], mid[2], up[JP_UNET_MAX_LEVELS][4];
    jp_nn_conv downs[JP_UNET_MAX_LEVELS], ups[JP_UNET_MAX_LEVELS];
    attn_block attn;
    float *ac;
    char *labels[JP_UNET_MAX_LABELS];
    char *syn[JP_UNET_MAX_LABELS][MAX_SYN];
    int nsyn[JP_UNET_MAX_LABELS];
    uint64_t params;
    double flops;
    size_t act;                      /* floats per image of the largest activation */
    const jp_nn_conv *convs[256];    /* every convolution and the side of its input, for workspace sizes */
    int conv_side[256], nconvs;
    size_t skip[JP_UNET_MAX_LEVELS]; /* floats per image of each level's skip */
    void **allocs;
    size_t nallocs, capallocs;
};

struct jp_unet_ws {
    int max_n;
    float *X, *A, *B, *C, *col, *qkv, *scores, *temb, *e1, *e, *proj, *tt;
    float *skip[JP_UNET_MAX_LEVELS];
};

/* ---- allocation ---------------------------------------------------------------------------------- */

static void *zalloc(jp_unet *u, size_t bytes)
{
    if (u->nallocs == u->capallocs) {
        size_t cap = u->capallocs ? u->capallocs * 2 : 64;
        void **na = realloc(u->allocs, cap * sizeof *na);
        if (!na) return NULL;
        u->allocs = na;
        u->capallocs = cap;
    }
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    memset(p, 0, bytes ? bytes : 64);
    u->allocs[u->nallocs++] = p;
    return p;
}

void jp_unet_free(jp_unet *u)
{
    if (!u) return;
    for (size_t i = 0; i < u->nallocs; i++) free(u->allocs[i]);
    free(u->allocs);
    free(u);
}

/* ---- weights ------------------------------------------------------------------------------------- */

struct loader {
    jp_unet *u;
    jp_safetensors *st;
    const char *cfg;
};

/* Reads tensor NAME (printf-style) of the given shape into fresh memory. */
static int tensor(struct loader *L, float **dst, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int tensor(struct loader *L, float **dst, int ndim, const int64_t *shape, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    if (!(*dst = zalloc(L->u, n * sizeof(float)))) return jp_fail(JP_ERR_NOMEM, "out of memory loading %s", name);
    int rc = jp_st_read_f32(L->st, name, ndim, shape, *dst);
    if (rc == JP_ERR_NOTFOUND)
        return jp_fail(JP_ERR_PARSE, "%s: the config needs tensor '%s', which is missing (config.json and the weights "
                                     "disagree?)", L->st->path, name);
    return rc;
}

static int load_conv(struct loader *L, jp_nn_conv *c, int cin, int cout, int k, int stride, const char *prefix)
{
    c->cin = cin, c->cout = cout, c->k = k, c->stride = stride, c->pad = k / 2;
    int rc = tensor(L, &c->w, 4, (int64_t[]){cout, cin, k, k}, "%s.weight", prefix);
    if (!rc) rc = tensor(L, &c->b, 1, (int64_t[]){cout}, "%s.bias", prefix);
    if (!rc && jp_nn_conv_wino_ok(c)) { /* 3x3 convolutions: Winograd's transformed weights (ops.h) */
        if (!(c->wino = zalloc(L->u, jp_nn_wino_weights_size(c) * sizeof(float))))
            return jp_fail(JP_ERR_NOMEM, "out of memory loading %s", prefix);
        jp_nn_wino_pack(c, c->wino);
    }
    return rc;
}

static int load_norm(struct loader *L, float **g, float **b, int c, const char *prefix)
{
    int rc = tensor(L, g, 1, (int64_t[]){c}, "%s.weight", prefix);
    return rc ? rc : tensor(L, b, 1, (int64_t[]){c}, "%s.bias", prefix);
}

static int load_res(struct loader *L, res_block *r, int cin, int cout, const char *prefix)
{
    jp_unet *u = L->u;
    char p[200];
    int rc;
    r->cin = cin, r->cout = cout, r->has_sc = cin != cout;
    snprintf(p, sizeof p, "%s.norm1", prefix);
    if ((rc = load_norm(L, &r->n1g, &r->n1b, cin, p))) return rc;
    snprintf(p, sizeof p, "%s.conv1", prefix);
    if ((rc = load_conv(L, &r->c1, cin, cout, 3, 1, p))) return rc;
    if ((rc = tensor(L, &r->pw, 2, (int64_t[]){cout, u->emb}, "%s.time_emb_proj.weight", prefix)) ||
        (rc = tensor(L, &r->pb, 1, (int64_t[]){cout}, "%s.time_emb_proj.bias", prefix)))
        return rc;
    snprintf(p, sizeof p, "%s.norm2", prefix);
    if ((rc = load_norm(L, &r->n2g, &r->n2b, cout, p))) return rc;
    snprintf(p, sizeof p, "%s.conv2", prefix);
    if ((rc = load_conv(L, &r->c2, cout, cout, 3, 1, p))) return rc;
    if (r->has_sc) {
        snprintf(p, sizeof p, "%s.conv_shortcut", prefix);
        if ((rc = load_conv(L, &r->sc, cin, cout, 1, 1, p))) return rc;
    }
    return JP_OK;
}

static int load_attn(struct loader *L, attn_block *a, int c, int heads, const char *prefix)
{
    char p[200];
    int rc;
    a->c = c, a->heads = heads;
    snprintf(p, sizeof p, "%s.group_norm", prefix);
    if ((rc = load_norm(L, &a->ng, &a->nb, c, p))) return rc;
    if (!(a->wqkv = zalloc(L->u, (size_t)3 * c * c * sizeof(float))) || !(a->bqkv = zalloc(L->u, (size_t)3 * c * sizeof(float))))
        return jp_fail(JP_ERR_NOMEM, "out of memory loading %s", prefix);
    static const char *const names[3] = {"to_q", "to_k", "to_v"};
    for (int i = 0; i < 3; i++) {
        float *w, *b;
        if ((rc = tensor(L, &w, 2, (int64_t[]){c, c}, "%s.%s.weight", prefix, names[i])) ||
            (rc = tensor(L, &b, 1, (int64_t[]){c}, "%s.%s.bias", prefix, names[i])))
            return rc;
        memcpy(a->wqkv + (size_t)i * c * c, w, (size_t)c * c * sizeof *w);
        memcpy(a->bqkv + (size_t)i * c, b, (size_t)c * sizeof *b);
    }
    if ((rc = tensor(L, &a->wo, 2, (int64_t[]){c, c}, "%s.to_out.0.weight", prefix)) ||
        (rc = tensor(L, &a->bo, 1, (int64_t[]){c}, "%s.to_out.0.bias", prefix)))
        return rc;
    return JP_OK;
}

/* ---- config ----------------------------------------------------------------------------------------- */

static int cfg_int(const struct loader *L, json_t *root, const char *key, int lo, int hi, int *out)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return jp_fail(JP_ERR_PARSE, "%s: \"%s\" must be a whole number from %d to %d", L->cfg, key, lo, hi);
    *out = (int)json_integer_value(v);
    return JP_OK;
}

static int cfg_num(const struct loader *L, json_t *root, const char *key, double lo, double hi, double *out)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
        return jp_fail(JP_ERR_PARSE, "%s: \"%s\" must be a number from %g to %g", L->cfg, key, lo, hi);
    *out = json_number_value(v);
    return JP_OK;
}

static char *dup_str(jp_unet *u, const char *s)
{
    size_t n = strlen(s);
    char *d = zalloc(u, n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static int read_classes(struct loader *L, json_t *root)
{
    jp_unet *u = L->u;
    json_t *ids = json_object_get(root, "id2label"), *syn = json_object_get(root, "synonyms");
    if (!json_is_object(ids) || json_object_size(ids) != (size_t)u->nlabels)
        return jp_fail(JP_ERR_PARSE, "%s: \"id2label\" must be an object of num_labels (%d) names", L->cfg, u->nlabels);
    for (int i = 0; i < u->nlabels; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        json_t *v = json_object_get(ids, key);
        if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 64)
            return jp_fail(JP_ERR_PARSE, "%s: \"id2label\".\"%s\" must be a name of 1 to 64 characters", L->cfg, key);
        if (!(u->labels[i] = dup_str(u, json_string_value(v)))) return jp_fail(JP_ERR_NOMEM, "out of memory");
        json_t *list = json_is_object(syn) ? json_object_get(syn, key) : NULL;
        if (!list) continue;
        if (!json_is_array(list) || json_array_size(list) > MAX_SYN)
            return jp_fail(JP_ERR_PARSE, "%s: \"synonyms\".\"%s\" must be a list of at most %d words", L->cfg, key, MAX_SYN);
        for (size_t j = 0; j < json_array_size(list); j++) {
            json_t *w = json_array_get(list, j);
            if (!json_is_string(w) || !json_string_length(w) || json_string_length(w) > 64)
                return jp_fail(JP_ERR_PARSE, "%s: \"synonyms\".\"%s\"[%zu] must be a word of 1 to 64 characters", L->cfg,
                               key, j);
            char *d = dup_str(u, json_string_value(w));
            if (!d) return jp_fail(JP_ERR_NOMEM, "out of memory");
            for (char *c = d; *c; c++) *c = (char)tolower((unsigned char)*c);
            u->syn[i][u->nsyn[i]++] = d;
        }
    }
    return JP_OK;
}

/* ---- building -------------------------------------------------------------------------------------- */

static void note(jp_unet *u, size_t per_image)
{
    if (per_image > u->act) u->act = per_image;
}

static void note_conv(jp_unet *u, const jp_nn_conv *c, int side)
{
    if (u->nconvs < 256) {
        u->convs[u->nconvs] = c;
        u->conv_side[u->nconvs++] = side;
    }
    int o = jp_nn_out_size(side, c->k, c->stride, c->pad);
    u->flops += 2.0 * c->cout * (double)o * o * c->cin * c->k * c->k;
    note(u, (size_t)c->cout * o * o);
}

static void note_res(jp_unet *u, const res_block *r, int side)
{
    note_conv(u, &r->c1, side);
    note_conv(u, &r->c2, side);
    if (r->has_sc) note_conv(u, &r->sc, side);
    note(u, (size_t)r->cin * side * side);
    u->flops += 2.0 * r->cout * u->emb;
}

static int build(struct loader *L, json_t *root)
{
    jp_unet *u = L->u;
    json_t *mt = json_object_get(root, "model_type");
    if (!json_is_string(mt) || strcmp(json_string_value(mt), "jp-unet"))
        return jp_fail(JP_ERR_PARSE, "%s: \"model_type\" must be \"jp-unet\"", L->cfg);
    int inch, outch, ncls;
    double eps = 0;
    json_t *w = json_object_get(root, "block_out_channels");
    if (!json_is_array(w) || json_array_size(w) < 1 || json_array_size(w) > JP_UNET_MAX_LEVELS)
        return jp_fail(JP_ERR_PARSE, "%s: \"block_out_channels\" must be a list of 1 to %d widths", L->cfg, JP_UNET_MAX_LEVELS);
    u->levels = (int)json_array_size(w);
    int rc;
    if ((rc = cfg_int(L, root, "image_size", 1, 1024, &u->size)) || (rc = cfg_int(L, root, "in_channels", 1, 1, &inch)) ||
        (rc = cfg_int(L, root, "out_channels", 1, 1, &outch)) || (rc = cfg_int(L, root, "num_res_blocks", 1, 4, &u->nres)) ||
        (rc = cfg_int(L, root, "norm_num_groups", 1, 1024, &u->groups)) ||
        (rc = cfg_int(L, root, "timestep_channels", 2, 4096, &u->tch)) ||
        (rc = cfg_int(L, root, "embedding_dim", 1, 65536, &u->emb)) ||
        (rc = cfg_int(L, root, "attention_heads", 1, 64, &u->heads)) ||
        (rc = cfg_int(L, root, "num_labels", 1, JP_UNET_MAX_LABELS, &u->nlabels)) ||
        (rc = cfg_int(L, root, "num_class_embeds", 2, JP_UNET_MAX_LABELS + 1, &ncls)) ||
        (rc = cfg_int(L, root, "null_class", 0, JP_UNET_MAX_LABELS, &u->null_class)) ||
        (rc = cfg_int(L, root, "num_train_timesteps", 1, 100000, &u->T)) ||
        (rc = cfg_num(L, root, "norm_eps", 0.0, 1.0, &eps)))
        return rc;
    u->eps = (float)eps;
    if (u->tch % 2) return jp_fail(JP_ERR_PARSE, "%s: \"timestep_channels\" must be even", L->cfg);
    if (u->null_class != u->nlabels || ncls != u->nlabels + 1)
        return jp_fail(JP_ERR_PARSE, "%s: \"null_class\" must be num_labels (%d) and \"num_class_embeds\" num_labels + 1",
                       L->cfg, u->nlabels);
    json_t *attn = json_object_get(root, "mid_attention");
    if (!json_is_boolean(attn)) return jp_fail(JP_ERR_PARSE, "%s: \"mid_attention\" must be true or false", L->cfg);
    u->attention = json_is_true(attn);
    json_t *pt = json_object_get(root, "prediction_type");
    if (!json_is_string(pt) || strcmp(json_string_value(pt), "epsilon"))
        return jp_fail(JP_ERR_PARSE, "%s: \"prediction_type\" must be \"epsilon\"", L->cfg);
    if (u->size % (1 << (u->levels - 1)))
        return jp_fail(JP_ERR_PARSE, "%s: \"image_size\" %d must be divisible by 2^(levels-1) = %d", L->cfg, u->size,
                       1 << (u->levels - 1));
    for (int i = 0; i < u->levels; i++) {
        json_t *e = json_array_get(w, (size_t)i);
        if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 4096 ||
            json_integer_value(e) % u->groups)
            return jp_fail(JP_ERR_PARSE, "%s: \"block_out_channels\"[%d] must be a multiple of norm_num_groups (%d) up to 4096",
                           L->cfg, i, u->groups);
        u->widths[i] = (int)json_integer_value(e);
    }
    if (u->attention && u->widths[u->levels - 1] % u->heads)
        return jp_fail(JP_ERR_PARSE, "%s: \"attention_heads\" %d must divide the last width %d", L->cfg, u->heads,
                       u->widths[u->levels - 1]);
    if ((rc = read_classes(L, root))) return rc;

    /* embeddings */
    if ((rc = tensor(L, &u->l1w, 2, (int64_t[]){u->emb, u->tch}, "time_embedding.linear_1.weight")) ||
        (rc = tensor(L, &u->l1b, 1, (int64_t[]){u->emb}, "time_embedding.linear_1.bias")) ||
        (rc = tensor(L, &u->l2w, 2, (int64_t[]){u->emb, u->emb}, "time_embedding.linear_2.weight")) ||
        (rc = tensor(L, &u->l2b, 1, (int64_t[]){u->emb}, "time_embedding.linear_2.bias")) ||
        (rc = tensor(L, &u->cemb, 2, (int64_t[]){ncls, u->emb}, "class_embedding.weight")))
        return rc;
    u->flops += 2.0 * (u->tch * u->emb + u->emb * u->emb);
    int side = u->size;
    if ((rc = load_conv(L, &u->conv_in, 1, u->widths[0], 3, 1, "conv_in"))) return rc;
    note_conv(u, &u->conv_in, side);
    char p[128];
    int cur = u->widths[0];
    for (int i = 0; i < u->levels; i++) {
        for (int j = 0; j < u->nres; j++) {
            snprintf(p, sizeof p, "down_blocks.%d.resnets.%d", i, j);
            if ((rc = load_res(L, &u->down[i][j], cur, u->widths[i], p))) return rc;
            note_res(u, &u->down[i][j], side);
            cur = u->widths[i];
        }
        u->skip[i] = (size_t)cur * side * side;
        if (i < u->levels - 1) {
            snprintf(p, sizeof p, "down_blocks.%d.downsamplers.0.conv", i);
            if ((rc = load_conv(L, &u->downs[i], cur, cur, 3, 2, p))) return rc;
            note_conv(u, &u->downs[i], side);
            side /= 2;
        }
    }
    for (int j = 0; j < 2; j++) {
        snprintf(p, sizeof p, "mid_block.resnets.%d", j);
        if ((rc = load_res(L, &u->mid[j], cur, cur, p))) return rc;
        note_res(u, &u->mid[j], side);
    }
    if (u->attention) {
        if ((rc = load_attn(L, &u->attn, cur, u->heads, "mid_block.attentions.0"))) return rc;
        double t = (double)side * side;
        u->flops += 2.0 * (4.0 * t * cur * cur + 2.0 * t * t * cur);
        note(u, (size_t)3 * cur * side * side); /* qkv kept in its own buffer; tokens in the activations */
    }
    for (int k = 0; k < u->levels; k++) {
        int i = u->levels - 1 - k;
        for (int j = 0; j < u->nres; j++) {
            snprintf(p, sizeof p, "up_blocks.%d.resnets.%d", k, j);
            int cin = j == 0 ? cur + u->widths[i] : u->widths[i];
            if ((rc = load_res(L, &u->up[k][j], cin, u->widths[i], p))) return rc;
            note_res(u, &u->up[k][j], side);
            cur = u->widths[i];
        }
        if (i > 0) {
            side *= 2;
            snprintf(p, sizeof p, "up_blocks.%d.upsamplers.0.conv", k);
            if ((rc = load_conv(L, &u->ups[k], cur, cur, 3, 1, p))) return rc;
            note_conv(u, &u->ups[k], side);
            note(u, (size_t)cur * side * side);
        }
    }
    if ((rc = load_norm(L, &u->og, &u->ob, cur, "conv_norm_out")) || (rc = load_conv(L, &u->conv_out, cur, 1, 3, 1, "conv_out")))
        return rc;
    note_conv(u, &u->conv_out, side);
    if (u->nconvs >= 256) return jp_fail(JP_ERR_PARSE, "%s: more than 255 convolutions: not supported", L->cfg);
    if ((rc = tensor(L, &u->ac, 1, (int64_t[]){u->T}, "scheduler.alphas_cumprod"))) return rc;
    for (int t = 0; t < u->T; t++)
        if (!(u->ac[t] > 0.0f && u->ac[t] < 1.0f) || (t > 0 && !(u->ac[t] <= u->ac[t - 1])))
            return jp_fail(JP_ERR_PARSE, "%s: scheduler.alphas_cumprod[%d] = %g: must lie in (0, 1) and never increase",
                           L->st->path, t, (double)u->ac[t]);
    return JP_OK;
}

int jp_unet_load(jp_unet **out, const char *dir)
{
    if (!out || !dir) return jp_fail(JP_ERR_INVAL, "jp_unet_load: NULL argument");
    *out = NULL;
    char cfgp[PATH_MAX], wp[PATH_MAX];
    int rc;
    if ((rc = jp_pathf(cfgp, sizeof cfgp, "%s/config.json", dir)) || (rc = jp_pathf(wp, sizeof wp, "%s/model.safetensors", dir)))
        return rc;
    json_error_t jerr;
    json_t *root = json_load_file(cfgp, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        FILE *f = fopen(cfgp, "r");
        if (!f) return jp_fail(JP_ERR_NOTFOUND, "%s: cannot be opened", cfgp);
        fclose(f);
        return jp_fail(JP_ERR_PARSE, "%s: line %d: %s", cfgp, jerr.line, jerr.text);
    }
    jp_unet *u = calloc(1, sizeof *u);
    jp_safetensors *st = NULL;
    if (!u) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!json_is_object(root)) {
        rc = jp_fail(JP_ERR_PARSE, "%s: not a JSON object", cfgp);
        goto done;
    }
    if ((rc = jp_nn_blas_init()) != JP_OK) goto done;
    jp_nn_blas_threads(1);
    if ((rc = jp_st_open(&st, wp))) goto done;
    struct loader L = {u, st, cfgp};
    if ((rc = build(&L, root))) goto done;
    for (size_t i = 0; i < st->count; i++) {
        const jp_st_tensor *t = &st->tensors[i];
        if (!t->used) {
            rc = jp_fail(JP_ERR_PARSE, "%s: tensor '%s' is not part of the model config.json describes (the config and "
                                       "the weights disagree?)", wp, t->name);
            goto done;
        }
        if (strcmp(t->name, "scheduler.alphas_cumprod")) u->params += t->numel;
    }
done:
    jp_st_close(st);
    json_decref(root);
    if (rc) {
        jp_unet_free(u);
        return rc;
    }
    *out = u;
    return JP_OK;
}

void jp_unet_info_get(const jp_unet *u, jp_unet_info *info)
{
    memset(info, 0, sizeof *info);
    info->image_size = u->size;
    info->num_labels = u->nlabels;
    info->null_class = u->null_class;
    info->train_timesteps = u->T;
    info->levels = u->levels;
    memcpy(info->widths, u->widths, sizeof info->widths);
    info->res_blocks = u->nres;
    info->attention = u->attention;
    info->heads = u->heads;
    info->params = u->params;
    info->flops = u->flops;
}

const char *jp_unet_label(const jp_unet *u, int i) { return i >= 0 && i < u->nlabels ? u->labels[i] : NULL; }

const char *const *jp_unet_synonyms(const jp_unet *u, int i, int *n)
{
    if (i < 0 || i >= u->nlabels) {
        *n = 0;
        return NULL;
    }
    *n = u->nsyn[i];
    return (const char *const *)u->syn[i];
}

const float *jp_unet_alphas_cumprod(const jp_unet *u) { return u->ac; }

/* ---- workspace --------------------------------------------------------------------------------------- */

void jp_unet_ws_free(jp_unet_ws *ws)
{
    if (!ws) return;
    float **all[] = {&ws->X, &ws->A, &ws->B, &ws->C, &ws->col, &ws->qkv, &ws->scores, &ws->temb, &ws->e1, &ws->e,
                     &ws->proj, &ws->tt};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(*all[i]);
    for (int i = 0; i < JP_UNET_MAX_LEVELS; i++) free(ws->skip[i]);
    free(ws);
}

static float *fnew(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float))) return NULL;
    memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

jp_unet_ws *jp_unet_ws_new(const jp_unet *u, int max_n)
{
    if (max_n < 1 || max_n > 1 << 16) return NULL;
    jp_unet_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    size_t n = (size_t)max_n;
    int last = u->widths[u->levels - 1], side = u->size >> (u->levels - 1);
    size_t t = (size_t)side * side, maxc = 0;
    for (int i = 0; i < u->levels; i++) maxc = (size_t)u->widths[i] > maxc ? (size_t)u->widths[i] : maxc;
    ws->max_n = max_n;
    ws->X = fnew(n * u->act);
    ws->A = fnew(n * u->act);
    ws->B = fnew(n * u->act);
    ws->C = fnew(n * u->act);
    size_t col = 0;
    for (int i = 0; i < u->nconvs; i++) {
        size_t need = jp_nn_conv_col_size(u->convs[i], max_n, u->conv_side[i], u->conv_side[i]);
        col = need > col ? need : col;
    }
    ws->col = fnew(col);
    ws->qkv = fnew(u->attention ? n * t * 3 * last : 1);
    ws->scores = fnew(t * t);
    ws->temb = fnew(n * u->tch);
    ws->e1 = fnew(n * u->emb);
    ws->e = fnew(n * u->emb);
    ws->proj = fnew(n * maxc);
    ws->tt = fnew(n);
    int ok = ws->X && ws->A && ws->B && ws->C && ws->col && ws->qkv && ws->scores && ws->temb && ws->e1 && ws->e &&
             ws->proj && ws->tt;
    for (int i = 0; i < u->levels; i++) ok = ok && (ws->skip[i] = fnew(n * u->skip[i])) != NULL;
    if (!ok) {
        jp_unet_ws_free(ws);
        return NULL;
    }
    return ws;
}

/* ---- the network ------------------------------------------------------------------------------------- */

static void swap(float **a, float **b)
{
    float *t = *a;
    *a = *b;
    *b = t;
}

/* *X (r->cin channels) -> *X (r->cout channels), through A, B, C. */
static void res_forward(const jp_unet *u, jp_unet_ws *ws, const res_block *r, int n, int side, float **X, float **A, float **B,
                        float **C)
{
    int hw = side * side;
    jp_nn_groupnorm(*X, r->cin, n, hw, u->groups, r->n1g, r->n1b, u->eps, 1, *A);
    jp_nn_conv2d(&r->c1, *A, n, side, side, *B, NULL, JP_ACT_NONE, ws->col);
    jp_nn_linear(ws->e, n, u->emb, r->pw, r->pb, r->cout, ws->proj, 0, JP_ACT_NONE);
    jp_nn_add_channel_bias(*B, r->cout, n, hw, ws->proj);
    jp_nn_groupnorm(*B, r->cout, n, hw, u->groups, r->n2g, r->n2b, u->eps, 1, *A);
    const float *resid = *X;
    if (r->has_sc) {
        jp_nn_conv2d(&r->sc, *X, n, side, side, *B, NULL, JP_ACT_NONE, ws->col);
        resid = *B;
    }
    jp_nn_conv2d(&r->c2, *A, n, side, side, *C, resid, JP_ACT_NONE, ws->col);
    swap(X, C);
}

static void attn_forward(const jp_unet *u, jp_unet_ws *ws, const attn_block *a, int n, int side, float *X, float *A,
                         float *B)
{
    int hw = side * side, c = a->c;
    jp_nn_groupnorm(X, c, n, hw, u->groups, a->ng, a->nb, u->eps, 0, A);
    jp_nn_cnhw_to_tokens(A, c, n, hw, B);
    jp_nn_linear(B, n * hw, c, a->wqkv, a->bqkv, 3 * c, ws->qkv, 0, JP_ACT_NONE);
    jp_nn_attention(ws->qkv, n, hw, c, a->heads, A, ws->scores);
    jp_nn_linear(A, n * hw, c, a->wo, a->bo, c, B, 0, JP_ACT_NONE);
    jp_nn_tokens_add_cnhw(B, c, n, hw, X);
}

void jp_unet_eps(const jp_unet *u, jp_unet_ws *ws, const float *x, const float *t, const int *labels, int n, float *eps)
{
    /* the embedding: SiLU(linear_2(SiLU(linear_1(sinusoid(t)))) + class_embedding(label)) */
    jp_nn_timestep_embedding(t, n, u->tch, ws->temb);
    jp_nn_linear(ws->temb, n, u->tch, u->l1w, u->l1b, u->emb, ws->e1, 0, JP_ACT_NONE);
    jp_nn_silu(ws->e1, (size_t)n * u->emb);
    jp_nn_linear(ws->e1, n, u->emb, u->l2w, u->l2b, u->emb, ws->e, 0, JP_ACT_NONE);
    for (int i = 0; i < n; i++) {
        int l = labels[i] >= 0 && labels[i] <= u->null_class ? labels[i] : u->null_class;
        jp_nn_add(ws->e + (size_t)i * u->emb, u->cemb + (size_t)l * u->emb, (size_t)u->emb);
    }
    jp_nn_silu(ws->e, (size_t)n * u->emb);

    float *X = ws->X, *A = ws->A, *B = ws->B, *C = ws->C;
    int side = u->size;
    /* one input channel: NCHW is CNHW */
    jp_nn_conv2d(&u->conv_in, x, n, side, side, X, NULL, JP_ACT_NONE, ws->col);
    int cur = u->widths[0];
    for (int i = 0; i < u->levels; i++) {
        for (int j = 0; j < u->nres; j++) res_forward(u, ws, &u->down[i][j], n, side, &X, &A, &B, &C);
        cur = u->widths[i];
        memcpy(ws->skip[i], X, (size_t)n * u->skip[i] * sizeof *X);
        if (i < u->levels - 1) {
            jp_nn_conv2d(&u->downs[i], X, n, side, side, C, NULL, JP_ACT_NONE, ws->col);
            swap(&X, &C);
            side /= 2;
        }
    }
    res_forward(u, ws, &u->mid[0], n, side, &X, &A, &B, &C);
    if (u->attention) attn_forward(u, ws, &u->attn, n, side, X, A, B);
    res_forward(u, ws, &u->mid[1], n, side, &X, &A, &B, &C);
    for (int k = 0; k < u->levels; k++) {
        int i = u->levels - 1 - k;
        /* concatenate along channels: CNHW keeps each channel's n planes together, so [X ; skip] */
        size_t xs = (size_t)cur * n * side * side;
        memcpy(A, X, xs * sizeof *A);
        memcpy(A + xs, ws->skip[i], (size_t)n * u->skip[i] * sizeof *A);
        swap(&X, &A);
        for (int j = 0; j < u->nres; j++) res_forward(u, ws, &u->up[k][j], n, side, &X, &A, &B, &C);
        cur = u->widths[i];
        if (i > 0) {
            jp_nn_upsample2x(X, cur * n, side, side, A);
            side *= 2;
            jp_nn_conv2d(&u->ups[k], A, n, side, side, C, NULL, JP_ACT_NONE, ws->col);
            swap(&X, &C);
        }
    }
    jp_nn_groupnorm(X, cur, n, side * side, u->groups, u->og, u->ob, u->eps, 1, A);
    jp_nn_conv2d(&u->conv_out, A, n, side, side, eps, NULL, JP_ACT_NONE, ws->col);
}
