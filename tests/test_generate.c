/* The text-to-image workload: the UNet and DDIM against PyTorch's parity fixtures (models/gen-NAME/
 * parity.safetensors, made by models/gen/train.py from the same weights), the sampler's invariants
 * (batching and threads change nothing, a seed gives the same bytes), prompt matching, and bad input. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jouleprint.h"
#include "nn/safetensors.h"
#include "nn/unet.h"
#include "workload/generate.h"


static const char *const MODELS[] = {"gen-s", "gen-m", "gen-l"};

/* models/NAME of the source tree, or $JP_TEST_GEN_DIR/NAME (a folder of exports not yet committed). */
static int model_dir(const char *name, char *buf, size_t len)
{
    const char *alt = getenv("JP_TEST_GEN_DIR"), *s = getenv("JP_TEST_SRC_DIR");
    if (alt && *alt) snprintf(buf, len, "%s/%s", alt, name);
    else snprintf(buf, len, "%s/models/%s", s ? s : ".", name);
    char p[1200];
    snprintf(p, sizeof p, "%s/model.safetensors", buf);
    return access(p, R_OK) == 0;
}

static float *read_all(jp_safetensors *st, const char *name, size_t *count)
{
    const jp_st_tensor *t = jp_st_find(st, name);
    if (!t) fail_msg("fixture has no tensor %s", name);
    float *v = malloc(t->numel * sizeof *v);
    assert_non_null(v);
    assert_int_equal(jp_st_read_f32(st, name, t->ndim, t->shape, v), JP_OK);
    *count = t->numel;
    return v;
}

static void parity_one(const char *name)
{
    char dir[1024], fix[1200];
    if (!model_dir(name, dir, sizeof dir)) {
        printf("# %s: not trained yet (no models/%s), skipped\n", name, name);
        return;
    }
    snprintf(fix, sizeof fix, "%s/parity.safetensors", dir);
    jp_unet *u;
    if (jp_unet_load(&u, dir) != JP_OK) fail_msg("%s: %s", name, jp_last_error());
    jp_safetensors *st;
    assert_int_equal(jp_st_open(&st, fix), JP_OK);
    size_t nn, nl, ns, ng, ne;
    float *noise = read_all(st, "noise", &nn), *guid = read_all(st, "guidance", &ng), *want_eps = read_all(st, "eps_t500", &ne);
    const jp_st_tensor *lt = jp_st_find(st, "labels"), *stt = jp_st_find(st, "steps");
    assert_non_null(lt);
    assert_non_null(stt);
    nl = lt->numel, ns = stt->numel;
    int64_t labels64[64], steps64[16];
    assert_true(nl <= 64 && ns <= 16);
    assert_int_equal(jp_st_read_i64(st, "labels", lt->ndim, lt->shape, labels64), JP_OK);
    assert_int_equal(jp_st_read_i64(st, "steps", stt->ndim, stt->shape, steps64), JP_OK);
    int n = (int)nl, labels[64];
    for (int i = 0; i < n; i++) labels[i] = (int)labels64[i];
    size_t hw = nn / (size_t)n;
    assert_int_equal(hw, 28 * 28);
    (void)ng;

    /* one network evaluation */
    jp_unet_ws *ws = jp_unet_ws_new(u, n);
    assert_non_null(ws);
    float t[64], *eps = malloc(nn * sizeof *eps);
    for (int i = 0; i < n; i++) t[i] = 500.0f;
    jp_unet_eps(u, ws, noise, t, labels, n, eps);
    double worst = 0;
    for (size_t i = 0; i < ne; i++) worst = fmax(worst, fabs((double)eps[i] - want_eps[i]));
    printf("# %s: eps at t=500 within %.2e of PyTorch\n", name, worst);
    assert_true(worst < 1e-3);

    /* DDIM at each fixture step count, with several batch sizes and thread counts */
    float *img = malloc(nn * sizeof *img);
    for (size_t k = 0; k < ns; k++) {
        char key[64];
        snprintf(key, sizeof key, "images_steps%d", (int)steps64[k]);
        size_t ni;
        float *want = read_all(st, key, &ni);
        assert_int_equal(ni, nn);
        /* one batch; 2 threads in batches of 3; one image on 2 threads, and 2 on 4 (with guidance: the
         * prompt and the empty prompt on two threads) */
        const int shapes[4][2] = {{n, 1}, {3, 2}, {1, 2}, {2, 4}};
        for (int v = 0; v < 4; v++) {
            jp_gen_sampler *s;
            assert_int_equal(jp_gen_sampler_new(&s, u, shapes[v][0], shapes[v][1]), JP_OK);
            assert_int_equal(jp_gen_sample(s, noise, labels, n, (int)steps64[k], guid[0], img, NULL, NULL), JP_OK);
            double w = 0;
            for (size_t i = 0; i < nn; i++) w = fmax(w, fabs((double)img[i] - want[i]));
            printf("# %s: %d steps, guidance %g, batch %d, %d threads: within %.2e of PyTorch per pixel\n", name,
                   (int)steps64[k], (double)guid[0], shapes[v][0], shapes[v][1], w);
            assert_true(w < 1e-3);
            jp_gen_sampler_free(s);
        }
        free(want);
    }
    free(img), free(eps), free(noise), free(guid), free(want_eps);
    jp_unet_ws_free(ws);
    jp_st_close(st);
    jp_unet_free(u);
}

