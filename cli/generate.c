/* jouleprint generate: text-to-image with a diffusion model of the zoo (models/gen-*), run by the
 * built-in engine; PNGs and a manifest, energy per image (load and infer apart) and carbon. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "jouleprint/workloads.h"

static const char help[] =
    "usage: jouleprint generate --model NAME --prompt TEXT [--prompt TEXT ...] [options]\n"
    "       jouleprint generate --model NAME --prompts FILE [options]\n"
    "       jouleprint generate --list [--json]\n"
    "\n"
    "Generates 28x28 grey images with a diffusion model of the zoo (models/gen-*, trained on\n"
    "Fashion-MNIST by models/gen/train.py), sampled by DDIM with classifier-free guidance in\n"
    "jouleprint's own engine, in this process, and reports the energy to load the model and to make\n"
    "the images (meter phases \"load\" and \"infer\"), the energy per image and the carbon for a region.\n"
    "\n"
    "The models are class-conditional, not text models: a prompt chooses one of the ten Fashion-MNIST\n"
    "classes by a class name or synonym in it (\"a photo of a sneaker\", \"an ankle boot at night\",\n"
    "\"Trouser\"); the model card lists the words. A prompt naming no class, or two, is refused.\n"
    "\n"
    "  -m, --model NAME   a generation model (see --list), or a folder with config.json and\n"
    "                     model.safetensors\n"
    "      --list         the generation models: parameters, FLOPs per step, how far trained\n"
    "  -p, --prompt TEXT  a prompt (repeatable)\n"
    "      --prompts FILE prompts, one per line (blank lines and lines starting with # skipped)\n"
    "  -n, --n N          images per prompt (default 1)\n"
    "  -s, --steps S      DDIM steps, 1 to the training schedule (1000) (default 20)\n"
    "  -g, --guidance G   classifier-free guidance scale, 0 to 100 (default 3; 1 = none, which needs\n"
    "                     one network evaluation per step instead of two)\n"
    "      --seed S       image j of prompt p starts from the noise of (S, p, j) (default 0): the same\n"
    "                     command writes the same PNG bytes\n"
    "  -b, --batch B      images denoised at once (default 16)\n"
    "  -t, --threads T    threads (default 1): each batch is split across them\n"
    "  -o, --output DIR   write the images as PNG (pNN-PROMPT-JJJ.png) and manifest.json into DIR\n"
    "                     (created if missing); the manifest is written last\n"
    "      --quality      also score the images (not measured): adherence (the share that the zoo's\n"
    "                     best classifier assigns to the prompted class), FID in that classifier's\n"
    "                     penultimate features against the 10,000 Fashion-MNIST test images, and the\n"
    "                     mean distance to the nearest training image (pixels / 255)\n"
    "      --data DIR     Fashion-MNIST's folder, for --quality (as for classify)\n"
    "      --grid FILE    also write every image into one PNG: a row per prompt, 2-pixel gaps\n"
    "      --models-dir D the zoo's folder (as for classify)\n"
    "      --json         one JSON object (keys: model, params, flops_per_step, steps, guidance, seed,\n"
    "                     batch, threads, n, network_evals_per_image, load_s, infer_s, images_per_s,\n"
    "                     load_j, infer_j, energy_j, j_per_image, carbon_g, carbon_g_per_image, region,\n"
    "                     intensity_g_per_kwh, intensity_year, pue, estimated, domains, images)\n"
    CLI_CARBON_HELP CLI_METER_HELP
    "\n"
    "examples:\n"
    "  jouleprint generate --list\n"
    "  jouleprint generate --model gen-s --prompt \"a photo of a sneaker\" --n 4 -o out\n"
    "  jouleprint generate --model gen-m --prompt trousers --prompt \"an ankle boot\" --steps 10 --json\n";

#define MAX_PROMPT 512

static void fmt_count(double v, char *buf, size_t len)
{
    if (v >= 1e9) snprintf(buf, len, "%.2f G", v / 1e9);
    else if (v >= 1e6) snprintf(buf, len, "%.2f M", v / 1e6);
    else if (v >= 1e3) snprintf(buf, len, "%.1f k", v / 1e3);
    else snprintf(buf, len, "%.0f ", v);
}

static int list_models(const char *models_dir, int json)
{
    jp_generate_model_info zoo[16];
    int n = jp_generate_list(models_dir, zoo, 16);
    if (n < 0) {
        cli_error("generate", "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    if (n > 16) n = 16;
    if (json) {
        json_t *a = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:f, s:i, s:f, s:f, s:b, s:s}", "name", zoo[i].name,
                                               "description", zoo[i].description, "params", (json_int_t)zoo[i].params,
                                               "flops_per_step", zoo[i].flops_per_step, "train_steps",
                                               zoo[i].train_steps, "train_epochs", zoo[i].train_epochs,
                                               "train_seconds", zoo[i].train_seconds, "train_complete",
                                               zoo[i].train_complete, "dir", zoo[i].dir));
        json_dumpf(a, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(a);
        return 0;
    }
    printf("%-8s %10s %12s %10s %8s  %s\n", "model", "params", "FLOPs/step", "trained", "epochs", "description");
    for (int i = 0; i < n; i++) {
        char p[32], f[32], st[32];
        fmt_count((double)zoo[i].params, p, sizeof p);
        fmt_count(zoo[i].flops_per_step, f, sizeof f);
        snprintf(st, sizeof st, "%d steps", zoo[i].train_steps);
        printf("%-8s %10s %12s %10s %8.2f  %s%s\n", zoo[i].name, p, f, st, zoo[i].train_epochs, zoo[i].description,
               zoo[i].train_complete ? "" : " (training not finished)");
    }
    if (n == 0) printf("(no generation models found)\n");
    return 0;
}

/* Reads prompts from path into *list (appending to *n, at most max). 0, or -1 with a message. */
static int read_prompts(const char *path, char ***list, int *n, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("generate", "--prompts %s: cannot be read: %s", path, strerror(errno));
        return -1;
    }
    char line[MAX_PROMPT + 2];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            cli_error("generate", "%s:%d: a prompt longer than %d characters", path, lineno, MAX_PROMPT);
            fclose(f);
            return -1;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        if (*n >= max) {
            cli_error("generate", "%s:%d: more than %d prompts", path, lineno, max);
            fclose(f);
            return -1;
        }
        (*list)[(*n)++] = strdup(s);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        cli_error("generate", "--prompts %s: read error", path);
        return -1;
    }
    if (lineno == 0 || *n == 0) {
        cli_error("generate", "--prompts %s: no prompts in the file", path);
        return -1;
    }
    return 0;
}

