/* jouleprint: the command-line tool. One file per subcommand; this one dispatches. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "jouleprint " JP_VERSION ": measure the energy of AI models and commands, and its carbon\n"
    "\n"
    "usage: jouleprint <command> [options]    (jouleprint <command> --help for each)\n"
    "\n"
    "  sources    what can be measured on this machine, and why not\n"
    "  stat       run a command and report its energy, power and carbon\n"
    "  record     run a command and write its power timeline to CSV\n"
    "  report     render a stored benchmark run: table, CSV, JSON, Markdown, or HTML with charts\n"
    "  bench      run several models of a task, compare energy per item against accuracy\n"
    "  study      the seed study on this machine, end to end, with the built-in models\n"
    "  classify   classify Fashion-MNIST images with a model of the zoo: accuracy, energy per image\n"
    "  ocr        read rendered text lines with a Tesseract model: accuracy, energy per line\n"
    "  ocr-data   render the OCR data set (text lines as PNG, ground truth beside each)\n"
    "  carbon     the CO2e of an energy in a region, and against other regions\n"
    "  regions    the built-in grid carbon intensities (cloud regions, countries, US states)\n"
    "  plan       when and where to run a job for the least CO2e, from an intensity series\n"
    "\n"
    "Energy comes from hardware counters where they can be read (RAPL through powercap, MSR or\n"
    "perf) and otherwise from a stated power model, whose figures are marked estimated.\n"
    "Environment: JP_SYSFS_ROOT, JP_DEV_ROOT, JP_PROC_ROOT replace /sys, /dev, /proc;\n"
    "JP_REGION sets the default carbon region.\n"
    "\n"
    "examples:\n"
    "  jouleprint sources\n"
    "  jouleprint stat -- python3 infer.py\n"
    "  jouleprint stat -r 5 --json -o run.json -- ./model --batch 64\n"
    "  jouleprint record -o power.csv -- make -j2\n"
    "  jouleprint carbon --energy 143.8MWh --region \"Salt Lake City\" --compare Oregon --year 2021\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("jouleprint %s\n", JP_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "sources")) return cmd_sources(argc - 1, argv + 1);
    if (!strcmp(cmd, "stat")) return cmd_stat(argc - 1, argv + 1);
    if (!strcmp(cmd, "record")) return cmd_record(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "study")) return cmd_study(argc - 1, argv + 1);
    if (!strcmp(cmd, "classify")) return cmd_classify(argc - 1, argv + 1);
    if (!strcmp(cmd, "ocr")) return cmd_ocr(argc - 1, argv + 1);
    if (!strcmp(cmd, "ocr-data")) return cmd_ocr_data(argc - 1, argv + 1);
    if (!strcmp(cmd, "carbon")) return cmd_carbon(argc - 1, argv + 1);
    if (!strcmp(cmd, "regions")) return cmd_regions(argc - 1, argv + 1);
    if (!strcmp(cmd, "plan")) return cmd_plan(argc - 1, argv + 1);
    fprintf(stderr, "jouleprint: unknown command '%s'\n\n%s", cmd, usage);
    return CLI_EXIT_USAGE;
}
