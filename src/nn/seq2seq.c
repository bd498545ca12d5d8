/* The summarization models: a T5-like encoder-decoder (models/sum/train.py), read from config.json,
 * model.safetensors and tokenizer.txt, run in float32 with greedy or beam search (jouleprint.h).
 *
 * The network, top to bottom (as train.py's Seq2Seq):
 *   encoder: x = E[src] + P_enc[pos]; per layer x += SelfAttn(RMS(x)); x += FF(RMS(x)); enc = RMS(x)
 *   decoder: x = E[tok] + P_dec[pos]; per layer x += CausalSelfAttn(RMS(x)); x += CrossAttn(RMS(x), enc);
 *            x += FF(RMS(x)); logits = (RMS(x) * d^-0.5) E^T
 *   RMS(x) = x / sqrt(mean(x^2) + eps) * w; FF(x) = wo relu(wi x); attention scaled by 1/sqrt(d_head); no
 *   biases anywhere. Tensor names are Hugging Face T5's, plus encoder/decoder.embed_positions.weight.
 *   With "copy": true (a pointer-generator head, train.py's Seq2Seq.output), h = RMS(x) of the decoder:
 *   a = softmax over the source of (Wq h) . enc_j / sqrt(d); c = sum a_j enc_j; g = sigmoid(wg [h; c] + bg);
 *   the output is log P, P(w) = g softmax(logits)(w) + (1 - g) sum_{j: src_j = w} a_j, computed as
 *   log_softmax + log g for every word and log-sum-exp'ed with log(1 - g) + log(copy mass) for the words
 *   of the source (so no probability underflows to log 0).
 *
 * Each source is encoded on its own (rows of all sources side by side for the linear layers, attention
 * per source), so no padding is needed. The decoder runs one position at a time over all rows (batch x
 * beam) with a key/value cache per layer; the cross-attention keys and values of the encoder output are
 * computed once per text. Decoding may be steered (jp_s2s_gen): words (every word written is one of the
 * source's or of words.txt, checked on prefix sets for the candidates that could enter the beam) and a
 * span bonus (added to the score of each token that follows the last one somewhere in the source).
 * Threads: the batch is split into up to T slices ("lanes"), each with its own
 * workspace, run side by side. Every buffer is allocated at load; generating allocates nothing (the
 * worker threads of a call are started per call, outside the decoding loop). */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jouleprint/workloads.h"
#include "nn/blas.h"
#include "nn/ops.h"
#include "nn/safetensors.h"
#include "nn/words.h"
#include "util.h"

#define MAX_THREADS 64
#define MAX_LAYERS 64

typedef struct attn_w {
    float *q, *k, *v, *o;
} attn_w;
typedef struct layer_w {
    float *ln[3]; /* self, (cross,) ff */
    attn_w sa, ca;
    float *wi, *wo;
    /* decoder: the step's weights transposed ([in][out]) for jp_nn_rows512, where the CPU has AVX-512 */
    attn_w sat, cat;
    float *wit, *wot;
} layer_w;

typedef struct lane {
    struct jp_s2s *m;
    int cap_src;     /* sources this lane holds at most */
    /* encoder, rows = sum of the sources' lengths <= cap_src * max_source */
    float *ex, *eh, *eq, *ek, *ev, *ectx, *eff, *att;
    float **ck, **cv; /* per decoder layer: cross keys / values [rows][d] */
    int *soff, *slen; /* per source: first row, length */
    /* decoder, rows = cap_src * max_beam */
    float **kc[2], **vc[2]; /* per layer, two buffers (beam reordering): [row][max_target][d] */
    int cur;
    float *x, *h, *q, *k, *v, *ctx, *ff, *logits;
    float *gate, *mass; /* copy head: [row] the gate's dot with h; [vocab] copy mass of one row, kept zero */
    int32_t *seq[2]; /* [row][max_target] generated tokens */
    float *score;    /* [row] cumulated log-probability */
    int *parent, *next_tok;
    float *next_score;
    float *cand_s;   /* [2 * beam] candidates of one source */
    int *cand_r, *cand_t;
    int32_t *fin_tok;  /* [src][beam][max_target] */
    int *fin_len, *fin_n, *done;
    float *fin_score;
    /* the word constraint (jp_s2s_gen.words): the words of this job's sources, salted by source */
    jp_wordset src_words;
    unsigned char *src_bytes; /* [max_src * max_piece] one source's bytes */
    /* a job */
    const int32_t *const *src;
    const int *src_len;
    int n;
    const jp_s2s_gen *gen;
    int32_t *const *out;
    int *out_len;
    const int32_t *tgt_in;
    int tgt_len;
    float *logits_out;
    int rc;
} lane;

struct jp_s2s {
    int d, heads, dh, ff, le, ld, vocab, max_src, max_tgt, pad, eos, bos;
    float eps;
    uint64_t params;
    double flops_src, flops_gen;
    float *weights; /* one block */
    float *wt;      /* the decoder step's weights transposed (one block, or NULL): layer_w's sat .. wot, below */
    float *emb_t, *copy_q_t; /* [d][vocab] for the logits, [d][d] */
    float *emb, *pos_enc, *pos_dec, *enc_final, *dec_final;
    int copy;                           /* the copy head, below, is present */
    float *copy_q, *copy_gw, *copy_gb; /* [d][d], [2d], [1] */
    layer_w *enc, *dec;
    jp_bpe *tok;
    jp_wordset words; /* the model's word list (words.txt), or empty */
    int max_piece;    /* the longest token's bytes */
    int max_batch, max_beam, threads, nlanes;
    lane *lanes;
};

/* ---- small operations ------------------------------------------------------------------------ */

static void rms(const float *x, int rows, int d, const float *w, float eps, float *y)
{
    for (int r = 0; r < rows; r++) {
        const float *s = x + (size_t)r * d;
        float *o = y + (size_t)r * d;
        double acc = 0;
        for (int i = 0; i < d; i++) acc += (double)s[i] * s[i];
        float inv = (float)(1.0 / sqrt(acc / d + eps));
        for (int i = 0; i < d; i++) o[i] = s[i] * inv * w[i];
    }
}

/* ctx[dh] = softmax(q . keys^T * scale) values, over n keys with row stride ld. att: n floats.
 * The scores are taken 8 keys at a time, each its own sum in the order of i (as one key at a time would
 * give it, bit for bit): 8 independent chains of additions keep the FPU busy where one chain waits on
 * each addition's latency. */
