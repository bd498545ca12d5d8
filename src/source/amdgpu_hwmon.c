/*
 * amdgpu-hwmon: AMD GPUs through the amdgpu driver's hwmon files,
 * <sys>/class/drm/cardN/device/hwmon/hwmonM/ (the hwmon whose name is "amdgpu"):
 *   energy1_input   microjoules, cumulative: handed to the meter as a counter where present;
 *   power1_average  microwatts, the driver's average (older boards and drivers), else
 *   power1_input    microwatts, the current reading (RDNA3 and later),
 * read at every sample of the meter and integrated here (trapezoids) into a microjoule counter.
 * power1_cap bounds a plausible reading; update_interval or power1_average_interval (ms), where the
 * driver has them, say how often the readings change.
 *
 * Each AMD GPU is a domain gpu-K, K counting the AMD cards in card order, added to the total. Every
 * value is read afresh and validated on every sample: one that cannot be parsed, or a power no board
 * draws, is a glitch (skipped and counted); a file that vanished is reported as such. Utilization
 * (device/gpu_busy_percent) and VRAM in use (device/mem_info_vram_used) go to the timeline as side
 * metrics where the driver has them.
 */
#define _POSIX_C_SOURCE 200809L
#include "source.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_power.h"

enum method { COUNTER, POWER };

struct card {
    char path[PATH_MAX]; /* energy1_input, power1_average or power1_input */
    enum method method;
    double max_w;        /* a power reading above this is a glitch */
    struct jp_power_integral pi;
    char busy[PATH_MAX], vram[PATH_MAX];
    int aux_util, aux_mem;
};

struct priv {
    size_t n;
    struct card cards[JP_MAX_DOMAINS];
};

/* "card12" -> 12; anything else (card0-DP-1, renderD128, version) -> -1 */
static long card_number(const char *name)
{
    if (strncmp(name, "card", 4) != 0 || !name[4]) return -1;
    long v = 0;
    for (const char *p = name + 4; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 100000) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* The card numbers under dir, ascending; returns how many (at most max), or -1 if dir is missing. */
static int list_cards(const char *dir, long *out, int max)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        long c = card_number(e->d_name);
        if (c >= 0) out[n++] = c;
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof *out, cmp_long);
    return n;
}

/* The first hwmonM under devdir/hwmon whose name is "amdgpu", into hw; 0 if found. */
static int find_hwmon(const char *devdir, char *hw, size_t len)
{
    char dir[PATH_MAX];
    if (jp_pathf(dir, sizeof dir, "%s/hwmon", devdir) != JP_OK) return -1;
    DIR *d = opendir(dir);
    if (!d) return -1;
    int found = -1;
    long best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "hwmon", 5) != 0) continue;
        char *end;
        long idx = strtol(e->d_name + 5, &end, 10);
        if (end == e->d_name + 5 || *end) continue;
        char path[PATH_MAX], name[64];
        if (jp_pathf(path, sizeof path, "%s/%s/name", dir, e->d_name) != JP_OK) continue;
        if (jp_read_text(path, name, sizeof name) != JP_OK || strcmp(name, "amdgpu") != 0) continue;
        if (found == 0 && idx >= best) continue;
        if (jp_pathf(hw, len, "%s/%s", dir, e->d_name) != JP_OK) continue;
        best = idx;
        found = 0;
    }
    closedir(d);
    return found;
}

static bool is_amd(const char *devdir)
{
    char path[PATH_MAX], v[32];
    if (jp_pathf(path, sizeof path, "%s/vendor", devdir) != JP_OK) return false;
    return jp_read_text(path, v, sizeof v) == JP_OK && !strcmp(v, "0x1002");
}

/* Reads a whole non-negative decimal (hwmon style) from dir/file; JP_OK, or the reason in why ("" when
 * the file is not there). */
static int read_value(const char *dir, const char *file, uint64_t *v, char *path, size_t plen, char *why, size_t wlen)
{
    int rc = jp_pathf(path, plen, "%s/%s", dir, file);
    if (rc == JP_OK) rc = jp_read_u64(path, v);
    if (rc == JP_OK || !why) return rc;
    char text[32] = "";
    if (rc == JP_ERR_NOTFOUND) why[0] = '\0';
    else if (rc == JP_ERR_PERM) snprintf(why, wlen, "%s is not readable (permission denied)", file);
    else if (rc == JP_ERR_PARSE && jp_read_text(path, text, sizeof text) == JP_OK)
        snprintf(why, wlen, "%s holds \"%s\", not a whole number", file, text);
    else snprintf(why, wlen, "%s: %s", file, jp_last_error());
    return rc;
}

