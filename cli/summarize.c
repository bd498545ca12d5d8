/* jouleprint summarize: one-line summaries with the built-in encoder-decoder models (models/sum-*) or
 * lead-1; ROUGE against references; energy per summary (load and inference apart) and carbon. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jouleprint/workloads.h"
#include "cli.h"

static const char help[] =
    "usage: jouleprint summarize --model NAME (--text T | --file F [--lines] | --data DIR) [options]\n"
    "       jouleprint summarize --list [--json]\n"
    "\n"
    "Writes a one-line summary of each text with a summarization model run by jouleprint's own\n"
    "engine in this process (models/sum-*: small encoder-decoder transformers trained on Debian\n"
    "package descriptions -> synopses, models/sum/README.md), or with lead-1 (the first sentence),\n"
    "and reports the energy to load the model and to summarize (meter phases \"load\" and \"infer\"),\n"
    "the energy per summary and the carbon for a region. With references (--data), ROUGE-1, ROUGE-2\n"
    "and ROUGE-L (rouge-score's definitions, no stemming; F1 unless said) are reported too.\n"
    "\n"
    "  -m, --model NAME   sum-s, sum-m, ... (see --list), lead-1, or a model folder\n"
    "      --list         the models: parameters, FLOPs per summary, the training script's ROUGE\n"
    "      --text T       summarize the text T\n"
    "      --file F       summarize the whole file F as one text; with --lines, each line of F\n"
    "      --data DIR     pairs with references: DIR/eval.tsv, or a TSV file with the columns\n"
    "                     synopsis and description (data/summarize/eval.tsv: 1,000 pairs)\n"
    "  -n, --n N          only the first N texts\n"
    "      --beam B       beam width (default 1: greedy)\n"
    "      --max-len L    at most L tokens out, </s> included (default: the model's, 48)\n"
    "      --length-penalty A  beam scores are log p / length^A (default 1)\n"
    "      --no-repeat-ngram N never repeat an N-gram in one summary (default 0: off)\n"
    "      --words on|off on (default): write only words of the text or of the model's word list\n"
    "                     (words.txt: 464 words such as \"library\", \"tool\", \"for\"), ignoring case, so\n"
    "                     no word is misspelled from pieces; off: the model's own choice of pieces\n"
    "      --span-bonus B add B to the log-probability of a token that continues a phrase of the\n"
    "                     text (it follows the token just written somewhere in the text), so the\n"
    "                     summary copies phrases, not scattered words (default 2.5; 0: off)\n"
    "  -b, --batch B      texts per generate call (default 16)\n"
    "  -t, --threads T    inference threads (default 1)\n"
    "      --models-dir D the models' folder (as for classify: $JP_MODELS_DIR, else models/ of the\n"
    "                     source tree or of the install)\n"
    "      --json         one JSON object (keys: model, params, flops_per_summary, n, beam, max_len,\n"
    "                     no_repeat_ngram, words, span_bonus, batch, threads, summaries, rouge, truncated,\n"
    "                     tokens_dropped, load_s, infer_s, load_j, infer_j, energy_j, j_per_summary,\n"
    "                     phases, carbon_g,\n"
    "                     carbon_g_per_summary, region, intensity_g_per_kwh, intensity_year, pue,\n"
    "                     estimated, domains, ...)\n"
    "  -o, --output FILE  write the report to FILE (default stdout)\n" CLI_CARBON_HELP CLI_METER_HELP
    "\n"
    "A text longer than the model reads (128 tokens) is cut, with a warning saying by how much.\n"
    "\n"
    "examples:\n"
    "  jouleprint summarize --list\n"
    "  jouleprint summarize --model sum-s --text \"jq is a lightweight and flexible command-line JSON processor.\"\n"
    "  jouleprint summarize --model sum-m --data data/summarize --n 20 --beam 4 --json\n";

static int list_models(FILE *out, const char *models_dir, int json)
{
    jp_sum_model_info all[64];
    int n = jp_sum_list(models_dir, all, 64);
    if (n < 0) {
        cli_error("summarize", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    if (n > 64) n = 64;
    if (json) {
        json_t *a = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:f, s:f, s:f, s:f, s:s}", "name", all[i].name,
                                               "description", all[i].description, "params", (json_int_t)all[i].params,
                                               "flops_per_summary", all[i].flops_per_summary, "rouge1", all[i].rouge1,
                                               "rouge2", all[i].rouge2, "rougeL", all[i].rougeL, "dir", all[i].dir));
        json_dumpf(a, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', out);
        json_decref(a);
        return 0;
    }
    fprintf(out, "%-8s %10s %15s %19s  %s\n", "model", "params", "FLOPs/summary", "ROUGE-1/2/L (eval)", "description");
    for (int i = 0; i < n; i++) {
        if (all[i].dir[0])
            fprintf(out, "%-8s %10llu %15.3g %6.2f/%5.2f/%5.2f  %s\n", all[i].name, (unsigned long long)all[i].params,
                    all[i].flops_per_summary, all[i].rouge1 * 100, all[i].rouge2 * 100, all[i].rougeL * 100,
                    all[i].description);
        else
            fprintf(out, "%-8s %10s %15s %19s  %s\n", all[i].name, "-", "-", "-", all[i].description);
    }
    return 0;
}

/* Reads a file whole (at most 16 MB). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("summarize", "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        if (cap >= (size_t)16 << 20) {
            cli_error("summarize", "%s: over 16 MB", path);
            free(buf);
            buf = NULL;
            break;
        }
        char *nb = realloc(buf, 2 * cap + 1);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (buf && strlen(buf) != n) {
        cli_error("summarize", "%s: holds a NUL byte: not a text file", path);
        free(buf);
        return NULL;
    }
    return buf;
}

struct figures {
    double energy_j, carbon_g, carbon_per_summary_g;
};

static json_t *prf_json(const jp_rouge_prf *p) { return json_pack("{s:f, s:f, s:f}", "p", p->p, "r", p->r, "f", p->f); }

static void write_json(FILE *out, const jp_sum_result *r, const jp_sum_config *c, jp_meter *m, const struct figures *f,
                       const jp_intensity *ci, const struct cli_carbon_opts *co, char **names)
{
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(r->model.name));
    json_object_set_new(o, "params", json_integer((json_int_t)r->model.params));
    json_object_set_new(o, "flops_per_summary", json_real(r->model.flops_per_summary));
    json_object_set_new(o, "n", json_integer((json_int_t)r->n));
    json_object_set_new(o, "beam", json_integer(c->gen.beam));
    json_object_set_new(o, "max_len", json_integer(c->gen.max_len));
    json_object_set_new(o, "no_repeat_ngram", json_integer(c->gen.no_repeat_ngram));
    json_object_set_new(o, "words", json_boolean(c->gen.words));
    json_object_set_new(o, "span_bonus", json_real(c->gen.span_bonus));
    json_object_set_new(o, "batch", json_integer(c->batch));
    json_object_set_new(o, "threads", json_integer(c->threads));
    json_t *s = json_array();
    for (size_t i = 0; i < r->n; i++) {
        json_t *e = json_pack("{s:s}", "summary", r->summaries[i]);
        if (names && names[i][0]) json_object_set_new(e, "name", json_string(names[i]));
        if (r->scores)
            json_object_set_new(e, "rouge", json_pack("{s:f, s:f, s:f}", "rouge1", r->scores[i].r1.f, "rouge2",
                                                      r->scores[i].r2.f, "rougeL", r->scores[i].rl.f));
        json_array_append_new(s, e);
    }
    json_object_set_new(o, "summaries", s);
    json_object_set_new(o, "rouge",
                        r->scores ? json_pack("{s:o, s:o, s:o}", "rouge1", prf_json(&r->mean.r1), "rouge2",
                                              prf_json(&r->mean.r2), "rougeL", prf_json(&r->mean.rl))
                                  : json_null());
    json_object_set_new(o, "truncated", json_integer((json_int_t)r->truncated));
    json_object_set_new(o, "tokens_dropped", json_integer(r->tokens_dropped));
    json_object_set_new(o, "source_tokens", json_integer(r->source_tokens));
    json_object_set_new(o, "generated_tokens", json_integer(r->generated_tokens));
    json_object_set_new(o, "load_s", json_real(r->load_s));
    json_object_set_new(o, "infer_s", json_real(r->infer_s));
    json_object_set_new(o, "load_j", json_real(r->load_j));
    json_object_set_new(o, "infer_j", json_real(r->infer_j));
    json_object_set_new(o, "energy_j", json_real(f->energy_j));
    json_object_set_new(o, "j_per_summary", json_real(r->j_per_summary));
    json_object_set_new(o, "phases", json_pack("[{s:s, s:f, s:f}, {s:s, s:f, s:f}]", "name", "load", "joules", r->load_j,
                                               "duration_s", r->load_s, "name", "infer", "joules", r->infer_j,
                                               "duration_s", r->infer_s));
    json_object_set_new(o, "carbon_g", json_real(f->carbon_g));
    json_object_set_new(o, "carbon_g_per_summary", json_real(f->carbon_per_summary_g));
    cli_carbon_json(o, ci, co);
    json_object_set_new(o, "estimated", json_boolean(jp_meter_estimated(m)));
    json_t *doms = json_array();
    for (size_t i = 0; i < jp_meter_domain_count(m); i++)
        json_array_append_new(doms, json_pack("{s:s, s:s, s:f, s:b, s:b}", "name", jp_meter_domain_name(m, i), "source",
                                              jp_meter_domain_source(m, i), "joules", jp_meter_joules(m, (int)i),
                                              "estimated", jp_meter_domain_estimated(m, i), "in_total",
                                              jp_meter_domain_in_total(m, i)));
    json_object_set_new(o, "domains", doms);
    json_object_set_new(o, "power_model", cli_model_json(m));
    json_dumpf(o, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', out);
    json_decref(o);
}

static void write_human(FILE *out, const jp_sum_result *r, const jp_sum_config *c, jp_meter *m, const struct figures *f,
                        const jp_intensity *ci, const struct cli_carbon_opts *co)
{
    char a[64], b[64], d[64], e[64];
    if (r->n == 1 && !r->scores) {
        fprintf(out, "%s\n", r->summaries[0]);
    } else {
        size_t show = r->n < 5 ? r->n : 5;
        for (size_t i = 0; i < show; i++) fprintf(out, "%s\n", r->summaries[i]);
        if (show < r->n) fprintf(out, "... (%zu more; --json gives all)\n", r->n - show);
    }
    fprintf(out, "\n jouleprint summarize: %s, %zu text%s, ", r->model.name, r->n, r->n == 1 ? "" : "s");
    if (r->model.dir[0]) { /* a model: its decoding */
        fprintf(out, "beam %d", c->gen.beam);
        if (c->gen.no_repeat_ngram) fprintf(out, ", no repeated %d-gram", c->gen.no_repeat_ngram);
        fprintf(out, ", words %s, span bonus %g, ", c->gen.words ? "on" : "off", c->gen.span_bonus);
    }
    fprintf(out, "%d thread%s\n\n", c->threads, c->threads == 1 ? "" : "s");
    if (r->scores)
        fprintf(out, "  %-11s ROUGE-1 %.2f  ROUGE-2 %.2f  ROUGE-L %.2f  (F1 x 100, mean over %zu references)\n", "ROUGE",
                r->mean.r1.f * 100, r->mean.r2.f * 100, r->mean.rl.f * 100, r->n);
    jp_format_energy(r->load_j, a, sizeof a);
    jp_format_duration(r->load_s, b, sizeof b);
    jp_format_energy(r->infer_j, d, sizeof d);
    jp_format_duration(r->infer_s, e, sizeof e);
    fprintf(out, "  %-11s load %s (%s), infer %s (%s)   %s\n", "energy", a, b, d, e,
            jp_meter_estimated(m) ? "ESTIMATED" : "measured");
    jp_format_energy(r->j_per_summary, a, sizeof a);
    fprintf(out, "  %-11s %s per summary\n", "", a);
    jp_format_mass(f->carbon_g, a, sizeof a);
    jp_format_mass(f->carbon_per_summary_g, b, sizeof b);
    char basis[512];
    cli_carbon_basis(basis, sizeof basis, ci, co);
    fprintf(out, "  %-11s %s CO2e, %s per summary  (%s)\n", "carbon", a, b, basis);
    cli_print_model(out, m);
    fputc('\n', out);
}

