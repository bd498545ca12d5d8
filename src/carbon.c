/*
 * Carbon accounting: energy x grid intensity x PUE = grams of CO2e, with the intensity looked up in the
 * tables that tools/gen_table.c compiles from src/data/carbon/ (see src/carbon.h).
 *
 * The world average: 480.6 gCO2e/kWh, the generation-weighted mean of the 213 countries in
 * CodeCarbon's global_energy_mix.json (Our World in Data / Ember figures, mostly 2022, some
 * 2021 and 2023; MIT licence; ../shared/data/codecarbon), computed as
 * sum(carbon_intensity x total_TWh) / sum(total_TWh) over 29,476 TWh (480.617).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "csv.h"
#include "util.h"

#define WORLD_SOURCE "world average (generation-weighted mean of 213 countries, Ember/OWID 2022 via CodeCarbon)"

/* ---- names: case and accents aside ------------------------------------------------------------- */

/* ASCII letters for U+00C0..U+00FF and U+0100..U+017F (' ' for the two signs among them). */
static const char latin1[] = "aaaaaaaceeeeiiiidnooooo ouuuuyts"
                             "aaaaaaaceeeeiiiidnooooo ouuuuyty";
static const char latin_ext_a[] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllllllnnnnnnnnn"
                                  "oooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/* Lower-case ASCII letters and digits; every run of anything else becomes one space; accented Latin
 * letters become their base letter. "  São-Paulo " -> "sao paulo". */
