/* The classify workload: the IDX reader (good and damaged files), a session's cache of decoded files,
 * the zoo listing, the full test set's accuracy of every model equal to the training script's figure, a
 * run measured with the meter in phases "load" and "infer", one that times a prefix and classifies the
 * rest in the same pass (alone and in the harness, which then scores that run), and the `jouleprint
 * classify` command. */
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
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "bench/builtin.h"
#include "bench/runner.h"
#include "bench/spec.h"
#include "fake_tree.h"
#include "jouleprint.h"
#include "nn/safetensors.h"
#include "workload/classify.h"
#include "nn/nn.h"

static char tmpdir[256];
static char models[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jp-test-classify-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    const char *s = getenv("JP_TEST_SRC_DIR");
    snprintf(models, sizeof models, "%s/models", s ? s : ".");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_gz(const char *path, const unsigned char *data, size_t len)
{
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
    gzclose(f);
}

static void test_idx(void **state)
{
    (void)state;
    unsigned char img[16 + 3 * 2 * 2] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    unsigned char lab[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9};
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/i.gz", tmpdir);
    snprintf(lp, sizeof lp, "%s/l.gz", tmpdir);
    write_gz(ip, img, sizeof img);
    write_gz(lp, lab, sizeof lab);
    jp_idx_images d;
    assert_int_equal(jp_idx_read(ip, lp, &d), JP_OK);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.rows, 2);
    assert_int_equal(d.cols, 2);
    assert_int_equal(d.pixels[11], 12);
    assert_int_equal(d.labels[2], 9);
    jp_idx_free(&d);
    /* plain (not gzipped) files read too */
    FILE *f = fopen(ip, "wb");
    fwrite(img, 1, sizeof img, f);
    fclose(f);
    assert_int_equal(jp_idx_read(ip, NULL, &d), JP_OK);
    assert_null(d.labels);
    jp_idx_free(&d);
    /* truncated data */
    write_gz(ip, img, sizeof img - 1);
    assert_int_equal(jp_idx_read(ip, NULL, &d), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "truncated"));
    /* a corrupt gzip stream */
    f = fopen(ip, "wb");
    fwrite("\x1f\x8b\x08\x00garbagegarbagegarbage", 1, 25, f);
    fclose(f);
    assert_int_not_equal(jp_idx_read(ip, NULL, &d), JP_OK);
    /* wrong magic (a label file read as images), and counts that disagree */
    write_gz(ip, lab, sizeof lab);
    assert_int_equal(jp_idx_read(ip, NULL, &d), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "not an IDX file"));
    write_gz(ip, img, sizeof img);
    lab[7] = 2;
    write_gz(lp, lab, sizeof lab - 1);
    assert_int_equal(jp_idx_read(ip, lp, &d), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "labels"));
    /* trailing bytes */
    unsigned char more[sizeof img + 1];
    memcpy(more, img, sizeof img);
    more[sizeof img] = 0;
    write_gz(ip, more, sizeof more);
    assert_int_equal(jp_idx_read(ip, NULL, &d), JP_ERR_PARSE);
    /* missing files say how to get the data */
    assert_int_equal(jp_fashion_mnist_read(tmpdir, true, &d), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "dataset-fashion-mnist"));
}

static void test_zoo_list(void **state)
{
    (void)state;
    jp_classify_model_info z[32];
    int n = jp_classify_list(models, z, 32);
    assert_true(n >= 5);
    double lo = 1e300, hi = 0;
    const char *types[] = {"mlp", "cnn", "resnet", "vit"};
    int seen[4] = {0};
    for (int i = 0; i < n; i++) {
        if (i) assert_true(z[i].flops >= z[i - 1].flops);
        assert_true(z[i].params > 0 && z[i].test_total == 10000);
        lo = z[i].flops < lo ? z[i].flops : lo;
        hi = z[i].flops > hi ? z[i].flops : hi;
        for (int t = 0; t < 4; t++) seen[t] |= !strcmp(z[i].type, types[t]);
    }
    assert_true(hi / lo >= 100); /* the zoo spans at least 100x in compute */
    for (int t = 0; t < 4; t++) assert_true(seen[t]);
    jp_classify_model_info one;
    assert_int_equal(jp_classify_find(models, "resnet-s", &one), JP_OK);
    assert_string_equal(one.type, "resnet");
    assert_int_equal(jp_classify_find(models, "resnet-xxl", &one), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "mlp"));
    /* the weights stay under 25 MB in all */
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/model.safetensors", z[i].dir);
        FILE *f = fopen(p, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        total += (size_t)ftell(f);
        fclose(f);
    }
    assert_true(total < 25u * 1000 * 1000);
}

