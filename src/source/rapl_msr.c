/*
 * rapl-msr: RAPL energy counters read straight from the model-specific registers through the msr
 * driver (/dev/cpu/N/msr, one file per logical CPU; pread at the MSR address reads 8 bytes).
 *
 * RAPL counters are per package (per die on multi-die Intel parts), so one logical CPU is read per
 * package: CPUs are listed from <dev>/cpu/N/msr and grouped by
 * <sys>/devices/system/cpu/cpuN/topology/physical_package_id (and die_id where the kernel has it).
 * Packages are numbered package-0, package-1, ... in ascending physical id.
 *
 * Register layout (Intel SDM vol. 4, "MSRs in processors based on Sandy Bridge and later"; AMD PPR
 * for family 17h and later):
 *   Intel  MSR_RAPL_POWER_UNIT 0x606   energy status unit = bits 12:8, a count is 1/2^ESU J
 *          MSR_PKG_ENERGY_STATUS 0x611 -> package-N
 *          MSR_DRAM_ENERGY_STATUS 0x619 -> dram-N
 *          MSR_PP0_ENERGY_STATUS 0x639 -> core-N
 *          MSR_PP1_ENERGY_STATUS 0x641 -> uncore-N (the integrated GPU plane on client parts)
 *   AMD    MSR 0xC0010299 unit (same layout), 0xC001029A core energy (per core),
 *          0xC001029B package energy -> package-N
 * Every energy counter is 32 bits wide; the upper half of the MSR is reserved and masked off.
 * The platform (psys) counter MSR 0x64D is not read here.
 *
 * The files are opened afresh on every read() (one open per package and sample), so that a CPU
 * going offline (the msr device vanishes) shows as JP_READ_GONE, and a fake tree whose files are
 * replaced by rename is seen as it is now.
 */
#define _GNU_SOURCE
#include "source.h"
#include "../host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSR_INTEL_POWER_UNIT 0x606u
#define MSR_INTEL_PKG_ENERGY 0x611u
#define MSR_INTEL_DRAM_ENERGY 0x619u
#define MSR_INTEL_PP0_ENERGY 0x639u
#define MSR_INTEL_PP1_ENERGY 0x641u
#define MSR_AMD_POWER_UNIT 0xC0010299u
#define MSR_AMD_CORE_ENERGY 0xC001029Au
#define MSR_AMD_PKG_ENERGY 0xC001029Bu

#define COUNTER_MASK 0xFFFFFFFFull
#define COUNTER_WRAP (1ull << 32)

/* A per-core counter step implying more than this is taken as a bad read of that core (the summed
 * AMD core domain is extended here, so a bad step would otherwise stay in the sum for good). */
#define AMD_CORE_MAX_WATTS 1000.0

enum vendor { VENDOR_UNKNOWN, VENDOR_INTEL, VENDOR_AMD };

struct cpu_desc {
    int cpu;
    long pkg;     /* physical_package_id */
    long die;     /* die_id, 0 where absent */
    long core;    /* core_id, -1 where absent */
};

/* The AMD core domain: the sum of the per-core counters of one package, extended to 64 bits. */
struct core_sum {
    size_t ncores;
    int *cpus;         /* one logical CPU per core */
    uint32_t *last;    /* last raw value per core */
    bool *have;        /* last[] is valid */
    double *t_ok;      /* jp_now() when last[] was taken */
    uint64_t acc;      /* the extended sum, in raw units */
    double jpu;
};

struct msr_domain {
    int cpu;           /* CPU whose msr file is read */
    uint32_t addr;     /* MSR address; unused for a summed domain */
    int sum;           /* index into priv->sums, or -1 */
};

struct msr_priv {
    char dev[PATH_MAX];
    size_t n;
    struct msr_domain dom[JP_MAX_DOMAINS];
    size_t nsums;
    struct core_sum sums[JP_MAX_DOMAINS];
};

/* ---- small helpers ------------------------------------------------------------------------------ */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static bool is_gone_errno(int e) { return e == ENOENT || e == ENODEV || e == ENXIO; }

