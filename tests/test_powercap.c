/*
 * rapl-powercap and the meter on fake powercap trees: counters that advance by known steps and
 * wrap several times while measured, duplicate zones, permission denied, garbage, a zone that
 * vanishes, a counter that goes backwards.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "meter_hook.h"
#include "source/source.h"

#define RANGE_UJ 5000000ULL /* 5 J: the package counter wraps every 5 steps */
/* package-1 has a real-size range, so that a backwards jump cannot pass for a wrap */
#define RANGE_BIG_UJ 262143328850ULL

/*
 * The counters advance in steps the test makes, each seen by the meter before the next: what the
 * meter must report is known to the microjoule whatever the machine's load, because it depends on
 * no clock. Each step waits for a sample, then 2 ms, then writes: the meter judges a change over
 * the time since the counter last moved, so no step can look faster than 1 J / 2 ms = 500 W
 * (below the 1.5 kW that would be a glitch) however the sampler is scheduled.
 */
#define PKG_J 1.0   /* per step, package-0 and package-1 */
#define CORE_J 0.6  /* core-0 (inside package-0) */
#define DRAM_J 0.25 /* dram-0 */
#define STEP_J (2 * PKG_J + DRAM_J) /* the total: packages + dram */

struct counters {
    char *root;
    double pkg0, pkg1, core, dram; /* joules written so far */
    bool dram_gone;
    int garbage_at, backwards_at, jump_at, vanish_at; /* at these step numbers (1-based; 0 = never) */
    double extra; /* added to package-0 at every step */
    int steps;
};

static void write_counter(const char *root, const char *zone, double joules)
{
    char rel[256];
    snprintf(rel, sizeof rel, "class/powercap/%s/energy_uj", zone);
    uint64_t range = strcmp(zone, "intel-rapl:1") ? RANGE_UJ : RANGE_BIG_UJ;
    uint64_t uj = (uint64_t)llround(joules * 1e6) % range;
    ft_write(root, rel, "%llu\n", (unsigned long long)uj);
}

static void write_all(struct counters *c)
{
    write_counter(c->root, "intel-rapl:0", c->pkg0);
    write_counter(c->root, "intel-rapl:1", c->pkg1);
    write_counter(c->root, "intel-rapl:0:0", c->core);
    write_counter(c->root, "intel-rapl-mmio:0", c->pkg0);
    if (!c->dram_gone) write_counter(c->root, "intel-rapl:0:1", c->dram);
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

/* One step of every counter (with the mischief due at this step), after the meter has seen the last. */
static void step(jp_meter *m, struct counters *c)
{
    wait_sample(m);
    usleep(2000);
    int k = ++c->steps;
    c->pkg0 += PKG_J + c->extra;
    c->pkg1 += PKG_J;
    c->core += CORE_J;
    c->dram += DRAM_J;
    if (k == c->backwards_at) c->pkg1 -= PKG_J + 2.0; /* steps back 2 J instead of advancing */
    if (k == c->jump_at) c->pkg1 += 1000.0 - PKG_J;   /* jumps 1000 J: an impossible power */
    if (k == c->vanish_at) {
        ft_remove(c->root, "class/powercap/intel-rapl:0:1");
        c->dram_gone = true;
    }
    write_all(c);
    if (k == c->garbage_at) {
        /* garbage for one sample, then the right value again */
        ft_write(c->root, "class/powercap/intel-rapl:0/energy_uj", "12x9!\n");
        wait_sample(m);
        write_all(c);
    }
}

static void steps(jp_meter *m, struct counters *c, int n)
{
    for (int i = 0; i < n; i++) step(m, c);
    wait_sample(m); /* the last step seen by the sampler, not only by the final read */
}

static void make_zone(struct counters *c, const char *zone, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "class/powercap/%s/name", zone);
    ft_write(c->root, rel, "%s\n", name);
    snprintf(rel, sizeof rel, "class/powercap/%s/max_energy_range_uj", zone);
    ft_write(c->root, rel, "%llu\n", strcmp(zone, "intel-rapl:1") ? RANGE_UJ : RANGE_BIG_UJ);
}