/* The engine predicts the label PyTorch predicted (models/NAME/parity.safetensors, written by train.py)
 * for every test image, so its accuracy on all 10,000 equals train.py's, for every model. Under
 * AddressSanitizer (a Debug build, where the engine's own loops run unoptimized) the first 300 images
 * of each model are checked instead, image by image. */
#if defined(__SANITIZE_ADDRESS__)
#define ACCURACY_IMAGES 300
#else
#define ACCURACY_IMAGES 0 /* all */
#endif

static void test_full_accuracy(void **state)
{
    (void)state;
    jp_classify_model_info z[32];
    int n = jp_classify_list(models, z, 32);
    assert_true(n >= 5);
    static int pred[10000];
    static uint8_t ref[10000];
    for (int i = 0; i < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/parity.safetensors", z[i].dir);
        jp_safetensors *st;
        if (jp_st_open(&st, path) != JP_OK) fail_msg("%s", jp_last_error());
        int64_t shape[1] = {10000};
        assert_int_equal(jp_st_read_u8(st, "predictions", 1, shape, ref), JP_OK);
        jp_st_close(st);
        jp_classify_config c;
        jp_classify_config_init(&c);
        c.model = z[i].name;
        c.models_dir = models;
        c.n = ACCURACY_IMAGES;
        c.batch = 100;
        c.threads = 2;
        c.predictions = pred;
        jp_classify_result r;
        if (jp_classify_run(&c, NULL, &r) != JP_OK) fail_msg("%s: %s", z[i].name, jp_last_error());
        int differ = 0;
        for (int k = 0; k < r.n; k++) differ += pred[k] != ref[k];
        print_message("%-9s %d / %d correct (train.py: %d / 10000), %d predictions differ from PyTorch's, %.0f images/s\n",
                      z[i].name, r.correct, r.n, z[i].test_correct, differ, r.images_per_s);
        assert_int_equal(differ, 0);
        if (!ACCURACY_IMAGES) {
            assert_int_equal(r.n, 10000);
            assert_int_equal(r.correct, z[i].test_correct);
        }
    }
}

static void test_measured_run(void **state)
{
    (void)state;
    jp_meter_config mc;
    jp_meter_config_init(&mc);
    mc.interval_s = 0.01;
    jp_meter *m;
    if (jp_meter_open(&m, &mc) != JP_OK) skip();
    jp_classify_config c;
    jp_classify_config_init(&c);
    c.model = "cnn";
    c.models_dir = models;
    c.n = 500;
    c.batch = 32;
    int pred[500];
    c.predictions = pred;
    jp_classify_result r;
    assert_int_equal(jp_classify_run(&c, m, &r), JP_OK);
    assert_int_equal(r.n, 500);
    assert_true(r.correct > 400);
    int agree = 0;
    jp_idx_images d;
    assert_int_equal(jp_fashion_mnist_read(NULL, true, &d), JP_OK);
    for (int i = 0; i < 500; i++) agree += pred[i] == d.labels[i];
    jp_idx_free(&d);
    assert_int_equal(agree, r.correct);
    int have_load = 0, have_infer = 0;
    for (size_t i = 0; i < jp_meter_phase_count(m); i++) {
        have_load |= !strcmp(jp_meter_phase_name(m, i), "load");
        have_infer |= !strcmp(jp_meter_phase_name(m, i), "infer");
    }
    assert_true(have_load && have_infer);
    assert_true(r.infer_j > 0 && r.load_j >= 0);
    assert_true(r.j_per_image > 0 && fabs(r.j_per_image * 500 - r.infer_j) < 1e-9 * (1 + r.infer_j));
    assert_true(r.images_per_s > 0 && r.infer_s > 0 && r.load_s > 0);
    assert_int_equal(r.estimated, jp_meter_estimated(m));
    /* bad arguments */
    c.n = 20000;
    assert_int_equal(jp_classify_run(&c, NULL, &r), JP_ERR_RANGE);
    c.n = 10;
    c.batch = 0;
    c.threads = 65;
    assert_int_equal(jp_classify_run(&c, NULL, &r), JP_ERR_RANGE);
    jp_meter_close(m);
}