/* The output folder: created if missing, and shown writable by writing a file into it. */
static int prepare_dir(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (mkdir(dir, 0777) != 0) {
            cli_error("generate", "-o %s: cannot create the folder: %s", dir, strerror(errno));
            return -1;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        cli_error("generate", "-o %s: exists and is not a folder", dir);
        return -1;
    }
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.jouleprint-write-test", dir);
    FILE *f = fopen(probe, "w");
    if (!f || fclose(f) != 0) {
        cli_error("generate", "-o %s: cannot write into the folder: %s", dir, strerror(errno));
        return -1;
    }
    unlink(probe);
    return 0;
}

/* pNN-slug-JJJ.png */
static void image_name(const char *prompt, int p, int j, char *buf, size_t len)
{
    char slug[41];
    size_t k = 0;
    int dash = 0;
    for (const unsigned char *s = (const unsigned char *)prompt; *s && k < sizeof slug - 1; s++) {
        if (isalnum(*s)) {
            if (dash && k) slug[k++] = '-';
            if (k < sizeof slug - 1) slug[k++] = (char)tolower(*s);
            dash = 0;
        } else {
            dash = 1;
        }
    }
    slug[k] = '\0';
    snprintf(buf, len, "p%02d-%s-%03d.png", p + 1, k ? slug : "prompt", j);
}

struct progress {
    int tty;
    int last;
};

