/*
 * A score where lower is better (FID): the analysis (the pick, the Pareto front, savings, ratings), the
 * spec's tolerance in FID units, the reports' words and figures, and the fid and adherence scorers on
 * PNG images (real Fashion-MNIST test images, so that the figures have known values).
 *
 *   text-to-image (fid), tolerance 1 FID (the default):
 *     e-tiny  0.5 J  FID 80   on the front (least energy)
 *     a-twin  1.0 J  FID 30   dominated by b-twin (same energy, lower FID)
 *     b-twin  1.0 J  FID 20   on the front; the pick (the lowest FID, and of the two at 1.0 J the better)
 *     c-mid   2.0 J  FID 25   dominated by b-twin
 *     d-big   4.0 J  FID 50   the largest (the reference for savings)
 */
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

#include "bench/score.h"
#include "bench/spec.h"
#include "bench_fixture.h"
#include "jouleprint/workloads.h"
#include "report/report.h"
#include "workload/classify.h"

static char tmpdir[256];

static void contains(const char *text, const char *what)
{
    if (!strstr(text, what)) {
        printf("%s\n", text); /* whole: cmocka cuts long messages */
        fail_msg("missing \"%s\" (the text is above)", what);
    }
}

static void lacks(const char *text, const char *what)
{
    if (strstr(text, what)) fail_msg("unexpected \"%s\" in:\n%s", what, text);
}

static int setup(void **state)
{
    (void)state;
    return fix_scratch_make(tmpdir, sizeof tmpdir, "direction");
}

static int teardown(void **state)
{
    (void)state;
    return fix_scratch_remove(tmpdir);
}

static void fid_task(struct jp_bench_run *run, double tolerance)
{
    fix_build_run(run);
    struct jp_bench_task *t = &run->tasks[0];
    for (size_t i = 0; i < t->nmodels; i++) {
        free(t->models[i].sample_t);
        free(t->models[i].sample_w);
        free(t->models[i].rep_j_per_item);
        free(t->models[i].rep_attr_j_per_item);
    }
    free(t->models);
    snprintf(t->name, sizeof t->name, "text-to-image");
    snprintf(t->scorer, sizeof t->scorer, "fid");
    snprintf(t->metric, sizeof t->metric, "fid");
    t->n_time = 10;
    t->n_score = 1000;
    t->tolerance = tolerance;
    t->nmodels = 5;
    t->models = calloc(5, sizeof *t->models);
    static const char *const names[] = {"e-tiny", "a-twin", "b-twin", "c-mid", "d-big"};
    static const double j[] = {0.5, 1.0, 1.0, 2.0, 4.0}, fid[] = {80, 30, 20, 25, 50}, adh[] = {0.5, 0.8, 0.9, 0.85, 0.7};
    for (int i = 0; i < 5; i++) {
        fix_model(&t->models[i], names[i], j[i], 10, 20.0, 8, fid[i]);
        fix_metric(&t->models[i], "fid", fid[i]);
        fix_metric(&t->models[i], "adherence", adh[i]);
        fix_metric(&t->models[i], "nearest_train_l2", 5.25);
    }
    jp_bench_analyze(run);
}

static void test_metric_directions(void **state)
{
    (void)state;
    assert_true(jp_metric_lower_is_better("fid"));
    assert_true(jp_metric_lower_is_better("cer"));
    assert_true(jp_metric_lower_is_better("wer"));
    assert_false(jp_metric_lower_is_better("accuracy"));
    assert_false(jp_metric_lower_is_better("adherence"));
    assert_false(jp_metric_lower_is_better("rougeL"));
    assert_false(jp_metric_is_fraction("fid"));
    assert_true(jp_metric_is_fraction("adherence"));
    assert_true(jp_metric_default_tolerance("fid") == 1.0);
    assert_true(jp_metric_default_tolerance("accuracy") == 0.01);
    assert_string_equal(jp_scorer_main_metric("fid"), "fid");
    assert_string_equal(jp_scorer_main_metric("adherence"), "adherence");
}

