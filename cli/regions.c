/* jouleprint regions: the built-in carbon intensity figures, searchable and sortable. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: jouleprint regions [--provider P] [--search TEXT] [--sort intensity|name] [--year Y] [--json]\n"
    "\n"
    "Lists the regions whose grid carbon intensity is built in, with the year and source of each\n"
    "figure: Google Cloud regions (gcp:CODE, every year Google published), AWS and Azure regions\n"
    "(aws:CODE, azure:CODE: Cloud Carbon Footprint's factors, about 2021), countries (ISO 3166-1\n"
    "alpha-2; alpha-3 and names work too) and US states (US-XX).\n"
    "\n"
    "  --provider P     gcp, aws, azure, country or us-state\n"
    "  --search TEXT    regions whose code, name, other names or country contain TEXT\n"
    "  --sort KEY       intensity (cleanest first) or name; default: gcp, countries, states, aws,\n"
    "                   azure, by code\n"
    "  --year Y         the figures of year Y (regions without one are left out); default each latest\n"
    "  --seed           only the seed study's 23 Google regions\n"
    "  --json           a JSON array of objects (region, name, provider, country, year,\n"
    "                   intensity_g_per_kwh, cfe, years, source, seed)\n"
    "\n"
    "examples:\n"
    "  jouleprint regions --provider gcp --sort intensity\n"
    "  jouleprint regions --search virginia\n"
    "  jouleprint regions --provider azure --sort intensity\n"
    "  jouleprint regions --seed --year 2021 --json\n";

struct item {
    jp_intensity ci;
    size_t index;
};

static int by_intensity(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->ci.g_per_kwh != y->ci.g_per_kwh) return x->ci.g_per_kwh < y->ci.g_per_kwh ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int by_name(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(x->ci.name, y->ci.name);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void years_of(size_t index, char *buf, size_t len)
{
    int ys[32];
    size_t n = jp_region_years(index, ys, 32);
    if (n > 32) n = 32;
    if (n == 1)
        snprintf(buf, len, "%d", ys[0]);
    else if (n > 1 && ys[n - 1] - ys[0] == (int)n - 1)
        snprintf(buf, len, "%d-%d", ys[0], ys[n - 1]);
    else {
        size_t o = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < n && o < len; i++) {
            int w = snprintf(buf + o, len - o, "%s%d", i ? "," : "", ys[i]);
            if (w < 0) break;
            o += (size_t)w;
        }
    }
}

int cmd_regions(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"provider", required_argument, NULL, 'P'}, {"search", required_argument, NULL, 's'},
        {"sort", required_argument, NULL, 'o'},     {"year", required_argument, NULL, 'y'},
        {"seed", no_argument, NULL, 'S'},           {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {0, 0, 0, 0}};
    const char *provider = NULL, *search = NULL, *sort = NULL;
    int year = 0, json = 0, seed = 0, opt;
    optind = 1;
    while ((opt = cli_getopt("regions", argc, argv, "h", longopts)) != -1) {
        switch (opt) {
        case 'P':
            if (!(provider = cli_provider_name("regions", optarg))) return CLI_EXIT_USAGE;
            break;
        case 's': search = optarg; break;
        case 'o':
            if (strcmp(optarg, "intensity") && strcmp(optarg, "name")) {
                cli_error("regions", "--sort %s: expected intensity or name", optarg);
                return CLI_EXIT_USAGE;
            }
            sort = optarg;
            break;
        case 'y':
            if (cli_parse_year("regions", optarg, &year)) return CLI_EXIT_USAGE;
            break;
        case 'S': seed = 1; break;
        case 'j': json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("regions", "unexpected argument '%s' (use --search TEXT)", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    size_t total = jp_region_count(), n = 0, no_year = 0;
    struct item *items = calloc(total ? total : 1, sizeof *items);
    if (!items) return CLI_EXIT_FAIL;
    for (size_t i = 0; i < total; i++) {
        jp_intensity ci;
        if (jp_region_get(i, 0, &ci) != JP_OK) continue;
        if (provider && strcmp(ci.provider, provider)) continue;
        if (seed && !ci.seed) continue;
        if (search && !jp_region_matches(i, search)) continue;
        if (year && jp_region_get(i, year, &ci) != JP_OK) {
            no_year++;
            continue;
        }
        items[n].ci = ci;
        items[n++].index = i;
    }
    if (sort && !strcmp(sort, "intensity"))
        qsort(items, n, sizeof *items, by_intensity);
    else if (sort)
        qsort(items, n, sizeof *items, by_name);
    int rc = 0;
    if (json) {
        json_t *arr = json_array();
        for (size_t k = 0; k < n; k++) {
            const jp_intensity *ci = &items[k].ci;
            json_t *ys = json_array();
            int yv[32];
            size_t ny = jp_region_years(items[k].index, yv, 32);
            for (size_t i = 0; i < ny && i < 32; i++)
                json_array_append_new(ys, json_integer(yv[i]));
            json_t *o = json_object();
            json_object_set_new(o, "region", json_string(ci->region));
            json_object_set_new(o, "name", json_string(ci->name));
            json_object_set_new(o, "provider", json_string(ci->provider));
            json_object_set_new(o, "country", ci->country[0] ? json_string(ci->country) : json_null());
            json_object_set_new(o, "year", json_integer(ci->year));
            json_object_set_new(o, "intensity_g_per_kwh", json_real(ci->g_per_kwh));
            json_object_set_new(o, "cfe", ci->cfe >= 0 ? json_real(ci->cfe) : json_null());
            json_object_set_new(o, "years", ys);
            json_object_set_new(o, "source", json_string(ci->source));
            json_object_set_new(o, "seed", json_boolean(ci->seed));
            json_array_append_new(arr, o);
        }
        json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(arr);
    } else if (n == 0) {
        cli_error("regions", "no region matches%s%s%s", search ? " \"" : "", search ? search : "", search ? "\"" : "");
        if (search) {
            char sug[5][96];
            size_t ns = jp_region_suggest(search, sug, 5);
            for (size_t i = 0; i < ns; i++)
                fprintf(stderr, "  closest: %s\n", sug[i]);
        }
        rc = CLI_EXIT_FAIL;
    } else {
        int wr = 6, wn = 5;
        for (size_t k = 0; k < n; k++) {
            int a = cli_text_width(items[k].ci.region), b = cli_text_width(items[k].ci.name);
            if (a > wr) wr = a;
            if (b > wn) wn = b;
        }
        if (wn > 32) wn = 32;
        printf("\n  ");
        cli_pad(stdout, "region", wr + 2);
        cli_pad(stdout, "place", wn + 2);
        printf("%-7s %4s %10s %5s  %s\n", "country", "year", "gCO2e/kWh", "CFE", "years");
        for (size_t k = 0; k < n; k++) {
            const jp_intensity *ci = &items[k].ci;
            char cfe[8] = "", ys[64];
            if (ci->cfe >= 0) snprintf(cfe, sizeof cfe, "%.0f%%", ci->cfe * 100);
            years_of(items[k].index, ys, sizeof ys);
            printf("  ");
            cli_pad(stdout, ci->region, wr + 2);
            cli_pad(stdout, ci->name, wn + 2);
            char gi[32];
            cli_format_intensity(ci->g_per_kwh, gi, sizeof gi);
            if (ci->seed)
                printf("%-7s %4d %10s %5s  %-9s seed\n", ci->country[0] ? ci->country : "-", ci->year, gi, cfe, ys);
            else
                printf("%-7s %4d %10s %5s  %s\n", ci->country[0] ? ci->country : "-", ci->year, gi, cfe, ys);
        }
        printf("\n  %zu region%s", n, n == 1 ? "" : "s");
        if (year)
            printf(", figures for %d", year);
        else
            printf(", each with its latest figure (--year Y for another)");
        if (no_year) printf("; %zu without a %d figure left out", no_year, year);
        printf("\n  CFE: Google's hourly carbon-free energy share; seed: one of the seed study's 23 regions\n");
        /* the distinct sources of what was listed */
        printf("  sources:\n");
        for (size_t k = 0; k < n; k++) {
            int seen = 0;
            for (size_t j = 0; j < k && !seen; j++)
                seen = !strcmp(items[j].ci.source, items[k].ci.source);
            if (!seen) printf("    %s\n", items[k].ci.source);
        }
        printf("  world average when nothing is known: %.1f gCO2e/kWh\n\n", JP_WORLD_G_PER_KWH);
    }
    free(items);
    if (fflush(stdout) != 0) rc = CLI_EXIT_FAIL;
    return rc;
}