static void attend(const float *q, const float *keys, const float *vals, int n, int ld, int dh, float scale,
                   float *att, float *ctx)
{
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const float *k = keys + (size_t)j * ld;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (int i = 0; i < dh; i++) {
            s0 += q[i] * k[i];
            s1 += q[i] * k[ld + i];
            s2 += q[i] * k[2 * (size_t)ld + i];
            s3 += q[i] * k[3 * (size_t)ld + i];
            s4 += q[i] * k[4 * (size_t)ld + i];
            s5 += q[i] * k[5 * (size_t)ld + i];
            s6 += q[i] * k[6 * (size_t)ld + i];
            s7 += q[i] * k[7 * (size_t)ld + i];
        }
        att[j] = s0 * scale;
        att[j + 1] = s1 * scale;
        att[j + 2] = s2 * scale;
        att[j + 3] = s3 * scale;
        att[j + 4] = s4 * scale;
        att[j + 5] = s5 * scale;
        att[j + 6] = s6 * scale;
        att[j + 7] = s7 * scale;
    }
    for (; j < n; j++) {
        const float *k = keys + (size_t)j * ld;
        float s = 0;
        for (int i = 0; i < dh; i++) s += q[i] * k[i];
        att[j] = s * scale;
    }
    float mx = -INFINITY;
    for (j = 0; j < n; j++)
        if (att[j] > mx) mx = att[j];
    float sum = 0;
    for (j = 0; j < n; j++) {
        att[j] = expf(att[j] - mx);
        sum += att[j];
    }
    float inv = 1.0f / sum;
    /* ctx[i] = sum over j in order of (att[j] * inv) v_j[i], 8 columns at a time held in registers (written
     * to ctx, the compiler cannot tell that ctx is not vals, and goes through memory for every j) */
    int i = 0;
    for (; i + 8 <= dh; i += 8) {
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
        for (j = 0; j < n; j++) {
            const float *v = vals + (size_t)j * ld + i;
            float p = att[j] * inv;
            c0 += p * v[0];
            c1 += p * v[1];
            c2 += p * v[2];
            c3 += p * v[3];
            c4 += p * v[4];
            c5 += p * v[5];
            c6 += p * v[6];
            c7 += p * v[7];
        }
        ctx[i] = c0;
        ctx[i + 1] = c1;
        ctx[i + 2] = c2;
        ctx[i + 3] = c3;
        ctx[i + 4] = c4;
        ctx[i + 5] = c5;
        ctx[i + 6] = c6;
        ctx[i + 7] = c7;
    }
    for (; i < dh; i++) {
        float c = 0;
        for (j = 0; j < n; j++) {
            float p = att[j] * inv;
            c += p * vals[(size_t)j * ld + i];
        }
        ctx[i] = c;
    }
}

/* ---- encoder ---------------------------------------------------------------------------------- */

static void encode(lane *L)
{
    jp_s2s *m = L->m;
    int d = m->d, rows = 0;
    float scale = 1.0f / sqrtf((float)m->dh);
    for (int s = 0; s < L->n; s++) {
        L->soff[s] = rows;
        L->slen[s] = L->src_len[s];
        for (int t = 0; t < L->src_len[s]; t++) {
            const float *e = m->emb + (size_t)L->src[s][t] * d, *p = m->pos_enc + (size_t)t * d;
            float *x = L->ex + (size_t)(rows + t) * d;
            for (int i = 0; i < d; i++) x[i] = e[i] + p[i];
        }
        rows += L->src_len[s];
    }
    for (int l = 0; l < m->le; l++) {
        layer_w *w = &m->enc[l];
        rms(L->ex, rows, d, w->ln[0], m->eps, L->eh);
        jp_nn_linear(L->eh, rows, d, w->sa.q, NULL, d, L->eq, 0, JP_ACT_NONE);
        jp_nn_linear(L->eh, rows, d, w->sa.k, NULL, d, L->ek, 0, JP_ACT_NONE);
        jp_nn_linear(L->eh, rows, d, w->sa.v, NULL, d, L->ev, 0, JP_ACT_NONE);
        for (int s = 0; s < L->n; s++)
            for (int h = 0; h < m->heads; h++)
                for (int t = 0; t < L->slen[s]; t++) {
                    size_t r = (size_t)(L->soff[s] + t) * d + (size_t)h * m->dh;
                    size_t r0 = (size_t)L->soff[s] * d + (size_t)h * m->dh;
                    attend(L->eq + r, L->ek + r0, L->ev + r0, L->slen[s], d, m->dh, scale, L->att, L->ectx + r);
                }
        jp_nn_linear(L->ectx, rows, d, w->sa.o, NULL, d, L->ex, 1, JP_ACT_NONE);
        rms(L->ex, rows, d, w->ln[1], m->eps, L->eh);
        jp_nn_linear(L->eh, rows, d, w->wi, NULL, m->ff, L->eff, 0, JP_ACT_RELU);
        jp_nn_linear(L->eff, rows, m->ff, w->wo, NULL, d, L->ex, 1, JP_ACT_NONE);
    }
    rms(L->ex, rows, d, m->enc_final, m->eps, L->eh);
    for (int l = 0; l < m->ld; l++) {
        jp_nn_linear(L->eh, rows, d, m->dec[l].ca.k, NULL, d, L->ck[l], 0, JP_ACT_NONE);
        jp_nn_linear(L->eh, rows, d, m->dec[l].ca.v, NULL, d, L->cv[l], 0, JP_ACT_NONE);
    }
}

/* log(exp(a) + exp(b)) */
static float log_add(float a, float b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1pf(expf(b - a)) : b + log1pf(expf(a - b));
}

/* log sigmoid(z), stable for large |z| */
static float log_sigmoid(float z) { return z >= 0 ? -log1pf(expf(-z)) : z - log1pf(expf(z)); }

static void log_softmax(float *x, int n);

/* The copy head (see the top): turns rows 0..R-1 of L->logits into log P. Needs L->q = Wq h and
 * L->gate = wg[0:d] . h from decode_step, and the encoder output in L->eh. */
static void copy_mix(lane *L, int R, int beam)
{
    jp_s2s *m = L->m;
    int d = m->d, V = m->vocab;
    float scale = 1.0f / sqrtf((float)d);
    for (int r = 0; r < R; r++) {
        int s = r / beam, n = L->slen[s];
        const float *enc = L->eh + (size_t)L->soff[s] * d;
        float *ctx = L->ctx + (size_t)r * d, *lg = L->logits + (size_t)r * V;
        /* a over the source and c = sum a_j enc_j: attend() with the encoder output as keys and values */
        attend(L->q + (size_t)r * d, enc, enc, n, d, d, scale, L->att, ctx);
        float sum = 0;
        for (int j = 0; j < n; j++) sum += L->att[j];
        float z = L->gate[r] + m->copy_gb[0];
        for (int i = 0; i < d; i++) z += m->copy_gw[d + i] * ctx[i];
        float lg_gen = log_sigmoid(z), lg_copy = log_sigmoid(-z);
        log_softmax(lg, V);
        for (int v = 0; v < V; v++) lg[v] += lg_gen;
        const int32_t *src = L->src[s];
        for (int j = 0; j < n; j++) L->mass[src[j]] += L->att[j] / sum;
        for (int j = 0; j < n; j++) {
            float c = L->mass[src[j]];
            if (c > 0) lg[src[j]] = log_add(lg[src[j]], lg_copy + logf(c));
            L->mass[src[j]] = 0; /* each word once; the scratch is left zero */
        }
    }
}

/* ---- decoder: one position t for rows 0..R-1, row r reading source r / beam; tok[r] its input token.
 * Leaves logits [R][vocab]. */
/* y[R][out] (+)= x[R][in] w^T: through wt (w transposed at load, jp_nn_linear512) where it exists, else
 * OpenBLAS, which packed the whole weight for every call, most of a decoding step's time. Both sum over k
 * in order with one fused multiply-add each. */