static void test_analysis_lower_is_better(void **state)
{
    (void)state;
    struct jp_bench_run run;
    fid_task(&run, 0); /* 0: the default, 1 FID */
    const struct jp_bench_task *t = &run.tasks[0];
    const struct jp_bench_model *m = t->models;
    /* the pick: the lowest FID; of the two at 1.0 J the lower FID, though the other comes first */
    assert_int_equal(t->pick, 2);
    assert_string_equal(m[t->pick].name, "b-twin");
    assert_int_equal(t->reference, 4);
    /* the front: least energy, and the lowest FID; a higher FID at the same or more energy is dominated */
    assert_true(m[0].pareto);
    assert_false(m[1].pareto);
    assert_true(m[2].pareto);
    assert_false(m[3].pareto);
    assert_false(m[4].pareto);
    /* savings against the largest are energy's: positive for less energy whatever the score's direction */
    assert_true(fabs(m[2].saving_pct - 75.0) < 1e-9);
    assert_true(fabs(m[0].saving_pct - 87.5) < 1e-9);
    assert_true(fabs(m[3].saving_pct - 50.0) < 1e-9);
    /* score deltas are the raw difference: negative is better here */
    assert_true(fabs(m[2].score_delta - (-30.0)) < 1e-9);
    assert_true(fabs(m[0].score_delta - 30.0) < 1e-9);
    /* the rating is energy's, 5 = least energy per item, on a log scale: 0.5 J 5, 1 J 4, 2 J 2 (x = 2/3), 4 J 1 */
    assert_int_equal(m[0].rating, 5);
    assert_int_equal(m[1].rating, 4);
    assert_int_equal(m[2].rating, 4);
    assert_int_equal(m[3].rating, 2);
    assert_int_equal(m[4].rating, 1);
    jp_bench_run_clear(&run);

    /* within 15 FID of the best (20): 30, 20 and 25 qualify; of them the least energy, and at equal
     * energy the lower FID */
    fid_task(&run, 15);
    assert_int_equal(run.tasks[0].pick, 2);
    jp_bench_run_clear(&run);
    /* within 60: every model qualifies, and the least energy wins whatever its FID */
    fid_task(&run, 60);
    assert_int_equal(run.tasks[0].pick, 0);
    jp_bench_run_clear(&run);

    /* the same figures as accuracy-like scores (higher better) give the opposite answers: the test
     * above fails without the direction */
    fid_task(&run, 0);
    snprintf(run.tasks[0].metric, sizeof run.tasks[0].metric, "exact_match");
    run.tasks[0].tolerance = 0.01;
    jp_bench_analyze(&run);
    assert_int_equal(run.tasks[0].pick, 0); /* "80" is the highest */
    assert_false(run.tasks[0].models[2].pareto);
    jp_bench_run_clear(&run);

    /* a lower-is-better fraction (CER): the pick is the lowest CER, not the highest */
    fid_task(&run, 0);
    struct jp_bench_task *t2 = &run.tasks[0];
    snprintf(t2->metric, sizeof t2->metric, "cer");
    t2->tolerance = 0.01;
    static const double cer[] = {0.40, 0.10, 0.05, 0.06, 0.20};
    for (int i = 0; i < 5; i++) t2->models[i].score = cer[i];
    jp_bench_analyze(&run);
    assert_int_equal(t2->pick, 2);
    assert_true(t2->models[0].pareto && t2->models[2].pareto && !t2->models[3].pareto);
    jp_bench_run_clear(&run);
}

static char *render(const struct jp_bench_run *run, int which)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    if (which == 0) jp_report_summary(out, run);
    else if (which == 1) assert_int_equal(jp_report_write(out, run, JP_REPORT_HTML), JP_OK);
    else if (which == 2) assert_int_equal(jp_report_write(out, run, JP_REPORT_JSON), JP_OK);
    else assert_int_equal(jp_report_write(out, run, JP_REPORT_TABLE), JP_OK);
    fclose(out);
    return buf;
}

