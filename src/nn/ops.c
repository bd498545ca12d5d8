/* The engine's operations; see ops.h. */
#define _POSIX_C_SOURCE 200809L
#include "nn/ops.h"
#include "nn/blas.h"

/* The elementwise loops here (bias, activations, pooling, normalization) are the engine's hot paths
 * besides the matrix products: let GCC vectorize them even in -O2 builds (and if-convert the clamps
 * and selects in them, which it will not do while floating-point traps are assumed possible). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "fp-contract=fast")
#endif

/* ... and compile those loops for AVX-512 and AVX2 too, chosen at load time by the CPU (glibc ifunc):
 * the build itself targets baseline x86-64 (SSE2). Not under ThreadSanitizer, whose runtime is not yet
 * set up when ifunc resolvers run. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_THREAD__)
#define JP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define JP_CLONES
#endif

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* exp for float, written so that GCC vectorizes loops calling it (libm's expf and erff are not
 * vectorized): exp(x) = 2^k * e^r with k = round(x / ln 2), r = x - k ln 2 (ln 2 split in two for
 * precision, |r| <= ln 2 / 2), and e^r by its Taylor polynomial to r^7 / 7!, whose truncation error is
 * below 6e-9 relative there. Within 2 ulp of the true value over the float range; clamped below at
 * -87.3 (where exp is ~1e-38, a normal float's least) and above at 88. */
static inline float exp_fast(float in)
{
    /* clamped so that the exponent below stays in range; a NaN is clamped too (its comparisons are all
     * false), so that the float-to-int conversion never sees it, and comes back out as NaN at the end */
    float x = in > -87.3f ? in : -87.3f;
    x = x < 88.0f ? x : 88.0f;
    float t = x * 1.44269504088896341f;
    float k = (t + 12582912.0f) - 12582912.0f; /* round to nearest: 1.5 * 2^23 */
    float r = (x - k * 0.693145751953125f) - k * 1.428606820309417232e-06f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 +
                                                                                              r * (1.0f / 5040)))))));
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return in == in ? p * scale : in;
}

/* erf by Abramowitz and Stegun's formula 7.1.26 (Handbook of Mathematical Functions, 1964): for x >= 0,
 * erf(x) = 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5) exp(-x^2), t = 1 / (1 + p x); absolute error
 * below 1.5e-7, so GELU's error is below 1e-7 |x|. Odd symmetry gives x < 0. */
static inline float erf_fast(float x)
{
    float a = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    float y = 1.0f - poly * exp_fast(-a * a);
    return x < 0 ? -y : y;
}

