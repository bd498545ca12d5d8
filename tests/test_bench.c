/*
 * The benchmark harness: scorers on hand-made pairs, spec validation (every error names its line),
 * and a whole run of two external "models" (this program in --model mode: one spending twice the
 * energy of the other on a fake counter, each with a known accuracy), plus a model that crashes and
 * one that hangs.
 */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/runner.h"
#include "bench/score.h"
#include "bench/spec.h"
#include "report/report.h"
#include "store.h"
#include "fake_tree.h"

static char self[4096];
static char *dir;

/*
 * The energy is not measured off the machine, whose other work would change it: the "models" add
 * it themselves to a fake powercap counter (setup below), so that every figure is known exactly.
 * Each model adds LOAD_J while loading and ITEM_J x work per item while inferring.
 */
#define LOAD_J 0.25
#define ITEM_J 0.001
#define COUNTER "class/powercap/intel-rapl:0/energy_uj"


/* ---- scorers --------------------------------------------------------------------------------- */

static void test_scorers(void **state)
{
    (void)state;
    struct jp_bench_metric m[8];
    const char *pred[] = {"cat", " dog ", "bird", "fish"};
    const char *ref[] = {"cat", "dog", "bird", "eel"};
    assert_int_equal(jp_score_lines("accuracy", pred, ref, 4, NULL, m, 8), 1);
    assert_string_equal(m[0].name, "accuracy");
    assert_float_equal(m[0].value, 0.75, 1e-12);

    const char *op[] = {"Hello wor1d", "", "exactly right"};
    const char *orf[] = {"Hello world", "two words", "exactly right"};
    int k = jp_score_lines("ocr", op, orf, 3, NULL, m, 8);
    assert_int_equal(k, 3);
    /* words: 2 + 2 + 2 = 6; recalled Hello, exactly, right = 3 */
    assert_string_equal(m[0].name, "word_recall");
    assert_float_equal(m[0].value, 3.0 / 6.0, 1e-12);
    /* chars: 11 + 9 + 13 = 33; edits 1 + 9 + 0 */
    assert_string_equal(m[1].name, "cer");
    assert_float_equal(m[1].value, 10.0 / 33.0, 1e-12);
    /* word edits: 1 + 2 + 0 = 3 of 6 */
    assert_string_equal(m[2].name, "wer");
    assert_float_equal(m[2].value, 0.5, 1e-12);

    assert_float_equal(jp_rouge_n("the cat sat on the mat", "the cat sat on the mat", 1), 1.0, 1e-12);
    /* pred 4 unigrams, ref 3, overlap 3: P = 3/4, R = 1 -> F1 = 6/7 */
    assert_float_equal(jp_rouge_n("The cat sat down", "the cat sat", 1), 6.0 / 7.0, 1e-12);
    /* bigrams: pred 3, ref 2, overlap 2 -> F1 = 0.8 */
    assert_float_equal(jp_rouge_n("the cat sat down", "the cat sat", 2), 0.8, 1e-12);
    /* LCS "a c" of "a b c" and "a c d": 2, P = R = 2/3 */
    assert_float_equal(jp_rouge_l("a b c", "a c d"), 2.0 / 3.0, 1e-12);
    assert_int_equal(jp_score_lines("bleu", pred, ref, 4, NULL, m, 8), JP_ERR_INVAL);
    assert_non_null(strstr(jp_last_error(), "unknown scorer"));
}

/* ---- specs ------------------------------------------------------------------------------------ */