/* Lists the CPUs that have <dev>/cpu/N/msr, ascending. Returns the count (0 if none) or an error. */
static int list_msr_cpus(const char *dev, int **out, size_t *count)
{
    char path[PATH_MAX];
    int rc = jp_pathf(path, sizeof path, "%s/cpu", dev);
    if (rc != JP_OK) return rc;
    *out = NULL;
    *count = 0;
    DIR *d = opendir(path);
    if (!d) return JP_OK;
    size_t cap = 0, n = 0;
    int *cpus = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *p = e->d_name;
        if (!*p) continue;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (*end || errno || v < 0 || v > 1000000 || p[0] < '0' || p[0] > '9') continue;
        char msr[PATH_MAX];
        struct stat st;
        if (jp_pathf(msr, sizeof msr, "%s/%s/msr", path, p) != JP_OK) continue;
        if (stat(msr, &st) != 0) continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            int *tmp = realloc(cpus, ncap * sizeof *tmp);
            if (!tmp) {
                free(cpus);
                closedir(d);
                return jp_fail(JP_ERR_NOMEM, "rapl-msr: out of memory listing CPUs");
            }
            cpus = tmp;
            cap = ncap;
        }
        cpus[n++] = (int)v;
    }
    closedir(d);
    if (n) qsort(cpus, n, sizeof *cpus, cmp_int);
    *out = cpus;
    *count = n;
    return JP_OK;
}

/* Reads a sysfs topology value that may be negative ("-1" in some VMs). */
static bool read_topology(const char *sys, int cpu, const char *what, long *out)
{
    char path[PATH_MAX], buf[64];
    if (jp_pathf(path, sizeof path, "%s/devices/system/cpu/cpu%d/topology/%s", sys, cpu, what) != JP_OK)
        return false;
    if (jp_read_text(path, buf, sizeof buf) != JP_OK) return false;
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    if (end == buf || *end || errno) return false;
    *out = v;
    return true;
}

/* The CPU vendor and model come from the one cpuinfo parser (host.h). */
static int read_cpuinfo(const jp_roots *roots, struct jp_cpu_info *ci)
{
    int rc = jp_host_cpuinfo(roots, ci);
    if (rc != JP_OK) {
        char why[600];
        jp_strlcpy(why, jp_last_error(), sizeof why);
        return jp_fail(rc, "cannot tell the CPU vendor: %s", why);
    }
    return JP_OK;
}

