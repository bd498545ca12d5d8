/* rapl-perf on a fake sysfs power PMU, with perf_event_open/read/close replaced by fakes that serve
 * counts advancing at known powers. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_tree.h"
#include "jouleprint.h"
#include "source/rapl_perf.h"
#include "source/source.h"

#define PMU "sys/bus/event_source/devices/power"
#define SCALE_TEXT "2.3283064365386962890625e-10"

/* ---- the fake system calls ---------------------------------------------------------------------- */

enum fake_mode { FAKE_OK, FAKE_EOF, FAKE_ENODEV, FAKE_EIO, FAKE_SHORT };

struct fake_fd {
    bool open;
    struct perf_event_attr attr;
    pid_t pid;
    int cpu;
    int group_fd;
    unsigned long flags;
    enum fake_mode mode;
};

#define FAKE_BASE 1000
#define FAKE_MAX 64
static struct fake_fd fake[FAKE_MAX];
static int fake_nopen, fake_nclose, fake_total_opens;
static int fake_open_errno;          /* fail every open with this errno */
static int fake_fail_config = -1;    /* ... or only opens of this config */
static int fake_fail_after = -1;     /* ... or every open after this many */
static double fake_t0;
/* The counters' time when the test moves it itself (test_perf_meter), else < 0: the real clock since
 * fake_t0. Set by the test's thread, read by the meter's sampling thread. */
static _Atomic double fake_time = -1;
static double fake_scale;            /* joules per count the fake counts are in */
static double fake_watts[8];         /* by config (1 cores, 2 pkg, 3 ram, 4 gpu, 5 psys) */

static int fake_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd, unsigned long flags)
{
    if (fake_open_errno && (fake_fail_config < 0 || (uint64_t)fake_fail_config == attr->config) &&
        (fake_fail_after < 0 || fake_total_opens >= fake_fail_after)) {
        errno = fake_open_errno;
        return -1;
    }
    for (int i = 0; i < FAKE_MAX; i++) {
        if (fake[i].open) continue;
        memset(&fake[i], 0, sizeof fake[i]);
        fake[i].open = true;
        fake[i].attr = *attr;
        fake[i].pid = pid;
        fake[i].cpu = cpu;
        fake[i].group_fd = group_fd;
        fake[i].flags = flags;
        fake_nopen++;
        fake_total_opens++;
        return FAKE_BASE + i;
    }
    errno = EMFILE;
    return -1;
}

/* The count the kernel would give: a large start (64-bit) plus the energy since t0. */
static uint64_t fake_count(const struct fake_fd *f)
{
    double w = f->attr.config < 8 ? fake_watts[f->attr.config] : 0;
    double ft = fake_time, t = ft >= 0 ? ft : jp_now() - fake_t0;
    return 1000000000000ull * (f->attr.config + 1) + (uint64_t)(w * t / fake_scale) + (uint64_t)f->cpu;
}

static ssize_t fake_read(int fd, void *buf, size_t n)
{
    int i = fd - FAKE_BASE;
    if (i < 0 || i >= FAKE_MAX || !fake[i].open) {
        errno = EBADF;
        return -1;
    }
    switch (fake[i].mode) {
    case FAKE_EOF: return 0;
    case FAKE_ENODEV: errno = ENODEV; return -1;
    case FAKE_EIO: errno = EIO; return -1;
    case FAKE_SHORT: {
        uint32_t half = 7;
        memcpy(buf, &half, n < 4 ? n : 4);
        return 4;
    }
    default: break;
    }
    uint64_t v = fake_count(&fake[i]);
    if (n < sizeof v) {
        errno = EINVAL;
        return -1;
    }
    memcpy(buf, &v, sizeof v);
    return (ssize_t)sizeof v;
}

static int fake_close(int fd)
{
    int i = fd - FAKE_BASE;
    if (i < 0 || i >= FAKE_MAX || !fake[i].open) {
        errno = EBADF;
        return -1;
    }
    fake[i].open = false;
    fake_nclose++;
    return 0;
}

