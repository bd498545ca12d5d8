/*
 * amdgpu-hwmon and the meter on fake /sys/class/drm trees: an AMD GPU with an energy counter, one with
 * power only (constant, and a triangle wave) integrated, another vendor's card and connectors to pass
 * over, garbage and impossible values written mid-run, a file that vanishes, and cards that cannot be
 * measured, each said why. Figures are checked against what the writer thread scripted.
 */
#define _GNU_SOURCE
#include <fcntl.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "source/source.h"

#define E_W 120.0 /* card1: energy1_input advances at this power */
#define P_W 90.0  /* card2: power1_average */

#define CARD1 "class/drm/card1/device"
#define CARD2 "class/drm/card2/device"
#define HW1 CARD1 "/hwmon/hwmon3"
#define HW2 CARD2 "/hwmon/hwmon5"

struct writer {
    char *root;
    double t0;
    volatile int stop;
    volatile int triangle;      /* card2 draws 60..140 W, period 0.5 s, instead of P_W */
    volatile double garbage_from; /* for 40 ms from this time (s since t0): garbage in both files */
    volatile double huge_at;      /* the first tick from this time: an impossible power in power1_average */
    volatile double vanish_after; /* from this time (s since t0) on, card1's energy1_input is removed */
    volatile double vanished_t;   /* when it was (jp_now) */
    pthread_t th;
};

/* card2's power at t seconds: 60 W rising to 140 W at 0.25 s and back, period 0.5 s */
static double tri_w(double t)
{
    double x = fmod(t, 0.5) / 0.25;
    return x <= 1 ? 60 + 80 * x : 140 - 80 * (x - 1);
}

/* its energy from 0 to t */
static double tri_j(double t)
{
    double n = floor(t / 0.5), r = t - n * 0.5;
    double e = n * 50.0; /* mean 100 W x 0.5 s */
    double a = r < 0.25 ? r : 0.25;
    e += 60 * a + 160 * a * a; /* integral of 60 + 320 s */
    if (r > 0.25) {
        double b = r - 0.25;
        e += 140 * b - 160 * b * b;
    }
    return e;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    int tick = 0;
    bool huge_done = false;
    while (!w->stop) {
        double t = jp_now() - w->t0;
        tick++;
        bool garbage = w->garbage_from > 0 && t >= w->garbage_from && t < w->garbage_from + 0.04;
        bool huge = w->huge_at > 0 && t >= w->huge_at && !huge_done;
        if (huge) huge_done = true;
        bool gone = w->vanish_after > 0 && t >= w->vanish_after;
        if (gone && !w->vanished_t) w->vanished_t = jp_now();
        if (gone) ft_remove(w->root, HW1 "/energy1_input");
        else if (!gone && garbage) ft_write(w->root, HW1 "/energy1_input", "%s\n", tick % 2 ? "12x9!" : "");
        else if (!gone) ft_write(w->root, HW1 "/energy1_input", "%llu\n", (unsigned long long)((5.0 + E_W * t) * 1e6));
        double p = w->triangle ? tri_w(t) : P_W;
        if (garbage) ft_write(w->root, HW2 "/power1_average", "%s\n", tick % 2 ? "-5" : "ninety");
        else if (huge) ft_write(w->root, HW2 "/power1_average", "99999999999999\n");
        else ft_write(w->root, HW2 "/power1_average", "%llu\n", (unsigned long long)llround(p * 1e6));
        usleep(1000);
    }
    return NULL;
}

/* card0: another vendor's; card1: AMD with energy1_input; card2: AMD with power1_average only;
 * connectors and a render node beside them. */
