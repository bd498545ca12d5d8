/* 3x3 stride-1 "same" convolutions by Winograd's minimal filtering F(2x2, 3x3); see ops.h.
 *
 * Each 2x2 block of output pixels ("tile") is computed from the 4x4 input window around it:
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * with g the 3x3 kernel, d the 4x4 window, and
 *     B^T = | 1  0 -1  0 |    G = |  1    0    0  |    A^T = | 1  1  1  0 |
 *           | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
 *           | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *           | 0  1  0 -1 |        |  0    0    1  |
 * The 16 element-wise products, summed over input channels, are 16 matrix products
 *     M[e] (cout x tiles) = U[e] (cout x cin) * V[e] (cin x tiles),  e = 0..15,
 * so a tile costs 16 multiply-adds per (input, output channel) pair instead of the direct method's 36:
 * 2.25x fewer. U is transformed once, at load (jp_nn_wino_pack). The input transform (V) and the output
 * transform (A^T M A, with bias, residual and activation) run on 16 tiles at a time in AVX-512 registers;
 * the products use the engine's register-tiled matrix product (ops.c). Tiles are taken in chunks of whole
 * tile rows sized so that V and M stay in the L2 cache.
 *
 * Only for CPUs with AVX-512 (checked at run time); elsewhere the convolution keeps the direct method. In
 * float32 the result differs from the direct sum by rounding only (the transforms' coefficients are 0,
 * +-1 and +-1/2); tests/test_nn_ops.c checks it against a naive convolution in double on odd shapes. */
#define _POSIX_C_SOURCE 200809L
#include "nn/ops.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "nn/avx512.h"
#define WINO_X86 1
#else
#define WINO_X86 0
#endif

#define L2_BUDGET_BYTES (640u * 1024u) /* V and M of one chunk */

int jp_nn_conv_wino_ok(const jp_nn_conv *c)
{
    return jp_nn_gemm512_ok() && c->k == 3 && c->stride == 1 && c->pad == 1 && c->cin >= 16 &&
           c->cout >= 16;
}

/* U is [16][cout / 8 blocks][cin][8]: the 8 output channels of a block side by side, so that the
 * product's 8 broadcasts at each k come from one 32-byte run; a last partial block is padded with zero
 * weights (its rows of M are computed and not used). */
static int blocks8(int cout) { return (cout + 7) / 8; }

size_t jp_nn_wino_weights_size(const jp_nn_conv *c) { return (size_t)16 * blocks8(c->cout) * 8 * c->cin; }

void jp_nn_wino_pack(const jp_nn_conv *c, float *U)
{
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    size_t per = (size_t)blocks8(c->cout) * 8 * c->cin;
    memset(U, 0, 16 * per * sizeof *U);
    for (int o = 0; o < c->cout; o++)
        for (int i = 0; i < c->cin; i++) {
            const float *g = c->w + ((size_t)o * c->cin + i) * 9;
            double t[4][3]; /* G g */
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < 3; q++) t[r][q] = G[r][0] * g[q] + G[r][1] * g[3 + q] + G[r][2] * g[6 + q];
            size_t at = ((size_t)(o / 8) * c->cin + i) * 8 + o % 8;
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < 4; q++) /* (G g) G^T */
                    U[(size_t)(r * 4 + q) * per + at] = (float)(t[r][0] * G[q][0] + t[r][1] * G[q][1] + t[r][2] * G[q][2]);
        }
}

/* The chunk: R whole tile rows (of tw tiles), NT = R * tw tiles; the products run over ncols >= NT
 * columns (a multiple of 16), V and M are ldv apart (16 more: the last 16-tile store of a row). */
struct plan {
    int th, tw, rows, R, rmax, mrows;
    size_t ncols, ldv;
};

static struct plan make_plan(const jp_nn_conv *c, int n, int h, int w)
{
    struct plan p;
    p.th = (h + 1) / 2, p.tw = (w + 1) / 2, p.rows = n * p.th, p.mrows = blocks8(c->cout) * 8;
    size_t per_tile = (size_t)16 * (c->cin + p.mrows) * sizeof(float);
    size_t rmax = L2_BUDGET_BYTES / per_tile / (size_t)p.tw;
    if (rmax < 1) rmax = 1;
    if (rmax > (size_t)p.rows) rmax = (size_t)p.rows;
    /* the fewest chunks, then the least padding of the columns to a multiple of 16 */
    size_t chunks = ((size_t)p.rows + rmax - 1) / rmax, best = rmax, waste = SIZE_MAX;
    for (size_t r = rmax; r >= 1 && ((size_t)p.rows + r - 1) / r == chunks; r--) {
        size_t nt = r * (size_t)p.tw, wst = (nt + 15) / 16 * 16 - nt;
        if (wst < waste) best = r, waste = wst;
    }
    p.R = (int)best, p.rmax = (int)rmax;
    p.ncols = ((size_t)p.R * p.tw + 15) / 16 * 16;
    p.ldv = p.ncols + 16;
    return p;
}

