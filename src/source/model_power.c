/*
 * The power model (see model_power.h): machine description from /proc, CPU TDP lookup, and the
 * utilization -> watts curve. The shipped parameters are fitted in model_fit.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "model_power.h"

#include "cpu_table.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        tokenize(jp_cpu_tdp_name(&jp_cpu_tdp_table[i]), &e);
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
        cat(b, blen, "%.48s: TDP %.4g W x%d (CodeCarbon);", jp_cpu_tdp_name(t), t->tdp_w, sockets);
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
