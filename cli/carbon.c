/* jouleprint carbon: the CO2e of an energy in one region and others, and the saving from moving. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: jouleprint carbon --energy E [--region R] [--compare R2 ...] [options]\n"
    "\n"
    "Turns an energy into grams of CO2e with the grid carbon intensity of a region, and compares\n"
    "regions: the grams (and kg, t) in each and the saving against the first, in percent.\n"
    "Figures are compiled in: Google Cloud regions (every year Google published, 2019 on; the latest\n"
    "is the default), AWS and Azure regions (Cloud Carbon Footprint's factors, about 2021), country\n"
    "averages and US states, each with its year and source; `jouleprint regions` lists them.\n"
    "\n"
    "  --energy E           the energy, with a unit: J, kJ, MJ, Wh, kWh, MWh, GWh (e.g. 143.8MWh)\n"
    "  --region R           where it runs: gcp:us-west1, us-west1, \"Salt Lake City\", Paris, FR, FRA,\n"
    "                       US-OR, aws:us-east-1, \"azure:West Europe\" (case and accents do not\n"
    "                       matter; default $JP_REGION, else the world average, 480.6 gCO2e/kWh)\n"
    "  --compare R2         also in R2; repeat, or list several after it; `--compare all` ranks every\n"
    "                       region (see --provider)\n"
    "  --year Y             figures of year Y (e.g. 2021); default: each region's latest\n"
    "  --pue P              power usage effectiveness: a number (1.2) or a provider's published\n"
    "                       figure (gcp, aws, azure); default 1.0, the grid data as published\n"
    "  --provider P         with --compare all: only gcp, aws, azure, country or us-state\n"
    "  --intensity G        use G gCO2e/kWh for --region, whatever the built-in data says\n"
    "  --intensity-file F   a CSV of your own (region,g_per_kwh[,year][,source]) consulted first\n"
    "  --json               one JSON object (keys: energy_j, pue, region, carbon_g, results, best)\n"
    "\n"
    "examples:\n"
    "  jouleprint carbon --energy 143.8MWh --region \"Salt Lake City\" --compare Oregon --year 2021\n"
    "  jouleprint carbon --energy 12kWh --region FR --compare DE PL US-CA\n"
    "  jouleprint carbon --energy 1MWh --region gcp:us-east1 --compare all --provider gcp --pue gcp\n";

/* ---- helpers shared with stat and plan --------------------------------------------------------- */

int cli_parse_year(const char *cmd, const char *arg, int *year)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || errno || v < 1990 || v > 2100) {
        cli_error(cmd, "--year %s: expected a year such as 2021", arg);
        return -1;
    }
    *year = (int)v;
    return 0;
}

int cli_parse_intensity(const char *cmd, const char *arg, double *g)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    while (*end == ' ')
        end++;
    /* allow the unit written out */
    if (*end && (!strcmp(end, "g/kWh") || !strcmp(end, "gCO2/kWh") || !strcmp(end, "gCO2e/kWh"))) end += strlen(end);
    if (end == arg || *end || errno || !isfinite(v) || v < 0 || v > 5000) {
        cli_error(cmd, "--intensity %s: expected gCO2e/kWh from 0 to 5000, e.g. 123", arg);
        return -1;
    }
    *g = v;
    return 0;
}

int cli_parse_pue(const char *cmd, const char *arg, double *pue, char *src, size_t len)
{
    if (jp_pue_parse(arg, pue, src, len) != JP_OK) {
        cli_error(cmd, "--pue: %s", jp_last_error());
        return -1;
    }
    return 0;
}

void cli_carbon_opts_init(struct cli_carbon_opts *o)
{
    memset(o, 0, sizeof *o);
    jp_intensity_query_init(&o->q);
    o->pue = 1.0;
}

int cli_carbon_option(const char *cmd, struct cli_carbon_opts *o, int opt, const char *arg)
{
    switch (opt) {
    case 1100: o->region = arg; return 1;
    case 1101: return cli_parse_year(cmd, arg, &o->q.year) ? -1 : 1;
    case 1102: return cli_parse_intensity(cmd, arg, &o->q.g_per_kwh) ? -1 : 1;
    case 1103: o->q.file = arg; return 1;
    case 1104: return cli_parse_pue(cmd, arg, &o->pue, o->pue_src, sizeof o->pue_src) ? -1 : 1;
    default: return 0;
    }
}

