/* The inference engine's operations against naive references, on random inputs of odd shapes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/ops.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}
static float *rand_buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

static void assert_close(const float *got, const double *want, size_t n, double tol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= tol * (1.0 + fabs(want[i])))) fail_msg("%s[%zu]: got %.9g, want %.9g", what, i, (double)got[i], want[i]);
    }
}

/* ---- convolution ---- */

struct conv_case {
    int n, cin, cout, h, w, k, stride, pad;
};

/* Naive convolution on NCHW in double, with optional residual and ReLU. */
static void naive_conv(const struct conv_case *c, const float *in_nchw, const float *wt, const float *b,
                       const double *res_nchw, int relu, double *out_nchw)
{
    int oh = jp_nn_out_size(c->h, c->k, c->stride, c->pad), ow = jp_nn_out_size(c->w, c->k, c->stride, c->pad);
    for (int n = 0; n < c->n; n++)
        for (int o = 0; o < c->cout; o++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    double s = b[o];
                    for (int i = 0; i < c->cin; i++)
                        for (int ky = 0; ky < c->k; ky++)
                            for (int kx = 0; kx < c->k; kx++) {
                                int iy = y * c->stride + ky - c->pad, ix = x * c->stride + kx - c->pad;
                                if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w) continue;
                                s += (double)in_nchw[((n * c->cin + i) * c->h + iy) * c->w + ix] *
                                     wt[((o * c->cin + i) * c->k + ky) * c->k + kx];
                            }
                    size_t at = ((size_t)(n * c->cout + o) * oh + y) * ow + x;
                    if (res_nchw) s += res_nchw[at];
                    out_nchw[at] = relu && s < 0 ? 0 : s;
                }
}

static void run_conv_case(const struct conv_case *c, int with_residual, int relu)
{
    int oh = jp_nn_out_size(c->h, c->k, c->stride, c->pad), ow = jp_nn_out_size(c->w, c->k, c->stride, c->pad);
    size_t in_n = (size_t)c->n * c->cin * c->h * c->w, out_n = (size_t)c->n * c->cout * oh * ow;
    float *in = rand_buf(in_n), *wt = rand_buf((size_t)c->cout * c->cin * c->k * c->k), *b = rand_buf((size_t)c->cout);
    float *res = rand_buf(out_n); /* NCHW */
    float *in_cnhw = malloc(in_n * sizeof *in_cnhw), *res_cnhw = malloc(out_n * sizeof *res_cnhw);
    float *out = malloc(out_n * sizeof *out), *out_nchw = malloc(out_n * sizeof *out_nchw);
    double *want = malloc(out_n * sizeof *want), *resd = malloc(out_n * sizeof *resd);
    jp_nn_conv cv = {c->cin, c->cout, c->k, c->stride, c->pad, wt, b, NULL};
    float *wino = NULL;
    if (jp_nn_conv_wino_ok(&cv)) assert_non_null(wino = malloc(jp_nn_wino_weights_size(&cv) * sizeof *wino));
    assert_true(in_cnhw && res_cnhw && out && out_nchw && want && resd);
    for (size_t i = 0; i < out_n; i++) resd[i] = res[i];
    jp_nn_nchw_to_cnhw(in, c->n, c->cin, c->h * c->w, in_cnhw);
    jp_nn_nchw_to_cnhw(res, c->n, c->cout, oh * ow, res_cnhw);
    naive_conv(c, in, wt, b, with_residual ? resd : NULL, relu, want);
    /* the direct method, then (where this CPU has it) Winograd's */
    for (int method = 0; method < (wino ? 2 : 1); method++) {
        if (method) jp_nn_wino_pack(&cv, cv.wino = wino);
        size_t cs = jp_nn_conv_col_size(&cv, c->n, c->h, c->w);
        float *col = malloc((cs ? cs : 1) * sizeof *col);
        assert_non_null(col);
        for (size_t i = 0; i < out_n; i++) out[i] = NAN; /* every output must be written */
        jp_nn_conv2d(&cv, in_cnhw, c->n, c->h, c->w, out, with_residual ? res_cnhw : NULL,
                     relu ? JP_ACT_RELU : JP_ACT_NONE, col);
        /* back to NCHW: rows of [cout][n*oh*ow] */
        jp_nn_cnhw_to_rows(out, c->cout, c->n, oh * ow, out_nchw);
        char what[160];
        snprintf(what, sizeof what, "conv n%d cin%d cout%d %dx%d k%d s%d p%d%s", c->n, c->cin, c->cout, c->h, c->w,
                 c->k, c->stride, c->pad, method ? " (Winograd)" : "");
        /* float rounding grows with the length of each sum: about sqrt(cin k k) x machine epsilon */
        double kdim = (double)c->cin * c->k * c->k, tol = 3e-6 * sqrt(kdim) > 1e-5 ? 3e-6 * sqrt(kdim) : 1e-5;
        assert_close(out_nchw, want, out_n, tol, what);
        free(col);
    }
    free(in), free(wt), free(b), free(res), free(in_cnhw), free(res_cnhw), free(out), free(out_nchw), free(want);
    free(resd), free(wino);
}

