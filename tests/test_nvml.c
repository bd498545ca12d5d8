/*
 * The nvml source and the meter on a fake NVML (tests/fake_nvml.c, loaded through JP_NVML_LIBRARY)
 * playing back scripted GPUs: an energy counter, a GPU with no counter whose power trace is
 * integrated, GPUs that refuse queries, fail now and then or are lost mid-run, MIG, a counter that
 * resets, a counter that advances in steps; then `jouleprint stat` and `jouleprint sources` as a user
 * runs them. Every figure is checked against the joules the script says were drawn.
 *
 * The GPUs live in the test's own time (the script's `clock` file), not the machine's: the test
 * moves it in steps of H seconds, each seen by a sample of the meter before the next, so what the
 * meter must report is known exactly whatever the machine's load. A power the driver only reports
 * as watts is integrated on the meter's clock (real time): there the test checks that each
 * sample's power is the trapezoid of two powers the script gave, and that the samples add up to the
 * joules reported.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "source/source.h"

static char *tmp;           /* scripts and outputs */
static char clock_path[4200]; /* the GPUs' time, in seconds since the script's epoch */
static const char *fake;    /* the fake NVML's path */
static double (*scripted)(unsigned index, double t0, double t1);
static double epoch; /* the script's, on CLOCK_MONOTONIC */

#define H 0.01 /* seconds of the GPUs' time per step */

/* Sets the GPUs' time (whole file replaced at once: the fake never reads half a number). */
static void set_clock(double t)
{
    char part[4300];
    snprintf(part, sizeof part, "%s.part", clock_path);
    FILE *f = fopen(part, "w");
    assert_non_null(f);
    fprintf(f, "%.9f\n", t);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(part, clock_path), 0);
}

/* Writes the script (printf-style lines), with the epoch set to now and the GPUs' time at 0 (the
 * test's clock file), and points NVML at the fake. */
static double script(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double script(const char *fmt, ...)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/nvml.script", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    epoch = jp_now();
    fprintf(f, "epoch %.9f\nclock %s\n", epoch, clock_path);
    set_clock(0);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
    setenv("JP_FAKE_NVML_SCRIPT", path, 1);
    setenv("JP_NVML_LIBRARY", fake, 1);
    return epoch;
}

/* The meter a test has open: closed by the teardown when a failed assertion left the test before
 * its own jp_meter_close, so that the fake NVML is shut down and the next test's script is read. */
static jp_meter *live;

static void close_meter(jp_meter *m)
{
    jp_meter_close(m);
    if (m == live) live = NULL;
}

static int close_live(void **state)
{
    (void)state;
    if (live) jp_meter_close(live);
    live = NULL;
    unsetenv("JP_NVML_METHOD");
    unsetenv("JP_SYSFS_ROOT");
    unsetenv("JP_DEV_ROOT");
    return 0;
}

static jp_meter *open_nvml(double interval)
{
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "nvml";
    cfg.interval_s = interval;
    jp_meter *m = NULL;
    if (jp_meter_open(&m, &cfg) != JP_OK) fail_msg("open: %s", jp_last_error());
    live = m;
    return m;
}

/* Waits until the meter has finished a sample that began after this call. */
static void wait_sample(jp_meter *m)
{
    uint64_t n = jp_meter_samples_taken(m);
    double deadline = jp_now() + 60;
    while (jp_meter_samples_taken(m) <= n + 1) {
        if (jp_now() > deadline) fail_msg("the meter took no sample in 60 s");
        usleep(200);
    }
}

/* Measures `steps` steps of the GPUs' time from 0 to steps x H. Each step is written after a sample
 * that read the time before it, and 2 ms later, so that no step can look faster than its energy
 * over 2 ms to the meter's glitch check; the last one is read by a sample and by the stop. */
