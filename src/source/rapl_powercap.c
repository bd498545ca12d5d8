/*
 * rapl-powercap: RAPL energy counters through the Linux powercap framework,
 * <sys>/class/powercap/intel-rapl:N[:M]/{name,energy_uj,max_energy_range_uj} (the same tree on AMD
 * with the amd_rapl driver), and intel-rapl-mmio:N.
 *
 * Top zones are "package-N" or "psys"; subzones of a package are "core", "uncore" and "dram" and are
 * named here after their package (core-0, dram-1). The same counter can appear twice: the MMIO
 * interface repeats package zones of the MSR one, and on multi-die AMD parts one package counter is
 * listed once per die. Zones whose resulting domain name is already taken are that same counter
 * again and are skipped (and said so in the detail), so the total never counts one twice.
 */
#define _POSIX_C_SOURCE 200809L
#include "source.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct zone {
    jp_kfile energy; /* .../energy_uj */
};

struct priv {
    size_t n;
    struct zone zones[JP_MAX_DOMAINS];
};

static int powercap_dir(const struct jp_source_env *env, char *buf, size_t len)
{
    return jp_pathf(buf, len, "%s/class/powercap", env->roots.sys);
}

/* "intel-rapl:0" -> top zone, "intel-rapl:0:1" -> subzone; also intel-rapl-mmio. */
static int zone_depth(const char *name)
{
    const char *colon = strchr(name, ':');
    if (!colon) return 0;
    if (strncmp(name, "intel-rapl:", 11) != 0 && strncmp(name, "intel-rapl-mmio:", 16) != 0) return 0;
    int depth = 0;
    for (const char *p = colon; *p; p++) {
        if (*p == ':') depth++;
        else if (*p < '0' || *p > '9') return 0;
    }
    return depth;
}

/* "package-N" -> N. Package numbers are small (the kernel's logical package ids); anything larger, or
 * anything after the digits, is not a package zone name. */
#define MAX_PACKAGE 65535
static bool package_index(const char *zname, unsigned *idx)
{
    const char *num = zname + 7;
    uint64_t v;
    if (strncmp(zname, "package", 7) != 0) return false;
    if (*num == '-') num++;
    if (*num < '0' || *num > '9' || jp_parse_u64(num, &v) != JP_OK || v > MAX_PACKAGE) return false;
    *idx = (unsigned)v;
    return true;
}

static int cmp_names(const void *a, const void *b)
{
    /* MSR-backed zones (intel-rapl:) before MMIO ones, then natural order */
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int mx = strncmp(x, "intel-rapl-mmio", 15) == 0, my = strncmp(y, "intel-rapl-mmio", 15) == 0;
    if (mx != my) return mx - my;
    size_t lx = strlen(x), ly = strlen(y);
    if (lx != ly) return lx < ly ? -1 : 1;
    return strcmp(x, y);
}