static const struct jp_perf_syscalls fake_calls = {fake_event_open, fake_read, fake_close};

static void fake_reset(void)
{
    memset(fake, 0, sizeof fake);
    fake_nopen = fake_nclose = fake_total_opens = 0;
    fake_open_errno = 0;
    fake_fail_config = -1;
    fake_fail_after = -1;
    fake_t0 = jp_now();
    fake_time = -1;
    fake_scale = ldexp(1.0, -32);
    memset(fake_watts, 0, sizeof fake_watts);
    jp_rapl_perf_set_syscalls(&fake_calls);
}

/* The open fake counter for an event code on a CPU. */
static struct fake_fd *fake_find(uint64_t config, int cpu)
{
    for (int i = 0; i < FAKE_MAX; i++)
        if (fake[i].open && fake[i].attr.config == config && fake[i].cpu == cpu) return &fake[i];
    fail_msg("no open counter for config %llu on CPU %d", (unsigned long long)config, cpu);
    return NULL;
}

/* ---- the fake sysfs ----------------------------------------------------------------------------- */

static char *make_root(void)
{
    char *root = ft_mkroot("perf");
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

static void write_event(const char *root, const char *name, const char *code, const char *scale)
{
    char rel[256];
    snprintf(rel, sizeof rel, PMU "/events/%s", name);
    ft_write(root, rel, "%s\n", code);
    snprintf(rel, sizeof rel, PMU "/events/%s.scale", name);
    ft_write(root, rel, "%s\n", scale);
    snprintf(rel, sizeof rel, PMU "/events/%s.unit", name);
    ft_write(root, rel, "Joules\n");
}

/* A server-like PMU: two packages (CPUs 0 and 18), pkg, ram, cores and psys events. */
static void write_pmu(const char *root, const char *cpumask)
{
    ft_write(root, PMU "/type", "23\n");
    ft_write(root, PMU "/cpumask", "%s\n", cpumask);
    ft_write(root, PMU "/format/event", "config:0-7\n");
    write_event(root, "energy-cores", "event=0x01", SCALE_TEXT);
    write_event(root, "energy-pkg", "event=0x02", SCALE_TEXT);
    write_event(root, "energy-ram", "event=0x03", SCALE_TEXT);
    write_event(root, "energy-psys", "event=0x05", SCALE_TEXT);
}

static int open_src(struct jp_source *src)
{
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    memset(src, 0, sizeof *src);
    src->ops = &jp_source_rapl_perf;
    return jp_source_rapl_perf.open(src, &env);
}

static int probe_src(char *why, size_t len)
{
    struct jp_source_env env;
    assert_int_equal(jp_source_env_init(&env, NULL), JP_OK);
    why[0] = '\0';
    return ft_probe(&jp_source_rapl_perf, &env, why, len);
}

static int find_domain(const struct jp_source *src, const char *name)
{
    for (size_t i = 0; i < src->ndomains; i++)
        if (!strcmp(src->domains[i].name, name)) return (int)i;
    return -1;
}

/* ---- tests -------------------------------------------------------------------------------------- */

static void test_perf_domains(void **state)
{
    (void)state;
    fake_reset();
    char *root = make_root();
    write_pmu(root, "0,18");
    char why[512];
    assert_int_equal(probe_src(why, sizeof why), JP_OK);
    assert_int_equal(fake_nopen, fake_nclose); /* probe leaves nothing open */

    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    printf("# detail: %s\n", src.detail);
    static const char *const names[] = {"package-0", "dram-0", "core-0", "psys", "package-1", "dram-1", "core-1"};
    static const jp_domain_kind kinds[] = {JP_DOMAIN_PACKAGE, JP_DOMAIN_DRAM, JP_DOMAIN_CORE, JP_DOMAIN_PSYS,
                                           JP_DOMAIN_PACKAGE, JP_DOMAIN_DRAM, JP_DOMAIN_CORE};
    static const uint64_t configs[] = {2, 3, 1, 5, 2, 3, 1};
    static const int cpus[] = {0, 0, 0, 0, 18, 18, 18};
    assert_int_equal(src.ndomains, 7);
    int opened = fake_nopen - fake_nclose;
    assert_int_equal(opened, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(src.domains[i].name, names[i]);
        assert_int_equal(src.domains[i].kind, kinds[i]);
        assert_true(src.domains[i].joules_per_unit == ldexp(1.0, -32));
        assert_true(src.domains[i].wrap == 0);
    }
    /* the counters opened: PMU type, event code, system-wide on the cpumask CPU */
    int seen = 0;
    for (int i = 0; i < FAKE_MAX; i++) {
        if (!fake[i].open) continue;
        const struct fake_fd *f = &fake[i];
        assert_int_equal(f->attr.type, 23);
        assert_int_equal(f->attr.size, sizeof(struct perf_event_attr));
        assert_int_equal(f->pid, -1);
        assert_int_equal(f->group_fd, -1);
        assert_true(f->flags & PERF_FLAG_FD_CLOEXEC);
        bool match = false;
        for (size_t k = 0; k < 7; k++)
            if (f->attr.config == configs[k] && f->cpu == cpus[k]) match = true;
        assert_true(match);
        seen++;
    }
    assert_int_equal(seen, 7);
    assert_non_null(strstr(src.detail, "type 23"));
    assert_non_null(strstr(src.detail, "2 packages"));
    assert_non_null(strstr(src.detail, "package, dram, core, psys"));

    /* read gives the 64-bit counts as they are */
    fake_watts[2] = 0; /* frozen counts: exact values */
    uint64_t raw[JP_MAX_DOMAINS];
    enum jp_read_status st[JP_MAX_DOMAINS];
    assert_int_equal(jp_source_rapl_perf.read(&src, raw, st), JP_OK);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(st[i], JP_READ_OK);
        assert_true(raw[i] == 1000000000000ull * (configs[i] + 1) + (uint64_t)cpus[i]);
    }
    jp_source_rapl_perf.close(&src);
    assert_int_equal(fake_nopen, fake_nclose);
    ft_rmroot(root);
}