/* Winograd's convolution with 2x2 max pooling in its output transform (jp_nn_conv2d_wino_pool_rows)
 * against the convolution then jp_nn_maxpool2d: equal to the bit (a constant added and a rounding keep the
 * order of values, and the maximum commutes with ReLU), over two row ranges as two threads take them. */
static void test_wino_pool(void **state)
{
    (void)state;
    static const struct conv_case cases[] = {
        {2, 16, 16, 28, 28, 3, 1, 1}, {2, 17, 24, 6, 10, 3, 1, 1}, {1, 16, 32, 4, 36, 3, 1, 1},
        {3, 40, 33, 14, 14, 3, 1, 1}, {1, 16, 16, 2, 2, 3, 1, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const struct conv_case *c = &cases[k];
        float *in = rand_buf((size_t)c->n * c->cin * c->h * c->w), *wt = rand_buf((size_t)c->cout * c->cin * 9);
        float *b = rand_buf((size_t)c->cout);
        jp_nn_conv cv = {c->cin, c->cout, 3, 1, 1, wt, b, NULL};
        if (!jp_nn_conv_wino_ok(&cv)) { /* no AVX-512 here: nothing to compare */
            free(in), free(wt), free(b);
            return;
        }
        float *wino = malloc(jp_nn_wino_weights_size(&cv) * sizeof *wino);
        jp_nn_wino_pack(&cv, cv.wino = wino);
        size_t full = (size_t)c->cout * c->n * c->h * c->w, pooled = full / 4;
        size_t cs = jp_nn_conv_col_size(&cv, c->n, c->h, c->w);
        float *col = malloc(cs * sizeof *col), *out = malloc(full * sizeof *out);
        float *want = malloc(pooled * sizeof *want), *got = malloc(pooled * sizeof *got);
        assert_true(wino && col && out && want && got);
        for (int relu = 0; relu < 2; relu++) {
            jp_nn_act act = relu ? JP_ACT_RELU : JP_ACT_NONE;
            jp_nn_conv2d(&cv, in, c->n, c->h, c->w, out, NULL, act, col);
            jp_nn_maxpool2d(out, c->cout * c->n, c->h, c->w, 2, 2, 0, want);
            for (size_t i = 0; i < pooled; i++) got[i] = NAN; /* every output must be written */
            int rows = jp_nn_wino_tile_rows(c->n, c->h), mid = rows / 3;
            jp_nn_conv2d_wino_pool_rows(&cv, in, c->n, c->h, c->w, got, act, col, 0, mid);
            jp_nn_conv2d_wino_pool_rows(&cv, in, c->n, c->h, c->w, got, act, col, mid, rows);
            for (size_t i = 0; i < pooled; i++)
                if (!(got[i] == want[i]))
                    fail_msg("case %zu relu %d: pooled %zu is %g, conv then pool gives %g", k, relu, i, got[i], want[i]);
        }
        free(in), free(wt), free(b), free(wino), free(col), free(out), free(want), free(got);
    }
}

static void test_conv2d(void **state)
{
    (void)state;
    static const struct conv_case cases[] = {
        {1, 1, 1, 1, 1, 1, 1, 0},  {3, 5, 7, 9, 11, 3, 1, 1}, {2, 3, 4, 13, 7, 3, 2, 1}, {3, 7, 5, 10, 9, 1, 1, 0},
        {2, 6, 9, 11, 13, 1, 2, 0}, {1, 3, 8, 17, 15, 7, 2, 3}, {5, 2, 3, 5, 5, 5, 1, 2}, {2, 4, 6, 12, 12, 4, 4, 0},
        {3, 1, 5, 28, 28, 3, 1, 1}, {1, 2, 3, 6, 7, 3, 3, 0},
        /* small products whose column count leaves 1..8 over a multiple of 16 (see gemm_nn) */
        {1, 4, 6, 7, 7, 3, 1, 1},   {1, 5, 3, 3, 3, 3, 1, 1}, {2, 40, 8, 5, 4, 1, 1, 0},
        /* 3x3 "same" with 16+ channels, Winograd's where the CPU has AVX-512: odd sides (a last tile half
         * out), one pixel, rows wider than 16 tiles, several chunks of tile rows, channels not multiples of 8 */
        {2, 17, 24, 7, 9, 3, 1, 1}, {1, 16, 16, 28, 28, 3, 1, 1}, {3, 40, 33, 13, 5, 3, 1, 1},
        {2, 16, 19, 1, 1, 3, 1, 1}, {1, 24, 16, 2, 3, 3, 1, 1},   {1, 16, 32, 5, 37, 3, 1, 1},
        {4, 96, 96, 14, 14, 3, 1, 1}, {1, 192, 64, 7, 7, 3, 1, 1},
    };
    /* the AVX-512 kernels where the CPU has them (the products' and Winograd's), then the portable ones */
    for (int avx512 = 1; avx512 >= 0; avx512--) {
        jp_nn_avx512_set_enabled(avx512);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            run_conv_case(&cases[i], 0, 0);
            run_conv_case(&cases[i], 1, 1);
            run_conv_case(&cases[i], 0, 1);
        }
    }
    jp_nn_avx512_set_enabled(1);
}