static void step_linear(const float *x, int R, int in, const float *w, const float *wt, int out, float *y, int acc,
                        jp_nn_act act)
{
    if (wt && jp_nn_gemm512_ok())
        jp_nn_linear512(R, out, in, x, in, wt, out, y, out, NULL, acc, act);
    else
        jp_nn_linear(x, R, in, w, NULL, out, y, acc, act);
}

static void decode_step(lane *L, int R, int beam, const int32_t *tok, int tok_stride, int t)
{
    jp_s2s *m = L->m;
    int d = m->d, T = m->max_tgt, c = L->cur;
    float scale = 1.0f / sqrtf((float)m->dh);
    for (int r = 0; r < R; r++) {
        const float *e = m->emb + (size_t)tok[(size_t)r * tok_stride] * d, *p = m->pos_dec + (size_t)t * d;
        float *x = L->x + (size_t)r * d;
        for (int i = 0; i < d; i++) x[i] = e[i] + p[i];
    }
    for (int l = 0; l < m->ld; l++) {
        layer_w *w = &m->dec[l];
        rms(L->x, R, d, w->ln[0], m->eps, L->h);
        step_linear(L->h, R, d, w->sa.q, w->sat.q, d, L->q, 0, JP_ACT_NONE);
        step_linear(L->h, R, d, w->sa.k, w->sat.k, d, L->k, 0, JP_ACT_NONE);
        step_linear(L->h, R, d, w->sa.v, w->sat.v, d, L->v, 0, JP_ACT_NONE);
        float *kc = L->kc[c][l], *vc = L->vc[c][l];
        for (int r = 0; r < R; r++) {
            memcpy(kc + ((size_t)r * T + t) * d, L->k + (size_t)r * d, (size_t)d * sizeof(float));
            memcpy(vc + ((size_t)r * T + t) * d, L->v + (size_t)r * d, (size_t)d * sizeof(float));
            for (int h = 0; h < m->heads; h++) {
                size_t o = (size_t)h * m->dh;
                attend(L->q + (size_t)r * d + o, kc + (size_t)r * T * d + o, vc + (size_t)r * T * d + o, t + 1, d,
                       m->dh, scale, L->att, L->ctx + (size_t)r * d + o);
            }
        }
        step_linear(L->ctx, R, d, w->sa.o, w->sat.o, d, L->x, 1, JP_ACT_NONE);
        rms(L->x, R, d, w->ln[1], m->eps, L->h);
        step_linear(L->h, R, d, w->ca.q, w->cat.q, d, L->q, 0, JP_ACT_NONE);
        for (int r = 0; r < R; r++) {
            int s = r / beam;
            for (int h = 0; h < m->heads; h++) {
                size_t o = (size_t)h * m->dh, base = (size_t)L->soff[s] * d + o;
                attend(L->q + (size_t)r * d + o, L->ck[l] + base, L->cv[l] + base, L->slen[s], d, m->dh, scale, L->att,
                       L->ctx + (size_t)r * d + o);
            }
        }
        step_linear(L->ctx, R, d, w->ca.o, w->cat.o, d, L->x, 1, JP_ACT_NONE);
        rms(L->x, R, d, w->ln[2], m->eps, L->h);
        step_linear(L->h, R, d, w->wi, w->wit, m->ff, L->ff, 0, JP_ACT_RELU);
        step_linear(L->ff, R, m->ff, w->wo, w->wot, d, L->x, 1, JP_ACT_NONE);
    }
    rms(L->x, R, d, m->dec_final, m->eps, L->h);
    if (m->copy) { /* what the copy head needs of h, before h is scaled for the logits */
        step_linear(L->h, R, d, m->copy_q, m->copy_q_t, d, L->q, 0, JP_ACT_NONE);
        for (int r = 0; r < R; r++) {
            const float *h = L->h + (size_t)r * d;
            float g = 0;
            for (int i = 0; i < d; i++) g += m->copy_gw[i] * h[i];
            L->gate[r] = g;
        }
    }
    float sc = 1.0f / sqrtf((float)d);
    for (size_t i = 0; i < (size_t)R * d; i++) L->h[i] *= sc;
    step_linear(L->h, R, d, m->emb, m->emb_t, m->vocab, L->logits, 0, JP_ACT_NONE); /* the tied embedding */
    if (m->copy) copy_mix(L, R, beam);
}

/* ---- jobs ------------------------------------------------------------------------------------- */

/* ---- the word constraint (jp_s2s_gen.words, nn/words.h) ---- */

/* Where a sequence leaves its last word: open (*h the hash of its bytes so far) or not. */
typedef struct word_state {
    int open;
    uint64_t h;
} word_state;

static void scan_bytes(word_state *w, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (jp_word_byte(b[i])) {
            w->h = jp_word_step(w->open ? w->h : JP_WORD_START, b[i]);
            w->open = 1;
        } else {
            w->open = 0;
        }
    }
}

/* The state after seq[0..len): found from the token where its last word starts (tokens are walked back
 * while each starts with a word byte and the one before ends with one), so no state is carried between
 * steps and beam reordering needs nothing more. */
static word_state word_state_of(const jp_s2s *m, const int32_t *seq, int len)
{
    word_state w = {0, JP_WORD_START};
    int i = len;
    size_t n;
    while (i > 0) {
        const unsigned char *b = jp_bpe_piece(m->tok, seq[i - 1], &n);
        if (!b || !jp_word_byte(b[n - 1])) break;
        i--;
        if (!jp_word_byte(b[0])) break;
    }
    for (; i < len; i++) {
        const unsigned char *b = jp_bpe_piece(m->tok, seq[i], &n);
        if (b) scan_bytes(&w, b, n);
        else w.open = 0;
    }
    return w;
}

static unsigned word_flags(const lane *L, int s, uint64_t h)
{
    return jp_wordset_get(&L->m->words, h, 0) | jp_wordset_get(&L->src_words, h, (uint64_t)s + 1);
}

/* Whether token v may follow state w for source s: every word it ends is a whole word of the source or
 * of the list, and the word it leaves open is a prefix of one, or, when v is the last token the length
 * allows (last), a whole word. </s> ends the open word; <pad> and <s> are never written. */
static int word_ok(const lane *L, int s, word_state w, int v, int last)
{
    const jp_s2s *m = L->m;
    if (v == m->eos) return !w.open || (word_flags(L, s, w.h) & JP_WORD_WHOLE);
    size_t n;
    const unsigned char *b = jp_bpe_piece(m->tok, v, &n);
    if (!b) return 0;
    for (size_t i = 0; i < n; i++) {
        if (jp_word_byte(b[i])) {
            w.h = jp_word_step(w.open ? w.h : JP_WORD_START, b[i]);
            w.open = 1;
        } else if (w.open) {
            if (!(word_flags(L, s, w.h) & JP_WORD_WHOLE)) return 0;
            w.open = 0;
        }
    }
    return !w.open || (word_flags(L, s, w.h) & (last ? JP_WORD_WHOLE : JP_WORD_PREFIX));
}

