/* rapl-msr on fake /dev/cpu/N/msr files (sparse regular files read with pread at the MSR address),
 * fake sysfs topology and a fake /proc/cpuinfo. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_tree.h"
#include "jouleprint.h"
#include "source/source.h"

#define INTEL_UNIT 0x606u
#define INTEL_PKG 0x611u
#define INTEL_DRAM 0x619u
#define INTEL_PP0 0x639u
#define INTEL_PP1 0x641u
#define AMD_UNIT 0xC0010299u
#define AMD_CORE 0xC001029Au
#define AMD_PKG 0xC001029Bu

/* RAPL_POWER_UNIT with a given energy status unit (bits 12:8); power and time units are typical. */
static uint64_t unit_msr(unsigned esu) { return 0x000A0003ull | ((uint64_t)(esu & 0x1F) << 8); }

struct msr_val {
    uint32_t addr;
    uint64_t val;
};

/* Writes <root>/dev/cpu/<cpu>/msr holding exactly these MSRs (a sparse file ending after the
 * highest one, so that reads past it are short, as an unimplemented MSR fails), atomically. */
static void write_msr(const char *root, int cpu, const struct msr_val *v, size_t n)
{
    char dir[4096], tmp[4200], path[4200];
    snprintf(dir, sizeof dir, "dev/cpu/%d", cpu);
    ft_mkdirs(root, dir);
    snprintf(path, sizeof path, "%s/%s/msr", root, dir);
    snprintf(tmp, sizeof tmp, "%s/%s/.msr.tmp", root, dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(tmp);
        abort();
    }
    for (size_t i = 0; i < n; i++)
        if (pwrite(fd, &v[i].val, sizeof v[i].val, (off_t)v[i].addr) != (ssize_t)sizeof v[i].val) {
            perror("pwrite");
            abort();
        }
    close(fd);
    if (rename(tmp, path) != 0) {
        perror("rename");
        abort();
    }
}

static void write_topology(const char *root, int cpu, int pkg, int core)
{
    char rel[256];
    snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
    ft_write(root, rel, "%d\n", pkg);
    snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
    ft_write(root, rel, "%d\n", core);
    snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/topology/die_id", cpu);
    ft_write(root, rel, "0\n");
}

static void write_cpuinfo(const char *root, const char *vendor, int family, int model, int ncpus)
{
    char text[8192];
    size_t off = 0;
    for (int i = 0; i < ncpus; i++)
        off += (size_t)snprintf(text + off, sizeof text - off,
                                "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %d\nmodel\t\t: %d\n"
                                "model name\t: Fake CPU\nstepping\t: 1\n\n",
                                i, vendor, family, model);
    ft_write(root, "proc/cpuinfo", "%s", text);
}

/* A fresh fake root with dev, sys and proc, pointed to by the JP_*_ROOT variables. */
static char *make_root(void)
{
    char *root = ft_mkroot("msr");
    ft_mkdirs(root, "dev");
    ft_mkdirs(root, "sys");
    ft_mkdirs(root, "proc");
    char p[4200];
    snprintf(p, sizeof p, "%s/dev", root);
    setenv("JP_DEV_ROOT", p, 1);
    snprintf(p, sizeof p, "%s/sys", root);
    setenv("JP_SYSFS_ROOT", p, 1);
    snprintf(p, sizeof p, "%s/proc", root);
    setenv("JP_PROC_ROOT", p, 1);
    return root;
}

static int find_domain(const struct jp_source *src, const char *name)
{
    for (size_t i = 0; i < src->ndomains; i++)
        if (!strcmp(src->domains[i].name, name)) return (int)i;
    return -1;
}

static int open_src(struct jp_source *src)
{
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    memset(src, 0, sizeof *src);
    src->ops = &jp_source_rapl_msr;
    return jp_source_rapl_msr.open(src, &env);
}

static int probe_src(char *why, size_t len)
{
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    why[0] = '\0';
    return ft_probe(&jp_source_rapl_msr, &env, why, len);
}

