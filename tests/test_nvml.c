/*
 * The nvml source and the meter on a fake NVML (tests/fake_nvml.c, loaded through JP_NVML_LIBRARY)
 * playing back scripted GPUs: an energy counter, a GPU with no counter whose power trace is
 * integrated, GPUs that refuse queries, fail now and then or are lost mid-run, MIG, a counter that
 * resets, a counter that advances in steps; then `jouleprint stat` and `jouleprint sources` as a user
 * runs them. Every figure is checked against the joules the script says were drawn.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "source/source.h"

static char *tmp;           /* scripts and outputs */
static const char *fake;    /* the fake NVML's path */
static double (*scripted)(unsigned index, double t0, double t1);

/* Writes the script (printf-style lines), with the epoch set to now, and points NVML at the fake. */
static double script(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double script(const char *fmt, ...)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/nvml.script", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    double epoch = jp_now();
    fprintf(f, "epoch %.9f\n", epoch);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
    setenv("JP_FAKE_NVML_SCRIPT", path, 1);
    setenv("JP_NVML_LIBRARY", fake, 1);
    return epoch;
}

static jp_meter *open_nvml(double interval)
{
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "nvml";
    cfg.interval_s = interval;
    jp_meter *m = NULL;
    if (jp_meter_open(&m, &cfg) != JP_OK) fail_msg("open: %s", jp_last_error());
    return m;
}

/* Measures for `seconds`; *t1 gets the time the measurement ended (within microseconds). */
static void measure(jp_meter *m, double seconds, double *t1)
{
    assert_int_equal(jp_meter_start(m), JP_OK);
    usleep((useconds_t)(seconds * 1e6));
    assert_int_equal(jp_meter_stop(m), JP_OK);
    *t1 = jp_now();
}

static int find_domain(jp_meter *m, const char *name)
{
    for (size_t i = 0; i < jp_meter_domain_count(m); i++)
        if (!strcmp(jp_meter_domain_name(m, i), name)) return (int)i;
    return -1;
}

static int find_aux(jp_meter *m, const char *name)
{
    for (size_t k = 0; k < jp_meter_aux_count(m); k++)
        if (!strcmp(jp_meter_aux_name(m, k), name)) return (int)k;
    return -1;
}

/* The measured joules of domain `name` against the script's for GPU `index` over the measured span. */
static double check_gpu(jp_meter *m, const char *name, unsigned index, double t1, double rel, const char *what)
{
    int d = find_domain(m, name);
    if (d < 0) fail_msg("%s: no domain %s", what, name);
    double dur = jp_meter_duration(m);
    double want = scripted(index, t1 - dur, t1), got = jp_meter_joules(m, d);
    print_message("%-28s %s: scripted %9.3f J, measured %9.3f J (%+.3f%%) over %.3f s\n", what, name, want, got,
                  100.0 * (got - want) / want, dur);
    if (!(fabs(got - want) <= rel * want)) fail_msg("%s: %s measured %.4f J, scripted %.4f J: off by more than %.1f%%",
                                                   what, name, got, want, rel * 100);
    return got;
}

static void test_energy_counter(void **state)
{
    (void)state;
    script("driver 550.54.15\n"
           "gpu name=\"Fake H100 80GB HBM3\" watts=250 limit_w=700 sample_ms=20 util=87 mem_used_mib=2048\n");
    jp_meter *m = open_nvml(0.01);
    double t1;
    measure(m, 1.0, &t1);
    assert_int_equal(jp_meter_domain_count(m), 1);
    assert_int_equal(jp_meter_domain_kind(m, 0), JP_DOMAIN_GPU);
    assert_true(jp_meter_domain_in_total(m, 0));
    assert_false(jp_meter_domain_estimated(m, 0));
    assert_string_equal(jp_meter_domain_source(m, 0), "nvml");
    double got = check_gpu(m, "gpu-0", 0, t1, 0.01, "energy counter");
    assert_true(fabs(got - 250.0 * jp_meter_duration(m)) < 0.01 * 250.0 * jp_meter_duration(m));
    assert_true(fabs(jp_meter_joules(m, JP_TOTAL) - got) < 1e-9);
    assert_int_equal(jp_meter_glitches(m), 0);
    /* utilization and memory in the timeline */
    int u = find_aux(m, "gpu-0.util_pct"), mem = find_aux(m, "gpu-0.mem_used_mib");
    assert_true(u >= 0 && mem >= 0);
    size_t ns = jp_meter_sample_count(m);
    assert_true(ns > 20);
    assert_float_equal(jp_meter_sample_aux(m, ns / 2, (size_t)u), 87.0, 1e-9);
    assert_float_equal(jp_meter_sample_aux(m, ns - 1, (size_t)mem), 2048.0, 1e-6);
    assert_true(isnan(jp_meter_sample_aux(m, ns, (size_t)u)));
    /* the per-sample power is the board's */
    assert_true(fabs(jp_meter_sample_watts(m, ns / 2, 0) - 250.0) < 250.0 * 0.2);
    jp_meter_close(m);
}