/* Two packages, core and dram under package 0, and an MMIO zone repeating package 0; the
 * counters start part-way into their range. */
static char *make_tree_counters(struct counters *c)
{
    memset(c, 0, sizeof *c);
    c->root = ft_mkroot("powercap");
    make_zone(c, "intel-rapl:0", "package-0");
    make_zone(c, "intel-rapl:0:0", "core");
    make_zone(c, "intel-rapl:0:1", "dram");
    make_zone(c, "intel-rapl:1", "package-1");
    make_zone(c, "intel-rapl-mmio:0", "package-0");
    c->pkg0 = 1.0;
    c->pkg1 = 3.0;
    c->core = 0.5;
    c->dram = 0.2;
    write_all(c);
    setenv("JP_SYSFS_ROOT", c->root, 1);
    return c->root;
}

static char *make_tree(void)
{
    struct counters c;
    return make_tree_counters(&c);
}

static int find_domain(jp_meter *m, const char *name)
{
    for (size_t i = 0; i < jp_meter_domain_count(m); i++)
        if (!strcmp(jp_meter_domain_name(m, i), name)) return (int)i;
    return -1;
}

/* Counters hold whole microjoules: a figure made of n steps is exact to n microjoules. */
static void assert_joules(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-5 + 1e-9 * fabs(want)) fail_msg("%s: got %.6f J, expected %.6f J", what, got, want);
}

static jp_meter *open_powercap(double interval)
{
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-powercap";
    cfg.interval_s = interval;
    jp_meter *m = NULL;
    int rc = jp_meter_open(&m, &cfg);
    if (rc != JP_OK) fail_msg("open: %s", jp_last_error());
    return m;
}

/* Measures n steps of the counters (with whatever mischief c was set up for). */
static jp_meter *measure(struct counters *c, double interval, int n)
{
    jp_meter *m = open_powercap(interval);
    assert_int_equal(jp_meter_start(m), JP_OK);
    steps(m, c, n);
    assert_int_equal(jp_meter_stop(m), JP_OK);
    return m;
}

/* How many times a counter of this range wrapped going from a to b joules. */
static uint64_t wraps_between(double a, double b, uint64_t range)
{
    return (uint64_t)llround(b * 1e6) / range - (uint64_t)llround(a * 1e6) / range;
}

/* The counter arithmetic alone, to the unit: forward, one wrap with the part before it, a value
 * outside the range (never a wrap), backwards (never a wrap without a range). */
static void test_counter_advance(void **state)
{
    (void)state;
    uint64_t d = 99;
    bool w = true;
    assert_true(jp_counter_advance(100, 150, 0, &d, &w));
    assert_int_equal(d, 50);
    assert_false(w);
    assert_true(jp_counter_advance(7, 7, RANGE_UJ, &d, &w));
    assert_int_equal(d, 0);
    assert_false(w);
    /* 4.9 J -> wrap at 5 J -> 0.1 J: 0.1 J before the wrap and 0.1 J after it */
    assert_true(jp_counter_advance(4900000, 100000, RANGE_UJ, &d, &w));
    assert_int_equal(d, 200000);
    assert_true(w);
    assert_true(jp_counter_advance(RANGE_UJ - 1, 0, RANGE_UJ, &d, &w));
    assert_int_equal(d, 1);
    /* a 32-bit MSR counter */
    assert_true(jp_counter_advance(0xFFFFFFF0u, 0x10, 1ULL << 32, &d, &w));
    assert_int_equal(d, 0x20);
    assert_true(w);
    /* a previous value beyond the range cannot have wrapped at it: backwards, not a wrap */
    assert_false(jp_counter_advance(RANGE_UJ + 2000000, 1000000, RANGE_UJ, &d, &w));
    assert_int_equal(d, 0);
    assert_false(w);
    /* nor a new value beyond it */
    assert_false(jp_counter_advance(RANGE_UJ + 7, RANGE_UJ + 3, RANGE_UJ, &d, &w));
    /* no range (a 64-bit counter): going back is never a wrap */
    assert_false(jp_counter_advance(150, 100, 0, &d, &w));
    assert_false(w);
}

