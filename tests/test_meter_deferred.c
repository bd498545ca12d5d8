/*
 * A deferred start (jp_meter_start_deferred): the sources are read at the start and at the stop as
 * with jp_meter_start, but no sampling thread exists until jp_meter_start_sampling (which `jouleprint
 * stat` calls only for a command that outlives the first interval). The threads are counted in
 * /proc/self/task; the energy comes from a fake powercap counter the test moves itself.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "jouleprint.h"

static int threads(void)
{
    int n = ft_count_entries("/proc/self/task");
    if (n < 0) fail_msg("/proc/self/task cannot be read");
    return n;
}

static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* A joined thread can stay listed in /proc/self/task a moment after pthread_join returns. */
static int threads_settled(int want)
{
    int n = threads();
    for (int i = 0; i < 1000 && n != want; i++) {
        nap(0.01);
        n = threads();
    }
    return n;
}

static char *root;

static int setup(void **state)
{
    (void)state;
    root = ft_mkroot("sys");
    ft_write(root, "class/powercap/intel-rapl:0/name", "package-0\n");
    ft_write(root, "class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    ft_write(root, "class/powercap/intel-rapl:0/energy_uj", "1000000\n");
    setenv("JP_SYSFS_ROOT", root, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("JP_SYSFS_ROOT");
    ft_rmroot(root);
    return 0;
}

static jp_meter *open_meter(void)
{
    ft_write(root, "class/powercap/intel-rapl:0/energy_uj", "1000000\n");
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-powercap";
    cfg.interval_s = 0.01;
    jp_meter *m = NULL;
    if (jp_meter_open(&m, &cfg) != JP_OK) fail_msg("open: %s", jp_last_error());
    return m;
}

static void test_deferred_start_makes_no_thread(void **state)
{
    (void)state;
    jp_meter *m = open_meter();
    int before = threads();
    assert_int_equal(jp_meter_start_deferred(m), JP_OK);
    assert_int_equal(threads(), before);
    nap(0.05);
    ft_write(root, "class/powercap/intel-rapl:0/energy_uj", "1500000\n"); /* 0.5 J */
    assert_int_equal(threads(), before);
    assert_int_equal(jp_meter_stop(m), JP_OK);
    /* the start's and the stop's reads: the energy between them, and the stop's one sample */
    assert_true(fabs(jp_meter_joules(m, JP_TOTAL) - 0.5) < 1e-9);
    assert_int_equal(jp_meter_samples_taken(m), 1);
    assert_int_equal(jp_meter_glitches(m), 0);
    assert_true(jp_meter_duration(m) > 0);
    /* and again, the meter reused */
    assert_int_equal(jp_meter_start_deferred(m), JP_OK);
    assert_int_equal(threads(), before);
    assert_int_equal(jp_meter_stop(m), JP_OK);
    assert_true(fabs(jp_meter_joules(m, JP_TOTAL)) < 1e-9);
    jp_meter_close(m);
}

static void test_start_sampling_starts_the_thread_once(void **state)
{
    (void)state;
    jp_meter *m = open_meter();
    int before = threads();
    assert_int_equal(jp_meter_start_deferred(m), JP_OK);
    assert_int_equal(jp_meter_start_sampling(m), JP_OK);
    assert_int_equal(threads(), before + 1);
    assert_int_equal(jp_meter_start_sampling(m), JP_OK); /* already sampling: nothing more */
    assert_int_equal(threads(), before + 1);
    /* its first sample was due one interval after the start: the thread takes it */
    for (int i = 0; i < 1000 && jp_meter_samples_taken(m) == 0; i++) nap(0.01);
    assert_true(jp_meter_samples_taken(m) >= 1);
    ft_write(root, "class/powercap/intel-rapl:0/energy_uj", "1500000\n");
    nap(0.05);
    assert_int_equal(jp_meter_stop(m), JP_OK);
    assert_int_equal(threads_settled(before), before);
    assert_true(fabs(jp_meter_joules(m, JP_TOTAL) - 0.5) < 1e-9);
    jp_meter_close(m);
}

static void test_start_sampling_needs_a_running_meter(void **state)
{
    (void)state;
    assert_int_equal(jp_meter_start_sampling(NULL), JP_ERR_INVAL);
    assert_int_equal(jp_meter_start_deferred(NULL), JP_ERR_INVAL);
    jp_meter *m = open_meter();
    int before = threads();
    assert_int_equal(jp_meter_start_sampling(m), JP_ERR_STATE);
    assert_int_equal(jp_meter_start_deferred(m), JP_OK);
    assert_int_equal(jp_meter_start_deferred(m), JP_ERR_STATE); /* running already */
    assert_int_equal(jp_meter_stop(m), JP_OK);
    assert_int_equal(jp_meter_start_sampling(m), JP_ERR_STATE);
    assert_int_equal(threads(), before);
    /* a plain start still has its thread from the start */
    assert_int_equal(jp_meter_start(m), JP_OK);
    assert_int_equal(threads(), before + 1);
    assert_int_equal(jp_meter_stop(m), JP_OK);
    assert_int_equal(threads_settled(before), before);
    jp_meter_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deferred_start_makes_no_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_sampling_starts_the_thread_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_sampling_needs_a_running_meter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
