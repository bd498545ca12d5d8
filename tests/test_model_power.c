/* The power model: /proc parsing, the TDP matcher, the curve, resolve, and its accuracy on the
 * in-repo CodeCarbon load profiles (the figures in BENCHMARKS.md, "Power model accuracy"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_tree.h"
#include "source/cpu_table.h"
#include "source/model_fit.h"
#include "source/model_power.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void unset(jp_model_params *p)
{
    memset(p, 0, sizeof *p);
    p->cpu_idle_w = p->cpu_max_w = p->curve = p->ram_w_per_gb = p->ram_gb = -1;
}

static jp_roots fake_roots(const char *root)
{
    jp_roots r;
    memset(&r, 0, sizeof r);
    jp_strlcpy(r.proc, root, sizeof r.proc);
    return r;
}

/* One /proc/cpuinfo block. */
static void block(char *buf, size_t len, int cpu, const char *brand, int phys, int core, int cores, bool hv)
{
    size_t used = strlen(buf);
    char ids[128] = "";
    if (phys >= 0) snprintf(ids, sizeof ids, "physical id\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n", phys, core, cores);
    snprintf(buf + used, len - used,
             "processor\t: %d\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: %d\nmodel name\t: %s\n%s"
             "flags\t\t: fpu vme de pse tsc msr pae%s sse sse2\n\n",
             cpu, 63 + cpu, brand, ids, hv ? " hypervisor" : "");
}

static const char *meminfo_ok = "MemTotal:       16318484 kB\nMemFree:         1234567 kB\n";

/* ---- /proc parsing ----------------------------------------------------------------------------- */

static void test_cpuinfo_bare_metal_two_sockets(void **state)
{
    (void)state;
    char *root = ft_mkroot("model-bare");
    char buf[8192] = "";
    /* 2 sockets x 2 cores x 2 threads */
    int n = 0;
    for (int t = 0; t < 2; t++)
        for (int s = 0; s < 2; s++)
            for (int c = 0; c < 2; c++)
                block(buf, sizeof buf, n++, "Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz", s, c, 2, false);
    ft_write(root, "cpuinfo", "%s", buf);
    ft_write(root, "meminfo", "%s", meminfo_ok);
    jp_roots r = fake_roots(root);
    struct jp_cpu_info info;
    assert_int_equal(jp_cpu_info_read(&r, &info), JP_OK);
    assert_string_equal(info.brand, "Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz");
    assert_int_equal(info.logical_cpus, 8);
    assert_int_equal(info.sockets, 2);
    assert_int_equal(info.cores, 4);
    assert_false(info.hypervisor);
    assert_true(fabs(info.mem_gb - 16318484.0 * 1024 / 1e9) < 1e-9);
    /* vendor, family and model of the first processor (what rapl-msr reads from the same parser) */
    assert_string_equal(info.vendor, "GenuineIntel");
    assert_int_equal(info.family, 6);
    assert_int_equal(info.model, 63);
    /* cpuinfo alone needs no meminfo */
    ft_remove(root, "meminfo");
    assert_int_equal(jp_host_cpuinfo(&r, &info), JP_OK);
    assert_int_equal(info.logical_cpus, 8);
    assert_float_equal(info.mem_gb, 0, 0);
    assert_int_equal(jp_cpu_info_read(&r, &info), JP_ERR_IO);
    ft_rmroot(root);
}

static void test_cpuinfo_vm(void **state)
{
    (void)state;
    char *root = ft_mkroot("model-vm");
    char buf[4096] = "";
    block(buf, sizeof buf, 0, "AMD EPYC", 0, 0, 2, true);
    block(buf, sizeof buf, 1, "AMD EPYC", 0, 1, 2, true);
    ft_write(root, "cpuinfo", "%s", buf);
    ft_write(root, "meminfo", "MemTotal: 4000000 kB\n");
    jp_roots r = fake_roots(root);
    struct jp_cpu_info info;
    assert_int_equal(jp_cpu_info_read(&r, &info), JP_OK);
    assert_true(info.hypervisor);
    assert_int_equal(info.logical_cpus, 2);
    assert_int_equal(info.sockets, 1);
    assert_int_equal(info.cores, 2);
    ft_rmroot(root);
}

