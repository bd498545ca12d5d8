/* AVX-512 kernels of the engine; see ops.h. Used where the CPU has AVX-512 (checked at run time).
 *
 * jp_nn_gemm512: the convolutions' matrix product with its epilogue, in registers.
 * C[M x N] = act(A[M x K] B[K x N] + bias[row] + col_bias[col] [+ R]) on register tiles of MB (8, 4, 2 or 1) rows x 32
 * columns: each k broadcasts MB values of A against two 16-float vectors of B. Bias, residual and
 * activation are applied to the accumulators before the one store, so C is written once and never read
 * back (the portable product in ops.c stores each tile, then runs its epilogue over it again). A last
 * partial group of columns is loaded and stored under masks.
 *
 * jp_nn_rows512: a few rows (a batch-1 linear layer) times a weight transposed at load, bias per column.
 *
 * jp_nn_maxpool2x2_512: 2x2 stride-2 max pooling, 16 outputs at a time, even and odd columns separated
 * with a permute (the portable loop's stride-2 loads do not vectorize). */
#define _POSIX_C_SOURCE 200809L
#include "nn/ops.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "nn/avx512.h"

static int disabled; /* tests run both the AVX-512 kernels and the portable ones on one machine */

void jp_nn_avx512_set_enabled(int on) { disabled = !on; }

int jp_nn_gemm512_ok(void)
{
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return known && !disabled;
}

/* The inner loop of every 32-column tile: for k < K, acc0/acc1[r] += A[r][k] x the two vectors of row k of
 * B, for the MB rows r. ROW(k) is where row k starts; LOAD(p, v) loads its vector v (0 or 1). */
#define KLOOP(MB, ROW, LOAD)                                                                                       \
    for (int k = 0; k < K; k++) {                                                                                  \
        const float *b = ROW(k);                                                                                   \
        __m512 b0 = LOAD(b, 0), b1 = LOAD(b, 1);                                                                   \
        _Pragma("GCC unroll 8") for (int r = 0; r < MB; r++) {                                                     \
            __m512 a = _mm512_set1_ps(A[(size_t)r * lda + k]);                                                     \
            acc0[r] = _mm512_fmadd_ps(a, b0, acc0[r]);                                                             \
            acc1[r] = _mm512_fmadd_ps(a, b1, acc1[r]);                                                             \
        }                                                                                                          \
    }
#define STRIDED_ROW(k) (B + (size_t)(k) * ldb)                 /* a row-major B */
#define MASKED_LOAD(p, v) _mm512_maskz_loadu_ps((v) ? k1 : k0, (p) + 16 * (v)) /* nb valid columns */
#define OFFSET_ROW(k) (B + off[k])                             /* the shifted rows of a padded input */
#define FULL_LOAD(p, v) _mm512_loadu_ps((p) + 16 * (v))

/* One tile of MB rows x (up to) 32 columns: nb valid columns (1..32). */
#define DEF_TILE(MB)                                                                                               \
    AVX512 static void tile##MB(int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,       \
                                int nb, const float *bias, const float *cbias, const float *res, jp_nn_act act) \
    {                                                                                                              \
        const __mmask16 k0 = jp_lanes16(nb), k1 = jp_lanes16(nb - 16);                                                       \
        __m512 acc0[MB], acc1[MB];                                                                                 \
        _Pragma("GCC unroll 8") for (int r = 0; r < MB; r++) acc0[r] = acc1[r] = _mm512_setzero_ps();              \
        KLOOP(MB, STRIDED_ROW, MASKED_LOAD)                                                                        \
        const __m512 zero = _mm512_setzero_ps();                                                                   \
        _Pragma("GCC unroll 8") for (int r = 0; r < MB; r++) {                                                     \
            __m512 v0 = acc0[r], v1 = acc1[r];                                                                     \
            if (bias) {                                                                                            \
                __m512 bv = _mm512_set1_ps(bias[r]);                                                               \
                v0 = _mm512_add_ps(v0, bv), v1 = _mm512_add_ps(v1, bv);                                            \
            }                                                                                                      \
            if (cbias) {                                                                                           \
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(k0, cbias));                                          \
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(k1, cbias + 16));                                     \
            }                                                                                                      \
            if (res) {                                                                                             \
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(k0, res + (size_t)r * ldc));                          \
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(k1, res + (size_t)r * ldc + 16));                     \
            }                                                                                                      \
            if (act == JP_ACT_RELU) v0 = _mm512_max_ps(v0, zero), v1 = _mm512_max_ps(v1, zero);                    \
            _mm512_mask_storeu_ps(C + (size_t)r * ldc, k0, v0);                                                    \
            _mm512_mask_storeu_ps(C + (size_t)r * ldc + 16, k1, v1);                                               \
        }                                                                                                          \
    }