/* A convolution followed by batch norm equals the folded convolution. */
static void test_fold_bn(void **state)
{
    (void)state;
    struct conv_case c = {3, 5, 7, 9, 8, 3, 2, 1};
    int oh = jp_nn_out_size(c.h, c.k, c.stride, c.pad), ow = jp_nn_out_size(c.w, c.k, c.stride, c.pad);
    size_t in_n = (size_t)c.n * c.cin * c.h * c.w, out_n = (size_t)c.n * c.cout * oh * ow, wn = (size_t)c.cout * c.cin * 9;
    float *in = rand_buf(in_n), *wt = rand_buf(wn), *wt2 = malloc(wn * sizeof *wt2), *zero = calloc((size_t)c.cout, sizeof(float));
    float g[7], be[7], mu[7], var[7], b2[7];
    for (int i = 0; i < c.cout; i++) {
        g[i] = 0.5f + frand() * 0.4f;
        be[i] = frand();
        mu[i] = frand() * 0.3f;
        var[i] = 0.2f + fabsf(frand());
        b2[i] = 0;
    }
    memcpy(wt2, wt, wn * sizeof *wt);
    double *plain = malloc(out_n * sizeof *plain), *want = malloc(out_n * sizeof *want);
    naive_conv(&c, in, wt, zero, NULL, 0, plain);
    for (int n = 0; n < c.n; n++)
        for (int o = 0; o < c.cout; o++)
            for (int p = 0; p < oh * ow; p++) {
                size_t at = ((size_t)n * c.cout + o) * oh * ow + p;
                want[at] = (plain[at] - mu[o]) / sqrt((double)var[o] + 1e-5) * g[o] + be[o];
            }
    jp_nn_conv cv = {c.cin, c.cout, c.k, c.stride, c.pad, wt2, b2, NULL};
    jp_nn_fold_bn(&cv, g, be, mu, var, 1e-5);
    double *got = malloc(out_n * sizeof *got);
    naive_conv(&c, in, cv.w, cv.b, NULL, 0, got);
    float *gotf = malloc(out_n * sizeof *gotf);
    for (size_t i = 0; i < out_n; i++) gotf[i] = (float)got[i];
    assert_close(gotf, want, out_n, 1e-5, "folded batch norm");
    free(in), free(wt), free(wt2), free(zero), free(plain), free(want), free(got), free(gotf);
}