static void test_cpuinfo_no_topology(void **state)
{
    (void)state;
    /* no physical id / core id (some ARM and container kernels): 1 socket, cores unknown */
    char *root = ft_mkroot("model-arm");
    ft_write(root, "cpuinfo", "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n");
    ft_write(root, "meminfo", "%s", meminfo_ok);
    jp_roots r = fake_roots(root);
    struct jp_cpu_info info;
    assert_int_equal(jp_cpu_info_read(&r, &info), JP_OK);
    assert_int_equal(info.logical_cpus, 2);
    assert_int_equal(info.sockets, 1);
    assert_int_equal(info.cores, 0);
    assert_string_equal(info.brand, "");
    assert_false(info.hypervisor);
    assert_string_equal(info.vendor, "");
    assert_int_equal(info.family, -1);
    assert_int_equal(info.model, -1);
    ft_rmroot(root);
}

static void test_cpuinfo_errors(void **state)
{
    (void)state;
    char *root = ft_mkroot("model-err");
    jp_roots r = fake_roots(root);
    struct jp_cpu_info info;

    /* no cpuinfo at all */
    assert_int_equal(jp_cpu_info_read(&r, &info), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "cpuinfo"));

    /* no processor entries */
    ft_write(root, "cpuinfo", "vendor_id\t: GenuineIntel\n");
    ft_write(root, "meminfo", "%s", meminfo_ok);
    assert_int_equal(jp_cpu_info_read(&r, &info), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "cpuinfo"));
    assert_non_null(strstr(jp_last_error(), "processor"));

    /* a bad physical id */
    ft_write(root, "cpuinfo", "processor\t: 0\nphysical id\t: x\n");
    assert_int_equal(jp_cpu_info_read(&r, &info), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "physical id"));

    /* meminfo: missing file, bad value, wrong unit, no MemTotal */
    ft_write(root, "cpuinfo", "processor\t: 0\nmodel name\t: AMD EPYC\n");
    ft_remove(root, "meminfo");
    assert_int_equal(jp_cpu_info_read(&r, &info), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "meminfo"));
    const char *bad[] = {"MemTotal: lots kB\n", "MemTotal: -5 kB\n", "MemTotal: 0 kB\n", "MemTotal: 1024 MB\n",
                         "MemFree: 1024 kB\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ft_write(root, "meminfo", "%s", bad[i]);
        assert_int_equal(jp_cpu_info_read(&r, &info), JP_ERR_PARSE);
        assert_non_null(strstr(jp_last_error(), "meminfo"));
        assert_non_null(strstr(jp_last_error(), "MemTotal"));
    }
    ft_rmroot(root);
}

/* ---- the TDP matcher --------------------------------------------------------------------------- */

static void expect_match(const char *brand, const char *name, double tdp)
{
    const struct jp_cpu_tdp *t = jp_cpu_tdp_match(brand);
    if (!t) fail_msg("no match for \"%s\", expected \"%s\"", brand, name);
    if (strcmp(jp_cpu_tdp_name(t), name))
        fail_msg("\"%s\" matched \"%s\", expected \"%s\"", brand, jp_cpu_tdp_name(t), name);
    assert_true(fabs(t->tdp_w - tdp) < 1e-9);
}

static void test_tdp_match(void **state)
{
    (void)state;
    /* the five profiled machines */
    expect_match("AMD EPYC 8024P 8-Core Processor", "AMD EPYC 8024P", 90);
    expect_match("AMD Ryzen Threadripper 1950X 16-Core Processor", "AMD Ryzen Threadripper 1950X", 180);
    expect_match("Intel(R) Xeon(R) CPU E3-1240 V2 @ 3.40GHz", "Intel Xeon E3-1240 v2", 69);
    expect_match("Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz", "Intel Xeon E5-2620 v3", 85);
    /* the most specific entry wins; the plain one is still found */
    expect_match("Intel(R) Xeon(R) CPU E3-1240 @ 3.30GHz", "Intel Xeon E3-1240", 80);
    expect_match("Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz", "Intel Xeon Gold 6140", 140);
    expect_match("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", "Intel Core i7-8650U", 15);
    expect_match("Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz", "Intel Core i5-8400", 65);
    expect_match("AMD Ryzen 7 5800X 8-Core Processor", "AMD Ryzen 7 5800X", 105);
    expect_match("AMD Ryzen 7 5800X3D 8-Core Processor", "AMD Ryzen 7 5800X3D", 105);
    /* nothing fits: no model number (this machine's brand), garbage, empty */
    assert_null(jp_cpu_tdp_match("AMD EPYC"));
    assert_null(jp_cpu_tdp_match("Intel(R) Xeon(R) CPU @ 2.20GHz"));
    assert_null(jp_cpu_tdp_match("QEMU Virtual CPU version 2.5+"));
    assert_null(jp_cpu_tdp_match(""));
    assert_null(jp_cpu_tdp_match(NULL));
}