static void norm(const char *in, char *out, size_t len)
{
    size_t n = 0;
    int space = 1; /* drop leading separators */
    const unsigned char *p = (const unsigned char *)in;
    while (*p && n + 1 < len) {
        int c = -1;
        if (*p < 0x80) {
            c = isalnum(*p) ? tolower(*p) : ' ';
            p++;
        } else if ((*p & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
            unsigned cp = ((unsigned)(*p & 0x1F) << 6) | (p[1] & 0x3F);
            if (cp >= 0xC0 && cp <= 0xFF)
                c = latin1[cp - 0xC0];
            else if (cp >= 0x100 && cp <= 0x17F)
                c = latin_ext_a[cp - 0x100];
            else
                c = ' ';
            p += 2;
        } else {
            /* other scripts and signs: a separator; skip the continuation bytes */
            p++;
            while ((*p & 0xC0) == 0x80)
                p++;
            c = ' ';
        }
        if (c == ' ') {
            if (!space) out[n++] = ' ';
            space = 1;
        } else {
            out[n++] = (char)c;
            space = 0;
        }
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

static int norm_eq(const char *a_normed, const char *b)
{
    char nb[192];
    norm(b, nb, sizeof nb);
    return strcmp(a_normed, nb) == 0;
}

/* Calls fn on each ';'-separated name of list; stops when fn returns nonzero and returns that. */
static int each_place(const char *list, int (*fn)(const char *name, void *ctx), void *ctx)
{
    char one[128];
    while (*list) {
        const char *semi = strchr(list, ';');
        size_t len = semi ? (size_t)(semi - list) : strlen(list);
        if (len >= sizeof one) len = sizeof one - 1;
        memcpy(one, list, len);
        one[len] = '\0';
        int r = fn(one, ctx);
        if (r) return r;
        if (!semi) break;
        list = semi + 1;
    }
    return 0;
}

static int place_eq(const char *name, void *ctx) { return norm_eq((const char *)ctx, name); }

static int zone_has_name(const struct jp_carbon_zone *z, const char *q)
{
    return norm_eq(q, jp_carbon_zone_name(z)) || each_place(jp_carbon_zone_places(z), place_eq, (void *)q);
}

static const char *kind_provider(int kind)
{
    switch (kind) {
    case JP_ZONE_GCP: return "gcp";
    case JP_ZONE_COUNTRY: return "country";
    case JP_ZONE_US_STATE: return "us-state";
    case JP_ZONE_AWS: return "aws";
    default: return "azure";
    }
}

/* ---- filling a jp_intensity -------------------------------------------------------------------- */

static void fill_source(char *dst, size_t len, int source, int year)
{
    const char *text =
        (source >= 0 && (size_t)source < jp_carbon_source_count) ? jp_carbon_source_text((size_t)source) : "";
    char y[16];
    snprintf(y, sizeof y, "%d", year);
    if (strstr(text, y))
        snprintf(dst, len, "%s", text);
    else
        snprintf(dst, len, "%s, figure for %d", text, year);
}

static void fill(const struct jp_carbon_zone *z, const struct jp_carbon_figure *f, jp_intensity *out)
{
    memset(out, 0, sizeof *out);
    jp_strlcpy(out->region, jp_carbon_zone_id(z), sizeof out->region);
    jp_strlcpy(out->name, jp_carbon_zone_name(z), sizeof out->name);
    jp_strlcpy(out->provider, kind_provider(z->kind), sizeof out->provider);
    jp_strlcpy(out->country, jp_carbon_zone_country(z), sizeof out->country);
    out->g_per_kwh = f->g_per_kwh;
    out->year = f->year;
    out->cfe = f->cfe;
    out->seed = z->seed != 0;
    fill_source(out->source, sizeof out->source, f->source, f->year);
}

static void fill_world(jp_intensity *out)
{
    memset(out, 0, sizeof *out);
    jp_strlcpy(out->region, "world", sizeof out->region);
    jp_strlcpy(out->name, "world average", sizeof out->name);
    jp_strlcpy(out->provider, "world", sizeof out->provider);
    out->g_per_kwh = JP_WORLD_G_PER_KWH;
    out->cfe = -1;
    jp_strlcpy(out->source, WORLD_SOURCE, sizeof out->source);
}

/* Appends "2019-2025" or "2016" or "2019, 2021-2022" to buf. */
static void years_text(const struct jp_carbon_zone *z, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < z->count; i++) {
        int y = jp_carbon_figures[z->first + i].year;
        int run_end = i;
        while (run_end + 1 < z->count && jp_carbon_figures[z->first + run_end + 1].year == y + (run_end + 1 - i))
            run_end++;
        int w;
        if (run_end > i)
            w = snprintf(buf + n, len - n, "%s%d-%d", n ? ", " : "", y, jp_carbon_figures[z->first + run_end].year);
        else
            w = snprintf(buf + n, len - n, "%s%d", n ? ", " : "", y);
        if (w < 0 || (size_t)w >= len - n) return;
        n += (size_t)w;
        i = run_end;
    }
}

static int zone_figure(const struct jp_carbon_zone *z, int year, jp_intensity *out)
{
    if (year == 0) {
        fill(z, &jp_carbon_figures[z->first + z->count - 1], out);
        return JP_OK;
    }
    for (int i = 0; i < z->count; i++)
        if (jp_carbon_figures[z->first + i].year == year) {
            fill(z, &jp_carbon_figures[z->first + i], out);
            return JP_OK;
        }
    char ys[96];
    years_text(z, ys, sizeof ys);
    return jp_fail(JP_ERR_NOTFOUND, "%s (%s) has no figure for %d; it has %s", jp_carbon_zone_id(z),
                   jp_carbon_zone_name(z), year, ys);
}

/* ---- suggestions ------------------------------------------------------------------------------- */

static int levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63) la = 63;
    if (lb > 63) lb = 63;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

struct score_ctx {
    const char *q;
    int best;
};

/* Distance of one name to the query: 0 for equal, 1 when one contains the other, else edit distance
 * (+1, so that containment ranks first). */
static int name_score(const char *name, void *ctx)
{
    struct score_ctx *s = ctx;
    char n[192];
    norm(name, n, sizeof n);
    if (!*n) return 0;
    int d;
    if (strlen(n) < 4 && strcmp(n, s->q)) return 0; /* short codes: only an exact match says anything */
    if (!strcmp(n, s->q))
        d = 0;
    else if ((strlen(s->q) >= 3 && strstr(n, s->q)) || (strlen(n) >= 4 && strstr(s->q, n)))
        d = 1;
    else
        d = levenshtein(s->q, n) + 1;
    if (d < s->best) s->best = d;
    return 0;
}

static int zone_score(const struct jp_carbon_zone *z, const char *q)
{
    struct score_ctx s = {q, 1000};
    name_score(jp_carbon_zone_id(z), &s);
    name_score(jp_carbon_zone_code(z), &s);
    if (*jp_carbon_zone_code3(z)) name_score(jp_carbon_zone_code3(z), &s);
    name_score(jp_carbon_zone_name(z), &s);
    each_place(jp_carbon_zone_places(z), name_score, &s);
    return s.best;
}

size_t jp_region_suggest(const char *text, char (*out)[96], size_t max)
{
    char q[192];
    norm(text ? text : "", q, sizeof q);
    size_t n = 0;
    int *score = malloc(jp_carbon_zone_count * sizeof *score);
    if (!score) return 0;
    for (size_t i = 0; i < jp_carbon_zone_count; i++)
        score[i] = zone_score(&jp_carbon_zones[i], q);
    /* pick up to max, lowest score first, ties in table order (Google regions first); after the
     * first, only those within a few edits */
    int limit = 2 + (int)strlen(q) / 4;
    while (n < max) {
        size_t pick = jp_carbon_zone_count;
        for (size_t i = 0; i < jp_carbon_zone_count; i++)
            if (score[i] >= 0 && (pick == jp_carbon_zone_count || score[i] < score[pick])) pick = i;
        if (pick == jp_carbon_zone_count || (n >= 1 && score[pick] > limit)) break;
        const struct jp_carbon_zone *z = &jp_carbon_zones[pick];
        snprintf(out[n++], 96, "%s (%s)", jp_carbon_zone_id(z), jp_carbon_zone_name(z));
        score[pick] = -1;
    }
    free(score);
    return n;
}

static int unknown_region_note(const char *what, const char *region, const char *note);
static int unknown_region(const char *what, const char *region) { return unknown_region_note(what, region, "unknown"); }

static int unknown_region_note(const char *what, const char *region, const char *note)
{
    char sug[5][96];
    size_t n = jp_region_suggest(region, sug, 5);
    char list[600] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof list; i++) {
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", sug[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    return jp_fail(JP_ERR_NOTFOUND,
                   "%sregion \"%s\": %s; closest: %s (jouleprint regions --search TEXT lists more)", what, region,
                   note, list);
}