/* A sum in eight interleaved partial sums, which the compiler can keep in one vector register. */
static inline float sum8(const float *v, int n)
{
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += v[i + j];
    for (; i < n; i++) acc[0] += v[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* A convolution's output rows (one row = one image's oy, all ox) are computed in chunks whose im2col
 * matrix stays near this many floats (about 384 KB: inside a core's L2), so that the columns written
 * are still in cache when the matrix product reads them, and the bias and activation pass touches
 * outputs still in cache. */
#define COL_CHUNK_FLOATS (96 * 1024)

static int is_direct(const jp_nn_conv *c) { return c->k == 1 && c->stride == 1 && c->pad == 0; }

static int conv_chunk_rows(const jp_nn_conv *c, int total_rows, int ow)
{
    size_t per = is_direct(c) ? (size_t)c->cout * ow : (size_t)c->cin * c->k * c->k * ow;
    size_t chunk = per ? COL_CHUNK_FLOATS / per : (size_t)total_rows;
    if (chunk < 1) chunk = 1;
    return chunk > (size_t)total_rows ? total_rows : (int)chunk;
}

/* Largest k*k*cin handled by the implicit path (its table of row offsets lives on the stack). */
#define IMPLICIT_MAX_K 4608

int jp_nn_conv_is_implicit(const jp_nn_conv *c)
{
    return c->stride == 1 && c->k > 1 && c->k % 2 == 1 && c->pad == c->k / 2 && c->cin * c->k * c->k <= IMPLICIT_MAX_K;
}

size_t jp_nn_conv_pad_size(const jp_nn_conv *c, int n, int h, int w)
{
    if (!jp_nn_conv_is_implicit(c)) return 0;
    size_t hp = (size_t)h + c->k - 1, wp = (size_t)w + c->k - 1;
    /* the last tile reads up to TILE_N - 1 floats past the last window */
    return (size_t)c->cin * n * hp * wp + 64 + (size_t)c->k * (wp + 1);
}

size_t jp_nn_conv_col_size(const jp_nn_conv *c, int n, int h, int w)
{
    if (c->wino) { /* the direct method stays for GELU */
        size_t a = jp_nn_wino_ws_size(c, n, h, w), b = jp_nn_conv_pad_size(c, n, h, w);
        return a > b ? a : b;
    }
    if (jp_nn_conv_is_implicit(c)) return jp_nn_conv_pad_size(c, n, h, w);
    if (is_direct(c)) return 0;
    int oh = jp_nn_out_size(h, c->k, c->stride, c->pad), ow = jp_nn_out_size(w, c->k, c->stride, c->pad);
    return (size_t)c->cin * c->k * c->k * (size_t)conv_chunk_rows(c, n * oh, ow) * ow;
}

void jp_nn_fold_bn(jp_nn_conv *c, const float *gamma, const float *beta, const float *mean, const float *var, double eps)
{
    size_t per = (size_t)c->cin * c->k * c->k;
    for (int o = 0; o < c->cout; o++) {
        double s = (double)gamma[o] / sqrt((double)var[o] + eps);
        for (size_t i = 0; i < per; i++) c->w[o * per + i] = (float)((double)c->w[o * per + i] * s);
        c->b[o] = (float)((double)beta[o] + ((double)c->b[o] - (double)mean[o]) * s);
    }
}

JP_CLONES
void jp_nn_im2col_rows(const float *in, int cin, int n, int h, int w, int k, int stride, int pad, int r0, int r1,
                       float *col)
{
    int oh = jp_nn_out_size(h, k, stride, pad), ow = jp_nn_out_size(w, k, stride, pad);
    size_t plane = (size_t)h * w, cols = (size_t)(r1 - r0) * ow;
    for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *dst = col + ((size_t)(ci * k + ky) * k + kx) * cols;
                /* the range of ox whose input column is inside the image */
                int lo = 0, hi = ow; /* [lo, hi) */
                while (lo < ow && lo * stride + kx - pad < 0) lo++;
                while (hi > lo && (hi - 1) * stride + kx - pad >= w) hi--;
                for (int r = r0; r < r1; r++, dst += ow) {
                    int b = r / oh, oy = r % oh, iy = oy * stride + ky - pad;
                    if (iy < 0 || iy >= h) {
                        memset(dst, 0, (size_t)ow * sizeof *dst);
                        continue;
                    }
                    const float *row = in + ((size_t)ci * n + b) * plane + (size_t)iy * w + kx - pad;
                    for (int ox = 0; ox < lo; ox++) dst[ox] = 0;
                    if (stride == 1) { /* rows are short: a loop beats a call to memcpy */
                        for (int ox = lo; ox < hi; ox++) dst[ox] = row[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++) dst[ox] = row[ox * stride];
                    }
                    for (int ox = hi; ox < ow; ox++) dst[ox] = 0;
                }
            }
}

/* Row-major C = alpha A B through CBLAS, kept off one path of OpenBLAS: its small-matrix kernel for
 * AVX-512 (0.3.16 and later, taken when M N K <= 1e6) mallocs a scratch buffer whenever N % 16 is 1 to
 * 8 and K >= 32, and inference must not allocate. Such a product is done as its first N - N % 16
 * columns plus its last 16 (recomputing a few, exactly; C must not overlap A or B), or, when narrower
 * than 16 columns, by the loop here. */
static void gemm_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float *C,
                    int ldc)
{
    int rem = N % 16;
    if ((double)M * N * K > 1e6 || K < 32 || rem == 0 || rem > 8) {
        jp_nn_sgemm(0, 0, M, N, K, alpha, A, lda, B, ldb, 0.0f, C, ldc);
    } else if (N > 16) {
        jp_nn_sgemm(0, 0, M, N - rem, K, alpha, A, lda, B, ldb, 0.0f, C, ldc);
        jp_nn_sgemm(0, 0, M, 16, K, alpha, A, lda, B + (N - 16), ldb, 0.0f,
                    C + (N - 16), ldc);
    } else {
        for (int i = 0; i < M; i++) {
            float acc[8] = {0};
            const float *a = A + (size_t)i * lda;
            for (int k = 0; k < K; k++)
                for (int j = 0; j < N; j++) acc[j] += a[k] * B[(size_t)k * ldb + j];
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = alpha * acc[j];
        }
    }
}