/* The words of this job's sources into L->src_words (salt: source index + 1). */
static void source_words(lane *L)
{
    const jp_s2s *m = L->m;
    jp_wordset_clear(&L->src_words);
    for (int s = 0; s < L->n; s++) {
        size_t o = 0, n;
        for (int t = 0; t < L->src_len[s]; t++) {
            const unsigned char *b = jp_bpe_piece(m->tok, L->src[s][t], &n);
            if (b) memcpy(L->src_bytes + o, b, n), o += n;
            else L->src_bytes[o++] = ' ';
        }
        jp_wordset_add(&L->src_words, L->src_bytes, o, (uint64_t)s + 1); /* sized at load: never full */
    }
}

/* The span bonus (jp_s2s_gen.span_bonus): adds b to row lg's score of every token that follows, somewhere
 * in source s, the token last just written, so that decoding prefers to continue a phrase of the text it
 * has started copying. Each such token once; banned tokens (-inf) stay banned. L->mass is the scratch
 * (zero before and after). */
static void span_bonus(lane *L, int s, float *lg, int last, float b)
{
    const int32_t *src = L->src[s];
    int n = L->src_len[s];
    for (int j = 0; j + 1 < n; j++)
        if (src[j] == last && L->mass[src[j + 1]] == 0) {
            L->mass[src[j + 1]] = 1;
            if (lg[src[j + 1]] > -INFINITY) lg[src[j + 1]] += b;
        }
    for (int j = 0; j + 1 < n; j++) L->mass[src[j + 1]] = 0;
}

static void job_logits(lane *L)
{
    jp_s2s *m = L->m;
    encode(L);
    L->cur = 0;
    for (int t = 0; t < L->tgt_len; t++) {
        decode_step(L, L->n, 1, L->tgt_in + t, L->tgt_len, t);
        for (int r = 0; r < L->n; r++)
            memcpy(L->logits_out + ((size_t)r * L->tgt_len + t) * m->vocab, L->logits + (size_t)r * m->vocab,
                   (size_t)m->vocab * sizeof(float));
    }
}

static void job_greedy(lane *L, int steps)
{
    jp_s2s *m = L->m;
    int V = m->vocab, T = m->max_tgt;
    encode(L);
    L->cur = 0;
    int32_t *in = L->seq[0];
    for (int r = 0; r < L->n; r++) {
        in[(size_t)r * T] = m->bos;
        L->done[r] = 0;
        L->out_len[r] = 0;
    }
    int left = L->n, words = L->gen->words;
    if (words) source_words(L);
    for (int t = 0; t < steps && left > 0; t++) {
        decode_step(L, L->n, 1, in + t, T, t);
        for (int r = 0; r < L->n; r++) {
            float *lg = L->logits + (size_t)r * V;
            if (L->gen->span_bonus != 0 && t > 0) span_bonus(L, r, lg, in[(size_t)r * T + t], (float)L->gen->span_bonus);
            int best = 0;
            if (!words) {
                for (int v = 1; v < V; v++)
                    if (lg[v] > lg[best]) best = v;
            } else if (!L->done[r]) {
                /* the best token the word constraint allows (one always is: </s> after a whole word,
                 * else the next byte of a word that the open one begins) */
                word_state w = word_state_of(m, in + (size_t)r * T + 1, t);
                best = -1;
                for (int v = 0; v < V; v++)
                    if ((best < 0 || lg[v] > lg[best]) && word_ok(L, r, w, v, t == steps - 1)) best = v;
                if (best < 0) best = m->eos;
            }
            in[(size_t)r * T + t + 1] = best;
            if (L->done[r]) continue;
            if (best == m->eos) {
                L->done[r] = 1;
                left--;
            } else {
                L->out[r][L->out_len[r]++] = best;
            }
        }
    }
}

/* log-softmax of a row, in place */
static void log_softmax(float *x, int n)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx) mx = x[i];
    double s = 0;
    for (int i = 0; i < n; i++) s += exp((double)(x[i] - mx));
    float lse = mx + (float)log(s);
    for (int i = 0; i < n; i++) x[i] -= lse;
}

/* Bans, in row lg, each token that would repeat an n-gram already in seq[0..len). */
static void ban_ngrams(float *lg, const int32_t *seq, int len, int n)
{
    if (n <= 0 || len + 1 < n) return;
    /* the last n-1 tokens; any earlier occurrence of them followed by token x bans x */
    for (int i = 0; i + n <= len; i++) {
        int same = 1;
        for (int j = 0; j < n - 1 && same; j++) same = seq[i + j] == seq[len - (n - 1) + j];
        if (same) lg[seq[i + n - 1]] = -INFINITY;
    }
}

static void add_finished(lane *L, int s, int B, const int32_t *toks, int len, float score)
{
    int T = L->m->max_tgt;
    int n = L->fin_n[s], slot;
    if (n < B) {
        slot = n;
        L->fin_n[s]++;
    } else {
        slot = 0;
        for (int i = 1; i < B; i++)
            if (L->fin_score[s * B + i] < L->fin_score[s * B + slot]) slot = i;
        if (L->fin_score[s * B + slot] >= score) return;
    }
    memcpy(L->fin_tok + ((size_t)s * B + slot) * T, toks, (size_t)len * sizeof(int32_t));
    L->fin_len[s * B + slot] = len;
    L->fin_score[s * B + slot] = score;
}

