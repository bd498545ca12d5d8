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
    "  jouleprint record -o power.csv -- make -j2\n";

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
    fprintf(stderr, "jouleprint: unknown command '%s'\n\n%s", cmd, usage);
    return CLI_EXIT_USAGE;
}
