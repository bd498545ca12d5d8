/*
 * Intensity time series (timestamp, region, gCO2e/kWh) and planning: the start time and region with the
 * least CO2e for a job of a given energy and duration.
 *
 * Each row holds from its timestamp until the region's next row, for at most one step (the smallest
 * spacing between two rows of any region: a series has one cadence). A longer spacing is a gap:
 * it is reported once as a warning and no run that would cross it is considered, so a plan never rests
 * on a figure that is not in the file.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "util.h"

struct point {
    double t, g;
};

struct sregion {
    char name[64];
    char folded[96];
    struct point *p;
    size_t n, cap;
    double step;
};

struct jp_series {
    struct sregion *r;
    size_t nr, cap;
    size_t rows;
    char **warn;
    size_t nwarn;
    double first, last;
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
    *unix_s =
        (double)days_from_civil(y, (int)mo, (int)d) * 86400.0 + (double)(h * 3600 + mi * 60 + se) + frac - (double)off;
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

static int warn(jp_series *s, const char *fmt, ...) JP_PRINTF(2, 3);
static int warn(jp_series *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **w = realloc(s->warn, (s->nwarn + 1) * sizeof *w);
    if (!w) return -1;
    s->warn = w;
    size_t n = strlen(buf) + 1;
    char *copy = malloc(n);
    if (!copy) return -1;
    memcpy(copy, buf, n);
    s->warn[s->nwarn++] = copy;
    return 0;
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

static int cmp_point(const void *a, const void *b)
{
    double x = ((const struct point *)a)->t, y = ((const struct point *)b)->t;
    return x < y ? -1 : x > y;
}

void jp_series_free(jp_series *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nr; i++)
        free(s->r[i].p);
    free(s->r);
    for (size_t i = 0; i < s->nwarn; i++)
        free(s->warn[i]);
    free(s->warn);
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

static int load(jp_series *s, const char *path, FILE *fp)
{
    static const char *const t_names[] = {"timestamp", "time", "datetime", "date", NULL};
    static const char *const r_names[] = {"region", "zone", NULL};
    static const char *const g_names[] = {"g per kwh", "gco2 kwh", "gco2e kwh", "intensity", "carbon intensity", NULL};
    char line[1024];
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
        int n = jp_carbon_split_csv(p, f, 8);
        if (n < 0)
            return jp_fail(JP_ERR_PARSE, "%s:%ld: malformed CSV (unbalanced quotes or too many fields)", path, line_no);
        if (ct < 0) {
            ct = header_col(f, n, t_names);
            cr = header_col(f, n, r_names);
            cg = header_col(f, n, g_names);
            if (ct < 0 || cr < 0 || cg < 0)
                return jp_fail(JP_ERR_PARSE, "%s:%ld: expected the header timestamp,region,g_per_kwh", path, line_no);
            ncols = n;
            continue;
        }
        if (n != ncols)
            return jp_fail(JP_ERR_PARSE, "%s:%ld: expected %d fields like the header, found %d", path, line_no, ncols,
                           n);
        double t;
        if (jp_parse_time(f[ct], &t) != JP_OK)
            return jp_fail(JP_ERR_PARSE, "%s:%ld: timestamp \"%s\": expected e.g. 2024-05-01T13:00Z", path, line_no,
                           f[ct]);
        if (!*f[cr]) return jp_fail(JP_ERR_PARSE, "%s:%ld: region: empty", path, line_no);
        char *end;
        errno = 0;
        double g = strtod(f[cg], &end);
        if (end == f[cg] || *end || errno || !isfinite(g) || g < 0 || g > 5000)
            return jp_fail(JP_ERR_PARSE, "%s:%ld: g_per_kwh \"%s\": expected a number from 0 to 5000 (gCO2e/kWh)", path,
                           line_no, f[cg]);
        struct sregion *r = region_for(s, f[cr]);
        if (!r) return jp_fail(JP_ERR_NOMEM, "out of memory");
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 64;
            struct point *np = realloc(r->p, cap * sizeof *np);
            if (!np) return jp_fail(JP_ERR_NOMEM, "out of memory");
            r->p = np;
            r->cap = cap;
        }
        r->p[r->n++] = (struct point){t, g};
        s->rows++;
    }
    if (ferror(fp)) return jp_fail(JP_ERR_IO, "%s: read error", path);
    if (ct < 0) return jp_fail(JP_ERR_PARSE, "%s: no header line (timestamp,region,g_per_kwh)", path);
    if (s->rows == 0) return jp_fail(JP_ERR_PARSE, "%s: no rows", path);
    return JP_OK;
}

/* Sorts each region, drops duplicate timestamps, finds the steps and the gaps. */
static int settle(jp_series *s, const char *path)
{
    double global_step = INFINITY;
    for (size_t i = 0; i < s->nr; i++) {
        struct sregion *r = &s->r[i];
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
        if (dup && warn(s, "%s: %s: %zu row%s with a timestamp seen before skipped (the first is kept)", path, r->name,
                        dup, dup == 1 ? "" : "s"))
            return jp_fail(JP_ERR_NOMEM, "out of memory");
        r->step = INFINITY;
        for (size_t k = 1; k < r->n; k++)
            if (r->p[k].t - r->p[k - 1].t < r->step) r->step = r->p[k].t - r->p[k - 1].t;
        if (r->step < global_step) global_step = r->step;
    }
    if (!isfinite(global_step))
        return jp_fail(JP_ERR_PARSE, "%s: every region has a single row: the step between rows cannot be known", path);
    s->first = INFINITY;
    s->last = -INFINITY;
    for (size_t i = 0; i < s->nr; i++) {
        struct sregion *r = &s->r[i];
        r->step = global_step;
        size_t gaps = 0, missing = 0;
        double g0 = 0, g1 = 0;
        for (size_t k = 1; k < r->n; k++) {
            double d = r->p[k].t - r->p[k - 1].t;
            if (d > r->step * (1 + 1e-9)) {
                if (!gaps) {
                    g0 = r->p[k - 1].t + r->step;
                    g1 = r->p[k].t;
                }
                gaps++;
                missing += (size_t)llround(d / r->step) - 1;
            }
        }
        if (gaps) {
            char a[40], b[40];
            jp_format_time(g0, a, sizeof a);
            jp_format_time(g1, b, sizeof b);
            if (warn(s,
                     "%s: %s: %zu gap%s in the series (%zu row%s missing; first from %s to %s); runs that would "
                     "cross a gap are skipped",
                     path, r->name, gaps, gaps == 1 ? "" : "s", missing, missing == 1 ? "" : "s", a, b))
                return jp_fail(JP_ERR_NOMEM, "out of memory");
        }
        if (r->p[0].t < s->first) s->first = r->p[0].t;
        if (r->p[r->n - 1].t + r->step > s->last) s->last = r->p[r->n - 1].t + r->step;
    }
    return JP_OK;
}

