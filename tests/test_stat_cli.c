/*
 * The jouleprint tool end to end: `stat`, `record` and `sources` as a user runs them, on the power
 * model (as on machines with no counters) and on a fake powercap tree; figures checked, not just
 * exit codes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "util.h"
#include "proc.h"
#include "source/model_power.h"

static const char *cli;
static char self[4096];
static char *empty_root; /* no counters: the model path, even on a machine that has RAPL */
static char tmpdir[4096];

/* Runs jouleprint with args; stderr to errfile (if not NULL), stdout nowhere. */
static int run_cli(const char *errfile, const char *const *args) { return ft_run_cli(NULL, errfile, args); }

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot read", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) fail_msg("%s: not JSON: %s (line %d)", path, err.text, err.line);
    return j;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("JSON key %s: missing or not a number", key);
    return json_number_value(v);
}

static void path_in_tmp(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmpdir, name); }

/* ---- the model path ------------------------------------------------------------------------------ */

static double stat_spin(long iterations, json_t **out)
{
    char js[4200], it[32];
    path_in_tmp(js, sizeof js, "spin.json");
    snprintf(it, sizeof it, "%ld", iterations);
    const char *args[] = {"stat", "--json", "-o", js, "--", self, "--spin", it, NULL};
    assert_int_equal(run_cli(NULL, args), 0);
    json_t *j = load_json(js);
    double e = num(j, "energy_j");
    if (out) *out = j;
    else json_decref(j);
    return e;
}

static void test_model_energy_grows_with_work(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    setenv("JP_DEV_ROOT", empty_root, 1);
    /* calibrate the loop to ~0.4 s, then twice that */
    long n = 20000000;
    json_t *j;
    for (;;) {
        stat_spin(n, &j);
        double d = num(j, "duration_s");
        json_decref(j);
        if (d > 0.3) break;
        n *= 2;
    }
    double e1 = stat_spin(n, &j);
    /* the JSON contract */
    assert_true(json_is_true(json_object_get(j, "estimated")));
    assert_string_equal(json_string_value(json_object_get(j, "region")), "world");
    assert_int_equal(num(j, "exit_status"), 0);
    assert_int_equal(num(j, "runs"), 1);
    json_t *doms = json_object_get(j, "domains");
    assert_true(json_array_size(doms) >= 1);
    for (size_t i = 0; i < json_array_size(doms); i++) {
        json_t *d = json_array_get(doms, i);
        assert_non_null(json_string_value(json_object_get(d, "name")));
        assert_string_equal(json_string_value(json_object_get(d, "source")), "model");
        assert_true(json_is_true(json_object_get(d, "estimated")));
        assert_true(json_is_number(json_object_get(d, "joules")));
    }
    /* carbon = energy x world intensity */
    assert_float_equal(num(j, "carbon_g"), e1 / 3.6e6 * num(j, "intensity_g_per_kwh"), 1e-9);
    json_t *model = json_object_get(j, "model");
    assert_true(json_is_object(model));
    assert_true(strlen(json_string_value(json_object_get(model, "basis"))) > 10);
    json_t *attr = json_object_get(j, "attribution");
    assert_true(json_is_object(attr));
    assert_true(num(attr, "tree_cpu_s") > 0.2); /* the spin really ran */
    json_decref(j);
    double e2 = stat_spin(2 * n, NULL);
    double ratio = e2 / e1;
    print_message("model: %ld iterations %.3f J, twice %.3f J, ratio %.2f\n", n, e1, e2, ratio);
    assert_true(ratio > 1.6 && ratio < 2.4);
}

static void test_model_sleep_stays_near_idle(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    setenv("JP_DEV_ROOT", empty_root, 1);
    char js[4200];
    path_in_tmp(js, sizeof js, "sleep.json");
    /* the model estimates the whole machine: read its utilization over the same span, so that
     * the check holds on a busy machine too */
    jp_roots roots;
    assert_int_equal(jp_roots_from_env(&roots), JP_OK);
    struct jp_cpu_times c0, c1;
    assert_int_equal(jp_proc_cpu_times(&roots, &c0), JP_OK);
    const char *args[] = {"stat", "--json", "-o", js, "--", "sleep", "0.5", NULL};
    assert_int_equal(run_cli(NULL, args), 0);
    assert_int_equal(jp_proc_cpu_times(&roots, &c1), JP_OK);
    double u = c1.total > c0.total ? (double)(c1.busy - c0.busy) / (double)(c1.total - c0.total) : 0;
    json_t *j = load_json(js);
    json_t *model = json_object_get(j, "model");
    jp_model_params p;
    jp_model_params_init(&p);
    p.cpu_idle_w = num(model, "cpu_idle_w");
    p.cpu_max_w = num(model, "cpu_max_w");
    p.curve = num(model, "curve");
    p.ram_w_per_gb = num(model, "ram_w_per_gb");
    p.ram_gb = num(model, "ram_gb");
    double idle = jp_model_cpu_watts(&p, 0) + jp_model_ram_watts(&p);
    double expect = jp_model_cpu_watts(&p, u) + jp_model_ram_watts(&p);
    double w = num(j, "mean_power_w");
    print_message("sleep: %.2f W; model at the machine's %.1f%% utilization %.2f W; idle %.2f W\n", w, u * 100,
                  expect, idle);
    assert_true(fabs(w - expect) < 0.15 * expect);
    if (u < 0.05) assert_true(fabs(w - idle) < 0.1 * idle); /* a quiet machine: near idle */
    /* sleep itself used next to no CPU */
    assert_true(num(json_object_get(j, "attribution"), "tree_cpu_s") < 0.05);
    json_decref(j);
}

