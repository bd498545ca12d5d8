/* Scales, ticks and units for the HTML report's inline SVG charts. */
#include "report/svg.h"

#include <math.h>
#include <string.h>

double sv_map(const struct sv_scale *s, double v)
{
    double a = s->d0, b = s->d1;
    if (s->log) {
        if (!(v > 0)) v = a;
        v = log10(v);
        a = log10(a);
        b = log10(b);
    }
    if (b == a) return (s->r0 + s->r1) / 2;
    return s->r0 + (v - a) / (b - a) * (s->r1 - s->r0);
}

static double nice_step(double range, int n)
{
    if (!(range > 0) || n < 1) return 1;
    double raw = range / n, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double step = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return step * mag;
}

void sv_nice(double *lo, double *hi, int n)
{
    if (!(*hi > *lo)) {
        double c = *lo, w = fabs(c) > 0 ? fabs(c) * 0.1 : 1;
        *lo = c - w;
        *hi = c + w;
    }
    double step = nice_step(*hi - *lo, n);
    *lo = floor(*lo / step + 1e-9) * step;
    *hi = ceil(*hi / step - 1e-9) * step;
}

size_t sv_ticks(const struct sv_scale *s, double *ticks, size_t max)
{
    size_t n = 0;
    double lo = fmin(s->d0, s->d1), hi = fmax(s->d0, s->d1);
    if (s->log) {
        if (!(lo > 0)) return 0;
        int k0 = (int)floor(log10(lo)), k1 = (int)ceil(log10(hi));
        bool minor = k1 - k0 <= 3;
        static const double mult[] = {1, 2, 5};
        for (int k = k0; k <= k1 && n < max; k++)
            for (size_t m = 0; m < (minor ? 3u : 1u) && n < max; m++) {
                double v = mult[m] * pow(10, k);
                if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks[n++] = v;
            }
        return n;
    }
    double step = nice_step(hi - lo, 5);
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && n < max; v += step)
        ticks[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    return n;
}

struct sv_unit sv_unit_for(char kind, double max)
{
    static const struct sv_unit energy[] = {{1e-9, "nJ"}, {1e-6, "µJ"}, {1e-3, "mJ"}, {1, "J"},
                                            {1e3, "kJ"},  {1e6, "MJ"},  {1e9, "GJ"}};
    static const struct sv_unit mass[] = {{1e-6, "µg"}, {1e-3, "mg"}, {1, "g"}, {1e3, "kg"}, {1e6, "t"}, {1e9, "kt"}};
    static const struct sv_unit power[] = {{1e-3, "mW"}, {1, "W"}, {1e3, "kW"}};
    const struct sv_unit *u;
    size_t n;
    switch (kind) {
    case 'g':
        u = mass;
        n = sizeof mass / sizeof mass[0];
        break;
    case 'W':
        u = power;
        n = sizeof power / sizeof power[0];
        break;
    case 's':
        if (max < 1) return (struct sv_unit){1e-3, "ms"};
        if (max > 600) return (struct sv_unit){60, "min"};
        return (struct sv_unit){1, "s"};
    default:
        u = energy;
        n = sizeof energy / sizeof energy[0];
    }
    if (!(max > 0) || !isfinite(max)) return u[kind == 'W' ? 1 : kind == 'g' ? 2 : 3];
    size_t best = 0;
    for (size_t i = 0; i < n; i++)
        if (max >= u[i].scale * 0.999) best = i;
    return u[best];
}

void sv_label(double v, char *buf, size_t len)
{
    if (!len) return;
    if (!isfinite(v)) {
        buf[0] = '\0';
        return;
    }
    double a = fabs(v);
    if (a == 0) {
        snprintf(buf, len, "0");
        return;
    }
    int decimals = a >= 1000 ? 0 : 3 - (int)floor(log10(a));
    if (decimals < 0) decimals = 0;
    if (decimals > 12) decimals = 12;
    snprintf(buf, len, "%.*f", decimals, v);
    if (strchr(buf, '.')) {
        size_t n = strlen(buf);
        while (n && buf[n - 1] == '0') buf[--n] = '\0';
        if (n && buf[n - 1] == '.') buf[--n] = '\0';
    }
}

const char *sv_colour(size_t i)
{
    /* Okabe & Ito (2008): blue, orange, bluish green, reddish purple, sky blue, vermillion, yellow, black */
    static const char *const c[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"};
    return c[i % (sizeof c / sizeof c[0])];
}