static enum vendor vendor_of(const char *v)
{
    if (!strcmp(v, "GenuineIntel")) return VENDOR_INTEL;
    if (!strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine")) return VENDOR_AMD;
    return VENDOR_UNKNOWN;
}

/*
 * Intel server parts whose DRAM energy counter uses a fixed unit of 2^-16 J (15.3 uJ) rather than
 * the unit in MSR_RAPL_POWER_UNIT. Source: "Intel Xeon Processor E5-1600 and E5-2600 v3 Product
 * Families Datasheet, Vol. 2" (330784-001), and the models the Linux perf RAPL driver applies the
 * same fixed unit to (arch/x86/events/rapl.c, RAPL_UNIT_QUIRK_INTEL_HSW). Family 6 model numbers.
 * Sapphire Rapids and later use the unit from the MSR (the kernel dropped the fixed unit there).
 */
static const long fixed_dram_unit_models[] = {
    0x3F, /* Haswell-X (Xeon E5/E7 v3) */
    0x4F, /* Broadwell-X (Xeon E5/E7 v4) */
    0x56, /* Broadwell-D (Xeon D-1500) */
    0x55, /* Skylake-X (Xeon Scalable 1st-3rd gen: Skylake-SP, Cascade Lake, Cooper Lake) */
    0x57, /* Xeon Phi Knights Landing */
    0x85, /* Xeon Phi Knights Mill */
    0x6A, /* Ice Lake-X (Xeon Scalable 3rd gen) */
    0x6C, /* Ice Lake-D */
};

static bool intel_fixed_dram_unit(const struct jp_cpu_info *ci)
{
    if (ci->family != 6) return false;
    for (size_t i = 0; i < sizeof fixed_dram_unit_models / sizeof fixed_dram_unit_models[0]; i++)
        if (ci->model == fixed_dram_unit_models[i]) return true;
    return false;
}

/* The result of one MSR read. */
enum msr_result { MSR_OK, MSR_GONE, MSR_FAILED, MSR_PERM };

struct msr_file {
    int cpu;
    int fd;
    int open_errno;
};

static void msr_file_init(struct msr_file *f)
{
    f->cpu = -1;
    f->fd = -1;
    f->open_errno = 0;
}

static void msr_file_close(struct msr_file *f)
{
    if (f->fd >= 0) close(f->fd);
    msr_file_init(f);
}

/* Reads one MSR of one CPU, keeping the file open in *f while the same CPU is read again. */
static enum msr_result msr_read(const char *dev, struct msr_file *f, int cpu, uint32_t addr,
                                uint64_t *val, int *err)
{
    if (f->cpu != cpu) {
        msr_file_close(f);
        char path[PATH_MAX];
        f->cpu = cpu;
        if (jp_pathf(path, sizeof path, "%s/cpu/%d/msr", dev, cpu) != JP_OK) {
            f->open_errno = ENAMETOOLONG;
        } else {
            f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
            f->open_errno = f->fd < 0 ? errno : 0;
        }
    }
    if (f->fd < 0) {
        *err = f->open_errno;
        if (is_gone_errno(f->open_errno)) return MSR_GONE;
        if (f->open_errno == EACCES || f->open_errno == EPERM) return MSR_PERM;
        return MSR_FAILED;
    }
    uint64_t v = 0;
    ssize_t n;
    do {
        n = pread(f->fd, &v, sizeof v, (off_t)addr);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof v) {
        *val = v;
        *err = 0;
        return MSR_OK;
    }
    if (n < 0) {
        *err = errno;
        if (is_gone_errno(errno)) return MSR_GONE;
        if (errno == EACCES || errno == EPERM) return MSR_PERM;
        return MSR_FAILED;
    }
    *err = EIO; /* short read: past the end (a fake file), or a driver that gave less */
    return MSR_FAILED;
}

static const char *errtext(int e) { return e ? strerror(e) : "short read"; }

/* ---- open / probe ------------------------------------------------------------------------------- */

struct package {
    long pkg, die;
    int cpu;            /* representative CPU (lowest number) */
    size_t ncores;
    int *core_cpus;     /* AMD: one CPU per core_id */
    long *core_ids;
};

static void free_packages(struct package *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].core_cpus);
        free(p[i].core_ids);
    }
    free(p);
}

static int cmp_cpu_desc(const void *a, const void *b)
{
    const struct cpu_desc *x = a, *y = b;
    if (x->pkg != y->pkg) return (x->pkg > y->pkg) - (x->pkg < y->pkg);
    if (x->die != y->die) return (x->die > y->die) - (x->die < y->die);
    return (x->cpu > y->cpu) - (x->cpu < y->cpu);
}