static void write_file(const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void write_items(int n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/items.txt", dir);
    FILE *f = fopen(path, "w");
    FILE *g = fopen(strcat(strcpy(path, dir), "/labels.txt"), "w");
    assert_true(f && g);
    for (int i = 0; i < n; i++) {
        fprintf(f, "item-%04d\n", i);
        fprintf(g, "label-%d\n", i % 10);
    }
    fclose(f);
    fclose(g);
}

/* Loads a spec from text; returns the status, with the error in jp_last_error(). */
static int load_spec(const char *text, struct jp_spec *spec)
{
    write_file("spec.yaml", text);
    char path[4200];
    snprintf(path, sizeof path, "%s/spec.yaml", dir);
    return jp_spec_load(path, spec);
}

static void expect_spec_error(const char *text, const char *needle1, const char *needle2)
{
    struct jp_spec spec;
    int rc = load_spec(text, &spec);
    if (rc == JP_OK) {
        jp_spec_free(&spec);
        fail_msg("spec accepted, expected an error with \"%s\"", needle1);
    }
    const char *e = jp_last_error();
    if (!strstr(e, needle1) || (needle2 && !strstr(e, needle2)))
        fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", e, needle1, needle2 ? needle2 : "");
}

static void test_spec_errors_name_the_line(void **state)
{
    (void)state;
    write_items(20);
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    references: labels.txt\n    models:\n"
                      "      - command: true {outputs}\n",
                      "spec.yaml:6:", "missing key \"name\"");
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    references: labels.txt\n    time: lots\n    models:\n"
                      "      - name: a\n        command: true {outputs}\n",
                      "spec.yaml:5:", "expected a whole number");
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    references: labels.txt\n    scorer: bleu\n    models:\n"
                      "      - name: a\n        command: true {outputs}\n",
                      "spec.yaml:5:", "unknown scorer \"bleu\"");
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    references: labels.txt\n    models:\n"
                      "      - name: a\n        command: ./no-such-program {inputs} {outputs}\n",
                      "spec.yaml:7:", "not an executable program");
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    references: labels.txt\n    models:\n"
                      "      - name: a\n        command: true {input}\n",
                      "spec.yaml:7:", "unknown placeholder \"{input}\"");
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    references: labels.txt\n    time: 50\n    models:\n"
                      "      - name: a\n        command: true {outputs}\n",
                      "spec.yaml:5:", "50 items to time but 20");
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    reference: labels.txt\n    models: []\n",
                      "spec.yaml:4:", "unknown key \"reference\"");
    expect_spec_error("tasks:\n  - name: t\n    items: missing.txt\n    models:\n      - name: a\n        command: true\n",
                      "spec.yaml:3:", "cannot read");
    expect_spec_error("tasks: [unclosed\n", "spec.yaml:", "not valid YAML");
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    references: labels.txt\n    models:\n"
                      "      - name: a\n        builtin: teleport\n",
                      "spec.yaml:7:", "unknown builtin \"teleport\"");
    expect_spec_error("timeout: forever\ntasks: []\n", "spec.yaml:1:", "spec.timeout");
    /* zero and absurd durations are refused at validation, not found out during a run */
    expect_spec_error("timeout: 0s\ntasks: []\n", "spec.yaml:1:", "spec.timeout: 0s is out of range");
    expect_spec_error("baseline: 10000h\ntasks: []\n", "spec.yaml:1:", "spec.baseline: 10000h is out of range");
    expect_spec_error("timeout: 9000h\ntasks: []\n", "spec.yaml:1:", "at most 604800s");
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    references: labels.txt\n    models:\n"
                      "      - name: a\n        command: true {outputs}\n        timeout: 0s\n",
                      "spec.yaml:8:", "models[0].timeout: 0s is out of range");
    /* items that are not a regular file: /dev/zero would be counted for ever, a FIFO would block */
    expect_spec_error("tasks:\n  - name: t\n    items: /dev/zero\n    models:\n      - name: a\n        command: true\n",
                      "spec.yaml:3:", "/dev/zero: is a character device");
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/fifo.txt", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(30);
    expect_spec_error("tasks:\n  - name: t\n    items: fifo.txt\n    models:\n      - name: a\n        command: true\n",
                      "spec.yaml:3:", "fifo.txt: is a FIFO");
    expect_spec_error("tasks:\n  - name: t\n    items: items.txt\n    references: fifo.txt\n    models:\n"
                      "      - name: a\n        command: true {outputs}\n",
                      "spec.yaml:4:", "cannot read");
    alarm(0);
    unlink(fifo);
    /* a zero baseline is fine (none measured) */
    struct jp_spec spec;
    assert_int_equal(load_spec("baseline: 0s\ntimeout: 1h\ntasks:\n  - name: t\n    items: items.txt\n    references: labels.txt\n"
                               "    models:\n      - name: a\n        command: true {outputs}\n", &spec), JP_OK);
    assert_float_equal(spec.baseline_s, 0, 0);
    assert_float_equal(spec.tasks[0].models[0].timeout_s, 3600, 0);
    jp_spec_free(&spec);
}

/* ---- a whole run ---------------------------------------------------------------------------- */

/* What the runner reported through jp_bench_options.on_event. */
struct events {
    int small_ends, small_progress;
    long small_done_min;
    char passes[256];
    char notes[2048];
    char measured[256]; /* JP_BENCH_MODEL_END: "model:status/models so far;" */
};

