/*
 * The model source through the meter, on a fake /proc whose CPU counters advance at a known
 * utilization: the energy must be the model's power at that utilization times the time, and the
 * attribution the process tree's share of the busy time.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "util.h"
#include "source/model_power.h"

#define HZ 100.0 /* jiffies per second per CPU, as the kernel reports them (USER_HZ) */

struct writer {
    char *root;
    volatile double util;  /* machine busy fraction */
    volatile double tree;  /* fraction of the machine the process tree 100/101 uses */
    volatile int stop;
    pthread_t th;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    double last = jp_now(), busy = 1000, idle = 5000, tree = 10;
    while (!w->stop) {
        usleep(5000);
        double t = jp_now(), dt = t - last;
        last = t;
        double all = 2 * HZ * dt; /* two CPUs */
        busy += all * w->util;
        idle += all * (1 - w->util);
        tree += all * w->tree;
        ft_write(w->root, "stat", "cpu  %.0f 0 0 %.0f 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n", busy, idle);
        /* the tree: 100 and its child 101 split its time; 102 is someone else's */
        ft_write(w->root, "100/stat", "100 (python3 x) S 1 100 100 0 -1 0 0 0 0 0 %.0f 0 0 0 20 0 1 0", tree / 2);
        ft_write(w->root, "101/stat", "101 (worker) R 100 100 100 0 -1 0 0 0 0 0 %.0f 0 0 0 20 0 1 0", tree / 2);
        ft_write(w->root, "102/stat", "102 (other) R 1 102 102 0 -1 0 0 0 0 0 %.0f 0 0 0 20 0 1 0", 5.0);
    }
    return NULL;
}

static char *make_proc(void)
{
    char *root = ft_mkroot("proc");
    ft_write(root, "cpuinfo",
             "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz\n"
             "physical id\t: 0\ncore id\t\t: 0\ncpu cores\t: 2\nflags\t\t: fpu hypervisor\n\n"
             "processor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz\n"
             "physical id\t: 0\ncore id\t\t: 1\ncpu cores\t: 2\nflags\t\t: fpu hypervisor\n\n");
    ft_write(root, "meminfo", "MemTotal:        8000000 kB\nMemFree:         4000000 kB\n");
    ft_write(root, "stat", "cpu  1000 0 0 5000 0 0 0 0 0 0\n");
    setenv("JP_PROC_ROOT", root, 1);
    return root;
}

static void assert_near(double got, double want, double rel, const char *what)
{
    if (fabs(got - want) > rel * fabs(want)) fail_msg("%s: got %.4f, expected %.4f within %.0f%%", what, got, want, rel * 100);
}

static void test_energy_follows_utilization(void **state)
{
    (void)state;
    char *root = make_proc();
    struct writer w = {.root = root, .util = 0.5, .tree = 0.25};
    assert_int_equal(pthread_create(&w.th, NULL, writer_main, &w), 0);
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "model";
    cfg.interval_s = 0.05;
    cfg.pid = 100;
    cfg.model.cpu_idle_w = 10;
    cfg.model.cpu_max_w = 50;
    cfg.model.curve = 1.0;
    cfg.model.ram_w_per_gb = 0.5;
    jp_meter *m;
    if (jp_meter_open(&m, &cfg) != JP_OK) fail_msg("open: %s", jp_last_error());
    const jp_model_params *p = jp_meter_model_params(m);
    assert_non_null(p);
    assert_float_equal(p->ram_gb, 8.192, 1e-9); /* 8,000,000 kB of 1024 bytes, in GB of 1e9 */
    assert_non_null(strstr(p->basis, "user"));
    double half = jp_model_cpu_watts(p, 0.5) + jp_model_ram_watts(p);
    double full = jp_model_cpu_watts(p, 1.0) + jp_model_ram_watts(p);
    assert_float_equal(half, 30.0 + 4.096, 1e-9);
    usleep(50000);
    jp_meter_start(m);
    jp_meter_phase(m, "half");
    usleep(700000);
    w.util = 1.0;
    w.tree = 0.5;
    jp_meter_phase(m, "full");
    usleep(700000);
    jp_meter_stop(m);
    w.stop = 1;
    pthread_join(w.th, NULL);

    assert_true(jp_meter_estimated(m));
    assert_int_equal(jp_meter_domain_count(m), 2);
    assert_string_equal(jp_meter_domain_name(m, 0), "cpu-model");
    assert_string_equal(jp_meter_domain_name(m, 1), "ram-model");
    assert_true(jp_meter_domain_estimated(m, 0));
    double d0 = jp_meter_phase_duration(m, 0), d1 = jp_meter_phase_duration(m, 1);
    print_message("half: %.2f J over %.2f s (%.2f W, expected %.2f); full: %.2f J over %.2f s (%.2f W, expected %.2f)\n",
                  jp_meter_phase_joules(m, 0, JP_TOTAL), d0, jp_meter_phase_joules(m, 0, JP_TOTAL) / d0, half,
                  jp_meter_phase_joules(m, 1, JP_TOTAL), d1, jp_meter_phase_joules(m, 1, JP_TOTAL) / d1, full);
    /* the first and last samples straddle the change: 10% */
    assert_near(jp_meter_phase_joules(m, 0, JP_TOTAL), half * d0, 0.10, "half load");
    assert_near(jp_meter_phase_joules(m, 1, JP_TOTAL), full * d1, 0.10, "full load");
    assert_near(jp_meter_joules(m, 1), 4.096 * jp_meter_duration(m), 0.02, "memory");
    /* the tree (100 + 101, not 102) used 0.25 then 0.5 of the machine, which was 0.5 then 1.0 busy:
     * half of the busy time either way */
    double share = jp_meter_tree_share(m);
    print_message("tree share %.3f, attributed %.2f J of %.2f J\n", share, jp_meter_attributed_joules(m),
                  jp_meter_joules(m, JP_TOTAL));
    assert_near(share, 0.5, 0.1, "tree share");
    assert_near(jp_meter_attributed_joules(m), share * jp_meter_joules(m, JP_TOTAL), 1e-9, "attributed");
    jp_meter_close(m);
    unsetenv("JP_PROC_ROOT");
    ft_rmroot(root);
}

static void test_unreadable_stat_is_a_glitch(void **state)
{
    (void)state;
    char *root = make_proc();
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "model";
    cfg.interval_s = 0.01;
    jp_meter *m;
    if (jp_meter_open(&m, &cfg) != JP_OK) fail_msg("open: %s", jp_last_error());
    jp_meter_start(m);
    usleep(50000);
    ft_write(root, "stat", "garbage\n");
    usleep(100000);
    jp_meter_stop(m);
    assert_true(jp_meter_glitches(m) >= 2);
    jp_meter_close(m);
    unsetenv("JP_PROC_ROOT");
    ft_rmroot(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_energy_follows_utilization),
        cmocka_unit_test(test_unreadable_stat_is_a_glitch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