/* The convolutions' matrix product, C[M x N] = A[M x K] B[K x N] (row-major, leading dimensions lda,
 * ldb, ldc), with the epilogue fused: each row r gets bias[r], then the residual (laid out as C), then
 * the activation. Convolutions here have few output channels (M) and a long, already laid out B (the
 * im2col columns, or the input itself for 1x1): a register tile of 8 rows x 32 columns of C, summed
 * over k by broadcasting one A value against 32 contiguous B values, needs no packing of B and runs
 * near the FMA units' peak in its AVX-512 clone, ahead of a general BLAS on these shapes. */
#define TILE_M 8
#define TILE_N 32
/* One tile: C[mb x nb] = A[mb x K] B[K x nb]. The full-size case keeps its accumulators in registers. */
JP_CLONES
static void gemm_tile(int mb, int nb, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc)
{
    float acc[TILE_M][TILE_N];
    memset(acc, 0, sizeof acc);
    if (mb == TILE_M && nb == TILE_N) {
        for (int k = 0; k < K; k++) {
            const float *b = B + (size_t)k * ldb;
            for (int r = 0; r < TILE_M; r++) {
                const float a = A[(size_t)r * lda + k];
                for (int j = 0; j < TILE_N; j++) acc[r][j] += a * b[j];
            }
        }
        for (int r = 0; r < TILE_M; r++)
            for (int j = 0; j < TILE_N; j++) C[(size_t)r * ldc + j] = acc[r][j];
        return;
    }
    for (int k = 0; k < K; k++) {
        const float *b = B + (size_t)k * ldb;
        for (int r = 0; r < mb; r++) {
            const float a = A[(size_t)r * lda + k];
            for (int j = 0; j < nb; j++) acc[r][j] += a * b[j];
        }
    }
    for (int r = 0; r < mb; r++)
        for (int j = 0; j < nb; j++) C[(size_t)r * ldc + j] = acc[r][j];
}

/* Bias, residual and activation over rows of C (nb wide, ldc apart), in place. */
JP_CLONES
static void epilogue(float *C, int mb, int nb, int ldc, const float *bias, const float *residual, jp_nn_act act)
{
    for (int r = 0; r < mb; r++) {
        float *c = C + (size_t)r * ldc;
        const float bv = bias ? bias[r] : 0.0f;
        if (residual) {
            const float *res = residual + (size_t)r * ldc;
            for (int j = 0; j < nb; j++) c[j] += bv + res[j];
        } else {
            for (int j = 0; j < nb; j++) c[j] += bv;
        }
        if (act == JP_ACT_RELU)
            for (int j = 0; j < nb; j++) c[j] = c[j] > 0.0f ? c[j] : 0.0f;
        else if (act == JP_ACT_GELU)
            for (int j = 0; j < nb; j++) c[j] = 0.5f * c[j] * (1.0f + erf_fast(c[j] * 0.70710678118654752f));
    }
}