/* Sized for the largest chunk (rmax tile rows), not the chosen one: the choice is not monotone in n, and
 * callers size one workspace for their largest batch and run smaller ones in it. */
size_t jp_nn_wino_ws_size(const jp_nn_conv *c, int n, int h, int w)
{
    struct plan p = make_plan(c, n, h, w);
    size_t ldv = ((size_t)p.rmax * p.tw + 15) / 16 * 16 + 16;
    return (size_t)16 * (c->cin + p.mrows) * ldv + 16;
}

#if WINO_X86

/* C[8 x 16 NB] = A[8 x K] (packed: A[k * 8 + r]) * B[K x 16 NB] (ldb apart). */
#define DEF_KERNEL(NB)                                                                                             \
    AVX512 static void kernel8x##NB(int K, const float *A, const float *B, size_t ldb, float *C, size_t ldc)    \
    {                                                                                                          \
        __m512 acc[8][NB];                                                                                     \
        _Pragma("GCC unroll 8") for (int r = 0; r < 8; r++)                                                    \
            _Pragma("GCC unroll 2") for (int j = 0; j < NB; j++) acc[r][j] = _mm512_setzero_ps();              \
        for (int k = 0; k < K; k++) {                                                                          \
            __m512 b[NB];                                                                                      \
            _Pragma("GCC unroll 2") for (int j = 0; j < NB; j++) b[j] = _mm512_loadu_ps(B + (size_t)k * ldb + 16 * j); \
            _Pragma("GCC unroll 8") for (int r = 0; r < 8; r++) {                                              \
                __m512 a = _mm512_set1_ps(A[(size_t)k * 8 + r]);                                               \
                _Pragma("GCC unroll 2") for (int j = 0; j < NB; j++) acc[r][j] = _mm512_fmadd_ps(a, b[j], acc[r][j]); \
            }                                                                                                  \
        }                                                                                                      \
        _Pragma("GCC unroll 8") for (int r = 0; r < 8; r++)                                                    \
            _Pragma("GCC unroll 2") for (int j = 0; j < NB; j++) _mm512_storeu_ps(C + (size_t)r * ldc + 16 * j, acc[r][j]); \
    }
DEF_KERNEL(2)
DEF_KERNEL(1)

/* M[mrows x ncols] (rows ldm apart) = U (packed blocks of 8 rows) * V[cin x ncols] (rows ldv apart). */
AVX512 static void product(int mrows, int ncols, int cin, const float *U, const float *V, size_t ldv, float *M,
                           size_t ldm)
{
    for (int i0 = 0; i0 < mrows; i0 += 8) {
        const float *a = U + (size_t)i0 * cin;
        float *m = M + (size_t)i0 * ldm;
        int j = 0;
        for (; j + 32 <= ncols; j += 32) kernel8x2(cin, a, V + j, ldv, m + j, ldm);
        if (j < ncols) kernel8x1(cin, a, V + j, ldv, m + j, ldm);
    }
}

/* The column transform (d B) of one padded input row for the 16 tiles from column tile tx0: src is the
 * input row (NULL: a row of the zero border), its 34 padded columns 2 tx0 .. 2 tx0 + 33 are input columns
 * 2 tx0 - 1 .. 2 tx0 + 32, read under the masks km (columns of the row that exist). */
AVX512 static inline void col_tf(const float *src, int tx0, const __mmask16 km[4], __m512 t[4])
{
    if (!src) {
        t[0] = t[1] = t[2] = t[3] = _mm512_setzero_ps();
        return;
    }
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const float *p = src + 2 * tx0 - 1;
    __m512 a = _mm512_maskz_loadu_ps(km[0], p), b = _mm512_maskz_loadu_ps(km[1], p + 16);
    __m512 a2 = _mm512_maskz_loadu_ps(km[2], p + 2), b2 = _mm512_maskz_loadu_ps(km[3], p + 18);
    __m512 d0 = _mm512_permutex2var_ps(a, ev, b), d1 = _mm512_permutex2var_ps(a, od, b);
    __m512 d2 = _mm512_permutex2var_ps(a2, ev, b2), d3 = _mm512_permutex2var_ps(a2, od, b2);
    t[0] = _mm512_sub_ps(d0, d2);
    t[1] = _mm512_add_ps(d1, d2);
    t[2] = _mm512_sub_ps(d2, d1);
    t[3] = _mm512_sub_ps(d1, d3);
}

