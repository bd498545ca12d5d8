/*
 * rapl-powercap and the meter on fake powercap trees: counters that advance at a known power and
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "source/source.h"

#define RANGE_UJ 5000000ULL /* 5 J: at 20 W the package counter wraps every 0.25 s */
/* package-1 has a real-size range, so that a backwards jump cannot pass for a wrap */
#define RANGE_BIG_UJ 262143328850ULL

struct writer {
    char *root;
    double pkg_w, dram_w, core_w;
    volatile int stop;
    /* mischief, at these times in seconds after the writer starts (0 = never); by time, not by
     * tick, so that a loaded machine cannot make the run end before they happen */
    volatile double garbage_at;   /* write garbage into package-0 for 50 ms */
    volatile double vanish_at;    /* remove the dram zone */
    volatile double backwards_at; /* make package-1 step back 2 J */
    volatile double jump_at;      /* make package-1 jump forward by 1000 J (an impossible power) */
    volatile double extra_w;   /* added to package-0's power from now on */
    pthread_t th;
    double t0;
};

static void write_counter(const char *root, const char *zone, double joules)
{
    char rel[256];
    snprintf(rel, sizeof rel, "class/powercap/%s/energy_uj", zone);
    uint64_t range = strcmp(zone, "intel-rapl:1") ? RANGE_UJ : RANGE_BIG_UJ;
    uint64_t uj = (uint64_t)(joules * 1e6) % range;
    ft_write(root, rel, "%llu\n", (unsigned long long)uj);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    double back = 0, extra_j = 0, last_t = 0;
    int vanished = 0, stepped = 0, jumped = 0;
    while (!w->stop) {
        double t = jp_now() - w->t0;
        extra_j += w->extra_w * (t - last_t);
        last_t = t;
        if (w->garbage_at > 0 && t >= w->garbage_at && t < w->garbage_at + 0.05)
            ft_write(w->root, "class/powercap/intel-rapl:0/energy_uj", "12x9!\n");
        else
            write_counter(w->root, "intel-rapl:0", 1.0 + w->pkg_w * t + extra_j);
        if (w->backwards_at > 0 && t >= w->backwards_at && !stepped) {
            back = 2.0;
            stepped = 1;
        }
        if (w->jump_at > 0 && t >= w->jump_at && !jumped) {
            back = -1000.0;
            jumped = 1;
        }
        write_counter(w->root, "intel-rapl:1", 3.0 + w->pkg_w * t - back);
        write_counter(w->root, "intel-rapl:0:0", 0.5 + w->core_w * t);
        write_counter(w->root, "intel-rapl-mmio:0", 1.0 + w->pkg_w * t);
        if (w->vanish_at > 0 && t >= w->vanish_at) {
            if (!vanished) ft_remove(w->root, "class/powercap/intel-rapl:0:1");
            vanished = 1;
        } else {
            write_counter(w->root, "intel-rapl:0:1", 0.2 + w->dram_w * t);
        }
        usleep(2000);
    }
    return NULL;
}

static void make_zone(const char *root, const char *zone, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "class/powercap/%s/name", zone);
    ft_write(root, rel, "%s\n", name);
    snprintf(rel, sizeof rel, "class/powercap/%s/max_energy_range_uj", zone);
    ft_write(root, rel, "%llu\n", strcmp(zone, "intel-rapl:1") ? RANGE_UJ : RANGE_BIG_UJ);
    write_counter(root, zone, 0);
}

/* Two packages, core and dram under package 0, and an MMIO zone repeating package 0. */
static char *make_tree(void)
{
    char *root = ft_mkroot("powercap");
    make_zone(root, "intel-rapl:0", "package-0");
    make_zone(root, "intel-rapl:0:0", "core");
    make_zone(root, "intel-rapl:0:1", "dram");
    make_zone(root, "intel-rapl:1", "package-1");
    make_zone(root, "intel-rapl-mmio:0", "package-0");
    setenv("JP_SYSFS_ROOT", root, 1);
    return root;
}