static void gemm_fused(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                       const float *bias, const float *residual, jp_nn_act act)
{
    if (act != JP_ACT_GELU && jp_nn_gemm512_ok()) {
        jp_nn_gemm512(M, N, K, A, lda, B, ldb, C, ldc, bias, NULL, residual, act);
        return;
    }
    for (int i0 = 0; i0 < M; i0 += TILE_M) {
        int mb = M - i0 < TILE_M ? M - i0 : TILE_M;
        for (int j0 = 0; j0 < N; j0 += TILE_N) {
            int nb = N - j0 < TILE_N ? N - j0 : TILE_N;
            float *c = C + (size_t)i0 * ldc + j0;
            gemm_tile(mb, nb, K, A + (size_t)i0 * lda, lda, B + j0, ldb, c, ldc);
            epilogue(c, mb, nb, ldc, bias ? bias + i0 : NULL, residual ? residual + (size_t)i0 * ldc + j0 : NULL, act);
        }
    }
}

/* ---- stride-1 "same" convolutions without im2col ----
 * The input is copied once with a zero border of k/2 (plane Hp x Wp). Output pixels are computed on the
 * padded-width grid, flat index j = oy * Wp + ox, where the k*k windows are plain shifts: the B row for
 * weight (ci, ky, kx) is P[ci] + ky * Wp + kx + j, contiguous in j. Tiles of 32 such j run across
 * output rows; the columns ox >= w that the grid adds are computed and dropped. */

void jp_nn_conv_pad(const jp_nn_conv *c, const float *in, int n, int h, int w, float *padded)
{
    int p = c->k / 2, wp = w + c->k - 1, hp = h + c->k - 1;
    size_t size = jp_nn_conv_pad_size(c, n, h, w), plane = (size_t)hp * wp;
    memset(padded, 0, size * sizeof *padded);
    for (int ci = 0; ci < c->cin; ci++)
        for (int b = 0; b < n; b++) {
            const float *src = in + ((size_t)ci * n + b) * h * w;
            float *dst = padded + ((size_t)ci * n + b) * plane + (size_t)p * wp + p;
            for (int y = 0; y < h; y++) memcpy(dst + (size_t)y * wp, src + (size_t)y * w, (size_t)w * sizeof *dst);
        }
}

/* T[r][j] (32 wide) = sum over k of A[r][k] * B[off[k] + j]: gemm_tile with a table of row offsets. */
JP_CLONES
static void conv_tile(int mb, int K, const float *A, int lda, const float *B, const int *off, float *T)
{
    float acc[TILE_M][TILE_N];
    memset(acc, 0, sizeof acc);
    if (mb == TILE_M) {
        for (int k = 0; k < K; k++) {
            const float *b = B + off[k];
            for (int r = 0; r < TILE_M; r++) {
                const float a = A[(size_t)r * lda + k];
                for (int j = 0; j < TILE_N; j++) acc[r][j] += a * b[j];
            }
        }
    } else {
        for (int k = 0; k < K; k++) {
            const float *b = B + off[k];
            for (int r = 0; r < mb; r++) {
                const float a = A[(size_t)r * lda + k];
                for (int j = 0; j < TILE_N; j++) acc[r][j] += a * b[j];
            }
        }
    }
    for (int r = 0; r < TILE_M; r++)
        for (int j = 0; j < TILE_N; j++) T[r * TILE_N + j] = acc[r][j];
}

/* o[i] = act(t[i] + bias [+ res[i]]) for i < len. */
static inline void store_run(float *o, const float *t, int len, float bias, const float *res, jp_nn_act act)
{
    if (res)
        for (int i = 0; i < len; i++) o[i] = t[i] + bias + res[i];
    else
        for (int i = 0; i < len; i++) o[i] = t[i] + bias;
    if (act == JP_ACT_RELU)
        for (int i = 0; i < len; i++) o[i] = o[i] > 0.0f ? o[i] : 0.0f;
    else if (act == JP_ACT_GELU)
        for (int i = 0; i < len; i++) o[i] = 0.5f * o[i] * (1.0f + erf_fast(o[i] * 0.70710678118654752f));
}

