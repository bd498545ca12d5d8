/*
 * amdgpu-hwmon and the meter on fake /sys/class/drm trees: an AMD GPU with an energy counter, one with
 * power only (constant, and a triangle wave) integrated, another vendor's card and connectors to pass
 * over, garbage and impossible values written mid-run, a file that vanishes, and cards that cannot be
 * measured, each said why. Figures are checked against what the test scripted, step by step, so
 * that they hold on a loaded machine.
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

/*
 * card1's counter advances in steps the test makes, each written 30 ms after the meter took a sample
 * and seen by a sample before the next, so what the meter must count is known exactly whatever the
 * machine's load. card2's power is held constant (or set before each read the test asks for), so
 * its integral is known from the meter's own read times.
 */
#define STEP_J (E_W * 0.03) /* card1's energy per step */

/* card2's power at t seconds: 60 W rising to 140 W at 0.25 s and back, period 0.5 s */
static double tri_w(double t)
{
    double x = fmod(t, 0.5) / 0.25;
    return x <= 1 ? 60 + 80 * x : 140 - 80 * (x - 1);
}

struct script {
    char *root;
    double e_j;   /* card1's counter, J */
    double p_w;   /* card2's power1_average */
    int steps;
    int garbage_at, huge_at, vanish_at; /* mischief at these steps (1-based; 0 = never) */
    bool gone;
};

static void write_cards(struct script *s)
{
    if (!s->gone) ft_write(s->root, HW1 "/energy1_input", "%llu\n", (unsigned long long)llround(s->e_j * 1e6));
    ft_write(s->root, HW2 "/power1_average", "%llu\n", (unsigned long long)llround(s->p_w * 1e6));
}

/* Waits until the meter has taken a sample that began after this call. */
static void wait_sample(jp_meter *m)
{
    uint64_t n = jp_meter_samples_taken(m);
    double deadline = jp_now() + 60;
    while (jp_meter_samples_taken(m) <= n) {
        if (jp_now() > deadline) fail_msg("the meter took no sample in 60 s");
        usleep(200);
    }
}

static void step(jp_meter *m, struct script *s)
{
    wait_sample(m);
    usleep(30000);
    int k = ++s->steps;
    s->e_j += STEP_J;
    if (k == s->vanish_at) {
        ft_remove(s->root, HW1 "/energy1_input");
        s->gone = true;
    }
    if (k == s->garbage_at) {
        /* garbage in both files for one sample, then the right values again */
        if (!s->gone) ft_write(s->root, HW1 "/energy1_input", "12x9!\n");
        ft_write(s->root, HW2 "/power1_average", "ninety\n");
        wait_sample(m);
    }
    if (k == s->huge_at) {
        ft_write(s->root, HW2 "/power1_average", "99999999999999\n"); /* 100 MW: no board draws that */
        wait_sample(m);
    }
    write_cards(s);
}

/* Measures n steps; *slack gets how long the start and stop calls took (the source's read times and
 * the meter's may differ by that much at each end). */
