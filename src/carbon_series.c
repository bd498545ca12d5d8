/*
 * Intensity time series (timestamp, region, gCO2e/kWh) and planning: the start time and region with the
 * least CO2e for a job of a given energy and duration.
 *
 * Each row holds from its timestamp until the region's next row, for at most one step (the smallest
 * spacing between two rows of any region: a series has one cadence). A longer spacing is a gap, and so
 * is a row whose value is empty (a gap in the source): it is reported once as a warning and no run
 * that would cross it is considered, so a plan never rests on a figure that is not in the file. Nothing
 * is interpolated.
 *
 * Planning is O(n log n) in rows: each region keeps the running integral of its intensity over time,
 * so the mean over any run is two binary searches and a difference, whatever the run's length.
 *
 * The hourly series of five US balancing areas (2022, US EIA via HewlettPackard/dc-rl) are built in
 * (src/data/carbon/eia/, compiled by tools/gen_table.c), each with the cloud regions it serves.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "csv.h"
#include "util.h"

/* A file larger than this is refused before it is read (a year of minutes for 100 regions is ~2 GB less
 * than this; a plan over more is not what the tool is for). */
#define SERIES_MAX_BYTES (1024L * 1024 * 1024)

/* Timestamps are taken from 1970-01-01 to 2200-01-01 (Unix seconds). */
#define T_MIN 0.0
#define T_MAX 7258118400.0

struct point {
    double t, g;
    size_t row; /* order in the file, so that of two rows with one timestamp the first is kept */
};

struct sregion {
    char name[64];
    char folded[96];
    char places[96];  /* other names, ';'-separated (built-in areas: "VA;Virginia") */
    char serves[160]; /* built-in regions it serves, ';'-separated ids */
    struct point *p;
    size_t n, cap;
    size_t empty; /* rows with no value: gaps in the source */
    double step;
    /* after settle(): end[k] the end of row k's figure (the next row, or one step), cum[k] the integral of
     * the intensity from p[0].t to p[k].t over the covered time (g/kWh x s), gaps[k] how many gaps lie
     * before row k */
    double *end, *cum;
    size_t *gaps;
};

struct jp_series {
    struct sregion *r;
    size_t nr, cap;
    size_t rows;
    char **warn;
    bool *warn_gap; /* warn[i] is about a region's gaps */
    size_t nwarn;
    double first, last;
    char source[200];
};

/* ---- time -------------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char **p, int n, long *out)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static const char *ms_date(double unix_s)
{
    static _Thread_local char buf[48];
    jp_format_time(unix_s, buf, sizeof buf);
    return buf;
}

int jp_parse_time(const char *text, double *unix_s)
{
    if (!text) return jp_fail(JP_ERR_PARSE, "time: empty");
    const char *p = text;
    while (*p == ' ')
        p++;
    if (!*p) return jp_fail(JP_ERR_PARSE, "time: empty; expected e.g. 2024-05-01T13:00Z");
    /* Unix seconds */
    const char *q = p;
    while (isdigit((unsigned char)*q))
        q++;
    if (q > p && (q - p) != 4) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        while (*end == ' ')
            end++;
        if (!*end && !errno && isfinite(v) && v >= 0) {
            if (v >= T_MAX) {
                if (v / 1000 >= T_MIN && v / 1000 < T_MAX)
                    return jp_fail(JP_ERR_RANGE,
                                   "time %s: after 2200 as Unix seconds; it looks like milliseconds (%.0f s is %s): "
                                   "give seconds",
                                   text, floor(v / 1000), ms_date(v / 1000));
                return jp_fail(JP_ERR_RANGE, "time %s: outside 1970-2200 as Unix seconds", text);
            }
            *unix_s = v;
            return JP_OK;
        }
    }
    long y, mo, d, h = 0, mi = 0, se = 0;
    double frac = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d)) goto bad;
    if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) goto bad;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &se)) goto bad;
            if (*p == '.') {
                char *end;
                frac = strtod(p, &end);
                p = end;
            }
        }
    }
    long off = 0;
    while (*p == ' ')
        p++;
    if (*p == 'Z' || *p == 'z')
        p++;
    else if (!strcmp(p, "UTC"))
        p += 3;
    else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        long oh, om = 0;
        p++;
        if (digits(&p, 2, &oh)) goto bad;
        if (*p == ':') p++;
        if (*p && digits(&p, 2, &om)) goto bad;
        off = sign * (oh * 3600 + om * 60);
    }
    while (*p == ' ')
        p++;
    if (*p) goto bad;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) goto bad;
    double t =
        (double)days_from_civil(y, (int)mo, (int)d) * 86400.0 + (double)(h * 3600 + mi * 60 + se) + frac - (double)off;
    if (!(t >= T_MIN && t < T_MAX)) return jp_fail(JP_ERR_RANGE, "time \"%s\": outside 1970-2200", text);
    *unix_s = t;
    return JP_OK;