JP_CLONES
void jp_nn_conv2d_padded_rows(const jp_nn_conv *c, const float *padded, int n, int h, int w, float *out,
                              const float *residual, jp_nn_act act, int r0, int r1)
{
    int k = c->k, wp = w + k - 1, hp = h + k - 1, kdim = c->cin * k * k;
    size_t plane = (size_t)hp * wp, cstride = (size_t)n * plane, ohw = (size_t)h * w, ldc = (size_t)n * ohw;
    float T[TILE_M * TILE_N];
    int off[IMPLICIT_MAX_K];
    for (int ci = 0, q = 0; ci < c->cin; ci++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) off[q++] = (int)((size_t)ci * cstride + (size_t)ky * wp + kx);
    if (act != JP_ACT_GELU && jp_nn_gemm512_ok()) {
        jp_nn_conv_implicit512(c, padded, n, h, w, out, residual, act, off, r0, r1);
        return;
    }
    for (int r = r0; r < r1;) {
        int b = r / h, oy0 = r % h, oy1 = oy0 + (r1 - r) < h ? oy0 + (r1 - r) : h;
        int jbeg = oy0 * wp, jend = (oy1 - 1) * wp + w;
        const float *pb = padded + (size_t)b * plane;
        for (int i0 = 0; i0 < c->cout; i0 += TILE_M) {
            int mb = c->cout - i0 < TILE_M ? c->cout - i0 : TILE_M;
            for (int j0 = jbeg; j0 < jend; j0 += TILE_N) {
                conv_tile(mb, kdim, c->w + (size_t)i0 * kdim, kdim, pb + j0, off, T);
                int nb = jend - j0 < TILE_N ? jend - j0 : TILE_N, oy = j0 / wp, ox = j0 % wp;
                /* store the tile's runs of valid columns (ox < w), one output row at a time */
                for (int j = 0; j < nb;) {
                    if (ox >= w) { /* the grid's extra columns: skip to the next row */
                        j += wp - ox;
                        ox = 0;
                        oy++;
                        continue;
                    }
                    int len = w - ox < nb - j ? w - ox : nb - j;
                    size_t at = (size_t)b * ohw + (size_t)oy * w + ox;
                    for (int q = 0; q < mb; q++) {
                        const float *t = T + q * TILE_N + j;
                        float *o = out + (size_t)(i0 + q) * ldc + at;
                        const float bv = c->b ? c->b[i0 + q] : 0.0f;
                        const float *res = residual ? residual + (size_t)(i0 + q) * ldc + at : NULL;
                        store_run(o, t, len, bv, res, act);
                    }
                    j += len;
                    ox += len;
                }
            }
        }
        r += oy1 - oy0;
    }
}

void jp_nn_conv2d_rows(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out, const float *residual,
                       jp_nn_act act, float *col, int r0, int r1)
{
    int oh = jp_nn_out_size(h, c->k, c->stride, c->pad), ow = jp_nn_out_size(w, c->k, c->stride, c->pad);
    int kdim = c->cin * c->k * c->k, direct = is_direct(c);
    int chunk = conv_chunk_rows(c, n * oh, ow);
    size_t ldc = (size_t)n * oh * ow;
    for (int a = r0; a < r1; a += chunk) {
        int z = r1 - a < chunk ? r1 : a + chunk;
        size_t cols = (size_t)(z - a) * ow;
        const float *b;
        size_t ldb;
        if (direct) { /* the input is already the [cin x n*h*w] matrix */
            b = in + (size_t)a * ow;
            ldb = ldc;
        } else {
            jp_nn_im2col_rows(in, c->cin, n, h, w, c->k, c->stride, c->pad, a, z, col);
            b = col;
            ldb = cols;
        }
        float *o = out + (size_t)a * ow;
        gemm_fused(c->cout, (int)cols, kdim, c->w, kdim, b, (int)ldb, o, (int)ldc, c->b,
                   residual ? residual + (size_t)a * ow : NULL, act);
    }
}