static char *make_tree(void)
{
    char *root = ft_mkroot("amdgpu");
    ft_write(root, "class/drm/card0/device/vendor", "0x10de\n");
    ft_write(root, "class/drm/card0/device/hwmon/hwmon1/name", "nouveau\n");
    ft_write(root, "class/drm/card0/device/hwmon/hwmon1/power1_input", "30000000\n");
    ft_mkdirs(root, "class/drm/card1-DP-1");
    ft_mkdirs(root, "class/drm/renderD128");
    ft_write(root, "class/drm/version", "drm 1.1.0 20060810\n");

    ft_write(root, CARD1 "/vendor", "0x1002\n");
    ft_write(root, CARD1 "/device", "0x740f\n");
    ft_write(root, CARD1 "/product_name", "AMD Instinct MI210\n");
    ft_write(root, CARD1 "/gpu_busy_percent", "55\n");
    ft_write(root, CARD1 "/mem_info_vram_used", "1073741824\n");
    ft_write(root, HW1 "/name", "amdgpu\n");
    ft_write(root, HW1 "/energy1_input", "5000000\n");
    ft_write(root, HW1 "/power1_cap", "300000000\n");
    ft_write(root, HW1 "/update_interval", "10\n");
    ft_write(root, CARD1 "/hwmon/hwmon2/name", "something_else\n");

    ft_write(root, CARD2 "/vendor", "0x1002\n");
    ft_write(root, CARD2 "/device", "0x73bf\n");
    ft_write(root, CARD2 "/gpu_busy_percent", "7\n");
    ft_write(root, HW2 "/name", "amdgpu\n");
    ft_write(root, HW2 "/power1_average", "90000000\n");
    ft_write(root, HW2 "/power1_average_interval", "1000\n");
    ft_write(root, HW2 "/power1_cap", "250000000\n");
    setenv("JP_SYSFS_ROOT", root, 1);
    return root;
}

static void start_writer(struct writer *w, char *root)
{
    w->root = root;
    w->stop = 0;
    w->t0 = jp_now();
    assert_int_equal(pthread_create(&w->th, NULL, writer_main, w), 0);
    usleep(20000);
}

static void stop_writer(struct writer *w)
{
    w->stop = 1;
    pthread_join(w->th, NULL);
}

static int find_domain(jp_meter *m, const char *name)
{
    for (size_t i = 0; i < jp_meter_domain_count(m); i++)
        if (!strcmp(jp_meter_domain_name(m, i), name)) return (int)i;
    return -1;
}

static jp_meter *open_amd(double interval)
{
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "amdgpu-hwmon";
    cfg.interval_s = interval;
    jp_meter *m = NULL;
    if (jp_meter_open(&m, &cfg) != JP_OK) fail_msg("open: %s", jp_last_error());
    return m;
}

static void measure(jp_meter *m, double seconds, double *t1)
{
    assert_int_equal(jp_meter_start(m), JP_OK);
    usleep((useconds_t)(seconds * 1e6));
    assert_int_equal(jp_meter_stop(m), JP_OK);
    *t1 = jp_now();
}

static void check(jp_meter *m, const char *name, double want, double rel, const char *what)
{
    int d = find_domain(m, name);
    if (d < 0) fail_msg("%s: no domain %s", what, name);
    double got = jp_meter_joules(m, d);
    print_message("%-30s %s: scripted %8.3f J, measured %8.3f J (%+.3f%%) over %.3f s\n", what, name, want, got,
                  100.0 * (got - want) / want, jp_meter_duration(m));
    if (!(fabs(got - want) <= rel * want))
        fail_msg("%s: %s measured %.4f J, scripted %.4f J: off by more than %.1f%%", what, name, got, want, rel * 100);
}

static void test_cards_found_and_described(void **state)
{
    (void)state;
    char *root = make_tree();
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    struct jp_source src;
    memset(&src, 0, sizeof src);
    src.ops = &jp_source_amdgpu_hwmon;
    assert_int_equal(src.ops->open(&src, &env), JP_OK);
    print_message("detail:\n%s\n", src.detail);
    /* card0 (not AMD), the connector and the render node are passed over */
    assert_int_equal(src.ndomains, 2);
    assert_string_equal(src.domains[0].name, "gpu-0");
    assert_string_equal(src.domains[1].name, "gpu-1");
    assert_int_equal(src.domains[0].kind, JP_DOMAIN_GPU);
    assert_float_equal(src.domains[0].joules_per_unit, 1e-6, 0);
    assert_string_equal(src.detail, "amdgpu hwmon: 2 of 2 AMD GPUs measured\n"
                                    "gpu-0 (card1) AMD Instinct MI210: energy counter (energy1_input); the driver "
                                    "updates it every 10 ms; cap 300 W\n"
                                    "gpu-1 (card2) AMD GPU 0x73bf: sampled power (power1_average), integrated at every "
                                    "meter sample (--interval); the driver averages over 1000 ms; cap 250 W");
    /* side metrics where the driver has them: both utilizations, card1's VRAM */
    assert_int_equal(src.naux, 3);
    assert_string_equal(src.aux_name[0], "gpu-0.util_pct");
    assert_string_equal(src.aux_name[1], "gpu-0.mem_used_mib");
    assert_string_equal(src.aux_name[2], "gpu-1.util_pct");
    src.ops->close(&src);
    ft_rmroot(root);
}