bad:
    return jp_fail(JP_ERR_PARSE, "time \"%s\": expected e.g. 2024-05-01T13:00Z, 2024-05-01 13:00 or Unix seconds",
                   text);
}

void jp_format_time(double t, char *buf, size_t len)
{
    if (!isfinite(t)) {
        snprintf(buf, len, "n/a");
        return;
    }
    if (!(fabs(t) < 1e13)) { /* beyond 300,000 years: no calendar date (and no long day count) */
        snprintf(buf, len, "%.6g (Unix seconds)", t);
        return;
    }
    double fl = floor(t);
    long days = (long)floor(fl / 86400.0);
    long sec = (long)(fl - (double)days * 86400.0);
    long y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (sec % 60)
        snprintf(buf, len, "%04ld-%02d-%02d %02ld:%02ld:%02ld UTC", y, m, d, sec / 3600, sec / 60 % 60, sec % 60);
    else
        snprintf(buf, len, "%04ld-%02d-%02d %02ld:%02ld UTC", y, m, d, sec / 3600, sec / 60 % 60);
}

/* ---- loading ----------------------------------------------------------------------------------- */

static int add_warning(jp_series *s, bool gap, const char *fmt, va_list ap) JP_PRINTF(3, 0);
static int add_warning(jp_series *s, bool gap, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    char **w = realloc(s->warn, (s->nwarn + 1) * sizeof *w);
    if (!w) return -1;
    s->warn = w;
    bool *g = realloc(s->warn_gap, (s->nwarn + 1) * sizeof *g);
    if (!g) return -1;
    s->warn_gap = g;
    g[s->nwarn] = gap;
    size_t n = strlen(buf) + 1;
    char *copy = malloc(n);
    if (!copy) return -1;
    memcpy(copy, buf, n);
    s->warn[s->nwarn++] = copy;
    return 0;
}

static int warn(jp_series *s, const char *fmt, ...) JP_PRINTF(2, 3);
static int warn(jp_series *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = add_warning(s, false, fmt, ap);
    va_end(ap);
    return rc;
}

static int warn_gap(jp_series *s, const char *fmt, ...) JP_PRINTF(2, 3);
static int warn_gap(jp_series *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = add_warning(s, true, fmt, ap);
    va_end(ap);
    return rc;
}

static struct sregion *region_for(jp_series *s, const char *name)
{
    char f[96];
    jp_carbon_norm(name, f, sizeof f);
    for (size_t i = 0; i < s->nr; i++)
        if (!strcmp(s->r[i].folded, f)) return &s->r[i];
    if (s->nr == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct sregion *r = realloc(s->r, cap * sizeof *r);
        if (!r) return NULL;
        s->r = r;
        s->cap = cap;
    }
    struct sregion *r = &s->r[s->nr++];
    memset(r, 0, sizeof *r);
    jp_strlcpy(r->name, name, sizeof r->name);
    jp_strlcpy(r->folded, f, sizeof r->folded);
    return r;
}

static int add_point(jp_series *s, struct sregion *r, double t, double g)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct point *np = realloc(r->p, cap * sizeof *np);
        if (!np) return jp_fail(JP_ERR_NOMEM, "out of memory");
        r->p = np;
        r->cap = cap;
    }
    r->p[r->n++] = (struct point){t, g, s->rows};
    s->rows++;
    return JP_OK;
}

static int cmp_point(const void *a, const void *b)
{
    const struct point *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

void jp_series_free(jp_series *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nr; i++) {
        free(s->r[i].p);
        free(s->r[i].end);
        free(s->r[i].cum);
        free(s->r[i].gaps);
    }
    free(s->r);
    for (size_t i = 0; i < s->nwarn; i++)
        free(s->warn[i]);
    free(s->warn);
    free(s->warn_gap);
    free(s);
}

