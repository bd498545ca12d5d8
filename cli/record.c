/* jouleprint record: run a command and write its power timeline to CSV. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char help[] =
    "usage: jouleprint record [options] -o FILE.csv -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND and writes one CSV row per sample: the time since start (t_s), the mean power\n"
    "over the interval that ended then, in total and per domain (watts), then the GPUs' utilization\n"
    "(%) and memory (MiB) where a GPU source gives them, with a header. A short\n"
    "summary goes to stderr. The exit status is COMMAND's.\n"
    "\n"
    "  -o, --output FILE  the CSV to write (required; - for stdout, and then COMMAND's own stdout\n"
    "                     goes to stderr, so that stdout carries the timeline alone)\n" CLI_METER_HELP
    "\n"
    "example:\n"
    "  jouleprint record --interval 10ms -o power.csv -- python3 train.py\n";

int cmd_record(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, CLI_METER_LONGOPTS, {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    const char *outpath = NULL;
    int opt;
    optind = 1;
    while ((opt = cli_getopt("record", argc, argv, "+o:h", longopts)) != -1) {
        if (opt == 'o') outpath = optarg;
        else if (opt == 'h') {
            fputs(help, stdout);
            return 0;
        } else {
            int r = cli_meter_option("record", &mo, opt, optarg);
            if (r == 1) continue;
            return CLI_EXIT_USAGE;
        }
    }
    if (!outpath) {
        cli_error("record", "-o FILE.csv is required: where to write the timeline");
        return CLI_EXIT_USAGE;
    }
    if (optind >= argc) {
        cli_error("record", "no command to measure: jouleprint record -o FILE.csv -- COMMAND [ARGS...]");
        return CLI_EXIT_USAGE;
    }
    if (strcmp(outpath, "-")) {
        const char *slash = strrchr(outpath, '/'), *base = slash ? slash + 1 : outpath, *dot = strrchr(base, '.');
        if (dot && dot != base && strcasecmp(dot, ".csv")) {
            cli_error("record", "-o %s: the timeline is CSV: expected a .csv file (or - for stdout)", outpath);
            return CLI_EXIT_USAGE;
        }
    }
    /* stdout carries the timeline alone: the command's own output goes to stderr */
    bool to_stderr = !strcmp(outpath, "-");
    char **cmdv = argv + optind;
    struct cli_out oo;
    FILE *out = cli_open_out("record", outpath, &oo);
    if (!out) return CLI_EXIT_FAIL;
    jp_meter *m;
    if (jp_meter_open(&m, &mo.cfg) != JP_OK) {
        cli_error("record", "%s", jp_last_error());
        cli_discard_out(&oo); /* its temporary file too (a plain fclose left it behind) */
        return CLI_EXIT_FAIL;
    }
    int rc = 0, st = 0;
    double cpu = 0;
    if (mo.baseline_s > 0 && jp_meter_baseline(m, mo.baseline_s) != JP_OK) {
        cli_error("record", "baseline: %s", jp_last_error());
        rc = CLI_EXIT_FAIL;
    } else if (jp_meter_start(m) != JP_OK) {
        cli_error("record", "%s", jp_last_error());
        rc = CLI_EXIT_FAIL;
    } else {
        int ran = cli_run("record", cmdv, to_stderr, NULL, &st, &cpu);
        jp_meter_stop(m);
        if (ran != 0) rc = CLI_EXIT_NOEXEC;
    }
    if (rc == 0) {
        size_t nd = jp_meter_domain_count(m);
        fputs("t_s,phase,total_w", out);
        for (size_t i = 0; i < nd; i++) fprintf(out, ",%s_w", jp_meter_domain_name(m, i));
        size_t na = jp_meter_aux_count(m);
        for (size_t k = 0; k < na; k++) fprintf(out, ",%s", jp_meter_aux_name(m, k));
        fputc('\n', out);
        for (size_t s = 0; s < jp_meter_sample_count(m); s++) {
            fprintf(out, "%.6f,%s,%.6f", jp_meter_sample_time(m, s), jp_meter_sample_phase(m, s),
                    jp_meter_sample_watts(m, s, JP_TOTAL));
            for (size_t i = 0; i < nd; i++) fprintf(out, ",%.6f", jp_meter_sample_watts(m, s, (int)i));
            for (size_t k = 0; k < na; k++) {
                double v = jp_meter_sample_aux(m, s, k);
                if (isnan(v)) fputc(',', out); /* not available at that sample */
                else fprintf(out, ",%.3f", v);
            }
            fputc('\n', out);
        }
        char e[32], d[32];
        jp_format_energy(jp_meter_joules(m, JP_TOTAL), e, sizeof e);
        jp_format_duration(jp_meter_duration(m), d, sizeof d);
        fprintf(stderr, "jouleprint record: %zu samples, %s over %s%s -> %s\n", jp_meter_sample_count(m), e, d,
                jp_meter_estimated(m) ? " (estimated)" : "", outpath);
        rc = st;
    }
    if (cli_close_out("record", &oo, outpath) != 0 && rc == 0) rc = CLI_EXIT_FAIL;
    jp_meter_close(m);
    return rc;
}