static void test_pooling(void **state)
{
    (void)state;
    static const int cases[][5] = {{7, 9, 2, 2, 0}, {11, 13, 3, 2, 1}, {5, 5, 3, 1, 1}, {28, 28, 2, 2, 0}, {1, 1, 1, 1, 0},
                                   {6, 70, 2, 2, 0}, {3, 33, 2, 2, 0}, {2, 2, 2, 2, 0}};
    /* 2x2 pooling has an AVX-512 kernel: both it (where the CPU has it) and the portable loop */
    for (size_t run = 0; run < 2 * sizeof cases / sizeof cases[0]; run++) {
        size_t ci = run % (sizeof cases / sizeof cases[0]);
        jp_nn_avx512_set_enabled(run < sizeof cases / sizeof cases[0]);
        int h = cases[ci][0], w = cases[ci][1], k = cases[ci][2], s = cases[ci][3], p = cases[ci][4], planes = 6;
        int oh = jp_nn_out_size(h, k, s, p), ow = jp_nn_out_size(w, k, s, p);
        float *in = rand_buf((size_t)planes * h * w), *out = malloc((size_t)planes * oh * ow * sizeof(float));
        double *want = malloc((size_t)planes * oh * ow * sizeof(double));
        jp_nn_maxpool2d(in, planes, h, w, k, s, p, out);
        for (int pl = 0; pl < planes; pl++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    double m = -INFINITY;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = y * s + ky - p, ix = x * s + kx - p;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w && in[(pl * h + iy) * w + ix] > m)
                                m = in[(pl * h + iy) * w + ix];
                        }
                    want[(pl * oh + y) * ow + x] = m;
                }
        assert_close(out, want, (size_t)planes * oh * ow, 0, "maxpool");
        free(in), free(out), free(want);
    }
    jp_nn_avx512_set_enabled(1);
    /* global average pooling: CNHW [c][n][hw] -> [n][c] */
    int c = 5, n = 3, hw = 49;
    float *in = rand_buf((size_t)c * n * hw), out[15];
    double want[15];
    jp_nn_global_avgpool(in, c, n, hw, out);
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            double s = 0;
            for (int i = 0; i < hw; i++) s += in[((size_t)ch * n + b) * hw + i];
            want[b * c + ch] = s / hw;
        }
    assert_close(out, want, 15, 1e-6, "global average pool");
    free(in);
}

static void test_linear(void **state)
{
    (void)state;
    static const int cases[][3] = {{1, 1, 1}, {7, 13, 5}, {3, 784, 10}, {50, 64, 192}, {9, 33, 17}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int m = cases[ci][0], in = cases[ci][1], out = cases[ci][2];
        float *x = rand_buf((size_t)m * in), *w = rand_buf((size_t)out * in), *b = rand_buf((size_t)out);
        float *y = rand_buf((size_t)m * out), *y0 = malloc((size_t)m * out * sizeof(float));
        double *want = malloc((size_t)m * out * sizeof(double));
        memcpy(y0, y, (size_t)m * out * sizeof(float));
        for (int act = 0; act < 4; act++) { /* none, relu, gelu, accumulate */
            memcpy(y, y0, (size_t)m * out * sizeof(float));
            jp_nn_linear(x, m, in, w, b, out, y, act == 3, act == 1 ? JP_ACT_RELU : act == 2 ? JP_ACT_GELU : JP_ACT_NONE);
            for (int r = 0; r < m; r++)
                for (int o = 0; o < out; o++) {
                    double s = b[o];
                    for (int i = 0; i < in; i++) s += (double)x[r * in + i] * w[o * in + i];
                    if (act == 1) s = s > 0 ? s : 0;
                    if (act == 2) s = 0.5 * s * (1 + erf(s / sqrt(2.0)));
                    if (act == 3) s += y0[r * out + o];
                    want[r * out + o] = s;
                }
            assert_close(y, want, (size_t)m * out, 2e-5, act == 3 ? "linear (accumulate)" : "linear");
        }
        /* no bias */
        jp_nn_linear(x, m, in, w, NULL, out, y, 0, JP_ACT_NONE);
        for (int r = 0; r < m; r++)
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int i = 0; i < in; i++) s += (double)x[r * in + i] * w[o * in + i];
                want[r * out + o] = s;
            }
        assert_close(y, want, (size_t)m * out, 2e-5, "linear without bias");
        free(x), free(w), free(b), free(y), free(y0), free(want);
    }
}

/* jp_nn_rows512, the batch-1 product over a weight transposed at load, and jp_nn_gemm512 with a bias per
 * column (linear layers of more rows), against a double-precision sum: 1 to 64 rows, column counts that
 * end mid-vector and mid-block, bias or none, accumulate, ReLU; columns outside the product are left
 * alone. */