static int header_col(char **f, int n, const char *const *names)
{
    for (int i = 0; i < n; i++) {
        char h[64];
        jp_carbon_norm(f[i], h, sizeof h);
        for (const char *const *nm = names; *nm; nm++)
            if (!strcmp(h, *nm)) return i;
    }
    return -1;
}

/* A file without a region column is one region, named after the file: "PJM-2022.csv" is "PJM-2022". */
static void file_region_name(const char *path, char *out, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    jp_strlcpy(out, base, len);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
    if (!*out) jp_strlcpy(out, "series", len);
}

static int load(jp_series *s, const char *path, FILE *fp)
{
    static const char *const t_names[] = {"timestamp", "time", "datetime", "date", NULL};
    static const char *const r_names[] = {"region", "zone", NULL};
    static const char *const g_names[] = {"g per kwh",     "gco2 kwh",       "gco2e kwh",        "intensity",
                                          "carbon intensity", "g co2 per kwh", "g co2e per kwh", NULL};
    char line[1024], only[64] = "";
    long line_no = 0;
    int ct = -1, cr = -1, cg = -1, ncols = 0;
    while (fgets(line, sizeof line, fp)) {
        line_no++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n')
            return jp_fail(JP_ERR_PARSE, "%s:%ld: line too long", path, line_no);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#') continue;
        char *f[8];
        int n = jp_csv_split(p, f, 8, JP_CSV_TRIM);
        if (n < 0) return jp_fail(JP_ERR_PARSE, "%s:%ld: malformed CSV: %s (at most 8)", path, line_no, jp_csv_strerror(n));
        if (ct < 0) {
            ct = header_col(f, n, t_names);
            cr = header_col(f, n, r_names);
            cg = header_col(f, n, g_names);
            if (ct < 0 || cg < 0)
                return jp_fail(JP_ERR_PARSE,
                               "%s:%ld: expected the header timestamp,region,g_per_kwh (or timestamp,g_per_kwh for one "
                               "region)",
                               path, line_no);
            if (cr < 0) file_region_name(path, only, sizeof only);
            ncols = n;
            continue;
        }
        if (n != ncols)
            return jp_fail(JP_ERR_PARSE, "%s:%ld: expected %d fields like the header, found %d", path, line_no, ncols,
                           n);
        double t;
        int rc = jp_parse_time(f[ct], &t);
        if (rc == JP_ERR_RANGE) { /* outside 1970-2200, said with the reason (milliseconds?) */
            char why[300];
            jp_strlcpy(why, jp_last_error(), sizeof why);
            return jp_fail(JP_ERR_PARSE, "%s:%ld: timestamp: %s", path, line_no, why);
        }
        if (rc != JP_OK)
            return jp_fail(JP_ERR_PARSE, "%s:%ld: timestamp \"%s\": expected e.g. 2024-05-01T13:00Z", path, line_no,
                           f[ct]);
        const char *name = cr >= 0 ? f[cr] : only;
        if (!*name) return jp_fail(JP_ERR_PARSE, "%s:%ld: region: empty", path, line_no);
        struct sregion *r = region_for(s, name);
        if (!r) return jp_fail(JP_ERR_NOMEM, "out of memory");
        if (!*f[cg]) { /* no value: a gap in the source, left a gap */
            r->empty++;
            continue;
        }
        char *end;
        errno = 0;
        double g = strtod(f[cg], &end);
        if (end == f[cg] || *end || errno || !isfinite(g) || g < 0 || g > 5000)
            return jp_fail(JP_ERR_PARSE, "%s:%ld: g_per_kwh \"%s\": expected a number from 0 to 5000 (gCO2e/kWh)", path,
                           line_no, f[cg]);
        if (add_point(s, r, t, g) != JP_OK) return JP_ERR_NOMEM;
    }
    if (ferror(fp)) return jp_fail(JP_ERR_IO, "%s: read error", path);
    if (ct < 0) return jp_fail(JP_ERR_PARSE, "%s: no header line (timestamp,region,g_per_kwh)", path);
    if (s->rows == 0) return jp_fail(JP_ERR_PARSE, "%s: no rows with a value", path);
    return JP_OK;
}