/* `builtin: classify` as the bench harness calls it: it starts and stops the meter, marks the phases,
 * and writes label names. */
static void test_builtin(void **state)
{
    (void)state;
    const struct jp_bench_builtin *b = &jp_bench_builtin_classify;
    assert_string_equal(b->name, "classify");
    assert_string_equal(b->scorer, "accuracy");
    struct jp_spec_option opts[4];
    memset(opts, 0, sizeof opts);
    snprintf(opts[0].key, sizeof opts[0].key, "model");
    snprintf(opts[0].value, sizeof opts[0].value, "mlp");
    snprintf(opts[1].key, sizeof opts[1].key, "models_dir");
    if (snprintf(opts[1].value, sizeof opts[1].value, "%s", models) >= (int)sizeof opts[1].value) skip();
    snprintf(opts[2].key, sizeof opts[2].key, "batch");
    snprintf(opts[2].value, sizeof opts[2].value, "16");
    char why[256];
    assert_int_equal(b->check(opts, 3, why, sizeof why), JP_OK);
    snprintf(opts[3].key, sizeof opts[3].key, "colour");
    assert_int_equal(b->check(opts, 4, why, sizeof why), JP_ERR_INVAL);
    assert_non_null(strstr(why, "colour"));
    snprintf(opts[0].value, sizeof opts[0].value, "nope");
    assert_int_not_equal(b->check(opts, 3, why, sizeof why), JP_OK);
    assert_int_equal(b->check(opts, 0, why, sizeof why), JP_ERR_INVAL);
    snprintf(opts[0].value, sizeof opts[0].value, "mlp");

    jp_meter_config mc;
    jp_meter_config_init(&mc);
    mc.interval_s = 0.01;
    jp_meter *m;
    if (jp_meter_open(&m, &mc) != JP_OK) skip();
    char out[512], ref[512];
    snprintf(out, sizeof out, "%s/pred.txt", tmpdir);
    snprintf(ref, sizeof ref, "%s/ref.txt", tmpdir);
    long done = 0;
    assert_int_equal(b->run(opts, 3, 100, 100, out, ref, m, &done), JP_OK);
    assert_int_equal(done, 100);
    int have_infer = 0;
    for (size_t i = 0; i < jp_meter_phase_count(m); i++) have_infer |= !strcmp(jp_meter_phase_name(m, i), "infer");
    assert_true(have_infer);
    FILE *p = fopen(out, "r"), *r = fopen(ref, "r");
    assert_true(p && r);
    char a[64], c[64];
    int lines = 0, same = 0;
    while (fgets(a, sizeof a, p) && fgets(c, sizeof c, r)) {
        lines++;
        same += !strcmp(a, c);
    }
    fclose(p);
    fclose(r);
    assert_int_equal(lines, 100);
    assert_true(same > 75);
    assert_int_equal(b->run(opts, 3, 20000, 20000, out, ref, m, &done), JP_ERR_RANGE);
    assert_int_equal(b->run(opts, 3, 10, 10, out, ref, NULL, &done), JP_OK); /* unmeasured */
    jp_meter_close(m);
}

/* In a session each file is decoded once and shared while it is the same file; outside one, every read
 * decodes (counted by jp_idx_decodes, not timed). */