static void measure(jp_meter *m, int steps)
{
    set_clock(0);
    assert_int_equal(jp_meter_start(m), JP_OK);
    for (int k = 1; k <= steps; k++) {
        wait_sample(m);
        usleep(2000);
        set_clock(k * H);
    }
    wait_sample(m);
    assert_int_equal(jp_meter_stop(m), JP_OK);
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

/* The energy of sample s of domain d in the timeline: its power times its interval. */
static double sample_joules(jp_meter *m, size_t s, int d)
{
    double t0 = s ? jp_meter_sample_time(m, s - 1) : 0;
    return jp_meter_sample_watts(m, s, d) * (jp_meter_sample_time(m, s) - t0);
}

/* The timeline's samples of domain d add up to its joules (to a microjoule a sample). */
static void check_timeline_adds_up(jp_meter *m, int d, const char *what)
{
    double sum = 0;
    size_t ns = jp_meter_sample_count(m);
    for (size_t s = 0; s < ns; s++) sum += sample_joules(m, s, d);
    if (!(fabs(sum - jp_meter_joules(m, d)) <= 1e-6 * (double)ns + 1e-9 * sum))
        fail_msg("%s: the timeline's %zu samples add up to %.6f J, the meter reports %.6f J", what, ns, sum,
                 jp_meter_joules(m, d));
}

/* A counter GPU's measured joules against the script's over the test's time 0 .. steps x H: exact
 * but for the counter's millijoule at each end. */
static double check_gpu(jp_meter *m, const char *name, unsigned index, int steps, const char *what)
{
    int d = find_domain(m, name);
    if (d < 0) fail_msg("%s: no domain %s", what, name);
    double want = scripted(index, epoch, epoch + steps * H), got = jp_meter_joules(m, d);
    print_message("%-28s %s: scripted %9.3f J, measured %9.3f J over %.2f s of its time\n", what, name, want, got,
                  steps * H);
    if (!(fabs(got - want) <= 0.002 + 1e-9 * want))
        fail_msg("%s: %s measured %.4f J, scripted %.4f J", what, name, got, want);
    check_timeline_adds_up(m, d, what);
    return got;
}

/* A GPU whose power is integrated: every sample's power must be the trapezoid of the powers the
 * script gives at the test's time before and after it (the same time when no step came between),
 * going through the steps in order, and the samples add up to the joules reported. */
static void check_integrated(jp_meter *m, const char *name, double (*power)(double t), int steps, const char *what)
{
    int d = find_domain(m, name);
    if (d < 0) fail_msg("%s: no domain %s", what, name);
    int k = 0;
    size_t ns = jp_meter_sample_count(m);
    for (size_t s = 0; s < ns; s++) {
        double w = jp_meter_sample_watts(m, s, d), dt = jp_meter_sample_time(m, s) - (s ? jp_meter_sample_time(m, s - 1) : 0);
        double tol = 2e-6 / dt + 1e-3; /* the counter holds whole microjoules, NVML whole milliwatts */
        double same = power(k * H), next = 0.5 * (power(k * H) + power((k + 1) * H));
        if (fabs(w - same) <= tol) continue;
        if (k < steps && fabs(w - next) <= tol) {
            k++;
            continue;
        }
        fail_msg("%s: sample %zu of %s: %.4f W, expected %.4f W (no step) or %.4f W (step %d)", what, s, name, w,
                 same, next, k + 1);
    }
    if (k != steps) fail_msg("%s: the samples of %s went through %d steps of the test's time, not %d", what, name, k, steps);
    check_timeline_adds_up(m, d, what);
    print_message("%-28s %s: %zu samples, each the trapezoid of the scripted powers; %.3f J in %.3f s\n", what, name,
                  ns, jp_meter_joules(m, d), jp_meter_duration(m));
}

static void test_energy_counter(void **state)
{
    (void)state;
    script("driver 550.54.15\n"
           "gpu name=\"Fake H100 80GB HBM3\" watts=250 limit_w=700 sample_ms=20 util=87 mem_used_mib=2048\n");
    jp_meter *m = open_nvml(0.01);
    const int n = 100;
    measure(m, n);
    assert_int_equal(jp_meter_domain_count(m), 1);
    assert_int_equal(jp_meter_domain_kind(m, 0), JP_DOMAIN_GPU);
    assert_true(jp_meter_domain_in_total(m, 0));
    assert_false(jp_meter_domain_estimated(m, 0));
    assert_string_equal(jp_meter_domain_source(m, 0), "nvml");
    double got = check_gpu(m, "gpu-0", 0, n, "energy counter");
    assert_true(fabs(got - 250.0 * n * H) <= 0.002); /* the script's own arithmetic, checked once by hand */
    assert_true(fabs(jp_meter_joules(m, JP_TOTAL) - got) < 1e-9);
    assert_int_equal(jp_meter_glitches(m), 0);
    /* utilization and memory in the timeline: every sample has them */
    int u = find_aux(m, "gpu-0.util_pct"), mem = find_aux(m, "gpu-0.mem_used_mib");
    assert_true(u >= 0 && mem >= 0);
    size_t ns = jp_meter_sample_count(m);
    assert_true(ns >= (size_t)n + 1); /* at least one sample a step */
    for (size_t s = 0; s < ns; s++) {
        assert_float_equal(jp_meter_sample_aux(m, s, (size_t)u), 87.0, 1e-9);
        assert_float_equal(jp_meter_sample_aux(m, s, (size_t)mem), 2048.0, 1e-6);
    }
    assert_true(isnan(jp_meter_sample_aux(m, ns, (size_t)u)));
    close_meter(m);
}

/* The scripted powers of the two traces below, at the test's time t. */
static double triangle_60_140(double t)
{
    t = fmod(t, 0.5);
    return t <= 0.25 ? 60.0 + 320.0 * t : 140.0 - 320.0 * (t - 0.25);
}

static double triangle_100_300(double t)
{
    t = fmod(t, 0.6);
    return t <= 0.3 ? 100.0 + 200.0 / 0.3 * t : 300.0 - 200.0 / 0.3 * (t - 0.3);
}

static void test_power_trace_integrated(void **state)
{
    (void)state;
    /* no energy counter: a triangle wave between 60 and 140 W, period 0.5 s */
    script("gpu name=\"Fake T4\" counter=0 trace=0:60,0.25:140,0.5:60 period=0.5 limit_w=70\n");
    jp_meter *m = open_nvml(0.01);
    const int n = 110;
    measure(m, n);
    check_integrated(m, "gpu-0", triangle_60_140, n, "power trace integrated");
    /* and the timeline follows the wave: its samples reach within one step of both ends */
    double lo = 1e9, hi = 0, tol = 0;
    for (size_t s = 0; s < jp_meter_sample_count(m); s++) {
        double w = jp_meter_sample_watts(m, s, 0);
        double dt = jp_meter_sample_time(m, s) - (s ? jp_meter_sample_time(m, s - 1) : 0);
        /* a sample's power is its whole microjoules over its interval: short intervals (a sampler
         * catching up on a busy machine) make it coarser, as in check_integrated */
        double t = 2e-6 / dt + 1e-3;
        if (t > tol) tol = t;
        if (w < lo) lo = w;
        if (w > hi) hi = w;
    }
    print_message("power trace: per-sample power from %.4f to %.4f W (scripted 60 to 140 W; to %.4f W)\n", lo, hi, tol);
    assert_true(lo >= 60 - tol && lo <= 60 + 3.2 + tol && hi <= 140 + tol && hi >= 140 - 3.2 - tol);
    assert_int_equal(jp_meter_glitches(m), 0);
    close_meter(m);
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
    const int n = 120;
    measure(m, n);
    unsetenv("JP_NVML_METHOD");
    check_integrated(m, "gpu-0", triangle_100_300, n, "JP_NVML_METHOD=power");
    assert_int_equal(jp_meter_glitches(m), 0);
    close_meter(m);
}

/* A constant power integrated on the meter's clock is that power times the meter's duration, to the
 * microjoule a sample, however the sampler was scheduled around the queries. */
static void test_constant_power_is_power_times_duration(void **state)
{
    (void)state;
    script("gpu name=\"Fake T4\" counter=0 watts=70 limit_w=70\n");
    jp_meter *m = open_nvml(0.01);
    measure(m, 30);
    double d = jp_meter_duration(m), got = jp_meter_joules(m, 0);
    print_message("%-28s gpu-0: %.6f J over %.6f s: %.6f W (scripted 70 W)\n", "constant power integrated", got, d,
                  got / d);
    assert_true(d > 0);
    assert_true(fabs(got - 70.0 * d) <= 1e-6 * (double)(jp_meter_sample_count(m) + 1));
    for (size_t s = 0; s < jp_meter_sample_count(m); s++)
        assert_true(fabs(jp_meter_sample_watts(m, s, 0) - 70.0) <= 2e-6 / (jp_meter_sample_time(m, s) -
                                                                           (s ? jp_meter_sample_time(m, s - 1) : 0)));
    check_timeline_adds_up(m, 0, "constant power integrated");
    close_meter(m);
}

static void test_counter_that_resets(void **state)
{
    (void)state;
    /* the driver reloads 0.5 s in: the counter restarts from 0 (it was at 50 kJ) */
    script("gpu name=\"Fake A100\" watts=200 start_j=50000 reset_at=0.5\n");
    jp_meter *m = open_nvml(0.01);
    const int n = 100;
    measure(m, n);
    assert_true(jp_meter_glitches(m) >= 1); /* the reset is seen, and bridged */
    assert_int_equal(jp_meter_wraps(m), 0); /* not taken for a wrap */
    /* Every step but the one the reset falls in is one sample of exactly 200 W x H; the reset's is
     * bridged by the last good power over that sample's interval (the meter's time, not the
     * test's, so its size is not known here): nothing else is lost or invented. */
    int d = find_domain(m, "gpu-0");
    size_t ns = jp_meter_sample_count(m), whole = 0, other = 0;
    double step_j = 200.0 * H, bridged = 0;
    for (size_t s = 0; s < ns; s++) {
        double e = sample_joules(m, s, d);
        if (fabs(e - step_j) <= 0.002) whole++;
        else if (fabs(e) > 0.002) {
            other++;
            bridged = e;
        }
    }
    double got = jp_meter_joules(m, d);
    print_message("%-28s gpu-0: %zu steps of %.3f J measured, %zu bridged (%.3f J): %.3f J (scripted %.3f J)\n",
                  "counter that resets", whole, step_j, other, bridged, got, scripted(0, epoch, epoch + n * H));
    /* the bridge may happen to be one step's energy, then counted among the whole steps */
    assert_true((whole == (size_t)n - 1 && other == 1 && bridged > 0) || (whole == (size_t)n && other == 0));
    assert_true(fabs(got - (n - 1) * step_j - (other ? bridged : step_j)) <= 0.002 * n);
    check_timeline_adds_up(m, d, "counter that resets");
    close_meter(m);
}

static void test_counter_in_steps_sampled_fast(void **state)
{
    (void)state;
    /* The driver advances the counter every 50 ms; sampled every 2 ms several samples see no change,
     * then one sees a step of 20 J: judged over the time since the counter last moved that is not a
     * glitch, and no joule may be lost. */
    script("gpu name=\"Fake L40S\" watts=400 limit_w=350 step_ms=50\n");
    jp_meter *m = open_nvml(0.002);
    const int n = 100; /* 1 s: the counter's 20 steps, from 0 to exactly 400 J */
    measure(m, n);
    check_gpu(m, "gpu-0", 0, n, "counter in 50 ms steps");
    assert_true(fabs(jp_meter_joules(m, 0) - 400.0) <= 0.002);
    assert_int_equal(jp_meter_glitches(m), 0);
    close_meter(m);
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
    const int n = 100;
    measure(m, n);
    check_gpu(m, "gpu-0", 0, n, "next to refusing GPUs");
    check_gpu(m, "gpu-2", 2, n, "MIG on");
    /* a failed query is covered by the next good one, the last read retried while it fails */
    check_gpu(m, "gpu-4", 4, n, "every 3rd query fails");
    /* the flaky board was queried at the start and at least once a step: a third of them failed */
    assert_true(jp_meter_glitches(m) >= (uint64_t)((n + 2) / 3));
    int lost = find_domain(m, "gpu-5");
    assert_true(jp_meter_domain_gone(m, (size_t)lost));
    /* counted until it was lost: every step before 0.5 s was read, none after, none invented */
    double lj = jp_meter_joules(m, lost);
    print_message("%-28s gpu-5: %.3f J before it was lost (scripted %.3f J)\n", "lost mid-run", lj, 50.0 * (0.5 - H));
    assert_true(fabs(lj - 50.0 * (0.5 - H)) <= 0.002);
    close_meter(m);
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
    live = m;
    const int n = 25;
    measure(m, n);
    int nv = find_domain(m, "gpu-0"), amd = find_domain(m, "amdgpu-hwmon:gpu-0");
    assert_true(nv >= 0 && amd >= 0);
    assert_string_equal(jp_meter_domain_source(m, (size_t)nv), "nvml");
    assert_string_equal(jp_meter_domain_source(m, (size_t)amd), "amdgpu-hwmon");
    /* the NVIDIA board's counter in the test's time; the AMD board's constant 40 W on the meter's */
    check_gpu(m, "gpu-0", 0, n, "NVIDIA beside AMD");
    double d = jp_meter_duration(m);
    assert_true(d > 0);
    assert_true(fabs(jp_meter_joules(m, amd) - 40.0 * d) <= 1e-6 * (double)(jp_meter_sample_count(m) + 1));
    close_meter(m);
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
    /* the measured command moves the GPUs' time 0.6 s on: the start read sees 0, the stop read 0.6 */
    char move[3 * sizeof clock_path + 64];
    snprintf(move, sizeof move, "echo 0.6 > '%s.part' && mv '%s.part' '%s'", clock_path, clock_path, clock_path);
    const char *args[] = {"stat", "--json", "-o", js, "--", "sh", "-c", move, NULL};
    double t0 = jp_now();
    assert_int_equal(run_cli(NULL, args), 0);
    double t1 = jp_now();
    json_error_t err;
    json_t *j = json_load_file(js, 0, &err);
    if (!j) fail_msg("%s: %s", js, err.text);
    double dur = json_number_value(json_object_get(j, "duration_s"));
    assert_true(dur > 0 && dur < t1 - t0);
    json_t *doms = json_object_get(j, "domains");
    json_t *g0 = domain_named(doms, "gpu-0"), *g1 = domain_named(doms, "gpu-1");
    double j0 = json_number_value(json_object_get(g0, "joules")), j1 = json_number_value(json_object_get(g1, "joules"));
    print_message("%-28s gpu-0: scripted %9.3f J, measured %9.3f J (counter, 0.6 s of its time)\n", "jouleprint stat",
                  250.0 * 0.6, j0);
    print_message("%-28s gpu-1: 70 W x %.6f s = %9.6f J, measured %9.6f J (power integrated)\n", "jouleprint stat",
                  dur, 70.0 * dur, j1);
    assert_true(fabs(j0 - 250.0 * 0.6) <= 0.002);
    assert_true(fabs(j1 - 70.0 * dur) <= 1e-4 + 1e-6 * j1); /* the JSON's digits */
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
    snprintf(clock_path, sizeof clock_path, "%s/clock", tmp);
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
        cmocka_unit_test_teardown(test_energy_counter, close_live),
        cmocka_unit_test_teardown(test_power_trace_integrated, close_live),
        cmocka_unit_test_teardown(test_power_instead_of_the_counter, close_live),
        cmocka_unit_test_teardown(test_constant_power_is_power_times_duration, close_live),
        cmocka_unit_test_teardown(test_counter_that_resets, close_live),
        cmocka_unit_test_teardown(test_counter_in_steps_sampled_fast, close_live),
        cmocka_unit_test_teardown(test_errors_mig_flaky_and_lost, close_live),
        cmocka_unit_test_teardown(test_eight_alike_gpus_one_line, close_live),
        cmocka_unit_test_teardown(test_nvidia_and_amd_names_stay_unique, close_live),
        cmocka_unit_test_teardown(test_no_gpu_says_why, close_live),
        cmocka_unit_test_teardown(test_stat_reports_scripted_joules, close_live),
        cmocka_unit_test_teardown(test_sources_lists_each_gpu, close_live),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