static int whole(const char *opt, const char *arg, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(arg, &end, 10);
    if (end == arg || *end || errno || *v < lo || *v > hi) {
        cli_error("summarize", "--%s %s: expected a whole number from %ld to %ld", opt, arg, lo, hi);
        return -1;
    }
    return 0;
}

int cmd_summarize(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},   {"list", no_argument, NULL, 'L'},
        {"text", required_argument, NULL, 'T'},    {"file", required_argument, NULL, 'F'},
        {"lines", no_argument, NULL, 'l'},         {"data", required_argument, NULL, 'd'},
        {"n", required_argument, NULL, 'n'},       {"beam", required_argument, NULL, 'B'},
        {"max-len", required_argument, NULL, 'X'}, {"length-penalty", required_argument, NULL, 'P'},
        {"no-repeat-ngram", required_argument, NULL, 'N'}, {"batch", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'}, {"models-dir", required_argument, NULL, 'M'},
        {"words", required_argument, NULL, 'W'},   {"span-bonus", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},          {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},          CLI_METER_LONGOPTS,
        CLI_CARBON_LONGOPTS,                       {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    jp_sum_config c;
    jp_sum_config_init(&c);
    int list = 0, json = 0, lines = 0, opt;
    long v, nmax = 0;
    const char *outpath = NULL, *text = NULL, *file = NULL, *data = NULL;
    struct cli_carbon_opts co;
    cli_carbon_opts_init(&co);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "m:n:b:t:o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'm': c.model = optarg; break;
        case 'L': list = 1; break;
        case 'T': text = optarg; break;
        case 'F': file = optarg; break;
        case 'l': lines = 1; break;
        case 'd': data = optarg; break;
        case 'n':
            if (whole("n", optarg, 1, 1000000, &nmax)) return CLI_EXIT_USAGE;
            break;
        case 'B':
            if (whole("beam", optarg, 1, 16, &v)) return CLI_EXIT_USAGE;
            c.gen.beam = (int)v;
            break;
        case 'X':
            if (whole("max-len", optarg, 2, 1024, &v)) return CLI_EXIT_USAGE;
            c.gen.max_len = (int)v;
            break;
        case 'N':
            if (whole("no-repeat-ngram", optarg, 0, 16, &v)) return CLI_EXIT_USAGE;
            c.gen.no_repeat_ngram = (int)v;
            break;
        case 'P': {
            char *end;
            double d = strtod(optarg, &end);
            if (end == optarg || *end || !(d >= -10 && d <= 10)) {
                cli_error("summarize", "--length-penalty %s: expected a number from -10 to 10", optarg);
                return CLI_EXIT_USAGE;
            }
            c.gen.length_penalty = d;
            break;
        }
        case 'b':
            if (whole("batch", optarg, 1, 4096, &v)) return CLI_EXIT_USAGE;
            c.batch = (int)v;
            break;
        case 't':
            if (whole("threads", optarg, 1, 64, &v)) return CLI_EXIT_USAGE;
            c.threads = (int)v;
            break;
        case 'M': c.models_dir = optarg; break;
        case 'S': {
            char *end;
            double d = strtod(optarg, &end);
            if (end == optarg || *end || !(d >= 0 && d <= 100)) {
                cli_error("summarize", "--span-bonus %s: expected a number from 0 to 100", optarg);
                return CLI_EXIT_USAGE;
            }
            c.gen.span_bonus = d;
            break;
        }
        case 'W':
            if (!strcmp(optarg, "on")) c.gen.words = 1;
            else if (!strcmp(optarg, "off")) c.gen.words = 0;
            else {
                cli_error("summarize", "--words %s: expected on or off", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'j': json = 1; break;
        case 'o': outpath = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: {
            int r = cli_carbon_option("summarize", &co, opt, optarg);
            if (r == 0) r = cli_meter_option("summarize", &mo, opt, optarg);
            if (r == 1) break;
            if (r == 0) fputs(help, stderr);
            return CLI_EXIT_USAGE;
        }
        }
    }
    if (optind < argc) {
        cli_error("summarize", "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    FILE *out;
    struct cli_out oo;
    if (list) {
        out = cli_open_out("summarize", outpath, &oo);
        if (!out) return CLI_EXIT_FAIL;
        int rc = list_models(out, c.models_dir, json);
        if (out != stdout && cli_close_out("summarize", &oo, outpath) != 0) rc = CLI_EXIT_FAIL;
        return rc;
    }
    if (!c.model) {
        cli_error("summarize", "no model: --model NAME (jouleprint summarize --list shows them)");
        return CLI_EXIT_USAGE;
    }
    if (!!text + !!file + !!data != 1) {
        cli_error("summarize", "give exactly one of --text T, --file F, --data DIR");
        return CLI_EXIT_USAGE;
    }
    if (lines && !file) {
        cli_error("summarize", "--lines goes with --file");
        return CLI_EXIT_USAGE;
    }
    jp_intensity ci;
    if (cli_carbon_resolve("summarize", &co, &ci)) return CLI_EXIT_USAGE;
    /* the texts */
    jp_sum_pairs pairs;
    memset(&pairs, 0, sizeof pairs);
    char *buf = NULL, **items = NULL;
    const char *one[1];
    int rc = 0;
    if (text) {
        one[0] = text;
        c.texts = one;
        c.n = 1;
    } else if (file) {
        if (!(buf = slurp(file))) return CLI_EXIT_FAIL;
        if (!lines) {
            one[0] = buf;
            c.texts = one;
            c.n = 1;
        } else {
            size_t cap = 64, n = 0;
            items = malloc(cap * sizeof *items);
            long lineno = 0;
            for (char *p = buf; items && *p;) {
                char *nl = strchr(p, '\n');
                if (nl) *nl = '\0';
                lineno++;
                size_t len = strlen(p);
                if (len && p[len - 1] == '\r') p[--len] = '\0';
                if (strspn(p, " \t\r\v\f") == len) {
                    cli_error("summarize", "%s: line %ld is empty (with --lines, each line is one text)", file, lineno);
                    free(items), free(buf);
                    return CLI_EXIT_USAGE;
                }
                if (n == cap) {
                    char **ni = realloc(items, 2 * cap * sizeof *ni);
                    if (!ni) break;
                    items = ni;
                    cap *= 2;
                }
                items[n++] = p;
                if (!nl) break;
                p = nl + 1;
            }
            if (!items) {
                cli_error("summarize", "out of memory");
                free(buf);
                return CLI_EXIT_FAIL;
            }
            c.texts = (const char *const *)items;
            c.n = n;
        }
    } else {
        if (jp_sum_pairs_read(data, &pairs) != JP_OK) {
            cli_error("summarize", "%s", jp_last_error());
            return CLI_EXIT_USAGE;
        }
        c.texts = (const char *const *)pairs.texts;
        c.refs = (const char *const *)pairs.refs;
        c.n = pairs.n;
    }
    if (nmax && (size_t)nmax < c.n) c.n = (size_t)nmax;
    if (c.n == 0) {
        cli_error("summarize", "%s: no text", file ? file : "input");
        free(items), free(buf);
        return CLI_EXIT_USAGE;
    }
    jp_meter *m;
    if (jp_meter_open(&m, &mo.cfg) != JP_OK) {
        cli_error("summarize", "%s", jp_last_error());
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (mo.baseline_s > 0 && jp_meter_baseline(m, mo.baseline_s) != JP_OK) {
        cli_error("summarize", "baseline: %s", jp_last_error());
        jp_meter_close(m);
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    jp_sum_result r;
    int st = jp_sum_run(&c, m, &r);
    if (st != JP_OK) {
        cli_error("summarize", "%s", jp_last_error());
        jp_meter_close(m);
        rc = st == JP_ERR_NOMEM || st == JP_ERR_IO ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
        goto done;
    }
    if (r.truncated)
        fprintf(stderr,
                "jouleprint summarize: warning: text %zu has %ld tokens and %s reads %ld: the last %ld were dropped"
                "%s (%zu text%s cut, %ld tokens in all)\n",
                r.first_truncated + 1, r.first_tokens, r.model.name, r.first_kept, r.first_tokens - r.first_kept,
                r.truncated > 1 ? "" : "", r.truncated, r.truncated == 1 ? "" : "s", r.tokens_dropped);
    struct figures f;
    f.energy_j = r.load_j + r.infer_j;
    f.carbon_g = jp_carbon_grams(f.energy_j, ci.g_per_kwh, co.pue);
    f.carbon_per_summary_g = jp_carbon_grams(r.j_per_summary, ci.g_per_kwh, co.pue);
    out = cli_open_out("summarize", outpath, &oo);
    if (!out) {
        rc = CLI_EXIT_FAIL;
    } else {
        if (json) write_json(out, &r, &c, m, &f, &ci, &co, data ? pairs.names : NULL);
        else write_human(out, &r, &c, m, &f, &ci, &co);
        if (out != stdout && cli_close_out("summarize", &oo, outpath) != 0) rc = CLI_EXIT_FAIL;
    }
    jp_sum_result_free(&r);
    jp_meter_close(m);
done:
    jp_sum_pairs_free(&pairs);
    free(items);
    free(buf);
    return rc;
}
