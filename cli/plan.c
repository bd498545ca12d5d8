/* jouleprint plan: when and where to run a job so that it emits the least, from an intensity series. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char help[] =
    "usage: jouleprint plan --energy E --duration D [--series FILE.csv] [--window START..END] [--region R]\n"
    "\n"
    "Finds the start time and region with the least CO2e for a job of energy E lasting D, from a time\n"
    "series of grid intensity, and compares it with running now in the current region.\n"
    "\n"
    "Without --series, the hourly series built in are used: five US balancing areas through 2022 (US EIA\n"
    "hourly generation by fuel, as gCO2/kWh by HewlettPackard/dc-rl): PJM (with Virginia: aws:us-east-1,\n"
    "azure:eastus), BPAT (aws:us-west-2, gcp:us-west1), CISO (California), ERCO (gcp:us-south1), MISO\n"
    "(gcp:us-central1); --region may name a cloud region one of them serves. With --series, a CSV\n"
    "timestamp,region,g_per_kwh (or timestamp,g_per_kwh: one region, named after the file); timestamps\n"
    "in UTC such as 2024-05-01T13:00Z, or Unix seconds, from 1970 to 2200.\n"
    "\n"
    "Each row holds until the region's next row. Where rows are missing or a value is empty (a gap)\n"
    "a warning says so and no run that would cross the gap is considered: nothing is interpolated.\n"
    "\n"
    "  --energy E            energy of the job, with a unit (e.g. 12kWh)\n"
    "  --duration D          how long it runs, with a unit (e.g. 3h, 90min)\n"
    "  --series FILE         an intensity series (see examples/intensity_series.csv); default: built in\n"
    "  --window START..END   start no earlier than START and finish by END (either may be left out)\n"
    "  --region R            the current region (a region of the series, or a name that resolves to\n"
    "                        the same built-in region, or a cloud region a built-in area serves;\n"
    "                        default $JP_REGION, else the series' first)\n"
    "  --now TIME            when \"now\" is (default: the current time if the series covers it, else\n"
    "                        the window's start)\n"
    "  --json                one JSON object (keys: best, now, saving_g, saving_pct, regions, warnings)\n"
    "\n"
    "examples:\n"
    "  jouleprint plan --energy 12kWh --duration 3h --series examples/intensity_series.csv \\\n"
    "      --window 2024-05-01T00:00Z..2024-05-02T00:00Z --region us-west3\n"
    "  jouleprint plan --energy 12kWh --duration 3h --region aws:us-east-1 \\\n"
    "      --window 2022-07-01T00:00Z..2022-07-08T00:00Z\n";

/* "aws:us-east-1;azure:eastus" as "aws:us-east-1, azure:eastus" */
static void serves_text(const char *list, char *buf, size_t len)
{
    size_t o = 0;
    for (const char *c = list; *c && o + 3 < len; c++) {
        if (*c == ';') {
            buf[o++] = ',';
            buf[o++] = ' ';
        } else {
            buf[o++] = *c;
        }
    }
    buf[o] = '\0';
}

static int parse_window(const char *arg, double *a, double *b)
{
    const char *dots = strstr(arg, "..");
    if (!dots) {
        cli_error("plan", "--window %s: expected START..END, e.g. 2024-05-01T00:00Z..2024-05-02T00:00Z", arg);
        return -1;
    }
    char start[64];
    size_t n = (size_t)(dots - arg);
    if (n >= sizeof start) n = sizeof start - 1;
    memcpy(start, arg, n);
    start[n] = '\0';
    *a = *b = NAN;
    if (*start && jp_parse_time(start, a) != JP_OK) {
        cli_error("plan", "--window start: %s", jp_last_error());
        return -1;
    }
    if (dots[2] && jp_parse_time(dots + 2, b) != JP_OK) {
        cli_error("plan", "--window end: %s", jp_last_error());
        return -1;
    }
    if (!isnan(*a) && !isnan(*b) && *b <= *a) {
        cli_error("plan", "--window %s: the end must come after the start", arg);
        return -1;
    }
    return 0;
}

/* "2024-05-01T09:00:00Z" */
static void iso_time(double unix_s, char *buf, size_t len)
{
    time_t t = (time_t)floor(unix_s);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(buf, len, "%.0f", unix_s);
}