int cli_carbon_resolve(const char *cmd, const struct cli_carbon_opts *o, jp_intensity *out)
{
    if (jp_intensity_resolve(o->region, &o->q, out) != JP_OK) {
        cli_error(cmd, "%s", jp_last_error());
        return -1;
    }
    return 0;
}

void cli_carbon_basis(char *buf, size_t len, const jp_intensity *ci, const struct cli_carbon_opts *o)
{
    if (o->pue_src[0])
        snprintf(buf, len, "%s: %.1f gCO2e/kWh, %s; PUE %.2f, %s", ci->region, ci->g_per_kwh, ci->source, o->pue,
                 o->pue_src);
    else
        snprintf(buf, len, "%s: %.1f gCO2e/kWh, %s; PUE 1.0", ci->region, ci->g_per_kwh, ci->source);
}

void cli_carbon_json(json_t *obj, const jp_intensity *ci, const struct cli_carbon_opts *o)
{
    json_object_set_new(obj, "region", json_string(ci->region));
    json_object_set_new(obj, "region_name", json_string(ci->name));
    json_object_set_new(obj, "intensity_g_per_kwh", json_real(ci->g_per_kwh));
    json_object_set_new(obj, "intensity_source", json_string(ci->source));
    json_object_set_new(obj, "intensity_year", ci->year ? json_integer(ci->year) : json_null());
    json_object_set_new(obj, "pue", json_real(o->pue));
    json_object_set_new(obj, "pue_source", json_string(o->pue_src[0] ? o->pue_src : "none: grid figures as published"));
}

/* An intensity as published: "448", "97.85", "0" (at most 2 decimals, no trailing zeros). */
void cli_format_intensity(double g, char *buf, size_t len)
{
    snprintf(buf, len, "%.2f", g);
    char *dot = strchr(buf, '.');
    if (!dot) return;
    char *e = buf + strlen(buf);
    while (e > dot && (e[-1] == '0' || e[-1] == '.')) {
        int was_dot = e[-1] == '.';
        *--e = '\0';
        if (was_dot) break;
    }
}

/* An energy in the unit the user would write, with up to 6 significant digits: "143.8 MWh". */
static void format_energy_exact(double j, char *buf, size_t len)
{
    static const struct {
        double f;
        const char *u;
    } u[] = {{3.6e12, "GWh"}, {3.6e9, "MWh"}, {3.6e6, "kWh"}, {3600, "Wh"}, {1e3, "kJ"}, {1, "J"}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (j >= u[i].f || i + 1 == sizeof u / sizeof u[0]) {
            snprintf(buf, len, "%.6g %s", j / u[i].f, u[i].u);
            return;
        }
}

/* Prints s and pads to width columns, counting UTF-8 characters rather than bytes. */
void cli_pad(FILE *out, const char *s, int width)
{
    int cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) cols++;
    fputs(s, out);
    for (; cols < width; cols++)
        fputc(' ', out);
}

int cli_text_width(const char *s)
{
    int cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) cols++;
    return cols;
}

/* ---- the command ------------------------------------------------------------------------------- */

struct row {
    jp_intensity ci;
    double grams;
};

static int cmp_intensity(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->ci.g_per_kwh != y->ci.g_per_kwh) return x->ci.g_per_kwh < y->ci.g_per_kwh ? -1 : 1;
    return strcmp(x->ci.region, y->ci.region);
}

static double saving_pct(double base, double g) { return base > 0 ? (base - g) / base * 100.0 : NAN; }

static int provider_ok(const char *want, const jp_intensity *ci) { return !want || !strcmp(want, ci->provider); }