static void test_power_trace_integrated(void **state)
{
    (void)state;
    /* no energy counter: a triangle wave between 60 and 140 W, period 0.5 s */
    script("gpu name=\"Fake T4\" counter=0 trace=0:60,0.25:140,0.5:60 period=0.5 limit_w=70\n");
    jp_meter *m = open_nvml(0.01);
    double t1;
    measure(m, 1.1, &t1);
    check_gpu(m, "gpu-0", 0, t1, 0.01, "power trace integrated");
    /* and the timeline follows the wave */
    double lo = 1e9, hi = 0;
    for (size_t s = 1; s < jp_meter_sample_count(m); s++) {
        double w = jp_meter_sample_watts(m, s, 0);
        if (w < lo) lo = w;
        if (w > hi) hi = w;
    }
    print_message("power trace: per-sample power from %.1f to %.1f W (scripted 60 to 140 W)\n", lo, hi);
    assert_true(lo < 70 && lo > 55 && hi > 130 && hi < 145);
    assert_int_equal(jp_meter_glitches(m), 0);
    jp_meter_close(m);
}

static void test_power_instead_of_the_counter(void **state)
{
    (void)state;
    /* JP_NVML_METHOD=power: the counter is there but power is integrated, to compare the two */
    script("gpu name=\"Fake H100\" trace=0:100,0.3:300,0.6:100 period=0.6\n");
    setenv("JP_NVML_METHOD", "power", 1);
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    struct jp_source src;
    memset(&src, 0, sizeof src);
    src.ops = &jp_source_nvml;
    assert_int_equal(src.ops->open(&src, &env), JP_OK);
    assert_non_null(strstr(src.detail, "gpu-0 Fake H100: sampled power (energy counter: not used, JP_NVML_METHOD=power)"));
    assert_float_equal(src.domains[0].joules_per_unit, 1e-6, 0);
    src.ops->close(&src);
    jp_meter *m = open_nvml(0.01);
    double t1;
    measure(m, 1.2, &t1);
    unsetenv("JP_NVML_METHOD");
    check_gpu(m, "gpu-0", 0, t1, 0.01, "JP_NVML_METHOD=power");
    jp_meter_close(m);
}

static void test_counter_that_resets(void **state)
{
    (void)state;
    /* the driver reloads 0.5 s in: the counter restarts from 0 (it was at 50 kJ) */
    script("gpu name=\"Fake A100\" watts=200 start_j=50000 reset_at=0.5\n");
    jp_meter *m = open_nvml(0.01);
    double t1;
    measure(m, 1.0, &t1);
    check_gpu(m, "gpu-0", 0, t1, 0.01, "counter that resets");
    assert_true(jp_meter_glitches(m) >= 1); /* the reset is seen, and bridged */
    assert_int_equal(jp_meter_wraps(m), 0); /* not taken for a wrap */
    jp_meter_close(m);
}