void jp_nn_conv2d(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out, const float *residual,
                  jp_nn_act act, float *col)
{
    if (c->wino && act != JP_ACT_GELU) {
        jp_nn_conv2d_wino(c, in, n, h, w, out, residual, act, col);
        return;
    }
    if (jp_nn_conv_is_implicit(c)) {
        jp_nn_conv_pad(c, in, n, h, w, col);
        jp_nn_conv2d_padded_rows(c, col, n, h, w, out, residual, act, 0, n * h);
        return;
    }
    jp_nn_conv2d_rows(c, in, n, h, w, out, residual, act, col, 0, n * jp_nn_out_size(h, c->k, c->stride, c->pad));
}

/* The common 2x2, stride 2, unpadded window. NaN propagates as in the general path. */
JP_CLONES
static void maxpool_2x2(const float *in, int planes, int h, int w, float *out)
{
    int oh = h / 2, ow = w / 2;
    for (int p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            const float *r0 = src + (size_t)(2 * oy) * w, *r1 = r0 + w;
            for (int ox = 0; ox < ow; ox++) {
                float a = r0[2 * ox] > r0[2 * ox + 1] ? r0[2 * ox] : r0[2 * ox + 1];
                float b = r1[2 * ox] > r1[2 * ox + 1] ? r1[2 * ox] : r1[2 * ox + 1];
                dst[oy * ow + ox] = a > b ? a : b;
            }
        }
    }
}

void jp_nn_maxpool2d(const float *in, int planes, int h, int w, int k, int stride, int pad, float *out)
{
    if (k == 2 && stride == 2 && pad == 0) {
        if (jp_nn_gemm512_ok())
            jp_nn_maxpool2x2_512(in, planes, h, w, out);
        else
            maxpool_2x2(in, planes, h, w, out);
        return;
    }
    int oh = jp_nn_out_size(h, k, stride, pad), ow = jp_nn_out_size(w, k, stride, pad);
    for (int p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * oh * ow;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                float m = -INFINITY;
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * stride + ky - pad;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ox * stride + kx - pad;
                        if (ix < 0 || ix >= w) continue;
                        float v = src[iy * w + ix];
                        if (v > m || isnan(v)) m = v;
                    }
                }
                dst[oy * ow + ox] = m;
            }
    }
}

JP_CLONES
void jp_nn_global_avgpool(const float *in, int c, int n, int hw, float *out)
{
    for (int ci = 0; ci < c; ci++)
        for (int b = 0; b < n; b++) {
            const float *src = in + ((size_t)ci * n + b) * hw;
            float s = 0;
            for (int i = 0; i < hw; i++) s += src[i];
            out[(size_t)b * c + ci] = s / (float)hw;
        }
}

void jp_nn_cnhw_to_rows(const float *in, int c, int n, int hw, float *out)
{
    for (int ci = 0; ci < c; ci++)
        for (int b = 0; b < n; b++)
            memcpy(out + ((size_t)b * c + ci) * hw, in + ((size_t)ci * n + b) * hw, (size_t)hw * sizeof *out);
}

void jp_nn_transpose(const float *src, size_t rows, size_t cols, float *dst)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

void jp_nn_nchw_to_cnhw(const float *in, int n, int c, int hw, float *out)
{
    for (int b = 0; b < n; b++)
        for (int ci = 0; ci < c; ci++)
            memcpy(out + ((size_t)ci * n + b) * hw, in + ((size_t)b * c + ci) * hw, (size_t)hw * sizeof *out);
}

void jp_nn_linear_cols(const float *x, int m, int in, const float *w, const float *b, int out, float *y, int accumulate,
                       jp_nn_act act, int o0, int o1)
{
    int width = o1 - o0;
    if (width <= 0) return;
    jp_nn_sgemm(0, 1, m, width, in, 1.0f, x, in, w + (size_t)o0 * in, in,
                accumulate ? 1.0f : 0.0f, y + o0, out);
    for (int r = 0; r < m; r++) {
        float *row = y + (size_t)r * out + o0;
        if (b)
            for (int i = 0; i < width; i++) row[i] += b[o0 + i];
        if (act == JP_ACT_RELU) jp_nn_relu(row, (size_t)width);
        else if (act == JP_ACT_GELU) jp_nn_gelu(row, (size_t)width);
    }
}