static void on_event(const struct jp_bench_event *ev, void *arg)
{
    struct events *e = arg;
    if (ev->kind == JP_BENCH_NOTE) {
        size_t len = strlen(e->notes);
        snprintf(e->notes + len, sizeof e->notes - len, "%s\n", ev->text);
        return;
    }
    if (ev->kind == JP_BENCH_MODEL_END) {
        /* the run so far, as it would be stored: incomplete, this model one of its task's (all of them
         * are there from the start: the runs go round-robin) */
        assert_non_null(ev->run);
        assert_int_equal(ev->run->status, JP_RUN_INCOMPLETE);
        assert_int_equal(ev->run->ntasks, 1);
        const struct jp_bench_task *t = &ev->run->tasks[0];
        size_t k = 0;
        while (k < t->nmodels && strcmp(t->models[k].name, ev->model)) k++;
        assert_true(k < t->nmodels);
        size_t len = strlen(e->measured);
        snprintf(e->measured + len, sizeof e->measured - len, "%s:%s/%zu;", ev->model,
                 jp_model_status_name(t->models[k].status), t->nmodels);
        return;
    }
    assert_null(ev->run);
    assert_non_null(ev->task);
    assert_non_null(ev->pass);
    if (strcmp(ev->model, "small")) return;
    if (ev->kind == JP_BENCH_PASS_PROGRESS) {
        e->small_progress++;
        return;
    }
    e->small_ends++;
    assert_int_equal(ev->total, 200);
    if (e->small_done_min < 0 || ev->done < e->small_done_min) e->small_done_min = ev->done;
    size_t len = strlen(e->passes);
    snprintf(e->passes + len, sizeof e->passes - len, "%s;", ev->pass);
    assert_true(ev->elapsed_s > 0);
}