static void test_perf_cpumask_range_and_gpu(void **state)
{
    (void)state;
    fake_reset();
    char *root = make_root();
    ft_write(root, PMU "/type", "8");
    ft_write(root, PMU "/cpumask", "0-1\n");
    write_event(root, "energy-pkg", "event=0x02", "1e-6");
    write_event(root, "energy-gpu", "event=4", "0.5e-6");
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    assert_int_equal(src.ndomains, 4);
    assert_string_equal(src.domains[0].name, "package-0");
    assert_string_equal(src.domains[1].name, "uncore-0");
    assert_string_equal(src.domains[2].name, "package-1");
    assert_string_equal(src.domains[3].name, "uncore-1");
    assert_int_equal(src.domains[1].kind, JP_DOMAIN_UNCORE);
    assert_true(src.domains[0].joules_per_unit == 1e-6);
    assert_true(src.domains[1].joules_per_unit == 0.5e-6);
    int cpu_of_pkg1 = -1;
    for (int i = 0; i < FAKE_MAX; i++)
        if (fake[i].open && fake[i].attr.config == 2 && fake[i].cpu != 0) cpu_of_pkg1 = fake[i].cpu;
    assert_int_equal(cpu_of_pkg1, 1);
    jp_source_rapl_perf.close(&src);
    assert_int_equal(fake_nopen, fake_nclose);
    ft_rmroot(root);
}

static void test_perf_no_pmu(void **state)
{
    (void)state;
    fake_reset();
    char *root = make_root();
    char why[512];
    int rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    char expect[4300];
    snprintf(expect, sizeof expect,
             "no perf power PMU at %s/" PMU " (kernel without RAPL perf support, or a VM)", root);
    assert_string_equal(why, expect);

    /* a PMU with no energy events */
    ft_write(root, PMU "/type", "23\n");
    ft_write(root, PMU "/cpumask", "0\n");
    ft_mkdirs(root, PMU "/events");
    rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    assert_non_null(strstr(why, "no energy events"));
    assert_int_equal(fake_total_opens, 0);
    ft_rmroot(root);
}