/* Lists zone directory names, sorted. Returns count or negative status. */
static int list_zones(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (!d) return JP_ERR_NOTFOUND;
    size_t n = 0, cap = 16;
    char **names = malloc(cap * sizeof *names);
    if (!names) {
        closedir(d);
        return JP_ERR_NOMEM;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!zone_depth(e->d_name)) continue;
        if (n == cap) {
            char **nn = realloc(names, 2 * cap * sizeof *names);
            if (!nn) break;
            names = nn;
            cap *= 2;
        }
        names[n] = strdup(e->d_name);
        if (names[n]) n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    return (int)n;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

static int probe(const struct jp_source_env *env)
{
    char dir[PATH_MAX];
    int rc = powercap_dir(env, dir, sizeof dir);
    if (rc != JP_OK) return rc;
    char **names;
    int n = list_zones(dir, &names);
    if (n == JP_ERR_NOTFOUND) {
        return jp_fail(JP_ERR_NOSOURCE,
                       "no %s: the kernel has no powercap RAPL driver here (a VM or container, "
                       "or load intel_rapl_common / amd_rapl)",
                       dir);
    }
    if (n < 0) return n;
    if (n == 0) {
        free_names(names, n);
        return jp_fail(JP_ERR_NOSOURCE, "%s has no intel-rapl zones: RAPL is not exposed on this machine", dir);
    }
    /* every zone readable? the first unreadable one says why */
    char path[PATH_MAX];
    uint64_t v;
    rc = JP_OK;
    for (int i = 0; i < n && rc == JP_OK; i++) {
        if (jp_pathf(path, sizeof path, "%s/%s/energy_uj", dir, names[i]) != JP_OK) continue;
        rc = jp_read_u64(path, &v);
        if (rc == JP_ERR_PERM)
            jp_fail(rc, "%s is readable by root only since the 2020 RAPL mitigation "
                        "(CVE-2020-8694): run as root, or grant read access with a udev rule "
                        "(or chmod a+r on each energy_uj)", path);
        /* other errors: jp_read_u64's own message names the file */
    }
    free_names(names, n);
    return rc == JP_OK ? JP_OK : JP_ERR_NOSOURCE;
}

static jp_domain_kind kind_of(const char *zname, int *ok)
{
    *ok = 1;
    if (!strncmp(zname, "package", 7)) return JP_DOMAIN_PACKAGE;
    if (!strcmp(zname, "core")) return JP_DOMAIN_CORE;
    if (!strcmp(zname, "uncore")) return JP_DOMAIN_UNCORE;
    if (!strcmp(zname, "dram")) return JP_DOMAIN_DRAM;
    if (!strcmp(zname, "psys")) return JP_DOMAIN_PSYS;
    *ok = 0;
    return JP_DOMAIN_PACKAGE;
}

static int domain_taken(const struct jp_source *src, const char *name)
{
    for (size_t i = 0; i < src->ndomains; i++)
        if (!strcmp(src->domains[i].name, name)) return 1;
    return 0;
}

static int open_(struct jp_source *src, const struct jp_source_env *env)
{
    char dir[PATH_MAX];
    int rc = powercap_dir(env, dir, sizeof dir);
    if (rc != JP_OK) return rc;
    char **names;
    int n = list_zones(dir, &names);
    if (n < 0) return jp_fail(JP_ERR_NOSOURCE, "%s: no RAPL zones", dir);
    struct priv *pv = calloc(1, sizeof *pv);
    if (!pv) {
        free_names(names, n);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    int skipped = 0, mmio = 0, packages = 0;
    rc = JP_OK;
    for (int i = 0; i < n && rc == JP_OK; i++) {
        char path[PATH_MAX], zname[64], dname[JP_NAME_MAX];
        uint64_t range;
        if ((rc = jp_pathf(path, sizeof path, "%s/%s/name", dir, names[i])) != JP_OK) break;
        if ((rc = jp_read_text(path, zname, sizeof zname)) != JP_OK) break;
        int ok;
        jp_domain_kind kind = kind_of(zname, &ok);
        if (!ok) {
            rc = jp_fail(JP_ERR_PARSE, "%s: unknown RAPL zone name \"%s\" (expected package-N, core, "
                         "uncore, dram or psys)", path, zname);
            break;
        }
        /* name the domain: package-N as given; subzones after their parent package */
        if (kind == JP_DOMAIN_PACKAGE || kind == JP_DOMAIN_PSYS) {
            if (kind == JP_DOMAIN_PACKAGE) {
                unsigned idx;
                if (!package_index(zname, &idx)) {
                    rc = jp_fail(JP_ERR_PARSE, "%s: expected package-N with N from 0 to %d, found \"%s\"", path,
                                 MAX_PACKAGE, zname);
                    break;
                }
                snprintf(dname, sizeof dname, "package-%u", idx);
            } else {
                snprintf(dname, sizeof dname, "psys");
            }
        } else {
            /* parent zone directory: names[i] minus its last ":M" */
            char parent[128], ppath[PATH_MAX], pname[64];
            jp_strlcpy(parent, names[i], sizeof parent);
            char *last = strrchr(parent, ':');
            if (last) *last = '\0';
            if ((rc = jp_pathf(ppath, sizeof ppath, "%s/%s/name", dir, parent)) != JP_OK) break;
            unsigned idx = 0;
            if (jp_read_text(ppath, pname, sizeof pname) == JP_OK && !strncmp(pname, "package", 7) &&
                !package_index(pname, &idx)) {
                rc = jp_fail(JP_ERR_PARSE, "%s: expected package-N with N from 0 to %d, found \"%s\"", ppath,
                             MAX_PACKAGE, pname);
                break;
            }
            snprintf(dname, sizeof dname, "%s-%u", jp_domain_kind_name(kind), idx);
        }
        if (domain_taken(src, dname)) {
            skipped++;
            if (!strncmp(names[i], "intel-rapl-mmio", 15)) mmio++;
            continue;
        }
        if ((rc = jp_pathf(path, sizeof path, "%s/%s/max_energy_range_uj", dir, names[i])) != JP_OK) break;
        if ((rc = jp_read_u64(path, &range)) != JP_OK) break;
        if (range == 0) {
            rc = jp_fail(JP_ERR_PARSE, "%s: expected a positive range in microjoules, found 0", path);
            break;
        }
        if ((rc = jp_pathf(path, sizeof path, "%s/%s/energy_uj", dir, names[i])) != JP_OK) break;
        uint64_t v;
        if ((rc = jp_read_u64(path, &v)) != JP_OK) {
            if (rc == JP_ERR_PERM)
                rc = jp_fail(JP_ERR_PERM, "%s is readable by root only since the 2020 RAPL mitigation "
                             "(CVE-2020-8694): run as root, or grant read access with a udev rule", path);
            break;
        }
        int di = jp_source_add_domain(src, dname, kind, 1e-6, range, false);
        if (di < 0) {
            rc = di;
            break;
        }
        jp_kfile_init(&pv->zones[di].energy, path, env->roots.sys_real);
        if (kind == JP_DOMAIN_PACKAGE) packages++;
    }
    free_names(names, n);
    if (rc == JP_OK && src->ndomains == 0) rc = jp_fail(JP_ERR_NOSOURCE, "%s: no usable RAPL zones", dir);
    if (rc != JP_OK) {
        for (size_t i = 0; i < src->ndomains; i++) jp_kfile_close(&pv->zones[i].energy);
        free(pv);
        src->ndomains = 0;
        return rc;
    }
    pv->n = src->ndomains;
    src->priv = pv;
    int off = snprintf(src->detail, sizeof src->detail, "powercap RAPL, %d package%s:", packages,
                       packages == 1 ? "" : "s");
    for (size_t i = 0; i < src->ndomains && off > 0 && (size_t)off < sizeof src->detail; i++)
        off += snprintf(src->detail + off, sizeof src->detail - (size_t)off, "%s %s", i ? "," : "",
                        src->domains[i].name);
    if (skipped && off > 0 && (size_t)off < sizeof src->detail)
        snprintf(src->detail + off, sizeof src->detail - (size_t)off,
                 " (%d duplicate zone%s counted once%s)", skipped, skipped == 1 ? "" : "s",
                 mmio ? ": intel-rapl-mmio repeats intel-rapl" : "");
    return JP_OK;
}

static int read_(struct jp_source *src, uint64_t *raw, enum jp_read_status *status)
{
    struct priv *pv = src->priv;
    for (size_t i = 0; i < pv->n; i++) {
        int rc = jp_kfile_read_u64(&pv->zones[i].energy, &raw[i]);
        status[i] = rc == JP_OK ? JP_READ_OK : rc == JP_ERR_NOTFOUND ? JP_READ_GONE : JP_READ_GLITCH;
    }
    return JP_OK;
}

static void close_(struct jp_source *src)
{
    struct priv *pv = src->priv;
    for (size_t i = 0; pv && i < pv->n; i++) jp_kfile_close(&pv->zones[i].energy);
    free(src->priv);
    src->priv = NULL;
}

const struct jp_source_ops jp_source_rapl_powercap = {
    .name = "rapl-powercap",
    .is_gpu = false,
    .estimated = false,
    .probe = probe,
    .open = open_,
    .read = read_,
    .close = close_,
};