/* ---- lookup ------------------------------------------------------------------------------------ */

static const struct jp_carbon_zone *find_kind(int kind, const char *q)
{
    /* codes first, then names */
    for (size_t i = 0; i < jp_carbon_zone_count; i++) {
        const struct jp_carbon_zone *z = &jp_carbon_zones[i];
        if (z->kind != kind) continue;
        const char *code3 = jp_carbon_zone_code3(z);
        if (norm_eq(q, jp_carbon_zone_code(z)) || norm_eq(q, jp_carbon_zone_id(z)) || (*code3 && norm_eq(q, code3)))
            return z;
    }
    for (size_t i = 0; i < jp_carbon_zone_count; i++) {
        const struct jp_carbon_zone *z = &jp_carbon_zones[i];
        if (z->kind == kind && zone_has_name(z, q)) return z;
    }
    return NULL;
}

static int lookup(const char *region, int year, jp_intensity *out)
{
    const char *from_env = NULL;
    if (!out) return jp_fail(JP_ERR_INVAL, "jp_intensity_lookup: no output");
    if (year < 0 || (year != 0 && (year < 1990 || year > 2100)))
        return jp_fail(JP_ERR_RANGE, "year %d: expected e.g. 2021", year);
    if (!region || !*region) {
        from_env = getenv("JP_REGION");
        region = from_env && *from_env ? from_env : "world";
    }
    const char *pre = from_env ? "JP_REGION: " : "";
    char q[192];
    norm(region, q, sizeof q);
    if (!strcmp(q, "world") || !strcmp(q, "world average")) {
        if (year) return jp_fail(JP_ERR_NOTFOUND, "%sthe world average has no yearly figures; leave out the year", pre);
        fill_world(out);
        return JP_OK;
    }
    const char *colon = strchr(region, ':');
    if (colon) {
        char prov[32];
        size_t pl = (size_t)(colon - region);
        if (pl >= sizeof prov) pl = sizeof prov - 1;
        memcpy(prov, region, pl);
        prov[pl] = '\0';
        char np[32];
        norm(prov, np, sizeof np);
        char rest[192];
        norm(colon + 1, rest, sizeof rest);
        int kind = -1;
        if (!strcmp(np, "gcp") || !strcmp(np, "google"))
            kind = JP_ZONE_GCP;
        else if (!strcmp(np, "country"))
            kind = JP_ZONE_COUNTRY;
        else if (!strcmp(np, "us state") || !strcmp(np, "us") || !strcmp(np, "state"))
            kind = JP_ZONE_US_STATE;
        else if (!strcmp(np, "aws") || !strcmp(np, "amazon"))
            kind = JP_ZONE_AWS;
        else if (!strcmp(np, "azure") || !strcmp(np, "microsoft"))
            kind = JP_ZONE_AZURE;
        else
            return jp_fail(JP_ERR_NOTFOUND,
                           "%sregion \"%s\": unknown provider \"%s\"; known: gcp, aws, azure, country, us-state", pre,
                           region, prov);
        if (kind == JP_ZONE_US_STATE && strlen(rest) == 2) { /* us:or */
            char code[8] = {'u', 's', ' ', rest[0], rest[1], '\0'};
            const struct jp_carbon_zone *z = find_kind(kind, code);
            if (z) return zone_figure(z, year, out);
        }
        const struct jp_carbon_zone *z = find_kind(kind, rest);
        if (!z && (kind == JP_ZONE_AWS || kind == JP_ZONE_AZURE))
            return unknown_region_note(pre, region,
                                       kind == JP_ZONE_AWS
                                           ? "no figure built in (not an AWS region Cloud Carbon Footprint publishes a "
                                             "factor for; name its country, or give --intensity G)"
                                           : "no figure built in (not an Azure region Cloud Carbon Footprint publishes "
                                             "a factor for; name its country, or give --intensity G)");
        if (!z) return unknown_region(pre, region);
        return zone_figure(z, year, out);
    }
    /* codes: a Google region code, a country code (2 or 3 letters), a state code "US-OR"; then names,
     * Google regions first, then countries, then states. Only then AWS and Azure, codes and names, so
     * that "France", "Japan" or "UK" keep meaning the country rather than an Azure geography. */
    static const int order[][2] = {{JP_ZONE_GCP, JP_ZONE_US_STATE}, {JP_ZONE_AWS, JP_ZONE_AZURE}};
    for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
        for (size_t i = 0; i < jp_carbon_zone_count; i++) {
            const struct jp_carbon_zone *z = &jp_carbon_zones[i];
            if (z->kind < order[o][0] || z->kind > order[o][1]) continue;
            const char *code3 = jp_carbon_zone_code3(z);
            if (norm_eq(q, jp_carbon_zone_code(z)) || (*code3 && norm_eq(q, code3))) return zone_figure(z, year, out);
        }
        for (int kind = order[o][0]; kind <= order[o][1]; kind++)
            for (size_t i = 0; i < jp_carbon_zone_count; i++) {
                const struct jp_carbon_zone *z = &jp_carbon_zones[i];
                if (z->kind == kind && zone_has_name(z, q)) return zone_figure(z, year, out);
            }
    }
    return unknown_region(pre, region);
}

