/* The sysfs value readers (powercap energy_uj and max_energy_range_uj, hwmon power1_average and the
 * amdgpu attributes all go through jp_read_u64 / jp_kfile_read_u64), then a whole powercap source on a
 * fake tree. Input: energy_uj "#" zone name "#" max_energy_range_uj. Invariant: a value accepted is
 * exactly its decimal digits (no NUL, no trailing junk). */
#include "fuzz_common.h"

#include <errno.h>
#include <sys/stat.h>

#include "jouleprint.h"
#include "util.h"

static void put(const char *rel, const uint8_t *d, size_t n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", fz_dir(), rel);
    fz_write(p, d, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *e, *rest, *name, *range;
    size_t elen, rlen, nlen, rglen;
    fz_split(data, size, "#", &e, &elen, &rest, &rlen);
    fz_split(rest, rlen, "#", &name, &nlen, &range, &rglen);
    static bool made;
    if (!made) {
        char p[512];
        snprintf(p, sizeof p, "%s/class", fz_dir());
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/class/powercap", fz_dir());
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/class/powercap/intel-rapl:0", fz_dir());
        mkdir(p, 0755);
        made = true;
    }
    put("class/powercap/intel-rapl:0/energy_uj", e, elen);
    put("class/powercap/intel-rapl:0/name", name, nlen);
    put("class/powercap/intel-rapl:0/max_energy_range_uj", range, rglen);
    char p[512];
    snprintf(p, sizeof p, "%s/class/powercap/intel-rapl:0/energy_uj", fz_dir());
    uint64_t v = 0, v2 = 0;
    int rc = jp_read_u64(p, &v);
    if (rc == JP_OK) {
        FZ_CHECK(memchr(e, 0, elen) == NULL);
        size_t i = 0;
        while (i < elen && (e[i] == ' ' || e[i] == '\t' || e[i] == '\n')) i++;
        uint64_t again = 0;
        for (; i < elen && e[i] >= '0' && e[i] <= '9'; i++) again = again * 10 + (uint64_t)(e[i] - '0');
        for (; i < elen; i++) FZ_CHECK(e[i] == ' ' || e[i] == '\t' || e[i] == '\n' || e[i] == '\r');
        FZ_CHECK(again == v);
    }
    jp_kfile f;
    jp_kfile_init(&f, p, true);
    int rc2 = jp_kfile_read_u64(&f, &v2);
    jp_kfile_close(&f);
    FZ_CHECK(rc2 == rc && (rc != JP_OK || v2 == v));
    char text[64];
    jp_read_text(p, text, sizeof text);
    /* the whole source on the fake tree */
    setenv("JP_SYSFS_ROOT", fz_dir(), 1);
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-powercap";
    jp_meter *m = NULL;
    if (jp_meter_open(&m, &cfg) == JP_OK) {
        FZ_CHECK(jp_meter_domain_count(m) >= 1);
        jp_meter_close(m);
    }
    return 0;
}