/* Two Intel packages, four CPUs (0,1 on package 0; 2,3 on package 1); the representative CPUs 0 and 2
 * carry distinct counters, the siblings carry values that would be wrong if read. */
static void intel_two_packages(const char *root, unsigned esu, int model)
{
    write_cpuinfo(root, "GenuineIntel", 6, model, 4);
    for (int cpu = 0; cpu < 4; cpu++) {
        write_topology(root, cpu, cpu / 2, cpu % 2);
        uint64_t base = cpu % 2 ? 0x77777777u : 0;
        uint64_t p = (uint64_t)cpu * 0x100000;
        struct msr_val v[] = {
            {INTEL_UNIT, unit_msr(esu)},
            {INTEL_PKG, 0xDEADBEEF00000000ull | (base + p + 0x1111)},
            {INTEL_DRAM, base + p + 0x2222},
            {INTEL_PP0, base + p + 0x3333},
            {INTEL_PP1, base + p + 0x4444},
        };
        write_msr(root, cpu, v, 5);
    }
}

static void test_intel_units_two_packages(void **state)
{
    (void)state;
    char *root = make_root();
    intel_two_packages(root, 14, 0x8C /* Tiger Lake: unit from the MSR for every domain */);

    char why[512];
    assert_int_equal(probe_src(why, sizeof why), JP_OK);

    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    assert_int_equal(src.ndomains, 8);
    static const char *const names[] = {"package-0", "dram-0", "core-0", "uncore-0",
                                        "package-1", "dram-1", "core-1", "uncore-1"};
    static const jp_domain_kind kinds[] = {JP_DOMAIN_PACKAGE, JP_DOMAIN_DRAM, JP_DOMAIN_CORE,
                                           JP_DOMAIN_UNCORE};
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(src.domains[i].name, names[i]);
        assert_int_equal(src.domains[i].kind, kinds[i % 4]);
        assert_true(src.domains[i].joules_per_unit == ldexp(1.0, -14)); /* 61.035 uJ exactly */
        assert_true(src.domains[i].wrap == (1ull << 32));
        assert_false(src.domains[i].estimated);
    }
    printf("# detail: %s\n", src.detail);
    assert_non_null(strstr(src.detail, "Intel"));
    assert_non_null(strstr(src.detail, "2 packages"));
    assert_non_null(strstr(src.detail, "package, dram, core, uncore"));
    assert_non_null(strstr(src.detail, "61.04 uJ"));

    uint64_t raw[JP_MAX_DOMAINS];
    enum jp_read_status st[JP_MAX_DOMAINS];
    assert_int_equal(jp_source_rapl_msr.read(&src, raw, st), JP_OK);
    for (size_t i = 0; i < 8; i++) assert_int_equal(st[i], JP_READ_OK);
    /* package-0 from CPU 0 (upper 32 bits masked off), package-1 from CPU 2, never a sibling */
    assert_true(raw[0] == 0x1111);
    assert_true(raw[1] == 0x2222);
    assert_true(raw[2] == 0x3333);
    assert_true(raw[3] == 0x4444);
    assert_true(raw[4] == 0x200000 + 0x1111);
    assert_true(raw[5] == 0x200000 + 0x2222);
    assert_true(raw[7] == 0x200000 + 0x4444);

    /* values are read afresh each time */
    struct msr_val v[] = {{INTEL_UNIT, unit_msr(14)}, {INTEL_PKG, 0xFFFFFFFFull}, {INTEL_DRAM, 5},
                          {INTEL_PP0, 6},           {INTEL_PP1, 7}};
    write_msr(root, 2, v, 5);
    assert_int_equal(jp_source_rapl_msr.read(&src, raw, st), JP_OK);
    assert_true(raw[4] == 0xFFFFFFFFull);
    assert_true(raw[5] == 5);
    jp_source_rapl_msr.close(&src);
    ft_rmroot(root);
}