/* ---- the curve --------------------------------------------------------------------------------- */

static void test_curve(void **state)
{
    (void)state;
    jp_model_params p;
    unset(&p);
    p.cpu_idle_w = 10;
    p.cpu_max_w = 100;
    for (double k = 0.5; k <= 6; k += 0.5) {
        p.curve = k;
        assert_true(fabs(jp_model_cpu_watts(&p, 0) - 10) < 1e-12);
        assert_true(fabs(jp_model_cpu_watts(&p, 1) - 100) < 1e-12);
        double prev = jp_model_cpu_watts(&p, 0);
        for (int i = 1; i <= 1000; i++) {
            double w = jp_model_cpu_watts(&p, i / 1000.0);
            assert_true(w >= prev);
            assert_true(w >= 10 && w <= 100);
            prev = w;
        }
    }
    /* k > 1 is concave: above the straight line in between */
    p.curve = 1.9;
    assert_true(jp_model_cpu_watts(&p, 0.5) > 55);
    p.curve = 1;
    assert_true(fabs(jp_model_cpu_watts(&p, 0.5) - 55) < 1e-12);
    /* out of range and NaN clamp */
    assert_true(fabs(jp_model_cpu_watts(&p, -3) - 10) < 1e-12);
    assert_true(fabs(jp_model_cpu_watts(&p, 7) - 100) < 1e-12);
    assert_true(fabs(jp_model_cpu_watts(&p, NAN) - 10) < 1e-12);
    /* memory */
    p.ram_w_per_gb = 0.392;
    p.ram_gb = 16;
    assert_true(fabs(jp_model_ram_watts(&p) - 6.272) < 1e-12);
}

/* ---- resolve ----------------------------------------------------------------------------------- */

static struct jp_cpu_info machine(const char *brand, int cpus, int sockets, bool hv, double gb)
{
    struct jp_cpu_info i;
    memset(&i, 0, sizeof i);
    jp_strlcpy(i.brand, brand, sizeof i.brand);
    i.logical_cpus = cpus;
    i.sockets = sockets;
    i.hypervisor = hv;
    i.mem_gb = gb;
    return i;
}

static void test_resolve_bare_metal(void **state)
{
    (void)state;
    struct jp_cpu_info i = machine("Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz", 24, 2, false, 64);
    jp_model_params p;
    unset(&p);
    jp_model_resolve(&i, &p);
    assert_true(fabs(p.cpu_idle_w - jp_model_shipped.idle_frac * 170) < 1e-9);
    assert_true(fabs(p.cpu_max_w - jp_model_shipped.max_frac * 170) < 1e-9);
    assert_true(fabs(p.curve - jp_model_shipped.curve) < 1e-12);
    assert_true(fabs(p.ram_w_per_gb - 0.392) < 1e-12);
    assert_true(fabs(p.ram_gb - 64) < 1e-12);
    assert_non_null(strstr(p.basis, "Intel Xeon E5-2620 v3"));
    assert_non_null(strstr(p.basis, "TDP 85 W x2"));
    assert_non_null(strstr(p.basis, "CodeCarbon"));
    assert_non_null(strstr(p.basis, "RAM 0.392 W/GB (CCF)"));
    assert_null(strstr(p.basis, "user"));
    assert_true(strlen(p.basis) < sizeof p.basis - 1); /* not truncated */
}