static void job_beam(lane *L, int steps)
{
    jp_s2s *m = L->m;
    const jp_s2s_gen *g = L->gen;
    int V = m->vocab, T = m->max_tgt, B = g->beam, R = L->n * B, C = 2 * B;
    encode(L);
    if (g->words) source_words(L);
    L->cur = 0;
    for (int r = 0; r < R; r++) {
        L->seq[0][(size_t)r * T] = m->bos;
        L->score[r] = (r % B == 0) ? 0.0f : -INFINITY;
    }
    for (int s = 0; s < L->n; s++) L->fin_n[s] = 0, L->done[s] = 0;
    int cur = 0;
    for (int t = 0; t < steps; t++) {
        L->cur = cur;
        decode_step(L, R, B, L->seq[cur] + t, T, t);
        int all_done = 1;
        for (int s = 0; s < L->n; s++) {
            if (L->done[s]) {
                for (int j = 0; j < B; j++) L->parent[s * B + j] = s * B + j, L->next_tok[s * B + j] = m->pad,
                                            L->next_score[s * B + j] = -INFINITY;
                continue;
            }
            int nc = 0;
            for (int j = 0; j < B; j++) {
                int r = s * B + j;
                if (L->score[r] == -INFINITY) continue;
                float *lg = L->logits + (size_t)r * V;
                if (!m->copy) log_softmax(lg, V); /* the copy head's output is log P already */
                /* the sequence so far, without <s> */
                ban_ngrams(lg, L->seq[cur] + (size_t)r * T + 1, t, g->no_repeat_ngram);
                if (g->span_bonus != 0 && t > 0) span_bonus(L, s, lg, L->seq[cur][(size_t)r * T + t], (float)g->span_bonus);
                word_state w = {0, 0};
                if (g->words) w = word_state_of(m, L->seq[cur] + (size_t)r * T + 1, t);
                for (int v = 0; v < V; v++) {
                    float sc = L->score[r] + lg[v];
                    if (sc == -INFINITY) continue;
                    if ((nc < C || sc > L->cand_s[nc - 1]) && (!g->words || word_ok(L, s, w, v, t == steps - 1))) {
                        int k = nc < C ? nc++ : C - 1;
                        while (k > 0 && L->cand_s[k - 1] < sc) {
                            L->cand_s[k] = L->cand_s[k - 1];
                            L->cand_r[k] = L->cand_r[k - 1];
                            L->cand_t[k] = L->cand_t[k - 1];
                            k--;
                        }
                        L->cand_s[k] = sc;
                        L->cand_r[k] = r;
                        L->cand_t[k] = v;
                    }
                }
            }
            int kept = 0;
            for (int k = 0; k < nc && kept < B; k++) {
                if (L->cand_t[k] == m->eos) {
                    /* length with </s>: t + 1 */
                    float norm = L->cand_s[k] / (float)pow((double)(t + 1), g->length_penalty);
                    add_finished(L, s, B, L->seq[cur] + (size_t)L->cand_r[k] * T + 1, t, norm);
                    continue;
                }
                int r = s * B + kept++;
                L->parent[r] = L->cand_r[k];
                L->next_tok[r] = L->cand_t[k];
                L->next_score[r] = L->cand_s[k];
            }
            for (; kept < B; kept++) {
                int r = s * B + kept;
                L->parent[r] = r;
                L->next_tok[r] = m->pad;
                L->next_score[r] = -INFINITY;
            }
            /* done when B hypotheses are finished and no live one can beat the worst of them (a live
             * score only falls; its normalized value at its best length is bounded by score / len^lp
             * for lp >= 0, so the check uses the current length) */
            if (L->fin_n[s] == B) {
                float worst = INFINITY, best_live = -INFINITY;
                for (int j = 0; j < B; j++)
                    if (L->fin_score[s * B + j] < worst) worst = L->fin_score[s * B + j];
                for (int j = 0; j < B; j++) {
                    float sc = L->next_score[s * B + j];
                    if (sc == -INFINITY) continue;
                    float nb = sc / (float)pow((double)(t + 1), g->length_penalty);
                    if (nb > best_live) best_live = nb;
                }
                if (best_live <= worst) L->done[s] = 1;
            }
            if (!L->done[s]) all_done = 0;
        }
        /* reorder rows into the other buffer */
        int nx = 1 - cur;
        for (int r = 0; r < R; r++) {
            int p = L->parent[r];
            memcpy(L->seq[nx] + (size_t)r * T, L->seq[cur] + (size_t)p * T, (size_t)(t + 1) * sizeof(int32_t));
            L->seq[nx][(size_t)r * T + t + 1] = L->next_tok[r];
            L->score[r] = L->next_score[r];
            for (int l = 0; l < m->ld; l++) {
                memcpy(L->kc[nx][l] + (size_t)r * T * m->d, L->kc[cur][l] + (size_t)p * T * m->d,
                       (size_t)(t + 1) * m->d * sizeof(float));
                memcpy(L->vc[nx][l] + (size_t)r * T * m->d, L->vc[cur][l] + (size_t)p * T * m->d,
                       (size_t)(t + 1) * m->d * sizeof(float));
            }
        }
        cur = nx;
        if (all_done) break;
        if (t == steps - 1) /* out of length: live beams end here, without </s> */
            for (int s = 0; s < L->n; s++)
                if (!L->done[s])
                    for (int j = 0; j < B; j++) {
                        int r = s * B + j;
                        if (L->score[r] == -INFINITY) continue;
                        float norm = L->score[r] / (float)pow((double)(t + 1), g->length_penalty);
                        add_finished(L, s, B, L->seq[cur] + (size_t)r * T + 1, t + 1, norm);
                    }
    }
    for (int s = 0; s < L->n; s++) {
        int best = -1;
        for (int j = 0; j < L->fin_n[s]; j++)
            if (best < 0 || L->fin_score[s * B + j] > L->fin_score[s * B + best]) best = j;
        L->out_len[s] = 0;
        if (best >= 0) {
            L->out_len[s] = L->fin_len[s * B + best];
            memcpy(L->out[s], L->fin_tok + ((size_t)s * B + best) * T, (size_t)L->out_len[s] * sizeof(int32_t));
        }
    }
}

static int g_steps(const jp_s2s *m, const jp_s2s_gen *g)
{
    int max_len = g->max_len > 0 && g->max_len < m->max_tgt ? g->max_len : m->max_tgt;
    return max_len - 1; /* positions 0 .. max_len-2 are fed; at most max_len-1 tokens come out (+ </s>) */
}

static void *lane_main(void *arg)
{
    lane *L = arg;
    if (L->logits_out) job_logits(L);
    else if (L->gen->beam <= 1) job_greedy(L, g_steps(L->m, L->gen));
    else job_beam(L, g_steps(L->m, L->gen));
    return NULL;
}

/* Splits a job over the lanes and runs it. */
static int run_lanes(jp_s2s *m, const int32_t *const *src, const int *src_len, int batch, const jp_s2s_gen *g,
                     int32_t *const *out, int *out_len, const int32_t *tgt_in, int tgt_len, float *logits)
{
    int per = (batch + m->nlanes - 1) / m->nlanes, used = 0;
    pthread_t th[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 0, b = 0; b < batch; i++, b += per) {
        lane *L = &m->lanes[i];
        L->src = src + b;
        L->src_len = src_len + b;
        L->n = batch - b < per ? batch - b : per;
        L->gen = g;
        L->out = out ? out + b : NULL;
        L->out_len = out_len ? out_len + b : NULL;
        L->tgt_in = tgt_in ? tgt_in + (size_t)b * tgt_len : NULL;
        L->tgt_len = tgt_len;
        L->logits_out = logits ? logits + (size_t)b * tgt_len * m->vocab : NULL;
        used = i + 1;
    }
    for (int i = 1; i < used; i++) started[i] = pthread_create(&th[i], NULL, lane_main, &m->lanes[i]) == 0;
    for (int i = 1; i < used; i++)
        if (!started[i]) lane_main(&m->lanes[i]); /* no thread: run it here */
    lane_main(&m->lanes[0]);
    for (int i = 1; i < used; i++)
        if (started[i]) pthread_join(th[i], NULL);
    return JP_OK;
}

static int check_src(const jp_s2s *m, const int32_t *const *src, const int *src_len, int batch)
{
    if (batch < 1 || batch > m->max_batch)
        return jp_fail(JP_ERR_RANGE, "batch %d outside 1..%d (the model was loaded for %d)", batch, m->max_batch,
                       m->max_batch);
    for (int b = 0; b < batch; b++) {
        if (src_len[b] < 1 || src_len[b] > m->max_src)
            return jp_fail(JP_ERR_RANGE, "text %d: %d source tokens, expected 1..%d", b, src_len[b], m->max_src);
        for (int t = 0; t < src_len[b]; t++)
            if (src[b][t] < 0 || src[b][t] >= m->vocab)
                return jp_fail(JP_ERR_RANGE, "text %d: token %d is %d, outside 0..%d", b, t, src[b][t], m->vocab - 1);
    }
    return JP_OK;
}

