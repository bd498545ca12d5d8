/*
 * The power model (see model_power.h): machine description from /proc, CPU TDP lookup, and the
 * utilization -> watts curve. The shipped parameters are fitted in model_fit.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "model_power.h"

#include "cpu_table.h"
#include "model_fit.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- /proc/cpuinfo and /proc/meminfo ----------------------------------------------------------- */


/* "key\t: value" -> key and value trimmed, in place. False if the line has no colon. */
static bool split_field(char *line, char **key, char **val)
{
    char *colon = strchr(line, ':');
    if (!colon) return false;
    *colon = '\0';
    char *k = line, *v = colon + 1;
    char *e = colon;
    while (e > k && isspace((unsigned char)e[-1])) *--e = '\0';
    while (isspace((unsigned char)*v)) v++;
    e = v + strlen(v);
    while (e > v && isspace((unsigned char)e[-1])) *--e = '\0';
    *key = k;
    *val = v;
    return true;
}

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    const char *p = list;
    while ((p = strstr(p, word)) != NULL) {
        bool start = p == list || isspace((unsigned char)p[-1]);
        bool end = p[n] == '\0' || isspace((unsigned char)p[n]);
        if (start && end) return true;
        p += n;
    }
    return false;
}

#define MAX_IDS 4096

int jp_cpu_info_read(const jp_roots *roots, struct jp_cpu_info *info)
{
    memset(info, 0, sizeof *info);
    /* roots->proc replaces /proc ("" or no roots: the real one) */
    const char *proc = roots && roots->proc[0] ? roots->proc : "/proc";
    char path[PATH_MAX];
    int rc = jp_pathf(path, sizeof path, "%s/cpuinfo", proc);
    if (rc != JP_OK) return rc;

    int orc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) return orc == JP_ERR_PERM ? orc : JP_ERR_IO; /* the message names the file and why */

    /* Distinct physical ids, and distinct (physical id, core id) pairs. */
    static const int none = -1;
    int *sock_ids = calloc(MAX_IDS, sizeof *sock_ids);
    long *core_keys = calloc(MAX_IDS, sizeof *core_keys);
    if (!sock_ids || !core_keys) {
        free(sock_ids);
        free(core_keys);
        fclose(f);
        return jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
    }
    int nsock = 0, ncore_keys = 0, cpu_cores = 0;
    int cur_phys = none;
    char *line = NULL;
    size_t cap = 0;
    long line_no = 0;
    rc = JP_OK;
    while (getline(&line, &cap, f) >= 0) {
        line_no++;
        char *key, *val;
        if (!split_field(line, &key, &val)) {
            cur_phys = none; /* a blank line ends one processor's block */
            continue;
        }
        if (!strcmp(key, "processor")) {
            info->logical_cpus++;
            cur_phys = none;
        } else if (!strcmp(key, "model name") || (!strcmp(key, "Processor") && !info->brand[0])) {
            if (!info->brand[0]) jp_strlcpy(info->brand, val, sizeof info->brand);
        } else if (!strcmp(key, "physical id") || !strcmp(key, "core id")) {
            char *end;
            errno = 0;
            long v = strtol(val, &end, 10);
            if (end == val || *end || errno || v < 0 || v > 1000000) {
                rc = jp_fail(JP_ERR_PARSE, "%s:%ld: %s: expected a non-negative integer, found \"%.40s\"",
                             path, line_no, key, val);
                break;
            }
            if (key[0] == 'p') {
                cur_phys = (int)v;
                bool seen = false;
                for (int i = 0; i < nsock; i++) seen |= sock_ids[i] == (int)v;
                if (!seen && nsock < MAX_IDS) sock_ids[nsock++] = (int)v;
            } else {
                long k = (long)(cur_phys < 0 ? 0 : cur_phys) * 1000001L + v;
                bool seen = false;
                for (int i = 0; i < ncore_keys; i++) seen |= core_keys[i] == k;
                if (!seen && ncore_keys < MAX_IDS) core_keys[ncore_keys++] = k;
            }
        } else if (!strcmp(key, "cpu cores")) {
            char *end;
            long v = strtol(val, &end, 10);
            if (end == val || *end || v <= 0 || v > 100000) {
                rc = jp_fail(JP_ERR_PARSE, "%s:%ld: cpu cores: expected a positive integer, found \"%.40s\"",
                             path, line_no, val);
                break;
            }
            cpu_cores = (int)v;
        } else if (!strcmp(key, "flags")) {
            if (has_word(val, "hypervisor")) info->hypervisor = true;
        }
    }
    free(line);
    fclose(f);
    if (rc == JP_OK && info->logical_cpus == 0)
        rc = jp_fail(JP_ERR_PARSE, "%s: no \"processor\" entries: expected one block per logical CPU", path);
    if (rc != JP_OK) {
        free(sock_ids);
        free(core_keys);
        return rc;
    }
    info->sockets = nsock > 0 ? nsock : 1;
    if (ncore_keys > 0)
        info->cores = ncore_keys;
    else if (cpu_cores > 0)
        info->cores = cpu_cores * info->sockets;
    if (info->cores > info->logical_cpus) info->cores = info->logical_cpus;
    free(sock_ids);
    free(core_keys);

    /* MemTotal */
    rc = jp_pathf(path, sizeof path, "%s/meminfo", proc);
    if (rc != JP_OK) return rc;
    f = jp_fopen_read(path, &orc);
    if (!f) return orc == JP_ERR_PERM ? orc : JP_ERR_IO;
    line = NULL;
    cap = 0;
    bool found = false;
    rc = JP_OK;
    while (getline(&line, &cap, f) >= 0) {
        char *key, *val;
        if (!split_field(line, &key, &val) || strcmp(key, "MemTotal")) continue;
        found = true;
        char *end;
        errno = 0;
        double kb = strtod(val, &end);
        while (isspace((unsigned char)*end)) end++;
        if (end == val || errno || !(kb > 0) || !isfinite(kb) || strcmp(end, "kB"))
            rc = jp_fail(JP_ERR_PARSE, "%s: MemTotal: expected a positive size in kB, found \"%.40s\"", path,
                         val);
        else
            info->mem_gb = kb * 1024.0 / 1e9;
        break;
    }
    free(line);
    fclose(f);
    if (rc == JP_OK && !found) rc = jp_fail(JP_ERR_PARSE, "%s: no MemTotal line: expected \"MemTotal: N kB\"", path);
    return rc;
}

