/* Image quality measures with known answers: the Frechet distance of identical sets is 0 and of two
 * Gaussian samples is the closed form within sampling error; the nearest-image distance of a training
 * image is 0; the penultimate features are the classifier head's input (the logits follow from them);
 * and real test images score as the classifier's own accuracy. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jouleprint.h"
#include "workload/classify.h"
#include "workload/generate.h"

static uint64_t rng = 0x853c49e6748fea9bull;
static double unit(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / (double)(1ull << 53);
}
static double gauss(void) { return sqrt(-2 * log(unit())) * cos(6.283185307179586 * unit()); }

static void test_identical(void **state)
{
    (void)state;
    int n = 500, d = 7;
    float *a = malloc((size_t)n * d * sizeof *a);
    for (int i = 0; i < n * d; i++) a[i] = (float)(gauss() * (1 + i % d) + (i % 3));
    double f = -1;
    assert_int_equal(jp_frechet_distance(a, n, a, n, d, &f), JP_OK);
    printf("# identical sets: %.3g\n", f);
    assert_true(f >= 0 && f < 1e-8);
    /* shifting one set by a vector v adds exactly |v|^2 */
    float *b = malloc((size_t)n * d * sizeof *b);
    double want = 0;
    for (int j = 0; j < d; j++) want += (0.5 * j) * (0.5 * j);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) b[i * d + j] = a[i * d + j] + (float)(0.5 * j);
    assert_int_equal(jp_frechet_distance(a, n, b, n, d, &f), JP_OK);
    assert_true(fabs(f - want) < 1e-4 * want);
    free(a), free(b);
}

/* N(m1, R D1 R^T) against N(m2, R D2 R^T) with one rotation R: the covariances commute, and the distance
 * is |m1 - m2|^2 + sum (sqrt(d1) - sqrt(d2))^2. */
static void test_gaussians(void **state)
{
    (void)state;
    enum { D = 4 };
    int n = 40000;
    double d1[D] = {1.0, 4.0, 0.25, 2.0}, d2[D] = {2.0, 1.0, 0.25, 9.0}, m1[D] = {0, 1, 2, 3}, m2[D] = {1, 1, 0, 3};
    /* a rotation: two Givens rotations */
    double R[D][D] = {{0}};
    double c = cos(0.6), s = sin(0.6), c2 = cos(1.1), s2 = sin(1.1);
    double A[D][D] = {{c, -s, 0, 0}, {s, c, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    double B[D][D] = {{1, 0, 0, 0}, {0, c2, -s2, 0}, {0, s2, c2, 0}, {0, 0, 0, 1}};
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++)
            for (int k = 0; k < D; k++) R[i][j] += A[i][k] * B[k][j];
    float *x = malloc((size_t)n * D * sizeof *x), *y = malloc((size_t)n * D * sizeof *y);
    for (int i = 0; i < n; i++) {
        double z1[D], z2[D];
        for (int k = 0; k < D; k++) z1[k] = gauss() * sqrt(d1[k]), z2[k] = gauss() * sqrt(d2[k]);
        for (int j = 0; j < D; j++) {
            double u = m1[j], v = m2[j];
            for (int k = 0; k < D; k++) u += R[j][k] * z1[k], v += R[j][k] * z2[k];
            x[i * D + j] = (float)u;
            y[i * D + j] = (float)v;
        }
    }
    double want = 0;
    for (int k = 0; k < D; k++) want += (m1[k] - m2[k]) * (m1[k] - m2[k]) + pow(sqrt(d1[k]) - sqrt(d2[k]), 2);
    double f;
    assert_int_equal(jp_frechet_distance(x, n, y, n, D, &f), JP_OK);
    printf("# two Gaussian samples of %d: %.4f, closed form %.4f\n", n, f, want);
    /* the sampling error of the moments at n = 40000 is ~1% of the variances */
    assert_true(fabs(f - want) < 0.03 * want);
    /* the exact moments give the closed form to rounding */
    double C1[D * D], C2[D * D];
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            C1[i * D + j] = C2[i * D + j] = 0;
            for (int k = 0; k < D; k++) C1[i * D + j] += R[i][k] * d1[k] * R[j][k], C2[i * D + j] += R[i][k] * d2[k] * R[j][k];
        }
    assert_int_equal(jp_frechet_from_moments(m1, C1, m2, C2, D, &f), JP_OK);
    assert_true(fabs(f - want) < 1e-9 * want);
    assert_int_equal(jp_frechet_distance(x, 1, y, n, D, &f), JP_ERR_RANGE);
    free(x), free(y);
}