static void test_parity(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++) parity_one(MODELS[i]);
}

static void test_timesteps(void **state)
{
    (void)state;
    int ts[1000];
    jp_gen_timesteps(1, 1000, ts);
    assert_int_equal(ts[0], 999);
    jp_gen_timesteps(4, 1000, ts);
    assert_int_equal(ts[0], 999), assert_int_equal(ts[1], 749), assert_int_equal(ts[2], 499), assert_int_equal(ts[3], 249);
    jp_gen_timesteps(1000, 1000, ts);
    for (int i = 0; i < 1000; i++) assert_int_equal(ts[i], 999 - i);
    jp_gen_timesteps(3, 1000, ts); /* floor((i+1) 1000 / 3) - 1 */
    assert_int_equal(ts[0], 999), assert_int_equal(ts[1], 665), assert_int_equal(ts[2], 332);
}

static void test_noise(void **state)
{
    (void)state;
    /* the same stream twice is the same; another stream differs; the values are standard normal */
    enum { N = 100001 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    jp_gen_noise(7, 1, 2, N, a);
    jp_gen_noise(7, 1, 2, N, b);
    assert_memory_equal(a, b, N * sizeof *a);
    jp_gen_noise(7, 1, 3, N, b);
    assert_memory_not_equal(a, b, 64 * sizeof *a);
    double s = 0, ss = 0;
    for (int i = 0; i < N; i++) s += a[i], ss += (double)a[i] * a[i];
    double mean = s / N, var = ss / N - mean * mean;
    /* standard errors: 1/sqrt(N) ~ 0.0032 for the mean, sqrt(2/N) ~ 0.0045 for the variance */
    assert_true(fabs(mean) < 0.015);
    assert_true(fabs(var - 1.0) < 0.02);
    free(a), free(b);
    assert_int_equal(jp_gen_pixel(-1.0f), 0);
    assert_int_equal(jp_gen_pixel(1.0f), 255);
    assert_int_equal(jp_gen_pixel(0.0f), 128); /* 127.5 rounds to even: 128 */
    assert_int_equal(jp_gen_pixel(-2.0f), 0);
    assert_int_equal(jp_gen_pixel(NAN), 0);
}

static void test_prompts(void **state)
{
    (void)state;
    char dir[1024];
    if (!model_dir("gen-s", dir, sizeof dir)) {
        printf("# no models/gen-s: prompt matching skipped\n");
        return;
    }
    struct {
        const char *prompt;
        int cls; /* -1: refused */
    } cases[] = {
        {"a photo of a sneaker", 7}, {"an ankle boot at night", 9}, {"Trouser", 1}, {"TROUSERS", 1},
        {"blue jeans", 1},           {"a T-shirt", 0},               {"a t shirt", 0}, {"a shirt", 6},
        {"two bags", 8},             {"a boot", 9},                  {"a dress", 3},   {"a cat", -1},
        {"", -1},                    {"a shirt and a dress", -1},    {"sneakers and boots", -1},
        {"a pullover", 2},           {"a coat", 4},                  {"a sandal", 5},  {"topology", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int cls = -1;
        int rc = jp_generate_match(dir, cases[i].prompt, &cls);
        if (cases[i].cls < 0) {
            if (rc != JP_ERR_NOTFOUND) fail_msg("\"%s\": matched class %d, want refused", cases[i].prompt, cls);
            /* one line that lists the classes */
            assert_non_null(strstr(jp_last_error(), "Ankle boot"));
            assert_null(strchr(jp_last_error(), '\n'));
        } else {
            if (rc != JP_OK) fail_msg("\"%s\": %s", cases[i].prompt, jp_last_error());
            if (cls != cases[i].cls) fail_msg("\"%s\": class %d, want %d", cases[i].prompt, cls, cases[i].cls);
        }
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    char dir[1024];
    if (!model_dir("gen-s", dir, sizeof dir)) return;
    const char *prompts[] = {"a sneaker"};
    jp_generate_config c;
    jp_generate_result r;
    jp_generate_config_init(&c);
    c.model = dir, c.prompts = prompts, c.nprompts = 1, c.steps = 2;
    c.steps = 0;
    assert_int_equal(jp_generate_run(&c, NULL, &r), JP_ERR_RANGE);
    assert_non_null(strstr(jp_last_error(), "steps 0"));
    c.steps = 1001;
    assert_int_equal(jp_generate_run(&c, NULL, &r), JP_ERR_RANGE);
    c.steps = 2, c.guidance = -1;
    assert_int_equal(jp_generate_run(&c, NULL, &r), JP_ERR_RANGE);
    assert_non_null(strstr(jp_last_error(), "guidance"));
    c.guidance = 3, c.n = 0;
    assert_int_equal(jp_generate_run(&c, NULL, &r), JP_ERR_RANGE);
    c.n = 1, c.model = "no-such-model";
    assert_int_equal(jp_generate_run(&c, NULL, &r), JP_ERR_NOTFOUND);
    c.model = dir;
    const char *bad[] = {"a photo of a cat"};
    c.prompts = bad;
    assert_int_equal(jp_generate_run(&c, NULL, &r), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "no class"));
}

/* Truncated and lying weights are refused with the file named. */
static void test_bad_weights(void **state)
{
    (void)state;
    char dir[1024];
    if (!model_dir("gen-s", dir, sizeof dir)) return;
    char tmp[] = "/tmp/jp-gen-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    char src[1200], dst[1200], buf[1 << 16];
    snprintf(src, sizeof src, "%s/config.json", dir);
    snprintf(dst, sizeof dst, "%s/config.json", tmp);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, k, out);
    fclose(in), fclose(out);
    snprintf(src, sizeof src, "%s/model.safetensors", dir);
    in = fopen(src, "rb");
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    unsigned char *w = malloc((size_t)size);
    fseek(in, 0, SEEK_SET);
    assert_int_equal(fread(w, 1, (size_t)size, in), (size_t)size);
    fclose(in);
    snprintf(dst, sizeof dst, "%s/model.safetensors", tmp);
    /* truncated */
    out = fopen(dst, "wb");
    fwrite(w, 1, (size_t)size - 100, out);
    fclose(out);
    jp_unet *u = NULL;
    assert_int_equal(jp_unet_load(&u, tmp), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), dst));
    /* lying: the config claims wider blocks than the weights hold */
    out = fopen(dst, "wb");
    fwrite(w, 1, (size_t)size, out);
    fclose(out);
    assert_int_equal(jp_unet_load(&u, tmp), JP_OK);
    jp_unet_free(u);
    snprintf(dst, sizeof dst, "%s/config.json", tmp);
    FILE *cf = fopen(dst, "rb");
    char *cfg = calloc(1, 1 << 16);
    size_t cl = fread(cfg, 1, (1 << 16) - 1, cf);
    fclose(cf);
    (void)cl;
    char *at = strstr(cfg, "\"block_out_channels\"");
    assert_non_null(at);
    char *digit = at + strlen("\"block_out_channels\"");
    while (*digit && (*digit < '1' || *digit > '9')) digit++;
    *digit = *digit == '8' ? '4' : '8'; /* a first width the weights do not have */
    cf = fopen(dst, "wb");
    fputs(cfg, cf);
    fclose(cf);
    assert_int_equal(jp_unet_load(&u, tmp), JP_ERR_PARSE);
    free(cfg), free(w);
    snprintf(dst, sizeof dst, "rm -rf %s", tmp);
    assert_int_equal(system(dst), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timesteps), cmocka_unit_test(test_noise),     cmocka_unit_test(test_prompts),
        cmocka_unit_test(test_bad_input), cmocka_unit_test(test_bad_weights), cmocka_unit_test(test_parity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