static void test_resolve_vm_and_unknown(void **state)
{
    (void)state;
    /* a VM uses per-vCPU figures even when the CPU is in the table */
    struct jp_cpu_info vm = machine("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", 4, 1, true, 16);
    jp_model_params p;
    unset(&p);
    jp_model_resolve(&vm, &p);
    assert_true(fabs(p.cpu_idle_w - 4 * (0.74 + 0.71 + 0.78) / 3) < 1e-9);
    assert_true(fabs(p.cpu_max_w - 4 * (3.5 + 4.26 + 3.76) / 3) < 1e-9);
    assert_non_null(strstr(p.basis, "VM: 4 vCPU"));
    assert_non_null(strstr(p.basis, "CCF"));
    assert_true(strlen(p.basis) < sizeof p.basis - 1);

    /* bare metal, CPU not in the table: the same per-thread figures, said so */
    struct jp_cpu_info unk = machine("AMD EPYC", 2, 1, false, 8);
    unset(&p);
    jp_model_resolve(&unk, &p);
    assert_true(fabs(p.cpu_max_w - 2 * (3.5 + 4.26 + 3.76) / 3) < 1e-9);
    assert_non_null(strstr(p.basis, "not in TDP table"));
    assert_true(p.cpu_max_w > p.cpu_idle_w);
}

static void test_resolve_keeps_user_values(void **state)
{
    (void)state;
    struct jp_cpu_info i = machine("AMD EPYC 8024P 8-Core Processor", 16, 1, false, 32);
    jp_model_params p;
    unset(&p);
    p.cpu_max_w = 55;
    p.ram_gb = 0;
    jp_model_resolve(&i, &p);
    assert_true(fabs(p.cpu_max_w - 55) < 1e-12);
    assert_true(fabs(p.ram_gb) < 1e-12);
    assert_true(fabs(p.cpu_idle_w - jp_model_shipped.idle_frac * 90) < 1e-9);
    assert_true(fabs(p.curve - jp_model_shipped.curve) < 1e-12);
    assert_non_null(strstr(p.basis, "user set max GB"));

    unset(&p);
    p.cpu_idle_w = 3;
    p.cpu_max_w = 40;
    p.curve = 1;
    p.ram_w_per_gb = 0.5;
    jp_model_resolve(&i, &p);
    assert_true(fabs(p.cpu_idle_w - 3) < 1e-12);
    assert_true(fabs(p.cpu_max_w - 40) < 1e-12);
    assert_true(fabs(p.curve - 1) < 1e-12);
    assert_true(fabs(p.ram_w_per_gb - 0.5) < 1e-12);
    assert_true(fabs(p.ram_gb - 32) < 1e-12);
    assert_non_null(strstr(p.basis, "user set idle max curve W/GB"));
    assert_true(fabs(jp_model_cpu_watts(&p, 0.5) - 21.5) < 1e-12);
}

/* ---- accuracy on the in-repo profiles (BENCHMARKS.md, "Power model accuracy") ------------------ */

static const struct {
    const char *name;
    size_t rows;
    double mae_model; /* held out, W */
    double mae_cc;    /* CodeCarbon's estimate, W */
    double mae_lin;   /* the same model held to a linear curve (k = 1), held out, W */
} expected[] = {
    {"AMD_EPYC_8024P_8C", 22, 11.44, 14.08, 13.71},
    {"AMD_Threadripper", 22, 42.95, 10.78, 44.72},
    {"E3-1240", 20, 6.44, 9.41, 9.05},
    {"E5-1240", 20, 22.71, 18.22, 23.24},
    {"E5-2620", 22, 22.03, 25.86, 26.61},
};