/* Domains the CPU does not implement are left out (reads past the file end fail, like EIO), and so
 * are those that read 0 (implemented, not in use). */
static void test_intel_absent_domains(void **state)
{
    (void)state;
    char *root = make_root();
    write_cpuinfo(root, "GenuineIntel", 6, 0x8C, 1);
    write_topology(root, 0, 0, 0);
    struct msr_val v[] = {{INTEL_UNIT, unit_msr(16)}, {INTEL_PKG, 100}, {INTEL_DRAM, 200}, {INTEL_PP0, 0}};
    write_msr(root, 0, v, 4);
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    assert_int_equal(src.ndomains, 2);
    assert_string_equal(src.domains[0].name, "package-0");
    assert_string_equal(src.domains[1].name, "dram-0");
    assert_int_equal(find_domain(&src, "core-0"), -1);   /* reads 0 */
    assert_int_equal(find_domain(&src, "uncore-0"), -1); /* fails to read */
    assert_true(src.domains[0].joules_per_unit == ldexp(1.0, -16)); /* 15.26 uJ */
    assert_non_null(strstr(src.detail, "1 package:"));
    assert_non_null(strstr(src.detail, "15.26 uJ"));
    jp_source_rapl_msr.close(&src);
    ft_rmroot(root);
}

/* Skylake-SP (family 6 model 0x55): DRAM uses the fixed 2^-16 J unit whatever the unit MSR says. */
static void test_intel_server_dram_unit(void **state)
{
    (void)state;
    char *root = make_root();
    intel_two_packages(root, 14, 0x55);
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    int pkg = find_domain(&src, "package-1"), dram = find_domain(&src, "dram-1");
    assert_true(pkg >= 0 && dram >= 0);
    assert_true(src.domains[pkg].joules_per_unit == ldexp(1.0, -14));
    assert_true(src.domains[dram].joules_per_unit == ldexp(1.0, -16));
    assert_true(src.domains[find_domain(&src, "dram-0")].joules_per_unit == ldexp(1.0, -16));
    assert_true(src.domains[find_domain(&src, "core-0")].joules_per_unit == ldexp(1.0, -14));
    assert_non_null(strstr(src.detail, "fixed"));
    jp_source_rapl_msr.close(&src);
    ft_rmroot(root);
}

/* AMD (and Hygon): unit 0xC0010299, package 0xC001029B, core = sum of per-core 0xC001029A.
 * 8 CPUs: package = cpu / 4, core id = cpu % 2, so CPUs 0 and 2 are the threads of core 0, 1 and 3
 * of core 1 (4..7 likewise). CPU 0 (4) represents the package: unit and package counter; the core
 * counters are read on each core's last thread, CPUs 2, 3 (6, 7). The MSRs are consecutive, so
 * 8-byte values at their offsets overlap in one sparse file: unit then package written in that
 * order keep the unit's ESU byte (0xC001029A) intact, and the core counters live in other files.
 * CPUs 1 and 5 hold a package counter and no core counter: reading them would be wrong. */
static void write_amd_cpu(const char *root, int cpu, unsigned esu, uint64_t pkg, uint32_t core)
{
    if (cpu % 4 >= 2) {
        struct msr_val v[] = {{AMD_CORE, 0xBEEF000000000000ull | core}};
        write_msr(root, cpu, v, 1);
    } else {
        struct msr_val v[] = {{AMD_UNIT, unit_msr(esu)}, {AMD_PKG, pkg}};
        write_msr(root, cpu, v, 2);
    }
}

static void amd_two_packages(const char *root, const char *vendor, unsigned esu, const uint32_t *core_vals)
{
    write_cpuinfo(root, vendor, 25, 33, 8);
    for (int cpu = 0; cpu < 8; cpu++) {
        write_topology(root, cpu, cpu / 4, cpu % 2);
        write_amd_cpu(root, cpu, esu, 0x1234000000000000ull | (0x10000u * (uint32_t)(cpu + 1)), core_vals[cpu]);
    }
}