struct garbage_case {
    const char *rel;      /* under the PMU dir; NULL content: remove it */
    const char *content;
    const char *expect;
};

static void test_perf_garbage(void **state)
{
    (void)state;
    static const struct garbage_case cases[] = {
        {"type", "power", "type: expected the PMU type as an unsigned integer"},
        {"type", "-1", "type: expected the PMU type as an unsigned integer"},
        {"type", "", "type: expected the PMU type as an unsigned integer"},
        {"type", "99999999999", "type: expected the PMU type as an unsigned integer"},
        {"type", "123456789012345678901234567890", "type: expected the PMU type"},
        {"cpumask", "", "cpumask: expected a list of CPUs"},
        {"cpumask", "0-", "cpumask: expected a list of CPUs"},
        {"cpumask", "3-1", "cpumask: expected a list of CPUs"},
        {"cpumask", "a,b", "cpumask: expected a list of CPUs"},
        {"cpumask", "0,,1", "cpumask: expected a list of CPUs"},
        {"cpumask", "0-100000", "cpumask: expected a list of CPUs"},
        {"events/energy-pkg", "evnt=0x02", "energy-pkg: expected \"event=<code>\""},
        {"events/energy-pkg", "event=zz", "energy-pkg: expected \"event=<code>\""},
        {"events/energy-pkg", "event=", "energy-pkg: expected \"event=<code>\""},
        {"events/energy-pkg", "event=0x02,umask=0x1", "energy-pkg: expected \"event=<code>\""},
        {"events/energy-pkg", "\xff\xfe\x01", "energy-pkg: expected \"event=<code>\""},
        {"events/energy-pkg.unit", "Watts", "energy-pkg.unit: expected the unit \"Joules\""},
        {"events/energy-pkg.unit", NULL, "energy-pkg.unit: missing"},
        {"events/energy-ram.scale", "-2.3e-10", "energy-ram.scale: expected a positive number"},
        {"events/energy-ram.scale", "0", "energy-ram.scale: expected a positive number"},
        {"events/energy-ram.scale", "nan", "energy-ram.scale: expected a positive number"},
        {"events/energy-ram.scale", "inf", "energy-ram.scale: expected a positive number"},
        {"events/energy-ram.scale", "1e999", "energy-ram.scale: expected a positive number"},
        {"events/energy-ram.scale", "", "energy-ram.scale: expected a positive number"},
        {"events/energy-ram.scale", "2.3e-10 J", "energy-ram.scale: expected a positive number"},
        {"events/energy-psys.scale", NULL, "energy-psys.scale: missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_reset();
        char *root = make_root();
        write_pmu(root, "0,18");
        char rel[256];
        snprintf(rel, sizeof rel, PMU "/%s", cases[i].rel);
        if (cases[i].content)
            ft_write(root, rel, "%s\n", cases[i].content);
        else
            ft_remove(root, rel);
        char why[512];
        int rc = probe_src(why, sizeof why);
        printf("# %s\n", why);
        assert_int_not_equal(rc, JP_OK);
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        assert_non_null(strstr(why, path));           /* names the file */
        assert_non_null(strstr(why, cases[i].expect)); /* and what was expected */
        assert_int_equal(fake_total_opens, 0);         /* before any counter is opened */
        struct jp_source src;
        assert_int_equal(open_src(&src), rc);
        ft_rmroot(root);
    }
}

static void test_perf_permission(void **state)
{
    (void)state;
    char *root = make_root();
    write_pmu(root, "0");
    char why[512];

    fake_reset();
    fake_open_errno = EACCES;
    ft_write(root, "proc/sys/kernel/perf_event_paranoid", "2\n");
    int rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_equal(rc, JP_ERR_PERM);
    assert_non_null(strstr(why, "perf_event_paranoid is 2: system-wide power events need root or CAP_PERFMON, "
                                "or sysctl kernel.perf_event_paranoid=0"));

    fake_reset();
    fake_open_errno = EPERM;
    ft_write(root, "proc/sys/kernel/perf_event_paranoid", "3\n");
    rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_equal(rc, JP_ERR_PERM);
    assert_non_null(strstr(why, "perf_event_paranoid is 3"));

    /* refused although paranoid allows it: something else blocks it */
    fake_reset();
    fake_open_errno = EPERM;
    ft_write(root, "proc/sys/kernel/perf_event_paranoid", "-1\n");
    rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_equal(rc, JP_ERR_PERM);
    assert_non_null(strstr(why, "perf_event_paranoid is -1"));
    assert_non_null(strstr(why, "seccomp"));

    /* no paranoid file to read */
    fake_reset();
    fake_open_errno = EACCES;
    ft_remove(root, "proc/sys");
    rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_equal(rc, JP_ERR_PERM);
    assert_non_null(strstr(why, "CAP_PERFMON"));

    /* refused on the second package after the first opened: nothing stays open */
    write_pmu(root, "0,18");
    fake_reset();
    fake_open_errno = EACCES;
    fake_fail_after = 3;
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_ERR_PERM);
    assert_int_equal(fake_total_opens, 3);
    assert_int_equal(fake_nopen, fake_nclose);
    ft_rmroot(root);
}

