/* Parsing and printing durations, energies and powers with units. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *name;
    double factor;
};

/* Splits "12.5 kWh" into a finite non-negative number and a unit, then scales by the table. */
static int parse_with_units(const char *text, const struct unit *units, const char *what,
                            const char *expected, double *out)
{
    if (!text || !*text) return jp_fail(JP_ERR_PARSE, "empty %s: expected e.g. %s", what, expected);
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(v))
        return jp_fail(JP_ERR_PARSE, "%s \"%s\": expected a number with a unit, e.g. %s", what, text, expected);
    if (v < 0) return jp_fail(JP_ERR_RANGE, "%s \"%s\": must not be negative", what, text);
    while (*end == ' ') end++;
    if (!*end) /* a bare number is ambiguous (seconds or minutes? J or kWh?) */
        return jp_fail(JP_ERR_PARSE, "%s \"%s\": a unit is needed, e.g. %s", what, text, expected);
    for (const struct unit *u = units; u->name; u++) {
        if (strcmp(end, u->name) == 0) {
            double r = v * u->factor;
            if (!isfinite(r)) return jp_fail(JP_ERR_RANGE, "%s \"%s\": too large", what, text);
            *out = r;
            return JP_OK;
        }
    }
    /* the same letters in another case: units are case-sensitive (mWh and MWh differ by 1e9), so
     * say which spelling was probably meant rather than guess */
    const char *alt[2] = {NULL, NULL};
    int nalt = 0;
    for (const struct unit *u = units; u->name && nalt < 2; u++)
        if (strcasecmp(end, u->name) == 0) alt[nalt++] = u->name;
    int numlen = (int)(end - text);
    while (numlen > 0 && text[numlen - 1] == ' ') numlen--;
    if (nalt == 1)
        return jp_fail(JP_ERR_PARSE, "%s \"%s\": unknown unit \"%s\" (units are case-sensitive): did you mean %.*s%s?", what,
                       text, end, numlen, text, alt[0]);
    if (nalt == 2)
        return jp_fail(JP_ERR_PARSE, "%s \"%s\": unknown unit \"%s\" (units are case-sensitive): did you mean %.*s%s or %.*s%s?",
                       what, text, end, numlen, text, alt[0], numlen, text, alt[1]);
    return jp_fail(JP_ERR_PARSE, "%s \"%s\": unknown unit \"%s\", expected e.g. %s", what, text, end, expected);
}

int jp_parse_duration(const char *text, double *seconds)
{
    static const struct unit units[] = {
        {"s", 1.0}, {"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"sec", 1.0}, {"m", 60.0},
        {"min", 60.0}, {"h", 3600.0}, {"d", 86400.0}, {NULL, 0}};
    return parse_with_units(text, units, "duration", "100ms, 5s, 2min, 1h", seconds);
}

int jp_parse_energy(const char *text, double *joules)
{
    static const struct unit units[] = {
        {"J", 1.0}, {"mJ", 1e-3}, {"kJ", 1e3}, {"MJ", 1e6}, {"GJ", 1e9}, {"mWh", 3.6}, {"Wh", 3600.0},
        {"kWh", 3.6e6}, {"MWh", 3.6e9}, {"GWh", 3.6e12}, {NULL, 0}};
    return parse_with_units(text, units, "energy", "12J, 3.5kJ, 2Wh, 143.8MWh", joules);
}

/* Prints v with 3 significant digits (no exponent) and a unit. */
static void fmt3(char *buf, size_t len, double v, const char *unit)
{
    double a = fabs(v);
    int decimals = a >= 100 ? 0 : a >= 10 ? 1 : 2;
    snprintf(buf, len, "%.*f %s", decimals, v, unit);
}

void jp_format_energy(double j, char *buf, size_t len)
{
    double a = fabs(j);
    if (!isfinite(j)) snprintf(buf, len, "n/a");
    else if (a == 0) snprintf(buf, len, "0 J");
    else if (a < 1) fmt3(buf, len, j * 1e3, "mJ");
    else if (a < 1e4) fmt3(buf, len, j, "J");
    else if (a < 3.6e5) fmt3(buf, len, j / 1e3, "kJ");
    else if (a < 3.6e6) fmt3(buf, len, j / 3600.0, "Wh");
    else if (a < 3.6e9) fmt3(buf, len, j / 3.6e6, "kWh");
    else if (a < 3.6e12) fmt3(buf, len, j / 3.6e9, "MWh");
    else fmt3(buf, len, j / 3.6e12, "GWh");
}

void jp_format_power(double w, char *buf, size_t len)
{
    double a = fabs(w);
    if (!isfinite(w)) snprintf(buf, len, "n/a");
    else if (a == 0) snprintf(buf, len, "0 W");
    else if (a < 1) fmt3(buf, len, w * 1e3, "mW");
    else if (a < 1e4) fmt3(buf, len, w, "W");
    else fmt3(buf, len, w / 1e3, "kW");
}

void jp_format_duration(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0) snprintf(buf, len, "n/a");
    else if (s < 1) snprintf(buf, len, "%.0f ms", s * 1e3);
    else if (s < 60) snprintf(buf, len, "%.2f s", s);
    else if (s < 3600) snprintf(buf, len, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(buf, len, "%.0f h %02d min", floor(s / 3600), (int)fmod(s / 60, 60)); /* any size: no int */
}

void jp_format_mass(double g, char *buf, size_t len)
{
    double a = fabs(g);
    if (!isfinite(g)) snprintf(buf, len, "n/a");
    else if (a == 0) snprintf(buf, len, "0 g");
    else if (a < 1e-3) fmt3(buf, len, g * 1e6, "ug");
    else if (a < 1) fmt3(buf, len, g * 1e3, "mg");
    else if (a < 1e3) fmt3(buf, len, g, "g");
    else if (a < 1e6) fmt3(buf, len, g / 1e3, "kg");
    else fmt3(buf, len, g / 1e6, "t");
}