/* What one good read brings, with explicit times: no clock, no sampler thread. */
static void test_counter_take(void **state)
{
    (void)state;
    enum jp_counter_outcome oc;
    struct jp_counter c;
    memset(&c, 0, sizeof c);
    /* microjoule counter, no range (64 bits), at most 1500 W */
    assert_float_equal(jp_counter_take(&c, 1000, 10.0, 0, 1e-6, 1500, &oc), 0, 0);
    assert_int_equal(oc, JP_COUNTER_FIRST);
    assert_float_equal(jp_counter_take(&c, 2001000, 11.0, 0, 1e-6, 1500, &oc), 2.0, 1e-12); /* 2 J in 1 s */
    assert_int_equal(oc, JP_COUNTER_OK);
    assert_float_equal(c.last_w, 2.0, 1e-12);
    /* backwards with no wrap to explain it: a new reference, the 3 s bridged at the last good 2 W */
    assert_float_equal(jp_counter_take(&c, 500, 14.0, 0, 1e-6, 1500, &oc), 6.0, 1e-12);
    assert_int_equal(oc, JP_COUNTER_BACKWARDS);
    assert_int_equal(c.last, 500);
    assert_float_equal(jp_counter_take(&c, 1500500, 15.0, 0, 1e-6, 1500, &oc), 1.5, 1e-12); /* from the new one */
    assert_int_equal(oc, JP_COUNTER_OK);
    /* 2 MJ in 1 s: no hardware draws that; bridged at the last good 1.5 W over the 1 s */
    assert_float_equal(jp_counter_take(&c, 1500500 + 2000000000000ULL, 16.0, 0, 1e-6, 1500, &oc), 1.5, 1e-12);
    assert_int_equal(oc, JP_COUNTER_JUMP);
    /* no time since the last read: nothing */
    assert_float_equal(jp_counter_take(&c, 1500500 + 2000000000001ULL, 16.0, 0, 1e-6, 1500, &oc), 0, 0);

    /* a 5 J range: 4.9 J -> 0.1 J over the wrap is 0.2 J, the part before the wrap included */
    memset(&c, 0, sizeof c);
    jp_counter_take(&c, 4900000, 0.0, RANGE_UJ, 1e-6, 1500, &oc);
    assert_float_equal(jp_counter_take(&c, 100000, 1.0, RANGE_UJ, 1e-6, 1500, &oc), 0.2, 1e-12);
    assert_int_equal(oc, JP_COUNTER_WRAPPED);
    /* a value beyond the range going down is no wrap: bridged at the last good 0.2 W over 2 s */
    memset(&c, 0, sizeof c);
    jp_counter_take(&c, 4900000, 0.0, RANGE_UJ, 1e-6, 1500, &oc);
    jp_counter_take(&c, 100000, 1.0, RANGE_UJ, 1e-6, 1500, &oc);
    jp_counter_take(&c, RANGE_UJ + 2000000, 2.0, RANGE_UJ, 1e-6, 1500, &oc); /* +6.9 J: beyond, but forward */
    assert_int_equal(oc, JP_COUNTER_OK);
    assert_float_equal(jp_counter_take(&c, 1000000, 4.0, RANGE_UJ, 1e-6, 1500, &oc), 2 * 6.9, 1e-9);
    assert_int_equal(oc, JP_COUNTER_BACKWARDS);

    /* a counter that moves in steps (NVML's): the power of a step is over the time since it last moved */
    memset(&c, 0, sizeof c);
    jp_counter_take(&c, 0, 0.0, 0, 1e-3, 1500, &oc);
    assert_float_equal(jp_counter_take(&c, 0, 0.05, 0, 1e-3, 1500, &oc), 0, 0);
    assert_float_equal(jp_counter_take(&c, 100, 0.1, 0, 1e-3, 1500, &oc), 0.1, 1e-12);
    assert_float_equal(c.last_w, 1.0, 1e-9); /* 0.1 J over 0.1 s, not over the 0.05 s sample */
}