DEF_TILE(8)
DEF_TILE(4)
DEF_TILE(2)
DEF_TILE(1)

AVX512 void jp_nn_gemm512(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                          const float *bias, const float *col_bias, const float *residual, jp_nn_act act)
{
    /* column blocks outside, so that a block of B (K x 32) is read from the cache by every row group */
    for (int j0 = 0; j0 < N; j0 += 32) {
        int nb = N - j0 < 32 ? N - j0 : 32;
        for (int i0 = 0; i0 < M;) {
            int mb = M - i0 >= 8 ? 8 : M - i0 >= 4 ? 4 : M - i0 >= 2 ? 2 : 1;
            const float *a = A + (size_t)i0 * lda, *b = B + j0, *bs = bias ? bias + i0 : NULL;
            const float *rs = residual ? residual + (size_t)i0 * ldc + j0 : NULL, *cb = col_bias ? col_bias + j0 : NULL;
            float *c = C + (size_t)i0 * ldc + j0;
            switch (mb) {
            case 8: tile8(K, a, lda, b, ldb, c, ldc, nb, bs, cb, rs, act); break;
            case 4: tile4(K, a, lda, b, ldb, c, ldc, nb, bs, cb, rs, act); break;
            case 2: tile2(K, a, lda, b, ldb, c, ldc, nb, bs, cb, rs, act); break;
            default: tile1(K, a, lda, b, ldb, c, ldc, nb, bs, cb, rs, act); break;
            }
            i0 += mb;
        }
    }
}
/* A few rows times a pre-packed weight: C[M x N] = act(A[M x K] Bt[K x N] + bias[col] [+ C]), M 1..4. Each
 * k broadcasts M values of A against NV vectors of Bt's row k (contiguous: the weight was transposed at
 * load), so the weight streams through once per call, NV independent accumulators per row hide the
 * FMA latency (8 for one row, 4 for 2..4), and nothing is packed per call (OpenBLAS repacked the whole
 * weight for every single row, the dominant cost of a batch-1 linear layer). */
#define DEF_ROWS(MB, NV)                                                                                           \
    AVX512 static void rows##MB(int N, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc,\
                                const float *bias, int accumulate, jp_nn_act act)                               \
    {                                                                                                              \
        for (int j0 = 0; j0 < N; j0 += 16 * NV) {                                                                  \
            __mmask16 km[NV];                                                                                      \
            _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) km[v] = jp_lanes16(N - j0 - 16 * v);              \
            __m512 acc[MB][NV];                                                                                    \
            _Pragma("GCC unroll 8") for (int r = 0; r < MB; r++)                                                   \
                _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();              \
            for (int k = 0; k < K; k++) {                                                                          \
                const float *b = Bt + (size_t)k * ldb + j0;                                                        \
                __m512 bv[NV];                                                                                     \
                _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) bv[v] = _mm512_maskz_loadu_ps(km[v], b + 16 * v); \
                _Pragma("GCC unroll 8") for (int r = 0; r < MB; r++) {                                             \
                    __m512 a = _mm512_set1_ps(A[(size_t)r * lda + k]);                                             \
                    _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(a, bv[v], acc[r][v]); \
                }                                                                                                  \
            }                                                                                                      \
            const __m512 zero = _mm512_setzero_ps();                                                               \
            _Pragma("GCC unroll 8") for (int r = 0; r < MB; r++) {                                                 \
                float *c = C + (size_t)r * ldc + j0;                                                               \
                _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) {                                             \
                    __m512 x = acc[r][v];                                                                          \
                    if (bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(km[v], bias + j0 + 16 * v));              \
                    if (accumulate) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(km[v], c + 16 * v));                \
                    if (act == JP_ACT_RELU) x = _mm512_max_ps(x, zero);                                            \
                    _mm512_mask_storeu_ps(c + 16 * v, km[v], x);                                                   \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }
DEF_ROWS(1, 8)
DEF_ROWS(2, 4)
DEF_ROWS(3, 4)
DEF_ROWS(4, 4)