/* Sorts each region, drops duplicate timestamps, finds the steps and the gaps, and the running integrals
 * that plan reads. label names the series in warnings. */
static int settle(jp_series *s, const char *label)
{
    double global_step = INFINITY;
    for (size_t i = 0; i < s->nr; i++) {
        struct sregion *r = &s->r[i];
        if (r->n == 0) continue;
        qsort(r->p, r->n, sizeof *r->p, cmp_point);
        size_t o = 0, dup = 0;
        for (size_t k = 0; k < r->n; k++) {
            if (o && r->p[k].t == r->p[o - 1].t) {
                dup++;
                continue;
            }
            r->p[o++] = r->p[k];
        }
        r->n = o;
        if (dup && warn(s, "%s: %s: %zu row%s with a timestamp seen before skipped (the first is kept)", label,
                        r->name, dup, dup == 1 ? "" : "s"))
            return jp_fail(JP_ERR_NOMEM, "out of memory");
        r->step = INFINITY;
        for (size_t k = 1; k < r->n; k++)
            if (r->p[k].t - r->p[k - 1].t < r->step) r->step = r->p[k].t - r->p[k - 1].t;
        if (r->step < global_step) global_step = r->step;
    }
    if (!isfinite(global_step))
        return jp_fail(JP_ERR_PARSE, "%s: every region has a single row: the step between rows cannot be known",
                       label);
    s->first = INFINITY;
    s->last = -INFINITY;
    /* regions that have only empty rows are dropped, with a warning */
    size_t kept = 0;
    for (size_t i = 0; i < s->nr; i++) {
        if (s->r[i].n == 0) {
            if (warn(s, "%s: %s: no row has a value; left out", label, s->r[i].name))
                return jp_fail(JP_ERR_NOMEM, "out of memory");
            free(s->r[i].p);
            continue;
        }
        s->r[kept++] = s->r[i];
    }
    s->nr = kept;
    for (size_t i = 0; i < s->nr; i++) {
        struct sregion *r = &s->r[i];
        r->step = global_step;
        r->end = malloc(r->n * sizeof *r->end);
        r->cum = malloc(r->n * sizeof *r->cum);
        r->gaps = malloc(r->n * sizeof *r->gaps);
        if (!r->end || !r->cum || !r->gaps) return jp_fail(JP_ERR_NOMEM, "out of memory");
        size_t gaps = 0, missing = 0;
        double g0 = 0, g1 = 0, cum = 0;
        for (size_t k = 0; k < r->n; k++) {
            double next = k + 1 < r->n ? r->p[k + 1].t : INFINITY;
            r->end[k] = r->p[k].t + r->step < next ? r->p[k].t + r->step : next;
            r->cum[k] = cum;
            r->gaps[k] = gaps;
            cum += r->p[k].g * (r->end[k] - r->p[k].t);
            if (k + 1 < r->n && next > r->p[k].t + r->step * (1 + 1e-9)) {
                if (!gaps) {
                    g0 = r->p[k].t + r->step;
                    g1 = next;
                }
                gaps++;
                missing += (size_t)llround((next - r->p[k].t) / r->step) - 1;
            }
        }
        if (gaps) {
            char a[40], b[40], e[96] = "";
            jp_format_time(g0, a, sizeof a);
            jp_format_time(g1, b, sizeof b);
            if (r->empty)
                jp_textf(e, sizeof e, ", %zu of them with an empty value in the source", r->empty);
            if (warn_gap(s,
                     "%s: %s: %zu gap%s in the series (%zu row%s missing%s; first from %s to %s); runs that would "
                     "cross a gap are skipped, nothing is interpolated",
                     label, r->name, gaps, gaps == 1 ? "" : "s", missing, missing == 1 ? "" : "s", e, a, b))
                return jp_fail(JP_ERR_NOMEM, "out of memory");
        } else if (r->empty) { /* empty values at either end: the series is shorter */
            if (warn(s, "%s: %s: %zu row%s with an empty value at the start or end left out", label, r->name,
                     r->empty, r->empty == 1 ? "" : "s"))
                return jp_fail(JP_ERR_NOMEM, "out of memory");
        }
        if (r->p[0].t < s->first) s->first = r->p[0].t;
        if (r->end[r->n - 1] > s->last) s->last = r->end[r->n - 1];
    }
    return JP_OK;
}