static void test_energy_and_power(void **state)
{
    (void)state;
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    start_writer(&w, root);
    jp_meter *m = open_amd(0.01);
    double t1;
    measure(m, 1.0, &t1);
    stop_writer(&w);
    double d = jp_meter_duration(m);
    /* the counter is handed over as it is; the file, though, is only as fresh as the writer thread,
     * which a loaded machine (ctest -j) can hold back by tens of ms at either end: 3% */
    check(m, "gpu-0", E_W * d, 0.03, "energy1_input");
    check(m, "gpu-1", P_W * d, 0.01, "power1_average integrated");
    assert_float_equal(jp_meter_joules(m, JP_TOTAL), jp_meter_joules(m, 0) + jp_meter_joules(m, 1), 1e-9);
    assert_int_equal(jp_meter_glitches(m), 0);
    assert_string_equal(jp_meter_domain_source(m, 0), "amdgpu-hwmon");
    /* utilization and VRAM in the timeline */
    size_t ns = jp_meter_sample_count(m);
    assert_int_equal(jp_meter_aux_count(m), 3);
    assert_string_equal(jp_meter_aux_name(m, 1), "gpu-0.mem_used_mib");
    assert_float_equal(jp_meter_sample_aux(m, ns / 2, 0), 55.0, 0);
    assert_float_equal(jp_meter_sample_aux(m, ns / 2, 1), 1024.0, 1e-9);
    assert_float_equal(jp_meter_sample_aux(m, ns / 2, 2), 7.0, 0);
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_changing_power_integrated(void **state)
{
    (void)state;
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    w.triangle = 1;
    start_writer(&w, root);
    jp_meter *m = open_amd(0.01);
    double t1;
    measure(m, 1.1, &t1);
    stop_writer(&w);
    double d = jp_meter_duration(m), a = t1 - d - w.t0, b = t1 - w.t0;
    check(m, "gpu-1", tri_j(b) - tri_j(a), 0.01, "power1_average, 60..140 W wave");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_garbage_and_impossible_values(void **state)
{
    (void)state;
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    /* well inside the measurement: a glitch at its very end could not be bridged by a later read */
    w.garbage_from = 0.3;
    w.huge_at = 0.6;
    start_writer(&w, root);
    jp_meter *m = open_amd(0.005);
    double t1;
    measure(m, 1.0, &t1);
    stop_writer(&w);
    double d = jp_meter_duration(m);
    print_message("garbage and impossible values: %llu glitches\n", (unsigned long long)jp_meter_glitches(m));
    assert_true(jp_meter_glitches(m) >= 3);
    /* skipped, never data: the figures stay right (the counter: see test_energy_and_power) */
    check(m, "gpu-0", E_W * d, 0.03, "energy1_input with garbage");
    check(m, "gpu-1", P_W * d, 0.01, "power1_average with garbage");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_vanished_file(void **state)
{
    (void)state;
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    w.vanish_after = 0.45;
    start_writer(&w, root);
    jp_meter *m = open_amd(0.01);
    double t1;
    measure(m, 0.9, &t1);
    stop_writer(&w);
    double d = jp_meter_duration(m);
    int g0 = find_domain(m, "gpu-0");
    assert_true(jp_meter_domain_gone(m, (size_t)g0));
    double j0 = jp_meter_joules(m, g0), there = E_W * (w.vanished_t - (t1 - d));
    print_message("vanished energy1_input: %.3f J counted while it was there (%.3f J drawn then, %.3f J over the "
                  "whole run)\n", j0, there, E_W * d);
    /* counted up to the last read before it vanished, nothing after; within 30 ms of the writer's lag */
    assert_true(there > 10.0 && there < E_W * d - 10.0);
    assert_true(fabs(j0 - there) <= E_W * 0.03);
    check(m, "gpu-1", P_W * d, 0.01, "power1_average beside it");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_cannot_measure_says_why(void **state)
{
    (void)state;
    struct jp_source_env env;
    char why[512];
    /* no DRM at all */
    char *root = ft_mkroot("amdgpu-none");
    setenv("JP_SYSFS_ROOT", root, 1);
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    assert_int_not_equal(jp_source_probe(&jp_source_amdgpu_hwmon, &env, why, sizeof why), JP_OK);
    assert_non_null(strstr(why, "class/drm"));
    /* only another vendor's card */
    ft_write(root, "class/drm/card0/device/vendor", "0x8086\n");
    assert_int_not_equal(jp_source_probe(&jp_source_amdgpu_hwmon, &env, why, sizeof why), JP_OK);
    assert_non_null(strstr(why, "no AMD GPU"));
    /* an AMD card without hwmon, one whose hwmon has nothing to read, one with garbage, and one
     * with an impossible power */
    ft_write(root, "class/drm/card1/device/vendor", "0x1002\n");
    ft_write(root, "class/drm/card2/device/vendor", "0x1002\n");
    ft_write(root, "class/drm/card2/device/hwmon/hwmon0/name", "amdgpu\n");
    ft_write(root, "class/drm/card2/device/hwmon/hwmon0/temp1_input", "45000\n");
    ft_write(root, "class/drm/card3/device/hwmon/hwmon1/name", "amdgpu\n");
    ft_write(root, "class/drm/card3/device/hwmon/hwmon1/power1_input", "lots\n");
    ft_write(root, "class/drm/card4/device/hwmon/hwmon2/name", "amdgpu\n");
    ft_write(root, "class/drm/card4/device/hwmon/hwmon2/power1_input", "90000000000\n");
    assert_int_not_equal(jp_source_probe(&jp_source_amdgpu_hwmon, &env, why, sizeof why), JP_OK);
    print_message("why: %s\n", why);
    assert_non_null(strstr(why, "4 AMD GPUs, none can be measured"));
    assert_non_null(strstr(why, "card1 (AMD) skipped: no amdgpu hwmon"));
    assert_non_null(strstr(why, "card2 (AMD) skipped: no readable energy1_input, power1_average or power1_input"));
    assert_non_null(strstr(why, "card3 (AMD) skipped:"));
    assert_non_null(strstr(why, "\"lots\""));
    assert_non_null(strstr(why, "card4 (AMD) skipped:"));
    assert_non_null(strstr(why, "90000.0 W, more than any board draws"));
    /* power1_input alone is enough */
    ft_write(root, "class/drm/card4/device/hwmon/hwmon2/power1_input", "45000000\n");
    assert_int_equal(jp_source_probe(&jp_source_amdgpu_hwmon, &env, why, sizeof why), JP_OK);
    struct jp_source src;
    memset(&src, 0, sizeof src);
    src.ops = &jp_source_amdgpu_hwmon;
    assert_int_equal(src.ops->open(&src, &env), JP_OK);
    print_message("detail:\n%s\n", src.detail);
    assert_int_equal(src.ndomains, 1);
    assert_string_equal(src.domains[0].name, "gpu-3"); /* the fourth AMD card */
    assert_non_null(strstr(src.detail, "1 of 4 AMD GPUs measured"));
    /* no update_interval: nothing said about the update rate */
    assert_non_null(strstr(src.detail, "gpu-3 (card4) AMD GPU: sampled power (power1_input), integrated at every meter "
                                       "sample (--interval)\n"));
    src.ops->close(&src);
    ft_rmroot(root);
}

static void test_sources_cli(void **state)
{
    (void)state;
    const char *cli = getenv("JP_CLI");
    if (!cli) fail_msg("JP_CLI is not set (run under ctest)");
    char *root = make_tree();
    char *out = ft_mkroot("amdgpu-out");
    char path[4200];
    snprintf(path, sizeof path, "%s/sources.txt", out);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 1);
        execl(cli, cli, "sources", (char *)NULL);
        _exit(126);
    }
    int ws;
    waitpid(pid, &ws, 0);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char txt[8192];
    size_t n = fread(txt, 1, sizeof txt - 1, f);
    txt[n] = '\0';
    fclose(f);
    print_message("%s", txt);
    assert_non_null(strstr(txt, "amdgpu-hwmon   yes      amdgpu hwmon: 2 of 2 AMD GPUs measured\n"
                                "                         gpu-0 (card1) AMD Instinct MI210: energy counter"));
    assert_non_null(strstr(txt, "\n                         gpu-1 (card2) AMD GPU 0x73bf: sampled power"));
    ft_rmroot(out);
    ft_rmroot(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cards_found_and_described),
        cmocka_unit_test(test_energy_and_power),
        cmocka_unit_test(test_changing_power_integrated),
        cmocka_unit_test(test_garbage_and_impossible_values),
        cmocka_unit_test(test_vanished_file),
        cmocka_unit_test(test_cannot_measure_says_why),
        cmocka_unit_test(test_sources_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