static void test_session_cache(void **state)
{
    (void)state;
    unsigned char img[16 + 2 * 2 * 2] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    unsigned char lab[8 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 7, 8};
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/cache-i.gz", tmpdir);
    snprintf(lp, sizeof lp, "%s/cache-l.gz", tmpdir);
    write_gz(ip, img, sizeof img);
    write_gz(lp, lab, sizeof lab);
    jp_idx_images a, b;
    unsigned long d0 = jp_idx_decodes();
    assert_int_equal(jp_idx_read(ip, lp, &a), JP_OK);
    assert_int_equal(jp_idx_read(ip, lp, &b), JP_OK);
    assert_int_equal(jp_idx_decodes() - d0, 4); /* no session: each read decodes both files */
    assert_false(a.pixels_shared || a.labels_shared);
    jp_idx_free(&a);
    jp_idx_free(&b);
    jp_workloads_session_begin();
    jp_workloads_session_begin(); /* nested: the outer end frees */
    d0 = jp_idx_decodes();
    assert_int_equal(jp_idx_read(ip, lp, &a), JP_OK);
    assert_int_equal(jp_idx_read(ip, lp, &b), JP_OK);
    assert_int_equal(jp_idx_decodes() - d0, 2);
    assert_true(a.pixels_shared && a.labels_shared);
    assert_ptr_equal(a.pixels, b.pixels);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.pixels[7], 8);
    assert_int_equal(b.labels[1], 8);
    jp_idx_free(&b); /* the cache's: not freed */
    jp_workloads_session_end();
    assert_int_equal(a.pixels[7], 8); /* still there: the session goes on */
    jp_idx_free(&a);
    /* the file replaced: read afresh (another inode and size) */
    unsigned char img3[16 + 3 * 2 * 2] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    char tmp[520];
    snprintf(tmp, sizeof tmp, "%s.new", ip);
    write_gz(tmp, img3, sizeof img3);
    assert_int_equal(rename(tmp, ip), 0);
    d0 = jp_idx_decodes();
    assert_int_equal(jp_idx_read(ip, NULL, &a), JP_OK);
    assert_int_equal(jp_idx_decodes() - d0, 1);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.pixels[11], 12);
    jp_idx_free(&a);
    jp_workloads_session_end();
    d0 = jp_idx_decodes();
    assert_int_equal(jp_idx_read(ip, NULL, &a), JP_OK);
    assert_int_equal(jp_idx_decodes() - d0, 1);
    assert_false(a.pixels_shared);
    jp_idx_free(&a);
}

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

/* timed < n: the first `timed` images are measured, in the batches of a run of n = timed, and the meter is
 * stopped before the other images, which are classified in the same pass. */
static void test_timed_prefix(void **state)
{
    (void)state;
    jp_meter_config mc;
    jp_meter_config_init(&mc);
    mc.interval_s = 0.05;
    jp_meter *m;
    if (jp_meter_open(&m, &mc) != JP_OK) skip();
    jp_workloads_session_begin();
    jp_idx_images d;
    assert_int_equal(jp_fashion_mnist_read(NULL, true, &d), JP_OK);
    enum { N = 10000, T = 500 };
    static int pred[N], alone[T];
    jp_classify_config c;
    jp_classify_config_init(&c);
    c.model = "mlp";
    c.models_dir = models;
    c.n = T;
    c.predictions = alone;
    jp_classify_result r;
    assert_int_equal(jp_classify_run(&c, NULL, &r), JP_OK);
    assert_int_equal(r.n, T);
    c.n = N;
    c.predictions = pred;
    assert_int_equal(jp_classify_run_timed(&c, N + 1, m, &r), JP_ERR_RANGE);
    assert_int_equal(jp_classify_run_timed(&c, 0, m, &r), JP_ERR_RANGE);
    unsigned long d0 = jp_idx_decodes();
    double cpu0 = self_cpu();
    assert_int_equal(jp_classify_run_timed(&c, T, m, &r), JP_OK);
    double cpu = self_cpu() - cpu0;
    assert_int_equal(jp_idx_decodes(), d0); /* the session's copy of the test set */
    assert_int_equal(r.n, T);
    int agree = 0;
    for (int i = 0; i < N; i++) agree += pred[i] == d.labels[i];
    assert_int_equal(r.correct, agree);
    assert_true(fabs(r.accuracy - (double)agree / N) < 1e-12);
    assert_memory_equal(pred, alone, sizeof alone); /* the timed images as a run of them alone has them */
    assert_true(fabs(r.j_per_image * T - r.infer_j) < 1e-9 * (1 + r.infer_j));
    /* the meter saw the model's load and the 500 timed images, not the 9,500 after them: its CPU time of
     * this process is well under the call's */
    double seen = jp_meter_tree_cpu_seconds(m);
    print_message("call %.3f s CPU, the meter's %.3f s (load %.3f, infer %.3f)\n", cpu, seen, r.load_cpu_s, r.infer_cpu_s);
    assert_true(seen >= 0 && seen < 0.5 * cpu);
    jp_idx_free(&d);
    jp_workloads_session_end();
    jp_meter_close(m);
}

