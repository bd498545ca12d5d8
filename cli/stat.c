/* jouleprint stat: run a command, report its energy per domain, power, duration and carbon. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char help[] =
    "usage: jouleprint stat [options] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND and reports the energy it took per domain (CPU package, DRAM, GPU ... or the\n"
    "power model's estimate), the total, duration, mean and peak power, the share attributed to\n"
    "the command by CPU time, and the carbon for a region. The exit status is COMMAND's.\n"
    "The report goes to stderr (like time and perf stat) so that COMMAND's output stays clean;\n"
    "-o FILE writes it to a file instead. For scripts, --export-json FILE and --export-csv FILE\n"
    "(hyperfine's names) write the JSON or CSV as well as the report. FILE - is stdout: then stdout\n"
    "carries that alone, and COMMAND's own stdout goes to stderr (nothing mixed, nothing lost):\n"
    "  jouleprint stat --export-json - -- sleep 1 | jq .energy_j\n"
    "\n"
    "  -r, --repeat N     run N times; report the mean and the spread (default 1)\n"
    "  -w, --warmup N     run N times first without measuring (default 0)\n"
    "      --project N    also show the energy and carbon of N runs (e.g. 1e8 inferences)\n"
    "      --json         one JSON object (keys: energy_j, duration_s, domains, carbon_g, region,\n"
    "                     exit_status, runs, samples, ...)\n"
    "      --csv          one CSV row per run, with a header\n"
    "  -o, --output FILE  write the report to FILE instead of stderr (- for stdout); without\n"
    "                     --json or --csv, a .json or .csv extension chooses the format\n"
    "      --export-json FILE, --export-csv FILE\n"
    "                     also write the JSON object or the CSV rows to FILE (- for stdout)\n"
    "      --emissions-csv FILE  also append one row per run to FILE, a CodeCarbon-compatible\n"
    "                     emissions.csv (CodeCarbon's columns and units: kg, kWh; jouleprint's\n"
    "                     own columns at the end; the header written once)\n"
    "      --project-name NAME   its project_name column (default jouleprint)\n" CLI_CARBON_HELP CLI_METER_HELP
    "\n"
    "examples:\n"
    "  jouleprint stat -- sleep 1\n"
    "  jouleprint stat -r 5 -w 1 -o run.json -- python3 infer.py --batch 64\n"
    "  jouleprint stat --export-json run.json --export-csv runs.csv -- sleep 1\n"
    "  jouleprint stat --baseline 2s --interval 10ms -- ./bench\n"
    "  jouleprint stat --region Oregon --emissions-csv emissions.csv -- python3 train.py\n";

struct run {
    double energy_j, duration_s, peak_w, carbon_g, above_j, share, tree_cpu, attributed_j;
    int exit_status;
    double *dom_j;
};

struct stats {
    double mean, sd;
};

/* Carbon options: the shared group (--region, --year, --intensity, --intensity-file, --pue: PUE 1.0
 * unless asked) and stat's own --project (no projection unless asked). */
struct carbon_opts {
    struct cli_carbon_opts c;
    double project;
};

static struct stats stats_of(const struct run *runs, int n, size_t offset)
{
    struct stats s = {0, 0};
    for (int i = 0; i < n; i++) s.mean += *(const double *)((const char *)&runs[i] + offset);
    s.mean /= n;
    if (n > 1) {
        for (int i = 0; i < n; i++) {
            double d = *(const double *)((const char *)&runs[i] + offset) - s.mean;
            s.sd += d * d;
        }
        s.sd = sqrt(s.sd / (n - 1));
    }
    return s;
}
#define STATS(runs, n, field) stats_of(runs, n, offsetof(struct run, field))

static double mean_dom(const struct run *runs, int n, size_t d)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += runs[i].dom_j[d];
    return s / n;
}

static int first_failure(const struct run *runs, int n)
{
    for (int i = 0; i < n; i++)
        if (runs[i].exit_status != 0) return runs[i].exit_status;
    return 0;
}

