/* jouleprint classify: run a model of the zoo over Fashion-MNIST's test set with the built-in engine;
 * report accuracy, energy per image (load and inference apart), speed and carbon. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jouleprint/workloads.h"

static const char help[] =
    "usage: jouleprint classify --model NAME [--n N] [--batch B] [--threads T] [--json]\n"
    "       jouleprint classify --list [--json]\n"
    "\n"
    "Classifies Fashion-MNIST test images (Debian's dataset-fashion-mnist) with one model of the zoo\n"
    "(models/, trained by models/train.py) run by jouleprint's own inference engine, in this process,\n"
    "and reports the accuracy, images per second, the energy to load the model and to classify the\n"
    "images (meter phases \"load\" and \"infer\"), the energy per image and the carbon for a region.\n"
    "\n"
    "Energy is the meter's (the whole machine's, from counters or the power model); \"attributed\" is\n"
    "the part matching this process's share of the machine's busy CPU time in each phase. Where no\n"
    "counter can be read, every energy figure is an estimate from the power model and says so.\n"
    "\n"
    "  -m, --model NAME   a model of the zoo (see --list), or a folder with config.json and\n"
    "                     model.safetensors\n"
    "      --list         the zoo: parameters, FLOPs per image, test accuracy\n"
    "  -n, --n N          classify the first N test images (default: all 10,000)\n"
    "  -b, --batch B      images per forward pass (default 64)\n"
    "  -t, --threads T    inference threads (default 1)\n"
    "      --models-dir D the zoo's folder (default $JP_MODELS_DIR, else models/ of the source tree\n"
    "                     or of an install (PREFIX/share/jouleprint) found from the executable's\n"
    "                     folder, else ./models)\n"
    "      --data DIR     Fashion-MNIST's folder (default $JP_FASHION_MNIST, else\n"
    "                     /usr/share/datasets/fashion-mnist)\n"
    "      --json         one JSON object (keys: model, type, params, flops_per_image, n, correct,\n"
    "                     accuracy, reference_accuracy, batch, threads, load_s, infer_s, images_per_s,\n"
    "                     load_j, infer_j, energy_j, j_per_image, attributed, carbon_g, region,\n"
    "                     intensity_g_per_kwh, intensity_year, pue, estimated, domains, ...)\n"
    "  -o, --output FILE  write the report to FILE (default stdout)\n" CLI_CARBON_HELP CLI_METER_HELP
    "\n"
    "examples:\n"
    "  jouleprint classify --list\n"
    "  jouleprint classify --model resnet-s\n"
    "  jouleprint classify --model vit --n 1000 --batch 1 --threads 2 --json\n"
    "  jouleprint classify --model cnn --n 1000 --region \"North Virginia\" --year 2021\n";

static void fmt_count(double v, char *buf, size_t len)
{
    if (v >= 1e9) snprintf(buf, len, "%.2f G", v / 1e9);
    else if (v >= 1e6) snprintf(buf, len, "%.2f M", v / 1e6);
    else if (v >= 1e3) snprintf(buf, len, "%.1f k", v / 1e3);
    else snprintf(buf, len, "%.0f ", v);
}

static int list_models(FILE *out, const char *models_dir, int json)
{
    jp_classify_model_info zoo[64];
    int n = jp_classify_list(models_dir, zoo, 64);
    if (n < 0) {
        cli_error("classify", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    if (n > 64) n = 64;
    if (json) {
        json_t *a = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:f, s:f, s:i, s:i, s:f, s:s}", "name", zoo[i].name,
                                               "type", zoo[i].type, "description", zoo[i].description, "params",
                                               (json_int_t)zoo[i].params, "flops_per_image", zoo[i].flops, "accuracy",
                                               zoo[i].accuracy, "test_correct", zoo[i].test_correct, "test_total",
                                               zoo[i].test_total, "train_seconds", zoo[i].train_seconds, "dir",
                                               zoo[i].dir));
        json_dumpf(a, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', out);
        json_decref(a);
        return 0;
    }
    fprintf(out, "%-10s %-7s %10s %13s %9s  %s\n", "model", "type", "params", "FLOPs/image", "accuracy", "description");
    for (int i = 0; i < n; i++) {
        char p[32], f[32];
        fmt_count((double)zoo[i].params, p, sizeof p);
        fmt_count(zoo[i].flops, f, sizeof f);
        fprintf(out, "%-10s %-7s %10s %13s %8.2f%%  %s\n", zoo[i].name, zoo[i].type, p, f, zoo[i].accuracy * 100,
                zoo[i].description);
    }
    if (n == 0) fprintf(out, "(no models found)\n");
    return 0;
}

struct figures {
    double energy_j, attr_load_j, attr_infer_j, attr_per_image_j, carbon_g, carbon_per_image_g;
    int attributed;
};

static void write_json(FILE *out, const jp_classify_result *r, const jp_classify_config *c, jp_meter *m,
                       const struct figures *f, const jp_intensity *ci, const struct cli_carbon_opts *co)
{
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(r->model.name));
    json_object_set_new(o, "type", json_string(r->model.type));
    json_object_set_new(o, "params", json_integer((json_int_t)r->model.params));
    json_object_set_new(o, "flops_per_image", json_real(r->model.flops));
    json_object_set_new(o, "n", json_integer(r->n));
    json_object_set_new(o, "correct", json_integer(r->correct));
    json_object_set_new(o, "accuracy", json_real(r->accuracy));
    json_object_set_new(o, "reference_accuracy", r->model.test_total ? json_real(r->model.accuracy) : json_null());
    json_object_set_new(o, "batch", json_integer(c->batch));
    json_object_set_new(o, "threads", json_integer(c->threads));
    json_object_set_new(o, "load_s", json_real(r->load_s));
    json_object_set_new(o, "infer_s", json_real(r->infer_s));
    json_object_set_new(o, "images_per_s", json_real(r->images_per_s));
    json_object_set_new(o, "gflops_per_s", json_real(r->infer_s > 0 ? r->model.flops * r->n / r->infer_s / 1e9 : 0));
    json_object_set_new(o, "load_j", json_real(r->load_j));
    json_object_set_new(o, "infer_j", json_real(r->infer_j));
    json_object_set_new(o, "energy_j", json_real(f->energy_j));
    json_object_set_new(o, "j_per_image", json_real(r->j_per_image));
    json_object_set_new(o, "phases", json_pack("[{s:s, s:f, s:f}, {s:s, s:f, s:f}]", "name", "load", "joules", r->load_j,
                                               "duration_s", r->load_s, "name", "infer", "joules", r->infer_j,
                                               "duration_s", r->infer_s));
    json_object_set_new(o, "attributed",
                        f->attributed ? json_pack("{s:f, s:f, s:f, s:f, s:f}", "load_share", r->load_share, "infer_share",
                                                  r->infer_share, "load_j", f->attr_load_j, "infer_j", f->attr_infer_j,
                                                  "j_per_image", f->attr_per_image_j)
                                      : json_null());
    json_object_set_new(o, "carbon_g", json_real(f->carbon_g));
    json_object_set_new(o, "carbon_g_per_image", json_real(f->carbon_per_image_g));
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

static void write_human(FILE *out, const jp_classify_result *r, const jp_classify_config *c, jp_meter *m,
                        const struct figures *f, const jp_intensity *ci, const struct cli_carbon_opts *co)
{
    char a[64], b[64], d[64], e[64], p[32], fl[32];
    fmt_count((double)r->model.params, p, sizeof p);
    fmt_count(r->model.flops, fl, sizeof fl);
    fprintf(out, "\n jouleprint classify: %s (%s, %s parameters, %sFLOPs/image) on %d Fashion-MNIST test images\n\n",
            r->model.name, r->model.type, p, fl, r->n);
    fprintf(out, "  %-11s %.2f%% (%d / %d)", "accuracy", r->accuracy * 100, r->correct, r->n);
    if (r->model.test_total) fprintf(out, "   training script, full test set: %.2f%%", r->model.accuracy * 100);
    fputc('\n', out);
    fprintf(out, "  %-11s %.1f images/s, %.2f GFLOP/s  (batch %d, %d thread%s)\n", "speed", r->images_per_s,
            r->infer_s > 0 ? r->model.flops * r->n / r->infer_s / 1e9 : 0.0, c->batch, c->threads,
            c->threads == 1 ? "" : "s");
    jp_format_energy(r->load_j, a, sizeof a);
    jp_format_duration(r->load_s, b, sizeof b);
    jp_format_energy(r->infer_j, d, sizeof d);
    jp_format_duration(r->infer_s, e, sizeof e);
    fprintf(out, "  %-11s load %s (%s), infer %s (%s)   %s\n", "energy", a, b, d, e,
            jp_meter_estimated(m) ? "ESTIMATED" : "measured");
    jp_format_energy(r->j_per_image, a, sizeof a);
    fprintf(out, "  %-11s %s per image\n", "", a);
    if (f->attributed) {
        jp_format_energy(f->attr_load_j + f->attr_infer_j, a, sizeof a);
        jp_format_energy(f->attr_per_image_j, b, sizeof b);
        fprintf(out, "  %-11s %s (%s per image): this process's %.0f%% / %.0f%% of the busy CPU time in load / infer\n",
                "attributed", a, b, r->load_share * 100, r->infer_share * 100);
    }
    jp_format_mass(f->carbon_g, a, sizeof a);
    jp_format_mass(f->carbon_per_image_g, b, sizeof b);
    char basis[512];
    cli_carbon_basis(basis, sizeof basis, ci, co);
    fprintf(out, "  %-11s %s CO2e, %s per image  (%s)\n", "carbon", a, b, basis);
    cli_print_model(out, m);
    fputc('\n', out);
}

int cmd_classify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},  {"list", no_argument, NULL, 'L'},
        {"n", required_argument, NULL, 'n'},      {"batch", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'}, {"models-dir", required_argument, NULL, 'M'},
        {"data", required_argument, NULL, 'd'},   {"json", no_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        CLI_METER_LONGOPTS,                       CLI_CARBON_LONGOPTS,
        {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    jp_classify_config c;
    jp_classify_config_init(&c);
    int list = 0, json = 0, opt;
    const char *outpath = NULL;
    struct cli_carbon_opts co;
    cli_carbon_opts_init(&co);
    optind = 1;
    while ((opt = cli_getopt("classify", argc, argv, "m:n:b:t:o:h", longopts)) != -1) {
        char *end;
        long v;
        switch (opt) {
        case 'm': c.model = optarg; break;
        case 'L': list = 1; break;
        case 'n':
        case 'b':
        case 't': {
            long lo = opt == 'n' ? 1 : 1, hi = opt == 'n' ? 1000000 : opt == 'b' ? 4096 : 64;
            v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < lo || v > hi) {
                cli_error("classify", "--%s %s: expected a whole number from %ld to %ld",
                          opt == 'n' ? "n" : opt == 'b' ? "batch" : "threads", optarg, lo, hi);
                return CLI_EXIT_USAGE;
            }
            if (opt == 'n') c.n = (int)v;
            else if (opt == 'b') c.batch = (int)v;
            else c.threads = (int)v;
            break;
        }
        case 'M': c.models_dir = optarg; break;
        case 'd': c.data_dir = optarg; break;
        case 'j': json = 1; break;
        case 'o': outpath = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: {
            int r = cli_carbon_option("classify", &co, opt, optarg);
            if (r == 0) r = cli_meter_option("classify", &mo, opt, optarg);
            if (r == 1) break;
            return CLI_EXIT_USAGE;
        }
        }
    }
    if (optind < argc) {
        cli_error("classify", "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    FILE *out;
    struct cli_out oo;
    if (list) {
        out = cli_open_out("classify", outpath, &oo);
        if (!out) return CLI_EXIT_FAIL;
        int rc = list_models(out, c.models_dir, json);
        if (out != stdout && cli_close_out("classify", &oo, outpath) != 0) rc = CLI_EXIT_FAIL;
        return rc;
    }
    if (!c.model) {
        cli_error("classify", "no model: --model NAME (jouleprint classify --list shows the zoo)");
        return CLI_EXIT_USAGE;
    }
    jp_intensity ci;
    if (cli_carbon_resolve("classify", &co, &ci)) return CLI_EXIT_USAGE;
    jp_meter *m;
    if (jp_meter_open(&m, &mo.cfg) != JP_OK) {
        cli_error("classify", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    if (mo.baseline_s > 0 && jp_meter_baseline(m, mo.baseline_s) != JP_OK) {
        cli_error("classify", "baseline: %s", jp_last_error());
        jp_meter_close(m);
        return CLI_EXIT_FAIL;
    }
    jp_classify_result r;
    int rc = jp_classify_run(&c, m, &r);
    if (rc != JP_OK) {
        cli_error("classify", "%s", jp_last_error());
        jp_meter_close(m);
        return rc == JP_ERR_RANGE || rc == JP_ERR_NOTFOUND ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    struct figures f;
    memset(&f, 0, sizeof f);
    f.energy_j = r.load_j + r.infer_j;
    f.attributed = r.load_share >= 0 && r.infer_share >= 0;
    if (f.attributed) {
        f.attr_load_j = r.load_j * r.load_share;
        f.attr_infer_j = r.infer_j * r.infer_share;
        f.attr_per_image_j = r.n ? f.attr_infer_j / r.n : 0;
    }
    f.carbon_g = jp_carbon_grams(f.energy_j, ci.g_per_kwh, co.pue);
    f.carbon_per_image_g = jp_carbon_grams(r.j_per_image, ci.g_per_kwh, co.pue);
    if (c.batch > r.n) c.batch = r.n;
    out = cli_open_out("classify", outpath, &oo);
    if (!out) {
        jp_meter_close(m);
        return CLI_EXIT_FAIL;
    }
    if (json) write_json(out, &r, &c, m, &f, &ci, &co);
    else write_human(out, &r, &c, m, &f, &ci, &co);
    rc = 0;
    if (out != stdout && cli_close_out("classify", &oo, outpath) != 0) rc = CLI_EXIT_FAIL;
    jp_meter_close(m);
    return rc;
}