static void test_rows512(void **state)
{
    (void)state;
    if (!jp_nn_gemm512_ok()) skip();
    static const int cases[][3] = {{1, 1, 1},    {1, 784, 256}, {2, 13, 130}, {3, 64, 33},
                                   {4, 9, 16},   {5, 200, 129}, {13, 96, 40}, {64, 128, 10}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int m = cases[ci][0], in = cases[ci][1], out = cases[ci][2], ld = out + 3; /* C wider than the product */
        float *x = rand_buf((size_t)m * in), *wt = rand_buf((size_t)in * out), *b = rand_buf((size_t)out);
        float *y = rand_buf((size_t)m * ld), *y0 = malloc((size_t)m * ld * sizeof(float));
        double *want = malloc((size_t)m * ld * sizeof(double));
        memcpy(y0, y, (size_t)m * ld * sizeof(float));
        for (int mode = 0; mode < 4; mode++) { /* bias, ReLU + bias, accumulate + bias, no bias */
            memcpy(y, y0, (size_t)m * ld * sizeof(float));
            const float *bias = mode == 3 ? NULL : b;
            jp_nn_rows512(m, out, in, x, in, wt, out, y, ld, bias, mode == 2, mode == 1 ? JP_ACT_RELU : JP_ACT_NONE);
            for (int r = 0; r < m; r++)
                for (int o = 0; o < ld; o++) {
                    if (o >= out) {
                        want[r * ld + o] = y0[r * ld + o];
                        continue;
                    }
                    double s = bias ? bias[o] : 0;
                    for (int i = 0; i < in; i++) s += (double)x[r * in + i] * wt[(size_t)i * out + o];
                    if (mode == 1) s = s > 0 ? s : 0;
                    if (mode == 2) s += y0[r * ld + o];
                    want[r * ld + o] = s;
                }
            assert_close(y, want, (size_t)m * ld, 3e-6 * sqrt((double)in), "rows512");
            /* the same through jp_nn_gemm512's tiles, as linear layers of more rows use it: bias per
             * column, the accumulation as a residual that is C itself */
            memcpy(y, y0, (size_t)m * ld * sizeof(float));
            jp_nn_gemm512(m, out, in, x, in, wt, out, y, ld, NULL, bias, mode == 2 ? y : NULL,
                          mode == 1 ? JP_ACT_RELU : JP_ACT_NONE);
            assert_close(y, want, (size_t)m * ld, 3e-6 * sqrt((double)in), "gemm512 with a bias per column");
        }
        free(x), free(wt), free(b), free(y), free(y0), free(want);
    }
}

