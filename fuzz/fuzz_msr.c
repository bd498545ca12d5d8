/* The MSR source's decoding of arbitrary 64-bit register values, on fake /dev/cpu/0/msr files (sparse
 * files read with pread at the MSR address, as the kernel's device is): the energy unit register and
 * the energy counters of an Intel or an AMD CPU, read twice, then through the meter's counter
 * arithmetic. Input: byte 0 (bit 0: AMD, else Intel), then two reads of five little-endian u64 (the
 * unit register and four counters: Intel PKG, DRAM, PP0, PP1; AMD PKG, CORE of core 0, and two unused),
 * zeros where the input ends. Invariants: a domain's scale is finite, positive and at most 1 J a unit;
 * its modulus 0 or 2^32; a value read lies within its modulus; the joules of the second read are finite,
 * non-negative and no more than the domain's plausible power over the second between the reads. */
#include "fuzz_common.h"

#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

#include "meter_hook.h"
#include "source/source.h"

static const uint32_t intel[5] = {0x606u, 0x611u, 0x619u, 0x639u, 0x641u};
static const uint32_t amd[5] = {0xC0010299u, 0xC001029Bu, 0xC001029Au, 0, 0};

static void put_file(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", fz_dir(), rel);
    fz_write(p, text, strlen(text));
}

static void mkdirs(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", fz_dir(), rel);
    for (char *s = p + strlen(fz_dir()) + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

static void write_msrs(const uint32_t *addr, const uint64_t *v)
{
    char p[512], tmp[520];
    snprintf(p, sizeof p, "%s/dev/cpu/0/msr", fz_dir());
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) abort();
    for (int i = 0; i < 5; i++)
        if (addr[i] && pwrite(fd, &v[i], sizeof v[i], (off_t)addr[i]) != (ssize_t)sizeof v[i]) abort();
    close(fd);
    if (rename(tmp, p) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool made;
    if (!made) {
        mkdirs("dev/cpu/0");
        mkdirs("sys/devices/system/cpu/cpu0/topology");
        mkdirs("proc");
        put_file("sys/devices/system/cpu/cpu0/topology/physical_package_id", "0\n");
        put_file("sys/devices/system/cpu/cpu0/topology/core_id", "0\n");
        put_file("sys/devices/system/cpu/cpu0/topology/die_id", "0\n");
        char p[512];
        snprintf(p, sizeof p, "%s/dev", fz_dir());
        setenv("JP_DEV_ROOT", p, 1);
        snprintf(p, sizeof p, "%s/sys", fz_dir());
        setenv("JP_SYSFS_ROOT", p, 1);
        snprintf(p, sizeof p, "%s/proc", fz_dir());
        setenv("JP_PROC_ROOT", p, 1);
        made = true;
    }
    bool is_amd = size > 0 && (data[0] & 1);
    uint64_t v[2][5] = {{0}};
    for (size_t i = 1; i < size && i < 1 + 80; i++) v[(i - 1) / 40][((i - 1) % 40) / 8] |= (uint64_t)data[i] << (8 * ((i - 1) % 8));
    put_file("proc/cpuinfo", is_amd ? "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n"
                                      "model name\t: Fake CPU\n\n"
                                    : "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
                                      "model name\t: Fake CPU\n\n");
    const uint32_t *addr = is_amd ? amd : intel;
    write_msrs(addr, v[0]);

    struct jp_source_env env;
    if (jp_source_env_init(&env, NULL) != JP_OK) return 0;
    struct jp_source src;
    memset(&src, 0, sizeof src);
    src.ops = &jp_source_rapl_msr;
    if (src.ops->open(&src, &env) != JP_OK) return 0;
    size_t n = src.ndomains;
    FZ_CHECK(n > 0 && n <= 64);
    uint64_t raw[2][64];
    enum jp_read_status st[2][64];
    int r0 = src.ops->read(&src, raw[0], st[0]);
    write_msrs(addr, v[1]);
    int r1 = src.ops->read(&src, raw[1], st[1]);
    for (size_t i = 0; i < n; i++) {
        const struct jp_domain_desc *d = &src.domains[i];
        FZ_CHECK(isfinite(d->joules_per_unit) && d->joules_per_unit > 0 && d->joules_per_unit <= 1.0);
        FZ_CHECK(d->wrap == 0 || d->wrap == (1ULL << 32));
        for (int k = 0; k < 2; k++)
            if ((k ? r1 : r0) == JP_OK && st[k][i] == JP_READ_OK && d->wrap) FZ_CHECK(raw[k][i] < d->wrap);
        if (r0 != JP_OK || r1 != JP_OK || st[0][i] != JP_READ_OK || st[1][i] != JP_READ_OK) continue;
        double max_w = d->max_watts > 0 ? d->max_watts : 1500;
        struct jp_counter c;
        memset(&c, 0, sizeof c);
        enum jp_counter_outcome oc;
        jp_counter_take(&c, raw[0][i], 100.0, d->wrap, d->joules_per_unit, max_w, &oc);
        double e = jp_counter_take(&c, raw[1][i], 101.0, d->wrap, d->joules_per_unit, max_w, &oc);
        FZ_CHECK(isfinite(e) && e >= 0 && e <= max_w * (1 + 1e-9));
    }
    src.ops->close(&src);
    return 0;
}