/* ---- TDP table lookup -------------------------------------------------------------------------- */

#define MAX_TOKENS 24
#define TOKEN_LEN 32

struct tokens {
    int n;
    char t[MAX_TOKENS][TOKEN_LEN];
};

static bool all_digits_then(const char *s, const char *suffix)
{
    const char *p = s;
    if (!isdigit((unsigned char)*p)) return false;
    while (isdigit((unsigned char)*p) || *p == '.') p++;
    return !strcmp(p, suffix);
}

/* Lower-cases, removes (r), (tm), "cpu", "processor", "N-core", "@ freq" and frequencies, and splits
 * on white space. */
static void tokenize(const char *s, struct tokens *out)
{
    char buf[256];
    size_t n = 0;
    for (const char *p = s; *p && n + 1 < sizeof buf; p++) {
        if (*p == '@') break;
        buf[n++] = (char)tolower((unsigned char)*p);
    }
    buf[n] = '\0';
    static const char *const marks[] = {"(r)", "(tm)", "\xc2\xae", "\xe2\x84\xa2"};
    for (size_t m = 0; m < sizeof marks / sizeof *marks; m++) {
        char *q;
        while ((q = strstr(buf, marks[m])) != NULL) memset(q, ' ', strlen(marks[m]));
    }
    out->n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
        if (!strcmp(tok, "cpu") || !strcmp(tok, "processor")) continue;
        if (all_digits_then(tok, "-core") || all_digits_then(tok, "-cores")) continue;
        if (all_digits_then(tok, "ghz") || all_digits_then(tok, "mhz")) continue;
        if (out->n == MAX_TOKENS) break;
        jp_strlcpy(out->t[out->n++], tok, TOKEN_LEN);
    }
}

