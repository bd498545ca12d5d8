/*
 * `jouleprint ocr-data` and `jouleprint ocr` as a user runs them: the data set is the same bytes
 * for a seed and differs for another; ocr --json keeps its contract (accuracy per split, load and
 * inference energy, carbon); a missing or corrupt model is one clear error.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"

static const char *cli;
static char tmpdir[4096], empty_root[4200];

/* Runs jouleprint with args (NULL-terminated); stdout to outfile, stderr to errfile (NULL: dropped). */
static int run_cli(const char *outfile, const char *errfile, const char *const *args)
{
    return ft_run_cli(outfile, errfile, args);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot read", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    if (len) *len = got;
    return buf;
}

static void tmp_path(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmpdir, name); }

static int same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static void test_ocr_data_same_seed_same_bytes(void **state)
{
    (void)state;
    char a[4200], b[4200], c[4200], out[4200];
    tmp_path(a, sizeof a, "a");
    tmp_path(b, sizeof b, "b");
    tmp_path(c, sizeof c, "c");
    tmp_path(out, sizeof out, "out.txt");
    assert_int_equal(run_cli(out, NULL, (const char *const[]){"ocr-data", "--n", "4", "--seed", "11", "-o", a, NULL}), 0);
    char *text = slurp(out, NULL);
    assert_non_null(strstr(text, "wrote 8 images (4 clean, 4 hard)"));
    free(text);
    assert_int_equal(run_cli(NULL, NULL, (const char *const[]){"ocr-data", "-n", "4", "-s", "11", "-o", b, NULL}), 0);
    assert_int_equal(run_cli(NULL, NULL, (const char *const[]){"ocr-data", "--n", "4", "--seed", "12", "-o", c, NULL}), 0);
    static const char *const files[] = {"manifest.tsv", "clean/000000.png", "clean/000003.png", "hard/000000.png",
                                        "hard/000003.png", "hard/000003.gt.txt"};
    int differ = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char pa[4400], pb[4400], pc[4400];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        snprintf(pc, sizeof pc, "%s/%s", c, files[i]);
        if (!same_file(pa, pb)) fail_msg("%s differs between two runs with seed 11", files[i]);
        differ += !same_file(pa, pc);
    }
    assert_int_equal(differ, (int)(sizeof files / sizeof *files));
}

static void test_ocr_data_usage(void **state)
{
    (void)state;
    char out[4200], err[4200];
    tmp_path(out, sizeof out, "help.txt");
    tmp_path(err, sizeof err, "err.txt");
    assert_int_equal(run_cli(out, NULL, (const char *const[]){"ocr-data", "--help", NULL}), 0);
    char *text = slurp(out, NULL);
    assert_non_null(strstr(text, "--seed"));
    assert_non_null(strstr(text, "example"));
    free(text);
    assert_int_equal(run_cli(NULL, err, (const char *const[]){"ocr-data", "--n", "0", "-o", tmpdir, NULL}), 2);
    assert_int_equal(run_cli(NULL, err, (const char *const[]){"ocr-data", "--seed", "x", "-o", tmpdir, NULL}), 2);
    assert_int_equal(run_cli(NULL, err, (const char *const[]){"ocr-data", "--n", "3", NULL}), 2);
    text = slurp(err, NULL);
    assert_non_null(strstr(text, "no output folder"));
    free(text);
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("JSON key %s: missing or not a number", key);
    return json_number_value(v);
}