void jp_nn_linear(const float *x, int m, int in, const float *w, const float *b, int out, float *y, int accumulate,
                  jp_nn_act act)
{
    jp_nn_linear_cols(x, m, in, w, b, out, y, accumulate, act, 0, out);
}

JP_CLONES
void jp_nn_layernorm(const float *x, int rows, int d, const float *gamma, const float *beta, float eps, float *y)
{
    for (int r = 0; r < rows; r++) {
        const float *src = x + (size_t)r * d;
        float *dst = y + (size_t)r * d;
        float mean = sum8(src, d) / (float)d;
        float acc[8] = {0};
        int i = 0;
        for (; i + 8 <= d; i += 8)
            for (int j = 0; j < 8; j++) acc[j] += (src[i + j] - mean) * (src[i + j] - mean);
        for (; i < d; i++) acc[0] += (src[i] - mean) * (src[i] - mean);
        float var = (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))) / (float)d;
        float inv = 1.0f / sqrtf(var + eps);
        for (i = 0; i < d; i++) dst[i] = (src[i] - mean) * inv * gamma[i] + beta[i];
    }
}

JP_CLONES
void jp_nn_softmax_rows(float *x, int rows, int d)
{
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * d, m = -INFINITY;
        for (int i = 0; i < d; i++) m = row[i] > m ? row[i] : m;
        for (int i = 0; i < d; i++) row[i] = exp_fast(row[i] - m);
        float inv = 1.0f / sum8(row, d);
        for (int i = 0; i < d; i++) row[i] *= inv;
    }
}

JP_CLONES
void jp_nn_relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

JP_CLONES
void jp_nn_gelu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erf_fast(x[i] * 0.70710678118654752f));
}

JP_CLONES
void jp_nn_add(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

/* Sum of p[0..n) (or of (p[k] - mean)^2 when sq), in 16 float lanes that the compiler vectorizes, the
 * lanes and the tail added in double: a group's few thousand values lose nothing that shows at 1e-6. */
static inline double plane_sum(const float *p, int n, int sq, float mean)
{
    float acc[16] = {0};
    int k = 0;
    if (sq)
        for (; k + 16 <= n; k += 16)
            for (int j = 0; j < 16; j++) {
                float d = p[k + j] - mean;
                acc[j] += d * d;
            }
    else
        for (; k + 16 <= n; k += 16)
            for (int j = 0; j < 16; j++) acc[j] += p[k + j];
    double s = 0;
    for (int j = 0; j < 16; j++) s += acc[j];
    for (; k < n; k++) s += sq ? ((double)p[k] - mean) * ((double)p[k] - mean) : p[k];
    return s;
}

JP_CLONES
void jp_nn_groupnorm(const float *x, int c, int n, int hw, int groups, const float *gamma, const float *beta,
                     float eps, int silu, float *y)
{
    int cg = c / groups;
    size_t plane = (size_t)hw, stride = (size_t)n * hw; /* from one channel's plane of an image to the next */
    for (int i = 0; i < n; i++)
        for (int g = 0; g < groups; g++) {
            double s = 0, ss = 0, cnt = (double)cg * hw;
            for (int ch = g * cg; ch < (g + 1) * cg; ch++) s += plane_sum(x + ch * stride + i * plane, hw, 0, 0);
            float mean = (float)(s / cnt);
            for (int ch = g * cg; ch < (g + 1) * cg; ch++) ss += plane_sum(x + ch * stride + i * plane, hw, 1, mean);
            double inv = 1.0 / sqrt(ss / cnt + (double)eps);
            for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                const float *p = x + ch * stride + i * plane;
                float *q = y + ch * stride + i * plane;
                /* (p - mean) first: with a tiny variance a is large, and p * a + (beta - mean * a) cancels */
                float a = (float)(inv * gamma[ch]), b = beta[ch];
                for (int k = 0; k < hw; k++) q[k] = (p[k] - mean) * a + b;
                if (silu) jp_nn_silu(q, (size_t)hw);
            }
        }
}