static void test_domains_and_duplicates(void **state)
{
    (void)state;
    char *root = make_tree();
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    struct jp_source src;
    memset(&src, 0, sizeof src);
    src.ops = &jp_source_rapl_powercap;
    assert_int_equal(src.ops->open(&src, &env), JP_OK);
    /* package-0, core-0, dram-0, package-1; the MMIO repeat of package-0 is not a fifth domain */
    assert_int_equal(src.ndomains, 4);
    assert_string_equal(src.domains[0].name, "package-0");
    assert_string_equal(src.domains[1].name, "package-1");
    assert_string_equal(src.domains[2].name, "core-0");
    assert_string_equal(src.domains[3].name, "dram-0");
    assert_int_equal(src.domains[0].wrap, RANGE_UJ);
    assert_non_null(strstr(src.detail, "duplicate"));
    src.ops->close(&src);
    ft_rmroot(root);
}

static void test_wrapping_counters_known_power(void **state)
{
    (void)state;
    struct counters c;
    char *root = make_tree_counters(&c);
    const int n = 30;
    jp_meter *m = measure(&c, 0.1, n);
    /* 5 J range at up to 1500 W plausible: the meter must sample faster than asked */
    assert_true(jp_meter_interval(m) < 0.1);
    assert_joules(jp_meter_joules(m, find_domain(m, "package-0")), n * PKG_J, "package-0");
    assert_joules(jp_meter_joules(m, find_domain(m, "package-1")), n * PKG_J, "package-1");
    assert_joules(jp_meter_joules(m, find_domain(m, "dram-0")), n * DRAM_J, "dram-0");
    assert_joules(jp_meter_joules(m, find_domain(m, "core-0")), n * CORE_J, "core-0");
    /* total = packages + dram; core is inside the package and not added; mmio not counted twice */
    assert_false(jp_meter_domain_in_total(m, (size_t)find_domain(m, "core-0")));
    assert_joules(jp_meter_joules(m, JP_TOTAL), n * STEP_J, "total");
    /* every wrap seen: package-0 1 -> 31 J, core 0.5 -> 18.5 J, dram 0.2 -> 7.7 J over a 5 J range */
    uint64_t wraps = wraps_between(1.0, 1.0 + n * PKG_J, RANGE_UJ) + wraps_between(0.5, 0.5 + n * CORE_J, RANGE_UJ) +
                     wraps_between(0.2, 0.2 + n * DRAM_J, RANGE_UJ);
    assert_int_equal(jp_meter_wraps(m), wraps);
    assert_int_equal(jp_meter_glitches(m), 0);
    assert_false(jp_meter_estimated(m));
    double d = jp_meter_duration(m);
    assert_true(d > 0);
    assert_float_equal(jp_meter_mean_watts(m, JP_TOTAL), jp_meter_joules(m, JP_TOTAL) / d, 1e-9);
    assert_true(jp_meter_sample_count(m) > (size_t)n);
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_garbage_is_a_glitch_not_data(void **state)
{
    (void)state;
    struct counters c;
    char *root = make_tree_counters(&c);
    c.garbage_at = 4;
    jp_meter *m = measure(&c, 0.01, 12);
    assert_true(jp_meter_glitches(m) >= 1);
    /* skipped, and the next good read covers its interval: the figure stays exact */
    assert_joules(jp_meter_joules(m, find_domain(m, "package-0")), 12 * PKG_J, "package-0 with garbage");
    jp_meter_close(m);
    ft_rmroot(root);
}

/* A counter that was taken as a new reference after going wrong: the step it hid is bridged with
 * the last good power over that one sample, so the figure lies between the steps counted and one
 * step more than the bridge can add; never the 262 kJ of a false wrap nor the 1000 J jump. */
static void assert_bridged(double got, int good_steps, const char *what)
{
    double lo = good_steps * PKG_J;
    if (!(got >= lo - 1e-5 && got < lo + 50.0)) fail_msg("%s: got %.4f J, expected %.1f J plus one bridged sample", what, got, lo);
    /* and the bridge is there: the last good power (at least 1 J over the seconds a step can take
     * on a loaded machine) over the sample's span (at least the ~1 ms the sampler sleeps), not
     * nothing: the counted steps are exact to the microjoule, so 50 uJ more is the bridge */
    if (!(got > lo + 5e-5)) fail_msg("%s: got %.6f J: the hidden step was not bridged with the last good power", what, got);
}

static void test_backwards_and_vanishing(void **state)
{
    (void)state;
    struct counters c;
    char *root = make_tree_counters(&c);
    c.backwards_at = 4;
    c.vanish_at = 8;
    const int n = 14;
    jp_meter *m = measure(&c, 0.01, n);
    int dram = find_domain(m, "dram-0");
    assert_true(jp_meter_domain_gone(m, (size_t)dram));
    assert_true(jp_meter_glitches(m) >= 2);
    /* dram counted exactly while it existed (7 steps), nothing after */
    assert_joules(jp_meter_joules(m, dram), 7 * DRAM_J, "dram-0 until it vanished");
    /* package-1 went back 2 J once: skipped and bridged, not read as a wrap of 262 kJ */
    assert_bridged(jp_meter_joules(m, find_domain(m, "package-1")), n - 1, "package-1 after going back");
    assert_joules(jp_meter_joules(m, find_domain(m, "package-0")), n * PKG_J, "package-0 unaffected");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_impossible_jump_is_skipped(void **state)
{
    (void)state;
    struct counters c;
    char *root = make_tree_counters(&c);
    c.jump_at = 3;
    const int n = 10;
    jp_meter *m = measure(&c, 0.01, n);
    /* +1000 J in one sample is far above 1.5 kW: a glitch, and package-1 stays right */
    assert_true(jp_meter_glitches(m) >= 1);
    assert_bridged(jp_meter_joules(m, find_domain(m, "package-1")), n - 1, "package-1 after a jump");
    assert_joules(jp_meter_joules(m, find_domain(m, "package-0")), n * PKG_J, "package-0 unaffected");
    jp_meter_close(m);
    ft_rmroot(root);
}

/* The baseline is taken by jp_meter_baseline, which blocks: a thread steps the counters meanwhile. */
struct stepper {
    jp_meter *m;
    struct counters *c;
    volatile int stop;
    pthread_t th;
};

static void *stepper_main(void *arg)
{
    struct stepper *s = arg;
    while (!s->stop) {
        uint64_t n = jp_meter_samples_taken(s->m);
        while (!s->stop && jp_meter_samples_taken(s->m) <= n) usleep(200);
        if (s->stop) break;
        usleep(2000);
        s->c->steps++;
        s->c->pkg0 += PKG_J;
        s->c->pkg1 += PKG_J;
        s->c->core += CORE_J;
        s->c->dram += DRAM_J;
        write_all(s->c);
    }
    return NULL;
}

static void test_baseline_reports_energy_above_idle(void **state)
{
    (void)state;
    struct counters c;
    char *root = make_tree_counters(&c);
    jp_meter *m = open_powercap(0.01);
    struct stepper s = {m, &c, 0, 0};
    assert_int_equal(pthread_create(&s.th, NULL, stepper_main, &s), 0);
    assert_int_equal(jp_meter_baseline(m, 0.3), JP_OK);
    s.stop = 1;
    pthread_join(s.th, NULL);
    assert_true(jp_meter_has_baseline(m));
    /* idle: in each domain, the steps made while the baseline was taken, the last of which may
     * have come after its final read (the zones are written one after the other) */
    double bs = jp_meter_baseline_seconds(m);
    assert_true(bs >= 0.3);
    int nb = c.steps;
    const char *zones[] = {"package-0", "package-1", "dram-0"};
    const double per_step[] = {PKG_J, PKG_J, DRAM_J};
    double sum = 0;
    for (int z = 0; z < 3; z++) {
        double e = jp_meter_baseline_watts(m, find_domain(m, zones[z])) * bs;
        print_message("baseline %s: %d steps of %.2f J in %.3f s: %.4f J counted\n", zones[z], nb, per_step[z], bs, e);
        if (fabs(e - nb * per_step[z]) > 1e-5 && fabs(e - (nb - 1) * per_step[z]) > 1e-5)
            fail_msg("baseline %s: %.6f J, expected %d or %d steps of %.2f J", zones[z], e, nb - 1, nb, per_step[z]);
        sum += e;
    }
    assert_float_equal(jp_meter_baseline_watts(m, JP_TOTAL) * bs, sum, 1e-6);
    /* the "work": package-0 draws 0.5 J more per step */
    c.extra = 0.5;
    const int n = 20;
    assert_int_equal(jp_meter_start(m), JP_OK);
    steps(m, &c, n);
    assert_int_equal(jp_meter_stop(m), JP_OK);
    double d = jp_meter_duration(m);
    assert_joules(jp_meter_joules(m, JP_TOTAL), n * (STEP_J + 0.5), "raw energy");
    double above = n * (STEP_J + 0.5) - jp_meter_baseline_watts(m, JP_TOTAL) * d;
    assert_joules(jp_meter_joules_above_baseline(m, JP_TOTAL), above > 0 ? above : 0, "energy above idle");
    double above0 = n * (PKG_J + 0.5) - jp_meter_baseline_watts(m, find_domain(m, "package-0")) * d;
    assert_joules(jp_meter_joules_above_baseline(m, find_domain(m, "package-0")), above0 > 0 ? above0 : 0,
                  "package-0 above idle");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_api_misuse_is_an_error(void **state)
{
    (void)state;
    char *root = make_tree();
    jp_meter *m = open_powercap(0.1);
    assert_int_equal(jp_meter_stop(m), JP_ERR_STATE);
    assert_non_null(strstr(jp_last_error(), "not running"));
    assert_int_equal(jp_meter_start(m), JP_OK);
    assert_int_equal(jp_meter_start(m), JP_ERR_STATE);
    assert_int_equal(jp_meter_baseline(m, 1.0), JP_ERR_STATE);
    assert_int_equal(jp_meter_phase(m, "a-phase-name-that-is-far-too-long-to-keep"), JP_ERR_RANGE);
    assert_int_equal(jp_meter_phase(m, ""), JP_ERR_INVAL);
    assert_int_equal(jp_meter_stop(m), JP_OK);
    assert_true(isnan(jp_meter_joules(m, 99)));
    jp_meter_close(m);
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.interval_s = 0.0001;
    m = NULL;
    assert_int_equal(jp_meter_open(&m, &cfg), JP_ERR_RANGE);
    assert_null(m);
    assert_non_null(strstr(jp_last_error(), "1 ms"));
    ft_rmroot(root);
}

static void test_no_tree_says_why(void **state)
{
    (void)state;
    char *root = ft_mkroot("empty");
    setenv("JP_SYSFS_ROOT", root, 1);
    jp_source_status st[8];
    int n = jp_sources_probe(st, 8);
    assert_true(n >= 4);
    assert_string_equal(st[0].name, "rapl-powercap");
    assert_false(st[0].usable);
    assert_non_null(strstr(st[0].detail, "powercap"));
    ft_rmroot(root);
}

static void test_permission_denied_explained(void **state)
{
    (void)state;
    char *root = make_tree();
    ft_chmod(root, "", 0755);
    ft_chmod(root, "class/powercap/intel-rapl:0/energy_uj", 0400);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
        char why[512] = "";
        struct jp_source_env env;
        if (jp_source_env_init(&env, NULL) != JP_OK) _exit(4);
        int rc = ft_probe(&jp_source_rapl_powercap, &env, why, sizeof why);
        ssize_t wr = write(fds[1], why, strlen(why));
        (void)wr;
        _exit(rc == JP_OK ? 1 : 0);
    }
    close(fds[1]);
    char why[600] = "";
    ssize_t got = read(fds[0], why, sizeof why - 1);
    why[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    int ws;
    waitpid(pid, &ws, 0);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    assert_non_null(strstr(why, "root only"));
    assert_non_null(strstr(why, "energy_uj"));
    ft_rmroot(root);
}

static void test_bad_range_rejected(void **state)
{
    (void)state;
    char *root = make_tree();
    ft_write(root, "class/powercap/intel-rapl:1/max_energy_range_uj", "lots\n");
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-powercap";
    jp_meter *m = NULL;
    assert_int_equal(jp_meter_open(&m, &cfg), JP_ERR_PARSE);
    assert_null(m);
    assert_non_null(strstr(jp_last_error(), "max_energy_range_uj"));
    assert_non_null(strstr(jp_last_error(), "expected an unsigned integer"));
    ft_rmroot(root);
}

/* A zone "package-4294967296" is not package 0 (the number used to be cut to 32 bits); a subzone under
 * it is refused the same way. */
static void test_package_number_out_of_range_refused(void **state)
{
    (void)state;
    const char *bad[] = {"package-4294967296", "package-1x", "package-", "package-70000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *root = make_tree();
        ft_write(root, "class/powercap/intel-rapl:1/name", "%s\n", bad[i]);
        jp_meter_config cfg;
        jp_meter_config_init(&cfg);
        cfg.source = "rapl-powercap";
        jp_meter *m = NULL;
        assert_int_equal(jp_meter_open(&m, &cfg), JP_ERR_PARSE);
        assert_null(m);
        assert_non_null(strstr(jp_last_error(), "intel-rapl:1/name: expected package-N"));
        ft_rmroot(root);
    }
    char *root = make_tree();
    ft_write(root, "class/powercap/intel-rapl:0/name", "package-4294967296\n");
    ft_remove(root, "class/powercap/intel-rapl-mmio:0");
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-powercap";
    jp_meter *m = NULL;
    assert_int_equal(jp_meter_open(&m, &cfg), JP_ERR_PARSE);
    assert_null(m);
    ft_rmroot(root);
}

/* A FIFO in place of energy_uj: refused at once, naming the file (it used to block for ever). */
static void test_fifo_counter_refused(void **state)
{
    (void)state;
    char *root = make_tree();
    char path[4200];
    ft_remove(root, "class/powercap/intel-rapl:0/energy_uj");
    snprintf(path, sizeof path, "%s/class/powercap/intel-rapl:0/energy_uj", root);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(20);
    char why[512] = "";
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    assert_int_not_equal(ft_probe(&jp_source_rapl_powercap, &env, why, sizeof why), JP_OK);
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-powercap";
    jp_meter *m = NULL;
    assert_int_not_equal(jp_meter_open(&m, &cfg), JP_OK);
    assert_null(m);
    assert_non_null(strstr(jp_last_error(), "is a FIFO"));
    alarm(0);
    ft_rmroot(root);
}

static void test_phases_split_energy(void **state)
{
    (void)state;
    struct counters c;
    char *root = make_tree_counters(&c);
    jp_meter *m = open_powercap(0.01);
    jp_meter_start(m);
    assert_int_equal(jp_meter_phase(m, "load"), JP_OK);
    steps(m, &c, 4);
    assert_int_equal(jp_meter_phase(m, "infer"), JP_OK);
    steps(m, &c, 9);
    jp_meter_stop(m);
    assert_int_equal(jp_meter_phase_count(m), 2);
    assert_string_equal(jp_meter_phase_name(m, 0), "load");
    assert_string_equal(jp_meter_phase_name(m, 1), "infer");
    assert_joules(jp_meter_phase_joules(m, 0, JP_TOTAL), 4 * STEP_J, "load phase");
    assert_joules(jp_meter_phase_joules(m, 1, JP_TOTAL), 9 * STEP_J, "infer phase");
    assert_joules(jp_meter_phase_joules_by_name(m, "infer", JP_TOTAL), 9 * STEP_J, "infer phase by name");
    assert_int_equal(jp_meter_phase_index(m, "infer"), 1);
    assert_int_equal(jp_meter_phase_index(m, "train"), -1);
    assert_true(isnan(jp_meter_phase_joules_by_name(m, "train", JP_TOTAL)));
    assert_float_equal(jp_meter_phase_duration_by_name(m, "load"), jp_meter_phase_duration(m, 0), 1e-12);
    jp_meter_close(m);
    ft_rmroot(root);
}

/* The first mark names the first phase however late it comes (the bug: after 1 ms it added a
 * phase, and phase 1 was "load"): energy before it belongs to it. Repeated names add up by name. */
static void test_first_mark_names_the_first_phase(void **state)
{
    (void)state;
    struct counters c;
    char *root = make_tree_counters(&c);
    jp_meter *m = open_powercap(0.01);
    jp_meter_start(m);
    steps(m, &c, 3); /* several samples, well over 1 ms, before the first mark */
    assert_int_equal(jp_meter_phase(m, "load"), JP_OK);
    steps(m, &c, 2);
    assert_int_equal(jp_meter_phase(m, "infer"), JP_OK);
    steps(m, &c, 4);
    assert_int_equal(jp_meter_phase(m, "load"), JP_OK);
    steps(m, &c, 1);
    jp_meter_stop(m);
    assert_int_equal(jp_meter_phase_count(m), 3);
    assert_string_equal(jp_meter_phase_name(m, 0), "load");
    assert_string_equal(jp_meter_phase_name(m, 1), "infer");
    assert_joules(jp_meter_phase_joules(m, 0, JP_TOTAL), 5 * STEP_J, "first phase, with what came before its mark");
    assert_joules(jp_meter_phase_joules(m, 1, JP_TOTAL), 4 * STEP_J, "infer");
    assert_joules(jp_meter_phase_joules_by_name(m, "load", JP_TOTAL), 6 * STEP_J, "both load phases");
    assert_int_equal(jp_meter_phase_index(m, "load"), 0);
    /* every sample of the timeline names the phase it fell in */
    assert_string_equal(jp_meter_sample_phase(m, 0), "load");
    /* no mark at all: one phase named "run" */
    jp_meter_start(m);
    steps(m, &c, 2);
    jp_meter_stop(m);
    assert_int_equal(jp_meter_phase_count(m), 1);
    assert_string_equal(jp_meter_phase_name(m, 0), "run");
    assert_joules(jp_meter_phase_joules_by_name(m, "run", JP_TOTAL), 2 * STEP_J, "run");
    jp_meter_close(m);
    ft_rmroot(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_advance),
        cmocka_unit_test(test_counter_take),
        cmocka_unit_test(test_domains_and_duplicates),
        cmocka_unit_test(test_wrapping_counters_known_power),
        cmocka_unit_test(test_garbage_is_a_glitch_not_data),
        cmocka_unit_test(test_backwards_and_vanishing),
        cmocka_unit_test(test_impossible_jump_is_skipped),
        cmocka_unit_test(test_baseline_reports_energy_above_idle),
        cmocka_unit_test(test_api_misuse_is_an_error),
        cmocka_unit_test(test_no_tree_says_why),
        cmocka_unit_test(test_permission_denied_explained),
        cmocka_unit_test(test_bad_range_rejected),
        cmocka_unit_test(test_package_number_out_of_range_refused),
        cmocka_unit_test(test_fifo_counter_refused),
        cmocka_unit_test(test_phases_split_energy),
        cmocka_unit_test(test_first_mark_names_the_first_phase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