static void on_progress(void *arg, long done, long total)
{
    struct progress *p = arg;
    if (!p->tty || total <= 0) return;
    int pct = (int)(100 * done / total);
    if (pct == p->last) return;
    p->last = pct;
    int w = 30, fill = (int)((long)w * done / total);
    fprintf(stderr, "\r  generating [");
    for (int i = 0; i < w; i++) fputc(i < fill ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%%", pct);
    fflush(stderr);
}

static json_t *images_json(const jp_generate_result *r, char **prompts, char names[][128], uint64_t seed)
{
    json_t *a = json_array();
    for (int i = 0; i < r->n; i++)
        json_array_append_new(
            a, json_pack("{s:s?, s:s, s:i, s:s, s:i, s:I}", "file", names ? names[i] : NULL, "prompt",
                         prompts[r->prompt_index[i]], "class", r->classes[i], "class_name", r->class_names[r->classes[i]],
                         "index", r->image_index[i], "seed", (json_int_t)seed));
    return a;
}

int cmd_generate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},   {"list", no_argument, NULL, 'L'},
        {"prompt", required_argument, NULL, 'p'},  {"prompts", required_argument, NULL, 'P'},
        {"n", required_argument, NULL, 'n'},       {"steps", required_argument, NULL, 's'},
        {"guidance", required_argument, NULL, 'g'}, {"seed", required_argument, NULL, 'S'},
        {"batch", required_argument, NULL, 'b'},   {"threads", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},  {"models-dir", required_argument, NULL, 'M'},
        {"json", no_argument, NULL, 'j'},          {"quality", no_argument, NULL, 'Q'},
        {"data", required_argument, NULL, 'd'},    {"grid", required_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},          CLI_METER_LONGOPTS,
        CLI_CARBON_LONGOPTS,                       {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    jp_generate_config c;
    jp_generate_config_init(&c);
    int list = 0, json = 0, quality = 0, opt, np = 0, rc = CLI_EXIT_USAGE;
    const char *outdir = NULL, *data_dir = NULL, *grid = NULL;
    struct cli_carbon_opts co;
    cli_carbon_opts_init(&co);
    char **prompts = calloc(JP_GENERATE_MAX_PROMPTS, sizeof *prompts);
    char (*names)[128] = NULL;
    jp_meter *m = NULL;
    jp_generate_result r;
    memset(&r, 0, sizeof r);
    if (!prompts) {
        cli_error("generate", "out of memory");
        return CLI_EXIT_FAIL;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "m:p:n:s:g:b:t:o:h", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'm': c.model = optarg; break;
        case 'L': list = 1; break;
        case 'p':
            if (np >= JP_GENERATE_MAX_PROMPTS) {
                cli_error("generate", "more than %d prompts", JP_GENERATE_MAX_PROMPTS);
                goto out;
            }
            if (strlen(optarg) > MAX_PROMPT) {
                cli_error("generate", "--prompt: longer than %d characters", MAX_PROMPT);
                goto out;
            }
            prompts[np++] = strdup(optarg);
            break;
        case 'P':
            if (read_prompts(optarg, &prompts, &np, JP_GENERATE_MAX_PROMPTS)) goto out;
            break;
        case 'n':
        case 's':
        case 'b':
        case 't': {
            long lo = opt == 't' || opt == 'b' ? 1 : opt == 'n' ? 1 : 1;
            long hi = opt == 'n' ? 100000 : opt == 's' ? 100000 : opt == 'b' ? 4096 : 64;
            const char *name = opt == 'n' ? "n" : opt == 's' ? "steps" : opt == 'b' ? "batch" : "threads";
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || errno || v < lo || v > hi) {
                cli_error("generate", "--%s %s: expected a whole number from %ld to %ld", name, optarg, lo, hi);
                goto out;
            }
            if (opt == 'n') c.n = (int)v;
            else if (opt == 's') c.steps = (int)v;
            else if (opt == 'b') c.batch = (int)v;
            else c.threads = (int)v;
            break;
        }
        case 'g':
            errno = 0;
            c.guidance = strtod(optarg, &end);
            if (end == optarg || *end || errno || !isfinite(c.guidance) || c.guidance < 0 || c.guidance > 100) {
                cli_error("generate", "--guidance %s: expected a number from 0 to 100", optarg);
                goto out;
            }
            break;
        case 'S': {
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (end == optarg || *end || errno || optarg[0] == '-') {
                cli_error("generate", "--seed %s: expected a whole number from 0 to 2^64-1", optarg);
                goto out;
            }
            c.seed = (uint64_t)v;
            break;
        }
        case 'o': outdir = optarg; break;
        case 'Q': quality = 1; break;
        case 'G': grid = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'M': c.models_dir = optarg; break;
        case 'j': json = 1; break;
        case 'h':
            fputs(help, stdout);
            rc = 0;
            goto out;
        default: {
            int v = cli_carbon_option("generate", &co, opt, optarg);
            if (v == 0) v = cli_meter_option("generate", &mo, opt, optarg);
            if (v == 1) break;
            if (v == 0) fputs(help, stderr);
            goto out;
        }
        }
    }
    if (optind < argc) {
        cli_error("generate", "unexpected argument '%s' (a prompt goes after --prompt)", argv[optind]);
        goto out;
    }
    if (list) {
        rc = list_models(c.models_dir, json);
        goto out;
    }
    if (!c.model) {
        cli_error("generate", "no model: --model NAME (jouleprint generate --list shows them)");
        goto out;
    }
    if (np == 0) {
        cli_error("generate", "no prompt: --prompt TEXT or --prompts FILE");
        goto out;
    }
    jp_intensity ci;
    if (cli_carbon_resolve("generate", &co, &ci)) goto out;
    if (outdir && prepare_dir(outdir)) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (jp_meter_open(&m, &mo.cfg) != JP_OK) {
        cli_error("generate", "%s", jp_last_error());
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (mo.baseline_s > 0 && jp_meter_baseline(m, mo.baseline_s) != JP_OK) {
        cli_error("generate", "baseline: %s", jp_last_error());
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    struct progress pr = {isatty(2), -1};
    c.prompts = (const char *const *)prompts;
    c.nprompts = np;
    c.progress = on_progress;
    c.progress_arg = &pr;
    int st = jp_generate_run(&c, m, &r);
    if (pr.tty && pr.last >= 0) fputs("\r\033[K", stderr);
    if (st != JP_OK) {
        cli_error("generate", "%s", jp_last_error());
        rc = st == JP_ERR_RANGE || st == JP_ERR_NOTFOUND ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        goto out;
    }
    double energy = r.load_j + r.infer_j;
    double carbon = jp_carbon_grams(energy, ci.g_per_kwh, co.pue), carbon_img = jp_carbon_grams(r.j_per_image, ci.g_per_kwh, co.pue);
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(r.model.name));
    json_object_set_new(o, "params", json_integer((json_int_t)r.model.params));
    json_object_set_new(o, "flops_per_step", json_real(r.model.flops_per_step));
    json_object_set_new(o, "train_steps", json_integer(r.model.train_steps));
    json_object_set_new(o, "steps", json_integer(c.steps));
    json_object_set_new(o, "guidance", json_real(c.guidance));
    json_object_set_new(o, "seed", json_integer((json_int_t)c.seed));
    json_object_set_new(o, "batch", json_integer(c.batch));
    json_object_set_new(o, "threads", json_integer(c.threads));
    json_object_set_new(o, "n", json_integer(r.n));
    json_object_set_new(o, "network_evals_per_image", json_real(r.network_evals));
    json_object_set_new(o, "load_s", json_real(r.load_s));
    json_object_set_new(o, "infer_s", json_real(r.infer_s));
    json_object_set_new(o, "images_per_s", json_real(r.infer_s > 0 ? r.n / r.infer_s : 0));
    json_object_set_new(o, "load_j", json_real(r.load_j));
    json_object_set_new(o, "infer_j", json_real(r.infer_j));
    json_object_set_new(o, "energy_j", json_real(energy));
    json_object_set_new(o, "j_per_image", json_real(r.j_per_image));
    json_object_set_new(o, "phases", json_pack("[{s:s, s:f, s:f}, {s:s, s:f, s:f}]", "name", "load", "joules", r.load_j,
                                               "duration_s", r.load_s, "name", "infer", "joules", r.infer_j,
                                               "duration_s", r.infer_s));
    json_object_set_new(o, "carbon_g", json_real(carbon));
    json_object_set_new(o, "carbon_g_per_image", json_real(carbon_img));
    cli_carbon_json(o, &ci, &co);
    json_object_set_new(o, "estimated", json_boolean(jp_meter_estimated(m)));
    json_t *doms = json_array();
    for (size_t i = 0; i < jp_meter_domain_count(m); i++)
        json_array_append_new(doms, json_pack("{s:s, s:s, s:f, s:b}", "name", jp_meter_domain_name(m, i), "source",
                                              jp_meter_domain_source(m, i), "joules", jp_meter_joules(m, (int)i),
                                              "estimated", jp_meter_domain_estimated(m, i)));
    json_object_set_new(o, "domains", doms);
    json_object_set_new(o, "power_model", cli_model_json(m));
    jp_gen_quality q;
    memset(&q, 0, sizeof q);
    if (quality) {
        if (r.n < 2) {
            cli_error("generate", "--quality needs at least 2 images (--n)");
            json_decref(o);
            goto out;
        }
        jp_gen_quality_config qc = {.models_dir = c.models_dir, .data_dir = data_dir, .nearest_n = -1, .threads = c.threads};
        if (jp_gen_quality_score(&qc, r.pixels, r.classes, r.n, &q) != JP_OK) {
            cli_error("generate", "--quality: %s", jp_last_error());
            json_decref(o);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        json_object_set_new(o, "quality",
                            json_pack("{s:s, s:i, s:i, s:f, s:f, s:i, s:i, s:f, s:i}", "classifier", q.classifier, "n", q.n,
                                      "adherent", q.adherent, "adherence", q.adherence, "fid", q.fid, "fid_reference_n",
                                      q.reference_n, "feature_dim", q.feature_dim, "nearest_train_l2", q.nearest_train_l2,
                                      "nearest_n", q.nearest_n));
    }
    if (outdir) {
        names = calloc((size_t)r.n, sizeof *names);
        if (!names) {
            cli_error("generate", "out of memory");
            json_decref(o);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        int failed = -1;
        for (int i = 0; i < r.n && failed < 0; i++) {
            char path[4400];
            image_name(prompts[r.prompt_index[i]], r.prompt_index[i], r.image_index[i], names[i], sizeof names[i]);
            snprintf(path, sizeof path, "%s/%s", outdir, names[i]);
            if (jp_generate_write_png(&r, i, path) != JP_OK) failed = i;
        }
        if (failed >= 0) {
            cli_error("generate", "%s", jp_last_error());
            for (int i = 0; i <= failed; i++) { /* nothing half written */
                char path[4400];
                snprintf(path, sizeof path, "%s/%s", outdir, names[i]);
                unlink(path);
            }
            json_decref(o);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
    }
    if (grid && jp_generate_write_grid(&r, grid) != JP_OK) {
        cli_error("generate", "--grid %s: %s", grid, jp_last_error());
        json_decref(o);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    json_object_set_new(o, "images", images_json(&r, prompts, names, c.seed));
    if (outdir) {
        char path[4400], tmp[4400];
        snprintf(path, sizeof path, "%s/manifest.json", outdir);
        snprintf(tmp, sizeof tmp, "%s/.manifest.json.tmp", outdir);
        FILE *f = fopen(tmp, "w");
        int bad = !f || json_dumpf(o, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0 || fputc('\n', f) == EOF;
        if (f && fclose(f) != 0) bad = 1;
        if (bad || rename(tmp, path) != 0) {
            cli_error("generate", "%s: cannot write: %s", path, strerror(errno));
            unlink(tmp);
            json_decref(o);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
    }
    if (json) {
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
    } else {
        char p[32], fl[32], a[64], b[64], d[64], e[64];
        fmt_count((double)r.model.params, p, sizeof p);
        fmt_count(r.model.flops_per_step, fl, sizeof fl);
        printf("\n jouleprint generate: %s (%s parameters, %sFLOPs per step, trained %d steps) made %d image%s\n\n",
               r.model.name, p, fl, r.model.train_steps, r.n, r.n == 1 ? "" : "s");
        for (int i = 0; i < np; i++) {
            int cls = r.classes[i * c.n];
            printf("  %-11s \"%s\" -> %s x %d\n", i ? "" : "prompts", prompts[i], r.class_names[cls], c.n);
        }
        printf("  %-11s %d steps, guidance %g (%g network evaluations per image), seed %llu\n", "sampling", c.steps,
               c.guidance, r.network_evals, (unsigned long long)c.seed);
        printf("  %-11s %.2f images/s  (batch %d, %d thread%s)\n", "speed", r.infer_s > 0 ? r.n / r.infer_s : 0.0,
               c.batch, c.threads, c.threads == 1 ? "" : "s");
        jp_format_energy(r.load_j, a, sizeof a);
        jp_format_duration(r.load_s, b, sizeof b);
        jp_format_energy(r.infer_j, d, sizeof d);
        jp_format_duration(r.infer_s, e, sizeof e);
        printf("  %-11s load %s (%s), infer %s (%s)   %s\n", "energy", a, b, d, e,
               jp_meter_estimated(m) ? "ESTIMATED" : "measured");
        jp_format_energy(r.j_per_image, a, sizeof a);
        printf("  %-11s %s per image\n", "", a);
        jp_format_mass(carbon, a, sizeof a);
        jp_format_mass(carbon_img, b, sizeof b);
        char basis[512];
        cli_carbon_basis(basis, sizeof basis, &ci, &co);
        printf("  %-11s %s CO2e, %s per image  (%s)\n", "carbon", a, b, basis);
        if (quality) {
            printf("  %-11s adherence %.1f%% (%d / %d by %s), FID %.2f (%d-wide features, against %d test images)\n",
                   "quality", q.adherence * 100, q.adherent, q.n, q.classifier, q.fid, q.feature_dim, q.reference_n);
            printf("  %-11s nearest training image at %.3f on average (L2 of pixels / 255, %d images)\n", "", q.nearest_train_l2,
                   q.nearest_n);
        }
        if (outdir) printf("  %-11s %s/ (%d PNG files and manifest.json)\n", "written", outdir, r.n);
        cli_print_model(stdout, m);
        putchar('\n');
    }
    json_decref(o);
    rc = 0;
out:
    for (int i = 0; i < np; i++) free(prompts[i]);
    free(prompts);
    free(names);
    jp_generate_result_free(&r);
    if (m) jp_meter_close(m);
    return rc;
}