static void test_reports_say_lower_is_better(void **state)
{
    (void)state;
    struct jp_bench_run run;
    fid_task(&run, 0);
    char text[4096];
    jp_report_conclusions(&run, &run.tasks[0], text, sizeof text);
    contains(text, "b-twin uses 75.00% less energy per item than d-big at a lower FID (30.0 less, better)");
    contains(text, "Pick: b-twin, the least energy per item among the models within 1 FID of the best FID.");
    contains(text, "e-tiny uses 87.50% less energy per item than d-big at a higher FID (30.0 more, worse)");
    contains(text, "a-twin uses 75.00% less energy per item than d-big at a lower FID (20.0 less, better) (not on the Pareto front)");

    char *s = render(&run, 0);
    contains(s, "text-to-image: 5 models; energy over 10 items per model, 1,000 scored by FID (lower is better)");
    /* FID as it is, not as a percent; its delta in FID units */
    contains(s, "20.0   75.00% (no interval) less energy, -30.0   <- pick");
    lacks(s, "2000.00%");
    contains(s, "adherence (the share of images the classifier assigns to the prompted class): e-tiny 50.00%, a-twin 80.00%, "
                "b-twin 90.00%, c-mid 85.00%, d-big 70.00%");
    contains(s, "Pick b-twin: it uses 75.00% less energy per item than d-big, the largest, at a lower FID (30.0 less, better)");
    contains(s, "nearest training image (mean L2 distance to the nearest training image; 0 is a copy): e-tiny 5.25,");
    free(s);

    s = render(&run, 1);
    contains(s, "Lower left is better: less energy, lower FID.");
    contains(s, "FID (lower is better)");
    free(s);
    s = render(&run, 2);
    contains(s, "\"lower_is_better\": true");
    free(s);
    s = render(&run, 3);
    contains(s, "-30.0");
    free(s);
    /* a higher-is-better task says so the other way */
    jp_report_conclusions(&run, &run.tasks[1], text, sizeof text);
    contains(text, "at 13.00 points less word recall");
    s = render(&run, 1);
    contains(s, "Upper left is better: less energy, higher word recall.");
    free(s);
    jp_bench_run_clear(&run);
}

/* base64 as RFC 4648 defines it, decoded: -1 on a character outside the alphabet */
static long unbase64(const char *s, size_t n, unsigned char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    long o = 0;
    uint32_t v = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *p = strchr(abc, s[i]);
        if (!p || !s[i]) return -1;
        v = v << 6 | (uint32_t)(p - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits);
        }
    }
    return o;
}

/* The strip of sample images: one row per model that made images, each a PNG in a data: URI whose
 * width and height are the strip's (10 images of 28 pixels with 2-pixel gaps: 302 x 32), names escaped */
