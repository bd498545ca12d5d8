/* The forward pass of each family, top to bottom, on one lane (n images, input NCHW, logits
 * [n][nlabels]), and jp_nn_forward, which splits a batch across the lanes. Allocates nothing. */
#define _POSIX_C_SOURCE 200809L
#include "nn/model_impl.h"

/* ---- forward passes (one lane: n images, input NCHW, logits [n][nlabels]) ------------------------ */

/* The classifier head: logits from the penultimate features x [n][cls.in], which are also copied to
 * the lane's feature output when one was asked for (jp_nn_forward_features). */
static void head(jp_nn_model *m, lane *L, const float *x, int n, float *logits)
{
    if (L->feats) memcpy(L->feats, x, (size_t)n * m->cls.in * sizeof *x);
    jp_nnm_lin(m, x, n, &m->cls, logits, 0, JP_ACT_NONE);
}

static void forward_mlp(jp_nn_model *m, lane *L, const float *in, int n, float *logits)
{
    const float *x = in;
    for (int i = 0; i < m->nfc; i++) {
        float *y = L->buf[i & 1];
        jp_nnm_lin(m, x, n, &m->fc[i], y, 0, JP_ACT_RELU);
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
    int h = m->h, w = m->w, c = m->c, xb = 0; /* x is buf[xb] (or the input, read once) */
    for (int i = 0; i < m->nconvs; i++) {
        const jp_nn_conv *cv = &m->convs[i];
        if (cv->k == 3 && cv->pad == 1 && jp_nnm_conv_pool(m, L, cv, x, n, h, w, L->buf[1 - xb], JP_ACT_RELU)) {
            xb = 1 - xb; /* convolution and pooling in one pass */
        } else {
            jp_nnm_conv(m, L, cv, x, n, h, w, L->buf[1 - xb], NULL, JP_ACT_RELU);
            h = jp_nn_out_size(h, cv->k, 1, cv->pad);
            w = jp_nn_out_size(w, cv->k, 1, cv->pad);
            jp_nn_maxpool2d(L->buf[1 - xb], cv->cout * n, h, w, 2, 2, 0, L->buf[xb]);
        }
        h /= 2;
        w /= 2;
        c = cv->cout;
        x = L->buf[xb];
    }
    jp_nn_cnhw_to_rows(x, c, n, h * w, L->buf[1 - xb]);
    jp_nnm_lin(m, L->buf[1 - xb], n, &m->fc[0], L->buf[2], 0, JP_ACT_RELU);
    head(m, L, L->buf[2], n, logits);
}

static void forward_resnet(jp_nn_model *m, lane *L, const float *in, int n, float *logits)
{
    const float *x = to_cnhw(m, in, n, L->buf[0]);
    int h = m->h, w = m->w;
    jp_nnm_conv(m, L, &m->stem, x, n, h, w, L->buf[1], NULL, JP_ACT_RELU);
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
            jp_nnm_conv(m, L, &b->sc, L->buf[cur], n, h, w, L->buf[f[2]], NULL, JP_ACT_NONE);
            sc = L->buf[f[2]];
        }
        int src = cur, bh = h, bw = w;
        for (int i = 0; i < b->nconv; i++) {
            const jp_nn_conv *cv = &b->conv[i];
            int dst = f[i & 1], last = i == b->nconv - 1;
            jp_nnm_conv(m, L, cv, L->buf[src], n, bh, bw, L->buf[dst], last ? sc : NULL, JP_ACT_RELU);
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
    jp_nnm_lin(m, P, n * np, &m->patch_proj, H, 0, JP_ACT_NONE);
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
        jp_nnm_lin(m, H, rows, &Ly->qkv, QKV, 0, JP_ACT_NONE);
        jp_nnm_attn(m, L, QKV, n, H);
        jp_nnm_lin(m, H, rows, &Ly->out, X, 1, JP_ACT_NONE);
        jp_nn_layernorm(X, rows, d, Ly->ln2_g, Ly->ln2_b, m->ln_eps, H);
        jp_nnm_lin(m, H, rows, &Ly->fc1, M, 0, JP_ACT_GELU);
        jp_nnm_lin(m, M, rows, &Ly->fc2, X, 1, JP_ACT_NONE);
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
    run_images(m, &m->lanes[li], m->job_in, jp_nnm_split(m->job_batch, li, lanes), jp_nnm_split(m->job_batch, li + 1, lanes),
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
        m->intra = 0;
        if (m->threads > 1) /* a single image: split or not, as split_choice.h chooses */
            m->intra = jp_nn_split_clock(&m->split) ? jp_nn_split_next(&m->split, jp_now()) : m->split.split;
        run_images(m, &m->lanes[0], input, 0, batch, logits);
        m->intra = 0;
        return JP_OK;
    }
    m->job_in = input;
    m->job_logits = logits;
    m->job_batch = batch;
    jp_nnm_pool_run(m, batch_task_fn, NULL, batch < m->threads ? batch : m->threads);
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