static bool has_token(const struct tokens *t, const char *w)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->t[i], w)) return true;
    return false;
}

const struct jp_cpu_tdp *jp_cpu_tdp_match(const char *brand)
{
    if (!brand || !*brand) return NULL;
    struct tokens b, e;
    tokenize(brand, &b);
    if (b.n == 0) return NULL;
    const struct jp_cpu_tdp *best = NULL;
    int best_n = 0;
    size_t best_len = 0;
    for (size_t i = 0; i < jp_cpu_tdp_count; i++) {
        tokenize(jp_cpu_tdp_table[i].name, &e);
        if (e.n == 0 || e.n > b.n) continue;
        bool ok = true, numbered = false;
        size_t len = 0;
        for (int k = 0; k < e.n && ok; k++) {
            ok = has_token(&b, e.t[k]);
            len += strlen(e.t[k]);
            for (const char *c = e.t[k]; *c; c++) numbered |= isdigit((unsigned char)*c) != 0;
        }
        /* A model number must be among the tokens: "AMD EPYC" alone says nothing about power. */
        if (!ok || !numbered) continue;
        if (e.n > best_n || (e.n == best_n && len > best_len)) {
            best = &jp_cpu_tdp_table[i];
            best_n = e.n;
            best_len = len;
        }
    }
    return best;
}

/* ---- the model --------------------------------------------------------------------------------- */

/* CPU watts = idle + (max - idle) x (1 - (1 - u)^k), u the busy fraction of all logical CPUs.
 *
 * Bare metal: idle and max are fractions of sockets x TDP. The fractions and k were fitted on
 * CodeCarbon's cpu_load_profiling data (five machines, RAPL-measured) with jp_fit_search over all
 * five; bench/model_accuracy prints the fit and its leave-one-machine-out scores (BENCHMARKS.md),
 * tests/test_model_power checks that these constants are what the fit gives. k > 1 makes the curve
 * concave: measured power rises steeply at low load and saturates well before every hyper-thread is
 * busy. The same k is used with the per-vCPU figures below (a vCPU is a host hyper-thread): it is the
 * only measured evidence of the curve's shape at hand. */
#define JP_SHIPPED_IDLE_FRAC 0.0
#define JP_SHIPPED_MAX_FRAC 0.69
#define JP_SHIPPED_CURVE 1.9
const struct jp_model_fractions jp_model_shipped = {JP_SHIPPED_IDLE_FRAC, JP_SHIPPED_MAX_FRAC, JP_SHIPPED_CURVE};

/* Per-thread figures where the TDP table cannot be used (VMs, unknown CPUs): Cloud Carbon Footprint's
 * methodology (https://www.cloudcarbonfootprint.org/docs/methodology/, "Compute"), derived from the
 * SPECpower database, publishes per-vCPU minimum/maximum watts per provider: AWS 0.74/3.5 (average),
 * GCP 0.71/4.26 (median), Azure 0.78/3.76 (average). The provider is not known here, so the mean of
 * the three is used. */
#define VCPU_MIN_W ((0.74 + 0.71 + 0.78) / 3.0) /* 0.743 W */
#define VCPU_MAX_W ((3.5 + 4.26 + 3.76) / 3.0)  /* 3.840 W */
/* Memory: Cloud Carbon Footprint's methodology ("Memory"): 0.392 W/GB, the mean of Crucial's 3 W per
 * 8 GB and Micron's DDR4 power model. */
#define RAM_W_PER_GB 0.392