static void test_two_models_and_failures(void **state)
{
    (void)state;
    write_items(200);
    char spec_text[32768];
    /* small: work 1 per item, every 10th prediction wrong (accuracy 0.9); large: work 2, every 20th
     * wrong (0.95); crash: aborts half-way; hang: never finishes (timeout 1s) */
    snprintf(spec_text, sizeof spec_text,
             "repeats: 2\nwarmup: 1\ntimeout: 60s\nproject: 1000000\n"
             "tasks:\n"
             "  - name: labels\n    items: items.txt\n    references: labels.txt\n    time: 200\n    scorer: accuracy\n"
             "    tolerance: 0.01\n    models:\n"
             "      - name: small\n        command: %s --model 1 10 {inputs} {outputs}\n"
             "      - name: large\n        command: \"'%s' --model 2 20 {inputs} {outputs}\"\n"
             "      - name: crash\n        command: %s --model crash 0 {inputs} {outputs}\n"
             "      - name: hang\n        command: %s --model hang 0 {inputs} {outputs}\n        timeout: 1s\n"
             "        warmup: 0\n",
             self, self, self, self);
    struct jp_spec spec;
    if (load_spec(spec_text, &spec) != JP_OK) fail_msg("spec: %s", jp_last_error());
    struct jp_bench_options o;
    jp_bench_options_init(&o);
    o.workdir = dir;
    o.meter.interval_s = 0.02;
    struct events ev = {0, 0, -1, "", "", ""};
    o.on_event = on_event;
    o.on_event_arg = &ev;
    struct jp_bench_run run;
    if (jp_bench_run_spec(&spec, &o, &run) != JP_OK) fail_msg("run: %s", jp_last_error());
    /* every pass of small ended with its 200 items, and the failures were told in words */
    assert_string_equal(ev.passes, "warm-up 1;run 1/2;run 2/2;");
    assert_int_equal(ev.small_ends, 3);
    /* final in the order they became so: crash in its warm-up, hang in the first round, small and large
     * after the second */
    assert_string_equal(ev.measured, "crash:failed/4;hang:timeout/4;small:ok/4;large:ok/4;");
    assert_int_equal(ev.small_done_min, 200);
    assert_non_null(strstr(ev.notes, "labels / crash failed: killed by signal"));
    assert_non_null(strstr(ev.notes, "labels / hang timeout: timed out after 1 s"));
    jp_spec_free(&spec);
    assert_int_equal(run.status, JP_RUN_COMPLETE);
    assert_int_equal(run.ntasks, 1);
    struct jp_bench_task *t = &run.tasks[0];
    assert_int_equal(t->nmodels, 4);
    struct jp_bench_model *small = &t->models[0], *large = &t->models[1], *crash = &t->models[2], *hang = &t->models[3];
    assert_int_equal(small->status, JP_MODEL_OK);
    assert_int_equal(large->status, JP_MODEL_OK);
    assert_int_equal(crash->status, JP_MODEL_FAILED);
    assert_non_null(strstr(crash->error, "signal"));
    assert_non_null(strstr(crash->error, "about to crash")); /* the log's last words */
    /* ... as text: its ANSI sequences and CR shown, not kept as control characters */
    if (!strstr(crash->error, "| about to crash\\x1b[2J\\x1b]0;owned\\x07\\r"))
        fail_msg("error: %s", crash->error);
    assert_null(strpbrk(crash->error, "\x1b\x07\r\n"));
    assert_int_equal(hang->status, JP_MODEL_TIMEOUT);
    assert_int_equal(small->runs, 2);
    assert_int_equal(small->warmups, 1);
    assert_float_equal(small->score, 0.9, 1e-12);
    assert_float_equal(large->score, 0.95, 1e-12);
    assert_int_equal(small->items_scored, 200);
    /* the phases the command printed */
    assert_int_equal(small->nphases, 2);
    assert_string_equal(small->phases[0].name, "load");
    assert_string_equal(small->phases[1].name, "infer");
    /* the energy each phase was given, to the microjoule, and the load's time at least its 250 ms */
    assert_float_equal(small->load_j, LOAD_J, 1e-6);
    assert_float_equal(large->load_j, LOAD_J, 1e-6);
    assert_true(small->load_s >= 0.25);
    assert_float_equal(small->infer_j, 200 * ITEM_J, 1e-6);
    assert_float_equal(large->infer_j, 200 * 2 * ITEM_J, 1e-6);
    assert_float_equal(small->j_per_item, small->infer_j / 200.0, 1e-12);
    assert_float_equal(small->energy_j, LOAD_J + 200 * ITEM_J, 1e-6);
    assert_float_equal(small->energy_j_sd, 0, 1e-6);
    double ratio = large->j_per_item / small->j_per_item;
    print_message("small %.4f J/item (%.2f s), large %.4f J/item (%.2f s): ratio %.2f, saving %.1f%%\n", small->j_per_item,
                  small->infer_s, large->j_per_item, large->infer_s, ratio, small->saving_pct);
    assert_float_equal(ratio, 2.0, 1e-6);
    assert_true(large->is_reference);
    assert_float_equal(large->saving_pct, 0.0, 1e-12);
    assert_float_equal(small->saving_pct, 50.0, 1e-4);
    assert_float_equal(small->score_delta, -0.05, 1e-12);
    assert_true(small->pareto && large->pareto);
    assert_int_equal(t->pick, 1); /* 0.90 is not within 0.01 of 0.95 */
    assert_int_equal(small->rating, 5);
    assert_int_equal(large->rating, 1);
    assert_float_equal(small->proj_kwh, small->j_per_item * 1e6 / 3.6e6, 1e-12);
    assert_true(small->nsamples >= 2); /* the phase mark's sample and the final one, at least */

    /* the failed and the timed-out models are stored with the rest */
    char db_path[4200];
    snprintf(db_path, sizeof db_path, "%s/runs.db", dir);
    jp_store *db;
    assert_int_equal(jp_store_open(&db, db_path, JP_STORE_CREATE), JP_OK);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    struct jp_bench_run back;
    assert_int_equal(jp_store_load(db, run.id, &back), JP_OK);
    jp_store_close(db);
    assert_int_equal(back.tasks[0].nmodels, 4);
    assert_int_equal(back.tasks[0].models[2].status, JP_MODEL_FAILED);
    assert_int_equal(back.tasks[0].models[3].status, JP_MODEL_TIMEOUT);
    assert_float_equal(back.tasks[0].models[0].j_per_item, small->j_per_item, 1e-12);

    /* and the stored run renders in every format, with the figures in it */
    const enum jp_report_format formats[] = {JP_REPORT_TABLE, JP_REPORT_CSV, JP_REPORT_JSON, JP_REPORT_MD, JP_REPORT_HTML};
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        assert_int_equal(jp_report_write(mem, &back, formats[f]), JP_OK);
        fclose(mem);
        if (!strstr(text, "small") || !strstr(text, "large") || !strstr(text, "crash"))
            fail_msg("%s report lacks a model", jp_report_format_name(formats[f]));
        free(text);
    }
    jp_bench_run_clear(&back);
    jp_bench_run_clear(&run);
}