/* ---- a fake powercap tree advancing at a known power ----------------------------------------- */

/* a real-size range, so that the meter keeps the asked interval (wrapping: see test_powercap) */
#define BIG_RANGE 262143328850ULL

struct writer {
    char *root;
    volatile int stop;
    pthread_t th;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    double t0 = jp_now();
    while (!w->stop) {
        double t = jp_now() - t0;
        ft_write(w->root, "class/powercap/intel-rapl:0/energy_uj", "%llu\n",
                 (unsigned long long)((uint64_t)(30.0 * t * 1e6) % BIG_RANGE));
        ft_write(w->root, "class/powercap/intel-rapl:0:0/energy_uj", "%llu\n",
                 (unsigned long long)((uint64_t)(6.0 * t * 1e6) % BIG_RANGE));
        usleep(2000);
    }
    return NULL;
}

static void start_fake_powercap(struct writer *w)
{
    w->root = ft_mkroot("cli-powercap");
    ft_write(w->root, "class/powercap/intel-rapl:0/name", "package-0\n");
    ft_write(w->root, "class/powercap/intel-rapl:0/max_energy_range_uj", "%llu\n", BIG_RANGE);
    ft_write(w->root, "class/powercap/intel-rapl:0/energy_uj", "0\n");
    ft_write(w->root, "class/powercap/intel-rapl:0:0/name", "dram\n");
    ft_write(w->root, "class/powercap/intel-rapl:0:0/max_energy_range_uj", "%llu\n", BIG_RANGE);
    ft_write(w->root, "class/powercap/intel-rapl:0:0/energy_uj", "0\n");
    w->stop = 0;
    assert_int_equal(pthread_create(&w->th, NULL, writer_main, w), 0);
    setenv("JP_SYSFS_ROOT", w->root, 1);
}

static void stop_fake_powercap(struct writer *w)
{
    w->stop = 1;
    pthread_join(w->th, NULL);
    ft_rmroot(w->root);
}

static void test_stat_on_fake_powercap(void **state)
{
    (void)state;
    struct writer w;
    start_fake_powercap(&w);
    char js[4200];
    path_in_tmp(js, sizeof js, "powercap.json");
    const char *args[] = {"stat", "-r", "2", "--json", "-o", js, "--", "sleep", "0.6", NULL};
    assert_int_equal(run_cli(NULL, args), 0);
    stop_fake_powercap(&w);
    json_t *j = load_json(js);
    double e = num(j, "energy_j"), d = num(j, "duration_s");
    print_message("fake powercap: %.3f J over %.3f s = %.2f W (expected 36 W)\n", e, d, e / d);
    assert_true(fabs(e - 36.0 * d) < 0.05 * 36.0 * d);
    assert_false(json_is_true(json_object_get(j, "estimated")));
    assert_int_equal(num(j, "runs"), 2);
    assert_int_equal(json_array_size(json_object_get(j, "samples")), 2);
    json_t *doms = json_object_get(j, "domains");
    assert_int_equal(json_array_size(doms), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(doms, 0), "source")), "rapl-powercap");
    assert_true(json_is_null(json_object_get(j, "model")));
    json_decref(j);
}

static void test_record_timeline(void **state)
{
    (void)state;
    struct writer w;
    start_fake_powercap(&w);
    char csv[4200];
    path_in_tmp(csv, sizeof csv, "timeline.csv");
    const char *args[] = {"record", "--interval", "50ms", "-o", csv, "--", "sleep", "0.5", NULL};
    assert_int_equal(run_cli(NULL, args), 0);
    stop_fake_powercap(&w);
    char *text = slurp(csv);
    assert_true(strncmp(text, "t_s,phase,total_w,package-0_w,dram-0_w\n", 39) == 0);
    int rows = 0;
    double last_t = 0, energy = 0;
    for (char *line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        double t, total;
        char phase[32];
        assert_int_equal(sscanf(line, "%lf,%31[^,],%lf", &t, phase, &total), 3);
        energy += total * (t - last_t);
        last_t = t;
        rows++;
        if (!strchr(line, '\n')) break;
    }
    print_message("record: %d rows, %.2f J integrated over %.2f s\n", rows, energy, last_t);
    assert_true(rows >= 8 && rows <= 14);
    assert_true(fabs(energy - 36.0 * last_t) < 0.05 * 36.0 * last_t);
}