int jp_s2s_logits(jp_s2s *m, const int32_t *const *src, const int *src_len, int batch, const int32_t *tgt_in,
                  int tgt_len, float *logits)
{
    int rc = check_src(m, src, src_len, batch);
    if (rc != JP_OK) return rc;
    if (tgt_len < 1 || tgt_len > m->max_tgt) return jp_fail(JP_ERR_RANGE, "target length %d outside 1..%d", tgt_len, m->max_tgt);
    for (int i = 0; i < batch * tgt_len; i++)
        if (tgt_in[i] < 0 || tgt_in[i] >= m->vocab) return jp_fail(JP_ERR_RANGE, "target token %d out of range", tgt_in[i]);
    jp_s2s_gen g;
    jp_s2s_gen_init(&g);
    return run_lanes(m, src, src_len, batch, &g, NULL, NULL, tgt_in, tgt_len, logits);
}

void jp_s2s_gen_init(jp_s2s_gen *g)
{
    g->beam = 1;
    g->length_penalty = 1.0;
    g->max_len = 0;
    g->no_repeat_ngram = 0;
    g->words = 0;
    g->span_bonus = 0;
}

int jp_s2s_generate(jp_s2s *m, const int32_t *const *src, const int *src_len, int batch, const jp_s2s_gen *g,
                    int32_t *const *out, int *out_len)
{
    int rc = check_src(m, src, src_len, batch);
    if (rc != JP_OK) return rc;
    if (g->beam < 1 || g->beam > m->max_beam)
        return jp_fail(JP_ERR_RANGE, "beam %d outside 1..%d (the model was loaded for %d)", g->beam, m->max_beam,
                       m->max_beam);
    if (g->max_len < 0 || g->max_len == 1 || g->max_len > m->max_tgt)
        return jp_fail(JP_ERR_RANGE, "max length %d outside 2..%d", g->max_len, m->max_tgt);
    if (g->no_repeat_ngram < 0 || g->no_repeat_ngram > m->max_tgt)
        return jp_fail(JP_ERR_RANGE, "no-repeat n-gram size %d outside 0..%d", g->no_repeat_ngram, m->max_tgt);
    if (g->words != 0 && g->words != 1) return jp_fail(JP_ERR_RANGE, "words %d: expected 0 (off) or 1 (on)", g->words);
    if (!(g->span_bonus >= 0 && g->span_bonus <= 100))
        return jp_fail(JP_ERR_RANGE, "span bonus %g outside 0..100", g->span_bonus);
    if (!(g->length_penalty >= -10 && g->length_penalty <= 10))
        return jp_fail(JP_ERR_RANGE, "length penalty %g outside -10..10", g->length_penalty);
    return run_lanes(m, src, src_len, batch, g, out, out_len, NULL, 0, NULL);
}

/* ---- loading ---------------------------------------------------------------------------------- */

static int cfg_int(json_t *root, const char *path, const char *key, int lo, int hi, int *out)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return jp_fail(JP_ERR_PARSE, "%s: \"%s\" must be an integer in %d..%d", path, key, lo, hi);
    *out = (int)json_integer_value(v);
    return JP_OK;
}

static void lane_free(lane *L, const jp_s2s *m)
{
    free(L->ex), free(L->eh), free(L->eq), free(L->ek), free(L->ev), free(L->ectx), free(L->eff), free(L->att);
    for (int l = 0; l < m->ld; l++) {
        if (L->ck) free(L->ck[l]);
        if (L->cv) free(L->cv[l]);
        for (int b = 0; b < 2; b++) {
            if (L->kc[b]) free(L->kc[b][l]);
            if (L->vc[b]) free(L->vc[b][l]);
        }
    }
    free(L->ck), free(L->cv);
    for (int b = 0; b < 2; b++) free(L->kc[b]), free(L->vc[b]), free(L->seq[b]);
    free(L->soff), free(L->slen), free(L->x), free(L->h), free(L->q), free(L->k), free(L->v), free(L->ctx);
    free(L->ff), free(L->logits), free(L->gate), free(L->mass), free(L->score), free(L->parent), free(L->next_tok), free(L->next_score);
    free(L->cand_s), free(L->cand_r), free(L->cand_t), free(L->fin_tok), free(L->fin_len), free(L->fin_n);
    free(L->done), free(L->fin_score), free(L->src_bytes);
    jp_wordset_free(&L->src_words);
}

static void *zalloc(size_t n, size_t size) { return calloc(n > 0 ? n : 1, size); }

static int lane_alloc(lane *L, jp_s2s *m, int cap)
{
    memset(L, 0, sizeof *L);
    L->m = m;
    L->cap_src = cap;
    size_t d = (size_t)m->d, er = (size_t)cap * m->max_src, R = (size_t)cap * m->max_beam, T = (size_t)m->max_tgt;
    size_t B = (size_t)m->max_beam;
    int ok = 1;
#define A(p, n) ok &= ((p) = zalloc((n), sizeof *(p))) != NULL
    A(L->ex, er * d), A(L->eh, er * d), A(L->eq, er * d), A(L->ek, er * d), A(L->ev, er * d), A(L->ectx, er * d);
    A(L->eff, er * m->ff);
    A(L->att, (size_t)(m->max_src > m->max_tgt ? m->max_src : m->max_tgt));
    A(L->ck, m->ld), A(L->cv, m->ld);
    for (int b = 0; b < 2; b++) A(L->kc[b], m->ld), A(L->vc[b], m->ld), A(L->seq[b], R * T);
    if (!ok) return 0;
    for (int l = 0; l < m->ld; l++) {
        A(L->ck[l], er * d), A(L->cv[l], er * d);
        for (int b = 0; b < 2; b++) A(L->kc[b][l], R * T * d), A(L->vc[b][l], R * T * d);
    }
    A(L->soff, cap), A(L->slen, cap);
    A(L->x, R * d), A(L->h, R * d), A(L->q, R * d), A(L->k, R * d), A(L->v, R * d), A(L->ctx, R * d);
    A(L->ff, R * m->ff), A(L->logits, R * m->vocab);
    A(L->gate, R), A(L->mass, (size_t)m->vocab);
    A(L->score, R), A(L->parent, R), A(L->next_tok, R), A(L->next_score, R);
    A(L->cand_s, 2 * B), A(L->cand_r, 2 * B), A(L->cand_t, 2 * B);
    A(L->fin_tok, (size_t)cap * B * T), A(L->fin_len, (size_t)cap * B), A(L->fin_score, (size_t)cap * B);
    A(L->fin_n, cap), A(L->done, R);
    A(L->src_bytes, (size_t)m->max_src * m->max_piece);
#undef A
    /* each source byte adds at most one prefix */
    return ok && jp_wordset_init(&L->src_words, (size_t)cap * m->max_src * m->max_piece) == JP_OK;
}

void jp_s2s_free(jp_s2s *m)
{
    if (!m) return;
    if (m->lanes)
        for (int i = 0; i < m->nlanes; i++) lane_free(&m->lanes[i], m);
    free(m->lanes);
    free(m->weights);
    free(m->wt);
    free(m->enc);
    free(m->dec);
    jp_bpe_free(m->tok);
    jp_wordset_free(&m->words);
    free(m);
}