static void test_norms_and_activations(void **state)
{
    (void)state;
    int rows = 7, d = 37;
    float *x = rand_buf((size_t)rows * d), *g = rand_buf((size_t)d), *b = rand_buf((size_t)d);
    float *y = malloc((size_t)rows * d * sizeof(float));
    double *want = malloc((size_t)rows * d * sizeof(double));
    for (int i = 0; i < rows * d; i++) x[i] = x[i] * 3 + 1; /* a non-zero mean */
    for (int eps_i = 0; eps_i < 2; eps_i++) {
        float eps = eps_i ? 1e-5f : 1e-12f;
        jp_nn_layernorm(x, rows, d, g, b, eps, y);
        for (int r = 0; r < rows; r++) {
            double m = 0, v = 0;
            for (int i = 0; i < d; i++) m += x[r * d + i];
            m /= d;
            for (int i = 0; i < d; i++) v += (x[r * d + i] - m) * (x[r * d + i] - m);
            v /= d;
            for (int i = 0; i < d; i++) want[r * d + i] = (x[r * d + i] - m) / sqrt(v + eps) * g[i] + b[i];
        }
        assert_close(y, want, (size_t)rows * d, 1e-5, "layer norm");
    }
    /* in place */
    memcpy(y, x, (size_t)rows * d * sizeof(float));
    jp_nn_layernorm(y, rows, d, g, b, 1e-5f, y);
    assert_close(y, want, (size_t)rows * d, 1e-5, "layer norm in place");

    memcpy(y, x, (size_t)rows * d * sizeof(float));
    jp_nn_softmax_rows(y, rows, d);
    for (int r = 0; r < rows; r++) {
        double m = -INFINITY, s = 0;
        for (int i = 0; i < d; i++) m = x[r * d + i] > m ? x[r * d + i] : m;
        for (int i = 0; i < d; i++) s += exp(x[r * d + i] - m);
        for (int i = 0; i < d; i++) want[r * d + i] = exp(x[r * d + i] - m) / s;
    }
    assert_close(y, want, (size_t)rows * d, 1e-6, "softmax");
    /* large values do not overflow */
    float big[3] = {1000, 1001, 999};
    jp_nn_softmax_rows(big, 1, 3);
    assert_true(fabsf(big[0] + big[1] + big[2] - 1) < 1e-6f && big[1] > big[0]);

    memcpy(y, x, (size_t)rows * d * sizeof(float));
    jp_nn_gelu(y, (size_t)rows * d);
    for (int i = 0; i < rows * d; i++) want[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
    assert_close(y, want, (size_t)rows * d, 1e-6, "gelu");
    memcpy(y, x, (size_t)rows * d * sizeof(float));
    jp_nn_relu(y, (size_t)rows * d);
    for (int i = 0; i < rows * d; i++) want[i] = x[i] > 0 ? x[i] : 0;
    assert_close(y, want, (size_t)rows * d, 0, "relu");
    memcpy(y, x, (size_t)rows * d * sizeof(float));
    jp_nn_add(y, g, (size_t)d);
    for (int i = 0; i < rows * d; i++) want[i] = (double)x[i] + (i < d ? g[i] : 0);
    assert_close(y, want, (size_t)rows * d, 1e-7, "add");
    free(x), free(g), free(b), free(y), free(want);
}

static void test_attention(void **state)
{
    (void)state;
    static const int cases[][3] = {{2, 5, 12}, {3, 50, 64}, {1, 1, 8}, {2, 17, 21}}; /* n, t, d (heads below) */
    static const int heads[] = {3, 4, 2, 7};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int n = cases[ci][0], t = cases[ci][1], d = cases[ci][2], h = heads[ci], dh = d / h;
        float *qkv = rand_buf((size_t)n * t * 3 * d), *ctx = malloc((size_t)n * t * d * sizeof(float));
        float *scores = malloc((size_t)t * t * sizeof(float));
        double *want = malloc((size_t)n * t * d * sizeof(double)), *w = malloc((size_t)t * sizeof(double));
        jp_nn_attention(qkv, n, t, d, h, ctx, scores);
        for (int b = 0; b < n; b++)
            for (int hh = 0; hh < h; hh++)
                for (int i = 0; i < t; i++) {
                    const float *q = qkv + ((size_t)b * t + i) * 3 * d + hh * dh;
                    double m = -INFINITY, s = 0;
                    for (int j = 0; j < t; j++) {
                        const float *k = qkv + ((size_t)b * t + j) * 3 * d + d + hh * dh;
                        double dot = 0;
                        for (int e = 0; e < dh; e++) dot += (double)q[e] * k[e];
                        w[j] = dot / sqrt((double)dh);
                        m = w[j] > m ? w[j] : m;
                    }
                    for (int j = 0; j < t; j++) s += (w[j] = exp(w[j] - m));
                    for (int e = 0; e < dh; e++) {
                        double acc = 0;
                        for (int j = 0; j < t; j++) acc += w[j] / s * qkv[((size_t)b * t + j) * 3 * d + 2 * d + hh * dh + e];
                        want[((size_t)b * t + i) * d + hh * dh + e] = acc;
                    }
                }
        assert_close(ctx, want, (size_t)n * t * d, 1e-5, "attention");
        free(qkv), free(ctx), free(scores), free(want), free(w);
    }
}

static void test_layouts(void **state)
{
    (void)state;
    int n = 3, c = 4, hw = 5;
    float in[60], cnhw[60], rows[60];
    for (int i = 0; i < 60; i++) in[i] = (float)i;
    jp_nn_nchw_to_cnhw(in, n, c, hw, cnhw);
    assert_true(cnhw[((1 * n) + 2) * hw + 3] == in[((2 * c) + 1) * hw + 3]);
    jp_nn_cnhw_to_rows(cnhw, c, n, hw, rows);
    assert_memory_equal(rows, in, sizeof in); /* rows of NCHW are NCHW */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_wino_pool),    cmocka_unit_test(test_fold_bn),
        cmocka_unit_test(test_pooling),   cmocka_unit_test(test_linear), cmocka_unit_test(test_rows512),
        cmocka_unit_test(test_norms_and_activations), cmocka_unit_test(test_attention),
        cmocka_unit_test(test_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