/* Lanes l of a 16-float load at input column c0 + l that fall inside 0 .. w-1. */
static __mmask16 cols_mask(int c0, int w)
{
    unsigned m = 0;
    for (int l = 0; l < 16; l++)
        if (c0 + l >= 0 && c0 + l < w) m |= 1u << l;
    return (__mmask16)m;
}

/* A^T M of 16 tiles (M[e] at m + e * es): the two rows s0 and s1 of each tile's 2 x 4 intermediate. */
AVX512 static inline void at_m16(const float *m, size_t es, __m512 s0[4], __m512 s1[4])
{
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        __m512 m0 = _mm512_loadu_ps(m + (size_t)(0 + q) * es), m1 = _mm512_loadu_ps(m + (size_t)(4 + q) * es);
        __m512 m2 = _mm512_loadu_ps(m + (size_t)(8 + q) * es), m3 = _mm512_loadu_ps(m + (size_t)(12 + q) * es);
        s0[q] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
        s1[q] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
}

/* The output transform of 16 tiles (M[e] at m + e * es) into output rows o0 and o1 (o1 NULL past the
 * last row), ncol valid columns from 2 * tx0, with bias, residual rows (or NULL) and activation. */
AVX512 static inline void out_tf16(const float *m, size_t es, float bias, float *o0, float *o1, const float *res0,
                                   const float *res1, int ncol, jp_nn_act act)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    __m512 s0[4], s1[4];
    at_m16(m, es, s0, s1);
    const __m512 bv = _mm512_set1_ps(bias), zero = _mm512_setzero_ps();
    __mmask16 k0 = jp_lanes16(ncol), k1 = jp_lanes16(ncol - 16);
#pragma GCC unroll 2
    for (int row = 0; row < 2; row++) {
        const __m512 *s = row ? s1 : s0;
        float *o = row ? o1 : o0;
        const float *res = row ? res1 : res0;
        if (!o) break;
        __m512 y0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]), s[2]), bv); /* (A^T M) A: columns */
        __m512 y1 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[1], s[2]), s[3]), bv);
        __m512 v0 = _mm512_permutex2var_ps(y0, lo, y1), v1 = _mm512_permutex2var_ps(y0, hi, y1);
        if (res) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(k0, res));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(k1, res + 16));
        }
        if (act == JP_ACT_RELU) {
            v0 = _mm512_max_ps(v0, zero);
            v1 = _mm512_max_ps(v1, zero);
        }
        _mm512_mask_storeu_ps(o, k0, v0);
        _mm512_mask_storeu_ps(o + 16, k1, v1);
    }
}

/* The output transform of 16 tiles followed by 2x2 max pooling: each tile's 4 outputs (with bias and
 * activation; the maximum commutes with ReLU) become one value, ncol of them stored at o. */
AVX512 static inline void out_tf16_pool(const float *m, size_t es, float bias, float *o, int ncol, jp_nn_act act)
{
    __m512 s0[4], s1[4];
    at_m16(m, es, s0, s1);
    __m512 a0 = _mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]), a1 = _mm512_sub_ps(_mm512_sub_ps(s0[1], s0[2]), s0[3]);
    __m512 b0 = _mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]), b1 = _mm512_sub_ps(_mm512_sub_ps(s1[1], s1[2]), s1[3]);
    __m512 y = _mm512_add_ps(_mm512_max_ps(_mm512_max_ps(a0, a1), _mm512_max_ps(b0, b1)), _mm512_set1_ps(bias));
    if (act == JP_ACT_RELU) y = _mm512_max_ps(y, _mm512_setzero_ps());
    _mm512_mask_storeu_ps(o, jp_lanes16(ncol), y);
}