static void test_nearest(void **state)
{
    (void)state;
    int hw = 13, np = 3000, nq = 3;
    uint8_t *pool = malloc((size_t)np * hw), q[3 * 13];
    for (int i = 0; i < np * hw; i++) pool[i] = (uint8_t)(unit() * 256);
    memcpy(q, pool + 1234 * hw, hw);            /* a copy: distance 0 */
    memcpy(q + hw, pool + 2999 * hw, hw);       /* the last one, in the last chunk */
    memcpy(q + 2 * hw, pool + 17 * hw, hw);
    q[2 * hw] = (uint8_t)(q[2 * hw] ^ 0x80); /* one pixel off by 128: at most 128/255 from its source */
    double mean;
    assert_int_equal(jp_nearest_l2(q, 2, pool, np, hw, &mean), JP_OK);
    assert_true(mean < 1e-3);
    assert_int_equal(jp_nearest_l2(q, nq, pool, np, hw, &mean), JP_OK);
    assert_true(mean > 0 && mean <= (128.0 / 255.0) / 3 + 1e-3);
    free(pool);
}

/* The classifier's features and the quality of real images: adherence of real test images is the
 * classifier's test accuracy, and two disjoint halves of the test set are close in FID. Under
 * AddressSanitizer (where the engine's vector loops run instrumented, about 30 times slower) on a fifth
 * of the images: the same checks, with the bound on adherence widened for the smaller sample. */
#if defined(__SANITIZE_ADDRESS__)
#define REAL_SCALE 5
#else
#define REAL_SCALE 1
#endif
static void test_real_images(void **state)
{
    (void)state;
    const char *src = getenv("JP_TEST_SRC_DIR");
    char models[1024];
    snprintf(models, sizeof models, "%s/models", src ? src : ".");
    jp_classify_model_info best;
    if (jp_gen_best_classifier(models, &best) != JP_OK) fail_msg("%s", jp_last_error());
    printf("# best classifier: %s (%.2f%%)\n", best.name, best.accuracy * 100);
    jp_idx_images test;
    if (jp_fashion_mnist_read(NULL, true, &test) != JP_OK) {
        printf("# no Fashion-MNIST: %s\n", jp_last_error());
        return;
    }
    int n = 2000 / REAL_SCALE;
    int *classes = malloc((size_t)n * sizeof *classes);
    for (int i = 0; i < n; i++) classes[i] = test.labels[8000 + i];
    jp_gen_quality_config c = {.models_dir = models, .reference_n = 5000 / REAL_SCALE, .nearest_n = 0, .threads = 1};
    jp_gen_quality q;
    /* the last 2000 test images (400 under ASan) against the first 5000 (1000) */
    assert_int_equal(jp_gen_quality_score(&c, test.pixels + (size_t)8000 * 784, classes, n, &q), JP_OK);
    printf("# real test images: adherence %.4f (n %d), FID %.3f against %d others (%d features)\n", q.adherence, q.n,
           q.fid, q.reference_n, q.feature_dim);
    assert_string_equal(q.classifier, best.name);
    /* 2000 of the 10,000: a standard error under 0.01 (0.015 at 400) */
    assert_true(fabs(q.adherence - best.accuracy) < 0.03 * (REAL_SCALE > 1 ? 2 : 1));
    assert_true(q.fid >= 0);
    /* noise images are far from real ones */
    uint8_t *noise = malloc((size_t)n * 784);
    for (int i = 0; i < n * 784; i++) noise[i] = (uint8_t)(unit() * 256);
    jp_gen_quality qn;
    assert_int_equal(jp_gen_quality_score(&c, noise, classes, n, &qn), JP_OK);
    printf("# uniform noise: adherence %.4f, FID %.3f\n", qn.adherence, qn.fid);
    assert_true(qn.fid > 10 * q.fid);
    assert_true(qn.adherence < 0.3);
    free(noise), free(classes);
    /* the whole test set against the first half of the training set: the figure real data reaches */
    jp_idx_images train;
    assert_int_equal(jp_fashion_mnist_read(NULL, false, &train), JP_OK);
    jp_nn_model *clf;
    assert_int_equal(jp_nn_load(&clf, best.dir, 64, 1), JP_OK);
    jp_nn_info info;
    jp_nn_info_get(clf, &info);
    int nt = 30000 / REAL_SCALE, ne = test.n / REAL_SCALE;
    float *ft = malloc((size_t)nt * info.feature_dim * sizeof *ft), *fe = malloc((size_t)ne * info.feature_dim * sizeof *fe);
    assert_int_equal(jp_gen_features(clf, train.pixels, nt, 64, NULL, ft), JP_OK);
    assert_int_equal(jp_gen_features(clf, test.pixels, ne, 64, NULL, fe), JP_OK);
    double f;
    assert_int_equal(jp_frechet_distance(fe, ne, ft, nt, info.feature_dim, &f), JP_OK);
    printf("# the first %d test images against the first %d training images: FID %.3f\n", ne, nt, f);
    assert_true(f >= 0 && f < 10);
    free(ft), free(fe);
    jp_nn_free(clf);
    jp_idx_free(&train);
    jp_idx_free(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_identical), cmocka_unit_test(test_gaussians),
                                       cmocka_unit_test(test_nearest), cmocka_unit_test(test_real_images)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