static void write_json(FILE *out, jp_meter *m, char **cmdv, const struct run *runs, int n, int warmups,
                       const jp_intensity *ci, const struct carbon_opts *co)
{
    json_t *o = json_object();
    json_t *cmd = json_array();
    for (char **a = cmdv; *a; a++) json_array_append_new(cmd, json_string(*a));
    json_object_set_new(o, "command", cmd);
    struct stats e = STATS(runs, n, energy_j), d = STATS(runs, n, duration_s);
    json_object_set_new(o, "energy_j", json_real(e.mean));
    json_object_set_new(o, "energy_j_stddev", json_real(e.sd));
    json_object_set_new(o, "duration_s", json_real(d.mean));
    json_object_set_new(o, "duration_s_stddev", json_real(d.sd));
    json_object_set_new(o, "mean_power_w", json_real(d.mean > 0 ? e.mean / d.mean : 0));
    json_object_set_new(o, "peak_power_w", json_real(STATS(runs, n, peak_w).mean));
    json_object_set_new(o, "estimated", json_boolean(jp_meter_estimated(m)));
    json_t *doms = json_array();
    for (size_t i = 0; i < jp_meter_domain_count(m); i++) {
        double j = mean_dom(runs, n, i);
        json_array_append_new(
            doms, json_pack("{s:s, s:s, s:s, s:f, s:f, s:b, s:b, s:b}", "name", jp_meter_domain_name(m, i), "source",
                            jp_meter_domain_source(m, i), "kind", jp_domain_kind_name(jp_meter_domain_kind(m, i)),
                            "joules", j, "mean_power_w", d.mean > 0 ? j / d.mean : 0.0, "estimated",
                            jp_meter_domain_estimated(m, i), "in_total", jp_meter_domain_in_total(m, i), "vanished",
                            jp_meter_domain_gone(m, i)));
    }
    json_object_set_new(o, "domains", doms);
    json_object_set_new(o, "carbon_g", json_real(STATS(runs, n, carbon_g).mean));
    cli_carbon_json(o, ci, &co->c);
    if (co->project > 0)
        json_object_set_new(o, "project", json_pack("{s:f, s:f, s:f}", "runs", co->project, "energy_j",
                                                    e.mean * co->project, "carbon_g",
                                                    STATS(runs, n, carbon_g).mean * co->project));
    json_object_set_new(o, "exit_status", json_integer(first_failure(runs, n)));
    json_object_set_new(o, "interval_s", json_real(jp_meter_interval(m)));
    json_object_set_new(o, "glitches", json_integer((json_int_t)jp_meter_glitches(m)));
    json_object_set_new(o, "wraps", json_integer((json_int_t)jp_meter_wraps(m)));
    struct stats sh = STATS(runs, n, share);
    json_object_set_new(o, "attribution",
                        sh.mean < 0 ? json_null()
                                    : json_pack("{s:f, s:f, s:f}", "tree_cpu_s", STATS(runs, n, tree_cpu).mean, "share",
                                                sh.mean, "energy_j", STATS(runs, n, attributed_j).mean));
    if (jp_meter_has_baseline(m))
        json_object_set_new(o, "baseline", json_pack("{s:f, s:f}", "idle_power_w", jp_meter_baseline_watts(m, JP_TOTAL),
                                                     "energy_above_j", STATS(runs, n, above_j).mean));
    else
        json_object_set_new(o, "baseline", json_null());
    json_object_set_new(o, "model", cli_model_json(m));
    json_object_set_new(o, "runs", json_integer(n));
    json_object_set_new(o, "warmups", json_integer(warmups));
    json_t *samples = json_array();
    for (int r = 0; r < n; r++) {
        json_t *dj = json_object();
        for (size_t i = 0; i < jp_meter_domain_count(m); i++)
            json_object_set_new(dj, jp_meter_domain_name(m, i), json_real(runs[r].dom_j[i]));
        json_array_append_new(samples, json_pack("{s:i, s:f, s:f, s:f, s:i, s:o}", "run", r + 1, "energy_j",
                                                 runs[r].energy_j, "duration_s", runs[r].duration_s, "carbon_g",
                                                 runs[r].carbon_g, "exit_status", runs[r].exit_status, "domains", dj));
    }
    json_object_set_new(o, "samples", samples);
    json_dumpf(o, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', out);
    json_decref(o);
}

static void write_csv(FILE *out, jp_meter *m, const struct run *runs, int n, const jp_intensity *ci)
{
    fputs("run,energy_j,duration_s,mean_power_w,peak_power_w,carbon_g,region,exit_status,estimated", out);
    for (size_t i = 0; i < jp_meter_domain_count(m); i++) fprintf(out, ",%s_j", jp_meter_domain_name(m, i));
    fputc('\n', out);
    for (int r = 0; r < n; r++) {
        const struct run *x = &runs[r];
        fprintf(out, "%d,%.6f,%.6f,%.6f,%.6f,%.9g,%s,%d,%s", r + 1, x->energy_j, x->duration_s,
                x->duration_s > 0 ? x->energy_j / x->duration_s : 0.0, x->peak_w, x->carbon_g, ci->region, x->exit_status,
                jp_meter_estimated(m) ? "true" : "false");
        for (size_t i = 0; i < jp_meter_domain_count(m); i++) fprintf(out, ",%.6f", x->dom_j[i]);
        fputc('\n', out);
    }
}

static void pm(char *buf, size_t len, struct stats s, void (*fmt)(double, char *, size_t), int n)
{
    char a[32], b[32];
    fmt(s.mean, a, sizeof a);
    if (n > 1) {
        fmt(s.sd, b, sizeof b);
        snprintf(buf, len, "%s ± %s", a, b);
    } else {
        snprintf(buf, len, "%s", a);
    }
}

static void write_human(FILE *out, jp_meter *m, char **cmdv, const struct run *runs, int n, int warmups,
                        const jp_intensity *ci, const struct carbon_opts *co, double asked_interval)
{
    char b1[128], b2[128], b3[64];
    fprintf(out, "\n jouleprint stat:");
    for (char **a = cmdv; *a; a++) fprintf(out, " %s", *a);
    if (n > 1 || warmups) fprintf(out, "   (%d run%s, %d warm-up%s)", n, n == 1 ? "" : "s", warmups, warmups == 1 ? "" : "s");
    fprintf(out, "\n\n  %-12s %-14s %18s %12s\n", "domain", "source", "energy", "power");
    struct stats d = STATS(runs, n, duration_s);
    for (size_t i = 0; i < jp_meter_domain_count(m); i++) {
        double j = mean_dom(runs, n, i);
        jp_format_energy(j, b1, sizeof b1);
        jp_format_power(d.mean > 0 ? j / d.mean : 0, b2, sizeof b2);
        const char *note = jp_meter_domain_gone(m, i) ? "vanished mid-run"
                           : !jp_meter_domain_in_total(m, i) ? "(inside package, not added)"
                           : jp_meter_domain_estimated(m, i) ? "estimated" : "";
        fprintf(out, "  %-12s %-14s %18s %12s   %s\n", jp_meter_domain_name(m, i), jp_meter_domain_source(m, i), b1, b2,
                note);
    }
    struct stats e = STATS(runs, n, energy_j);
    pm(b1, sizeof b1, e, jp_format_energy, n);
    jp_format_power(d.mean > 0 ? e.mean / d.mean : 0, b2, sizeof b2);
    fprintf(out, "  %-12s %-14s %18s %12s   %s\n\n", "total", "", b1, b2, jp_meter_estimated(m) ? "ESTIMATED" : "measured");
    pm(b1, sizeof b1, d, jp_format_duration, n);
    jp_format_power(STATS(runs, n, peak_w).mean, b2, sizeof b2);
    fprintf(out, "  %-11s %s    peak power %s\n", "duration", b1, b2);
    pm(b1, sizeof b1, STATS(runs, n, carbon_g), jp_format_mass, n);
    char basis[512];
    cli_carbon_basis(basis, sizeof basis, ci, &co->c);
    fprintf(out, "  %-11s %s CO2e  (%s)\n", "carbon", b1, basis);
    if (co->project > 0) {
        char g[48];
        jp_format_energy(e.mean * co->project, b2, sizeof b2);
        jp_format_mass(STATS(runs, n, carbon_g).mean * co->project, b3, sizeof b3);
        jp_format_grams(STATS(runs, n, carbon_g).mean * co->project, g, sizeof g);
        char runs_txt[48], digits[40];
        size_t nd = (size_t)snprintf(digits, sizeof digits, "%.0f", co->project), o = 0;
        for (size_t i = 0; i < nd && o + 2 < sizeof runs_txt; i++) { /* 100,000,000 */
            if (i && (nd - i) % 3 == 0) runs_txt[o++] = ',';
            runs_txt[o++] = digits[i];
        }
        runs_txt[o] = '\0';
        fprintf(out, "  %-11s %s runs: %s, %s CO2e (%s)\n", "projected", runs_txt, b2, b3, g);
    }
    struct stats sh = STATS(runs, n, share);
    if (sh.mean >= 0) {
        jp_format_energy(STATS(runs, n, attributed_j).mean, b1, sizeof b1);
        jp_format_duration(STATS(runs, n, tree_cpu).mean, b2, sizeof b2);
        fprintf(out, "  %-11s %.0f%% of the machine's busy CPU time (%s CPU) -> %s\n", "attributed", sh.mean * 100, b2, b1);
    } else {
        fprintf(out, "  %-11s unknown (no CPU time figures from /proc/stat)\n", "attributed");
    }
    if (jp_meter_has_baseline(m)) {
        jp_format_power(jp_meter_baseline_watts(m, JP_TOTAL), b1, sizeof b1);
        pm(b2, sizeof b2, STATS(runs, n, above_j), jp_format_energy, n);
        fprintf(out, "  %-11s idle %s -> %s above idle\n", "baseline", b1, b2);
    }
    cli_print_model(out, m);
    if (jp_meter_interval(m) < asked_interval) {
        jp_format_duration(jp_meter_interval(m), b3, sizeof b3);
        fprintf(out, "  %-11s sampled every %s so that no counter can wrap unseen\n", "note", b3);
    }
    if (jp_meter_glitches(m))
        fprintf(out, "  %-11s %llu sample%s skipped as glitches (unreadable value, counter backwards, impossible jump)\n",
                "note", (unsigned long long)jp_meter_glitches(m), jp_meter_glitches(m) == 1 ? "" : "s");
    int st = first_failure(runs, n);
    if (st) fprintf(out, "  %-11s the command exited with status %d\n", "note", st);
    fputc('\n', out);
}

int cmd_stat(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"repeat", required_argument, NULL, 'r'}, {"warmup", required_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},         {"csv", no_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        CLI_METER_LONGOPTS,                       CLI_CARBON_LONGOPTS,
        {"project", required_argument, NULL, 'N'},
        {"emissions-csv", required_argument, NULL, 'E'}, {"project-name", required_argument, NULL, 'n'},
        {"export-json", required_argument, NULL, 'J'}, {"export-csv", required_argument, NULL, 'C'},
        {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    int repeats = 1, warmups = 0, json = 0, csv = 0, opt;
    const char *outpath = NULL, *emissions_csv = NULL, *project_name = NULL;
    const char *export_json = NULL, *export_csv = NULL;
    struct carbon_opts co;
    cli_carbon_opts_init(&co.c);
    co.project = 0;
    optind = 1;
    while ((opt = cli_getopt("stat", argc, argv, "+r:w:o:h", longopts)) != -1) {
        char *end;
        switch (opt) {
        case 'r':
        case 'w': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < (opt == 'r' ? 1 : 0) || v > 100000) {
                cli_error("stat", "-%c %s: expected a whole number from %d to 100000", opt, optarg, opt == 'r' ? 1 : 0);
                return CLI_EXIT_USAGE;
            }
            if (opt == 'r') repeats = (int)v;
            else warmups = (int)v;
            break;
        }
        case 'N': {
            double v = strtod(optarg, &end);
            if (end == optarg || *end || !(v >= 1 && v <= 1e15) || v != floor(v)) {
                cli_error("stat", "--project %s: expected a whole number of runs from 1 to 1e15", optarg);
                return CLI_EXIT_USAGE;
            }
            co.project = v;
            break;
        }
        case 'E':
            if (!*optarg) {
                cli_error("stat", "--emissions-csv: expected a file name");
                return CLI_EXIT_USAGE;
            }
            emissions_csv = optarg;
            break;
        case 'n':
            if (!*optarg || strlen(optarg) > 200) {
                cli_error("stat", "--project-name: expected a name of 1 to 200 bytes");
                return CLI_EXIT_USAGE;
            }
            project_name = optarg;
            break;
        case 'j': json = 1; break;
        case 'c': csv = 1; break;
        case 'o': outpath = optarg; break;
        case 'J': export_json = optarg; break;
        case 'C': export_csv = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: {
            int r = cli_carbon_option("stat", &co.c, opt, optarg);
            if (r == 0) r = cli_meter_option("stat", &mo, opt, optarg);
            if (r == 1) break;
            return CLI_EXIT_USAGE;
        }
        }
    }
    if (json && csv) {
        cli_error("stat", "--json and --csv: choose one");
        return CLI_EXIT_USAGE;
    }
    if (outpath && strcmp(outpath, "-")) {
        /* the extension chooses the format unless --json or --csv does */
        const char *slash = strrchr(outpath, '/'), *base = slash ? slash + 1 : outpath, *dot = strrchr(base, '.');
        int ext_json = dot && !strcasecmp(dot, ".json"), ext_csv = dot && !strcasecmp(dot, ".csv");
        int ext_txt = !dot || dot == base || !strcasecmp(dot, ".txt");
        if (!ext_json && !ext_csv && !ext_txt && !json && !csv) {
            cli_error("stat", "-o %s: unknown extension \"%s\": expected .txt (the report), .json or .csv, or choose "
                      "the format with --json or --csv", outpath, dot);
            return CLI_EXIT_USAGE;
        }
        if (!json && !csv) {
            json = ext_json;
            csv = ext_csv;
        }
    }
    int to_stdout = (outpath && !strcmp(outpath, "-")) + (export_json && !strcmp(export_json, "-")) +
                    (export_csv && !strcmp(export_csv, "-"));
    if (to_stdout > 1) {
        cli_error("stat", "only one of -o, --export-json and --export-csv can be - (stdout)");
        return CLI_EXIT_USAGE;
    }
    /* stdout carries the report alone: the command's own output goes to stderr */
    bool to_stderr = to_stdout > 0;
    if (optind >= argc) {
        cli_error("stat", "no command to measure: jouleprint stat [options] -- COMMAND [ARGS...]");
        return CLI_EXIT_USAGE;
    }
    char **cmdv = argv + optind;
    jp_intensity ci;
    if (cli_carbon_resolve("stat", &co.c, &ci)) return CLI_EXIT_USAGE;
    jp_meter *m;
    if (jp_meter_open(&m, &mo.cfg) != JP_OK) {
        cli_error("stat", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    if (mo.baseline_s > 0 && jp_meter_baseline(m, mo.baseline_s) != JP_OK) {
        cli_error("stat", "baseline: %s", jp_last_error());
        jp_meter_close(m);
        return CLI_EXIT_FAIL;
    }
    size_t nd = jp_meter_domain_count(m);
    struct run *runs = calloc((size_t)repeats, sizeof *runs);
    double *dom = calloc((size_t)repeats * (nd ? nd : 1), sizeof *dom);
    if (!runs || !dom) {
        cli_error("stat", "out of memory");
        free(runs);
        free(dom);
        jp_meter_close(m);
        return CLI_EXIT_FAIL;
    }
    int rc = 0;
    bool emissions_failed = false;
    for (int w = 0; w < warmups; w++) {
        int st;
        double cpu;
        if (cli_run("stat", cmdv, to_stderr, NULL, &st, &cpu) != 0) {
            rc = CLI_EXIT_NOEXEC;
            goto done;
        }
    }
    for (int r = 0; r < repeats; r++) {
        struct run *x = &runs[r];
        x->dom_j = dom + (size_t)r * nd;
        /* the sampling thread only for a command that outlives the first interval (cli_run) */
        if (jp_meter_start_deferred(m) != JP_OK) {
            cli_error("stat", "%s", jp_last_error());
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        int st = 0;
        double cpu = 0;
        int ran = cli_run("stat", cmdv, to_stderr, m, &st, &cpu);
        jp_meter_stop(m);
        if (ran != 0) {
            rc = ran == -2 ? CLI_EXIT_FAIL : CLI_EXIT_NOEXEC;
            goto done;
        }
        jp_meter_set_tree_cpu(m, cpu);
        x->exit_status = st;
        x->energy_j = jp_meter_joules(m, JP_TOTAL);
        x->duration_s = jp_meter_duration(m);
        x->peak_w = jp_meter_peak_watts(m);
        x->carbon_g = jp_carbon_grams(x->energy_j, ci.g_per_kwh, co.c.pue);
        x->above_j = jp_meter_joules_above_baseline(m, JP_TOTAL);
        x->share = jp_meter_tree_share(m);
        x->tree_cpu = jp_meter_tree_cpu_seconds(m);
        x->attributed_j = jp_meter_attributed_joules(m);
        for (size_t i = 0; i < nd; i++) x->dom_j[i] = jp_meter_joules(m, (int)i);
        if (emissions_csv) { /* each run's row as soon as it is measured */
            jp_emissions_meta em;
            jp_emissions_meta_init(&em);
            em.project_name = project_name;
            em.intensity = &ci;
            em.pue = co.c.pue;
            if (jp_emissions_csv_append(emissions_csv, m, &em, NULL, 0) != JP_OK) {
                cli_error("stat", "--emissions-csv: %s", jp_last_error());
                emissions_failed = true;
            }
        }
    }
    struct cli_out oo;
    FILE *out = outpath ? cli_open_out("stat", outpath, &oo) : stderr;
    if (!out) {
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (json) write_json(out, m, cmdv, runs, repeats, warmups, &ci, &co);
    else if (csv) write_csv(out, m, runs, repeats, &ci);
    else write_human(out, m, cmdv, runs, repeats, warmups, &ci, &co, mo.cfg.interval_s);
    if (out != stderr && cli_close_out("stat", &oo, outpath) != 0) rc = CLI_EXIT_FAIL;
    for (int k = 0; k < 2; k++) {
        const char *path = k ? export_csv : export_json;
        if (!path) continue;
        struct cli_out eo;
        FILE *f = cli_open_out("stat", path, &eo);
        if (!f) {
            rc = CLI_EXIT_FAIL;
            continue;
        }
        if (k) write_csv(f, m, runs, repeats, &ci);
        else write_json(f, m, cmdv, runs, repeats, warmups, &ci, &co);
        if (cli_close_out("stat", &eo, path) != 0) rc = CLI_EXIT_FAIL;
    }
    if (!rc) rc = first_failure(runs, repeats);
    if (!rc && emissions_failed) rc = CLI_EXIT_FAIL;
done:
    free(runs);
    free(dom);
    jp_meter_close(m);
    return rc;
}
