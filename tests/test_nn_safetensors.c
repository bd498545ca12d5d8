/* The safetensors reader and the model loader: valid files read back exactly; truncated files,
 * headers that lie about sizes, wrong or unknown dtypes, overlapping ranges and configs that disagree
 * with the weights are rejected with a message that says what is wrong. */
#define _POSIX_C_SOURCE 200809L
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
#include "nn/safetensors.h"
#include "nn/nn.h"

/* A file: 8-byte length, header (padded with spaces to pad_to), then data. */
static unsigned char *make(const char *header, const void *data, size_t data_len, size_t *size)
{
    size_t hl = strlen(header);
    *size = 8 + hl + data_len;
    unsigned char *b = malloc(*size);
    assert_non_null(b);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    if (data_len) memcpy(b + 8 + hl, data, data_len);
    return b;
}

static int parse(const char *header, const void *data, size_t len, jp_safetensors **st)
{
    size_t size;
    unsigned char *b = make(header, data, len, &size);
    return jp_st_parse(st, b, size, "test.safetensors");
}

static void expect_reject(const char *header, const void *data, size_t len, const char *needle)
{
    jp_safetensors *st = (jp_safetensors *)1;
    int rc = parse(header, data, len, &st);
    if (rc != JP_ERR_PARSE) fail_msg("accepted (rc %d): %s", rc, header);
    assert_null(st);
    if (!strstr(jp_last_error(), needle)) fail_msg("message '%s' lacks '%s'", jp_last_error(), needle);
    assert_non_null(strstr(jp_last_error(), "test.safetensors"));
}

static const float F[6] = {1.5f, -2.25f, 3.0f, 0.0f, 1e-3f, -7.0f};

static void test_valid(void **state)
{
    (void)state;
    unsigned char data[24 + 4 + 8 + 3];
    memcpy(data, F, 24);
    uint16_t h[2] = {0x3e00 /* 1.5 */, 0xc000 /* -2 */};
    memcpy(data + 24, h, 4);
    int64_t i = -42;
    memcpy(data + 28, &i, 8);
    data[36] = 7, data[37] = 8, data[38] = 9;
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                      "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]},"
                      "\"i\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[28,36]},"
                      "\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[36,39]}}   ";
    jp_safetensors *st;
    assert_int_equal(parse(hdr, data, sizeof data, &st), JP_OK);
    assert_int_equal(st->count, 4);
    float w[6], hf[2];
    int64_t shape[2] = {2, 3};
    assert_int_equal(jp_st_read_f32(st, "w", 2, shape, w), JP_OK);
    assert_memory_equal(w, F, sizeof F);
    int64_t s2[1] = {2};
    assert_int_equal(jp_st_read_f32(st, "h", 1, s2, hf), JP_OK);
    assert_true(hf[0] == 1.5f && hf[1] == -2.0f);
    int64_t iv;
    assert_int_equal(jp_st_read_i64(st, "i", 0, NULL, &iv), JP_OK);
    assert_int_equal(iv, -42);
    uint8_t u[3];
    int64_t s3[1] = {3};
    assert_int_equal(jp_st_read_u8(st, "u", 1, s3, u), JP_OK);
    assert_int_equal(u[2], 9);
    /* wrong shape, wrong dtype, missing name */
    int64_t bad[2] = {3, 2};
    assert_int_equal(jp_st_read_f32(st, "w", 2, bad, w), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "[2, 3]"));
    assert_non_null(strstr(jp_last_error(), "[3, 2]"));
    assert_int_equal(jp_st_read_f32(st, "i", 0, NULL, w), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "dtype I64"));
    assert_int_equal(jp_st_read_u8(st, "w", 2, shape, u), JP_ERR_PARSE);
    assert_int_equal(jp_st_read_f32(st, "nope", 2, shape, w), JP_ERR_NOTFOUND);
    jp_st_close(st);
}

static void test_half_and_bf16(void **state)
{
    (void)state;
    assert_true(jp_half_to_float(0x3c00) == 1.0f);
    assert_true(jp_half_to_float(0xc000) == -2.0f);
    assert_true(jp_half_to_float(0x7bff) == 65504.0f);
    assert_true(jp_half_to_float(0x0001) == 5.9604644775390625e-8f); /* smallest subnormal */
    assert_true(jp_half_to_float(0x0200) == 3.0517578125e-05f);      /* a subnormal */
    assert_true(jp_half_to_float(0x7c00) > 1e38f);                   /* inf */
    assert_true(jp_half_to_float(0x7e00) != jp_half_to_float(0x7e00)); /* NaN */
    assert_true(jp_bf16_to_float(0x3f80) == 1.0f);
    assert_true(jp_bf16_to_float(0xc040) == -3.0f);
}