static void test_amd_units_and_core_sum(void **state)
{
    (void)state;
    char *root = make_root();
    uint32_t cores[8] = {0, 0, 0xFFFFFF00u, 1000, 0, 0, 500, 600};
    amd_two_packages(root, "AuthenticAMD", 16, cores);
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    printf("# detail: %s\n", src.detail);
    assert_int_equal(src.ndomains, 4);
    assert_string_equal(src.domains[0].name, "package-0");
    assert_string_equal(src.domains[1].name, "core-0");
    assert_string_equal(src.domains[2].name, "package-1");
    assert_string_equal(src.domains[3].name, "core-1");
    for (size_t i = 0; i < 4; i++) assert_true(src.domains[i].joules_per_unit == ldexp(1.0, -16));
    assert_true(src.domains[0].wrap == (1ull << 32));
    assert_true(src.domains[1].wrap == 0); /* extended here to 64 bits */
    assert_int_equal(src.domains[1].kind, JP_DOMAIN_CORE);
    assert_non_null(strstr(src.detail, "AMD"));
    assert_non_null(strstr(src.detail, "2 packages"));
    assert_non_null(strstr(src.detail, "15.26 uJ"));

    uint64_t raw[JP_MAX_DOMAINS], base[JP_MAX_DOMAINS];
    enum jp_read_status st[JP_MAX_DOMAINS];
    assert_int_equal(jp_source_rapl_msr.read(&src, base, st), JP_OK);
    for (size_t i = 0; i < 4; i++) assert_int_equal(st[i], JP_READ_OK);
    assert_true(base[0] == 0x10000);  /* CPU 0, masked */
    assert_true(base[2] == 0x50000);  /* CPU 4 represents package 1 */

    /* core 0 of package 0 wraps (+0x200), core 1 advances 2000; package 1 cores advance 10 and 20 */
    uint32_t next[8] = {0, 0, 0x100u, 3000, 0, 0, 510, 620};
    for (int cpu = 0; cpu < 8; cpu++)
        write_amd_cpu(root, cpu, 16, 0x10000u * (uint32_t)(cpu + 1) + 77, next[cpu]);
    assert_int_equal(jp_source_rapl_msr.read(&src, raw, st), JP_OK);
    for (size_t i = 0; i < 4; i++) assert_int_equal(st[i], JP_READ_OK);
    assert_true(raw[1] - base[1] == 0x200 + 2000);
    assert_true(raw[3] - base[3] == 30);
    assert_true(raw[0] == 0x10000 + 77);

    /* an impossible jump on one core (2^31 units = 32 kJ in a moment) is a glitch, not data */
    write_amd_cpu(root, 3, 16, 0, 3000u + 0x80000000u);
    uint64_t before = raw[1];
    assert_int_equal(jp_source_rapl_msr.read(&src, raw, st), JP_OK);
    assert_int_equal(st[1], JP_READ_GLITCH);
    assert_true(raw[1] == before);
    assert_int_equal(st[3], JP_READ_OK);
    jp_source_rapl_msr.close(&src);
    ft_rmroot(root);
}

static void test_hygon_vendor(void **state)
{
    (void)state;
    char *root = make_root();
    uint32_t cores[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    amd_two_packages(root, "HygonGenuine", 14, cores);
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    assert_int_equal(src.ndomains, 4);
    assert_true(src.domains[0].joules_per_unit == ldexp(1.0, -14));
    assert_non_null(strstr(src.detail, "Hygon"));
    jp_source_rapl_msr.close(&src);
    ft_rmroot(root);
}

static void test_no_device(void **state)
{
    (void)state;
    char *root = make_root();
    write_cpuinfo(root, "GenuineIntel", 6, 0x8C, 1);
    char why[512];
    int rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_equal(rc, JP_ERR_NOTFOUND);
    char expect[4200];
    snprintf(expect, sizeof expect, "no %s/dev/cpu/0/msr", root);
    assert_non_null(strstr(why, expect));
    assert_non_null(strstr(why, "modprobe msr"));
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "modprobe msr"));
    ft_rmroot(root);
}