/* Groups the CPUs into packages (per die), with the distinct cores of each. */
static int build_packages(const char *sys, const int *cpus, size_t ncpus, struct package **out,
                          size_t *npkgs)
{
    struct cpu_desc *cd = calloc(ncpus, sizeof *cd);
    struct package *pk = calloc(ncpus, sizeof *pk);
    if (!cd || !pk) {
        free(cd);
        free(pk);
        return jp_fail(JP_ERR_NOMEM, "rapl-msr: out of memory");
    }
    for (size_t i = 0; i < ncpus; i++) {
        cd[i].cpu = cpus[i];
        /* Without topology (a kernel without sysfs topology), the CPUs are taken as one package:
         * the lowest CPU is read, which is right on single-socket machines. */
        if (!read_topology(sys, cpus[i], "physical_package_id", &cd[i].pkg) || cd[i].pkg < 0)
            cd[i].pkg = 0;
        if (!read_topology(sys, cpus[i], "die_id", &cd[i].die) || cd[i].die < 0) cd[i].die = 0;
        if (!read_topology(sys, cpus[i], "core_id", &cd[i].core)) cd[i].core = -1;
    }
    qsort(cd, ncpus, sizeof *cd, cmp_cpu_desc);
    size_t n = 0;
    for (size_t i = 0; i < ncpus; i++) {
        if (n == 0 || pk[n - 1].pkg != cd[i].pkg || pk[n - 1].die != cd[i].die) {
            pk[n].pkg = cd[i].pkg;
            pk[n].die = cd[i].die;
            pk[n].cpu = cd[i].cpu;
            pk[n].core_cpus = calloc(ncpus, sizeof(int));
            pk[n].core_ids = calloc(ncpus, sizeof(long));
            n++;
            if (!pk[n - 1].core_cpus || !pk[n - 1].core_ids) {
                free(cd);
                free_packages(pk, n);
                return jp_fail(JP_ERR_NOMEM, "rapl-msr: out of memory");
            }
        }
        struct package *p = &pk[n - 1];
        if (cd[i].core < 0) continue;
        /* One CPU per core: the highest-numbered thread (CPUs come in ascending order). Any thread
         * reads its core's counter; taking the last one keeps the per-core read off the package's
         * representative CPU wherever cores have SMT siblings, so that a fake msr file (a sparse
         * regular file, where 8-byte reads at the consecutive offsets 0xC0010299..0xC001029B
         * overlap) can hold the unit and package counters of one CPU and the core counter of
         * another apart. */
        size_t k = 0;
        while (k < p->ncores && p->core_ids[k] != cd[i].core) k++;
        if (k == p->ncores) {
            p->core_ids[k] = cd[i].core;
            p->ncores++;
        }
        p->core_cpus[k] = cd[i].cpu;
    }
    free(cd);
    *out = pk;
    *npkgs = n;
    return JP_OK;
}

static void free_sum(struct core_sum *cs)
{
    free(cs->cpus);
    free(cs->last);
    free(cs->have);
    free(cs->t_ok);
}

static void priv_free(struct msr_priv *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nsums; i++) free_sum(&p->sums[i]);
    free(p);
}

static double unit_joules(uint64_t unit_msr) { return ldexp(1.0, -(int)((unit_msr >> 8) & 0x1F)); }

static int add_msr_domain(struct jp_source *src, struct msr_priv *pv, const char *kind_name,
                          jp_domain_kind kind, size_t index, int cpu, uint32_t addr, double jpu)
{
    char name[JP_NAME_MAX];
    snprintf(name, sizeof name, "%s-%zu", kind_name, index);
    int d = jp_source_add_domain(src, name, kind, jpu, COUNTER_WRAP, false);
    if (d < 0) return d;
    pv->dom[d].cpu = cpu;
    pv->dom[d].addr = addr;
    pv->dom[d].sum = -1;
    pv->n = src->ndomains;
    return JP_OK;
}

static int msr_fail_open(int rc, const char *dev, int cpu, enum msr_result r, int err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cpu/%d/msr", dev, cpu);
    if (r == MSR_PERM) {
        if (geteuid() == 0)
            return jp_fail(JP_ERR_PERM,
                           "%s: reading MSRs needs CAP_SYS_RAWIO (%s even as root: a container without "
                           "that capability, or a kernel in lockdown mode under Secure Boot)",
                           path, strerror(err));
        return jp_fail(JP_ERR_PERM, "%s: reading MSRs needs root (CAP_SYS_RAWIO): run as root", path);
    }
    if (r == MSR_GONE && (err == ENOENT))
        return jp_fail(JP_ERR_NOTFOUND, "no %s: load the msr kernel module (sudo modprobe msr)", path);
    return jp_fail(rc, "%s: %s", path, errtext(err));
}