int jp_intensity_lookup(const char *region, jp_intensity *out) { return lookup(region, 0, out); }

int jp_intensity_lookup_year(const char *region, int year, jp_intensity *out) { return lookup(region, year, out); }

/* ---- the region list --------------------------------------------------------------------------- */

size_t jp_region_count(void) { return jp_carbon_zone_count; }

int jp_region_get(size_t i, int year, jp_intensity *out)
{
    if (i >= jp_carbon_zone_count || !out) return jp_fail(JP_ERR_RANGE, "region index %zu out of range", i);
    return zone_figure(&jp_carbon_zones[i], year, out);
}

size_t jp_region_years(size_t i, int *years, size_t max)
{
    if (i >= jp_carbon_zone_count) return 0;
    const struct jp_carbon_zone *z = &jp_carbon_zones[i];
    for (int k = 0; k < z->count && (size_t)k < max; k++)
        years[k] = jp_carbon_figures[z->first + k].year;
    return (size_t)z->count;
}

struct contains_ctx {
    const char *q;
};

static int place_contains(const char *name, void *ctx)
{
    char n[192];
    norm(name, n, sizeof n);
    return strstr(n, ((struct contains_ctx *)ctx)->q) != NULL;
}

bool jp_region_matches(size_t i, const char *text)
{
    if (i >= jp_carbon_zone_count) return false;
    char q[192];
    norm(text ? text : "", q, sizeof q);
    if (!*q) return true;
    const struct jp_carbon_zone *z = &jp_carbon_zones[i];
    struct contains_ctx c = {q};
    const char *country = jp_carbon_zone_country(z), *code3 = jp_carbon_zone_code3(z);
    if (strlen(q) <= 2) /* "FR": a code, not a piece of a name */
        return norm_eq(q, country) || norm_eq(q, jp_carbon_zone_code(z));
    if (place_contains(jp_carbon_zone_id(z), &c) || place_contains(jp_carbon_zone_name(z), &c) ||
        each_place(jp_carbon_zone_places(z), place_contains, &c))
        return true;
    /* a country code matches exactly: "FR" finds France and the regions in France */
    return (*country && norm_eq(q, country)) || (*code3 && norm_eq(q, code3));
}