static void test_no_rapl_msrs(void **state)
{
    (void)state;
    char *root = make_root();
    write_cpuinfo(root, "GenuineIntel", 6, 0x8C, 1);
    write_topology(root, 0, 0, 0);
    struct msr_val v[] = {{0x10, 12345}}; /* a file that ends before 0x606 */
    write_msr(root, 0, v, 1);
    char why[512];
    int rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    assert_non_null(strstr(why, "does not expose RAPL MSRs (0x606 read failed"));
    assert_non_null(strstr(why, root));

    /* unit readable but no package counter */
    struct msr_val u[] = {{INTEL_UNIT, unit_msr(14)}};
    write_msr(root, 0, u, 1);
    rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    assert_non_null(strstr(why, "does not expose RAPL MSRs"));
    assert_non_null(strstr(why, "0x611"));
    ft_rmroot(root);
}

static void test_unknown_vendor(void **state)
{
    (void)state;
    char *root = make_root();
    write_cpuinfo(root, "CentaurHauls", 6, 15, 1);
    write_topology(root, 0, 0, 0);
    struct msr_val v[] = {{INTEL_UNIT, unit_msr(14)}, {INTEL_PKG, 1}};
    write_msr(root, 0, v, 2);
    char why[512];
    int rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    assert_non_null(strstr(why, "CentaurHauls"));
    assert_non_null(strstr(why, "cpuinfo"));

    /* no cpuinfo at all */
    ft_remove(root, "proc/cpuinfo");
    rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    assert_non_null(strstr(why, "cpuinfo"));

    /* pre-Zen AMD */
    write_cpuinfo(root, "AuthenticAMD", 0x15, 2, 1);
    rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    assert_non_null(strstr(why, "family 0x15"));
    ft_rmroot(root);
}

/* Permission denied: the msr files are 0600 and the probe runs as nobody in a child. */
static void test_permission_denied(void **state)
{
    (void)state;
    char *root = make_root();
    intel_two_packages(root, 14, 0x8C);
    chmod(root, 0755); /* mkdtemp made it 0700: let the child in */
    unsigned mode = geteuid() == 0 ? 0600 : 0000;
    for (int cpu = 0; cpu < 4; cpu++) {
        char rel[64];
        snprintf(rel, sizeof rel, "dev/cpu/%d/msr", cpu);
        ft_chmod(root, rel, mode);
    }
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        if (geteuid() == 0) {
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
        }
        char why[512];
        struct jp_source_env env;
        if (jp_source_env_init(&env, NULL) != JP_OK) _exit(4);
        int rc = ft_probe(&jp_source_rapl_msr, &env, why, sizeof why);
        ssize_t w = write(pfd[1], why, strlen(why) + 1);
        (void)w;
        _exit(rc == JP_ERR_PERM ? 0 : 1);
    }
    close(pfd[1]);
    char why[512] = "";
    size_t got = 0;
    ssize_t n;
    while (got < sizeof why - 1 && (n = read(pfd[0], why + got, sizeof why - 1 - got)) > 0) got += (size_t)n;
    why[got] = '\0';
    close(pfd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    printf("# %s\n", why);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char expect[4200];
    snprintf(expect, sizeof expect, "%s/dev/cpu/0/msr: reading MSRs needs root (CAP_SYS_RAWIO)", root);
    assert_non_null(strstr(why, expect));
    ft_rmroot(root);
}