static void test_counter_in_steps_sampled_fast(void **state)
{
    (void)state;
    /* The driver advances the counter every 50 ms; sampled every 2 ms one sample in 25 sees a
     * step of 20 J, 10 kW over its 2 ms. That is not a glitch: no joule may be lost. */
    script("gpu name=\"Fake L40S\" watts=400 limit_w=350 step_ms=50\n");
    jp_meter *m = open_nvml(0.002);
    double t1;
    measure(m, 1.0, &t1);
    /* the counter only tells the energy to within a step at each end: 2 x 50 ms x 400 W = 40 J */
    int d = find_domain(m, "gpu-0");
    double want = scripted(0, t1 - jp_meter_duration(m), t1), got = jp_meter_joules(m, d);
    print_message("%-28s gpu-0: scripted %9.3f J, measured %9.3f J (the counter steps 20 J at a time)\n",
                  "counter in 50 ms steps", want, got);
    assert_true(fabs(got - want) <= 40.0 + 0.01 * want);
    assert_int_equal(jp_meter_glitches(m), 0);
    jp_meter_close(m);
}

static void test_errors_mig_flaky_and_lost(void **state)
{
    (void)state;
    script("gpu name=\"Good\" watts=100\n"
           "gpu name=\"Locked\" energy_error=NO_PERMISSION power_error=NO_PERMISSION\n"
           "gpu name=\"MIG board\" watts=150 mig=1 util=50\n"
           "gpu name=\"Old\" counter=0 power_error=NOT_SUPPORTED\n"
           "gpu name=\"Flaky\" watts=80 flaky=3\n"
           "gpu name=\"Falls off the bus\" watts=50 lost_at=0.5\n"
           "gpu name=\"Hidden\" handle_error=NO_PERMISSION\n");
    char why[512] = "";
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    assert_int_equal(ft_probe(&jp_source_nvml, &env, why, sizeof why), JP_OK);
    /* the detail says which were skipped and why */
    struct jp_source src;
    memset(&src, 0, sizeof src);
    src.ops = &jp_source_nvml;
    assert_int_equal(src.ops->open(&src, &env), JP_OK);
    char detail[sizeof src.detail];
    memcpy(detail, src.detail, sizeof detail);
    src.ops->close(&src);
    print_message("detail:\n%s\n", detail);
    assert_non_null(strstr(detail, "4 of 7 GPUs measured"));
    assert_non_null(strstr(detail, "\ngpu-2 MIG board: energy counter"));
    assert_non_null(strstr(detail, "MIG on: figures for the whole board"));
    assert_non_null(strstr(detail, "\nGPU 1 (Locked) skipped: energy and power: Insufficient Permissions "
                                   "(NVML_ERROR_NO_PERMISSION)"));
    assert_non_null(strstr(detail, "\nGPU 3 (Old) skipped: energy and power: Not Supported (NVML_ERROR_NOT_SUPPORTED)"));
    assert_non_null(strstr(detail, "\nGPU 6 skipped: Insufficient Permissions"));
    jp_meter *m = open_nvml(0.01);
    /* gpu-1, gpu-3 and gpu-6 refuse: skipped, the others measured */
    assert_int_equal(jp_meter_domain_count(m), 4);
    assert_true(find_domain(m, "gpu-0") >= 0 && find_domain(m, "gpu-2") >= 0 && find_domain(m, "gpu-4") >= 0 &&
                find_domain(m, "gpu-5") >= 0);
    assert_true(find_domain(m, "gpu-1") < 0 && find_domain(m, "gpu-3") < 0 && find_domain(m, "gpu-6") < 0);
    /* MIG: measured, but no utilization (the driver refuses it in MIG mode) */
    assert_true(find_aux(m, "gpu-2.util_pct") < 0);
    assert_true(find_aux(m, "gpu-0.util_pct") >= 0);
    double t1;
    measure(m, 1.0, &t1);
    check_gpu(m, "gpu-0", 0, t1, 0.01, "next to refusing GPUs");
    check_gpu(m, "gpu-2", 2, t1, 0.01, "MIG on");
    check_gpu(m, "gpu-4", 4, t1, 0.01, "every 3rd query fails");
    assert_true(jp_meter_glitches(m) >= 20);
    int lost = find_domain(m, "gpu-5");
    assert_true(jp_meter_domain_gone(m, (size_t)lost));
    /* counted until it was lost (about 0.5 s of 50 W), not after, and not invented */
    double lj = jp_meter_joules(m, lost);
    print_message("%-28s gpu-5: %.3f J before it was lost (at most %.3f J)\n", "lost mid-run", lj, 50.0 * 0.5);
    assert_true(lj > 50.0 * 0.3 && lj <= 50.0 * 0.5 + 0.5);
    jp_meter_close(m);
}

