/* The model loader on hostile configs and weights: a tiny config asking for a huge model fails on the
 * missing tensors before allocating anything large (the largest single allocation is counted, glibc
 * only; skipped under AddressSanitizer, which owns malloc); sizes too large for the engine are refused
 * naming the figure; NaN and infinite weights are refused naming the tensor; a NaN into the softmax
 * stays NaN (no undefined float-to-int conversion on the way). */
#define _GNU_SOURCE
#include <errno.h>
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
#include "nn/nn.h"
#include "nn/ops.h"

#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
#define COUNTING 0
#else
#define COUNTING 1
static volatile int counting;
static size_t largest;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static void note(size_t n)
{
    if (counting && n > largest) largest = n;
}
void *malloc(size_t n)
{
    note(n);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    note(b && a > SIZE_MAX / b ? SIZE_MAX : a * b);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    note(n);
    return __libc_realloc(p, n);
}
void *memalign(size_t a, size_t n)
{
    note(n);
    return __libc_memalign(a, n);
}
void *aligned_alloc(size_t a, size_t n)
{
    note(n);
    return __libc_memalign(a, n);
}
int posix_memalign(void **out, size_t a, size_t n)
{
    note(n);
    *out = __libc_memalign(a, n);
    return *out ? 0 : ENOMEM;
}
void free(void *p) { __libc_free(p); }
#endif

static char dir[256];

/* A safetensors file of F32 tensors: names[i] with shape dims[i] (up to 4, 0-terminated), every value
 * fill (or, for the tensor named poison, the value poison_v at index 1). */
struct tdesc {
    const char *name;
    int dims[5];
};

