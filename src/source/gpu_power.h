/*
 * Shared by the GPU back-ends (nvml, amdgpu-hwmon) where a GPU gives power but no energy counter:
 * power readings integrated over time into a microjoule counter, so that the meter treats the GPU
 * like any other counter. The trapezoid rule between consecutive good readings: exact for power that
 * changes linearly between two samples, and a reading that could not be taken is simply bridged by
 * the next good one.
 */
#ifndef JP_GPU_POWER_H
#define JP_GPU_POWER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../util.h"

struct jp_power_integral {
    double uj;     /* energy so far, microjoules */
    double last_w; /* the last good reading */
    double last_t; /* its time (jp_now) */
    bool have;
};

/* Adds a good reading of `watts` taken at time t. */
static inline void jp_power_integral_add(struct jp_power_integral *pi, double watts, double t)
{
    if (pi->have && t > pi->last_t) pi->uj += 0.5 * (pi->last_w + watts) * (t - pi->last_t) * 1e6;
    pi->last_w = watts;
    pi->last_t = t;
    pi->have = true;
}

/* The counter to hand to the meter (microjoules). */
static inline uint64_t jp_power_integral_raw(const struct jp_power_integral *pi) { return (uint64_t)pi->uj; }

/* Appends printf-style text to buf (holding a NUL-terminated string of capacity len); when it does
 * not fit, the text is cut and ends with "...". */
static inline void jp_gpu_appendf(char *buf, size_t len, const char *fmt, ...) JP_PRINTF(3, 4);
static inline void jp_gpu_appendf(char *buf, size_t len, const char *fmt, ...)
{
    size_t off = strlen(buf);
    if (len < 4 || off + 1 >= len) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + off, len - off, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= len - off) memcpy(buf + len - 4, "...", 4);
}

#endif