const char *cli_provider_name(const char *cmd, const char *arg)
{
    if (!strcmp(arg, "gcp") || !strcmp(arg, "google")) return "gcp";
    if (!strcmp(arg, "aws") || !strcmp(arg, "amazon")) return "aws";
    if (!strcmp(arg, "azure") || !strcmp(arg, "microsoft")) return "azure";
    if (!strcmp(arg, "country") || !strcmp(arg, "countries")) return "country";
    if (!strcmp(arg, "us-state") || !strcmp(arg, "us-states") || !strcmp(arg, "state") || !strcmp(arg, "us"))
        return "us-state";
    cli_error(cmd, "--provider %s: expected gcp, aws, azure, country or us-state", arg);
    return NULL;
}

static void print_human(FILE *out, double joules, double pue, const char *pue_src, const struct row *rows, size_t n,
                        int all, const struct row *chosen)
{
    char e[64], b1[64], b2[64], gi[32];
    format_energy_exact(joules, e, sizeof e);
    fprintf(out, "\n jouleprint carbon: %s", e);
    if (!pue_src[0])
        fprintf(out, ", PUE 1.0 (grid figures as published)\n\n");
    else
        fprintf(out, ", PUE %.2f (%s)\n\n", pue, pue_src);
    int wr = 6, wn = 5, more = 0;
    for (size_t i = 0; i < n; i++) {
        int a = cli_text_width(rows[i].ci.region), b = cli_text_width(rows[i].ci.name);
        if (a > wr) wr = a;
        if (b > wn) wn = b;
    }
    if (wn > 28) wn = 28;
    fputs("  ", out);
    if (all) fputs("rank ", out);
    cli_pad(out, "region", wr + 2);
    cli_pad(out, "place", wn + 2);
    fprintf(out, "%4s %10s %9s %20s %8s\n", "year", "gCO2e/kWh", "CO2e", "grams", "saving");
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        int is_chosen = !strcmp(r->ci.region, chosen->ci.region) && r->ci.g_per_kwh == chosen->ci.g_per_kwh;
        fputs(all && is_chosen ? "> " : "  ", out);
        if (all) fprintf(out, "%4zu ", i + 1);
        cli_pad(out, r->ci.region, wr + 2);
        cli_pad(out, r->ci.name, wn + 2);
        char year[8] = "-";
        if (r->ci.year) snprintf(year, sizeof year, "%d", r->ci.year);
        jp_format_mass(r->grams, b1, sizeof b1);
        jp_format_grams(r->grams, b2, sizeof b2);
        char sv[16] = "-";
        if (!is_chosen) {
            double p = saving_pct(chosen->grams, r->grams);
            if (isfinite(p) && p >= 0)
                snprintf(sv, sizeof sv, "%.1f%%", p);
            else if (isfinite(p)) {
                snprintf(sv, sizeof sv, "+%.0f%%", -p);
                more = 1;
            }
        }
        cli_format_intensity(r->ci.g_per_kwh, gi, sizeof gi);
        fprintf(out, "%4s %10s %9s %20s %8s\n", year, gi, b1, b2, sv);
    }
    if (all) fprintf(out, "\n  > your region; saving: against it\n");
    if (more) fprintf(out, "%s  +N%%: that much more CO2e than %s\n", all ? "" : "\n", chosen->ci.region);
    fputc('\n', out);
}

static void print_sources(FILE *out, const struct row *rows, size_t n)
{
    /* each distinct source once, with the regions that use it (a few named, then a count) */
    int *done = calloc(n ? n : 1, sizeof *done);
    if (!done) return;
    fputs("  sources:\n", out);
    for (size_t i = 0; i < n; i++) {
        if (done[i]) continue;
        size_t users = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && !strcmp(rows[j].ci.source, rows[i].ci.source)) users++;
        fputs("    ", out);
        size_t shown = 0;
        for (size_t j = i; j < n; j++) {
            if (done[j] || strcmp(rows[j].ci.source, rows[i].ci.source)) continue;
            done[j] = 1;
            if (shown < 3) fprintf(out, "%s%s", shown ? ", " : "", rows[j].ci.region);
            shown++;
        }
        if (users > 3) fprintf(out, " and %zu more", users - 3);
        fprintf(out, ": %s\n", rows[i].ci.source);
    }
    free(done);
}

