/* jouleprint ocr: read rendered text lines with a Tesseract configuration; report accuracy, energy
 * per line (load and inference apart), speed and carbon. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jouleprint/workloads.h"

static const char help[] =
    "usage: jouleprint ocr --model NAME[,NAME...|all] [--data DIR] [--n N] [--threads T] [--json]\n"
    "\n"
    "Reads every line of an OCR data set with one Tesseract configuration and reports, per split\n"
    "(clean, hard) and overall: character error rate (CER), word error rate (WER), word recall and\n"
    "exact lines; then the energy to load the model and to read the lines (meter phases \"load\"\n"
    "and \"infer\"), the energy per line, lines per second, and the carbon for a region.\n"
    "\n"
    "  CER     Levenshtein distance between output and reference in Unicode code points, over the\n"
    "          reference's code points (after trimming, white space runs made one space)\n"
    "  WER     the same in words (separated by white space; case and punctuation count)\n"
    "  recall  reference words that appear in the output, each output word matching at most one,\n"
    "          in any order, over the reference's words\n"
    "\n"
    "Energy is the meter's (the whole machine's, from counters or the power model); \"attributed\" is\n"
    "the part matching this process's share of the machine's busy CPU time in each phase.\n"
    "\n"
    "  -m, --model NAME   eng-fast, eng-best, eng-lstm4, eng-legacy, eng-combined; several separated by\n"
    "                     commas, or all (see --list)\n"
    "      --list         the configurations, their files, and whether each is installed\n"
    "  -d, --data DIR     a set made by `jouleprint ocr-data` (or a folder with clean/ and hard/, or\n"
    "                     PNG files with NAME.gt.txt beside each); default: 100 lines a split rendered\n"
    "                     once with seed 1 into ~/.cache/jouleprint (or $XDG_CACHE_HOME/jouleprint)\n"
    "  -n, --n N          read the first N lines of each split (default: all)\n"
    "  -t, --threads T    read lines on T threads, each with its own engine (default 1)\n"
    "      --tessdata DIR the models' folder (default $JP_TESSDATA, else data/tessdata in the source\n"
    "                     tree, which scripts/bootstrap fills, or in the install's data folder;\n"
    "                     eng-fast also from Debian's tessdata)\n"
    "      --json         one JSON object (keys: model, splits, overall, energy_j, load_j, infer_j,\n"
    "                     energy_per_line_j, lines_per_s, attributed, carbon_g, estimated, ...);\n"
    "                     with several models, {\"models\": [...]}\n"
    "      --lines        with --json: every line's file, reference and output\n"
    "  -o, --output FILE  write the report to FILE\n" CLI_CARBON_HELP CLI_METER_HELP
    "\n"
    "Tesseract runs its LSTM with OpenMP threads of its own, which on few cores spin more than they\n"
    "work: unless OMP_THREAD_LIMIT is set, jouleprint ocr sets it to 1, so that each engine uses one\n"
    "core and --threads counts the cores used.\n"
    "\n"
    "examples:\n"
    "  jouleprint ocr --model eng-fast\n"
    "  jouleprint ocr --model all --n 50\n"
    "  jouleprint ocr-data --n 300 --seed 7 -o ocr-set && jouleprint ocr -m eng-best -d ocr-set --json\n";

static json_t *counts_json(const char *name, const jp_ocr_counts *c, double secs)
{
    return json_pack("{s:s, s:I, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:f, s:f}", "name", name, "lines",
                     (json_int_t)c->lines, "cer", jp_ocr_cer(c), "wer", jp_ocr_wer(c), "word_recall", jp_ocr_recall(c),
                     "exact_lines", (json_int_t)c->lines_exact, "ref_chars", (json_int_t)c->ref_chars, "char_edits",
                     (json_int_t)c->char_edits, "ref_words", (json_int_t)c->ref_words, "words_found",
                     (json_int_t)c->words_found, "seconds", secs, "lines_per_s",
                     secs > 0 ? (double)c->lines / secs : 0.0);
}

struct figures {
    double energy_j, per_line_j, attr_load_j, attr_infer_j, attr_per_line_j, carbon_g, lines_per_s;
    int attributed;
};

static struct figures figures_of(const jp_ocr_result *r, const jp_intensity *ci, double pue)
{
    struct figures f;
    memset(&f, 0, sizeof f);
    double lines = (double)r->all.lines;
    f.energy_j = r->load_j + r->infer_j;
    f.per_line_j = lines > 0 ? r->infer_j / lines : 0;
    f.lines_per_s = r->infer_s > 0 ? lines / r->infer_s : 0;
    f.attributed = r->load_share >= 0 && r->infer_share >= 0;
    if (f.attributed) {
        f.attr_load_j = r->load_j * r->load_share;
        f.attr_infer_j = r->infer_j * r->infer_share;
        f.attr_per_line_j = lines > 0 ? f.attr_infer_j / lines : 0;
    }
    f.carbon_g = jp_carbon_grams(f.energy_j, ci->g_per_kwh, pue);
    return f;
}

static json_t *result_json(const jp_ocr_result *r, jp_meter *m, const jp_intensity *ci,
                           const struct cli_carbon_opts *co, int threads, bool lines)
{
    const jp_ocr_model *md = jp_ocr_model_find(r->model);
    struct figures f = figures_of(r, ci, co->pue);
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(r->model));
    json_object_set_new(o, "engine", json_string(md ? md->engine : ""));
    json_object_set_new(o, "traineddata", json_string(md ? md->file : ""));
    json_object_set_new(o, "data", json_string(r->data));
    json_object_set_new(o, "threads", json_integer(threads));
    const char *omp = getenv("OMP_THREAD_LIMIT");
    json_object_set_new(o, "omp_thread_limit", omp ? json_string(omp) : json_null());
    json_object_set_new(o, "lines", json_integer((json_int_t)r->all.lines));
    json_t *splits = json_array();
    for (size_t s = 0; s < r->nsplits; s++)
        json_array_append_new(splits, counts_json(r->split[s].name, &r->split[s].counts, r->split[s].infer_s));
    json_object_set_new(o, "splits", splits);
    json_object_set_new(o, "overall", counts_json("all", &r->all, r->infer_s));
    json_object_set_new(o, "energy_j", json_real(f.energy_j));
    json_object_set_new(o, "load_j", json_real(r->load_j));
    json_object_set_new(o, "infer_j", json_real(r->infer_j));
    json_object_set_new(o, "energy_per_line_j", json_real(f.per_line_j));
    json_object_set_new(o, "load_s", json_real(r->load_s));
    json_object_set_new(o, "infer_s", json_real(r->infer_s));
    json_object_set_new(o, "lines_per_s", json_real(f.lines_per_s));
    json_object_set_new(o, "load_cpu_s", json_real(r->load_cpu_s));
    json_object_set_new(o, "infer_cpu_s", json_real(r->infer_cpu_s));
    json_object_set_new(o, "attributed",
                        f.attributed ? json_pack("{s:f, s:f, s:f, s:f, s:f}", "load_share", r->load_share,
                                                 "infer_share", r->infer_share, "load_j", f.attr_load_j, "infer_j",
                                                 f.attr_infer_j, "energy_per_line_j", f.attr_per_line_j)
                                     : json_null());
    json_object_set_new(o, "estimated", json_boolean(jp_meter_estimated(m)));
    json_t *doms = json_array();
    for (size_t i = 0; i < jp_meter_domain_count(m); i++)
        json_array_append_new(doms, json_pack("{s:s, s:s, s:f, s:b, s:b}", "name", jp_meter_domain_name(m, i), "source",
                                              jp_meter_domain_source(m, i), "joules", jp_meter_joules(m, (int)i),
                                              "estimated", jp_meter_domain_estimated(m, i), "in_total",
                                              jp_meter_domain_in_total(m, i)));
    json_object_set_new(o, "domains", doms);
    json_object_set_new(o, "power_model", cli_model_json(m));
    json_object_set_new(o, "carbon_g", json_real(f.carbon_g));
    json_object_set_new(o, "carbon_g_per_line",
                        json_real(r->all.lines ? jp_carbon_grams(f.per_line_j, ci->g_per_kwh, co->pue) : 0.0));
    cli_carbon_json(o, ci, co);
    if (lines) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->nlines; i++) {
            const jp_ocr_line *l = &r->lines[i];
            jp_ocr_counts c;
            memset(&c, 0, sizeof c);
            jp_ocr_score(l->ref, l->hyp, &c);
            json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:f, s:f}", "split", r->split[l->split].name,
                                               "file", l->file, "reference", l->ref, "output", l->hyp, "cer",
                                               jp_ocr_cer(&c), "seconds", l->seconds));
        }
        json_object_set_new(o, "line_results", a);
    }
    return o;
}

static void pct(char *buf, size_t len, double v) { snprintf(buf, len, "%.2f%%", 100 * v); }

static void human_one(FILE *out, const jp_ocr_result *r, jp_meter *m, const jp_intensity *ci,
                      const struct cli_carbon_opts *co, int threads)
{
    const jp_ocr_model *md = jp_ocr_model_find(r->model);
    struct figures f = figures_of(r, ci, co->pue);
    char a[64], b[64], c[64], d[64];
    fprintf(out, "\n jouleprint ocr: %s  (%s)\n", r->model, md ? md->summary : "");
    fprintf(out, "   data %s: %llu lines, %d thread%s\n\n", r->data, (unsigned long long)r->all.lines, threads,
            threads == 1 ? "" : "s");
    fprintf(out, "  %-8s %6s %9s %9s %9s %6s %9s\n", "split", "lines", "CER", "WER", "recall", "exact", "lines/s");
    for (size_t s = 0; s <= r->nsplits; s++) {
        const jp_ocr_counts *k = s < r->nsplits ? &r->split[s].counts : &r->all;
        double secs = s < r->nsplits ? r->split[s].infer_s : r->infer_s;
        pct(a, sizeof a, jp_ocr_cer(k));
        pct(b, sizeof b, jp_ocr_wer(k));
        pct(c, sizeof c, jp_ocr_recall(k));
        fprintf(out, "  %-8s %6llu %9s %9s %9s %6llu %9.2f\n", s < r->nsplits ? r->split[s].name : "all",
                (unsigned long long)k->lines, a, b, c, (unsigned long long)k->lines_exact,
                secs > 0 ? (double)k->lines / secs : 0.0);
    }
    jp_format_energy(r->load_j, a, sizeof a);
    jp_format_duration(r->load_s, b, sizeof b);
    jp_format_energy(r->infer_j, c, sizeof c);
    jp_format_duration(r->infer_s, d, sizeof d);
    fprintf(out, "\n  %-11s load %s in %s, reading %s in %s   %s\n", "energy", a, b, c, d,
            jp_meter_estimated(m) ? "ESTIMATED" : "measured");
    jp_format_energy(f.per_line_j, a, sizeof a);
    fprintf(out, "  %-11s %s a line, %.2f lines/s\n", "per line", a, f.lines_per_s);
    if (f.attributed) {
        jp_format_energy(f.attr_per_line_j, a, sizeof a);
        jp_format_energy(f.attr_load_j, b, sizeof b);
        fprintf(out, "  %-11s %s a line, load %s (this process's share of busy CPU time: reading %.0f%%, "
                     "loading %.0f%%)\n",
                "attributed", a, b, 100 * r->infer_share, 100 * r->load_share);
    }
    jp_format_mass(f.carbon_g, a, sizeof a);
    jp_format_mass(jp_carbon_grams(f.per_line_j, ci->g_per_kwh, co->pue), b, sizeof b);
    char basis[512];
    cli_carbon_basis(basis, sizeof basis, ci, co);
    fprintf(out, "  %-11s %s CO2e, %s a line  (%s)\n", "carbon", a, b, basis);
    const jp_model_params *mp = jp_meter_model_params(m);
    if (mp)
        fprintf(out, "  %-11s no energy counter could be read here: the power model estimates (%s)\n", "note",
                mp->basis);
    fputc('\n', out);
}

static void human_table(FILE *out, const jp_ocr_result *rs, size_t n, jp_meter *m, const jp_intensity *ci,
                        const struct cli_carbon_opts *co, int threads)
{
    fprintf(out, "\n jouleprint ocr: %zu configurations, %llu lines each from %s, %d thread%s\n\n", n,
            (unsigned long long)rs[0].all.lines, rs[0].data, threads, threads == 1 ? "" : "s");
    fprintf(out, "  %-13s %10s %11s %11s %9s %8s", "model", "load", "J/line", "attr J/line", "CPU/line", "lines/s");
    for (size_t s = 0; s < rs[0].nsplits; s++) {
        char h1[48], h2[48];
        snprintf(h1, sizeof h1, "CER %s", rs[0].split[s].name);
        snprintf(h2, sizeof h2, "recall %s", rs[0].split[s].name);
        fprintf(out, "  %10s %13s", h1, h2);
    }
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        const jp_ocr_result *r = &rs[i];
        struct figures f = figures_of(r, ci, co->pue);
        char a[32], b[32], c[32], p1[16], p2[16];
        jp_format_energy(r->load_j, a, sizeof a);
        jp_format_energy(f.per_line_j, b, sizeof b);
        if (f.attributed) jp_format_energy(f.attr_per_line_j, c, sizeof c);
        else snprintf(c, sizeof c, "-");
        char cpu[32];
        jp_format_duration(r->all.lines ? r->infer_cpu_s / (double)r->all.lines : 0, cpu, sizeof cpu);
        fprintf(out, "  %-13s %10s %11s %11s %9s %8.2f", r->model, a, b, c, cpu, f.lines_per_s);
        for (size_t s = 0; s < r->nsplits; s++) {
            pct(p1, sizeof p1, jp_ocr_cer(&r->split[s].counts));
            pct(p2, sizeof p2, jp_ocr_recall(&r->split[s].counts));
            fprintf(out, "  %10s %13s", p1, p2);
        }
        fputc('\n', out);
    }
    fprintf(out,
            "\n  energy      %s\n"
            "  J/line      the reading phase's energy over the lines read (the whole machine's)\n"
            "  attr        the part of it matching this process's share of the machine's busy CPU time\n"
            "  CPU/line    this process's CPU time a line, while reading\n"
            "  carbon      at %s, %.1f gCO2e/kWh, PUE %.2f (jouleprint ocr -m NAME shows it per model)\n",
            jp_meter_estimated(m) ? "ESTIMATED by the power model (no counter can be read here)" : "measured",
            ci->region, ci->g_per_kwh, co->pue);
    fputc('\n', out);
}

static void list_models(const char *tessdata)
{
    printf("  %-13s %-12s %-34s %s\n", "model", "engine", "traineddata", "installed");
    for (size_t i = 0; jp_ocr_model_at(i); i++) {
        const jp_ocr_model *md = jp_ocr_model_at(i);
        char dir[4096], path[4096];
        int rc = jp_ocr_model_locate(md->name, tessdata, dir, sizeof dir, path, sizeof path);
        printf("  %-13s %-12s %-34s %s\n", md->name, md->engine, md->file, rc == JP_OK ? path : "no");
        printf("  %-13s %s\n", "", md->summary);
        if (rc != JP_OK) printf("  %-13s %s\n", "", jp_last_error());
    }
}

/* Splits "a,b" or "all" into model names; returns the count, 0 with a message on a bad name. */
static size_t parse_models(const char *arg, const char **names, size_t max)
{
    size_t n = 0;
    if (!strcmp(arg, "all")) {
        for (size_t i = 0; jp_ocr_model_at(i) && n < max; i++) names[n++] = jp_ocr_model_at(i)->name;
        return n;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const jp_ocr_model *md = jp_ocr_model_find(t);
        if (!md) {
            cli_error("ocr", "%s", jp_last_error());
            return 0;
        }
        if (n < max) names[n++] = md->name;
    }
    if (!n) cli_error("ocr", "--model: no model named");
    return n;
}