/* ---- a user's figures -------------------------------------------------------------------------- */

void jp_intensity_query_init(jp_intensity_query *q)
{
    q->year = 0;
    q->file = NULL;
    q->g_per_kwh = -1;
}


void jp_carbon_norm(const char *in, char *out, size_t len) { norm(in, out, len); }

/* Reads the user's file; fills out with the row for region (or the only row when region is empty).
 * Returns JP_OK, JP_ERR_NOTFOUND (file fine, region not in it), or an error with FILE:LINE. */
static int file_lookup(const char *path, const char *region, int year, jp_intensity *out)
{
    FILE *fp;
    int orc = jp_carbon_open_csv(path, &fp);
    if (orc == JP_ERR_NOTFOUND) { /* a missing file is an error, not "region not in the file" */
        char why[600];
        jp_strlcpy(why, jp_last_error(), sizeof why);
        return jp_fail(JP_ERR_IO, "%s", why);
    }
    if (orc != JP_OK) return orc;
    char line[1024], q[192];
    norm(region ? region : "", q, sizeof q);
    int col_region = -1, col_g = -1, col_year = -1, col_source = -1, ncols = 0;
    long line_no = 0, rows = 0;
    int found = 0, rc = JP_OK;
    jp_intensity only;
    memset(&only, 0, sizeof only);
    while (fgets(line, sizeof line, fp)) {
        line_no++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = jp_fail(JP_ERR_PARSE, "%s:%ld: line too long", path, line_no);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#') continue;
        char *f[8];
        int n = jp_csv_split(s, f, 8, JP_CSV_TRIM);
        if (n < 0) {
            rc = jp_fail(JP_ERR_PARSE, "%s:%ld: malformed CSV: %s (at most 8)", path, line_no, jp_csv_strerror(n));
            break;
        }
        if (col_region < 0) { /* the header */
            for (int i = 0; i < n; i++) {
                char h[64];
                norm(f[i], h, sizeof h);
                if (!strcmp(h, "region"))
                    col_region = i;
                else if (!strcmp(h, "g per kwh") || !strcmp(h, "gco2 kwh") || !strcmp(h, "gco2e kwh") ||
                         !strcmp(h, "intensity"))
                    col_g = i;
                else if (!strcmp(h, "year"))
                    col_year = i;
                else if (!strcmp(h, "source"))
                    col_source = i;
            }
            if (col_region < 0 || col_g < 0) {
                rc = jp_fail(JP_ERR_PARSE,
                             "%s:%ld: expected a header with region,g_per_kwh (and optionally year, source)", path,
                             line_no);
                break;
            }
            ncols = n;
            continue;
        }
        if (n != ncols) {
            rc = jp_fail(JP_ERR_PARSE, "%s:%ld: expected %d fields like the header, found %d", path, line_no, ncols, n);
            break;
        }
        if (!*f[col_region]) {
            rc = jp_fail(JP_ERR_PARSE, "%s:%ld: region: empty", path, line_no);
            break;
        }
        char *end;
        errno = 0;
        double g = strtod(f[col_g], &end);
        if (end == f[col_g] || *end || errno || !isfinite(g) || g < 0 || g > 5000) {
            rc = jp_fail(JP_ERR_PARSE, "%s:%ld: g_per_kwh \"%s\": expected a number from 0 to 5000 (gCO2e/kWh)", path,
                         line_no, f[col_g]);
            break;
        }
        long y = 0;
        if (col_year >= 0 && *f[col_year]) {
            errno = 0;
            y = strtol(f[col_year], &end, 10);
            if (end == f[col_year] || *end || y < 1990 || y > 2100) {
                rc = jp_fail(JP_ERR_PARSE, "%s:%ld: year \"%s\": expected a year such as 2024", path, line_no,
                             f[col_year]);
                break;
            }
        }
        rows++;
        jp_intensity row;
        memset(&row, 0, sizeof row);
        jp_strlcpy(row.region, f[col_region], sizeof row.region);
        jp_strlcpy(row.name, f[col_region], sizeof row.name);
        jp_strlcpy(row.provider, "user", sizeof row.provider);
        row.g_per_kwh = g;
        row.year = (int)y;
        row.cfe = -1;
        const char *src = col_source >= 0 && *f[col_source] ? f[col_source] : "";
        if (*src)
            snprintf(row.source, sizeof row.source, "%s (%s:%ld)", src, path, line_no);
        else
            snprintf(row.source, sizeof row.source, "%s:%ld", path, line_no);
        if (rows == 1) only = row;
        /* the row for the region; with a year asked, a row for that year (or one with no year) */
        if (!found && *q && norm_eq(q, f[col_region]) && (!year || !y || y == year)) {
            *out = row;
            found = 1;
        }
    }
    fclose(fp);
    if (rc != JP_OK) return rc;
    if (col_region < 0) return jp_fail(JP_ERR_PARSE, "%s: no header line (region,g_per_kwh)", path);
    if (found) return JP_OK;
    if (!*q && rows == 1) {
        *out = only;
        return JP_OK;
    }
    return JP_ERR_NOTFOUND;
}