/* Appends to buf (always NUL-terminated; silently truncates). */
static void cat(char *buf, size_t len, const char *fmt, ...) JP_PRINTF(3, 4);
static void cat(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

void jp_model_resolve_with(const struct jp_cpu_info *info, const struct jp_model_fractions *fr,
                           jp_model_params *p)
{
    const bool user_idle = p->cpu_idle_w >= 0, user_max = p->cpu_max_w >= 0, user_curve = p->curve >= 0;
    const bool user_rw = p->ram_w_per_gb >= 0, user_rgb = p->ram_gb >= 0;
    const int sockets = info->sockets > 0 ? info->sockets : 1;
    const int cpus = info->logical_cpus > 0 ? info->logical_cpus : 1;
    const struct jp_cpu_tdp *t = info->hypervisor ? NULL : jp_cpu_tdp_match(info->brand);

    char *b = p->basis;
    const size_t blen = sizeof p->basis;
    b[0] = '\0';
    if (user_idle || user_max || user_curve || user_rw || user_rgb)
        cat(b, blen, "user set%s%s%s%s%s; ", user_idle ? " idle" : "", user_max ? " max" : "",
            user_curve ? " curve" : "", user_rw ? " W/GB" : "", user_rgb ? " GB" : "");

    double idle, max;
    if (user_idle && user_max) {
        idle = p->cpu_idle_w;
        max = p->cpu_max_w;
        cat(b, blen, "CPU %.4g-%.4g W", idle, max);
    } else if (t) {
        double w = t->tdp_w * sockets;
        idle = fr->idle_frac * w;
        max = fr->max_frac * w;
        cat(b, blen, "%.48s: TDP %.4g W x%d (CodeCarbon);", t->name, t->tdp_w, sockets);
        if (!user_idle) cat(b, blen, " idle %.2f", fr->idle_frac);
        if (!user_max) cat(b, blen, "%s max %.2f", user_idle ? "" : ",", fr->max_frac);
        cat(b, blen, " x TDP");
    } else {
        idle = VCPU_MIN_W * cpus;
        max = VCPU_MAX_W * cpus;
        if (info->hypervisor)
            cat(b, blen, "VM: %d vCPU x %.2f-%.2f W (CCF mean of AWS, GCP, Azure)", cpus, VCPU_MIN_W, VCPU_MAX_W);
        else
            cat(b, blen, "\"%.24s\" not in TDP table: %d threads x %.2f-%.2f W (CCF vCPU mean)",
                info->brand[0] ? info->brand : "?", cpus, VCPU_MIN_W, VCPU_MAX_W);
    }
    if (!user_idle) p->cpu_idle_w = idle;
    if (!user_max) p->cpu_max_w = max;
    if (!user_curve) p->curve = fr->curve;
    cat(b, blen, ", k %.2f%s", p->curve, user_curve ? "" : " (fit: CodeCarbon profiles)");
    if (!user_rw) p->ram_w_per_gb = RAM_W_PER_GB;
    if (!user_rgb) p->ram_gb = info->mem_gb > 0 ? info->mem_gb : 0;
    cat(b, blen, "; RAM %.3g W/GB%s", p->ram_w_per_gb, user_rw ? "" : " (CCF)");
}

void jp_model_resolve(const struct jp_cpu_info *info, jp_model_params *p)
{
    jp_model_resolve_with(info, &jp_model_shipped, p);
}

double jp_model_cpu_watts(const jp_model_params *p, double u)
{
    if (!(u > 0)) u = 0; /* also NaN */
    if (u > 1) u = 1;
    double idle = p->cpu_idle_w > 0 ? p->cpu_idle_w : 0;
    double max = p->cpu_max_w > idle ? p->cpu_max_w : idle;
    double k = p->curve > 0 ? p->curve : 1.0;
    return idle + (max - idle) * (1.0 - pow(1.0 - u, k));
}

double jp_model_ram_watts(const jp_model_params *p)
{
    double w = p->ram_w_per_gb > 0 ? p->ram_w_per_gb : 0;
    double gb = p->ram_gb > 0 ? p->ram_gb : 0;
    return w * gb;
}