static json_t *choice_json(const jp_series *s, const jp_plan_choice *c)
{
    char t[48];
    iso_time(c->start, t, sizeof t);
    json_t *o = json_object();
    json_object_set_new(o, "region", json_string(c->region));
    size_t i;
    json_t *serves = json_array();
    if (jp_series_find(s, c->region, &i) == JP_OK) {
        const char *l = jp_series_region_serves(s, i);
        while (l && *l) {
            const char *semi = strchr(l, ';');
            size_t n = semi ? (size_t)(semi - l) : strlen(l);
            json_array_append_new(serves, json_stringn(l, n));
            l = semi ? semi + 1 : l + n;
        }
    }
    json_object_set_new(o, "serves", serves);
    json_object_set_new(o, "start", json_string(t));
    json_object_set_new(o, "start_unix", json_real(c->start));
    json_object_set_new(o, "intensity_g_per_kwh", isfinite(c->g_per_kwh) ? json_real(c->g_per_kwh) : json_null());
    json_object_set_new(o, "carbon_g", isfinite(c->grams) ? json_real(c->grams) : json_null());
    return o;
}

/* "PJM (aws:us-east-1, azure:eastus)" for a built-in area that serves regions, else the name */
static void region_label(const jp_series *s, const char *name, char *buf, size_t len)
{
    size_t i;
    const char *serves = jp_series_find(s, name, &i) == JP_OK ? jp_series_region_serves(s, i) : "";
    if (serves && *serves) {
        char st[200];
        serves_text(serves, st, sizeof st);
        snprintf(buf, len, "%s (%s)", name, st);
    } else {
        snprintf(buf, len, "%s", name);
    }
}

static void print_choice(const jp_series *s, const char *label, const jp_plan_choice *c)
{
    char t[48], m[32], g[48], rl[300];
    jp_format_time(c->start, t, sizeof t);
    region_label(s, c->region, rl, sizeof rl);
    if (!isfinite(c->grams)) {
        printf("  %-8s %s in %s: not covered by the series (a gap, or outside it)\n", label, t, rl);
        return;
    }
    jp_format_mass(c->grams, m, sizeof m);
    jp_format_grams(c->grams, g, sizeof g);
    printf("  %-8s start %s in %s: mean %.1f gCO2e/kWh -> %s CO2e", label, t, rl, c->g_per_kwh, m);
    if (c->grams >= 1000) printf(" (%s)", g);
    fputc('\n', stdout);
}

/* The warnings that bear on this plan: the series' own (duplicates skipped, regions left out), and a
 * region's gaps only where they fall in the span of time the plan looks at (the window, and the run
 * "now"): a gap a week away changes nothing, and is not said. */
struct warnings {
    char **line;
    size_t n;
};

static void free_warnings(struct warnings *w)
{
    for (size_t i = 0; i < w->n; i++) free(w->line[i]);
    free(w->line);
    memset(w, 0, sizeof *w);
}

static int add_line(struct warnings *w, const char *text)
{
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->line[i], text)) return 0; /* once */
    char **grown = realloc(w->line, (w->n + 1) * sizeof *grown);
    if (!grown) return -1;
    w->line = grown;
    if (!(w->line[w->n] = strdup(text))) return -1;
    w->n++;
    return 0;
}

static int collect_warnings(const jp_series *s, const jp_plan_request *req, struct warnings *w)
{
    for (size_t i = 0; i < jp_series_warning_count(s); i++)
        if (!jp_series_warning_is_gap(s, i) && add_line(w, jp_series_warning(s, i))) return -1;
    double a = isnan(req->window_start) ? jp_series_first(s) : req->window_start;
    double b = isnan(req->window_end) ? jp_series_last(s) : req->window_end;
    if (!isnan(req->now)) {
        if (req->now < a) a = req->now;
        if (req->now + req->duration_s > b) b = req->now + req->duration_s;
    }
    const char *src = jp_series_source(s);
    const char *label = !strncmp(src, "built in", 8) ? "built-in series" : src;
    for (size_t r = 0; r < jp_series_region_count(s); r++) {
        double g0 = 0, g1 = 0;
        size_t missing = 0, n = jp_series_gaps(s, r, a, b, &g0, &g1, &missing);
        if (!n) continue;
        char t0[48], t1[48], line[1024];
        jp_format_time(g0, t0, sizeof t0);
        jp_format_time(g1, t1, sizeof t1);
        snprintf(line, sizeof line,
                 "%s: %s: %zu gap%s in the series (%zu row%s missing; %s from %s to %s) within the time planned; runs "
                 "that would cross a gap are skipped, nothing is interpolated",
                 label, jp_series_region(s, r), n, n == 1 ? "" : "s", missing, missing == 1 ? "" : "s",
                 n == 1 ? "the gap" : "the first", t0, t1);
        if (add_line(w, line)) return -1;
    }
    return 0;
}

