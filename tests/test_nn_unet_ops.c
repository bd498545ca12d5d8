/* The diffusion UNet's operations (src/nn/ops.c) against naive references in double, on random inputs
 * of odd shapes. */
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

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}
static float *rand_buf(size_t n, float scale, float offset)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = frand() * scale + offset;
    return p;
}

static void assert_close(const float *got, const double *want, size_t n, double tol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= tol * (1.0 + fabs(want[i])))) fail_msg("%s[%zu]: got %.9g, want %.9g", what, i, (double)got[i], want[i]);
    }
}

static double silu_ref(double v) { return v / (1.0 + exp(-v)); }

/* Naive group norm on NCHW, then converted to CNHW by index when compared. */
static void run_groupnorm(int c, int n, int hw, int groups, int silu)
{
    size_t total = (size_t)c * n * hw;
    /* an offset and a scale far from 0 and 1, so that a wrong mean or variance shows */
    float *x = rand_buf(total, 3.0f, 5.0f), *g = rand_buf((size_t)c, 1.0f, 0.5f), *b = rand_buf((size_t)c, 1.0f, 0.0f);
    float *y = malloc(total * sizeof *y);
    double *want = malloc(total * sizeof *want);
    int cg = c / groups;
    for (int i = 0; i < n; i++)
        for (int gr = 0; gr < groups; gr++) {
            double s = 0, ss = 0, cnt = (double)cg * hw;
            for (int ch = gr * cg; ch < (gr + 1) * cg; ch++)
                for (int k = 0; k < hw; k++) s += x[((size_t)ch * n + i) * hw + k];
            double mean = s / cnt;
            for (int ch = gr * cg; ch < (gr + 1) * cg; ch++)
                for (int k = 0; k < hw; k++) {
                    double d = x[((size_t)ch * n + i) * hw + k] - mean;
                    ss += d * d;
                }
            double sd = sqrt(ss / cnt + 1e-5);
            for (int ch = gr * cg; ch < (gr + 1) * cg; ch++)
                for (int k = 0; k < hw; k++) {
                    size_t at = ((size_t)ch * n + i) * hw + k;
                    double v = (x[at] - mean) / sd * g[ch] + b[ch];
                    want[at] = silu ? silu_ref(v) : v;
                }
        }
    jp_nn_groupnorm(x, c, n, hw, groups, g, b, 1e-5f, silu, y);
    assert_close(y, want, total, 2e-5, silu ? "groupnorm+silu" : "groupnorm");
    /* in place gives the same */
    jp_nn_groupnorm(x, c, n, hw, groups, g, b, 1e-5f, silu, x);
    assert_memory_equal(x, y, total * sizeof *y);
    free(x), free(g), free(b), free(y), free(want);
}

static void test_groupnorm(void **state)
{
    (void)state;
    run_groupnorm(6, 3, 7 * 5, 3, 0);
    run_groupnorm(6, 3, 7 * 5, 3, 1);
    run_groupnorm(8, 1, 1, 8, 0);   /* one value per group: output is beta */
    run_groupnorm(12, 2, 13, 1, 1); /* one group: layer norm over the image */
    run_groupnorm(10, 5, 49, 2, 1);
}

static void test_silu(void **state)
{
    (void)state;
    size_t n = 1001;
    float *x = rand_buf(n, 30.0f, 0.0f);
    x[0] = 0.0f, x[1] = -100.0f, x[2] = 100.0f;
    double *want = malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++) want[i] = silu_ref(x[i]);
    jp_nn_silu(x, n);
    assert_close(x, want, n, 1e-6, "silu");
    free(x), free(want);
}

static void test_upsample(void **state)
{
    (void)state;
    int planes = 5, h = 3, w = 7;
    float *in = rand_buf((size_t)planes * h * w, 1.0f, 0.0f), *out = malloc((size_t)planes * 4 * h * w * sizeof *out);
    jp_nn_upsample2x(in, planes, h, w, out);
    for (int p = 0; p < planes; p++)
        for (int y = 0; y < 2 * h; y++)
            for (int x = 0; x < 2 * w; x++)
                assert_true(out[((size_t)p * 2 * h + y) * 2 * w + x] == in[((size_t)p * h + y / 2) * w + x / 2]);
    free(in), free(out);
}

static void test_channel_bias(void **state)
{
    (void)state;
    int c = 5, n = 3, hw = 11;
    size_t total = (size_t)c * n * hw;
    float *x = rand_buf(total, 1.0f, 0.0f), *v = rand_buf((size_t)n * c, 1.0f, 0.0f);
    double *want = malloc(total * sizeof *want);
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < hw; k++) {
                size_t at = ((size_t)ch * n + i) * hw + k;
                want[at] = (double)x[at] + v[i * c + ch];
            }
    jp_nn_add_channel_bias(x, c, n, hw, v);
    assert_close(x, want, total, 1e-7, "channel bias");
    free(x), free(v), free(want);
}

static void test_timestep_embedding(void **state)
{
    (void)state;
    float t[4] = {0.0f, 1.0f, 499.0f, 999.0f};
    int dim = 34, half = dim / 2;
    float out[4 * 34];
    double want[4 * 34];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < half; j++) {
            double f = exp(-log(10000.0) * j / half);
            want[i * dim + j] = sin(t[i] * f);
            want[i * dim + half + j] = cos(t[i] * f);
        }
    jp_nn_timestep_embedding(t, 4, dim, out);
    /* float arguments up to 999 carry an absolute error of ~1e-4 (as PyTorch's float computation) */
    for (int i = 0; i < 4 * dim; i++)
        if (fabs(out[i] - want[i]) > 2e-4) fail_msg("embedding[%d]: got %.7g, want %.7g", i, (double)out[i], want[i]);
    /* t = 0: sin 0 = 0, cos 0 = 1 exactly */
    for (int j = 0; j < half; j++) {
        assert_true(out[j] == 0.0f);
        assert_true(out[half + j] == 1.0f);
    }
}

static void test_tokens(void **state)
{
    (void)state;
    int c = 7, n = 3, hw = 5 * 3;
    size_t total = (size_t)c * n * hw;
    float *x = rand_buf(total, 1.0f, 0.0f), *tok = malloc(total * sizeof *tok), *acc = rand_buf(total, 1.0f, 0.0f);
    double *want = malloc(total * sizeof *want);
    jp_nn_cnhw_to_tokens(x, c, n, hw, tok);
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < hw; k++)
                assert_true(tok[((size_t)i * hw + k) * c + ch] == x[((size_t)ch * n + i) * hw + k]);
    for (size_t i = 0; i < total; i++) want[i] = (double)acc[i] + x[i];
    jp_nn_tokens_add_cnhw(tok, c, n, hw, acc);
    assert_close(acc, want, total, 1e-7, "tokens add");
    free(x), free(tok), free(acc), free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groupnorm),   cmocka_unit_test(test_silu),
        cmocka_unit_test(test_upsample),    cmocka_unit_test(test_channel_bias),
        cmocka_unit_test(test_timestep_embedding), cmocka_unit_test(test_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
