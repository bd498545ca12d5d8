/* jouleprint study: the seed study, end to end, on this machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "jouleprint/bench.h"

/* examples/study.yaml and examples/study-quick.yaml, built in (tools/gen_table.c, kind text) */
extern const char jp_study_spec[];
extern const char jp_study_quick_spec[];

static const char help[] =
    "usage: jouleprint study [--quick] [--region R] [--year Y] [-o DIR] [--db PATH]\n"
    "\n"
    "Reproduces the seed study on this machine with the built-in workloads: five image\n"
    "classifiers of the project's zoo (Fashion-MNIST), five Tesseract OCR configurations\n"
    "(rendered text lines), summarization, and text-to-image (the three gen-* diffusion models,\n"
    "gen-m at two step counts). Each model's energy is measured\n"
    "in 3 runs, round-robin across the models of a task, so that every figure has a 95% interval\n"
    "(800 images, 250 OCR lines, 70 texts or 10 prompts a run), and its accuracy over the test\n"
    "set (FID and adherence over 1,000 images); the run is stored, the summary printed (the\n"
    "model to pick in each task and what it saves against the largest, every model's energy per\n"
    "item, the projection to 100 million inferences and its emissions in the seed's 23 regions),\n"
    "and the HTML report written into DIR. Where no energy counter can be read, every figure is\n"
    "the power model's estimate, and the summary says so.\n"
    "\n"
    "  --quick            a stated subset (3 runs of 170 images, 50 OCR lines ...): under 2 minutes\n"
    "  -o, --output DIR   where the report and the spec go (default: study)\n"
    "  --db PATH          the results store (default: jouleprint.db)\n"
    "  --json             print the summary's figures as JSON instead of words\n"
    "  --spec FILE        run another spec through the study's steps\n" CLI_CARBON_HELP
    "                     (the region is yours, for the saving of moving to the cleanest; --year\n"
    "                     also sets the year of the seed's regions compared)\n" CLI_METER_HELP
    "\n"
    "The spec is examples/study.yaml (--quick: examples/study-quick.yaml), written into DIR too.\n"
    "\n"
    "examples:\n"
    "  jouleprint study --quick\n"
    "  jouleprint study --region gcp:us-west3 -o study-slc\n";

static int write_text(const char *path, const char *text)
{
    /* through a temporary file and a rename, as every file the tool writes */
    struct cli_out o;
    FILE *f = cli_open_out("study", path, &o);
    if (!f) return jp_fail(JP_ERR_IO, "%s: cannot write", path);
    fputs(text, f);
    if (cli_close_out("study", &o, path) != 0) return jp_fail(JP_ERR_IO, "%s: write failed", path);
    return JP_OK;
}

int cmd_study(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quick", no_argument, NULL, 'q'},       {"output", required_argument, NULL, 'o'},
        {"db", required_argument, NULL, 'd'},    {"json", no_argument, NULL, 'j'},
        {"spec", required_argument, NULL, 's'},  {"help", no_argument, NULL, 'h'},
        CLI_METER_LONGOPTS,                      CLI_CARBON_LONGOPTS,
        {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    struct cli_carbon_opts co;
    cli_carbon_opts_init(&co);
    struct jp_bench_options o;
    jp_bench_options_init(&o);
    const char *dir = "study", *db_path = "jouleprint.db", *spec_file = NULL;
    int quick = 0, json = 0, opt;
    optind = 1;
    while ((opt = cli_getopt("study", argc, argv, "o:h", longopts)) != -1) {
        switch (opt) {
        case 'q': quick = 1; break;
        case 'o': dir = optarg; break;
        case 'd': db_path = optarg; break;
        case 'j': json = 1; break;
        case 's': spec_file = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: {
            int r = cli_carbon_option("study", &co, opt, optarg);
            if (r == 0) r = cli_meter_option("study", &mo, opt, optarg);
            if (r == 1) break;
            return CLI_EXIT_USAGE;
        }
        }
    }
    if (optind < argc) {
        cli_error("study", "unexpected argument '%s' (see jouleprint study --help)", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    /* the intensity, resolved once, before anything is written */
    jp_intensity ci;
    if (cli_carbon_resolve("study", &co, &ci)) return CLI_EXIT_USAGE;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cli_error("study", "%s: cannot create: %s", dir, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    char spec_path[4096], html_path[4096];
    if (spec_file) {
        if (cli_pathf("study", spec_path, sizeof spec_path, "%s", spec_file) != 0) return CLI_EXIT_FAIL;
    } else {
        if (cli_pathf("study", spec_path, sizeof spec_path, "%s/%s", dir, quick ? "study-quick.yaml" : "study.yaml") != 0)
            return CLI_EXIT_FAIL;
        if (write_text(spec_path, quick ? jp_study_quick_spec : jp_study_spec) != JP_OK) {
            cli_error("study", "%s", jp_last_error());
            return CLI_EXIT_FAIL;
        }
    }
    if (cli_pathf("study", html_path, sizeof html_path, "%s/report.html", dir) != 0) return CLI_EXIT_FAIL;
    struct jp_spec spec;
    if (jp_spec_load(spec_path, &spec) != JP_OK) {
        fprintf(stderr, "jouleprint study: %s\n", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    /* a spec of one's own (--spec) may name its region: it serves when --region is not given */
    if (!co.region && spec.region[0]) {
        co.region = spec.region;
        if (cli_carbon_resolve("study", &co, &ci)) {
            jp_spec_free(&spec);
            return CLI_EXIT_USAGE;
        }
    }
    o.intensity = &ci;
    o.pue = co.pue;
    o.meter = mo.cfg;
    struct jp_bench_run run;
    int status = cli_bench_session("study", &spec, &o, db_path, NULL, &run);
    jp_spec_free(&spec);
    if (status == CLI_EXIT_FAIL && !run.tasks) return status;
    struct cli_out ho;
    FILE *html = cli_open_out("study", html_path, &ho);
    if (!html || jp_report_html(html, &run) != JP_OK) {
        if (html) cli_error("study", "report: %s", jp_last_error());
        status = CLI_EXIT_FAIL;
        cli_discard_out(&ho); /* no half-written report */
    }
    if (ho.f && cli_close_out("study", &ho, html_path) != 0) status = CLI_EXIT_FAIL;
    if (json) {
        if (jp_report_summary_json(stdout, &run) != JP_OK) status = CLI_EXIT_FAIL;
    } else {
        jp_report_summary(stdout, &run);
        printf("\nThe report with its charts: %s   (the run: jouleprint report --db %s --run %ld)\n", html_path,
               db_path, run.id);
    }
    fflush(stdout);
    if (!status) status = cli_bench_status(&run);
    jp_bench_run_clear(&run);
    return status;
}
