/* Small SVG chart pieces for the HTML report: scales, ticks, axes, units. */
#ifndef JP_REPORT_SVG_H
#define JP_REPORT_SVG_H

#include <stdbool.h>
#include <stdio.h>

/* A map from data (d0..d1) to pixels (r0..r1), linear or log10. */
struct sv_scale {
    double d0, d1, r0, r1;
    bool log;
};
double sv_map(const struct sv_scale *s, double v);

/* Ticks for a scale: linear ones at 1-2-2.5-5 steps; log ones at 1, 2, 5 x 10^k (only 1 x 10^k when
 * the span is over 3 decades). Returns how many (at most max). */
size_t sv_ticks(const struct sv_scale *s, double *ticks, size_t max);

/* Widens [lo, hi] to nice round ends for about n linear ticks. */
void sv_nice(double *lo, double *hi, int n);

/* A unit for values up to max: scale (value / scale is shown) and its name. kind: 'J' energy, 'g'
 * mass, 'W' power, 's' time. */
struct sv_unit {
    double scale;
    const char *name;
};
struct sv_unit sv_unit_for(char kind, double max);

/* A tick label: v with up to 4 significant digits, no exponent, no trailing zeros. */
void sv_label(double v, char *buf, size_t len);

/* The colour-blind-safe palette (Okabe and Ito), by model index. */
const char *sv_colour(size_t i);

#endif