int jp_carbon_open_csv(const char *path, FILE **out)
{
    int fd = jp_open_read(path, JP_OPEN_REGULAR); /* never blocks; a FIFO, a device, a folder refused */
    if (fd < 0) return fd;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > SERIES_MAX_BYTES) {
        close(fd);
        return jp_fail(JP_ERR_RANGE, "%s: %lld bytes, more than the %ld a CSV of intensities may have", path,
                       (long long)st.st_size, SERIES_MAX_BYTES);
    }
    *out = fdopen(fd, "r");
    if (!*out) {
        close(fd);
        return jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
    }
    return JP_OK;
}

int jp_series_load(const char *path, jp_series **out)
{
    if (!path || !out) return jp_fail(JP_ERR_INVAL, "jp_series_load: no path");
    *out = NULL;
    FILE *fp;
    int orc = jp_carbon_open_csv(path, &fp);
    if (orc != JP_OK) return orc;
    jp_series *s = calloc(1, sizeof *s);
    if (!s) {
        fclose(fp);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    jp_strlcpy(s->source, path, sizeof s->source);
    int rc = load(s, path, fp);
    fclose(fp);
    if (rc == JP_OK) rc = settle(s, path);
    if (rc != JP_OK) {
        jp_series_free(s);
        return rc;
    }
    *out = s;
    return JP_OK;
}

int jp_series_builtin(jp_series **out)
{
    if (!out) return jp_fail(JP_ERR_INVAL, "jp_series_builtin: no output");
    *out = NULL;
    jp_series *s = calloc(1, sizeof *s);
    if (!s) return jp_fail(JP_ERR_NOMEM, "out of memory");
    int src = jp_carbon_series_count ? jp_carbon_series[0].source : -1;
    jp_textf(s->source, sizeof s->source, "built in (%s)",
             src >= 0 && (size_t)src < jp_carbon_source_count ? jp_carbon_source_text((size_t)src) : "");
    int rc = JP_OK;
    for (size_t i = 0; i < jp_carbon_series_count && rc == JP_OK; i++) {
        const struct jp_carbon_series *c = &jp_carbon_series[i];
        struct sregion *r = region_for(s, jp_carbon_series_area(c));
        if (!r) {
            rc = jp_fail(JP_ERR_NOMEM, "out of memory");
            break;
        }
        jp_strlcpy(r->places, jp_carbon_series_places(c), sizeof r->places);
        jp_strlcpy(r->serves, jp_carbon_series_serves(c), sizeof r->serves);
        for (int k = 0; k < c->count && rc == JP_OK; k++) {
            double g = jp_carbon_series_values[c->first + k];
            if (g < 0)
                r->empty++;
            else
                rc = add_point(s, r, c->start + c->step * k, g);
        }
    }
    if (rc == JP_OK) rc = settle(s, "built-in series");
    if (rc != JP_OK) {
        jp_series_free(s);
        return rc;
    }
    *out = s;
    return JP_OK;
}

size_t jp_series_row_count(const jp_series *s) { return s ? s->rows : 0; }
size_t jp_series_region_count(const jp_series *s) { return s ? s->nr : 0; }
const char *jp_series_region(const jp_series *s, size_t i) { return s && i < s->nr ? s->r[i].name : NULL; }
const char *jp_series_region_serves(const jp_series *s, size_t i) { return s && i < s->nr ? s->r[i].serves : NULL; }
const char *jp_series_source(const jp_series *s) { return s ? s->source : NULL; }
double jp_series_first(const jp_series *s) { return s ? s->first : NAN; }
double jp_series_last(const jp_series *s) { return s ? s->last : NAN; }
size_t jp_series_warning_count(const jp_series *s) { return s ? s->nwarn : 0; }
const char *jp_series_warning(const jp_series *s, size_t i) { return s && i < s->nwarn ? s->warn[i] : NULL; }
bool jp_series_warning_is_gap(const jp_series *s, size_t i) { return s && i < s->nwarn && s->warn_gap && s->warn_gap[i]; }


/* ---- planning ---------------------------------------------------------------------------------- */

/* The last row of r whose time is <= t (or < t when strict); r->n if there is none. */
static size_t row_at(const struct sregion *r, double t, int strict)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strict ? r->p[mid].t < t : r->p[mid].t <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? r->n : lo - 1;
}