static void write_model(const char *config, const struct tdesc *t, size_t n, const char *poison, float poison_v)
{
    char path[512], hdr[16384];
    size_t at = 0, off = 0;
    at += (size_t)snprintf(hdr + at, sizeof hdr - at, "{");
    for (size_t i = 0; i < n; i++) {
        size_t numel = 1;
        at += (size_t)snprintf(hdr + at, sizeof hdr - at, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "",
                               t[i].name);
        for (int d = 0; t[i].dims[d]; d++) {
            at += (size_t)snprintf(hdr + at, sizeof hdr - at, "%s%d", d ? "," : "", t[i].dims[d]);
            numel *= (size_t)t[i].dims[d];
        }
        at += (size_t)snprintf(hdr + at, sizeof hdr - at, "],\"data_offsets\":[%zu,%zu]}", off, off + 4 * numel);
        off += 4 * numel;
    }
    at += (size_t)snprintf(hdr + at, sizeof hdr - at, "}");
    assert_true(at < sizeof hdr);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t hl = at;
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(hl >> (8 * i));
    assert_int_equal(fwrite(len, 1, 8, f), 8);
    assert_int_equal(fwrite(hdr, 1, at, f), at);
    for (size_t i = 0; i < n; i++) {
        size_t numel = 1;
        for (int d = 0; t[i].dims[d]; d++) numel *= (size_t)t[i].dims[d];
        for (size_t k = 0; k < numel; k++) {
            float v = 0.5f;
            if (poison && !strcmp(poison, t[i].name) && k == 1) v = poison_v;
            assert_int_equal(fwrite(&v, 4, 1, f), 1);
        }
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(config, f);
    fclose(f);
}

static int load(int max_batch, size_t *peak)
{
    jp_nn_model *m = NULL;
#if COUNTING
    largest = 0;
    counting = 1;
#endif
    int rc = jp_nn_load(&m, dir, max_batch, 1);
#if COUNTING
    counting = 0;
    *peak = largest;
#else
    *peak = 0;
#endif
    if (rc == JP_OK) jp_nn_free(m);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/jp-test-nnlim-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    unlink(p);
    rmdir(dir);
    return 0;
}

/* The audit's reproducer: 100 bytes of config asking for an 8192x8192 image and an empty weights file.
 * It used to allocate gigabytes (and compute the input size in int: signed overflow at 64 channels)
 * before saying that a tensor is missing. */
static void test_config_bomb_fails_before_allocating(void **state)
{
    (void)state;
    static const char *cfgs[] = {
        "{\"model_type\":\"mlp\",\"num_channels\":64,\"image_size\":8192,\"num_labels\":2,\"hidden_sizes\":[65536]}",
        "{\"model_type\":\"vit\",\"num_channels\":3,\"image_size\":8192,\"patch_size\":1,\"num_labels\":2}",
        "{\"model_type\":\"cnn\",\"num_channels\":64,\"image_size\":8192,\"num_labels\":2,\"conv_channels\":[65536],"
        "\"kernel_size\":15,\"fc_size\":1048576}",
        "{\"model_type\":\"resnet\",\"num_channels\":64,\"image_size\":8192,\"num_labels\":2,\"embedding_size\":65536,"
        "\"embedding_kernel_size\":15,\"hidden_sizes\":[65536],\"depths\":[8]}",
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        write_model(cfgs[i], NULL, 0, NULL, 0);
        size_t peak;
        int rc = load(64, &peak);
        print_message("%s: rc %d, largest allocation %zu bytes: %s\n", cfgs[i] + 14, rc, peak, jp_last_error());
        assert_true(rc == JP_ERR_PARSE || rc == JP_ERR_RANGE);
        assert_true(strstr(jp_last_error(), "missing") || strstr(jp_last_error(), "more than"));
        assert_true(peak < ((size_t)16 << 20));
    }
}

/* A small, valid CNN whose workspace for the batch asked would pass 4 GiB: refused with the figure. */
static const char *CNN = "{\"model_type\":\"cnn\",\"num_channels\":1,\"image_size\":224,\"num_labels\":2,"
                         "\"conv_channels\":[1],\"kernel_size\":1,\"fc_size\":2}";
static const struct tdesc CNN_T[] = {
    {"cnn.layers.0.convolution.weight", {1, 1, 1, 1}},
    {"cnn.layers.0.normalization.weight", {1}},
    {"cnn.layers.0.normalization.bias", {1}},
    {"cnn.layers.0.normalization.running_mean", {1}},
    {"cnn.layers.0.normalization.running_var", {1}},
    {"cnn.fc.weight", {2, 112 * 112}},
    {"cnn.fc.bias", {2}},
    {"classifier.weight", {2, 2}},
    {"classifier.bias", {2}},
};
#define NT (sizeof CNN_T / sizeof CNN_T[0])

static void test_workspace_is_capped(void **state)
{
    (void)state;
    write_model(CNN, CNN_T, NT, NULL, 0);
    size_t peak;
    assert_int_equal(load(8, &peak), JP_OK);
    /* 65536 images of 224x224 floats: 13 GB of input buffer alone */
    assert_int_equal(load(65536, &peak), JP_ERR_RANGE);
    assert_non_null(strstr(jp_last_error(), "needs more than 4096 MiB"));
    assert_non_null(strstr(jp_last_error(), "config.json"));
    assert_true(peak < ((size_t)4 << 30));
}

static void test_non_finite_weights_refused(void **state)
{
    (void)state;
    const char *which[] = {"cnn.fc.weight", "classifier.bias", "cnn.fc.bias"};
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        write_model(CNN, CNN_T, NT, which[i], bad[i]);
        size_t peak;
        assert_int_equal(load(4, &peak), JP_ERR_PARSE);
        assert_non_null(strstr(jp_last_error(), which[i]));
        assert_non_null(strstr(jp_last_error(), i ? "an infinity at index 1" : "NaN at index 1"));
    }
}

/* exp inside the softmax on a NaN: NaN out (it used to convert NaN to int, undefined behaviour that
 * clang's UBSan reports), and finite rows still sum to one. */
static void test_softmax_nan(void **state)
{
    (void)state;
    float row[4] = {NAN, 1.0f, 2.0f, -1e30f};
    jp_nn_softmax_rows(row, 1, 4);
    assert_true(isnan(row[0]));
    float ok[3] = {1.0f, 2.0f, 3.0f};
    jp_nn_softmax_rows(ok, 1, 3);
    assert_float_equal(ok[0] + ok[1] + ok[2], 1.0, 1e-5);
    assert_float_equal(ok[2], 0.665241, 1e-4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_bomb_fails_before_allocating),
        cmocka_unit_test(test_workspace_is_capped),
        cmocka_unit_test(test_non_finite_weights_refused),
        cmocka_unit_test(test_softmax_nan),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