static int do_open(struct jp_source *src, const struct jp_source_env *env)
{
    const char *dev = env->roots.dev;
    int *cpus = NULL;
    size_t ncpus = 0;
    int rc = list_msr_cpus(dev, &cpus, &ncpus);
    if (rc != JP_OK) return rc;
    if (ncpus == 0)
        return jp_fail(JP_ERR_NOTFOUND, "no %s/cpu/0/msr: load the msr kernel module (sudo modprobe msr)",
                       dev);

    /* Can we open it at all? Permission is the usual reason not to. */
    uint64_t v;
    int err;
    enum msr_result r;
    {
        char path[PATH_MAX];
        rc = jp_pathf(path, sizeof path, "%s/cpu/%d/msr", dev, cpus[0]);
        int fd = rc == JP_OK ? open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
        if (fd < 0) {
            int cpu0 = cpus[0];
            free(cpus);
            if (rc != JP_OK) return rc;
            err = errno;
            r = is_gone_errno(err) ? MSR_GONE : (err == EACCES || err == EPERM) ? MSR_PERM : MSR_FAILED;
            return msr_fail_open(JP_ERR_IO, dev, cpu0, r, err);
        }
        close(fd);
    }
    struct msr_file f;

    struct jp_cpu_info ci;
    rc = read_cpuinfo(&env->roots, &ci);
    if (rc != JP_OK) {
        free(cpus);
        return rc;
    }
    enum vendor vendor = vendor_of(ci.vendor);
    if (vendor == VENDOR_UNKNOWN) {
        free(cpus);
        return jp_fail(JP_ERR_NOSOURCE,
                       "CPU vendor \"%s\" (%s/cpuinfo) has no known RAPL MSRs: rapl-msr reads "
                       "GenuineIntel, AuthenticAMD and HygonGenuine CPUs",
                       ci.vendor[0] ? ci.vendor : "(none given)", env->roots.proc);
    }
    if (vendor == VENDOR_AMD && ci.family >= 0 && ci.family < 0x17 && !strcmp(ci.vendor, "AuthenticAMD")) {
        free(cpus);
        return jp_fail(JP_ERR_NOSOURCE,
                       "AMD CPU family 0x%lx has no RAPL MSRs (they start with family 17h, Zen)",
                       ci.family);
    }

    struct package *pk = NULL;
    size_t npk = 0;
    rc = build_packages(env->roots.sys, cpus, ncpus, &pk, &npk);
    free(cpus);
    if (rc != JP_OK) return rc;

    struct msr_priv *pv = calloc(1, sizeof *pv);
    if (!pv) {
        free_packages(pk, npk);
        return jp_fail(JP_ERR_NOMEM, "rapl-msr: out of memory");
    }
    jp_strlcpy(pv->dev, dev, sizeof pv->dev);
    src->ndomains = 0;

    const uint32_t unit_addr = vendor == VENDOR_INTEL ? MSR_INTEL_POWER_UNIT : MSR_AMD_POWER_UNIT;
    const bool fixed_dram = vendor == VENDOR_INTEL && intel_fixed_dram_unit(&ci);
    double first_unit = 0;
    bool has_kind[4] = {false, false, false, false}; /* package, dram, core, uncore */
    msr_file_init(&f);
    for (size_t i = 0; i < npk; i++) {
        struct package *p = &pk[i];
        uint64_t unit;
        r = msr_read(dev, &f, p->cpu, unit_addr, &unit, &err);
        if (r != MSR_OK) {
            int cpu = p->cpu;
            msr_file_close(&f);
            free_packages(pk, npk);
            priv_free(pv);
            src->ndomains = 0;
            if (r == MSR_PERM || (r == MSR_GONE && err == ENOENT))
                return msr_fail_open(JP_ERR_IO, dev, cpu, r, err);
            return jp_fail(JP_ERR_NOSOURCE,
                           "this CPU does not expose RAPL MSRs (0x%X read failed on %s/cpu/%d/msr: %s)",
                           (unsigned)unit_addr, dev, cpu, errtext(err));
        }
        double jpu = unit_joules(unit);
        if (i == 0) first_unit = jpu;

        struct {
            uint32_t addr;
            const char *kname;
            jp_domain_kind kind;
            int slot;
        } intel[] = {
            {MSR_INTEL_PKG_ENERGY, "package", JP_DOMAIN_PACKAGE, 0},
            {MSR_INTEL_DRAM_ENERGY, "dram", JP_DOMAIN_DRAM, 1},
            {MSR_INTEL_PP0_ENERGY, "core", JP_DOMAIN_CORE, 2},
            {MSR_INTEL_PP1_ENERGY, "uncore", JP_DOMAIN_UNCORE, 3},
        };
        if (vendor == VENDOR_INTEL) {
            for (size_t k = 0; k < sizeof intel / sizeof intel[0]; k++) {
                /* A domain this CPU does not implement fails to read (EIO): it is left out. So is
                 * one that reads 0 (implemented but not in use, as DRAM on many client parts; the
                 * kernel's perf RAPL driver skips those too). */
                if (msr_read(dev, &f, p->cpu, intel[k].addr, &v, &err) != MSR_OK) continue;
                if ((v & COUNTER_MASK) == 0) continue;
                double u = jpu;
                if (intel[k].kind == JP_DOMAIN_DRAM && fixed_dram) u = ldexp(1.0, -16);
                rc = add_msr_domain(src, pv, intel[k].kname, intel[k].kind, i, p->cpu, intel[k].addr, u);
                if (rc != JP_OK) goto fail;
                has_kind[intel[k].slot] = true;
            }
        } else {
            if (msr_read(dev, &f, p->cpu, MSR_AMD_PKG_ENERGY, &v, &err) == MSR_OK && (v & COUNTER_MASK) != 0) {
                rc = add_msr_domain(src, pv, "package", JP_DOMAIN_PACKAGE, i, p->cpu, MSR_AMD_PKG_ENERGY,
                                    jpu);
                if (rc != JP_OK) goto fail;
                has_kind[0] = true;
            }
            /* core-N: the sum of the per-core counters of the package's cores, one logical CPU
             * per core_id (its last thread). Each 32-bit per-core counter is extended here, so the
             * domain is a 64-bit counter (wrap 0). Cores whose counter cannot be read at open are
             * left out. */
            struct core_sum cs;
            memset(&cs, 0, sizeof cs);
            size_t cap = p->ncores ? p->ncores : 1;
            cs.cpus = calloc(cap, sizeof *cs.cpus);
            cs.last = calloc(cap, sizeof *cs.last);
            cs.have = calloc(cap, sizeof *cs.have);
            cs.t_ok = calloc(cap, sizeof *cs.t_ok);
            if (!cs.cpus || !cs.last || !cs.have || !cs.t_ok) {
                free_sum(&cs);
                rc = jp_fail(JP_ERR_NOMEM, "rapl-msr: out of memory");
                goto fail;
            }
            double t = jp_now();
            for (size_t c = 0; c < p->ncores; c++) {
                if (msr_read(dev, &f, p->core_cpus[c], MSR_AMD_CORE_ENERGY, &v, &err) != MSR_OK) continue;
                cs.cpus[cs.ncores] = p->core_cpus[c];
                cs.last[cs.ncores] = (uint32_t)(v & COUNTER_MASK);
                cs.have[cs.ncores] = true;
                cs.t_ok[cs.ncores] = t;
                cs.ncores++;
            }
            if (cs.ncores == 0) {
                free_sum(&cs);
            } else {
                char name[JP_NAME_MAX];
                snprintf(name, sizeof name, "core-%zu", i);
                cs.jpu = jpu;
                int d = jp_source_add_domain(src, name, JP_DOMAIN_CORE, jpu, 0, false);
                if (d < 0) {
                    free_sum(&cs);
                    rc = d;
                    goto fail;
                }
                pv->sums[pv->nsums] = cs;
                pv->dom[d].cpu = -1;
                pv->dom[d].addr = 0;
                pv->dom[d].sum = (int)pv->nsums++;
                pv->n = src->ndomains;
                has_kind[2] = true;
            }
        }
    }
    msr_file_close(&f);

    if (src->ndomains == 0) {
        int cpu0 = pk[0].cpu;
        free_packages(pk, npk);
        priv_free(pv);
        return jp_fail(JP_ERR_NOSOURCE,
                       "this CPU does not expose RAPL MSRs (the package energy MSR 0x%X cannot be read "
                       "on %s/cpu/%d/msr)",
                       vendor == VENDOR_INTEL ? MSR_INTEL_PKG_ENERGY : MSR_AMD_PKG_ENERGY, dev, cpu0);
    }

    static const char *const kind_words[4] = {"package", "dram", "core", "uncore"};
    char kinds[96] = "";
    for (int k = 0; k < 4; k++) {
        if (!has_kind[k]) continue;
        if (kinds[0]) strncat(kinds, ", ", sizeof kinds - strlen(kinds) - 1);
        strncat(kinds, kind_words[k], sizeof kinds - strlen(kinds) - 1);
    }
    char extra[96] = "";
    if (fixed_dram && has_kind[1]) snprintf(extra, sizeof extra, ", dram 15.26 uJ fixed on this model");
    snprintf(src->detail, sizeof src->detail, "%s RAPL MSRs on %zu package%s: %s (unit %.2f uJ%s)",
             vendor == VENDOR_INTEL ? "Intel" : (!strcmp(ci.vendor, "HygonGenuine") ? "Hygon" : "AMD"),
             npk, npk == 1 ? "" : "s", kinds, first_unit * 1e6, extra);
    free_packages(pk, npk);
    src->priv = pv;
    return JP_OK;

fail:
    msr_file_close(&f);
    free_packages(pk, npk);
    priv_free(pv);
    src->ndomains = 0;
    return rc;
}