AVX512 static void conv_wino_avx512(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                                    const float *residual, jp_nn_act act, float *ws, int r0, int r1, int pool)
{
    struct plan p = make_plan(c, n, h, w);
    int cin = c->cin, cout = c->cout, tw = p.tw, th = p.th;
    /* V is [cin][16][ldv] and M [mrows][16][ldv]: the 16 transformed values of a tile row's channel lie
     * together (stores and loads 4 ldv bytes apart, not whole planes apart, which alias in the L1) */
    size_t es = p.ldv, ldb = 16 * p.ldv, esU = (size_t)p.mrows * cin;
    size_t plane = (size_t)h * w, ldc = (size_t)n * plane;
    float *V = ws, *M = V + (size_t)cin * ldb;
    for (int g0 = r0; g0 < r1; g0 += p.R) { /* a chunk: tile rows g0 .. g1-1, across images */
        int g1 = g0 + p.R < r1 ? g0 + p.R : r1;
        /* a 16-tile store past the row's last tile spills into the next tile row's first 16 tiles (or the
         * slack after the chunk): the first 16 tiles of each row are written last */
        for (int tx0 = (tw - 1) / 16 * 16; tx0 >= 0; tx0 -= 16) {
            int c0 = 2 * tx0 - 1;
            __mmask16 km[4] = {cols_mask(c0, w), cols_mask(c0 + 16, w), cols_mask(c0 + 2, w), cols_mask(c0 + 18, w)};
            for (int ci = 0; ci < cin; ci++)
                for (int g = g0; g < g1; g++) {
                    int b = g / th, ty = g % th;
                    const float *src = in + ((size_t)ci * n + b) * plane;
                    __m512 t[4][4];
#pragma GCC unroll 4
                    for (int i = 0; i < 4; i++) { /* input rows 2 ty - 1 .. 2 ty + 2, zero outside */
                        int y = 2 * ty - 1 + i;
                        col_tf(y < 0 || y >= h ? NULL : src + (size_t)y * w, tx0, km, t[i]);
                    }
                    float *v = V + (size_t)ci * ldb + (size_t)(g - g0) * tw + tx0;
#pragma GCC unroll 4
                    for (int q = 0; q < 4; q++) { /* B^T (d B): rows */
                        _mm512_storeu_ps(v + (size_t)(0 + q) * es, _mm512_sub_ps(t[0][q], t[2][q]));
                        _mm512_storeu_ps(v + (size_t)(4 + q) * es, _mm512_add_ps(t[1][q], t[2][q]));
                        _mm512_storeu_ps(v + (size_t)(8 + q) * es, _mm512_sub_ps(t[2][q], t[1][q]));
                        _mm512_storeu_ps(v + (size_t)(12 + q) * es, _mm512_sub_ps(t[1][q], t[3][q]));
                    }
                }
        }
        for (int e = 0; e < 16; e++) product(p.mrows, (int)p.ncols, cin, c->wino + e * esU, V + e * es, ldb, M + e * es, ldb);
        if (pool) { /* out is [cout][n][h / 2][w / 2]: one value per tile */
            size_t pplane = (size_t)(h / 2) * (w / 2);
            for (int co = 0; co < cout; co++) {
                float bias = c->b ? c->b[co] : 0.0f;
                for (int g = g0; g < g1; g++) {
                    int b = g / th, ty = g % th;
                    float *o = out + (size_t)co * n * pplane + (size_t)b * pplane + (size_t)ty * (w / 2);
                    const float *m = M + (size_t)co * ldb + (size_t)(g - g0) * tw;
                    for (int tx0 = 0; tx0 < tw; tx0 += 16)
                        out_tf16_pool(m + tx0, es, bias, o + tx0, tw - tx0 < 16 ? tw - tx0 : 16, act);
                }
            }
            continue;
        }
        for (int co = 0; co < cout; co++) {
            float bias = c->b ? c->b[co] : 0.0f;
            for (int g = g0; g < g1; g++) {
                int b = g / th, ty = g % th, y0 = 2 * ty;
                size_t at0 = (size_t)co * ldc + (size_t)b * plane + (size_t)y0 * w, at1 = at0 + (size_t)w;
                int second = y0 + 1 < h;
                const float *m = M + (size_t)co * ldb + (size_t)(g - g0) * tw;
                for (int tx0 = 0; tx0 < tw; tx0 += 16) {
                    int ncol = w - 2 * tx0 < 32 ? w - 2 * tx0 : 32;
                    out_tf16(m + tx0, es, bias, out + at0 + 2 * tx0, second ? out + at1 + 2 * tx0 : NULL,
                             residual ? residual + at0 + 2 * tx0 : NULL,
                             residual && second ? residual + at1 + 2 * tx0 : NULL, ncol, act);
                }
            }
        }
    }
}
#endif

int jp_nn_wino_tile_rows(int n, int h) { return n * ((h + 1) / 2); }

void jp_nn_conv2d_wino_rows(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                            const float *residual, jp_nn_act act, float *ws, int r0, int r1)
{
#if WINO_X86
    conv_wino_avx512(c, in, n, h, w, out, residual, act, ws, r0, r1, 0);
#else
    (void)c, (void)in, (void)n, (void)h, (void)w, (void)out, (void)residual, (void)act, (void)ws, (void)r0, (void)r1;
#endif
}

void jp_nn_conv2d_wino_pool_rows(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                                 jp_nn_act act, float *ws, int r0, int r1)
{
#if WINO_X86
    conv_wino_avx512(c, in, n, h, w, out, NULL, act, ws, r0, r1, 1);
#else
    (void)c, (void)in, (void)n, (void)h, (void)w, (void)out, (void)act, (void)ws, (void)r0, (void)r1;
#endif
}

void jp_nn_conv2d_wino(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out, const float *residual,
                       jp_nn_act act, float *ws)
{
    jp_nn_conv2d_wino_rows(c, in, n, h, w, out, residual, act, ws, 0, jp_nn_wino_tile_rows(n, h));
}