/* ---- errors and exit status ------------------------------------------------------------------- */

static void test_exit_status_and_errors(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    char err[4200];
    path_in_tmp(err, sizeof err, "stderr.txt");
    const char *exit7[] = {"stat", "--", "sh", "-c", "exit 7", NULL};
    assert_int_equal(run_cli(err, exit7), 7);
    assert_non_null(strstr(slurp(err), "exited with status 7"));

    const char *missing[] = {"stat", "--", "/nonexistent/command", NULL};
    assert_int_equal(run_cli(err, missing), 127);
    assert_non_null(strstr(slurp(err), "cannot run '/nonexistent/command'"));

    const char *nounit[] = {"stat", "--interval", "5", "--", "true", NULL};
    assert_int_equal(run_cli(err, nounit), 2);
    assert_non_null(strstr(slurp(err), "unit"));

    const char *zero[] = {"stat", "-r", "0", "--", "true", NULL};
    assert_int_equal(run_cli(err, zero), 2);

    const char *nocmd[] = {"stat", "--json", NULL};
    assert_int_equal(run_cli(err, nocmd), 2);
    assert_non_null(strstr(slurp(err), "no command"));

    const char *badsrc[] = {"stat", "--source", "rapl-powercap", "--", "true", NULL};
    assert_int_equal(run_cli(err, badsrc), 1);
    assert_non_null(strstr(slurp(err), "powercap"));

    setenv("JP_PROC_ROOT", "/nonexistent", 1);
    const char *badroot[] = {"sources", NULL};
    assert_int_equal(run_cli(err, badroot), 1);
    assert_non_null(strstr(slurp(err), "JP_PROC_ROOT=/nonexistent: expected an existing directory"));
    unsetenv("JP_PROC_ROOT");
}

static void test_csv_and_human_output(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    char out[4200], err[4200];
    path_in_tmp(out, sizeof out, "runs.csv");
    path_in_tmp(err, sizeof err, "human.txt");
    const char *csv[] = {"stat", "-r", "2", "--csv", "-o", out, "--", "true", NULL};
    assert_int_equal(run_cli(NULL, csv), 0);
    char *text = slurp(out);
    assert_true(strncmp(text, "run,energy_j,duration_s,mean_power_w,peak_power_w,carbon_g,region,exit_status,estimated", 85) == 0);
    assert_non_null(strstr(text, "\n1,"));
    assert_non_null(strstr(text, "\n2,"));
    assert_null(strstr(text, "\n3,"));
    const char *human[] = {"stat", "--", "true", NULL};
    assert_int_equal(run_cli(err, human), 0);
    text = slurp(err);
    assert_non_null(strstr(text, "cpu-model"));
    assert_non_null(strstr(text, "ESTIMATED"));
    assert_non_null(strstr(text, "CO2e"));
}

static void test_sources_explains(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    setenv("JP_DEV_ROOT", empty_root, 1);
    char out[4200];
    path_in_tmp(out, sizeof out, "sources.json");
    /* stdout goes to /dev/null in run_cli: use a shell redirect instead */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' sources --json > '%s'", cli, out);
    assert_int_equal(system(cmd), 0);
    json_t *j = load_json(out);
    assert_true(json_array_size(j) >= 4);
    const char *order[] = {"rapl-powercap", "rapl-msr", "rapl-perf"};
    for (size_t i = 0; i < 3; i++) {
        json_t *s = json_array_get(j, i);
        assert_string_equal(json_string_value(json_object_get(s, "name")), order[i]);
        assert_false(json_is_true(json_object_get(s, "usable")));
        assert_true(strlen(json_string_value(json_object_get(s, "detail"))) > 20); /* says why */
    }
    json_decref(j);
}

static int setup(void **state)
{
    (void)state;
    cli = getenv("JP_CLI");
    if (!cli) {
        fprintf(stderr, "JP_CLI is not set: run under ctest\n");
        return -1;
    }
    empty_root = ft_mkroot("empty");
    char *t = ft_mkroot("cli");
    snprintf(tmpdir, sizeof tmpdir, "%s", t);
    free(t);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_rmroot(empty_root);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--spin")) {
        /* the CPU-bound workload the tests measure */
        volatile double acc = 0;
        long n = atol(argv[2]);
        for (long i = 0; i < n; i++) acc += (double)i * 1e-9;
        return acc < 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_energy_grows_with_work),
        cmocka_unit_test(test_model_sleep_stays_near_idle),
        cmocka_unit_test(test_stat_on_fake_powercap),
        cmocka_unit_test(test_record_timeline),
        cmocka_unit_test(test_exit_status_and_errors),
        cmocka_unit_test(test_csv_and_human_output),
        cmocka_unit_test(test_sources_explains),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