static void test_perf_unsupported(void **state)
{
    (void)state;
    char *root = make_root();
    write_pmu(root, "0,18");
    char why[512];

    fake_reset();
    fake_open_errno = ENOENT;
    int rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    assert_non_null(strstr(why, "power/energy-"));
    assert_non_null(strstr(why, "not supported"));

    fake_reset();
    fake_open_errno = EOPNOTSUPP;
    rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    assert_non_null(strstr(why, "not supported"));

    /* only energy-ram refused: the rest is measured, dram left out */
    fake_reset();
    fake_open_errno = ENOENT;
    fake_fail_config = 3;
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    assert_int_equal(src.ndomains, 5);
    assert_int_equal(find_domain(&src, "dram-0"), -1);
    assert_true(find_domain(&src, "package-1") >= 0);
    jp_source_rapl_perf.close(&src);
    assert_int_equal(fake_nopen, fake_nclose);
    ft_rmroot(root);
}

static void test_perf_read_status(void **state)
{
    (void)state;
    fake_reset();
    char *root = make_root();
    write_pmu(root, "0,18");
    struct jp_source src;
    assert_int_equal(open_src(&src), JP_OK);
    assert_int_equal(src.ndomains, 7);
    assert_string_equal(src.domains[3].name, "psys");
    fake_find(2, 0)->mode = FAKE_EOF;    /* package-0: event in error state */
    fake_find(3, 0)->mode = FAKE_ENODEV; /* dram-0 */
    fake_find(1, 0)->mode = FAKE_EIO;    /* core-0 */
    fake_find(5, 0)->mode = FAKE_SHORT;  /* psys */
    uint64_t raw[JP_MAX_DOMAINS];
    enum jp_read_status st[JP_MAX_DOMAINS];
    assert_int_equal(jp_source_rapl_perf.read(&src, raw, st), JP_OK);
    assert_int_equal(st[0], JP_READ_GONE);
    assert_int_equal(st[1], JP_READ_GONE);
    assert_int_equal(st[2], JP_READ_GLITCH);
    assert_int_equal(st[3], JP_READ_GLITCH);
    for (size_t i = 4; i < 7; i++) assert_int_equal(st[i], JP_READ_OK);
    fake_find(1, 0)->mode = FAKE_OK;
    assert_int_equal(jp_source_rapl_perf.read(&src, raw, st), JP_OK);
    assert_int_equal(st[2], JP_READ_OK);
    jp_source_rapl_perf.close(&src);
    assert_int_equal(fake_nopen, fake_nclose);
    ft_rmroot(root);
}