/* A CPU that goes offline mid-run: its msr file vanishes -> JP_READ_GONE; a short read -> glitch. */
static void test_vanished_device(void **state)
{
    (void)state;
    char *root = make_root();
    intel_two_packages(root, 14, 0x8C);
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    uint64_t raw[JP_MAX_DOMAINS];
    enum jp_read_status st[JP_MAX_DOMAINS];
    assert_int_equal(jp_source_rapl_msr.read(&src, raw, st), JP_OK);
    for (size_t i = 0; i < src.ndomains; i++) assert_int_equal(st[i], JP_READ_OK);

    ft_remove(root, "dev/cpu/2/msr");
    assert_int_equal(jp_source_rapl_msr.read(&src, raw, st), JP_OK);
    for (size_t i = 0; i < 4; i++) assert_int_equal(st[i], JP_READ_OK);
    for (size_t i = 4; i < 8; i++) assert_int_equal(st[i], JP_READ_GONE);

    /* CPU 0's file now ends before DRAM: package reads, the rest is a glitch this time */
    struct msr_val v[] = {{INTEL_UNIT, unit_msr(14)}, {INTEL_PKG, 42}};
    write_msr(root, 0, v, 2);
    assert_int_equal(jp_source_rapl_msr.read(&src, raw, st), JP_OK);
    assert_int_equal(st[0], JP_READ_OK);
    assert_true(raw[0] == 42);
    assert_int_equal(st[1], JP_READ_GLITCH);
    assert_int_equal(st[2], JP_READ_GLITCH);
    jp_source_rapl_msr.close(&src);
    ft_rmroot(root);
}

/* ---- the meter end to end, with counters that advance at a known power ------------------------- */

/*
 * The counters advance in steps of STEP_S of "counter time" at the writer's powers, each step
 * written after the meter has taken a sample and 2 ms more, and seen by a sample before the next:
 * so every wrap is seen and the energy is known whatever the machine's load (no clock decides it),
 * and no step can look like more power than 1 J / 2 ms.
 */
#define STEP_S 0.05
#define STEPS 30

struct writer {
    const char *root;
    bool amd;
    unsigned esu;
    double pkg_w, dram_w, core_w; /* core_w: Intel PP0, or per AMD core */
};

/* A counter that started just below the wrap, at `watts` for t seconds, masked to 32 bits, with
 * junk in the reserved upper half. */
static uint64_t counter(double watts, double t, double jpu, uint32_t start)
{
    uint64_t units = (uint64_t)llround(watts * t / jpu);
    return 0xA5A5000000000000ull | ((start + units) & 0xFFFFFFFFull);
}

static void writer_write(struct writer *w, double t)
{
    double jpu = ldexp(1.0, -(int)w->esu);
    if (!w->amd) {
        for (int cpu = 0; cpu < 4; cpu += 2) { /* CPUs 0 and 2 represent the packages */
            struct msr_val v[] = {
                {INTEL_UNIT, unit_msr(w->esu)},
                {INTEL_PKG, counter(w->pkg_w, t, jpu, 0xF0000000u)},
                {INTEL_DRAM, counter(w->dram_w, t, jpu, 0xFFFF0000u)},
                {INTEL_PP0, counter(w->core_w, t, jpu, 0x80000000u)},
            };
            write_msr(w->root, cpu, v, 4);
        }
    } else {
        for (int cpu = 0; cpu < 8; cpu++) {
            bool rep = cpu % 4 == 0; /* CPUs 0 and 4 represent the packages */
            write_amd_cpu(w->root, cpu, w->esu, rep ? counter(w->pkg_w, t, jpu, 0xF0000000u) : 0x12345678u,
                          (uint32_t)counter(w->core_w, t, jpu, 0xFFF00000u + (uint32_t)cpu));
        }
    }
}

