/*
 * The model source through the meter, on a fake /proc whose CPU counters advance at a known
 * utilization: the energy must be the model's power at that utilization times the time, and the
 * attribution the process tree's share of the busy time. The test moves the counters in steps, each
 * read by the meter before the next, so the figures are exact whatever the machine's load.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdbool.h>
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

/* The fake /proc's CPU counters, in jiffies, moved by the test in steps it knows the meter saw. */
struct fake_cpu {
    char *root;
    unsigned long long busy, idle, tree; /* the machine's (two CPUs) and the tree's (100 + 101) */
};

static void write_cpu(const struct fake_cpu *c)
{
    ft_write(c->root, "stat", "cpu  %llu 0 0 %llu 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n", c->busy, c->idle);
    /* the tree: 100 and its child 101 split its time; 102 is someone else's */
    ft_write(c->root, "100/stat", "100 (python3 x) S 1 100 100 0 -1 0 0 0 0 0 %llu 0 0 0 20 0 1 0", c->tree / 2);
    ft_write(c->root, "101/stat", "101 (worker) R 100 100 100 0 -1 0 0 0 0 0 %llu 0 0 0 20 0 1 0", c->tree / 2);
    ft_write(c->root, "102/stat", "102 (other) R 1 102 102 0 -1 0 0 0 0 0 %llu 0 0 0 20 0 1 0", 5ULL);
}

/* Waits until the meter has finished a sample that began after this call. */
static void wait_sample(jp_meter *m)
{
    uint64_t n = jp_meter_samples_taken(m);
    double deadline = jp_now() + 60;
    while (jp_meter_samples_taken(m) <= n + 1) {
        if (jp_now() > deadline) fail_msg("the meter took no sample in 60 s");
        usleep(1000);
    }
}

/* One step of the counters, written after a sample so that the meter sees every step; more than a
 * jiffy after it, so that the model, which reads /proc/stat at most once a jiffy, reads it. */
static void step_cpu(jp_meter *m, struct fake_cpu *c, unsigned long long busy, unsigned long long idle,
                     unsigned long long tree)
{
    wait_sample(m);
    usleep(20000);
    c->busy += busy;
    c->idle += idle;
    c->tree += tree;
    write_cpu(c);
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

static void test_energy_follows_utilization(void **state)
{
    (void)state;
    char *root = make_proc();
    struct fake_cpu c = {.root = root, .busy = 1000, .idle = 5000, .tree = 10};
    write_cpu(&c);
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
    double half = jp_model_cpu_watts(p, 0.5), full = jp_model_cpu_watts(p, 1.0), ram = jp_model_ram_watts(p);
    assert_float_equal(half, 30.0, 1e-9);
    assert_float_equal(full, 50.0, 1e-9);
    assert_float_equal(ram, 4.096, 1e-9);
    /* Half busy before the start, so that the start's read finds the machine at 0.5 (a jiffy after
     * the open's); then 10 steps at half load, the tree using a quarter of the machine, and 10 at
     * full load, the tree using half of it: half of the busy time either way. */
    c.busy += 100;
    c.idle += 100;
    c.tree += 50;
    write_cpu(&c);
    usleep(20000);
    jp_meter_start(m);
    jp_meter_phase(m, "half");
    for (int k = 0; k < 10; k++) step_cpu(m, &c, 100, 100, 50);
    wait_sample(m);
    jp_meter_phase(m, "full");
    for (int k = 0; k < 10; k++) step_cpu(m, &c, 200, 0, 100);
    wait_sample(m);
    jp_meter_stop(m);

    assert_true(jp_meter_estimated(m));
    assert_int_equal(jp_meter_domain_count(m), 2);
    assert_string_equal(jp_meter_domain_name(m, 0), "cpu-model");
    assert_string_equal(jp_meter_domain_name(m, 1), "ram-model");
    assert_true(jp_meter_domain_estimated(m, 0));
    assert_int_equal(jp_meter_glitches(m), 0);
    double d0 = jp_meter_phase_duration(m, 0), d1 = jp_meter_phase_duration(m, 1);
    double j0 = jp_meter_phase_joules(m, 0, 0), j1 = jp_meter_phase_joules(m, 1, 0);
    print_message("half: %.4f J over %.4f s (%.4f W, expected %.1f); full: %.4f J over %.4f s (%.4f W)\n", j0, d0,
                  j0 / d0, half, j1, d1, j1 / d1);
    /* The model's power holds the utilization of the jiffies read last over the time since the read
     * before; the energy is that power times the meter's intervals, to a microjoule a sample. Every
     * sample of the first phase saw half load. */
    size_t ns = jp_meter_sample_count(m);
    double us = 1e-6 * (double)(ns + 2);
    assert_true(fabs(j0 - half * d0) <= us);
    /* In the second, the power is the half-load one until the first full-load step is read, full
     * after; at least the 10 steps' samples are at full load. */
    int phase_full = 0, at_full = 0;
    double t_prev = 0, sum = 0;
    for (size_t s = 0; s < ns; s++) {
        double t = jp_meter_sample_time(m, s), w = jp_meter_sample_watts(m, s, 0), e = w * (t - t_prev);
        double tol = 2e-6 / (t - t_prev);
        t_prev = t;
        sum += e;
        bool in_full = !strcmp(jp_meter_sample_phase(m, s), "full");
        phase_full |= in_full;
        if (fabs(w - full) <= tol) {
            if (!in_full) fail_msg("sample %zu at full load in the half-load phase", s);
            at_full++;
        } else if (fabs(w - half) <= tol) {
            if (at_full) fail_msg("sample %zu: back at half load after full load", s);
        } else {
            fail_msg("sample %zu: %.4f W, neither the half-load %.1f W nor the full-load %.1f W", s, w, half, full);
        }
        /* memory: its constant power */
        assert_true(fabs(jp_meter_sample_watts(m, s, 1) - ram) <= tol);
    }
    assert_true(phase_full && at_full >= 10);
    assert_true(fabs(sum - jp_meter_joules(m, 0)) <= us);
    assert_true(j1 > half * d1 && j1 <= full * d1 + us);
    assert_true(fabs(jp_meter_joules(m, 1) - ram * jp_meter_duration(m)) <= us);
    /* the tree (100 + 101, not 102) used 50 of 200 jiffies a step, then 100 of 200: of the busy
     * jiffies (100 then 200 a step), exactly half */
    double share = jp_meter_tree_share(m);
    print_message("tree share %.6f, attributed %.4f J of %.4f J\n", share, jp_meter_attributed_joules(m),
                  jp_meter_joules(m, JP_TOTAL));
    assert_float_equal(share, 0.5, 1e-12);
    assert_float_equal(jp_meter_attributed_joules(m), 0.5 * jp_meter_joules(m, JP_TOTAL), 1e-9);
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
    wait_sample(m);
    assert_int_equal(jp_meter_glitches(m), 0);
    ft_write(root, "stat", "garbage\n");
    /* a jiffy on, every sample reads the file again (none was read since): two of them */
    usleep(20000);
    wait_sample(m);
    wait_sample(m);
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
