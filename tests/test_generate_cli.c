/* `jouleprint generate` end to end with the committed gen-s: the same command twice writes identical
 * PNG bytes; the manifest and --json carry the figures; bad input gets one line and writes nothing. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
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

#include "fake_tree.h"

static char tmpdir[256], models[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jp-gencli-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    const char *s = getenv("JP_TEST_SRC_DIR");
    snprintf(models, sizeof models, "%s/models", s ? s : ".");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The file's bytes (NUL-terminated) and their count in *n, or NULL with *n = 0. */
static unsigned char *slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    unsigned char *b = len >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)len + 1) : NULL;
    if (b) {
        *n = fread(b, 1, (size_t)len, f);
        b[*n] = '\0';
    }
    fclose(f);
    return b;
}


static void test_deterministic(void **state)
{
    (void)state;
    char a[512], b[512], out[512];
    snprintf(a, sizeof a, "%s/a", tmpdir);
    snprintf(b, sizeof b, "%s/b", tmpdir);
    snprintf(out, sizeof out, "%s/out.txt", tmpdir);
    const char *run_a[] = {"generate", "--model", "gen-s", "--prompt", "a photo of a sneaker", "--prompt", "Trouser",
                           "--n", "3", "--steps", "4", "--seed", "42", "--batch", "4", "--threads", "2",
                           "--models-dir", models, "--interval", "10ms", "-o", a, "--json", NULL};
    assert_int_equal(ft_run_cli(out, NULL, run_a), 0);
    json_error_t err;
    json_t *j = json_load_file(out, 0, &err);
    if (!j) fail_msg("--json is not JSON: %s", err.text);
    static const char *keys[] = {"model", "params", "flops_per_step", "steps", "guidance", "seed", "n", "load_j",
                                 "infer_j", "energy_j", "j_per_image", "carbon_g", "region", "estimated", "domains",
                                 "phases", "images"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(j, keys[i])) fail_msg("--json lacks \"%s\"", keys[i]);
    assert_int_equal(json_integer_value(json_object_get(j, "n")), 6);
    assert_true(json_real_value(json_object_get(j, "infer_j")) > 0);
    json_t *img = json_array_get(json_object_get(j, "images"), 4);
    assert_string_equal(json_string_value(json_object_get(img, "class_name")), "Trouser");
    assert_string_equal(json_string_value(json_object_get(img, "file")), "p02-trouser-001.png");
    json_decref(j);
    /* the manifest says the same */
    char path[600];
    snprintf(path, sizeof path, "%s/manifest.json", a);
    j = json_load_file(path, 0, &err);
    if (!j) fail_msg("manifest: %s", err.text);
    assert_int_equal(json_integer_value(json_object_get(j, "steps")), 4);
    assert_int_equal(json_array_size(json_object_get(j, "images")), 6);
    json_decref(j);
    assert_int_equal(ft_count_entries(a), 7);

    const char *run_b[] = {"generate", "--model", "gen-s", "--prompt", "a photo of a sneaker", "--prompt", "Trouser",
                           "--n", "3", "--steps", "4", "--seed", "42", "--batch", "4", "--threads", "2",
                           "--models-dir", models, "--interval", "10ms", "-o", b, NULL};
    assert_int_equal(ft_run_cli(out, NULL, run_b), 0);
    static const char *files[] = {"p01-a-photo-of-a-sneaker-000.png", "p01-a-photo-of-a-sneaker-002.png",
                                  "p02-trouser-000.png", "p02-trouser-002.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char pa[600], pb[600];
        size_t na, nb;
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        unsigned char *ba = slurp(pa, &na), *bb = slurp(pb, &nb);
        if (!ba || !bb) fail_msg("%s: missing", files[i]);
        assert_true(na > 50);
        assert_int_equal(na, nb);
        assert_memory_equal(ba, bb, na);
        free(ba), free(bb);
    }
    /* another seed gives other images */
    char c[512];
    snprintf(c, sizeof c, "%s/c", tmpdir);
    const char *run_c[] = {"generate", "--model", "gen-s", "--prompt", "Trouser", "--steps", "4", "--seed", "43",
                           "--models-dir", models, "--interval", "10ms", "-o", c, NULL};
    assert_int_equal(ft_run_cli(out, NULL, run_c), 0);
    size_t n1, n2;
    snprintf(path, sizeof path, "%s/p02-trouser-000.png", a);
    unsigned char *x = slurp(path, &n1);
    snprintf(path, sizeof path, "%s/p01-trouser-000.png", c);
    unsigned char *y = slurp(path, &n2);
    assert_non_null(x);
    assert_non_null(y);
    assert_true(n1 != n2 || memcmp(x, y, n1) != 0);
    free(x), free(y);
}

