/* Every model of the zoo against PyTorch: models/NAME/parity.safetensors holds 64 test images and the
 * logits PyTorch computed for them from the same weights (models/train.py). The engine must match every
 * logit within 1e-4, at every batch size and thread count (the batch is split across threads), and its
 * parameter and FLOP counts must equal the training script's. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jouleprint.h"
#include "nn/safetensors.h"
#include "nn/nn.h"

#define N 64
#define TOL 1e-4

static const char *zoo(void)
{
    static char buf[1024];
    const char *s = getenv("JP_TEST_SRC_DIR");
    snprintf(buf, sizeof buf, "%s/models", s ? s : ".");
    return buf;
}

static void check_model(const char *name)
{
    char dir[1400], path[2400];
    if (snprintf(dir, sizeof dir, "%s/%s", zoo(), name) >= (int)sizeof dir) fail_msg("path too long");
    snprintf(path, sizeof path, "%s/parity.safetensors", dir);
    jp_safetensors *st;
    if (jp_st_open(&st, path) != JP_OK) fail_msg("%s", jp_last_error());
    uint8_t *img = malloc((size_t)N * 28 * 28);
    float *want = malloc((size_t)N * 10 * sizeof(float)), *got = malloc((size_t)N * 10 * sizeof(float));
    assert_true(img && want && got);
    int64_t si[4] = {N, 1, 28, 28}, sl[2] = {N, 10};
    assert_int_equal(jp_st_read_u8(st, "images", 4, si, img), JP_OK);
    assert_int_equal(jp_st_read_f32(st, "logits", 2, sl, want), JP_OK);
    jp_st_close(st);

    /* the training script's counts */
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *cfg = json_load_file(path, 0, NULL);
    assert_non_null(cfg);
    json_t *jp = json_object_get(cfg, "jouleprint");
    double params = json_number_value(json_object_get(jp, "params"));
    double flops = json_number_value(json_object_get(jp, "flops_per_image"));
    json_decref(cfg);

    static const int batches[] = {64, 1, 7, 64, 13};
    static const int threads[] = {1, 1, 2, 2, 3};
    double worst = 0;
    for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
        jp_nn_model *m;
        if (jp_nn_load(&m, dir, batches[k], threads[k]) != JP_OK) fail_msg("%s: %s", name, jp_last_error());
        jp_nn_info info;
        jp_nn_info_get(m, &info);
        assert_int_equal(info.params, (uint64_t)params);
        if (fabs(info.flops - flops) > 0.5) fail_msg("%s: engine counts %.0f FLOPs, train.py %.0f", name, info.flops, flops);
        memset(got, 0, (size_t)N * 10 * sizeof(float));
        for (int at = 0; at < N; at += batches[k]) {
            int b = N - at < batches[k] ? N - at : batches[k];
            assert_int_equal(jp_nn_forward_u8(m, img + (size_t)at * 784, b, got + (size_t)at * 10), JP_OK);
        }
        for (int i = 0; i < N * 10; i++) {
            double d = fabs((double)got[i] - want[i]);
            if (!(d <= TOL))
                fail_msg("%s (batch %d, %d threads): image %d logit %d: %.7f, PyTorch %.7f (|diff| %.2g)", name,
                         batches[k], threads[k], i / 10, i % 10, got[i], want[i], d);
            worst = d > worst ? d : worst;
        }
        jp_nn_free(m);
    }
    print_message("%-9s max |logit - PyTorch| = %.2g over %d images x 5 batch/thread settings\n", name, worst, N);
    free(img);
    free(want);
    free(got);
}

static void test_zoo_parity(void **state)
{
    (void)state;
    DIR *d = opendir(zoo());
    if (!d) skip();
    struct dirent *e;
    int n = 0;
    char names[32][256];
    while ((e = readdir(d)) && n < 32) {
        char p[2400];
        snprintf(p, sizeof p, "%s/%s/parity.safetensors", zoo(), e->d_name);
        FILE *f = e->d_name[0] != '.' ? fopen(p, "rb") : NULL;
        if (!f) continue;
        fclose(f);
        /* the diffusion models (models/gen-NAME, tests/test_generate.c) and the summarization models
         * (models/sum-NAME, tests/test_summarize_model.c) have their own parity tests */
        snprintf(p, sizeof p, "%s/%s/config.json", zoo(), e->d_name);
        json_t *cfg = json_load_file(p, 0, NULL);
        json_t *mt = cfg ? json_object_get(cfg, "model_type") : NULL;
        int other = json_is_string(mt) &&
                    (!strcmp(json_string_value(mt), "jp-unet") || !strcmp(json_string_value(mt), "jp-seq2seq"));
        json_decref(cfg);
        if (other) continue;
        snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    for (int i = 0; i < n; i++) check_model(names[i]);
    assert_true(n >= 5); /* the zoo has at least five models */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_zoo_parity)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