int jp_intensity_resolve(const char *region, const jp_intensity_query *q, jp_intensity *out)
{
    jp_intensity_query def;
    if (!q) {
        jp_intensity_query_init(&def);
        q = &def;
    }
    if (!out) return jp_fail(JP_ERR_INVAL, "jp_intensity_resolve: no output");
    if (q->g_per_kwh >= 0) {
        if (!isfinite(q->g_per_kwh) || q->g_per_kwh > 5000)
            return jp_fail(JP_ERR_RANGE, "intensity %g: expected 0 to 5000 gCO2e/kWh", q->g_per_kwh);
        memset(out, 0, sizeof *out);
        const char *label = region && *region ? region : "custom";
        jp_strlcpy(out->region, label, sizeof out->region);
        jp_strlcpy(out->name, label, sizeof out->name);
        jp_strlcpy(out->provider, "user", sizeof out->provider);
        out->g_per_kwh = q->g_per_kwh;
        out->cfe = -1;
        jp_strlcpy(out->source, "given with --intensity", sizeof out->source);
        return JP_OK;
    }
    if (q->file && *q->file) {
        const char *r = region;
        if (!r || !*r) r = getenv("JP_REGION");
        int rc = file_lookup(q->file, r, q->year, out);
        if (rc != JP_ERR_NOTFOUND) return rc;
        if (!r || !*r) return jp_fail(JP_ERR_NOTFOUND, "%s: has several rows: name the region to use", q->file);
        /* not in the file: the built-in data */
        rc = lookup(r, q->year, out);
        if (rc == JP_ERR_NOTFOUND) {
            char detail[1024];
            jp_strlcpy(detail, jp_last_error(), sizeof detail);
            return jp_fail(JP_ERR_NOTFOUND, "not in %s; built in: %s", q->file, detail);
        }
        return rc;
    }
    return lookup(region, q->year, out);
}

