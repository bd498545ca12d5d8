/* jouleprint: the command-line tool. One file per subcommand; this one dispatches. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Every subcommand once: the usage lists them from here and main() dispatches from here. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    bool runs_tesseract; /* see limit_openmp() */
} commands[] = {
    {"sources", cmd_sources, "what can be measured on this machine, and why not", false},
    {"stat", cmd_stat, "run a command and report its energy, power and carbon", false},
    {"record", cmd_record, "run a command and write its power timeline to CSV", false},
    {"study", cmd_study, "the seed study on this machine, end to end, with the built-in models", true},
    {"bench", cmd_bench, "run several models of a task, compare energy per item against accuracy", true},
    {"report", cmd_report, "render a stored benchmark run: table, CSV, JSON, Markdown, or HTML with charts", false},
    {"classify", cmd_classify, "classify Fashion-MNIST images with a model of the zoo: accuracy, energy per image", false},
    {"generate", cmd_generate, "make images from text prompts with a diffusion model of the zoo: energy per image", false},
    {"summarize", cmd_summarize, "one-line summaries with the built-in encoder-decoders or lead-1: ROUGE, energy per summary", false},
    {"ocr", cmd_ocr, "read rendered text lines with a Tesseract model: accuracy, energy per line", true},
    {"ocr-data", cmd_ocr_data, "render the OCR data set (text lines as PNG, ground truth beside each)", false},
    {"carbon", cmd_carbon, "the CO2e of an energy in a region, and against other regions", false},
    {"regions", cmd_regions, "the built-in grid carbon intensities (cloud regions, countries, US states)", false},
    {"serve", cmd_serve, "a Prometheus exporter: energy, power, carbon per node and per cgroup, at /metrics", false},
    {"plan", cmd_plan, "when and where to run a job for the least CO2e, from an intensity series", false},
};

/* Tesseract's LSTM asks OpenMP for four threads on every line; where cores are few (or shared) they
 * spin more than they compute: four times slower on a 2-core machine. libgomp reads OMP_THREAD_LIMIT
 * once, when it is loaded, so the commands that run Tesseract set it to 1 and start the tool again.
 * A value the user set is kept; CLI_OMP_MARK marks ours, so that the commands a benchmark runs get
 * the environment the user gave (cli_bench_session has the runner take both out again). */
static void limit_openmp(char **argv)
{
    if (getenv("OMP_THREAD_LIMIT")) return;
    setenv("OMP_THREAD_LIMIT", "1", 1);
    setenv(CLI_OMP_MARK, "1", 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* could not: go on with OpenMP as it is */
    unsetenv("OMP_THREAD_LIMIT");
    unsetenv(CLI_OMP_MARK);
}

static void usage(FILE *out)
{
    fputs("jouleprint " JP_VERSION ": measure the energy of AI models and commands, and its carbon\n"
          "\n"
          "usage: jouleprint <command> [options]    (jouleprint <command> --help for each)\n"
          "\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Energy comes from hardware counters where they can be read (RAPL through powercap, MSR or\n"
          "perf; NVIDIA GPUs through NVML; AMD GPUs through hwmon) and otherwise from a stated power\n"
          "model, whose figures are marked estimated.\n"
          "Environment: JP_SYSFS_ROOT, JP_DEV_ROOT, JP_PROC_ROOT replace /sys, /dev, /proc;\n"
          "JP_NVML_LIBRARY names the NVML library; JP_REGION sets the default carbon region;\n"
          "JP_CGROUP_ROOT names the cgroup v2 tree serve reads (default <JP_SYSFS_ROOT or /sys>/fs/cgroup).\n"
          "\n"
          "examples:\n"
          "  jouleprint sources\n"
          "  jouleprint stat -- python3 infer.py\n"
          "  jouleprint stat -r 5 --json -o run.json -- ./model --batch 64\n"
          "  jouleprint record -o power.csv -- make -j2\n"
          "  jouleprint study --quick\n"
          "  jouleprint serve --listen 127.0.0.1:9862\n"
          "  jouleprint carbon --energy 143.8MWh --region \"Salt Lake City\" --compare Oregon --year 2021\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("jouleprint %s\n", JP_VERSION);
        return 0;
    }
    cli_set_default_dirs();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name)) continue;
        if (commands[i].runs_tesseract) limit_openmp(argv);
        return commands[i].run(argc - 1, argv + 1);
    }
    const char *names[sizeof commands / sizeof commands[0]];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) names[i] = commands[i].name;
    const char *sug = cli_closest(cmd, names, sizeof commands / sizeof commands[0]);
    if (sug) fprintf(stderr, "jouleprint: unknown command '%s' (did you mean %s?); jouleprint --help lists them\n", cmd, sug);
    else fprintf(stderr, "jouleprint: unknown command '%s'; jouleprint --help lists them\n", cmd);
    return CLI_EXIT_USAGE;
}