void jp_s2s_info_get(const jp_s2s *m, jp_s2s_info *info)
{
    memset(info, 0, sizeof *info);
    info->d_model = m->d, info->heads = m->heads, info->d_ff = m->ff, info->enc_layers = m->le;
    info->dec_layers = m->ld, info->vocab = m->vocab, info->max_source = m->max_src, info->max_target = m->max_tgt;
    info->params = m->params, info->flops_source_token = m->flops_src, info->flops_generated_token = m->flops_gen;
    info->max_batch = m->max_batch, info->max_beam = m->max_beam, info->threads = m->threads;
}

const jp_bpe *jp_s2s_tokenizer(const jp_s2s *m) { return m->tok; }

/* Reads tensor `name` of the given shape into the next free floats of the weight block. */
static int take(jp_safetensors *st, const char *name, int64_t a, int64_t b, float **cursor, float **out)
{
    int64_t shape[2] = {a, b};
    int nd = b > 0 ? 2 : 1;
    int rc = jp_st_read_f32(st, name, nd, shape, *cursor);
    if (rc != JP_OK) return rc;
    *out = *cursor;
    *cursor += (size_t)a * (b > 0 ? (size_t)b : 1);
    return JP_OK;
}

/* src [rows][cols] transposed at *cur, which moves past it */
static float *transposed(float **cur, const float *src, size_t rows, size_t cols)
{
    float *dst = *cur;
    jp_nn_transpose(src, rows, cols, dst);
    *cur += rows * cols;
    return dst;
}

/* The decoder step's weights transposed, for jp_nn_rows512 (decode_step): 8 d x d or d x ff matrices a
 * layer, the copy head's query and the tied embedding (for the logits). */
static int transpose_step_weights(jp_s2s *m)
{
    size_t d = (size_t)m->d, ff = (size_t)m->ff;
    size_t total = (size_t)m->ld * (6 * d * d + 2 * d * ff) + (m->copy ? d * d : 0) + (size_t)m->vocab * d;
    if (!(m->wt = malloc(total * sizeof(float)))) return jp_fail(JP_ERR_NOMEM, "out of memory for %zu weights", total);
    float *cur = m->wt;
    for (int l = 0; l < m->ld; l++) {
        layer_w *w = &m->dec[l];
        w->sat.q = transposed(&cur, w->sa.q, d, d);
        w->sat.k = transposed(&cur, w->sa.k, d, d);
        w->sat.v = transposed(&cur, w->sa.v, d, d);
        w->sat.o = transposed(&cur, w->sa.o, d, d);
        w->cat.q = transposed(&cur, w->ca.q, d, d);
        w->cat.o = transposed(&cur, w->ca.o, d, d);
        w->wit = transposed(&cur, w->wi, ff, d);
        w->wot = transposed(&cur, w->wo, d, ff);
    }
    if (m->copy) m->copy_q_t = transposed(&cur, m->copy_q, d, d);
    m->emb_t = transposed(&cur, m->emb, (size_t)m->vocab, d);
    return JP_OK;
}