AVX512 void jp_nn_rows512(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc,
                          const float *bias, int accumulate, jp_nn_act act)
{
    for (int i0 = 0; i0 < M;) {
        int mb = M - i0 >= 4 ? 4 : M - i0;
        const float *a = A + (size_t)i0 * lda;
        float *c = C + (size_t)i0 * ldc;
        switch (mb) {
        case 4: rows4(N, K, a, lda, Bt, ldb, c, ldc, bias, accumulate, act); break;
        case 3: rows3(N, K, a, lda, Bt, ldb, c, ldc, bias, accumulate, act); break;
        case 2: rows2(N, K, a, lda, Bt, ldb, c, ldc, bias, accumulate, act); break;
        default: rows1(N, K, a, lda, Bt, ldb, c, ldc, bias, accumulate, act); break;
        }
        i0 += mb;
    }
}

/* Stride-1 "same" convolutions on the zero-bordered input (ops.c, jp_nn_conv2d_padded_rows: the same grid
 * and tiles), with the tile kept in registers: MB output channels x 32 positions j of the padded-width
 * grid, k over cin*k*k shifted rows. The grid's extra columns (ox >= w) are squeezed out in registers
 * (a compress: the valid positions of a vector are consecutive outputs), then bias, residual and
 * activation are applied and each vector is stored once; the portable form stores the tile and copies
 * it out run by run, which cost more than the products for a first layer with one input channel. */
#define DEF_ITILE(MB)                                                                                              \
    AVX512 static void itile##MB(int K, const float *A, int lda, const float *B, const int *off, __m512 acc0[],    \
                                 __m512 acc1[])                                                                   \
    {                                                                                                              \
        _Pragma("GCC unroll 8") for (int r = 0; r < MB; r++) acc0[r] = acc1[r] = _mm512_setzero_ps();              \
        KLOOP(MB, OFFSET_ROW, FULL_LOAD)                                                                           \
    }
DEF_ITILE(8)
DEF_ITILE(4)
DEF_ITILE(2)
DEF_ITILE(1)

/* The valid lanes (ox < w) of 16 grid positions from column ox of a row of width wp, and where the first
 * valid one lies relative to the start (in positions skipped). */
static __mmask16 valid_lanes(int ox, int w, int wp, int lanes, int *skip)
{
    unsigned m = 0;
    *skip = -1;
    for (int l = 0; l < lanes; l++) {
        if (ox < w) {
            m |= 1u << l;
            if (*skip < 0) *skip = l;
        }
        if (++ox == wp) ox = 0;
    }
    return (__mmask16)m;
}

AVX512 void jp_nn_conv_implicit512(const jp_nn_conv *c, const float *padded, int n, int h, int w, float *out,
                                   const float *residual, jp_nn_act act, const int *off, int r0, int r1)
{
    (void)n;
    int k = c->k, wp = w + k - 1, hp = h + k - 1, kdim = c->cin * k * k;
    size_t plane = (size_t)hp * wp, ohw = (size_t)h * w, ldc = (size_t)n * ohw;
    const __m512 zero = _mm512_setzero_ps();
    for (int r = r0; r < r1;) {
        int b = r / h, oy0 = r % h, oy1 = oy0 + (r1 - r) < h ? oy0 + (r1 - r) : h;
        int jbeg = oy0 * wp, jend = (oy1 - 1) * wp + w;
        const float *pb = padded + (size_t)b * plane;
        for (int j0 = jbeg; j0 < jend; j0 += 32) {
            /* the two vectors' valid lanes and the output index of their first valid position */
            __mmask16 km[2];
            size_t at[2];
            int cnt[2];
            for (int v = 0; v < 2; v++) {
                int j = j0 + 16 * v, lanes = jend - j < 16 ? jend - j : 16, skip;
                km[v] = lanes > 0 ? valid_lanes(j % wp, w, wp, lanes, &skip) : 0;
                cnt[v] = __builtin_popcount(km[v]);
                at[v] = cnt[v] ? (size_t)b * ohw + (size_t)((j + skip) / wp) * w + (size_t)((j + skip) % wp) : 0;
            }
            for (int i0 = 0; i0 < c->cout;) {
                int mb = c->cout - i0 >= 8 ? 8 : c->cout - i0 >= 4 ? 4 : c->cout - i0 >= 2 ? 2 : 1;
                __m512 acc[2][8];
                const float *A = c->w + (size_t)i0 * kdim;
                switch (mb) {
                case 8: itile8(kdim, A, kdim, pb + j0, off, acc[0], acc[1]); break;
                case 4: itile4(kdim, A, kdim, pb + j0, off, acc[0], acc[1]); break;
                case 2: itile2(kdim, A, kdim, pb + j0, off, acc[0], acc[1]); break;
                default: itile1(kdim, A, kdim, pb + j0, off, acc[0], acc[1]); break;
                }
                for (int q = 0; q < mb; q++) {
                    const __m512 bv = _mm512_set1_ps(c->b ? c->b[i0 + q] : 0.0f);
                    for (int v = 0; v < 2; v++) {
                        if (!cnt[v]) continue;
                        __mmask16 kc = jp_lanes16(cnt[v]);
                        size_t o = (size_t)(i0 + q) * ldc + at[v];
                        __m512 x = _mm512_add_ps(_mm512_maskz_compress_ps(km[v], acc[v][q]), bv);
                        if (residual) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(kc, residual + o));
                        if (act == JP_ACT_RELU) x = _mm512_max_ps(x, zero);
                        _mm512_mask_storeu_ps(out + o, kc, x);
                    }
                }
                i0 += mb;
            }
        }
        r += oy1 - oy0;
    }
}

