/* jouleprint sources: what can be measured here, and why not. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: jouleprint sources [--json]\n"
    "\n"
    "Lists every energy source in order of preference, whether it can be used on this machine,\n"
    "what it measures, and, where it cannot be used, why and what to do about it.\n"
    "The meter uses the first usable CPU counter (rapl-powercap, rapl-msr, rapl-perf), every\n"
    "usable GPU source, and the power model (estimated) when no CPU counter can be read.\n"
    "GPU sources (nvml, amdgpu-hwmon) list each GPU on a line of its own: its name, the method (the\n"
    "driver's energy counter, or power sampled at every meter sample and integrated) and how often\n"
    "the driver updates its readings, where it says.\n"
    "\n"
    "  --json    one JSON array of {name, usable, estimated, detail}\n";

int cmd_sources(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    int json = 0, opt;
    optind = 1;
    while ((opt = cli_getopt("sources", argc, argv, "h", longopts)) != -1) {
        if (opt == 'j') json = 1;
        else if (opt == 'h') {
            fputs(help, stdout);
            return 0;
        } else {
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("sources", "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    jp_source_status st[16];
    int n = jp_sources_probe(st, 16);
    if (n < 0) {
        cli_error("sources", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    if (n > 16) n = 16;
    if (json) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:b, s:b, s:s}", "name", st[i].name, "usable", st[i].usable,
                                                 "estimated", st[i].estimated, "detail", st[i].detail));
        json_dumpf(arr, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(arr);
        return cli_close_out("sources", &(struct cli_out){.f = stdout}, "stdout") == 0 ? 0 : CLI_EXIT_FAIL;
    }
    int any_counter = 0;
    for (int i = 0; i < n; i++) {
        const char *state = st[i].usable ? (st[i].estimated ? "estimate" : "yes") : "no";
        /* GPU sources give one line per GPU (name, method, update rate): indented under the first */
        const char *d = st[i].detail;
        int first = (int)strcspn(d, "\n");
        printf("%-14s %-8s %.*s\n", st[i].name, state, first, d);
        for (d += first; *d == '\n'; d += first) {
            d++;
            first = (int)strcspn(d, "\n");
            printf("%-24s %.*s\n", "", first, d);
        }
        if (st[i].usable && !st[i].estimated) any_counter = 1;
    }
    if (!any_counter)
        printf("\nNo hardware counter can be read here: figures will be estimates from the power model.\n");
    return cli_close_out("sources", &(struct cli_out){.f = stdout}, "stdout") == 0 ? 0 : CLI_EXIT_FAIL;
}