/* The harness with a builtin that times a prefix: one pass per model (the run scored is the timed
 * run), the figures of its first `time` items, the accuracy of all `score` items as a run of them
 * gives it, and the test set decoded once for the whole session. */
static void test_one_pass_in_harness(void **state)
{
    (void)state;
    char spec_path[600];
    snprintf(spec_path, sizeof spec_path, "%s/one-pass.yaml", tmpdir);
    FILE *f = fopen(spec_path, "w");
    assert_non_null(f);
    fprintf(f,
            "repeats: 2\nwarmup: 0\ntasks:\n  - name: image-classification\n    time: 50\n    score: 300\n"
            "    scorer: accuracy\n    models:\n"
            "      - {name: mlp, builtin: classify, options: {model: mlp, models_dir: '%s'}}\n"
            "      - {name: cnn, builtin: classify, options: {model: cnn, models_dir: '%s'}}\n",
            models, models);
    fclose(f);
    struct jp_spec spec;
    if (jp_spec_load(spec_path, &spec) != JP_OK) fail_msg("%s", jp_last_error());
    struct jp_bench_options o;
    jp_bench_options_init(&o);
    o.workdir = tmpdir;
    o.meter.interval_s = 0.05;
    struct jp_bench_run run;
    unsigned long d0 = jp_idx_decodes();
    assert_int_equal(jp_bench_run_spec(&spec, &o, &run), JP_OK);
    assert_int_equal(jp_idx_decodes() - d0, 2); /* images and labels, once for 4 runs */
    const char *names[2] = {"mlp", "cnn"};
    for (int i = 0; i < 2; i++) {
        const struct jp_bench_model *bm = &run.tasks[0].models[i];
        assert_int_equal(bm->status, JP_MODEL_OK);
        assert_int_equal(bm->runs, 2);
        assert_int_equal(bm->items_timed, 50);
        assert_int_equal(bm->items_scored, 300);
        jp_classify_config c;
        jp_classify_config_init(&c);
        c.model = names[i];
        c.models_dir = models;
        c.n = 300;
        jp_classify_result r;
        assert_int_equal(jp_classify_run(&c, NULL, &r), JP_OK);
        print_message("%s: accuracy %.4f in the harness, %.4f alone\n", names[i], bm->score, r.accuracy);
        assert_true(fabs(bm->score - r.accuracy) < 1e-9);
    }
    jp_bench_run_clear(&run);
    jp_spec_free(&spec);
}

/* ---- the command ---- */

/* stdout and stderr of the tool into one file */
static int run_cli(const char *out, const char *const *args) { return ft_run_cli(out, out, args); }