/* ---- PUE --------------------------------------------------------------------------------------- */

int jp_pue_parse(const char *text, double *pue, char *source, size_t len)
{
    if (!text || !*text) return jp_fail(JP_ERR_PARSE, "PUE: empty; expected a number such as 1.2, or gcp, aws, azure");
    char q[64];
    norm(text, q, sizeof q);
    const char *prov = !strcmp(q, "gcp") || !strcmp(q, "google")        ? "gcp"
                       : !strcmp(q, "aws") || !strcmp(q, "amazon")      ? "aws"
                       : !strcmp(q, "azure") || !strcmp(q, "microsoft") ? "azure"
                                                                        : NULL;
    if (prov) {
        const struct jp_carbon_pue *best = NULL;
        for (size_t i = 0; i < jp_carbon_pue_count; i++) {
            const struct jp_carbon_pue *p = &jp_carbon_pues[i];
            if (!strcmp(jp_carbon_pue_provider(p), prov) && (!best || p->year > best->year)) best = p;
        }
        if (!best) return jp_fail(JP_ERR_NOTFOUND, "PUE \"%s\": no published figure is built in", text);
        *pue = best->pue;
        if (source) fill_source(source, len, best->source, best->year);
        return JP_OK;
    }
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || v < 1.0 || v > 3.0)
        return jp_fail(JP_ERR_PARSE, "PUE \"%s\": expected a number from 1.0 to 3.0, or gcp, aws, azure", text);
    *pue = v;
    if (source) snprintf(source, len, "given (%s)", text);
    return JP_OK;
}

/* ---- arithmetic and printing ------------------------------------------------------------------- */

double jp_carbon_grams(double joules, double g_per_kwh, double pue) { return joules / 3.6e6 * g_per_kwh * pue; }

void jp_format_grams(double g, char *buf, size_t len)
{
    if (!isfinite(g)) {
        snprintf(buf, len, "n/a");
        return;
    }
    double a = fabs(g);
    if (a == 0) {
        snprintf(buf, len, "0 g");
        return;
    }
    if (a < 1000 || a >= 1e15) {
        snprintf(buf, len, "%.3g g", g);
        return;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", a);
    char grouped[48];
    size_t nd = strlen(digits), o = 0;
    for (size_t i = 0; i < nd; i++) {
        if (i && (nd - i) % 3 == 0) grouped[o++] = ',';
        grouped[o++] = digits[i];
    }
    grouped[o] = '\0';
    snprintf(buf, len, "%s%s g", g < 0 ? "-" : "", grouped);
}