static json_t *row_json(const struct row *r, double base, int first)
{
    json_t *o = json_object();
    json_object_set_new(o, "region", json_string(r->ci.region));
    json_object_set_new(o, "name", json_string(r->ci.name));
    json_object_set_new(o, "provider", json_string(r->ci.provider));
    json_object_set_new(o, "country", r->ci.country[0] ? json_string(r->ci.country) : json_null());
    json_object_set_new(o, "year", r->ci.year ? json_integer(r->ci.year) : json_null());
    json_object_set_new(o, "intensity_g_per_kwh", json_real(r->ci.g_per_kwh));
    json_object_set_new(o, "intensity_source", json_string(r->ci.source));
    json_object_set_new(o, "carbon_g", json_real(r->grams));
    json_object_set_new(o, "carbon_kg", json_real(r->grams / 1e3));
    json_object_set_new(o, "carbon_t", json_real(r->grams / 1e6));
    double p = saving_pct(base, r->grams);
    json_object_set_new(o, "saving_pct", first || !isfinite(p) ? json_null() : json_real(p));
    return o;
}

int cmd_carbon(int argc, char **argv)
{
    static const struct option longopts[] = {{"energy", required_argument, NULL, 'e'},
                                             {"region", required_argument, NULL, 'R'},
                                             {"compare", required_argument, NULL, 'c'},
                                             {"year", required_argument, NULL, 'y'},
                                             {"pue", required_argument, NULL, 'p'},
                                             {"provider", required_argument, NULL, 'P'},
                                             {"intensity", required_argument, NULL, 'i'},
                                             {"intensity-file", required_argument, NULL, 'f'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0, 0, 0, 0}};
    const char *energy = NULL, *region = NULL, *provider = NULL;
    int json = 0, all = 0, opt;
    double pue = 1.0;
    char pue_src[160] = "";
    jp_intensity_query q;
    jp_intensity_query_init(&q);
    const char **cmp = calloc((size_t)argc + 1, sizeof *cmp);
    size_t ncmp = 0;
    if (!cmp) return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_USAGE;
    optind = 1;
    while ((opt = cli_getopt("carbon", argc, argv, "h", longopts)) != -1) {
        switch (opt) {
        case 'e': energy = optarg; break;
        case 'R': region = optarg; break;
        case 'c':
            if (!strcmp(optarg, "all"))
                all = 1;
            else
                cmp[ncmp++] = optarg;
            break;
        case 'y':
            if (cli_parse_year("carbon", optarg, &q.year)) goto out;
            break;
        case 'p':
            if (cli_parse_pue("carbon", optarg, &pue, pue_src, sizeof pue_src)) goto out;
            break;
        case 'P':
            if (!(provider = cli_provider_name("carbon", optarg))) goto out;
            break;
        case 'i':
            if (cli_parse_intensity("carbon", optarg, &q.g_per_kwh)) goto out;
            break;
        case 'f': q.file = optarg; break;
        case 'j': json = 1; break;
        case 'h':
            fputs(help, stdout);
            rc = 0;
            goto out;
        default: goto out;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (!ncmp && !all) {
            cli_error("carbon", "unexpected argument '%s' (regions to compare go after --compare)", argv[i]);
            goto out;
        }
        if (!strcmp(argv[i], "all"))
            all = 1;
        else
            cmp[ncmp++] = argv[i];
    }
    if (!energy) {
        cli_error("carbon", "--energy is needed, with a unit: e.g. --energy 143.8MWh");
        goto out;
    }
    double joules;
    if (jp_parse_energy(energy, &joules) != JP_OK) {
        cli_error("carbon", "--energy: %s", jp_last_error());
        goto out;
    }
    if (provider && !all) {
        cli_error("carbon", "--provider applies to --compare all");
        goto out;
    }
    size_t cap = 1 + ncmp + (all ? jp_region_count() : 0);
    struct row *rows = calloc(cap, sizeof *rows);
    if (!rows) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    size_t n = 0;
    if (jp_intensity_resolve(region, &q, &rows[0].ci) != JP_OK) {
        cli_error("carbon", "%s", jp_last_error());
        free(rows);
        goto out;
    }
    n = 1;
    /* the compared regions use the data (and year), not --intensity, which is for --region */
    jp_intensity_query qc = q;
    qc.g_per_kwh = -1;
    for (size_t i = 0; i < ncmp; i++) {
        if (jp_intensity_resolve(cmp[i], &qc, &rows[n].ci) != JP_OK) {
            cli_error("carbon", "--compare: %s", jp_last_error());
            free(rows);
            goto out;
        }
        n++;
    }
    size_t skipped = 0;
    if (all) {
        for (size_t i = 0; i < jp_region_count(); i++) {
            jp_intensity ci;
            if (jp_region_get(i, 0, &ci) != JP_OK || !provider_ok(provider, &ci)) continue;
            if (jp_region_get(i, q.year, &ci) != JP_OK) {
                skipped++; /* no figure for the year asked */
                continue;
            }
            int dup = 0;
            for (size_t k = 0; k < n; k++)
                dup |= !strcmp(rows[k].ci.region, ci.region);
            if (!dup) rows[n++].ci = ci;
        }
    }
    for (size_t i = 0; i < n; i++)
        rows[i].grams = jp_carbon_grams(joules, rows[i].ci.g_per_kwh, pue);
    /* with --compare all, the ranking is of every row, the chosen region among them */
    struct row chosen = rows[0];
    if (all) qsort(rows, n, sizeof *rows, cmp_intensity);
    const struct row *best = &rows[0];
    for (size_t i = 0; i < n; i++)
        if (rows[i].grams < best->grams) best = &rows[i];
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "energy_j", json_real(joules));
        json_object_set_new(o, "energy_kwh", json_real(joules / 3.6e6));
        json_object_set_new(o, "pue", json_real(pue));
        json_object_set_new(o, "pue_source", json_string(pue_src[0] ? pue_src : "none: grid figures as published"));
        json_object_set_new(o, "year", q.year ? json_integer(q.year) : json_null());
        json_object_set_new(o, "region", json_string(chosen.ci.region));
        json_object_set_new(o, "intensity_g_per_kwh", json_real(chosen.ci.g_per_kwh));
        json_object_set_new(o, "intensity_source", json_string(chosen.ci.source));
        json_object_set_new(o, "carbon_g", json_real(chosen.grams));
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, row_json(&rows[i], chosen.grams, !all && i == 0));
        json_object_set_new(o, "results", arr);
        json_object_set_new(o, "best", row_json(best, chosen.grams, 0));
        if (all) json_object_set_new(o, "regions_without_that_year", json_integer((json_int_t)skipped));
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        print_human(stdout, joules, pue, pue_src, rows, n, all, &chosen);
        char b1[64], b2[64];
        if (n > 1 && best->grams < chosen.grams) {
            double less = chosen.grams - best->grams;
            jp_format_grams(less, b1, sizeof b1);
            jp_format_mass(less, b2, sizeof b2);
            if (less < 1000) b2[0] = '\0';
            printf("  %s (%s) emits %s%s%s%s less than %s (%s): %.1f%% saved\n", best->ci.name, best->ci.region, b1,
                   b2[0] ? " (" : "", b2, b2[0] ? ")" : "", chosen.ci.name, chosen.ci.region,
                   saving_pct(chosen.grams, best->grams));
        } else if (n > 1) {
            printf("  %s (%s) is already the lowest of these\n", chosen.ci.name, chosen.ci.region);
        } else {
            jp_format_grams(chosen.grams, b1, sizeof b1);
            jp_format_mass(chosen.grams, b2, sizeof b2);
            printf("  %s CO2e (%s) in %s (%s)\n", b1, b2, chosen.ci.name, chosen.ci.region);
        }
        if (all && skipped)
            printf("  %zu region%s without a %d figure left out\n", skipped, skipped == 1 ? "" : "s", q.year);
        print_sources(stdout, rows, n);
        fputc('\n', stdout);
    }
    free(rows);
    rc = fflush(stdout) == 0 ? 0 : CLI_EXIT_FAIL;
out:
    free(cmp);
    return rc;
}