static void test_ocr_json(void **state)
{
    (void)state;
    char data[4200], js[4200], err[4200];
    tmp_path(data, sizeof data, "set");
    tmp_path(js, sizeof js, "ocr.json");
    tmp_path(err, sizeof err, "ocr.err");
    assert_int_equal(run_cli(NULL, NULL, (const char *const[]){"ocr-data", "--n", "3", "--seed", "2", "-o", data, NULL}), 0);
    int rc = run_cli(NULL, err,
                     (const char *const[]){"ocr", "--model", "eng-best", "--data", data, "--n", "2", "--threads", "2",
                                           "--json", "--lines", "--region", "world", "-o", js, NULL});
    if (rc != 0) fail_msg("ocr exited %d: %s", rc, slurp(err, NULL));
    json_error_t je;
    json_t *j = json_load_file(js, 0, &je);
    if (!j) fail_msg("%s: not JSON: %s", js, je.text);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "eng-best");
    assert_string_equal(json_string_value(json_object_get(j, "engine")), "lstm");
    assert_int_equal(num(j, "lines"), 4);
    assert_int_equal(num(j, "threads"), 2);
    assert_string_equal(json_string_value(json_object_get(j, "omp_thread_limit")), "1");
    json_t *splits = json_object_get(j, "splits");
    assert_int_equal(json_array_size(splits), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(splits, 0), "name")), "clean");
    assert_string_equal(json_string_value(json_object_get(json_array_get(splits, 1), "name")), "hard");
    json_t *clean = json_array_get(splits, 0);
    assert_int_equal(num(clean, "lines"), 2);
    assert_true(num(clean, "word_recall") > 0.8);
    assert_true(num(clean, "cer") < 0.2);
    json_t *all = json_object_get(j, "overall");
    assert_int_equal(num(all, "lines"), 4);
    double cer = num(all, "cer");
    assert_true(cer >= 0);
    assert_float_equal(cer, num(all, "char_edits") / num(all, "ref_chars"), 1e-9);
    /* energy: load and reading apart; per line is reading over lines; carbon from the total */
    double load = num(j, "load_j"), infer = num(j, "infer_j"), total = num(j, "energy_j");
    assert_true(load > 0 && infer > 0);
    assert_float_equal(total, load + infer, 1e-9);
    assert_float_equal(num(j, "energy_per_line_j"), infer / 4, 1e-9);
    assert_true(num(j, "lines_per_s") > 0);
    assert_true(json_is_true(json_object_get(j, "estimated")));
    assert_float_equal(num(j, "carbon_g"), total / 3.6e6 * num(j, "intensity_g_per_kwh"), 1e-12);
    assert_string_equal(json_string_value(json_object_get(j, "region")), "world");
    json_t *attr = json_object_get(j, "attributed");
    assert_true(json_is_object(attr));
    assert_true(num(attr, "infer_share") > 0 && num(attr, "infer_share") <= 1);
    assert_true(num(attr, "infer_j") <= infer + 1e-9);
    json_t *lines = json_object_get(j, "line_results");
    assert_int_equal(json_array_size(lines), 4);
    assert_non_null(json_string_value(json_object_get(json_array_get(lines, 0), "reference")));
    json_decref(j);
}

static void test_ocr_human_and_several_models(void **state)
{
    (void)state;
    char data[4200], out[4200], err[4200];
    tmp_path(data, sizeof data, "set2");
    tmp_path(out, sizeof out, "ocr.txt");
    tmp_path(err, sizeof err, "ocr.err");
    assert_int_equal(run_cli(NULL, NULL, (const char *const[]){"ocr-data", "--n", "1", "-o", data, NULL}), 0);
    int rc = run_cli(out, err, (const char *const[]){"ocr", "-m", "eng-fast,eng-legacy", "-d", data, NULL});
    if (rc != 0) fail_msg("ocr exited %d: %s", rc, slurp(err, NULL));
    char *text = slurp(out, NULL);
    assert_non_null(strstr(text, "2 configurations"));
    assert_non_null(strstr(text, "eng-fast"));
    assert_non_null(strstr(text, "eng-legacy"));
    assert_non_null(strstr(text, "recall clean"));
    assert_non_null(strstr(text, "ESTIMATED"));
    free(text);
    rc = run_cli(out, err, (const char *const[]){"ocr", "-m", "eng-fast", "-d", data, NULL});
    assert_int_equal(rc, 0);
    text = slurp(out, NULL);
    assert_non_null(strstr(text, "clean"));
    assert_non_null(strstr(text, "hard"));
    assert_non_null(strstr(text, "a line"));
    assert_non_null(strstr(text, "CO2e"));
    free(text);
    assert_int_equal(run_cli(out, NULL, (const char *const[]){"ocr", "--list", NULL}), 0);
    text = slurp(out, NULL);
    assert_non_null(strstr(text, "eng-combined"));
    free(text);
    assert_int_equal(run_cli(out, NULL, (const char *const[]){"ocr", "--help", NULL}), 0);
    text = slurp(out, NULL);
    assert_non_null(strstr(text, "recall"));
    assert_non_null(strstr(text, "examples"));
    free(text);
}

