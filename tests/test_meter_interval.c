/*
 * The interval a meter samples at: the power model's inputs (/proc/stat's CPU times) move once per
 * kernel tick, so a model-only meter asked for 1 ms samples once a tick instead of waking ten times
 * for each new value; asked for a longer interval, it keeps it. A counter source (a fake powercap
 * tree) has no such floor: 1 ms stays 1 ms.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "jouleprint.h"
#include "proc.h"

static double interval_of(const char *source, double asked)
{
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = source;
    cfg.interval_s = asked;
    jp_meter *m = NULL;
    if (jp_meter_open(&m, &cfg) != JP_OK) fail_msg("open %s: %s", source, jp_last_error());
    double got = jp_meter_interval(m);
    jp_meter_close(m);
    return got;
}

#define assert_same(got, want)                                                                    \
    do {                                                                                          \
        double g_ = (got), w_ = (want);                                                           \
        if (fabs(g_ - w_) > 1e-12) fail_msg("%s: got %.6f s, expected %.6f s", #got, g_, w_);    \
    } while (0)

static void test_model_samples_once_a_tick(void **state)
{
    (void)state;
    char *root = ft_mkroot("proc");
    ft_write(root, "cpuinfo", "processor\t: 0\nmodel name\t: Test CPU\ncpu cores\t: 1\n\n");
    ft_write(root, "meminfo", "MemTotal:        8000000 kB\n");
    ft_write(root, "stat", "cpu  1000 0 0 5000 0 0 0 0 0 0\n");
    setenv("JP_PROC_ROOT", root, 1);
    double tick = 1.0 / jp_proc_hz();
    assert_true(tick > 0.001 && tick <= 0.1);
    assert_same(interval_of("model", 0.001), tick);
    assert_same(interval_of("model", tick / 2), tick);
    assert_same(interval_of("model", 0.25), 0.25);
    unsetenv("JP_PROC_ROOT");
    ft_rmroot(root);
}

static void test_counters_keep_a_short_interval(void **state)
{
    (void)state;
    char *root = ft_mkroot("sys");
    ft_write(root, "class/powercap/intel-rapl:0/name", "package-0\n");
    ft_write(root, "class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    ft_write(root, "class/powercap/intel-rapl:0/energy_uj", "1000000\n");
    setenv("JP_SYSFS_ROOT", root, 1);
    assert_same(interval_of("rapl-powercap", 0.001), 0.001);
    unsetenv("JP_SYSFS_ROOT");
    ft_rmroot(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_samples_once_a_tick),
        cmocka_unit_test(test_counters_keep_a_short_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