static void measure(jp_meter *m, struct script *s, int n, double *slack)
{
    double a = jp_now();
    assert_int_equal(jp_meter_start(m), JP_OK);
    double b = jp_now();
    for (int i = 0; i < n; i++) step(m, s);
    wait_sample(m);
    double c = jp_now();
    assert_int_equal(jp_meter_stop(m), JP_OK);
    *slack = (b - a) + (jp_now() - c);
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

static void check(jp_meter *m, const char *name, double want, double tol, const char *what)
{
    int d = find_domain(m, name);
    if (d < 0) fail_msg("%s: no domain %s", what, name);
    double got = jp_meter_joules(m, d);
    print_message("%-30s %s: scripted %9.4f J, measured %9.4f J (%+.4f J, allowed %.4f J) over %.3f s\n", what, name,
                  want, got, got - want, tol, jp_meter_duration(m));
    if (!(fabs(got - want) <= tol)) fail_msg("%s: %s measured %.4f J, scripted %.4f J: off by more than %.4f J", what, name, got, want, tol);
}

static struct script new_script(char *root)
{
    struct script s;
    memset(&s, 0, sizeof s);
    s.root = root;
    s.e_j = 5.0;
    s.p_w = P_W;
    write_cards(&s);
    return s;
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
    struct script s = new_script(root);
    jp_meter *m = open_amd(0.01);
    double slack;
    measure(m, &s, 20, &slack);
    double d = jp_meter_duration(m);
    /* the counter is handed over as it is: exact to the microjoule per step */
    check(m, "gpu-0", 20 * STEP_J, 20e-6, "energy1_input");
    /* a constant power integrated over the source's reads, which the start and stop calls bracket */
    check(m, "gpu-1", P_W * d, P_W * slack + 1e-3, "power1_average integrated");
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

/* card2's power changes between reads: the meter samples only when the test marks a phase (its
 * interval is an hour), after setting the power, so the trapezoids it must add up are known from
 * its own sample times; each read's time and the meter's differ by at most the call's duration. */
static void test_changing_power_integrated(void **state)
{
    (void)state;
    char *root = make_tree();
    struct script s = new_script(root);
    s.p_w = tri_w(0);
    write_cards(&s);
    jp_meter *m = open_amd(3600);
    const int n = 40;
    double p[41], slack = 0, a = jp_now();
    p[0] = s.p_w;
    assert_int_equal(jp_meter_start(m), JP_OK);
    assert_int_equal(jp_meter_phase(m, "wave"), JP_OK); /* the first mark names the first phase: no read */
    slack += jp_now() - a;
    for (int k = 1; k <= n; k++) {
        usleep(5000);
        s.p_w = p[k] = tri_w(k * 0.0125); /* one period of the 60..140 W wave over the 40 reads */
        write_cards(&s);
        a = jp_now();
        assert_int_equal(jp_meter_phase(m, k % 2 ? "odd" : "even"), JP_OK);
        slack += jp_now() - a;
    }
    a = jp_now();
    assert_int_equal(jp_meter_stop(m), JP_OK);
    slack += jp_now() - a;
    /* samples: one per mark, then the final read (power unchanged since the last mark) */
    assert_int_equal(jp_meter_sample_count(m), (size_t)n + 1);
    double want = 0, t_prev = 0;
    for (int k = 1; k <= n + 1; k++) {
        double t = jp_meter_sample_time(m, (size_t)k - 1), pk = p[k <= n ? k : n], pp = p[k - 1];
        want += 0.5 * (pp + pk) * (t - t_prev);
        t_prev = t;
    }
    check(m, "gpu-1", want, 2 * 140.0 * slack + 1e-3, "power1_average, 60..140 W wave");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_garbage_and_impossible_values(void **state)
{
    (void)state;
    char *root = make_tree();
    struct script s = new_script(root);
    /* well inside the measurement: a glitch at its very end could not be bridged by a later read */
    s.garbage_at = 5;
    s.huge_at = 10;
    jp_meter *m = open_amd(0.005);
    double slack;
    measure(m, &s, 15, &slack);
    double d = jp_meter_duration(m);
    print_message("garbage and impossible values: %llu glitches\n", (unsigned long long)jp_meter_glitches(m));
    assert_true(jp_meter_glitches(m) >= 3);
    /* skipped, never data: the figures stay right */
    check(m, "gpu-0", 15 * STEP_J, 15e-6, "energy1_input with garbage");
    check(m, "gpu-1", P_W * d, P_W * slack + 1e-3, "power1_average with garbage");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_vanished_file(void **state)
{
    (void)state;
    char *root = make_tree();
    struct script s = new_script(root);
    s.vanish_at = 8;
    jp_meter *m = open_amd(0.01);
    double slack;
    measure(m, &s, 15, &slack);
    double d = jp_meter_duration(m);
    int g0 = find_domain(m, "gpu-0");
    assert_true(jp_meter_domain_gone(m, (size_t)g0));
    /* counted up to the last read before it vanished (7 steps), nothing after */
    check(m, "gpu-0", 7 * STEP_J, 7e-6, "energy1_input until it vanished");
    check(m, "gpu-1", P_W * d, P_W * slack + 1e-3, "power1_average beside it");
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
    assert_int_not_equal(ft_probe(&jp_source_amdgpu_hwmon, &env, why, sizeof why), JP_OK);
    assert_non_null(strstr(why, "class/drm"));
    /* only another vendor's card */
    ft_write(root, "class/drm/card0/device/vendor", "0x8086\n");
    assert_int_not_equal(ft_probe(&jp_source_amdgpu_hwmon, &env, why, sizeof why), JP_OK);
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
    assert_int_not_equal(ft_probe(&jp_source_amdgpu_hwmon, &env, why, sizeof why), JP_OK);
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
    assert_int_equal(ft_probe(&jp_source_amdgpu_hwmon, &env, why, sizeof why), JP_OK);
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