static void test_cli(void **state)
{
    (void)state;
    char out[512];
    snprintf(out, sizeof out, "%s/out.txt", tmpdir);
    const char *list[] = {"classify", "--list", "--json", "--models-dir", models, NULL};
    assert_int_equal(run_cli(out, list), 0);
    json_t *j = json_load_file(out, 0, NULL);
    assert_true(json_is_array(j) && json_array_size(j) >= 5);
    assert_non_null(json_object_get(json_array_get(j, 0), "flops_per_image"));
    json_decref(j);

    const char *run[] = {"classify", "--model", "vit", "--n", "100", "--batch", "16", "--threads", "2", "--json",
                         "--models-dir", models, "--interval", "10ms", NULL};
    assert_int_equal(run_cli(out, run), 0);
    json_error_t err;
    j = json_load_file(out, 0, &err);
    if (!j) fail_msg("not JSON: %s", err.text);
    static const char *keys[] = {"model", "params", "flops_per_image", "n", "accuracy", "reference_accuracy",
                                 "images_per_s", "load_j", "infer_j", "energy_j", "j_per_image", "carbon_g", "region",
                                 "estimated", "domains", "phases"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(j, keys[i])) fail_msg("--json lacks \"%s\"", keys[i]);
    assert_int_equal(json_integer_value(json_object_get(j, "n")), 100);
    assert_true(json_real_value(json_object_get(j, "infer_j")) > 0);
    json_decref(j);

    const char *human[] = {"classify", "-m", "mlp", "-n", "50", "--models-dir", models, NULL};
    assert_int_equal(run_cli(out, human), 0);
    FILE *f = fopen(out, "r");
    char buf[8192];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "accuracy"));
    assert_non_null(strstr(buf, "per image"));

    /* the carbon options of every command: --region and --year give that region's figure of that year,
     * the carbon is the energy at that figure (and the PUE asked) */
    jp_intensity nv;
    assert_int_equal(jp_intensity_lookup_year("North Virginia", 2021, &nv), JP_OK);
    const char *year[] = {"classify", "--model", "mlp", "--n", "20", "--json", "--models-dir", models, "--interval",
                          "10ms", "--region", "North Virginia", "--year", "2021", "--pue", "1.5", NULL};
    assert_int_equal(run_cli(out, year), 0);
    j = json_load_file(out, 0, &err);
    if (!j) fail_msg("not JSON: %s", err.text);
    assert_string_equal(json_string_value(json_object_get(j, "region")), "gcp:us-east4");
    assert_int_equal(json_integer_value(json_object_get(j, "intensity_year")), 2021);
    assert_true(json_real_value(json_object_get(j, "intensity_g_per_kwh")) == nv.g_per_kwh);
    assert_true(json_real_value(json_object_get(j, "pue")) == 1.5);
    double e = json_real_value(json_object_get(j, "energy_j"));
    assert_true(e > 0);
    assert_true(fabs(json_real_value(json_object_get(j, "carbon_g")) - e / 3.6e6 * nv.g_per_kwh * 1.5) <= e * 1e-12);
    json_decref(j);
    char line[128];
    snprintf(line, sizeof line, "gcp:us-east4: %.1f gCO2e/kWh", nv.g_per_kwh);
    const char *year_human[] = {"classify", "--model", "mlp", "--n", "20", "--models-dir", models, "--region",
                                "North Virginia", "--year", "2021", NULL};
    assert_int_equal(run_cli(out, year_human), 0);
    f = fopen(out, "r");
    len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, line));
    assert_non_null(strstr(buf, "2021"));
    const char *given[] = {"classify", "--model", "mlp", "--n", "20", "--json", "--models-dir", models,
                           "--intensity", "123", NULL};
    assert_int_equal(run_cli(out, given), 0);
    j = json_load_file(out, 0, &err);
    if (!j) fail_msg("not JSON: %s", err.text);
    assert_true(json_real_value(json_object_get(j, "intensity_g_per_kwh")) == 123);
    assert_non_null(strstr(json_string_value(json_object_get(j, "intensity_source")), "given"));
    assert_true(json_is_null(json_object_get(j, "intensity_year")));
    json_decref(j);
    const char *no_year[] = {"classify", "--model", "mlp", "--region", "North Virginia", "--year", "1995", NULL};
    assert_int_equal(run_cli(out, no_year), 2);

    const char *unknown[] = {"classify", "--model", "nope", "--models-dir", models, NULL};
    assert_int_equal(run_cli(out, unknown), 2);
    const char *bad[] = {"classify", "--model", "mlp", "--batch", "0", NULL};
    assert_int_equal(run_cli(out, bad), 2);
    const char *none[] = {"classify", NULL};
    assert_int_equal(run_cli(out, none), 2);
    const char *help[] = {"classify", "--help", NULL};
    assert_int_equal(run_cli(out, help), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx),          cmocka_unit_test(test_zoo_list), cmocka_unit_test(test_full_accuracy),
        cmocka_unit_test(test_measured_run), cmocka_unit_test(test_builtin), cmocka_unit_test(test_cli),
        cmocka_unit_test(test_session_cache), cmocka_unit_test(test_timed_prefix),
        cmocka_unit_test(test_one_pass_in_harness),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
