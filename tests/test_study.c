/*
 * `jouleprint study` end to end, on a small spec of the built-in workloads so that it runs in
 * seconds: its summary's figures must agree with `jouleprint report` on the stored run and with
 * `jouleprint carbon` on the same energy, and its HTML report must open in headless Chromium with
 * every chart drawn.
 */
#define _GNU_SOURCE
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

#include <cmocka.h>

#include "fake_tree.h"

static const char *cli;
static char *dir;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0) fail_msg("command failed (%d): %s", rc, cmd);
}

static json_t *load(const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) fail_msg("%s: %s", path, err.text);
    return j;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("key %s: not a number", key);
    return json_number_value(v);
}

static void near(double a, double b, const char *what)
{
    if (!(fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)) + 1e-12)) fail_msg("%s: %.12g against %.12g", what, a, b);
}

static void test_study_agrees_with_report_and_carbon(void **state)
{
    (void)state;
    /* no counters: the model source, as on the machines this runs on */
    setenv("JP_SYSFS_ROOT", dir, 1);
    setenv("JP_DEV_ROOT", dir, 1);
    ft_write(dir, "tiny.yaml",
             "repeats: 1\nwarmup: 0\ntasks:\n"
             "  - name: image-classification\n    time: 300\n    score: 500\n    scorer: accuracy\n    models:\n"
             "      - {name: mlp, builtin: classify, options: {model: mlp}}\n"
             "      - {name: cnn, builtin: classify, options: {model: cnn}}\n"
             "  - name: ocr\n    time: 6\n    scorer: ocr\n    models:\n"
             "      - {name: eng-fast, builtin: ocr, options: {model: eng-fast}}\n"
             "      - {name: eng-best, builtin: ocr, options: {model: eng-best}}\n");
    sh("cd '%s' && '%s' study --spec tiny.yaml --json -o out --db runs.db > summary.json 2> progress.txt", dir, cli);
    json_t *summary = load("summary.json");
    assert_true(json_is_true(json_object_get(summary, "estimated")));
    long run = (long)num(summary, "run");
    sh("cd '%s' && '%s' report --db runs.db --run %ld --format json -o report.json", dir, cli, run);
    json_t *report = load("report.json");

    /* every model's energy per item, as the report has it for the stored run */
    json_t *stasks = json_object_get(summary, "tasks"), *rtasks = json_object_get(report, "tasks");
    assert_int_equal(json_array_size(stasks), 2);
    assert_int_equal(json_array_size(rtasks), 2);
    size_t compared = 0;
    for (size_t t = 0; t < 2; t++) {
        json_t *sm = json_object_get(json_array_get(stasks, t), "models"),
               *rm = json_object_get(json_array_get(rtasks, t), "models");
        assert_int_equal(json_array_size(sm), json_array_size(rm));
        assert_string_equal(json_string_value(json_object_get(json_array_get(stasks, t), "pick")),
                            json_string_value(json_object_get(json_array_get(rtasks, t), "pick")));
        for (size_t i = 0; i < json_array_size(sm); i++) {
            json_t *a = json_array_get(sm, i), *b = json_array_get(rm, i);
            assert_string_equal(json_string_value(json_object_get(a, "name")), json_string_value(json_object_get(b, "name")));
            assert_string_equal(json_string_value(json_object_get(a, "status")), "ok");
            near(num(a, "j_per_item"), num(b, "j_per_item"), "energy per item");
            near(num(a, "saving_pct"), num(b, "saving_pct"), "saving");
            assert_true(num(a, "j_per_item") > 0);
            compared++;
        }
    }
    assert_int_equal(compared, 4);

    /* the projected volume's emissions in the cleanest region, as `jouleprint carbon` computes them */
    double picks_j = num(summary, "picks_proj_j");
    assert_true(picks_j > 0);
    json_t *regions = json_object_get(summary, "regions");
    json_t *clean = NULL, *dirty = NULL;
    size_t seed = 0;
    for (size_t k = 0; k < json_array_size(regions); k++) {
        json_t *r = json_array_get(regions, k);
        if (json_is_true(json_object_get(r, "cleanest"))) clean = r;
        if (json_is_true(json_object_get(r, "dirtiest"))) dirty = r;
        if (!json_is_true(json_object_get(r, "this_run"))) seed++;
    }
    assert_int_equal(seed, 23);
    assert_non_null(clean);
    assert_non_null(dirty);
    json_t *checks[] = {clean, dirty};
    for (size_t c = 0; c < 2; c++) {
        sh("cd '%s' && '%s' carbon --energy %.17gJ --region '%s' --year %d --json > carbon.json", dir, cli, picks_j,
           json_string_value(json_object_get(checks[c], "region")), (int)num(checks[c], "year"));
        json_t *carbon = load("carbon.json");
        near(num(checks[c], "carbon_g"), num(carbon, "carbon_g"), "grams in a region");
        json_decref(carbon);
    }
    json_decref(summary);
    json_decref(report);

    /* the words say the same as the figures */
    sh("cd '%s' && '%s' study --spec tiny.yaml -o out2 --db runs.db > summary.txt 2>/dev/null", dir, cli);
    sh("grep -q 'ESTIMATED' '%s/summary.txt' && grep -q 'Pick ' '%s/summary.txt' && grep -q 'cleanest' '%s/summary.txt'"
       " && grep -q 'MWh' '%s/summary.txt'",
       dir, dir, dir, dir);
}

static void test_study_report_renders_every_chart(void **state)
{
    (void)state;
    char html[4200];
    snprintf(html, sizeof html, "%s/out/report.html", dir);
    struct stat st;
    assert_int_equal(stat(html, &st), 0);
    const char *browser = getenv("JP_CHROMIUM") ? getenv("JP_CHROMIUM") : "chromium";
    sh("command -v '%s' >/dev/null || { echo 'chromium is missing: run scripts/bootstrap' >&2; exit 1; }", browser);
    const char *flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
                        "--disable-component-update --disable-sync --hide-scrollbars --disable-dev-shm-usage";
    sh("cd '%s' && timeout 120 '%s' %s --user-data-dir='%s/profile' --virtual-time-budget=3000 --dump-dom "
       "'file://%s' > dom.html 2>/dev/null",
       dir, browser, flags, dir, html);
    /* the page counts the charts it has drawn: 4 per task (energy vs accuracy, energy per item,
     * emissions by region, power timeline) */
    sh("grep -q 'data-charts-rendered=\"8\"' '%s/dom.html'", dir);
    sh("cd '%s' && timeout 120 '%s' %s --user-data-dir='%s/profile2' --window-size=1280,2400 --screenshot='%s/study.png' "
       "'file://%s' >/dev/null 2>&1",
       dir, browser, flags, dir, dir, html);
    char png[4200];
    snprintf(png, sizeof png, "%s/study.png", dir);
    assert_int_equal(stat(png, &st), 0);
    assert_true(st.st_size > 60000);
}

static int setup(void **state)
{
    (void)state;
    cli = getenv("JP_CLI");
    if (!cli) return -1;
    dir = ft_mkroot("study");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_rmroot(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_study_agrees_with_report_and_carbon),
        cmocka_unit_test(test_study_report_renders_every_chart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