static void start_writer(struct writer *w, char *root)
{
    w->root = root;
    w->pkg_w = 20.0;
    w->dram_w = 5.0;
    w->core_w = 12.0;
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

static void assert_near(double got, double want, double rel, const char *what)
{
    if (fabs(got - want) > rel * want) fail_msg("%s: got %.4f, expected %.4f within %.0f%%", what, got, want, rel * 100);
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

/* Runs the writer (with whatever mischief w was set up for) and a meter for `seconds`. */
static jp_meter *measure(struct writer *w, char *root, double interval, double seconds)
{
    start_writer(w, root);
    jp_meter *m = open_powercap(interval);
    assert_int_equal(jp_meter_start(m), JP_OK);
    usleep((useconds_t)(seconds * 1e6));
    assert_int_equal(jp_meter_stop(m), JP_OK);
    stop_writer(w);
    return m;
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
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    jp_meter *m = measure(&w, root, 0.1, 1.2);
    /* 5 J range at up to 1500 W plausible: the meter must sample faster than asked */
    assert_true(jp_meter_interval(m) < 0.1);
    double d = jp_meter_duration(m);
    assert_true(d > 1.1 && d < 2.0);
    assert_near(jp_meter_joules(m, find_domain(m, "package-0")), 20.0 * d, 0.05, "package-0");
    assert_near(jp_meter_joules(m, find_domain(m, "package-1")), 20.0 * d, 0.05, "package-1");
    assert_near(jp_meter_joules(m, find_domain(m, "dram-0")), 5.0 * d, 0.05, "dram-0");
    assert_near(jp_meter_joules(m, find_domain(m, "core-0")), 12.0 * d, 0.05, "core-0");
    /* total = packages + dram; core is inside the package and not added; mmio not counted twice */
    assert_false(jp_meter_domain_in_total(m, (size_t)find_domain(m, "core-0")));
    assert_near(jp_meter_joules(m, JP_TOTAL), 45.0 * d, 0.05, "total");
    assert_true(jp_meter_wraps(m) >= 6); /* in 1.2 s: package-0 24 J, core-0 14 J, dram 6 J over a 5 J range */
    assert_false(jp_meter_estimated(m));
    assert_near(jp_meter_mean_watts(m, JP_TOTAL), 45.0, 0.05, "mean power");
    assert_true(jp_meter_sample_count(m) > 10);
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_garbage_is_a_glitch_not_data(void **state)
{
    (void)state;
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    w.garbage_at = 0.25;
    jp_meter *m = measure(&w, root, 0.01, 0.9);
    double d = jp_meter_duration(m);
    assert_true(jp_meter_glitches(m) >= 1);
    /* skipped, and the next good read covers its interval: the figure stays right */
    assert_near(jp_meter_joules(m, find_domain(m, "package-0")), 20.0 * d, 0.05, "package-0 with garbage");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_backwards_and_vanishing(void **state)
{
    (void)state;
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    w.backwards_at = 0.2;
    w.vanish_at = 0.4;
    jp_meter *m = measure(&w, root, 0.01, 0.9);
    double d = jp_meter_duration(m);
    int dram = find_domain(m, "dram-0");
    assert_true(jp_meter_domain_gone(m, (size_t)dram));
    assert_true(jp_meter_glitches(m) >= 2);
    /* dram counted only while it existed: more than zero, less than the whole run */
    double dj = jp_meter_joules(m, dram);
    assert_true(dj > 0.5 && dj < 5.0 * d);
    /* package-1 jumped back 2 J once: skipped and bridged, not read as a wrap of 262 kJ */
    assert_near(jp_meter_joules(m, find_domain(m, "package-1")), 20.0 * d, 0.05, "package-1 after going back");
    assert_near(jp_meter_joules(m, find_domain(m, "package-0")), 20.0 * d, 0.05, "package-0 unaffected");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_impossible_jump_is_skipped(void **state)
{
    (void)state;
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    w.jump_at = 0.2;
    jp_meter *m = measure(&w, root, 0.01, 0.8);
    double d = jp_meter_duration(m);
    /* +1000 J in one sample is far above 1.5 kW: a glitch, and package-1 stays right */
    assert_true(jp_meter_glitches(m) >= 1);
    assert_near(jp_meter_joules(m, find_domain(m, "package-1")), 20.0 * d, 0.05, "package-1 after a jump");
    jp_meter_close(m);
    ft_rmroot(root);
}

static void test_baseline_reports_energy_above_idle(void **state)
{
    (void)state;
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    start_writer(&w, root);
    jp_meter *m = open_powercap(0.01);
    assert_int_equal(jp_meter_baseline(m, 0.4), JP_OK);
    assert_true(jp_meter_has_baseline(m));
    /* idle: 2 x 20 W packages + 5 W dram */
    assert_near(jp_meter_baseline_watts(m, JP_TOTAL), 45.0, 0.05, "idle power");
    w.extra_w = 10.0; /* the "work": package-0 draws 10 W more */
    usleep(20000);
    jp_meter_start(m);
    usleep(600000);
    jp_meter_stop(m);
    stop_writer(&w);
    double d = jp_meter_duration(m);
    assert_near(jp_meter_joules(m, JP_TOTAL), 55.0 * d, 0.05, "raw energy");
    assert_near(jp_meter_joules_above_baseline(m, JP_TOTAL), 10.0 * d, 0.25, "energy above idle");
    assert_near(jp_meter_joules_above_baseline(m, find_domain(m, "package-0")), 10.0 * d, 0.25, "package-0 above idle");
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
        int rc = jp_source_probe(&jp_source_rapl_powercap, &env, why, sizeof why);
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

static void test_phases_split_energy(void **state)
{
    (void)state;
    char *root = make_tree();
    struct writer w;
    memset(&w, 0, sizeof w);
    start_writer(&w, root);
    jp_meter *m = open_powercap(0.01);
    jp_meter_start(m);
    assert_int_equal(jp_meter_phase(m, "load"), JP_OK);
    usleep(300000);
    assert_int_equal(jp_meter_phase(m, "infer"), JP_OK);
    usleep(600000);
    jp_meter_stop(m);
    stop_writer(&w);
    assert_int_equal(jp_meter_phase_count(m), 2);
    assert_string_equal(jp_meter_phase_name(m, 0), "load");
    assert_string_equal(jp_meter_phase_name(m, 1), "infer");
    double l = jp_meter_phase_joules(m, 0, JP_TOTAL), i = jp_meter_phase_joules(m, 1, JP_TOTAL);
    assert_near(l, 45.0 * jp_meter_phase_duration(m, 0), 0.08, "load phase");
    assert_near(i, 45.0 * jp_meter_phase_duration(m, 1), 0.05, "infer phase");
    assert_near(l + i, jp_meter_joules(m, JP_TOTAL), 1e-9, "phases add up");
    jp_meter_close(m);
    ft_rmroot(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
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
        cmocka_unit_test(test_phases_split_energy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