static void test_accuracy_leave_one_out(void **state)
{
    (void)state;
    const char *src = getenv("JP_TEST_SRC_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/data/cpu_load_profiling", src && *src ? src : ".");
    struct jp_fit_set set;
    if (jp_fit_load(dir, &set) != JP_OK) fail_msg("%s", jp_last_error());
    assert_int_equal(set.n, sizeof expected / sizeof *expected);
    int beaten = 0;
    for (size_t i = 0; i < set.n; i++) {
        const struct jp_fit_machine *m = &set.m[i];
        assert_string_equal(m->name, expected[i].name);
        assert_int_equal(m->nrows, expected[i].rows);
        assert_non_null(m->match);
        assert_int_equal(m->sockets, strcmp(m->name, "E5-2620") ? 1 : 2);
        struct jp_model_fractions fr;
        assert_int_equal(jp_fit_search(&set, i, &fr), JP_OK);
        double mae = jp_fit_mae(m, &fr), cc = jp_fit_cc_mae(m);
        if (fabs(mae - expected[i].mae_model) > 0.01 || fabs(cc - expected[i].mae_cc) > 0.01)
            fail_msg("%s: held-out MAE %.3f W (BENCHMARKS.md says %.2f), CodeCarbon %.3f W (says %.2f)", m->name,
                     mae, expected[i].mae_model, cc, expected[i].mae_cc);
        /* the published outcome, machine by machine: the model beats CodeCarbon where
         * BENCHMARKS.md says so, and the two machines it does not beat stay reported as such */
        assert_int_equal(mae < cc, expected[i].mae_model < expected[i].mae_cc);
        beaten += mae < cc;
        /* the fitted curve does better than a straight line on every machine */
        struct jp_model_fractions lin;
        assert_int_equal(jp_fit_search_curve(&set, i, 1.0, &lin), JP_OK);
        assert_true(fabs(lin.curve - 1.0) < 1e-12);
        double mlin = jp_fit_mae(m, &lin);
        if (fabs(mlin - expected[i].mae_lin) > 0.01)
            fail_msg("%s: linear held-out MAE %.3f W (BENCHMARKS.md says %.2f)", m->name, mlin, expected[i].mae_lin);
        assert_true(mae < mlin);
        /* the prediction helper goes through the same path */
        assert_true(fabs(jp_fit_predict(m, &fr, 0.5) -
                         m->sockets * m->match->tdp_w *
                             (fr.idle_frac + (fr.max_frac - fr.idle_frac) * (1 - pow(0.5, fr.curve)))) < 1e-9);
    }
    assert_int_equal(beaten, 3);

    /* the shipped defaults are the fit on all five machines */
    struct jp_model_fractions all;
    assert_int_equal(jp_fit_search(&set, set.n, &all), JP_OK);
    assert_true(fabs(all.idle_frac - jp_model_shipped.idle_frac) < 1e-9);
    assert_true(fabs(all.max_frac - jp_model_shipped.max_frac) < 1e-9);
    assert_true(fabs(all.curve - jp_model_shipped.curve) < 1e-9);
    jp_fit_free(&set);
}

static void test_fit_load_errors(void **state)
{
    (void)state;
    struct jp_fit_set set;
    char *root = ft_mkroot("model-fit");
    assert_int_equal(jp_fit_load(root, &set), JP_ERR_NOTFOUND);
    ft_write(root, "m1/a.csv", "cpu_name,cores_used,cpu_load,rapl_power,estimated_power\nX,4,150,1,1\n");
    assert_int_equal(jp_fit_load(root, &set), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "cpu_load"));
    assert_non_null(strstr(jp_last_error(), "a.csv:2"));
    ft_write(root, "m1/a.csv", "name,load\nX,4\n");
    assert_int_equal(jp_fit_load(root, &set), JP_ERR_PARSE);
    ft_write(root, "m1/a.csv",
             "cpu_name,cores_used,cpu_load,rapl_power,estimated_power\n"
             "Intel(R) Xeon(R) CPU E3-1240 V2 @ 3.40GHz,8,50,30,33\n"
             "Intel(R) Xeon(R) CPU E3-1240 V2 @ 3.40GHz,8,100,48,66\n");
    ft_write(root, "m1/a-tasks.csv", "\n");
    assert_int_equal(jp_fit_load(root, &set), JP_OK);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.m[0].nrows, 2);
    assert_int_equal(set.m[0].logical_cpus, 8);
    assert_true(fabs(jp_fit_cc_mae(&set.m[0]) - 10.5) < 1e-12);
    jp_fit_free(&set);
    ft_rmroot(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuinfo_bare_metal_two_sockets),
        cmocka_unit_test(test_cpuinfo_vm),
        cmocka_unit_test(test_cpuinfo_no_topology),
        cmocka_unit_test(test_cpuinfo_errors),
        cmocka_unit_test(test_tdp_match),
        cmocka_unit_test(test_curve),
        cmocka_unit_test(test_resolve_bare_metal),
        cmocka_unit_test(test_resolve_vm_and_unknown),
        cmocka_unit_test(test_resolve_keeps_user_values),
        cmocka_unit_test(test_accuracy_leave_one_out),
        cmocka_unit_test(test_fit_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