JP_CLONES
void jp_nn_silu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + exp_fast(-x[i]));
}

void jp_nn_upsample2x(const float *in, int planes, int h, int w, float *out)
{
    for (int p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * 4 * h * w;
        for (int y = 0; y < h; y++) {
            float *r0 = dst + (size_t)(2 * y) * 2 * w, *r1 = r0 + 2 * w;
            for (int x = 0; x < w; x++) r0[2 * x] = r0[2 * x + 1] = src[(size_t)y * w + x];
            memcpy(r1, r0, (size_t)2 * w * sizeof *r1);
        }
    }
}

void jp_nn_add_channel_bias(float *x, int c, int n, int hw, const float *v)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < n; i++) {
            float *p = x + ((size_t)ch * n + i) * hw, b = v[(size_t)i * c + ch];
            for (int k = 0; k < hw; k++) p[k] += b;
        }
}

void jp_nn_timestep_embedding(const float *t, int n, int dim, float *out)
{
    int half = dim / 2;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < half; j++) {
            float f = expf(-9.21034037198f * ((float)j / (float)half));
            float a = t[i] * f;
            out[(size_t)i * dim + j] = sinf(a);
            out[(size_t)i * dim + half + j] = cosf(a);
        }
}

void jp_nn_cnhw_to_tokens(const float *in, int c, int n, int hw, float *out)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < n; i++) {
            const float *p = in + ((size_t)ch * n + i) * hw;
            for (int k = 0; k < hw; k++) out[((size_t)i * hw + k) * c + ch] = p[k];
        }
}

void jp_nn_tokens_add_cnhw(const float *tok, int c, int n, int hw, float *out)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < n; i++) {
            float *p = out + ((size_t)ch * n + i) * hw;
            for (int k = 0; k < hw; k++) p[k] += tok[((size_t)i * hw + k) * c + ch];
        }
}

void jp_nn_attention_range(const float *qkv, int n, int t, int d, int heads, float *ctx, float *scores, int j0, int j1)
{
    (void)n;
    int dh = d / heads, ld = 3 * d;
    float scale = 1.0f / sqrtf((float)dh);
    for (int j = j0; j < j1; j++) {
        int b = j / heads, h = j % heads;
        const float *base = qkv + (size_t)b * t * ld;
        const float *q = base + h * dh, *k = base + d + h * dh, *v = base + 2 * d + h * dh;
        jp_nn_sgemm(0, 1, t, t, dh, scale, q, ld, k, ld, 0.0f, scores, t);
        jp_nn_softmax_rows(scores, t, t);
        gemm_nn(t, dh, t, 1.0f, scores, t, v, ld, ctx + (size_t)b * t * d + h * dh, d);
    }
}

void jp_nn_attention(const float *qkv, int n, int t, int d, int heads, float *ctx, float *scores)
{
    jp_nn_attention_range(qkv, n, t, d, heads, ctx, scores, 0, n * heads);
}

double jp_nn_sgemm_gflops(int threads, int size, int reps)
{
    size_t n = (size_t)size * size;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    double best = 0;
    if (a && b && c) {
        for (size_t i = 0; i < n; i++) {
            a[i] = (float)(i % 7) * 0.1f;
            b[i] = (float)(i % 5) * 0.2f;
        }
        jp_nn_blas_threads(threads);
        for (int r = 0; r < reps + 1; r++) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            jp_nn_sgemm(0, 0, size, size, size, 1.0f, a, size, b, size, 0.0f, c, size);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
            double g = 2.0 * size * size * (double)size / s / 1e9;
            if (r && g > best) best = g; /* the first is a warm-up */
        }
    }
    free(a);
    free(b);
    free(c);
    return best;
}