static void test_html_sample_strip(void **state)
{
    (void)state;
    struct jp_bench_run run;
    fid_task(&run, 0);
    struct jp_bench_task *t = &run.tasks[0];
    snprintf(t->models[1].name, sizeof t->models[1].name, "<script>x</script>");
    for (int i = 0; i < 2; i++) {
        struct jp_bench_model *m = &t->models[i];
        m->nimages = 10;
        m->image_side = 28;
        m->images = malloc(10 * 784);
        for (int k = 0; k < 10 * 784; k++) m->images[k] = (uint8_t)((k * (i + 3)) & 255);
    }
    char *s = render(&run, 1);
    contains(s, "<h3>Sample images</h3>");
    lacks(s, "<script>x</script>");
    contains(s, "alt=\"&lt;script&gt;x&lt;/script&gt;: 10 sample images\"");
    /* two strips: e-tiny and the script-named model, no other */
    const char *at = s;
    int strips = 0;
    while ((at = strstr(at, "src=\"data:image/png;base64,")) != NULL) {
        at += strlen("src=\"data:image/png;base64,");
        size_t n = strcspn(at, "\"");
        unsigned char *png = malloc(n);
        long len = unbase64(at, n, png);
        assert_true(len > 33);
        assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
        /* IHDR: width, height */
        assert_int_equal((png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19], 10 * 30 + 2);
        assert_int_equal((png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23], 32);
        free(png);
        strips++;
    }
    assert_int_equal(strips, 2);
    contains(s, "width=\"906\" height=\"96\"");
    free(s);
    /* a task whose models made no images has no strip */
    s = render(&run, 1);
    jp_bench_run_clear(&run);
    free(s);
    fix_build_run(&run);
    s = render(&run, 1);
    lacks(s, "Sample images");
    free(s);
    jp_bench_run_clear(&run);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* tolerance is in the metric's unit: up to 1 for a fraction, FID units for fid */
static void test_spec_tolerance_units(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/spec.yaml", tmpdir);
    write_file(path, "tasks:\n  - name: t\n    scorer: fid\n    tolerance: 5\n    models:\n"
                     "      - {name: s, builtin: generate, options: {model: gen-s}}\n");
    struct jp_spec spec;
    char errors[2048] = "";
    int nerr = 0;
    int rc = jp_spec_load_all(path, &spec, errors, sizeof errors, &nerr);
    /* the model may be missing from this build's zoo; the tolerance itself is not an error */
    lacks(errors, "tolerance");
    if (rc == JP_OK) {
        assert_true(spec.tasks[0].tolerance == 5.0);
        jp_spec_free(&spec);
    }
    write_file(path, "tasks:\n  - name: t\n    scorer: fid\n    models:\n"
                     "      - {name: s, builtin: generate, options: {model: gen-s}}\n");
    rc = jp_spec_load_all(path, &spec, errors, sizeof errors, &nerr);
    if (rc == JP_OK) {
        assert_true(spec.tasks[0].tolerance == 1.0); /* the default: one FID */
        jp_spec_free(&spec);
    }
    write_file(path, "tasks:\n  - name: t\n    scorer: accuracy\n    tolerance: 5\n    models:\n"
                     "      - {name: s, builtin: generate, options: {model: gen-s}}\n");
    assert_int_not_equal(jp_spec_load_all(path, &spec, errors, sizeof errors, &nerr), JP_OK);
    contains(errors, "tolerance: expected a number from 0 to 1 (score points: 0.01 is 1 point), found \"5\"");
}

/* Writes test images [from, from + n) as PNGs and the predictions and references files; returns the
 * images' pixels (NULL when Fashion-MNIST is not installed). */
static uint8_t *write_images(int from, int n, const char *pred, const char *refs, int **classes)
{
    jp_idx_images test;
    if (jp_fashion_mnist_read(NULL, true, &test) != JP_OK) {
        printf("# no Fashion-MNIST: %s\n", jp_last_error());
        return NULL;
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s/images", tmpdir);
    mkdir(dir, 0755);
    FILE *p = fopen(pred, "w"), *r = fopen(refs, "w");
    assert_true(p && r);
    uint8_t *px = malloc((size_t)n * 784);
    *classes = malloc((size_t)n * sizeof **classes);
    for (int i = 0; i < n; i++) {
        const uint8_t *src = test.pixels + (size_t)(from + i) * 784;
        memcpy(px + (size_t)i * 784, src, 784);
        (*classes)[i] = test.labels[from + i];
        char png[600];
        unsigned char *bytes;
        size_t len;
        assert_int_equal(jp_png_encode_grey(src, 28, 28, &bytes, &len), JP_OK);
        snprintf(png, sizeof png, "%s/%04d.png", dir, i);
        FILE *f = fopen(png, "wb");
        assert_int_equal(fwrite(bytes, 1, len, f), len);
        fclose(f);
        free(bytes);
        /* half relative to the predictions file's folder, half absolute */
        if (i % 2) fprintf(p, "images/%04d.png\n", i);
        else fprintf(p, "%s\n", png);
        fprintf(r, "%s\n", jp_classify_label_name(test.labels[from + i]));
    }
    fclose(p);
    fclose(r);
    jp_idx_free(&test);
    return px;
}

static void test_image_scorers(void **state)
{
    (void)state;
    const char *src = getenv("JP_TEST_SRC_DIR");
    char models[1024], pred[512], refs[512];
    snprintf(models, sizeof models, "%s/models", src ? src : ".");
    setenv("JP_MODELS_DIR", models, 1);
    snprintf(pred, sizeof pred, "%s/pred.txt", tmpdir);
    snprintf(refs, sizeof refs, "%s/refs.txt", tmpdir);
    int n = 200, *classes = NULL;
    uint8_t *px = write_images(9000, n, pred, refs, &classes);
    if (!px) return;
    /* what the scorers must agree with: the workload's own quality figures on the same pixels */
    jp_gen_quality_config c = {.models_dir = models, .reference_n = 0, .nearest_n = -1, .threads = 2};
    jp_gen_quality q;
    assert_int_equal(jp_gen_quality_score(&c, px, classes, n, &q), JP_OK);
    printf("# 200 real test images: adherence %.4f, FID %.3f, nearest %.4f\n", q.adherence, q.fid, q.nearest_train_l2);

    struct jp_bench_metric m[JP_BENCH_MAX_METRICS];
    long scored = 0, missing = 0;
    int k = jp_score_files("fid", pred, refs, 0, NULL, m, JP_BENCH_MAX_METRICS, &scored, &missing);
    if (k < 0) fail_msg("%s", jp_last_error());
    assert_int_equal(k, 3);
    assert_int_equal(scored, n);
    assert_string_equal(m[0].name, "fid");
    assert_string_equal(m[1].name, "adherence");
    assert_string_equal(m[2].name, "nearest_train_l2");
    assert_true(fabs(m[0].value - q.fid) < 1e-9 * (1 + q.fid));
    assert_true(fabs(m[1].value - q.adherence) < 1e-12);
    assert_true(fabs(m[2].value - q.nearest_train_l2) < 1e-9);
    /* real images are the classifier's test images: adherence near its 91.73%, and none is a copy of a
     * training image (a copy would be at 0) */
    assert_true(m[1].value > 0.85 && m[1].value < 0.98);
    assert_true(m[2].value > 1.0);
    k = jp_score_files("adherence", pred, refs, 0, NULL, m, JP_BENCH_MAX_METRICS, &scored, &missing);
    assert_int_equal(k, 1);
    assert_true(fabs(m[0].value - q.adherence) < 1e-12);

    /* the folder of models given is the one whose classifier scores, not $JP_MODELS_DIR's: a folder
     * holding no classifier is an error naming it (it used to score with the default zoo's) ... */
    char nozoo[600], onlymlp[600], link[700], mlp[1100];
    snprintf(nozoo, sizeof nozoo, "%s/nozoo", tmpdir);
    assert_int_equal(mkdir(nozoo, 0700), 0);
    assert_true(jp_score_files("adherence", pred, refs, 0, nozoo, m, JP_BENCH_MAX_METRICS, &scored, &missing) < 0);
    contains(jp_last_error(), nozoo);
    contains(jp_last_error(), "no image classifier");
    assert_true(jp_score_files("fid", pred, refs, 0, nozoo, m, JP_BENCH_MAX_METRICS, &scored, &missing) < 0);
    contains(jp_last_error(), nozoo);
    /* ... and a folder holding only the MLP, renamed, scores with that MLP: the share of the images it
     * assigns to the prompted class */
    snprintf(onlymlp, sizeof onlymlp, "%s/onlymlp", tmpdir);
    snprintf(link, sizeof link, "%s/renamed", onlymlp);
    snprintf(mlp, sizeof mlp, "%s/mlp", models);
    assert_int_equal(mkdir(onlymlp, 0700), 0);
    assert_int_equal(symlink(mlp, link), 0);
    int *mlp_label = malloc((size_t)n * sizeof *mlp_label);
    char used[64] = "";
    assert_non_null(mlp_label);
    assert_int_equal(jp_gen_classify(onlymlp, px, n, 1, mlp_label, used, sizeof used), JP_OK);
    assert_string_equal(used, "renamed");
    int mlp_hits = 0;
    for (int i = 0; i < n; i++) mlp_hits += mlp_label[i] == classes[i];
    free(mlp_label);
    assert_int_equal(jp_score_files("adherence", pred, refs, 0, onlymlp, m, JP_BENCH_MAX_METRICS, &scored, &missing), 1);
    printf("# adherence by the best classifier %.4f, by the MLP alone %.4f\n", q.adherence, m[0].value);
    assert_true(fabs(m[0].value - mlp_hits / (double)n) < 1e-12);
    assert_int_equal(unlink(link), 0);

    /* the first images, for the report's strip */
    uint8_t *sample = NULL;
    int side = 0;
    assert_int_equal(jp_score_sample_images(pred, 10, &sample, &side), 10);
    assert_int_equal(side, 28);
    assert_memory_equal(sample, px, 10 * 784);
    free(sample);

    /* bad input: one message naming the line and what is wrong */
    FILE *f = fopen(refs, "a");
    fputs("Cat\n", f);
    fclose(f);
    f = fopen(pred, "a");
    fputs("images/0000.png\n", f);
    fclose(f);
    assert_true(jp_score_files("fid", pred, refs, 0, NULL, m, JP_BENCH_MAX_METRICS, &scored, &missing) < 0);
    contains(jp_last_error(), "reference line 201: \"Cat\" is not a Fashion-MNIST class");
    /* a missing image: adherence counts it as wrong, FID refuses */
    snprintf(refs + strlen(refs) - 4, 8, "2.txt");
    f = fopen(refs, "w");
    fputs("Bag\nBag\nBag\n", f);
    fclose(f);
    f = fopen(pred, "w");
    fprintf(f, "images/0000.png\n\nimages/0001.png\n");
    fclose(f);
    assert_true(jp_score_files("fid", pred, refs, 0, NULL, m, JP_BENCH_MAX_METRICS, &scored, &missing) < 0);
    contains(jp_last_error(), "prediction line 2: no image (FID needs every image)");
    assert_int_equal(jp_score_files("adherence", pred, refs, 0, NULL, m, JP_BENCH_MAX_METRICS, &scored, &missing), 1);
    /* of the 2 images present, those the classifier calls "Bag", over 3 */
    int bags = 0;
    int label[2];
    assert_int_equal(jp_gen_classify(models, px, 2, 1, label, NULL, 0), JP_OK);
    bags = (label[0] == 8) + (label[1] == 8);
    assert_true(fabs(m[0].value - bags / 3.0) < 1e-12);
    /* an image of the wrong size, and a file that is not a PNG */
    char big[600];
    snprintf(big, sizeof big, "%s/images/big.png", tmpdir);
    uint8_t blank[30 * 30] = {0};
    unsigned char *bytes;
    size_t len;
    assert_int_equal(jp_png_encode_grey(blank, 30, 30, &bytes, &len), JP_OK);
    f = fopen(big, "wb");
    fwrite(bytes, 1, len, f);
    fclose(f);
    free(bytes);
    f = fopen(pred, "w");
    fprintf(f, "images/0000.png\nimages/big.png\nimages/0001.png\n");
    fclose(f);
    assert_true(jp_score_files("fid", pred, refs, 0, NULL, m, JP_BENCH_MAX_METRICS, &scored, &missing) < 0);
    contains(jp_last_error(), "prediction line 2: ");
    contains(jp_last_error(), "big.png: 30x30 pixels, expected 28x28");
    f = fopen(pred, "w");
    fprintf(f, "images/0000.png\n%s\nimages/0001.png\n", pred);
    fclose(f);
    assert_true(jp_score_files("fid", pred, refs, 0, NULL, m, JP_BENCH_MAX_METRICS, &scored, &missing) < 0);
    contains(jp_last_error(), "prediction line 2: \"");
    contains(jp_last_error(), "is not the path of a .png image");
    free(px);
    free(classes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_directions),
        cmocka_unit_test(test_analysis_lower_is_better),
        cmocka_unit_test(test_reports_say_lower_is_better),
        cmocka_unit_test(test_html_sample_strip),
        cmocka_unit_test(test_spec_tolerance_units),
        cmocka_unit_test(test_image_scorers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