int jp_s2s_load(jp_s2s **out, const char *dir, int max_batch, int max_beam, int threads)
{
    *out = NULL;
    if (max_batch < 1 || max_batch > 4096) return jp_fail(JP_ERR_RANGE, "max batch %d outside 1..4096", max_batch);
    if (max_beam < 1 || max_beam > 64) return jp_fail(JP_ERR_RANGE, "max beam %d outside 1..64", max_beam);
    if (threads < 1 || threads > MAX_THREADS) return jp_fail(JP_ERR_RANGE, "threads %d outside 1..%d", threads, MAX_THREADS);
    int rc = jp_nn_blas_init();
    if (rc != JP_OK) return rc;
    char cpath[PATH_MAX], wpath[PATH_MAX], tpath[PATH_MAX];
    if ((rc = jp_pathf(cpath, sizeof cpath, "%s/config.json", dir)) != JP_OK ||
        (rc = jp_pathf(wpath, sizeof wpath, "%s/model.safetensors", dir)) != JP_OK ||
        (rc = jp_pathf(tpath, sizeof tpath, "%s/tokenizer.txt", dir)) != JP_OK)
        return rc;
    json_error_t jerr;
    json_t *root = json_load_file(cpath, 0, &jerr);
    if (!root) {
        FILE *f = fopen(cpath, "r");
        if (!f) return jp_fail(JP_ERR_NOTFOUND, "%s: cannot read (no such model folder or file)", cpath);
        fclose(f);
        return jp_fail(JP_ERR_PARSE, "%s: line %d: %s", cpath, jerr.line, jerr.text);
    }
    jp_s2s *m = calloc(1, sizeof *m);
    jp_safetensors *st = NULL;
    if (!m) {
        json_decref(root);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    m->max_batch = max_batch, m->max_beam = max_beam, m->threads = threads;
    json_t *mt = json_object_get(root, "model_type");
    if (!json_is_string(mt) || strcmp(json_string_value(mt), "jp-seq2seq")) {
        rc = jp_fail(JP_ERR_PARSE, "%s: \"model_type\" must be \"jp-seq2seq\"", cpath);
        goto fail;
    }
    if ((rc = cfg_int(root, cpath, "d_model", 8, 4096, &m->d)) || (rc = cfg_int(root, cpath, "num_heads", 1, 64, &m->heads)) ||
        (rc = cfg_int(root, cpath, "d_ff", 1, 65536, &m->ff)) ||
        (rc = cfg_int(root, cpath, "num_layers", 1, MAX_LAYERS, &m->le)) ||
        (rc = cfg_int(root, cpath, "num_decoder_layers", 1, MAX_LAYERS, &m->ld)) ||
        (rc = cfg_int(root, cpath, "vocab_size", 260, 65536, &m->vocab)) ||
        (rc = cfg_int(root, cpath, "max_source_positions", 1, 8192, &m->max_src)) ||
        (rc = cfg_int(root, cpath, "max_target_positions", 2, 1024, &m->max_tgt)) ||
        (rc = cfg_int(root, cpath, "pad_token_id", 0, 0, &m->pad)) || (rc = cfg_int(root, cpath, "eos_token_id", 1, 1, &m->eos)) ||
        (rc = cfg_int(root, cpath, "decoder_start_token_id", 2, 2, &m->bos)))
        goto fail;
    if (m->d % m->heads) {
        rc = jp_fail(JP_ERR_PARSE, "%s: d_model %d is not a multiple of num_heads %d", cpath, m->d, m->heads);
        goto fail;
    }
    m->dh = m->d / m->heads;
    json_t *eps = json_object_get(root, "layer_norm_epsilon");
    if (!json_is_number(eps) || json_number_value(eps) <= 0 || json_number_value(eps) > 1e-2) {
        rc = jp_fail(JP_ERR_PARSE, "%s: \"layer_norm_epsilon\" must be a number in (0, 0.01]", cpath);
        goto fail;
    }
    m->eps = (float)json_number_value(eps);
    static const struct {
        const char *key, *want;
    } fixed[] = {{"norm", "rms"}, {"feed_forward_proj", "relu"}, {"position_embedding", "learned"}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        json_t *v = json_object_get(root, fixed[i].key);
        if (!json_is_string(v) || strcmp(json_string_value(v), fixed[i].want)) {
            rc = jp_fail(JP_ERR_PARSE, "%s: \"%s\" must be \"%s\" (the only kind this engine runs)", cpath, fixed[i].key,
                         fixed[i].want);
            goto fail;
        }
    }
    json_t *cp = json_object_get(root, "copy");
    if (cp && !json_is_boolean(cp)) {
        rc = jp_fail(JP_ERR_PARSE, "%s: \"copy\" must be true or false", cpath);
        goto fail;
    }
    m->copy = json_is_true(cp);
    json_t *fs = json_object_get(root, "flops_per_source_token"), *fg = json_object_get(root, "flops_per_generated_token");
    m->flops_src = json_is_number(fs) ? json_number_value(fs) : 0;
    m->flops_gen = json_is_number(fg) ? json_number_value(fg) : 0;
    /* the tokenizer, and that it is the one the weights were trained with */
    if ((rc = jp_bpe_load(&m->tok, tpath)) != JP_OK) goto fail;
    if (jp_bpe_vocab_size(m->tok) != m->vocab) {
        rc = jp_fail(JP_ERR_PARSE, "%s: %d pieces, but %s says vocab_size %d: not this model's tokenizer", tpath,
                     jp_bpe_vocab_size(m->tok), cpath, m->vocab);
        goto fail;
    }
    json_t *th = json_object_get(root, "tokenizer_fnv1a64");
    char hex[32];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)jp_bpe_hash(m->tok));
    if (!json_is_string(th) || strcmp(json_string_value(th), hex)) {
        rc = jp_fail(JP_ERR_PARSE, "%s: FNV-1a hash %s, but %s says tokenizer_fnv1a64 %s: not this model's tokenizer",
                     tpath, hex, cpath, json_is_string(th) ? json_string_value(th) : "(missing)");
        goto fail;
    }
    for (int v = 0; v < m->vocab; v++) {
        size_t n;
        jp_bpe_piece(m->tok, v, &n);
        if ((int)n > m->max_piece) m->max_piece = (int)n;
    }
    /* the word list of the word constraint, where the folder has one */
    char lpath[PATH_MAX];
    if ((rc = jp_pathf(lpath, sizeof lpath, "%s/words.txt", dir)) != JP_OK) goto fail;
    rc = jp_wordset_load(&m->words, lpath);
    if (rc == JP_ERR_NOTFOUND) jp_clear_error(); /* none: the constraint allows the text's own words only */
    else if (rc != JP_OK) goto fail;
    if ((rc = jp_st_open(&st, wpath)) != JP_OK) goto fail;
    size_t d = (size_t)m->d, ff = (size_t)m->ff;
    size_t total = (size_t)m->vocab * d + (size_t)(m->max_src + m->max_tgt) * d + 2 * d +
                   (size_t)m->le * (2 * d + 4 * d * d + 2 * d * ff) + (size_t)m->ld * (3 * d + 8 * d * d + 2 * d * ff) +
                   (m->copy ? d * d + 2 * d + 1 : 0);
    m->params = total;
    m->weights = malloc(total * sizeof(float));
    m->enc = calloc((size_t)m->le, sizeof *m->enc);
    m->dec = calloc((size_t)m->ld, sizeof *m->dec);
    if (!m->weights || !m->enc || !m->dec) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory for %zu weights", total);
        goto fail;
    }
    float *cur = m->weights;
    char name[160];
    if ((rc = take(st, "shared.weight", m->vocab, m->d, &cur, &m->emb)) ||
        (rc = take(st, "encoder.embed_positions.weight", m->max_src, m->d, &cur, &m->pos_enc)) ||
        (rc = take(st, "decoder.embed_positions.weight", m->max_tgt, m->d, &cur, &m->pos_dec)) ||
        (rc = take(st, "encoder.final_layer_norm.weight", m->d, 0, &cur, &m->enc_final)) ||
        (rc = take(st, "decoder.final_layer_norm.weight", m->d, 0, &cur, &m->dec_final)))
        goto fail;
    for (int side = 0; side < 2; side++) {
        int n = side ? m->ld : m->le;
        const char *pre = side ? "decoder" : "encoder";
        for (int l = 0; l < n; l++) {
            layer_w *w = side ? &m->dec[l] : &m->enc[l];
            int nsub = side ? 3 : 2;
            for (int k = 0; k < nsub; k++) {
                snprintf(name, sizeof name, "%s.block.%d.layer.%d.layer_norm.weight", pre, l, k);
                if ((rc = take(st, name, m->d, 0, &cur, &w->ln[k]))) goto fail;
            }
            attn_w *aw[2] = {&w->sa, &w->ca};
            const char *an[2] = {"SelfAttention", "EncDecAttention"};
            for (int a = 0; a < (side ? 2 : 1); a++) {
                float **pp[4] = {&aw[a]->q, &aw[a]->k, &aw[a]->v, &aw[a]->o};
                const char *pn[4] = {"q", "k", "v", "o"};
                for (int p = 0; p < 4; p++) {
                    snprintf(name, sizeof name, "%s.block.%d.layer.%d.%s.%s.weight", pre, l, a, an[a], pn[p]);
                    if ((rc = take(st, name, m->d, m->d, &cur, pp[p]))) goto fail;
                }
            }
            snprintf(name, sizeof name, "%s.block.%d.layer.%d.DenseReluDense.wi.weight", pre, l, nsub - 1);
            if ((rc = take(st, name, m->ff, m->d, &cur, &w->wi))) goto fail;
            snprintf(name, sizeof name, "%s.block.%d.layer.%d.DenseReluDense.wo.weight", pre, l, nsub - 1);
            if ((rc = take(st, name, m->d, m->ff, &cur, &w->wo))) goto fail;
        }
    }
    if (m->copy && ((rc = take(st, "copy.q.weight", m->d, m->d, &cur, &m->copy_q)) ||
                    (rc = take(st, "copy.gate.weight", 1, 2 * m->d, &cur, &m->copy_gw)) ||
                    (rc = take(st, "copy.gate.bias", 1, 0, &cur, &m->copy_gb))))
        goto fail;
    for (size_t i = 0; i < st->count; i++)
        if (!st->tensors[i].used) {
            rc = jp_fail(JP_ERR_PARSE, "%s: unexpected tensor \"%s\" (layers or names that config.json does not describe)",
                         wpath, st->tensors[i].name);
            goto fail;
        }
    jp_st_close(st);
    st = NULL;
    if (jp_nn_gemm512_ok() && (rc = transpose_step_weights(m)) != JP_OK) goto fail;
    m->nlanes = threads < max_batch ? threads : max_batch;
    m->lanes = calloc((size_t)m->nlanes, sizeof *m->lanes);
    if (!m->lanes) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    int per = (max_batch + m->nlanes - 1) / m->nlanes;
    for (int i = 0; i < m->nlanes; i++)
        if (!lane_alloc(&m->lanes[i], m, per)) {
            rc = jp_fail(JP_ERR_NOMEM, "out of memory for the workspace of %d texts, beam %d", max_batch, max_beam);
            goto fail;
        }
    jp_nn_blas_threads(1);
    json_decref(root);
    *out = m;
    return JP_OK;
fail:
    json_decref(root);
    jp_st_close(st);
    jp_s2s_free(m);
    return rc;
}