/* The mean intensity of region r over [a, a+dur]; -1 if any part of it is not covered (before the first
 * row, past the last row's step, or across a gap). Two binary searches, whatever dur is. */
static int mean_over(const struct sregion *r, double a, double dur, double *mean)
{
    double b = a + dur;
    size_t ka = row_at(r, a, 0);
    if (ka == r->n || a >= r->end[ka]) return -1;
    if (b <= r->end[ka]) { /* within one row (also when a + dur rounds to a): its own figure */
        *mean = r->p[ka].g;
        return 0;
    }
    size_t kb = row_at(r, b, 1); /* the row holding the run's last instant */
    if (kb == r->n || b > r->end[kb] || r->gaps[kb] != r->gaps[ka]) return -1;
    double sum = r->p[ka].g * (r->end[ka] - a) + (r->cum[kb] - r->cum[ka + 1]) + r->p[kb].g * (b - r->p[kb].t);
    *mean = sum / (b - a);
    return 0;
}

static void choice(jp_plan_choice *c, const struct sregion *r, double start, double g, double joules)
{
    jp_strlcpy(c->region, r->name, sizeof c->region);
    c->start = start;
    c->g_per_kwh = g;
    c->grams = jp_carbon_grams(joules, g, 1.0);
}

/* Whether the ';'-separated list holds id (exactly) or, names folded, the name q. */
static int list_has(const char *list, const char *id, const char *q)
{
    char one[96], f[96];
    while (*list) {
        const char *semi = strchr(list, ';');
        size_t l = semi ? (size_t)(semi - list) : strlen(list);
        if (l < sizeof one) {
            memcpy(one, list, l);
            one[l] = '\0';
            if (id && !strcmp(one, id)) return 1;
            if (q) {
                jp_carbon_norm(one, f, sizeof f);
                if (!strcmp(f, q)) return 1;
            }
        }
        if (!semi) break;
        list = semi + 1;
    }
    return 0;
}

static const struct sregion *current_region(const jp_series *s, const char *name)
{
    if (!name || !*name) return &s->r[0];
    char f[96];
    jp_carbon_norm(name, f, sizeof f);
    for (size_t i = 0; i < s->nr; i++)
        if (!strcmp(s->r[i].folded, f) || list_has(s->r[i].places, NULL, f)) return &s->r[i];
    /* the same built-in region under another name: "Oregon" and "gcp:us-west1"; or a region that a
     * built-in series serves: aws:us-east-1 is in PJM */
    jp_intensity want, have;
    if (jp_intensity_lookup(name, &want) != JP_OK) return NULL;
    for (size_t i = 0; i < s->nr; i++)
        if (list_has(s->r[i].serves, want.region, NULL)) return &s->r[i];
    for (size_t i = 0; i < s->nr; i++)
        if (jp_intensity_lookup(s->r[i].name, &have) == JP_OK && !strcmp(have.region, want.region)) return &s->r[i];
    return NULL;
}

int jp_series_find(const jp_series *s, const char *region, size_t *index)
{
    if (!s || !s->nr) return jp_fail(JP_ERR_INVAL, "jp_series_find: no series");
    const struct sregion *r = current_region(s, region);
    if (!r) {
        char list[400] = "";
        size_t len = 0;
        for (size_t i = 0; i < s->nr && len < sizeof list; i++) {
            int w = jp_textf(list + len, sizeof list - len, "%s%s", i ? ", " : "", s->r[i].name);
            if (w < 0) break;
            len += (size_t)w;
            if (*s->r[i].serves && len < sizeof list) {
                char serves[160];
                jp_strlcpy(serves, s->r[i].serves, sizeof serves);
                for (char *c = serves; *c; c++)
                    if (*c == ';') *c = ' ';
                w = jp_textf(list + len, sizeof list - len, " (%s)", serves);
                if (w < 0) break;
                len += (size_t)w;
            }
        }
        if (len >= sizeof list) len = sizeof list - 1;
        return jp_fail(JP_ERR_NOTFOUND, "region \"%s\" is not in the series; it has %s", region, list);
    }
    if (index) *index = (size_t)(r - s->r);
    return JP_OK;
}

