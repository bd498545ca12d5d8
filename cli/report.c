/* jouleprint report: render a stored benchmark run (or list the runs) as table, CSV, JSON, MD or HTML. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jouleprint/bench.h"

static const char help[] =
    "usage: jouleprint report [--db PATH] [--run ID | --list] [--format FORMAT] [-o FILE]\n"
    "       jouleprint report [--db PATH] --import FILE\n"
    "\n"
    "Renders a benchmark run that `jouleprint bench` stored: for each task, every model's energy per\n"
    "item, its accuracy (the task's main metric), what it saves against the task's largest model, the\n"
    "Pareto front of energy against accuracy, a 1-5 energy rating, and the energy and CO2e of the\n"
    "run's projected volume (100 million items unless the spec said otherwise) in the run's region and\n"
    "in the cleanest and dirtiest of the seed study's 23 Google Cloud regions. The conclusions come in\n"
    "words: \"base saves 25.96% energy per item against large at the same accuracy\".\n"
    "\n"
    "  --db PATH          the results store (default: jouleprint.db in the current directory)\n"
    "  --run ID           the run to render (default: the latest); --list shows the ids\n"
    "  --list             list the stored runs, newest first, instead of rendering one\n"
    "  -f, --format FMT   table   aligned text for a terminal (the default)\n"
    "                     csv     one row per model, every figure, one column per metric\n"
    "                     json    the whole run: every figure, the conclusions, the power timelines\n"
    "                     md      Markdown: metadata, one table per task, the conclusions\n"
    "                     html    one self-contained page (opens offline) with charts: energy against\n"
    "                             accuracy with the Pareto front, energy per item by model, CO2e by\n"
    "                             region, the power timeline of each model; then the tables\n"
    "  -o, --output FILE  write to FILE (default: stdout); without --format, the extension of FILE\n"
    "                     chooses it (.txt, .csv, .json, .md, .html; another one is refused)\n"
    "  --import FILE      merge the runs of another results store (one a colleague sent) into --db:\n"
    "                     the file is checked whole first (schema version, every column's type and\n"
    "                     bounds, references) and refused with one line naming the table, row and\n"
    "                     column of the first fault; runs --db holds already are not added twice\n"
    "\n"
    "Figures that come from the power model (no energy counter could be read) are marked ESTIMATED\n"
    "in every format. Energy per item is the inference phase's energy over the items timed.\n"
    "\n"
    "examples:\n"
    "  jouleprint report                            # the latest run, as a table\n"
    "  jouleprint report --list                     # what the store holds\n"
    "  jouleprint report --run 3 -o run3.html       # the charts; open run3.html in a browser\n"
    "  jouleprint report --format csv -o models.csv\n"
    "  jouleprint report --db lab.db --run 7 --format json | jq '.tasks[].pick'\n"
    "  jouleprint report --db merged.db --import jouleprint.db   # another store's runs, into merged.db\n";

static int parse_id(const char *s, long *id)
{
    if (!strcmp(s, "latest")) {
        *id = JP_STORE_LATEST;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < 1) return -1;
    *id = v;
    return 0;
}

/* --import FILE: the one command of `report` that writes, into --db only. */
static int import_store(const char *db_path, const char *file)
{
    jp_store *db;
    if (jp_store_open(&db, db_path, JP_STORE_CREATE) != JP_OK) {
        cli_error("report", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    struct jp_store_import_result res;
    int rc = jp_store_import(db, file, &res);
    jp_store_close(db);
    if (rc != JP_OK) {
        cli_error("report", "--import %s", jp_last_error());
        if (res.imported) fprintf(stderr, "  (%zu runs were imported before that, as runs %ld-%ld)\n", res.imported,
                                  res.first_id, res.last_id);
        return CLI_EXIT_FAIL;
    }
    if (res.imported == 1) printf("imported 1 run into %s (run %ld)", db_path, res.first_id);
    else if (res.imported) printf("imported %zu runs into %s (runs %ld-%ld)", res.imported, db_path, res.first_id, res.last_id);
    else printf("imported no run into %s", db_path);
    if (res.duplicates) printf("; %zu %s there already", res.duplicates, res.duplicates == 1 ? "was" : "were");
    putchar('\n');
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"run", required_argument, NULL, 'r'},
                                             {"list", no_argument, NULL, 'l'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"import", required_argument, NULL, 'i'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0, 0, 0, 0}};
    const char *db_path = "jouleprint.db", *outpath = NULL, *import = NULL;
    long id = JP_STORE_LATEST;
    bool list = false, have_format = false, have_run = false;
    enum jp_report_format fmt = JP_REPORT_TABLE;
    int opt;
    optind = 1;
    while ((opt = cli_getopt("report", argc, argv, "f:o:h", longopts)) != -1) {
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'r':
            if (parse_id(optarg, &id)) {
                cli_error("report", "--run %s: expected a run number (see --list) or \"latest\"", optarg);
                return CLI_EXIT_USAGE;
            }
            have_run = true;
            break;
        case 'l': list = true; break;
        case 'f':
            if (jp_report_format_parse(optarg, &fmt) != JP_OK) {
                cli_error("report", "--format %s: %s", optarg, jp_last_error());
                return CLI_EXIT_USAGE;
            }
            have_format = true;
            break;
        case 'o': outpath = optarg; break;
        case 'i': import = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("report", "unexpected argument '%s' (the run is chosen with --run ID)", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (import && (list || have_run || have_format || outpath)) {
        cli_error("report", "--import merges a store into --db; it takes no --run, --list, --format or -o");
        return CLI_EXIT_USAGE;
    }
    if (import) return import_store(db_path, import);
    if (list && have_run) {
        cli_error("report", "--list and --run: choose one");
        return CLI_EXIT_USAGE;
    }
    if (outpath && strcmp(outpath, "-") && jp_report_format_for_output(outpath, have_format ? &fmt : NULL, &fmt) != JP_OK) {
        cli_error("report", "-o %s", jp_last_error());
        return CLI_EXIT_USAGE;
    }
    if (list && fmt == JP_REPORT_HTML) {
        cli_error("report", "--list writes table, csv, json or md; render one run as html with --run ID");
        return CLI_EXIT_USAGE;
    }

    jp_store *db;
    if (jp_store_open(&db, db_path, JP_STORE_READONLY) != JP_OK) {
        cli_error("report", "%s", jp_last_error());
        if (!strcmp(db_path, "jouleprint.db"))
            fputs("  (`jouleprint bench SPEC` stores its runs in ./jouleprint.db; --db PATH names another store)\n",
                  stderr);
        return CLI_EXIT_FAIL;
    }
    int rc = 0;
    if (list) {
        struct jp_store_entry *runs;
        size_t n;
        if (jp_store_list(db, &runs, &n) != JP_OK) {
            cli_error("report", "%s", jp_last_error());
            jp_store_close(db);
            return CLI_EXIT_FAIL;
        }
        struct cli_out oo;
        FILE *out = cli_open_out("report", outpath, &oo);
        if (!out) rc = CLI_EXIT_FAIL;
        else {
            if (jp_report_list(out, runs, n, fmt) != JP_OK) {
                cli_error("report", "%s", jp_last_error());
                rc = CLI_EXIT_FAIL;
            }
            if (cli_close_out("report", &oo, outpath)) rc = CLI_EXIT_FAIL;
        }
        free(runs);
        jp_store_close(db);
        return rc;
    }
    struct jp_bench_run run;
    if (jp_store_load(db, id, &run) != JP_OK) {
        cli_error("report", "%s", jp_last_error());
        jp_store_close(db);
        return CLI_EXIT_FAIL;
    }
    jp_store_close(db);
    if (run.warnings[0]) {
        /* one line each: what was left out of the report, and why */
        for (const char *line = run.warnings; *line;) {
            size_t len = strcspn(line, "\n");
            fprintf(stderr, "jouleprint report: warning: %s: %.*s\n", db_path, (int)len, line);
            line += len + (line[len] == '\n');
        }
    }
    /* open the output only now, so that a failed load leaves no empty file behind */
    struct cli_out oo;
    FILE *out = cli_open_out("report", outpath, &oo);
    if (!out) rc = CLI_EXIT_FAIL;
    else {
        if (jp_report_write(out, &run, fmt) != JP_OK) {
            cli_error("report", "%s", jp_last_error());
            rc = CLI_EXIT_FAIL;
        }
        if (cli_close_out("report", &oo, outpath)) rc = CLI_EXIT_FAIL;
    }
    jp_bench_run_clear(&run);
    return rc;
}
