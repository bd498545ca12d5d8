/* jouleprint: the command-line tool. One file per subcommand; this one dispatches, to a command built
 * into the executable or to one of the modules (jouleprint-tasks, jouleprint-serve) that it loads only
 * when one of their commands runs, so that the commands that need only libjouleprint start without
 * loading Tesseract, SQLite or GnuTLS (see CMakeLists.txt, "the tool"). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Every subcommand once: the usage lists them from here and main() dispatches from here. A command
 * with a module is the function cmd_<name> (dashes as underscores) of jouleprint-<module>. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv); /* NULL: in the module */
    const char *module;
    const char *summary;
    bool runs_tesseract; /* see limit_openmp() */
} commands[] = {
    {"sources", cmd_sources, NULL, "what can be measured on this machine, and why not", false},
    {"stat", cmd_stat, NULL, "run a command and report its energy, power and carbon", false},
    {"record", cmd_record, NULL, "run a command and write its power timeline to CSV", false},
    {"study", NULL, "tasks", "the seed study on this machine, end to end, with the built-in models", true},
    {"bench", NULL, "tasks", "run several models of a task, compare energy per item against accuracy", true},
    {"report", NULL, "tasks", "render a stored benchmark run: table, CSV, JSON, Markdown, or HTML with charts", false},
    {"classify", NULL, "tasks", "classify Fashion-MNIST images with a model of the zoo: accuracy, energy per image", false},
    {"generate", NULL, "tasks", "make images from text prompts with a diffusion model of the zoo: energy per image", false},
    {"summarize", NULL, "tasks", "one-line summaries with the built-in encoder-decoders or lead-1: ROUGE, energy per summary", false},
    {"ocr", NULL, "tasks", "read rendered text lines with a Tesseract model: accuracy, energy per line", true},
    {"ocr-data", NULL, "tasks", "render the OCR data set (text lines as PNG, ground truth beside each)", false},
    {"carbon", cmd_carbon, NULL, "the CO2e of an energy in a region, and against other regions", false},
    {"regions", cmd_regions, NULL, "the built-in grid carbon intensities (cloud regions, countries, US states)", false},
    {"serve", NULL, "serve", "a Prometheus exporter: energy, power, carbon per node and per cgroup, at /metrics", false},
    {"plan", cmd_plan, NULL, "when and where to run a job for the least CO2e, from an intensity series", false},
};

/* Loads jouleprint-<module>.so from beside the executable (the build tree) or from
 * <prefix>/<libdir>/jouleprint (an install) and returns its cmd_<name>; NULL with one line said. */
static int (*load_command(const char *name, const char *module))(int, char **)
{
    char exe[PATH_MAX], path[PATH_MAX + 64], fn[64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "jouleprint %s: cannot find the tool's own folder (/proc/self/exe)\n", name);
        return NULL;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    void *h = NULL;
    const char *const where[] = {"", "/../" JP_CLI_MODULE_DIR};
    for (size_t i = 0; i < sizeof where / sizeof *where && !h; i++) {
        snprintf(path, sizeof path, "%s%s/jouleprint-%s.so", exe, where[i], module);
        if (access(path, F_OK) == 0) h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
    if (!h) {
        const char *e = dlerror();
        fprintf(stderr, "jouleprint %s: cannot load its module jouleprint-%s.so (looked in %s and %s/../%s): %s\n",
                name, module, exe, exe, JP_CLI_MODULE_DIR, e ? e : "not found; reinstall jouleprint");
        return NULL;
    }
    /* the module's folders for models and data, where it has them (cli/dirs.c) */
    void (*init)(void);
    void *sym = dlsym(h, "cli_set_default_dirs");
    memcpy(&init, &sym, sizeof init);
    if (init) init();
    snprintf(fn, sizeof fn, "cmd_%s", name);
    for (char *p = fn; *p; p++)
        if (*p == '-') *p = '_';
    int (*run)(int, char **);
    sym = dlsym(h, fn);
    memcpy(&run, &sym, sizeof run);
    if (!run) fprintf(stderr, "jouleprint %s: its module %s has no %s\n", name, path, fn);
    return run;
}

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
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name)) continue;
        if (commands[i].runs_tesseract) limit_openmp(argv);
        int (*run)(int, char **) = commands[i].run ? commands[i].run : load_command(cmd, commands[i].module);
        return run ? run(argc - 1, argv + 1) : CLI_EXIT_FAIL;
    }
    const char *names[sizeof commands / sizeof commands[0]];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) names[i] = commands[i].name;
    const char *sug = cli_closest(cmd, names, sizeof commands / sizeof commands[0]);
    if (sug) fprintf(stderr, "jouleprint: unknown command '%s' (did you mean %s?); jouleprint --help lists them\n", cmd, sug);
    else fprintf(stderr, "jouleprint: unknown command '%s'; jouleprint --help lists them\n", cmd);
    return CLI_EXIT_USAGE;
}