AVX512 void jp_nn_linear512(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc,
                            const float *bias, int accumulate, jp_nn_act act)
{
    if (M <= 4) /* the weight streamed once per 4 rows */
        jp_nn_rows512(M, N, K, A, lda, Bt, ldb, C, ldc, bias, accumulate, act);
    else /* a 32-column block of the weight read from the cache by every group of 8 rows */
        jp_nn_gemm512(M, N, K, A, lda, Bt, ldb, C, ldc, NULL, bias, accumulate ? C : NULL, act);
}

/* out[p][oy][ox] = max of in[p][2oy..2oy+1][2ox..2ox+1]; max(a, b) is a > b ? a : b, as in ops.c, so a
 * NaN propagates the same way. */
AVX512 void jp_nn_maxpool2x2_512(const float *in, int planes, int h, int w, float *out)
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int oh = h / 2, ow = w / 2;
    for (int p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            const float *r0 = src + (size_t)(2 * oy) * w, *r1 = r0 + w;
            for (int ox = 0; ox < ow; ox += 16) {
                int n = ow - ox < 16 ? ow - ox : 16; /* outputs; inputs 2n from column 2 ox */
                __mmask16 ka = jp_lanes16(2 * n), kb = jp_lanes16(2 * n - 16), ko = jp_lanes16(n);
                const float *a = r0 + 2 * ox, *b = r1 + 2 * ox;
                __m512 a0 = _mm512_maskz_loadu_ps(ka, a), a1 = _mm512_maskz_loadu_ps(kb, a + 16);
                __m512 b0 = _mm512_maskz_loadu_ps(ka, b), b1 = _mm512_maskz_loadu_ps(kb, b + 16);
                __m512 x = _mm512_max_ps(_mm512_permutex2var_ps(a0, ev, a1), _mm512_permutex2var_ps(a0, od, a1));
                __m512 y = _mm512_max_ps(_mm512_permutex2var_ps(b0, ev, b1), _mm512_permutex2var_ps(b0, od, b1));
                _mm512_mask_storeu_ps(dst + (size_t)oy * ow + ox, ko, _mm512_max_ps(x, y));
            }
        }
    }
}
#else
void jp_nn_avx512_set_enabled(int on) { (void)on; }

void jp_nn_maxpool2x2_512(const float *in, int planes, int h, int w, float *out)
{
    (void)in, (void)planes, (void)h, (void)w, (void)out;
}

int jp_nn_gemm512_ok(void) { return 0; }

void jp_nn_linear512(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc,
                     const float *bias, int accumulate, jp_nn_act act)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)Bt, (void)ldb, (void)C, (void)ldc, (void)bias,
        (void)accumulate, (void)act;
}

void jp_nn_conv_implicit512(const jp_nn_conv *c, const float *padded, int n, int h, int w, float *out,
                            const float *residual, jp_nn_act act, const int *off, int r0, int r1)
{
    (void)c, (void)padded, (void)n, (void)h, (void)w, (void)out, (void)residual, (void)act, (void)off, (void)r0, (void)r1;
}

void jp_nn_rows512(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc,
                   const float *bias, int accumulate, jp_nn_act act)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)Bt, (void)ldb, (void)C, (void)ldc, (void)bias,
        (void)accumulate, (void)act;
}

void jp_nn_gemm512(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                   const float *bias, const float *col_bias, const float *residual, jp_nn_act act)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb, (void)C, (void)ldc, (void)bias, (void)col_bias,
        (void)residual, (void)act;
}
#endif