/* What the caller set for itself (the tool's OMP_THREAD_LIMIT for Tesseract, cli/main.c) and names in
 * jp_bench_options.unset_env is not passed on to the commands a benchmark runs; the rest of the
 * environment is, whatever marks the caller keeps (the library reads none). */
static void test_commands_get_the_users_environment(void **state)
{
    (void)state;
    write_items(3);
    char spec_text[8192];
    snprintf(spec_text, sizeof spec_text,
             "repeats: 1\nwarmup: 0\ntasks:\n  - name: env\n    items: items.txt\n    scorer: none\n    models:\n"
             "      - name: sh\n        command: sh -c 'echo \"omp$OMP_THREAD_LIMIT\" > %s/omp.txt'\n",
             dir);
    struct jp_spec spec;
    if (load_spec(spec_text, &spec) != JP_OK) fail_msg("spec: %s", jp_last_error());
    struct jp_bench_options o;
    jp_bench_options_init(&o);
    o.workdir = dir;
    const char *expect[] = {"omp", "omp3"};
    static const char *const tools_own[] = {"OMP_THREAD_LIMIT", NULL};
    setenv("JP_OMP_LIMITED", "1", 1); /* a mark the library does not look at */
    for (int k = 0; k < 2; k++) {
        setenv("OMP_THREAD_LIMIT", k ? "3" : "1", 1);
        o.unset_env = k ? NULL : tools_own; /* k = 1: the user's own */
        struct jp_bench_run run;
        assert_int_equal(jp_bench_run_spec(&spec, &o, &run), JP_OK);
        assert_int_equal(run.tasks[0].models[0].status, JP_MODEL_OK);
        jp_bench_run_clear(&run);
        char path[4200], got[32] = "";
        snprintf(path, sizeof path, "%s/omp.txt", dir);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(fgets(got, sizeof got, f));
        fclose(f);
        got[strcspn(got, "\n")] = '\0';
        assert_string_equal(got, expect[k]);
    }
    unsetenv("OMP_THREAD_LIMIT");
    unsetenv("JP_OMP_LIMITED");
    jp_spec_free(&spec);
    /* the command inherits stdin, stdout and stderr only: no descriptor of the tool's (O_CLOEXEC on
     * every one; the /dev/null for stdin used to leak). ls's own directory descriptor is the 4th. */
    snprintf(spec_text, sizeof spec_text,
             "repeats: 1\nwarmup: 0\ntasks:\n  - name: fds\n    items: items.txt\n    scorer: none\n    models:\n"
             "      - name: sh\n        command: sh -c 'ls -l /proc/self/fd > %s/fds.txt'\n",
             dir);
    if (load_spec(spec_text, &spec) != JP_OK) fail_msg("spec: %s", jp_last_error());
    struct jp_bench_run run;
    assert_int_equal(jp_bench_run_spec(&spec, &o, &run), JP_OK);
    assert_int_equal(run.tasks[0].models[0].status, JP_MODEL_OK);
    jp_bench_run_clear(&run);
    jp_spec_free(&spec);
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/fds.txt", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int nfd = 0;
    while (fgets(line, sizeof line, f)) {
        print_message("%s", line);
        nfd += strstr(line, "->") != NULL;
    }
    fclose(f);
    /* descriptors this test process was itself given without FD_CLOEXEC (by whoever started it) are
     * passed on too; jouleprint's own must not be */
    int inherited = 0;
    for (int fd = 3; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC)) inherited++;
    }
    assert_int_equal(nfd, 4 + inherited);
}