int cmd_ocr(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},   {"data", required_argument, NULL, 'd'},
        {"n", required_argument, NULL, 'n'},       {"threads", required_argument, NULL, 't'},
        {"tessdata", required_argument, NULL, 'T'}, {"json", no_argument, NULL, 'j'},
        {"lines", no_argument, NULL, 'L'},         {"list", no_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},  {"help", no_argument, NULL, 'h'},
        CLI_METER_LONGOPTS,                        CLI_CARBON_LONGOPTS,
        {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    jp_ocr_config cfg;
    jp_ocr_config_init(&cfg);
    const char *model_arg = NULL, *outpath = NULL;
    struct cli_carbon_opts co;
    cli_carbon_opts_init(&co);
    int json = 0, list = 0, opt;
    optind = 1;
    while ((opt = cli_getopt("ocr", argc, argv, "m:d:n:t:o:h", longopts)) != -1) {
        char *end;
        long v;
        switch (opt) {
        case 'm': model_arg = optarg; break;
        case 'd': cfg.data = optarg; break;
        case 'n':
        case 't':
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (end == optarg || *end || errno || v < 1 || v > (opt == 'n' ? 1000000 : 64)) {
                cli_error("ocr", "-%c %s: expected a whole number from 1 to %d", opt, optarg, opt == 'n' ? 1000000 : 64);
                return CLI_EXIT_USAGE;
            }
            if (opt == 'n') cfg.n = (size_t)v;
            else cfg.threads = (int)v;
            break;
        case 'T': cfg.tessdata = optarg; break;
        case 'j': json = 1; break;
        case 'L': cfg.keep_lines = true; break;
        case 'l': list = 1; break;
        case 'o': outpath = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: {
            int r = cli_carbon_option("ocr", &co, opt, optarg);
            if (r == 0) r = cli_meter_option("ocr", &mo, opt, optarg);
            if (r == 1) break;
            return CLI_EXIT_USAGE;
        }
        }
    }
    if (optind < argc) {
        cli_error("ocr", "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (list) {
        list_models(cfg.tessdata);
        return 0;
    }
    if (!model_arg) {
        cli_error("ocr", "no model: jouleprint ocr --model NAME (--list shows them)");
        return CLI_EXIT_USAGE;
    }
    const char *names[16];
    size_t nm = parse_models(model_arg, names, 16);
    if (!nm) return CLI_EXIT_USAGE;
    jp_intensity ci;
    if (cli_carbon_resolve("ocr", &co, &ci)) return CLI_EXIT_USAGE;
    /* every model's files first, so that a missing one is said before anything runs */
    for (size_t i = 0; i < nm; i++) {
        char dir[4096], path[4096];
        if (jp_ocr_model_locate(names[i], cfg.tessdata, dir, sizeof dir, path, sizeof path) != JP_OK) {
            cli_error("ocr", "%s", jp_last_error());
            return CLI_EXIT_FAIL;
        }
    }
    jp_meter *m;
    if (jp_meter_open(&m, &mo.cfg) != JP_OK) {
        cli_error("ocr", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    if (mo.baseline_s > 0 && jp_meter_baseline(m, mo.baseline_s) != JP_OK) {
        cli_error("ocr", "baseline: %s", jp_last_error());
        jp_meter_close(m);
        return CLI_EXIT_FAIL;
    }
    jp_ocr_result *rs = calloc(nm, sizeof *rs);
    json_t *arr = json_array();
    int rc = 0;
    FILE *out = NULL;
    struct cli_out oo = {0};
    if (!rs || !arr) {
        cli_error("ocr", "out of memory");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; i < nm; i++) {
        cfg.model = names[i];
        if (jp_ocr_run(&cfg, m, &rs[i]) != JP_OK) {
            cli_error("ocr", "%s", jp_last_error());
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        /* the meter keeps only the latest run: take what needs it now */
        if (json) json_array_append_new(arr, result_json(&rs[i], m, &ci, &co, cfg.threads, cfg.keep_lines));
        else if (nm == 1) {
            out = cli_open_out("ocr", outpath, &oo);
            if (!out) {
                rc = CLI_EXIT_FAIL;
                goto done;
            }
            human_one(out, &rs[i], m, &ci, &co, cfg.threads);
        }
    }
    if (!out) out = cli_open_out("ocr", outpath, &oo);
    if (!out) {
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (json) {
        json_t *o = nm == 1 ? json_incref(json_array_get(arr, 0)) : json_pack("{s:O}", "models", arr);
        json_dumpf(o, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', out);
        json_decref(o);
    } else if (nm > 1) {
        human_table(out, rs, nm, m, &ci, &co, cfg.threads);
    }
    if (cli_close_out("ocr", &oo, outpath) != 0) rc = CLI_EXIT_FAIL;
done:
    cli_discard_out(&oo); /* what a failure left open: nothing half-written (no-op once closed) */
    json_decref(arr);
    for (size_t i = 0; rs && i < nm; i++) jp_ocr_result_free(&rs[i]);
    free(rs);
    jp_meter_close(m);
    return rc;
}