int jp_series_load(const char *path, jp_series **out)
{
    if (!path || !out) return jp_fail(JP_ERR_INVAL, "jp_series_load: no path");
    *out = NULL;
    FILE *fp = fopen(path, "r");
    if (!fp) return jp_fail(errno == ENOENT ? JP_ERR_NOTFOUND : JP_ERR_IO, "%s: %s", path, strerror(errno));
    jp_series *s = calloc(1, sizeof *s);
    if (!s) {
        fclose(fp);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
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

size_t jp_series_row_count(const jp_series *s) { return s ? s->rows : 0; }
size_t jp_series_region_count(const jp_series *s) { return s ? s->nr : 0; }
const char *jp_series_region(const jp_series *s, size_t i) { return s && i < s->nr ? s->r[i].name : NULL; }
double jp_series_first(const jp_series *s) { return s ? s->first : NAN; }
double jp_series_last(const jp_series *s) { return s ? s->last : NAN; }
size_t jp_series_warning_count(const jp_series *s) { return s ? s->nwarn : 0; }
const char *jp_series_warning(const jp_series *s, size_t i) { return s && i < s->nwarn ? s->warn[i] : NULL; }

/* ---- planning ---------------------------------------------------------------------------------- */

/* The mean intensity of region r over [a, a+dur]; -1 if any part of it is not covered. */
static int mean_over(const struct sregion *r, double a, double dur, double *mean)
{
    double b = a + dur;
    /* the row holding a: the last with t <= a */
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->p[mid].t <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return -1;
    size_t k = lo - 1;
    double sum = 0, at = a;
    while (at < b) {
        if (k >= r->n) return -1;
        double t0 = r->p[k].t, t1 = t0 + r->step;
        if (k + 1 < r->n && r->p[k + 1].t < t1) t1 = r->p[k + 1].t;
        if (at < t0 || at >= t1) return -1; /* in a gap, or past the end */
        double until = b < t1 ? b : t1;
        sum += r->p[k].g * (until - at);
        at = until;
        k++;
    }
    *mean = dur > 0 ? sum / dur : r->p[k ? k - 1 : 0].g;
    return 0;
}

static void choice(jp_plan_choice *c, const struct sregion *r, double start, double g, double joules)
{
    jp_strlcpy(c->region, r->name, sizeof c->region);
    c->start = start;
    c->g_per_kwh = g;
    c->grams = jp_carbon_grams(joules, g, 1.0);
}

static const struct sregion *current_region(const jp_series *s, const char *name)
{
    if (!name || !*name) return &s->r[0];
    char f[96];
    jp_carbon_norm(name, f, sizeof f);
    for (size_t i = 0; i < s->nr; i++)
        if (!strcmp(s->r[i].folded, f)) return &s->r[i];
    /* the same built-in region under another name: "Oregon" and "gcp:us-west1" */
    jp_intensity want, have;
    if (jp_intensity_lookup(name, &want) != JP_OK) return NULL;
    for (size_t i = 0; i < s->nr; i++)
        if (jp_intensity_lookup(s->r[i].name, &have) == JP_OK && !strcmp(have.region, want.region)) return &s->r[i];
    return NULL;
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
    const struct sregion *cur = current_region(s, req->region);
    if (!cur) {
        char list[400] = "";
        size_t len = 0;
        for (size_t i = 0; i < s->nr && len < sizeof list; i++) {
            int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", s->r[i].name);
            if (w < 0) break;
            len += (size_t)w;
        }
        return jp_fail(JP_ERR_NOTFOUND, "plan: region \"%s\" is not in the series; it has %s", req->region, list);
    }
    int found = 0;
    if (n_regions) *n_regions = 0;
    for (size_t i = 0; i < s->nr; i++) {
        const struct sregion *r = &s->r[i];
        jp_plan_choice rb;
        memset(&rb, 0, sizeof rb);
        int have = 0;
        /* candidate starts: the window start, and every row time in the window */
        for (size_t k = 0; k <= r->n; k++) {
            double t = k == 0 ? ws : r->p[k - 1].t;
            if (k > 0 && t <= ws) continue;
            if (t < ws || t + req->duration_s > we + 1e-6) continue;
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