static void test_ocr_default_data_in_cache(void **state)
{
    (void)state;
    char cache[4200], err[4200];
    tmp_path(cache, sizeof cache, "cache");
    tmp_path(err, sizeof err, "ocr.err");
    setenv("XDG_CACHE_HOME", cache, 1);
    int rc = run_cli(NULL, err, (const char *const[]){"ocr", "-m", "eng-fast", "--n", "1", "--json", NULL});
    unsetenv("XDG_CACHE_HOME");
    if (rc != 0) fail_msg("ocr exited %d: %s", rc, slurp(err, NULL));
    /* 100 lines a split, seed 1, rendered once */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "test -f %s/jouleprint/ocr-v1-seed1-n100-*/hard/000099.png", cache);
    assert_int_equal(system(cmd), 0);
}

static void expect_error(const char *model, const char *tessdata, const char *words)
{
    char err[4200];
    tmp_path(err, sizeof err, "model.err");
    int rc = run_cli(NULL, err, (const char *const[]){"ocr", "-m", model, "--tessdata", tessdata, "--n", "1", NULL});
    assert_int_equal(rc, 1);
    char *text = slurp(err, NULL);
    if (!strstr(text, words) || !strstr(text, "scripts/bootstrap") || !strstr(text, model))
        fail_msg("unclear error for %s: %s", model, text);
    /* one line, ours: nothing from Tesseract */
    char *nl = strchr(text, '\n');
    assert_true(nl && nl[1] == '\0');
    free(text);
}

static void test_ocr_missing_or_corrupt_model(void **state)
{
    (void)state;
    char empty[4200], bad[4200], path[4400];
    tmp_path(empty, sizeof empty, "no-models");
    tmp_path(bad, sizeof bad, "bad-models");
    mkdir(empty, 0755);
    mkdir(bad, 0755);
    expect_error("eng-best", empty, "4.0.0_best_int/eng.traineddata");
    expect_error("eng-combined", empty, "fetch-tessdata");
    snprintf(path, sizeof path, "%s/4.0.0", bad);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/4.0.0/eng.traineddata", bad);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    expect_error("eng-legacy", bad, "traineddata");
    char err[4200];
    tmp_path(err, sizeof err, "unknown.err");
    assert_int_equal(run_cli(NULL, err, (const char *const[]){"ocr", "-m", "eng-huge", NULL}), 2);
    char *text = slurp(err, NULL);
    assert_non_null(strstr(text, "eng-fast, eng-best"));
    free(text);
}

static int setup(void **state)
{
    (void)state;
    cli = getenv("JP_CLI");
    if (!cli) {
        fprintf(stderr, "JP_CLI is not set (run under ctest)\n");
        return -1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jp-test-ocr-cli-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    /* no counters: the power model, as on most VMs */
    snprintf(empty_root, sizeof empty_root, "%s/empty-root", tmpdir);
    mkdir(empty_root, 0755);
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    setenv("JP_DEV_ROOT", empty_root, 1);
    const char *src = getenv("JP_TEST_SRC_DIR");
    if (src && !getenv("JP_DATA_DIR")) {
        char data[4200];
        snprintf(data, sizeof data, "%s/data", src);
        setenv("JP_DATA_DIR", data, 1);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ocr_data_same_seed_same_bytes),
        cmocka_unit_test(test_ocr_data_usage),
        cmocka_unit_test(test_ocr_json),
        cmocka_unit_test(test_ocr_human_and_several_models),
        cmocka_unit_test(test_ocr_default_data_in_cache),
        cmocka_unit_test(test_ocr_missing_or_corrupt_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