static void read_aux(struct jp_source *src, const struct card *c)
{
    uint64_t v;
    if (c->aux_util >= 0)
        src->aux[c->aux_util] = jp_read_u64(c->busy, &v) == JP_OK && v <= 100 ? (double)v : NAN;
    if (c->aux_mem >= 0)
        src->aux[c->aux_mem] = jp_read_u64(c->vram, &v) == JP_OK ? (double)v / (1024.0 * 1024.0) : NAN;
}

/* Sets up one card; JP_OK, or why it cannot be measured in why. */
static int open_card(struct jp_source *src, struct priv *pv, const char *devdir, const char *hw, long cardno,
                     int k, char *lines, size_t llen, char *why, size_t wlen)
{
    char dname[JP_NAME_MAX], path[PATH_MAX], w1[256] = "", w2[256] = "", w3[256] = "";
    snprintf(dname, sizeof dname, "gpu-%d", k);
    uint64_t v = 0, cap = 0;
    enum method method = POWER;
    const char *file = NULL;
    if (read_value(hw, "energy1_input", &v, path, sizeof path, w1, sizeof w1) == JP_OK) {
        method = COUNTER;
        file = "energy1_input";
    } else if (read_value(hw, "power1_average", &v, path, sizeof path, w2, sizeof w2) == JP_OK) {
        file = "power1_average";
    } else if (read_value(hw, "power1_input", &v, path, sizeof path, w3, sizeof w3) == JP_OK) {
        file = "power1_input";
    } else {
        jp_textf(why, wlen, "no readable energy1_input, power1_average or power1_input in %s%s%s%s%s%s%s",
                 strrchr(hw, '/') ? strrchr(hw, '/') + 1 : hw,
                 w1[0] ? "; " : "", w1, w2[0] ? "; " : "", w2, w3[0] ? "; " : "", w3);
        return JP_ERR_NOSOURCE;
    }
    char cpath[PATH_MAX];
    double cap_w = read_value(hw, "power1_cap", &cap, cpath, sizeof cpath, NULL, 0) == JP_OK ? cap / 1e6 : 0;
    if (!(cap_w > 0 && cap_w < 100000)) cap_w = 0;
    double max_w = cap_w > 0 ? fmax(3.0 * cap_w, 1000.0) : 3000.0;
    if (method == POWER && v / 1e6 > max_w) {
        snprintf(why, wlen, "%s reads %.1f W, more than any board draws", file, v / 1e6);
        return JP_ERR_NOSOURCE;
    }
    int di = jp_source_add_domain(src, dname, JP_DOMAIN_GPU, 1e-6, 0, false);
    if (di < 0) {
        snprintf(why, wlen, "%s", jp_last_error());
        return di;
    }
    struct card *c = &pv->cards[di];
    jp_strlcpy(c->path, path, sizeof c->path);
    c->method = method;
    c->max_w = max_w;
    c->aux_util = c->aux_mem = -1;
    /* as for NVML: a counter that advances in steps may look like far more than the cap in one short
     * sample; only readings of power are bounded by it */
    src->domains[di].max_watts = method == COUNTER ? 100.0 * (cap_w > 0 ? cap_w : 1000.0) : max_w;
    if (method == POWER) jp_power_integral_add(&c->pi, v / 1e6, jp_now());
    if (jp_pathf(c->busy, sizeof c->busy, "%s/gpu_busy_percent", devdir) == JP_OK && jp_read_u64(c->busy, &v) == JP_OK)
        c->aux_util = jp_source_add_aux(src, dname, "util_pct");
    if (jp_pathf(c->vram, sizeof c->vram, "%s/mem_info_vram_used", devdir) == JP_OK && jp_read_u64(c->vram, &v) == JP_OK)
        c->aux_mem = jp_source_add_aux(src, dname, "mem_used_mib");

    char name[128] = "", p[PATH_MAX];
    if (jp_pathf(p, sizeof p, "%s/product_name", devdir) != JP_OK || jp_read_text(p, name, sizeof name) != JP_OK ||
        !name[0]) {
        char id[32] = "";
        if (jp_pathf(p, sizeof p, "%s/device", devdir) == JP_OK) jp_read_text(p, id, sizeof id);
        snprintf(name, sizeof name, "AMD GPU%s%s", id[0] ? " " : "", id);
    }
    jp_gpu_appendf(lines, llen, "\n%s (card%ld) %s: ", dname, cardno, name);
    if (method == COUNTER) jp_gpu_appendf(lines, llen, "energy counter (energy1_input)");
    else jp_gpu_appendf(lines, llen, "sampled power (%s), integrated at every meter sample (--interval)", file);
    uint64_t ms;
    if (read_value(hw, "update_interval", &ms, p, sizeof p, NULL, 0) == JP_OK && ms > 0)
        jp_gpu_appendf(lines, llen, "; the driver updates it every %llu ms", (unsigned long long)ms);
    else if (method == POWER && !strcmp(file, "power1_average") &&
             read_value(hw, "power1_average_interval", &ms, p, sizeof p, NULL, 0) == JP_OK && ms > 0)
        jp_gpu_appendf(lines, llen, "; the driver averages over %llu ms", (unsigned long long)ms);
    if (cap_w > 0) jp_gpu_appendf(lines, llen, "; cap %.0f W", cap_w);
    return JP_OK;
}