static void test_eight_alike_gpus_one_line(void **state)
{
    (void)state;
    char gpus[4096] = "";
    for (int i = 0; i < 8; i++)
        strcat(gpus, "gpu name=\"NVIDIA H100 80GB HBM3\" watts=300 limit_w=700 sample_ms=20 util=90\n");
    strcat(gpus, "gpu name=\"NVIDIA T4\" counter=0 watts=30 limit_w=70\n");
    script("driver 550.54.15\n%s", gpus);
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    struct jp_source src;
    memset(&src, 0, sizeof src);
    src.ops = &jp_source_nvml;
    assert_int_equal(src.ops->open(&src, &env), JP_OK);
    print_message("detail:\n%s\n", src.detail);
    assert_int_equal(src.ndomains, 9);
    assert_int_equal(src.naux, 18);
    assert_string_equal(src.detail, "NVML, driver 550.54.15: 9 of 9 GPUs measured\n"
                                    "gpu-0..7 NVIDIA H100 80GB HBM3: energy counter; the driver samples power every "
                                    "20 ms; limit 700 W\n"
                                    "gpu-8 NVIDIA T4: sampled power (energy counter: not supported), integrated at "
                                    "every meter sample (--interval); limit 70 W");
    src.ops->close(&src);
}

/* NVIDIA and AMD GPUs in one machine: both number from gpu-0, and the names must stay unique. */
static void test_nvidia_and_amd_names_stay_unique(void **state)
{
    (void)state;
    script("driver 550.54.15\ngpu name=\"Fake L4\" watts=60 limit_w=72\n");
    char *root = ft_mkroot("mixed-gpus");
    ft_write(root, "class/drm/card0/device/vendor", "0x1002\n");
    ft_write(root, "class/drm/card0/device/hwmon/hwmon0/name", "amdgpu\n");
    ft_write(root, "class/drm/card0/device/hwmon/hwmon0/power1_average", "40000000\n");
    setenv("JP_SYSFS_ROOT", root, 1);
    setenv("JP_DEV_ROOT", root, 1);
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.interval_s = 0.02;
    jp_meter *m = NULL;
    if (jp_meter_open(&m, &cfg) != JP_OK) fail_msg("open: %s", jp_last_error());
    double t1;
    measure(m, 0.5, &t1);
    int nv = find_domain(m, "gpu-0"), amd = find_domain(m, "amdgpu-hwmon:gpu-0");
    assert_true(nv >= 0 && amd >= 0);
    assert_string_equal(jp_meter_domain_source(m, (size_t)nv), "nvml");
    assert_string_equal(jp_meter_domain_source(m, (size_t)amd), "amdgpu-hwmon");
    double d = jp_meter_duration(m);
    assert_true(fabs(jp_meter_joules(m, nv) - 60.0 * d) < 0.05 * 60.0 * d);
    assert_true(fabs(jp_meter_joules(m, amd) - 40.0 * d) < 0.05 * 40.0 * d);
    jp_meter_close(m);
    unsetenv("JP_SYSFS_ROOT");
    unsetenv("JP_DEV_ROOT");
    ft_rmroot(root);
}