/* The real system calls, restored: no fake counters, but a clear answer and no crash. */
static void test_perf_real_syscalls(void **state)
{
    (void)state;
    char *root = make_root();
    write_pmu(root, "0");
    ft_write(root, PMU "/type", "4000000\n"); /* no such PMU */
    jp_rapl_perf_set_syscalls(NULL);
    char why[512];
    int rc = probe_src(why, sizeof why);
    printf("# %s\n", why);
    assert_int_not_equal(rc, JP_OK);
    assert_non_null(strstr(why, "power/energy-"));
    ft_rmroot(root);
}

/* Waits until the meter has finished a sample that began after this call. */
static void wait_sample(jp_meter *m)
{
    uint64_t n = jp_meter_samples_taken(m);
    double deadline = jp_now() + 60;
    while (jp_meter_samples_taken(m) <= n + 1) {
        if (jp_now() > deadline) fail_msg("the meter took no sample in 60 s");
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void test_perf_meter(void **state)
{
    (void)state;
    fake_reset();
    char *root = make_root();
    write_pmu(root, "0,18");
    fake_watts[2] = 20; /* package */
    fake_watts[3] = 5;  /* dram */
    fake_watts[1] = 12; /* cores */
    fake_watts[5] = 70; /* psys: not in the total while packages are there */

    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-perf";
    cfg.interval_s = 0.01;
    jp_meter *m = NULL;
    int rc = jp_meter_open(&m, &cfg);
    if (rc != JP_OK) printf("# jp_meter_open: %s\n", jp_last_error());
    assert_int_equal(rc, JP_OK);
    /* The counters run in the test's own time: 100 steps of 10 ms, each written 2 ms after a sample
     * and read by the next (at most 70 W x 10 ms / 2 ms = 350 W: no glitch), so the energy is known
     * exactly whatever the machine's load. */
    fake_time = 0;
    assert_int_equal(jp_meter_start(m), JP_OK);
    const int steps = 100;
    for (int k = 1; k <= steps; k++) {
        wait_sample(m);
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        fake_time = k * 0.01;
    }
    wait_sample(m);
    assert_int_equal(jp_meter_stop(m), JP_OK);
    fake_time = -1;
    const double dur = steps * 0.01; /* the counters' time */
    printf("# %d steps of 10 ms, %llu glitches\n", steps, (unsigned long long)jp_meter_glitches(m));
    assert_int_equal(jp_meter_glitches(m), 0);
    static const char *const names[] = {"package-0", "dram-0", "core-0", "package-1", "dram-1", "psys"};
    static const double watts[] = {20, 5, 12, 20, 5, 70};
    for (size_t k = 0; k < 6; k++) {
        int d = -1;
        for (size_t i = 0; i < jp_meter_domain_count(m); i++)
            if (!strcmp(jp_meter_domain_name(m, i), names[k])) d = (int)i;
        assert_true(d >= 0);
        assert_string_equal(jp_meter_domain_source(m, (size_t)d), "rapl-perf");
        double got = jp_meter_joules(m, d), want = watts[k] * dur;
        printf("# %-10s measured %10.6f J, expected %10.6f J\n", names[k], got, want);
        assert_true(fabs(got - want) <= 1e-6); /* counts of 2^-32 J, one lost to rounding at each end */
    }
    double total = jp_meter_joules(m, JP_TOTAL), want = (20 + 5) * 2 * dur;
    printf("# %-10s measured %10.6f J, expected %10.6f J\n", "total", total, want);
    assert_true(fabs(total - want) <= 1e-5);
    jp_meter_close(m);
    assert_int_equal(fake_nopen, fake_nclose);
    ft_rmroot(root);
}

static int teardown_all(void **state)
{
    (void)state;
    jp_rapl_perf_set_syscalls(NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perf_domains),
        cmocka_unit_test(test_perf_cpumask_range_and_gpu),
        cmocka_unit_test(test_perf_no_pmu),
        cmocka_unit_test(test_perf_garbage),
        cmocka_unit_test(test_perf_permission),
        cmocka_unit_test(test_perf_unsupported),
        cmocka_unit_test(test_perf_read_status),
        cmocka_unit_test(test_perf_real_syscalls),
        cmocka_unit_test(test_perf_meter),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