int cmd_plan(int argc, char **argv)
{
    static const struct option longopts[] = {{"energy", required_argument, NULL, 'e'},
                                             {"duration", required_argument, NULL, 'd'},
                                             {"series", required_argument, NULL, 's'},
                                             {"window", required_argument, NULL, 'w'},
                                             {"region", required_argument, NULL, 'R'},
                                             {"now", required_argument, NULL, 'n'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0, 0, 0, 0}};
    const char *energy = NULL, *duration = NULL, *series = NULL, *region = NULL;
    int json = 0, opt;
    jp_plan_request req;
    memset(&req, 0, sizeof req);
    req.window_start = req.window_end = req.now = NAN;
    optind = 1;
    while ((opt = cli_getopt("plan", argc, argv, "h", longopts)) != -1) {
        switch (opt) {
        case 'e': energy = optarg; break;
        case 'd': duration = optarg; break;
        case 's': series = optarg; break;
        case 'w':
            if (parse_window(optarg, &req.window_start, &req.window_end)) return CLI_EXIT_USAGE;
            break;
        case 'R': region = optarg; break;
        case 'n':
            if (jp_parse_time(optarg, &req.now) != JP_OK) {
                cli_error("plan", "--now: %s", jp_last_error());
                return CLI_EXIT_USAGE;
            }
            break;
        case 'j': json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("plan", "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!energy || !duration) {
        cli_error("plan", "--energy and --duration are needed, e.g. --energy 12kWh --duration 3h");
        return CLI_EXIT_USAGE;
    }
    if (jp_parse_energy(energy, &req.joules) != JP_OK) {
        cli_error("plan", "--energy: %s", jp_last_error());
        return CLI_EXIT_USAGE;
    }
    if (jp_parse_duration(duration, &req.duration_s) != JP_OK) {
        cli_error("plan", "--duration: %s", jp_last_error());
        return CLI_EXIT_USAGE;
    }
    if (req.duration_s <= 0) {
        cli_error("plan", "--duration %s: must be more than 0", duration);
        return CLI_EXIT_USAGE;
    }
    if (!region) {
        const char *env = getenv("JP_REGION");
        if (env && *env) region = env;
    }
    req.region = region;
    jp_series *s;
    if ((series ? jp_series_load(series, &s) : jp_series_builtin(&s)) != JP_OK) {
        cli_error("plan", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    if (jp_series_find(s, region, NULL) != JP_OK) {
        cli_error("plan", "%s%s", jp_last_error(), series ? "" : "; or give --series FILE");
        jp_series_free(s);
        return CLI_EXIT_FAIL;
    }
    const char *now_basis = "given with --now";
    if (isnan(req.now)) {
        double wall = (double)time(NULL);
        double ws = isnan(req.window_start) ? jp_series_first(s) : req.window_start;
        double we = isnan(req.window_end) ? jp_series_last(s) : req.window_end;
        if (wall >= ws && wall + req.duration_s <= we) {
            req.now = wall;
            now_basis = "the current time";
        } else {
            req.now = ws;
            now_basis = "the window's start: the series does not cover the current time";
        }
    }
    size_t nr = jp_series_region_count(s), got = 0;
    jp_plan_choice best, now, *per = calloc(nr ? nr : 1, sizeof *per);
    struct warnings warns = {0};
    if (!per || collect_warnings(s, &req, &warns) != 0) {
        free(per);
        free_warnings(&warns);
        jp_series_free(s);
        return CLI_EXIT_FAIL;
    }
    /* each once, on stderr (and in the JSON): only what bears on this plan */
    for (size_t i = 0; i < warns.n; i++) fprintf(stderr, "jouleprint plan: warning: %s\n", warns.line[i]);
    int rc = 0;
    if (jp_series_plan(s, &req, &best, &now, per, nr, &got) != JP_OK) {
        cli_error("plan", "%s", jp_last_error());
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    double saving = now.grams - best.grams;
    double pct = now.grams > 0 ? saving / now.grams * 100.0 : NAN;
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "energy_j", json_real(req.joules));
        json_object_set_new(o, "duration_s", json_real(req.duration_s));
        json_object_set_new(o, "series", json_string(jp_series_source(s)));
        json_object_set_new(o, "best", choice_json(s, &best));
        json_object_set_new(o, "now", choice_json(s, &now));
        json_object_set_new(o, "now_basis", json_string(now_basis));
        json_object_set_new(o, "saving_g", isfinite(saving) ? json_real(saving) : json_null());
        json_object_set_new(o, "saving_pct", isfinite(pct) ? json_real(pct) : json_null());
        json_object_set_new(o, "pue", json_real(1.0));
        json_t *arr = json_array();
        for (size_t i = 0; i < got; i++)
            json_array_append_new(arr, choice_json(s, &per[i]));
        json_object_set_new(o, "regions", arr);
        json_t *w = json_array();
        for (size_t i = 0; i < warns.n; i++) json_array_append_new(w, json_string(warns.line[i]));
        json_object_set_new(o, "warnings", w);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        char e[32], d[32], a[48], b[48];
        jp_format_energy(req.joules, e, sizeof e);
        jp_format_duration(req.duration_s, d, sizeof d);
        jp_format_time(isnan(req.window_start) ? jp_series_first(s) : req.window_start, a, sizeof a);
        jp_format_time(isnan(req.window_end) ? jp_series_last(s) : req.window_end, b, sizeof b);
        printf("\n jouleprint plan: %s over %s, between %s and %s\n", e, d, a, b);
        printf("  series %s: %zu rows, %zu region%s; PUE 1.0\n", jp_series_source(s), jp_series_row_count(s), nr,
               nr == 1 ? "" : "s");
        size_t ci;
        if (region && jp_series_find(s, region, &ci) == JP_OK && strcmp(region, jp_series_region(s, ci)))
            printf("  region %s: the series' %s\n", region, jp_series_region(s, ci));
        fputc('\n', stdout);
        print_choice(s, "best", &best);
        print_choice(s, "now", &now);
        printf("  %-8s now = %s\n", "", now_basis);
        if (isfinite(saving)) {
            char m[32], g[48];
            jp_format_mass(saving, m, sizeof m);
            jp_format_grams(saving, g, sizeof g);
            if (saving > 0 && saving >= 1000)
                printf("  %-8s %s CO2e (%s), %.1f%% less than now\n", "saving", m, g, pct);
            else if (saving > 0)
                printf("  %-8s %s CO2e, %.1f%% less than now\n", "saving", m, pct);
            else
                printf("  %-8s none: running now is already the least\n", "saving");
        }
        if (got > 1) {
            printf("\n  best start per region:\n");
            int w = 6;
            char rl[300];
            for (size_t i = 0; i < got; i++) {
                region_label(s, per[i].region, rl, sizeof rl);
                if (cli_text_width(rl) > w) w = cli_text_width(rl);
            }
            for (size_t i = 0; i < got; i++) {
                char t[48], m[32];
                jp_format_time(per[i].start, t, sizeof t);
                jp_format_mass(per[i].grams, m, sizeof m);
                region_label(s, per[i].region, rl, sizeof rl);
                printf("    ");
                cli_pad(stdout, rl, w + 2);
                printf("%s  %7.1f gCO2e/kWh  %9s\n", t, per[i].g_per_kwh, m);
            }
        }
        if (got < nr)
            printf("  %zu region%s had no data covering a whole run in the window\n", nr - got,
                   nr - got == 1 ? "" : "s");
        fputc('\n', stdout);
    }
done:
    free(per);
    free_warnings(&warns);
    jp_series_free(s);
    if (fflush(stdout) != 0) rc = CLI_EXIT_FAIL;
    return rc;
}
