/* jouleprint bench: run a spec's models, score them, store the run, report. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jouleprint/bench.h"

static const char help[] =
    "usage: jouleprint bench [options] SPEC.yaml\n"
    "\n"
    "Runs every model of every task in SPEC on the same items, measures the energy of each run\n"
    "(split into load and inference when the model marks them), scores the predictions, and\n"
    "reports energy per item, accuracy, the saving of each model against the largest, the Pareto\n"
    "front, and the emissions of a projected volume. The run is stored (SQLite) for `jouleprint\n"
    "report`. The whole spec is checked before anything runs. Ctrl-C stops the model in progress\n"
    "and keeps what finished.\n"
    "\n"
    "A model is an external command with placeholders ({inputs}: a file listing the items,\n"
    "{outputs}: where it writes one prediction per line, {n}: the item count), or a builtin. A\n"
    "command may print \"JOULEPRINT PHASE load\" and \"JOULEPRINT PHASE infer\" to split its energy.\n"
    "See include/jouleprint/bench.h, examples/study.yaml or examples/seed/*.yaml for the spec format.\n"
    "\n"
    "  --check            validate SPEC and exit (every error is listed, one line each)\n"
    "  --db PATH          the results store (default jouleprint.db)\n"
    "  --no-store         do not store the run\n"
    "  --region R         carbon region (default: the spec's, $JP_REGION, else the world average)\n"
    "  --pue P            a PUE (1.0 .. 3) or a provider's (gcp, aws, azure); default 1.0\n"
    "  --project N        project emissions to N items (default: the spec's, else 100000000)\n"
    "  --format F         table (default), csv, json, md or html\n"
    "  -o, --output FILE  write the report to FILE (format from its extension unless --format)\n"
    "  --workdir DIR      keep inputs, outputs and logs of every model in DIR\n" CLI_METER_HELP
    "\n"
    "exit status: 0 every model ran, 4 some model failed or timed out, 130 interrupted\n"
    "\n"
    "examples:\n"
    "  jouleprint bench --check examples/study-quick.yaml\n"
    "  jouleprint bench --region gcp:us-west1 examples/study-quick.yaml\n"
    "  jouleprint bench -o report.html examples/study-quick.yaml\n";

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int rm_tree(const char *dir)
{
    char cmd[8192];
    if (snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir) >= (int)sizeof cmd || strchr(dir, '\'')) return -1;
    return system(cmd);
}

int cli_bench_session(const char *cmd, const struct jp_spec *spec, struct jp_bench_options *o, const char *db_path,
                      const char *workdir, struct jp_bench_run *run)
{
    memset(run, 0, sizeof *run);
    jp_store *db = NULL;
    if (db_path && jp_store_open(&db, db_path, JP_STORE_CREATE) != JP_OK) {
        cli_error(cmd, "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    char tmpdir[4096];
    if (workdir) {
        if (cli_pathf(cmd, tmpdir, sizeof tmpdir, "%s", workdir) != 0) {
            jp_store_close(db);
            return CLI_EXIT_FAIL;
        }
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/jouleprint-bench-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpdir)) {
            cli_error(cmd, "cannot create a work folder in %s: %s", t && *t ? t : "/tmp", strerror(errno));
            jp_store_close(db);
            return CLI_EXIT_FAIL;
        }
    }
    o->workdir = tmpdir;
    o->progress = stderr;
    o->progress_tty = isatty(2);
    o->interrupted = &interrupted;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    int rc = jp_bench_run_spec(spec, o, run);
    sigaction(SIGINT, &old, NULL);
    if (!workdir) rm_tree(tmpdir);
    if (rc != JP_OK) {
        cli_error(cmd, "%s", jp_last_error());
        jp_store_close(db);
        jp_bench_run_clear(run);
        return CLI_EXIT_FAIL;
    }
    int status = 0;
    if (db) {
        if (jp_store_save(db, run) != JP_OK) {
            cli_error(cmd, "the run was measured but could not be stored: %s", jp_last_error());
            status = CLI_EXIT_FAIL;
        } else {
            fprintf(stderr, "%s: stored as run %ld in %s (jouleprint report --db %s --run %ld)\n", cmd, run->id,
                    jp_store_path(db), db_path, run->id);
        }
        jp_store_close(db);
    }
    return status;
}

/* 0 if every model ran, 4 if one failed or timed out, 130 if the session was interrupted. */
int cli_bench_status(const struct jp_bench_run *run)
{
    if (!strcmp(run->status, "interrupted")) return 130;
    for (size_t t = 0; t < run->ntasks; t++)
        for (size_t i = 0; i < run->tasks[t].nmodels; i++)
            if (strcmp(run->tasks[t].models[i].status, "ok")) return 4;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"check", no_argument, NULL, 'c'},       {"db", required_argument, NULL, 'd'},
        {"no-store", no_argument, NULL, 'n'},    {"region", required_argument, NULL, 'R'},
        {"pue", required_argument, NULL, 'P'},   {"project", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"workdir", required_argument, NULL, 'W'}, {"help", no_argument, NULL, 'h'},
        CLI_METER_LONGOPTS,                      {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    struct jp_bench_options o;
    jp_bench_options_init(&o);
    const char *db_path = "jouleprint.db", *outpath = NULL, *format = NULL, *workdir = NULL;
    int check = 0, store = 1, opt;
    optind = 1;
    while ((opt = cli_getopt("bench", argc, argv, "o:h", longopts)) != -1) {
        switch (opt) {
        case 'c': check = 1; break;
        case 'd': db_path = optarg; break;
        case 'n': store = 0; break;
        case 'R': o.region = optarg; break;
        case 'P': {
            char src[160];
            if (jp_pue_parse(optarg, &o.pue, src, sizeof src) != JP_OK) {
                cli_error("bench", "--pue: %s", jp_last_error());
                return CLI_EXIT_USAGE;
            }
            break;
        }
        case 'p': {
            char *end;
            errno = 0;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(v >= 1 && v <= 1e15)) {
                cli_error("bench", "--project %s: expected a number of items from 1 to 1e15", optarg);
                return CLI_EXIT_USAGE;
            }
            o.project_n = v;
            break;
        }
        case 'f': format = optarg; break;
        case 'o': outpath = optarg; break;
        case 'W': workdir = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: {
            int r = cli_meter_option("bench", &mo, opt, optarg);
            if (r == 1) break;
            return CLI_EXIT_USAGE;
        }
        }
    }
    if (optind != argc - 1) {
        cli_error("bench", optind >= argc ? "no spec: jouleprint bench [options] SPEC.yaml" : "one spec at a time");
        return CLI_EXIT_USAGE;
    }
    enum jp_report_format fmt = JP_REPORT_TABLE;
    if (format && jp_report_format_parse(format, &fmt) != JP_OK) {
        cli_error("bench", "--format: %s", jp_last_error());
        return CLI_EXIT_USAGE;
    }
    if (outpath && strcmp(outpath, "-") && jp_report_format_for_output(outpath, format ? &fmt : NULL, &fmt) != JP_OK) {
        cli_error("bench", "-o %s", jp_last_error());
        return CLI_EXIT_USAGE;
    }
    if (mo.baseline_s > 0) {
        cli_error("bench", "--baseline: set the session's idle baseline in the spec (baseline: 5s)");
        return CLI_EXIT_USAGE;
    }
    struct jp_spec spec;
    static char errors[32768];
    int nerrors = 0;
    if (jp_spec_load_all(argv[optind], &spec, errors, sizeof errors, &nerrors) != JP_OK) {
        /* every error, one line each, so that one --check shows everything to fix */
        for (char *line = errors, *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (!nl) break;
            *nl = '\0';
            cli_error("bench", "%s", line);
        }
        int shown = 0;
        for (const char *p = errors; *p; p++) shown += *p == '\n' ? 1 : 0;
        if (nerrors > shown) cli_error("bench", "... and %d more errors", nerrors - shown);
        if (nerrors > 1) cli_error("bench", "%s: %d errors", argv[optind], nerrors);
        return CLI_EXIT_USAGE;
    }
    if (o.region) {
        jp_intensity ci;
        if (jp_intensity_lookup(o.region, &ci) != JP_OK) {
            cli_error("bench", "--region: %s", jp_last_error());
            jp_spec_free(&spec);
            return CLI_EXIT_USAGE;
        }
    }
    if (check) {
        size_t models = 0;
        for (size_t i = 0; i < spec.ntasks; i++) models += spec.tasks[i].nmodels;
        printf("%s: valid: %zu task%s, %zu model%s\n", argv[optind], spec.ntasks, spec.ntasks == 1 ? "" : "s", models,
               models == 1 ? "" : "s");
        jp_spec_free(&spec);
        return 0;
    }
    o.meter = mo.cfg;
    struct jp_bench_run run;
    int status = cli_bench_session("bench", &spec, &o, store ? db_path : NULL, workdir, &run);
    jp_spec_free(&spec);
    if (status == CLI_EXIT_FAIL && !run.tasks) return status;
    FILE *out = outpath ? cli_open_out("bench", outpath) : stdout;
    if (!out || jp_report_write(out, &run, fmt) != JP_OK) {
        if (out) cli_error("bench", "report: %s", jp_last_error());
        status = CLI_EXIT_FAIL;
    }
    if (out && out != stdout && cli_close_out("bench", out, outpath) != 0) status = CLI_EXIT_FAIL;
    if (out == stdout) fflush(stdout);
    if (!status) status = cli_bench_status(&run);
    jp_bench_run_clear(&run);
    return status;
}