/* The seed's example specs are valid, given the data their prepare.py would write. */
static void test_seed_example_specs_validate(void **state)
{
    (void)state;
    const char *src = getenv("JP_TEST_SRC_DIR");
    assert_non_null(src);
    const char *specs[] = {"image-classification.yaml", "summarization.yaml", "text-to-image.yaml", "ocr.yaml"};
    const char *data[] = {"data/cifar10/items.txt", "data/cifar10/labels.txt", "data/cnn_dailymail/articles.txt",
                          "data/cnn_dailymail/highlights.txt", "data/prompts/prompts.txt", "data/lines/items.txt",
                          "data/lines/text.txt"};
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp '%s'/examples/seed/*.yaml '%s'/examples/seed/*.py '%s'/", src, src, dir);
    assert_int_equal(system(cmd), 0);
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "%s", data[i]);
        char lines[120000];
        size_t off = 0;
        for (int k = 0; k < 10000; k++) off += (size_t)snprintf(lines + off, sizeof lines - off, "x%d\n", k);
        ft_write_bytes(dir, rel, lines, off);
    }
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, specs[i]);
        struct jp_spec spec;
        if (jp_spec_load(path, &spec) != JP_OK) fail_msg("%s: %s", specs[i], jp_last_error());
        assert_true(spec.ntasks == 1 && spec.tasks[0].nmodels >= 2);
        jp_spec_free(&spec);
    }
}

/* ---- the "models" --------------------------------------------------------------------------- */

static void add_energy(double joules)
{
    const char *root = getenv("JP_SYSFS_ROOT");
    char path[4200], text[64] = "";
    snprintf(path, sizeof path, "%s/" COUNTER, root ? root : "");
    FILE *f = fopen(path, "r");
    if (!f || !fgets(text, sizeof text, f)) exit(4);
    fclose(f);
    unsigned long long uj = strtoull(text, NULL, 10) + (unsigned long long)llround(joules * 1e6);
    ft_write(root, COUNTER, "%llu\n", uj);
}

/* How many times the runner's log (this process's stderr) holds `line`. */
static int log_count(const char *line)
{
    FILE *f = fopen("/proc/self/fd/2", "r");
    if (!f) exit(5);
    char buf[512];
    int n = 0;
    while (fgets(buf, sizeof buf, f))
        if (!strncmp(buf, line, strlen(line))) n++;
    fclose(f);
    return n;
}

/* Prints a phase line and waits until the runner has taken it: it logs a phase line after marking
 * the phase, so that energy added from then on falls in the new phase, whatever the scheduling. */
static void mark_phase(const char *name)
{
    char line[64];
    snprintf(line, sizeof line, "JOULEPRINT PHASE %s\n", name);
    int before = log_count(line);
    fputs(line, stdout);
    fflush(stdout);
    for (int i = 0; log_count(line) == before; i++) {
        if (i > 60000) exit(6); /* a minute */
        usleep(1000);
    }
}

static double own_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* The CPU time a model with a neighbour uses before it reports: large beside what its start and exit
 * cost (an ASan build's leak check at exit takes tens of milliseconds), so that the share the runner
 * finds from the process tree's rusage is near a half however busy the machine is. */
#define NEIGHBOUR_OWN_S 0.25

/* With JP_TEST_NEIGHBOUR set: the model works until it has used NEIGHBOUR_OWN_S of CPU time (CPU time,
 * not wall time: the same on a busy machine), then the machine's busy CPU time (the fake <proc>/stat)
 * grows by twice its own, as if a neighbour had used as much CPU as the model while it ran, and none
 * idle. */
static void add_neighbour_cpu(void)
{
    const char *proc = getenv("JP_PROC_ROOT");
    if (!getenv("JP_TEST_NEIGHBOUR") || !proc) return;
    volatile double acc = 0;
    while (own_cpu_seconds() < NEIGHBOUR_OWN_S)
        for (long k = 0; k < 100000; k++) acc += (double)k * 1e-9;
    if (!(acc >= 0)) exit(11); /* used, so that no compiler drops the work (clang: set but not used) */
    double own = own_cpu_seconds();
    char path[4200], text[256] = "";
    snprintf(path, sizeof path, "%s/stat", proc);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(text, sizeof text, f)) exit(7);
    fclose(f);
    unsigned long long user = 0, idle = 0;
    if (sscanf(text, "cpu %llu 0 0 %llu", &user, &idle) != 2) exit(8);
    user += (unsigned long long)llround(2.0 * own * (double)sysconf(_SC_CLK_TCK));
    char dirpath[4200];
    snprintf(dirpath, sizeof dirpath, "%s", proc);
    char *slash = strrchr(dirpath, '/');
    if (!slash) exit(9);
    *slash = '\0';
    ft_write(dirpath, "proc/stat", "cpu  %llu 0 0 %llu 0 0 0 0 0 0\n", user, idle);
}

static int fake_model(int argc, char **argv)
{
    if (argc != 6) return 2;
    const char *mode = argv[2];
    const char *order = getenv("JP_TEST_ORDER");
    if (order) { /* the order the runs came in */
        FILE *o = fopen(order, "a");
        if (!o) return 10;
        fprintf(o, "%s ", mode);
        fclose(o);
    }
    int wrong_every = atoi(argv[3]);
    FILE *in = fopen(argv[4], "r"), *out = fopen(argv[5], "w");
    if (!in || !out) return 3;
    mark_phase("load");
    /* the meter judges a change over the time since the counter last moved: added at once after
     * 250 ms, the load's energy looks like 1 W, not like a glitch */
    usleep(250000);
    add_energy(LOAD_J);
    mark_phase("infer");
    if (!strcmp(mode, "hang")) {
        for (;;) pause();
    }
    char item[64];
    long i = 0, work = atol(mode);
    volatile double acc = 0;
    while (fgets(item, sizeof item, in)) {
        if (!strcmp(mode, "crash") && i == 50) {
            fprintf(stderr, "about to crash\x1b[2J\x1b]0;owned\x07\r\n");
            fflush(out);
            abort();
        }
        for (long k = 0; k < work * 100000; k++) acc += (double)k * 1e-9;
        if (wrong_every && i % wrong_every == wrong_every - 1) fprintf(out, "wrong\n");
        else fprintf(out, "label-%ld\n", i % 10);
        i++;
    }
    /* the inference's energy, at least 5 ms after the meter last saw the counter move (when the
     * runner marked "infer"): at most 0.4 J / 5 ms = 80 W */
    usleep(5000);
    add_neighbour_cpu();
    add_energy(ITEM_J * (double)work * (double)i);
    fclose(in);
    return fclose(out) != 0 || acc < 0;
}

static int setup(void **state)
{
    (void)state;
    dir = ft_mkroot("bench");
    /* one package counter, which the "models" advance (see fake_model) */
    ft_write(dir, "class/powercap/intel-rapl:0/name", "package-0\n");
    ft_write(dir, "class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    ft_write(dir, COUNTER, "1000000\n");
    setenv("JP_SYSFS_ROOT", dir, 1);
    setenv("JP_DEV_ROOT", dir, 1);
    /* the machine's CPU time, which the "models" advance too (see fake_model): never this machine's,
     * whose other work would move every attributed figure */
    ft_write(dir, "proc/stat", "cpu  1000 0 0 100000 0 0 0 0 0 0\n");
    char proc[4200];
    snprintf(proc, sizeof proc, "%s/proc", dir);
    setenv("JP_PROC_ROOT", proc, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_rmroot(dir);
    return 0;
}


/* Runs go round-robin across the models (A B A B A B), each is kept, and with a neighbour using as
 * much CPU as the model the attributed energy is about half the machine's, and the reports say so. */
static void test_round_robin_and_attribution(void **state)
{
    (void)state;
    write_items(100);
    char spec_text[16384], order[4200];
    snprintf(spec_text, sizeof spec_text,
             "repeats: 3\nwarmup: 1\ntimeout: 60s\n"
             "tasks:\n"
             "  - name: labels\n    items: items.txt\n    references: labels.txt\n    time: 100\n    scorer: accuracy\n"
             "    models:\n"
             "      - name: small\n        command: %s --model 1 10 {inputs} {outputs}\n"
             "      - name: large\n        command: %s --model 2 10 {inputs} {outputs}\n",
             self, self);
    snprintf(order, sizeof order, "%s/order.txt", dir);
    setenv("JP_TEST_ORDER", order, 1);
    setenv("JP_TEST_NEIGHBOUR", "1", 1);
    struct jp_spec spec;
    if (load_spec(spec_text, &spec) != JP_OK) fail_msg("spec: %s", jp_last_error());
    struct jp_bench_options o;
    jp_bench_options_init(&o);
    o.workdir = dir;
    o.meter.interval_s = 0.02;
    struct jp_bench_run run;
    int rc = jp_bench_run_spec(&spec, &o, &run);
    unsetenv("JP_TEST_ORDER");
    unsetenv("JP_TEST_NEIGHBOUR");
    jp_spec_free(&spec);
    if (rc != JP_OK) fail_msg("run: %s", jp_last_error());
    FILE *f = fopen(order, "r");
    char got[256] = "";
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof got, f));
    fclose(f);
    /* the warm-ups, then the measured runs in rounds */
    assert_string_equal(got, "1 2 1 2 1 2 1 2 ");
    struct jp_bench_task *t = &run.tasks[0];
    struct jp_bench_model *small = &t->models[0], *large = &t->models[1];
    assert_int_equal(small->status, JP_MODEL_OK);
    assert_int_equal(large->status, JP_MODEL_OK);
    assert_int_equal(small->nrep, 3);
    assert_int_equal(large->nrep, 3);
    double mean = 0;
    for (size_t k = 0; k < 3; k++) {
        /* the machine's energy per item of each run is the fake counter's, exactly */
        assert_float_equal(small->rep_j_per_item[k], ITEM_J, 1e-9);
        assert_float_equal(large->rep_j_per_item[k], 2 * ITEM_J, 1e-9);
        assert_true(small->rep_attr_j_per_item[k] > 0 && small->rep_attr_j_per_item[k] < small->rep_j_per_item[k]);
        mean += small->rep_attr_j_per_item[k] / 3;
    }
    assert_float_equal(small->attr_j_per_item, mean, 1e-12);
    print_message("attributed share: small %.3f (CPU share %.3f, others %.3f), large %.3f\n",
                  small->attr_j_per_item / small->j_per_item, small->cpu_share, small->other_share,
                  large->attr_j_per_item / large->j_per_item);
    /* a neighbour as busy as the model: about half. The model's process tree also used CPU after it
     * reported (its exit; under ASan the leak check), which the fake neighbour did not double: at most
     * a fifth of the 0.25 s more */
    assert_true(small->cpu_share > 0.45 && small->cpu_share < 0.65);
    assert_true(small->attr_j_per_item / small->j_per_item > 0.45 && small->attr_j_per_item / small->j_per_item < 0.65);
    assert_true(small->other_share > JP_BENCH_OTHER_SHARE_WARN);
    /* the comparison is on the attributed figure, with intervals */
    assert_string_equal(t->basis, "attributed");
    assert_float_equal(small->cmp_j_per_item, small->attr_j_per_item, 0);
    assert_true(isfinite(small->cmp_lo) && small->cmp_lo <= small->cmp_j_per_item && small->cmp_hi >= small->cmp_j_per_item);
    assert_true(large->is_reference);
    assert_true(isfinite(small->saving_lo) && small->saving_lo <= small->saving_pct && small->saving_pct <= small->saving_hi);
    /* stored and loaded: every run kept */
    char path[4200];
    snprintf(path, sizeof path, "%s/rr.db", dir);
    jp_store *db;
    assert_int_equal(jp_store_open(&db, path, JP_STORE_CREATE), JP_OK);
    assert_int_equal(jp_store_save(db, &run), JP_OK);
    struct jp_bench_run back;
    assert_int_equal(jp_store_load(db, run.id, &back), JP_OK);
    jp_store_close(db);
    assert_int_equal(back.tasks[0].models[0].nrep, 3);
    for (size_t k = 0; k < 3; k++)
        assert_float_equal(back.tasks[0].models[0].rep_attr_j_per_item[k], small->rep_attr_j_per_item[k], 0);
    assert_string_equal(back.tasks[0].basis, "attributed");
    assert_float_equal(back.tasks[0].models[0].saving_lo, small->saving_lo, 0);
    jp_bench_run_clear(&back);
    /* imported into another store, the runs come along (the import refused the repeats table) */
    char path2[4200];
    snprintf(path2, sizeof path2, "%s/rr2.db", dir);
    assert_int_equal(jp_store_open(&db, path2, JP_STORE_CREATE), JP_OK);
    struct jp_store_import_result ir;
    if (jp_store_import(db, path, &ir) != JP_OK) fail_msg("import: %s", jp_last_error());
    assert_int_equal(ir.imported, 1);
    assert_int_equal(jp_store_load(db, JP_STORE_LATEST, &back), JP_OK);
    jp_store_close(db);
    assert_int_equal(back.tasks[0].models[1].nrep, 3);
    assert_float_equal(back.tasks[0].models[1].rep_attr_j_per_item[2], large->rep_attr_j_per_item[2], 0);
    jp_bench_run_clear(&back);
    jp_bench_run_clear(&run);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--model")) return fake_model(argc, argv);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scorers),
        cmocka_unit_test_setup_teardown(test_spec_errors_name_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_models_and_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_robin_and_attribution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_example_specs_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands_get_the_users_environment, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