/* --quality scores the images with the zoo's best classifier; --grid writes one PNG of them all */
static void test_quality_and_grid(void **state)
{
    (void)state;
    char out[512], grid[512];
    snprintf(out, sizeof out, "%s/q.json", tmpdir);
    snprintf(grid, sizeof grid, "%s/grid.png", tmpdir);
    const char *args[] = {"generate", "--model", "gen-s", "--prompt", "a bag", "--prompt", "a dress", "--n", "2",
                          "--steps", "3", "--quality", "--grid", grid, "--json", "--models-dir", models,
                          "--interval", "10ms", NULL};
    assert_int_equal(ft_run_cli(out, NULL, args), 0);
    json_t *j = json_load_file(out, 0, NULL);
    assert_non_null(j);
    json_t *q = json_object_get(j, "quality");
    assert_non_null(q);
    assert_int_equal(json_integer_value(json_object_get(q, "n")), 4);
    assert_int_equal(json_integer_value(json_object_get(q, "fid_reference_n")), 10000);
    double adh = json_real_value(json_object_get(q, "adherence")), fid = json_real_value(json_object_get(q, "fid"));
    double near = json_real_value(json_object_get(q, "nearest_train_l2"));
    assert_true(adh >= 0 && adh <= 1);
    assert_true(fid > 0);
    assert_true(near > 0 && near < 28);
    assert_string_equal(json_string_value(json_object_get(q, "classifier")), "cnn");
    json_decref(j);
    size_t n;
    unsigned char *png = slurp(grid, &n);
    assert_non_null(png);
    /* PNG signature, then IHDR: width 2 * 30 + 2 = 62, height 2 * 30 + 2 = 62 */
    assert_true(n > 33 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G');
    assert_int_equal((png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19], 62);
    assert_int_equal((png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23], 62);
    free(png);
}

/* `builtin: generate` in a bench spec, scored by "adherence" */
static void test_bench_builtin(void **state)
{
    (void)state;
    char spec[512], db[512], out[512];
    snprintf(spec, sizeof spec, "%s/gen.yaml", tmpdir);
    snprintf(db, sizeof db, "%s/gen.db", tmpdir);
    snprintf(out, sizeof out, "%s/bench.json", tmpdir);
    FILE *f = fopen(spec, "w");
    fprintf(f, "repeats: 1\nwarmup: 0\ntasks:\n  - name: text-to-image\n    time: 10\n    score: 20\n"
               "    scorer: fid\n    tolerance: 1000\n    models:\n"
               "      - {name: s2, builtin: generate, options: {model: gen-s, steps: 2, models_dir: %s}}\n"
               "      - {name: s4, builtin: generate, options: {model: gen-s, steps: 4, guidance: 1, models_dir: %s}}\n",
            models, models);
    fclose(f);
    const char *args[] = {"bench", spec, "--db", db, "--format", "json", "-o", out, "--interval", "10ms", NULL};
    char log[512];
    snprintf(log, sizeof log, "%s/bench.log", tmpdir);
    int rc = ft_run_cli(log, log, args);
    if (rc != 0) {
        size_t n;
        char *t = (char *)slurp(log, &n);
        fail_msg("bench exited %d: %.500s", rc, t ? t : "");
    }
    size_t n;
    char *t = (char *)slurp(out, &n);
    assert_non_null(t);
    t[n] = '\0';
    /* FID (lower is better) with adherence and the nearest training image beside it, per model */
    json_error_t je;
    json_t *root = json_loads(t, 0, &je);
    if (!root) fail_msg("bench JSON: %s", je.text);
    json_t *task = json_array_get(json_object_get(root, "tasks"), 0);
    assert_true(json_is_true(json_object_get(task, "lower_is_better")));
    assert_string_equal(json_string_value(json_object_get(task, "metric")), "fid");
    json_t *ms = json_object_get(task, "models");
    assert_int_equal(json_array_size(ms), 2);
    double fid[2];
    for (size_t i = 0; i < 2; i++) {
        json_t *m = json_array_get(ms, i), *x = json_object_get(m, "metrics");
        fid[i] = json_real_value(json_object_get(x, "fid"));
        double adh = json_real_value(json_object_get(x, "adherence")), l2 = json_real_value(json_object_get(x, "nearest_train_l2"));
        printf("# %s: FID %.2f adherence %.2f nearest %.3f\n", json_string_value(json_object_get(m, "name")), fid[i], adh, l2);
        assert_true(fid[i] > 0 && fid[i] < 10000);
        assert_true(adh >= 0 && adh <= 1);
        assert_true(l2 > 0);
        assert_true(fabs(json_real_value(json_object_get(m, "score")) - fid[i]) < 1e-9);
    }
    /* within 1000 FID every model qualifies: the pick is the one of less energy per item (as compared) */
    json_t *m0 = json_array_get(ms, 0), *m1 = json_array_get(ms, 1);
    double e0 = json_real_value(json_object_get(m0, "compared_j_per_item")),
           e1 = json_real_value(json_object_get(m1, "compared_j_per_item"));
    assert_true(e0 > 0 && e1 > 0);
    assert_string_equal(json_string_value(json_object_get(task, "pick")),
                        json_string_value(json_object_get(e0 <= e1 ? m0 : m1, "name")));
    json_decref(root);
    free(t);
    /* a bad option is refused before anything runs */
    f = fopen(spec, "w");
    fprintf(f, "tasks:\n  - name: t\n    scorer: adherence\n    models:\n"
               "      - {name: s2, builtin: generate, options: {model: gen-s, steps: zero, models_dir: %s}}\n", models);
    fclose(f);
    const char *bad[] = {"bench", spec, "--db", db, NULL};
    assert_true(ft_run_cli(out, out, bad) != 0);
    t = (char *)slurp(out, &n);
    t[n] = '\0';
    if (!strstr(t, "option steps")) fail_msg("no reason given: %s", t);
    free(t);
}

static void expect_refused(const char *const *args, const char *needle)
{
    char out[512], err[512];
    snprintf(out, sizeof out, "%s/o.txt", tmpdir);
    snprintf(err, sizeof err, "%s/e.txt", tmpdir);
    int rc = ft_run_cli(out, err, args);
    assert_true(rc != 0);
    size_t n;
    unsigned char *e = slurp(err, &n);
    assert_non_null(e);
    e[n] = '\0';
    if (!strstr((char *)e, needle)) fail_msg("stderr \"%s\" lacks \"%s\"", (char *)e, needle);
    /* one line */
    assert_true(n > 0 && e[n - 1] == '\n' && memchr(e, '\n', n - 1) == NULL);
    free(e);
}

static void test_bad_input(void **state)
{
    (void)state;
    char d[512];
    snprintf(d, sizeof d, "%s/bad", tmpdir);
    const char *unknown[] = {"generate", "--model", "gen-zz", "--prompt", "a bag", "--models-dir", models, "-o", d, NULL};
    expect_refused(unknown, "no generation model 'gen-zz'");
    const char *cat[] = {"generate", "--model", "gen-s", "--prompt", "a cat", "--models-dir", models, "-o", d, NULL};
    expect_refused(cat, "names no class");
    const char *two[] = {"generate", "--model", "gen-s", "--prompt", "a bag and a coat", "--models-dir", models, NULL};
    expect_refused(two, "more than one class");
    const char *steps0[] = {"generate", "--model", "gen-s", "--prompt", "a bag", "--steps", "0", "--models-dir", models, NULL};
    expect_refused(steps0, "--steps 0");
    const char *steps_hi[] = {"generate", "--model", "gen-s", "--prompt", "a bag", "--steps", "1001", "--models-dir", models, NULL};
    expect_refused(steps_hi, "steps 1001: give 1 to 1000");
    const char *neg[] = {"generate", "--model", "gen-s", "--prompt", "a bag", "--guidance", "-1", "--models-dir", models, NULL};
    expect_refused(neg, "--guidance -1");
    const char *n0[] = {"generate", "--model", "gen-s", "--prompt", "a bag", "--n", "0", "--models-dir", models, NULL};
    expect_refused(n0, "--n 0");
    const char *unwritable[] = {"generate", "--model", "gen-s", "--prompt", "a bag", "--models-dir", models,
                                "-o", "/proc/jouleprint-cannot-be-here", NULL};
    expect_refused(unwritable, "-o /proc/jouleprint-cannot-be-here");
    /* the refused runs with -o wrote nothing there */
    assert_true(ft_count_entries(d) <= 0);
    char pf[512];
    snprintf(pf, sizeof pf, "%s/prompts.txt", tmpdir);
    FILE *f = fopen(pf, "w");
    fputs("# a comment\n\na sneaker\nsomething else entirely\n", f);
    fclose(f);
    const char *file[] = {"generate", "--model", "gen-s", "--prompts", pf, "--models-dir", models, NULL};
    expect_refused(file, "\"something else entirely\" names no class");
}

int main(void)
{
    const char *s = getenv("JP_TEST_SRC_DIR");
    char p[1024];
    snprintf(p, sizeof p, "%s/models/gen-s/model.safetensors", s ? s : ".");
    if (access(p, R_OK) != 0) {
        printf("# no models/gen-s yet: nothing to test\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_deterministic), cmocka_unit_test(test_quality_and_grid),
                                       cmocka_unit_test(test_bench_builtin),
                                       cmocka_unit_test(test_bad_input)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