static void test_rejects(void **state)
{
    (void)state;
    const char *ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
    /* truncated: data cut short */
    expect_reject(ok, F, 20, "truncated");
    /* a header that says it needs more bytes than the shape holds, and one that claims fewer */
    expect_reject("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,28]}}", F, 24, "need 24 bytes");
    expect_reject("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,24]}}", F, 24, "need 16 bytes");
    /* unknown dtype, and bad header shapes */
    expect_reject("{\"w\":{\"dtype\":\"F99\",\"shape\":[6],\"data_offsets\":[0,24]}}", F, 24, "unknown dtype");
    expect_reject("{\"w\":{\"dtype\":\"F32\",\"shape\":[-6],\"data_offsets\":[0,24]}}", F, 24, "shape[0]");
    expect_reject("{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[24,0]}}", F, 24, "end before");
    expect_reject("{\"w\":{\"dtype\":\"F32\",\"shape\":[6]}}", F, 24, "data_offsets");
    expect_reject("{\"w\":[1,2]}", F, 24, "not an object");
    expect_reject("[1,2]", F, 24, "does not start with '{'");
    expect_reject("{\"w\":{\"dtype\":\"F32\",", F, 24, "not valid JSON");
    expect_reject("{\"__metadata__\":{\"a\":1}}", NULL, 0, "__metadata__");
    /* overlapping, holes, trailing bytes */
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
                  F, 24, "overlaps");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
                  F, 24, "unaccounted");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", F, 24, "account for 16 bytes");
    /* junk after the header's JSON object, inside the declared header length (padding is spaces only) */
    expect_reject("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}   x", F, 24,
                  "unexpected bytes after the header");
    expect_reject("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}{}", F, 24,
                  "unexpected bytes after the header");
    {
        jp_safetensors *pad = NULL;
        assert_int_equal(parse("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}    ", F, 24, &pad),
                         JP_OK);
        jp_st_close(pad);
    }
    /* duplicate keys */
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,24]}}",
                  F, 24, "not valid JSON");
    /* a header length larger than the file, and files too short to hold one */
    size_t size;
    unsigned char *b = make(ok, F, 24, &size);
    b[0] = 0xff;
    jp_safetensors *st;
    assert_int_equal(jp_st_parse(&st, b, size, "test.safetensors"), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "truncated"));
    for (size_t cut = 0; cut < 8 + strlen(ok) + 24; cut += 5) {
        b = make(ok, F, 24, &size);
        assert_int_equal(jp_st_parse(&st, b, cut, "test.safetensors"), JP_ERR_PARSE);
        assert_null(st);
    }
    b = make(ok, F, 24, &size);
    b[7] = 0x10; /* a length in the petabytes */
    assert_int_equal(jp_st_parse(&st, b, size, "test.safetensors"), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "implausible"));
}

/* ---- the loader on damaged copies of a real model ---- */

static char tmpdir[256];

static const char *src_dir(void)
{
    const char *s = getenv("JP_TEST_SRC_DIR");
    return s ? s : ".";
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int load_tmp(const char *cfg_text, const unsigned char *w, size_t wlen)
{
    char cp[512], wp[512];
    snprintf(cp, sizeof cp, "%s/config.json", tmpdir);
    snprintf(wp, sizeof wp, "%s/model.safetensors", tmpdir);
    spit(cp, cfg_text, strlen(cfg_text));
    spit(wp, w, wlen);
    jp_nn_model *m = NULL;
    int rc = jp_nn_load(&m, tmpdir, 4, 1);
    if (rc == JP_OK) jp_nn_free(m);
    return rc;
}

static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    assert_non_null(at);
    char *r = malloc(strlen(s) + strlen(to) + 1);
    assert_non_null(r);
    memcpy(r, s, (size_t)(at - s));
    strcpy(r + (at - s), to);
    strcat(r, at + strlen(from));
    return r;
}