static void test_no_gpu_says_why(void **state)
{
    (void)state;
    struct jp_source_env env;
    char why[512];
    /* no library */
    setenv("JP_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    assert_int_not_equal(ft_probe(&jp_source_nvml, &env, why, sizeof why), JP_OK);
    assert_non_null(strstr(why, "cannot load JP_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1"));
    /* the default library, absent on this machine or not: the reason names it */
    unsetenv("JP_NVML_LIBRARY");
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    if (ft_probe(&jp_source_nvml, &env, why, sizeof why) != JP_OK) assert_non_null(strstr(why, "libnvidia-ml.so.1"));
    /* the driver is not loaded */
    script("init DRIVER_NOT_LOADED\n");
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    assert_int_not_equal(ft_probe(&jp_source_nvml, &env, why, sizeof why), JP_OK);
    assert_non_null(strstr(why, "kernel driver is not loaded"));
    /* no GPU */
    script("driver 550.54.15\n");
    assert_int_not_equal(ft_probe(&jp_source_nvml, &env, why, sizeof why), JP_OK);
    assert_non_null(strstr(why, "no NVIDIA GPU"));
    /* every GPU refuses */
    script("gpu name=\"K80\" counter=0 power_error=NOT_SUPPORTED\n");
    assert_int_not_equal(ft_probe(&jp_source_nvml, &env, why, sizeof why), JP_OK);
    assert_non_null(strstr(why, "none can be measured"));
    assert_non_null(strstr(why, "K80"));
    /* and the meter, asked for nvml, says so rather than measuring nothing */
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "nvml";
    jp_meter *m = NULL;
    assert_int_equal(jp_meter_open(&m, &cfg), JP_ERR_NOSOURCE);
    assert_non_null(strstr(jp_last_error(), "none can be measured"));
}

/* ---- the tool ---------------------------------------------------------------------------------- */

static int run_cli(const char *outfile, const char *const *args) { return ft_run_cli(outfile, outfile, args); }

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot read", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static json_t *domain_named(json_t *doms, const char *name)
{
    for (size_t i = 0; i < json_array_size(doms); i++) {
        json_t *d = json_array_get(doms, i);
        if (!strcmp(json_string_value(json_object_get(d, "name")), name)) return d;
    }
    fail_msg("no domain %s in the JSON", name);
    return NULL;
}

static void test_stat_reports_scripted_joules(void **state)
{
    (void)state;
    /* no CPU counter (empty /sys and /dev): the model stands in for the CPU, the GPUs are measured */
    char *empty = ft_mkroot("nvml-empty");
    setenv("JP_SYSFS_ROOT", empty, 1);
    setenv("JP_DEV_ROOT", empty, 1);
    script("gpu name=\"Fake H100\" watts=250 limit_w=700\n"
           "gpu name=\"Fake T4\" counter=0 watts=70 limit_w=70\n"
           "gpu name=\"Locked\" energy_error=NO_PERMISSION power_error=NO_PERMISSION\n");
    char js[4200];
    snprintf(js, sizeof js, "%s/stat.json", tmp);
    const char *args[] = {"stat", "--json", "-o", js, "--", "sleep", "0.6", NULL};
    double t0 = jp_now();
    assert_int_equal(run_cli(NULL, args), 0);
    double t1 = jp_now();
    json_error_t err;
    json_t *j = json_load_file(js, 0, &err);
    if (!j) fail_msg("%s: %s", js, err.text);
    double dur = json_number_value(json_object_get(j, "duration_s"));
    assert_true(dur > 0.55 && dur < t1 - t0);
    json_t *doms = json_object_get(j, "domains");
    json_t *g0 = domain_named(doms, "gpu-0"), *g1 = domain_named(doms, "gpu-1");
    double j0 = json_number_value(json_object_get(g0, "joules")), j1 = json_number_value(json_object_get(g1, "joules"));
    print_message("%-28s gpu-0: scripted %9.3f J, measured %9.3f J (counter)\n", "jouleprint stat", 250.0 * dur, j0);
    print_message("%-28s gpu-1: scripted %9.3f J, measured %9.3f J (power integrated)\n", "jouleprint stat",
                  70.0 * dur, j1);
    assert_true(fabs(j0 - 250.0 * dur) <= 0.01 * 250.0 * dur);
    assert_true(fabs(j1 - 70.0 * dur) <= 0.01 * 70.0 * dur);
    assert_string_equal(json_string_value(json_object_get(g0, "source")), "nvml");
    assert_string_equal(json_string_value(json_object_get(g0, "kind")), "gpu");
    assert_true(json_is_false(json_object_get(g0, "estimated")));
    assert_true(json_is_true(json_object_get(g0, "in_total")));
    /* the model stands in for the CPU; the total adds the GPUs to it */
    json_t *cpu = domain_named(doms, "cpu-model");
    double cj = json_number_value(json_object_get(cpu, "joules"));
    double ram = json_number_value(json_object_get(domain_named(doms, "ram-model"), "joules"));
    double total = json_number_value(json_object_get(j, "energy_j"));
    assert_true(fabs(total - (j0 + j1 + cj + ram)) < 1e-6 * total);
    assert_true(json_is_true(json_object_get(j, "estimated"))); /* the CPU part is */
    assert_int_equal(json_array_size(doms), 4);                  /* the locked GPU is not a domain */
    json_decref(j);

    /* the human report lists the GPUs */
    char out[4200];
    snprintf(out, sizeof out, "%s/stat.txt", tmp);
    const char *hargs[] = {"stat", "--", "sleep", "0.2", NULL};
    assert_int_equal(run_cli(out, hargs), 0);
    const char *txt = slurp(out);
    assert_non_null(strstr(txt, "gpu-0        nvml"));
    assert_non_null(strstr(txt, "gpu-1        nvml"));
    ft_rmroot(empty);
    unsetenv("JP_SYSFS_ROOT");
    unsetenv("JP_DEV_ROOT");
}

static void test_sources_lists_each_gpu(void **state)
{
    (void)state;
    script("driver 550.54.15\n"
           "gpu name=\"Fake H100 80GB HBM3\" watts=250 limit_w=700 sample_ms=20\n"
           "gpu name=\"Fake T4\" counter=0 watts=30 limit_w=70\n"
           "gpu name=\"Locked\" energy_error=NO_PERMISSION power_error=NO_PERMISSION\n");
    char out[4200];
    snprintf(out, sizeof out, "%s/sources.txt", tmp);
    const char *args[] = {"sources", NULL};
    assert_int_equal(run_cli(out, args), 0);
    const char *txt = slurp(out);
    print_message("%s", txt);
    assert_non_null(strstr(txt, "nvml           yes      NVML, driver 550.54.15: 2 of 3 GPUs measured\n"));
    assert_non_null(strstr(txt, "\n                         gpu-0 Fake H100 80GB HBM3: energy counter; the driver "
                                "samples power every 20 ms; limit 700 W\n"));
    assert_non_null(strstr(txt, "\n                         gpu-1 Fake T4: sampled power (energy counter: not "
                                "supported), integrated at every meter sample (--interval); limit 70 W\n"));
    assert_non_null(strstr(txt, "\n                         GPU 2 (Locked) skipped: energy and power: Insufficient "
                                "Permissions (NVML_ERROR_NO_PERMISSION)\n"));
    /* JSON: the same detail */
    snprintf(out, sizeof out, "%s/sources.json", tmp);
    const char *jargs[] = {"sources", "--json", NULL};
    assert_int_equal(run_cli(out, jargs), 0);
    json_error_t err;
    json_t *j = json_load_file(out, 0, &err);
    assert_non_null(j);
    bool found = false;
    for (size_t i = 0; i < json_array_size(j); i++) {
        json_t *s = json_array_get(j, i);
        if (strcmp(json_string_value(json_object_get(s, "name")), "nvml") != 0) continue;
        found = true;
        assert_true(json_is_true(json_object_get(s, "usable")));
        assert_non_null(strstr(json_string_value(json_object_get(s, "detail")), "gpu-1 Fake T4: sampled power"));
    }
    assert_true(found);
    json_decref(j);
}

static int setup(void **state)
{
    (void)state;
    fake = getenv("JP_TEST_FAKE_NVML");
    if (!fake) {
        fprintf(stderr, "JP_TEST_FAKE_NVML is not set (run under ctest)\n");
        return -1;
    }
    void *h = dlopen(fake, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s: %s\n", fake, dlerror());
        return -1;
    }
    void *f = dlsym(h, "fake_nvml_scripted_joules");
    memcpy(&scripted, &f, sizeof scripted);
    if (!scripted) return -1;
    tmp = ft_mkroot("nvml");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_rmroot(tmp);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_energy_counter),
        cmocka_unit_test(test_power_trace_integrated),
        cmocka_unit_test(test_power_instead_of_the_counter),
        cmocka_unit_test(test_counter_that_resets),
        cmocka_unit_test(test_counter_in_steps_sampled_fast),
        cmocka_unit_test(test_errors_mig_flaky_and_lost),
        cmocka_unit_test(test_eight_alike_gpus_one_line),
        cmocka_unit_test(test_nvidia_and_amd_names_stay_unique),
        cmocka_unit_test(test_no_gpu_says_why),
        cmocka_unit_test(test_stat_reports_scripted_joules),
        cmocka_unit_test(test_sources_lists_each_gpu),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