/* Waits until the meter has taken a sample that began after this call. */
static void wait_sample(jp_meter *m)
{
    uint64_t n = jp_meter_samples_taken(m);
    double deadline = jp_now() + 60;
    while (jp_meter_samples_taken(m) <= n) {
        if (jp_now() > deadline) fail_msg("the meter took no sample in 60 s");
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int meter_domain(jp_meter *m, const char *name)
{
    for (size_t i = 0; i < jp_meter_domain_count(m); i++)
        if (!strcmp(jp_meter_domain_name(m, i), name)) return (int)i;
    return -1;
}

/* Counters hold whole units of 2^-esu J: a figure is exact to one unit per step. */
static void check_exact(const char *what, double got, double want, double jpu)
{
    printf("# %-10s measured %10.6f J, expected %10.6f J\n", what, got, want);
    assert_true(fabs(got - want) <= (STEPS + 1) * jpu);
}

static void run_meter(struct writer *w, const char *const *names, const double *watts, size_t n)
{
    writer_write(w, 0); /* files exist before the meter opens */
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-msr";
    cfg.keep_timeline = false;
    jp_meter *m = NULL;
    int rc = jp_meter_open(&m, &cfg);
    if (rc != JP_OK) printf("# jp_meter_open: %s\n", jp_last_error());
    assert_int_equal(rc, JP_OK);
    assert_int_equal(jp_meter_start(m), JP_OK);
    for (int k = 1; k <= STEPS; k++) {
        wait_sample(m);
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        writer_write(w, k * STEP_S);
    }
    wait_sample(m);
    assert_int_equal(jp_meter_stop(m), JP_OK);

    printf("# %d steps of %.2f s, interval %.4f s, %llu wraps, %llu glitches\n", STEPS, STEP_S, jp_meter_interval(m),
           (unsigned long long)jp_meter_wraps(m), (unsigned long long)jp_meter_glitches(m));
    double jpu = ldexp(1.0, -(int)w->esu);
    for (size_t i = 0; i < n; i++) {
        int d = meter_domain(m, names[i]);
        if (d < 0) printf("# no domain %s\n", names[i]);
        assert_true(d >= 0);
        assert_string_equal(jp_meter_domain_source(m, (size_t)d), "rapl-msr");
        check_exact(names[i], jp_meter_joules(m, d), watts[i] * STEPS * STEP_S, jpu);
    }
    /* 2^32 units at 2^-30 J = 4 J per wrap: the package counters wrap several times over 30 J */
    assert_true(jp_meter_wraps(m) >= 4);
    assert_int_equal(jp_meter_glitches(m), 0);
    jp_meter_close(m);
}

static void test_meter_intel_wraps(void **state)
{
    (void)state;
    char *root = make_root();
    intel_two_packages(root, 30, 0x8C);
    struct writer w;
    memset(&w, 0, sizeof w);
    w.root = root;
    w.amd = false;
    w.esu = 30; /* 2^-30 J per count: the 32-bit counter wraps every 4 J */
    w.pkg_w = 20;
    w.dram_w = 10;
    w.core_w = 12;
    static const char *const names[] = {"package-0", "dram-0", "core-0", "package-1", "dram-1"};
    static const double watts[] = {20, 10, 12, 20, 10};
    run_meter(&w, names, watts, 5);
    ft_rmroot(root);
}

static void test_meter_amd_wraps(void **state)
{
    (void)state;
    char *root = make_root();
    uint32_t cores[8] = {0};
    amd_two_packages(root, "AuthenticAMD", 30, cores);
    struct writer w;
    memset(&w, 0, sizeof w);
    w.root = root;
    w.amd = true;
    w.esu = 30;
    w.pkg_w = 30;
    w.core_w = 6; /* per core; two cores per package */
    static const char *const names[] = {"package-0", "core-0", "package-1", "core-1"};
    static const double watts[] = {30, 12, 30, 12};
    run_meter(&w, names, watts, 4);
    ft_rmroot(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intel_units_two_packages),
        cmocka_unit_test(test_intel_absent_domains),
        cmocka_unit_test(test_intel_server_dram_unit),
        cmocka_unit_test(test_amd_units_and_core_sum),
        cmocka_unit_test(test_hygon_vendor),
        cmocka_unit_test(test_no_device),
        cmocka_unit_test(test_no_rapl_msrs),
        cmocka_unit_test(test_unknown_vendor),
        cmocka_unit_test(test_permission_denied),
        cmocka_unit_test(test_vanished_device),
        cmocka_unit_test(test_meter_intel_wraps),
        cmocka_unit_test(test_meter_amd_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