static int open_(struct jp_source *src, const struct jp_source_env *env)
{
    char drm[PATH_MAX];
    int rc = jp_pathf(drm, sizeof drm, "%s/class/drm", env->roots.sys);
    if (rc != JP_OK) return rc;
    long cards[256];
    int n = list_cards(drm, cards, 256);
    if (n < 0) return jp_fail(JP_ERR_NOSOURCE, "no %s: no GPU driver here", drm);
    struct priv *pv = calloc(1, sizeof *pv);
    if (!pv) return jp_fail(JP_ERR_NOMEM, "out of memory");
    char lines[512] = "", skipped[512] = "";
    int amd = 0;
    for (int i = 0; i < n; i++) {
        char devdir[PATH_MAX], hw[PATH_MAX], why[512] = "";
        if (jp_pathf(devdir, sizeof devdir, "%s/card%ld/device", drm, cards[i]) != JP_OK) continue;
        bool has_hwmon = find_hwmon(devdir, hw, sizeof hw) == 0;
        if (!has_hwmon && !is_amd(devdir)) continue; /* another vendor's card */
        int k = amd++;
        if (!has_hwmon) {
            jp_gpu_appendf(skipped, sizeof skipped, "\ncard%ld (AMD) skipped: no amdgpu hwmon under device/hwmon",
                           cards[i]);
            continue;
        }
        if (open_card(src, pv, devdir, hw, cards[i], k, lines, sizeof lines, why, sizeof why) != JP_OK)
            jp_gpu_appendf(skipped, sizeof skipped, "\ncard%ld (AMD) skipped: %s", cards[i], why);
    }
    if (src->ndomains == 0) {
        free(pv);
        src->naux = 0;
        if (!amd) return jp_fail(JP_ERR_NOSOURCE, "no AMD GPU with the amdgpu driver under %s", drm);
        return jp_fail(JP_ERR_NOSOURCE, "%d AMD GPU%s, none can be measured:%s", amd, amd == 1 ? "" : "s", skipped);
    }
    pv->n = src->ndomains;
    src->priv = pv;
    snprintf(src->detail, sizeof src->detail, "amdgpu hwmon: %zu of %d AMD GPU%s measured", src->ndomains, amd,
             amd == 1 ? "" : "s");
    jp_gpu_appendf(src->detail, sizeof src->detail, "%s%s", lines, skipped);
    return JP_OK;
}

static int read_(struct jp_source *src, uint64_t *raw, enum jp_read_status *status)
{
    struct priv *pv = src->priv;
    for (size_t i = 0; i < pv->n; i++) {
        struct card *c = &pv->cards[i];
        uint64_t v = 0;
        int rc = jp_read_u64(c->path, &v);
        if (c->method == POWER) {
            double t = src->read_t > 0 ? src->read_t : jp_now(); /* the meter's clock (source.h) */
            if (rc == JP_OK && v / 1e6 > c->max_w) rc = JP_ERR_RANGE; /* no board draws that: not data */
            if (rc == JP_OK) jp_power_integral_add(&c->pi, v / 1e6, t);
            v = jp_power_integral_raw(&c->pi);
        }
        raw[i] = v;
        status[i] = rc == JP_OK ? JP_READ_OK : rc == JP_ERR_NOTFOUND ? JP_READ_GONE : JP_READ_GLITCH;
        read_aux(src, c);
    }
    return JP_OK;
}

static void close_(struct jp_source *src)
{
    free(src->priv);
    src->priv = NULL;
}

const struct jp_source_ops jp_source_amdgpu_hwmon = {
    .name = "amdgpu-hwmon",
    .is_gpu = true,
    .estimated = false,
    .probe = NULL, /* opening is the probe */
    .open = open_,
    .read = read_,
    .close = close_,
};