static int open_(struct jp_source *src, const struct jp_source_env *env)
{
    src->priv = NULL;
    src->ndomains = 0;
    src->detail[0] = '\0';
    return do_open(src, env);
}

static void close_(struct jp_source *src)
{
    priv_free(src->priv);
    src->priv = NULL;
}

/* ---- read --------------------------------------------------------------------------------------- */

static enum jp_read_status read_sum(const char *dev, struct core_sum *cs, struct msr_file *f)
{
    bool glitch = false;
    size_t gone = 0;
    for (size_t c = 0; c < cs->ncores; c++) {
        uint64_t v;
        int err;
        enum msr_result r = msr_read(dev, f, cs->cpus[c], MSR_AMD_CORE_ENERGY, &v, &err);
        if (r == MSR_GONE) {
            gone++; /* an offline core adds nothing while it is away */
            continue;
        }
        if (r != MSR_OK) {
            glitch = true; /* caught up from last[c] on a later read */
            continue;
        }
        double now = jp_now();
        uint32_t now_raw = (uint32_t)(v & COUNTER_MASK);
        if (!cs->have[c]) {
            cs->last[c] = now_raw;
            cs->have[c] = true;
            cs->t_ok[c] = now;
            continue;
        }
        uint32_t step = now_raw - cs->last[c]; /* modulo 2^32: one wrap is taken care of */
        double dt = now - cs->t_ok[c];
        if ((double)step * cs->jpu > AMD_CORE_MAX_WATTS * ((dt > 0 ? dt : 0) + 0.1)) {
            /* implausible (a bad read): keep last[c]; the allowance grows with time, so a core
             * whose counter really moved that much is taken in later */
            glitch = true;
            continue;
        }
        cs->acc += step;
        cs->last[c] = now_raw;
        cs->t_ok[c] = now;
    }
    if (gone == cs->ncores) return JP_READ_GONE;
    return glitch ? JP_READ_GLITCH : JP_READ_OK;
}

static int read_(struct jp_source *src, uint64_t *raw, enum jp_read_status *status)
{
    struct msr_priv *pv = src->priv;
    if (!pv) return jp_fail(JP_ERR_STATE, "rapl-msr: read before open");
    struct msr_file f;
    msr_file_init(&f);
    for (size_t i = 0; i < pv->n; i++) {
        const struct msr_domain *d = &pv->dom[i];
        raw[i] = 0;
        if (d->sum >= 0) {
            struct core_sum *cs = &pv->sums[d->sum];
            status[i] = read_sum(pv->dev, cs, &f);
            raw[i] = cs->acc;
            continue;
        }
        uint64_t v;
        int err;
        switch (msr_read(pv->dev, &f, d->cpu, d->addr, &v, &err)) {
        case MSR_OK:
            raw[i] = v & COUNTER_MASK;
            status[i] = JP_READ_OK;
            break;
        case MSR_GONE:
            status[i] = JP_READ_GONE;
            break;
        default:
            status[i] = JP_READ_GLITCH;
            break;
        }
    }
    msr_file_close(&f);
    return JP_OK;
}

const struct jp_source_ops jp_source_rapl_msr = {"rapl-msr", false, false, NULL, open_, read_, close_};