int jp_series_plan(const jp_series *s, const jp_plan_request *req, jp_plan_choice *best, jp_plan_choice *current,
                   jp_plan_choice *per_region, size_t max, size_t *n_regions)
{
    if (!s || !req || !best) return jp_fail(JP_ERR_INVAL, "jp_series_plan: missing argument");
    if (!(req->joules >= 0) || !isfinite(req->joules)) return jp_fail(JP_ERR_RANGE, "plan: energy must be 0 or more");
    if (!(req->duration_s > 0) || !isfinite(req->duration_s))
        return jp_fail(JP_ERR_RANGE, "plan: duration must be more than 0");
    double ws = isnan(req->window_start) ? s->first : req->window_start;
    double we = isnan(req->window_end) ? s->last : req->window_end;
    if (we - ws < req->duration_s) {
        char a[40], b[40], d[40];
        jp_format_time(ws, a, sizeof a);
        jp_format_time(we, b, sizeof b);
        jp_format_duration(req->duration_s, d, sizeof d);
        return jp_fail(JP_ERR_RANGE, "plan: the window %s .. %s is shorter than the job (%s)", a, b, d);
    }
    size_t ci;
    if (jp_series_find(s, req->region, &ci) != JP_OK) return JP_ERR_NOTFOUND;
    const struct sregion *cur = &s->r[ci];
    int found = 0;
    if (n_regions) *n_regions = 0;
    for (size_t i = 0; i < s->nr; i++) {
        const struct sregion *r = &s->r[i];
        jp_plan_choice rb;
        memset(&rb, 0, sizeof rb);
        int have = 0;
        /* candidate starts: the window start, then every row time after it (the first found by a binary
         * search, so that a narrow window over a long series costs only its own rows) */
        size_t j = row_at(r, ws, 0);
        for (size_t k = j == r->n ? 0 : j + 1, c = 0;; c++) {
            double t = ws;
            if (c > 0) {
                if (k >= r->n) break;
                t = r->p[k++].t;
            }
            if (t + req->duration_s > we + 1e-6) break;
            double g;
            if (mean_over(r, t, req->duration_s, &g) != 0) continue;
            double grams = jp_carbon_grams(req->joules, g, 1.0);
            if (!have || grams < rb.grams || (grams == rb.grams && t < rb.start)) {
                choice(&rb, r, t, g, req->joules);
                have = 1;
            }
        }
        if (!have) continue;
        if (per_region && n_regions && *n_regions < max) per_region[(*n_regions)++] = rb;
        if (!found || rb.grams < best->grams || (rb.grams == best->grams && rb.start < best->start)) {
            *best = rb;
            found = 1;
        }
    }
    if (current) {
        double now = isnan(req->now) ? ws : req->now;
        double g;
        if (mean_over(cur, now, req->duration_s, &g) == 0) {
            choice(current, cur, now, g, req->joules);
        } else {
            jp_strlcpy(current->region, cur->name, sizeof current->region);
            current->start = now;
            current->g_per_kwh = NAN;
            current->grams = NAN;
        }
    }
    if (!found) {
        char a[40], b[40];
        jp_format_time(ws, a, sizeof a);
        jp_format_time(we, b, sizeof b);
        return jp_fail(JP_ERR_NOTFOUND, "plan: no region has data covering a whole run between %s and %s", a, b);
    }
    return JP_OK;
}

size_t jp_series_gaps(const jp_series *s, size_t i, double a, double b, double *first_start, double *first_end,
                      size_t *rows_missing)
{
    if (rows_missing) *rows_missing = 0;
    if (!s || i >= s->nr) return 0;
    const struct sregion *r = &s->r[i];
    size_t n = 0;
    /* the gap after row k runs from the end of its figure to the next row (settle() above) */
    size_t k0 = row_at(r, a, 0);
    for (size_t k = k0 == r->n ? 0 : k0; k + 1 < r->n && r->end[k] < b; k++) {
        double g0 = r->end[k], g1 = r->p[k + 1].t;
        if (!(g1 > r->p[k].t + r->step * (1 + 1e-9)) || g1 <= a || g0 >= b) continue;
        if (!n) {
            if (first_start) *first_start = g0;
            if (first_end) *first_end = g1;
        }
        if (rows_missing) *rows_missing += (size_t)llround((g1 - r->p[k].t) / r->step) - 1;
        n++;
    }
    return n;
}