static void test_loader_rejects(void **state)
{
    (void)state;
    char cp[512], wp[512];
    snprintf(cp, sizeof cp, "%s/models/cnn/config.json", src_dir());
    snprintf(wp, sizeof wp, "%s/models/cnn/model.safetensors", src_dir());
    size_t clen, wlen;
    unsigned char *cfgb = slurp(cp, &clen), *w = slurp(wp, &wlen);
    if (!cfgb || !w) {
        free(cfgb);
        free(w);
        skip(); /* the zoo is not there */
    }
    cfgb[clen] = '\0';
    const char *cfg = (const char *)cfgb;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jp-test-nn-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));

    assert_int_equal(load_tmp(cfg, w, wlen), JP_OK);
    /* truncated by one byte, and by half */
    assert_int_equal(load_tmp(cfg, w, wlen - 1), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "truncated"));
    assert_non_null(strstr(jp_last_error(), "model.safetensors"));
    assert_int_equal(load_tmp(cfg, w, wlen / 2), JP_ERR_PARSE);
    /* a header that lies about a size: the first tensor's end offset made larger */
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | w[i];
    char *hdr = malloc(hl + 1);
    memcpy(hdr, w + 8, hl);
    hdr[hl] = '\0';
    char *lie = replace(hdr, "\"shape\":[", "\"shape\":[2,");
    size_t nl = strlen(lie);
    unsigned char *w2 = malloc(8 + nl + (wlen - 8 - hl));
    for (int i = 0; i < 8; i++) w2[i] = (unsigned char)((uint64_t)nl >> (8 * i));
    memcpy(w2 + 8, lie, nl);
    memcpy(w2 + 8 + nl, w + 8 + hl, wlen - 8 - hl);
    assert_int_equal(load_tmp(cfg, w2, 8 + nl + (wlen - 8 - hl)), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "bytes"));
    free(lie);
    free(w2);
    /* a weight stored with the wrong dtype (F32 relabelled I32: sizes still agree) */
    lie = replace(hdr, "\"dtype\":\"F32\"", "\"dtype\":\"I32\"");
    nl = strlen(lie);
    w2 = malloc(8 + nl + (wlen - 8 - hl));
    for (int i = 0; i < 8; i++) w2[i] = (unsigned char)((uint64_t)nl >> (8 * i));
    memcpy(w2 + 8, lie, nl);
    memcpy(w2 + 8 + nl, w + 8 + hl, wlen - 8 - hl);
    assert_int_equal(load_tmp(cfg, w2, 8 + nl + (wlen - 8 - hl)), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "dtype I32"));
    free(lie);
    free(w2);
    free(hdr);
    /* a config that disagrees with the weights: wider layers, fewer layers */
    char *c2 = replace(cfg, "\"fc_size\": 128", "\"fc_size\": 64");
    assert_int_equal(load_tmp(c2, w, wlen), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "cnn.fc.weight"));
    free(c2);
    c2 = replace(cfg, "\"conv_channels\": [\n    16,\n    32\n  ]", "\"conv_channels\": [\n    16\n  ]");
    assert_int_equal(load_tmp(c2, w, wlen), JP_ERR_PARSE);
    free(c2);
    c2 = replace(cfg, "\"model_type\": \"cnn\"", "\"model_type\": \"transformer-xl\"");
    assert_int_equal(load_tmp(c2, w, wlen), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "not supported"));
    free(c2);
    c2 = replace(cfg, "\"hidden_act\": \"relu\"", "\"hidden_act\": \"swish\"");
    assert_int_equal(load_tmp(c2, w, wlen), JP_ERR_PARSE);
    free(c2);
    /* the cnn's weights under a resnet config: missing tensors named */
    assert_int_equal(load_tmp("{\"model_type\":\"resnet\",\"num_channels\":1,\"image_size\":28,\"num_labels\":10,"
                              "\"hidden_sizes\":[8],\"depths\":[1]}",
                              w, wlen),
                     JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "resnet.embedder.embedder.convolution.weight"));
    /* a missing file and bad arguments */
    jp_nn_model *m;
    assert_int_equal(jp_nn_load(&m, "/nonexistent-dir", 4, 1), JP_ERR_NOTFOUND);
    snprintf(cp, sizeof cp, "%s/models/cnn", src_dir());
    assert_int_equal(jp_nn_load(&m, cp, 0, 1), JP_ERR_RANGE);
    assert_int_equal(jp_nn_load(&m, cp, 4, 0), JP_ERR_RANGE);
    assert_int_equal(jp_nn_load(&m, cp, 4, 2), JP_OK);
    float in[28 * 28 * 5] = {0}, logits[50];
    assert_int_equal(jp_nn_forward(m, in, 5, logits), JP_ERR_RANGE); /* above max_batch */
    assert_int_equal(jp_nn_forward(m, in, 0, logits), JP_ERR_RANGE);
    jp_nn_free(m);

    snprintf(cp, sizeof cp, "%s/config.json", tmpdir);
    snprintf(wp, sizeof wp, "%s/model.safetensors", tmpdir);
    unlink(cp);
    unlink(wp);
    rmdir(tmpdir);
    free(cfgb);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_half_and_bf16),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_loader_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
