/* The `summarize` workload (jouleprint.h): the models of models/ whose config.json says model_type
 * "jp-seq2seq", and lead-1; pairs files; a measured run in phases "load" and "infer", scored by ROUGE. */
#define _GNU_SOURCE /* mkostemp */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jouleprint/workloads.h"
#include "proc.h"
#include "util.h"
#include "workload/model_dir.h"

#define LEAD1 "lead-1"
#define OTS "ots"


static void lead1_info(jp_sum_model_info *info)
{
    memset(info, 0, sizeof *info);
    jp_strlcpy(info->name, LEAD1, sizeof info->name);
    jp_strlcpy(info->description, "the first sentence of the text (extractive baseline, built in)",
               sizeof info->description);
}

/* Fills info from dir/config.json; JP_ERR_NOTFOUND if it is not a summarization model. */
static int read_info(const char *dir, const char *name, jp_sum_model_info *info)
{
    memset(info, 0, sizeof *info);
    json_t *root;
    int rc = jp_model_dir_config(dir, &root);
    if (rc) return rc;
    json_t *mt = json_object_get(root, "model_type");
    if (!json_is_string(mt) || strcmp(json_string_value(mt), "jp-seq2seq")) {
        json_decref(root);
        return jp_fail(JP_ERR_NOTFOUND, "%s: not a summarization model (model_type is not \"jp-seq2seq\")", dir);
    }
    jp_strlcpy(info->name, name, sizeof info->name);
    jp_strlcpy(info->dir, dir, sizeof info->dir);
    jp_textf(info->description, sizeof info->description,
             "encoder-decoder, d_model %d, %d+%d layers, trained %.2f epochs", (int)jp_json_num(root, "d_model"),
             (int)jp_json_num(root, "num_layers"), (int)jp_json_num(root, "num_decoder_layers"),
             jp_json_num(json_object_get(root, "training"), "epochs"));
    info->params = (uint64_t)jp_json_num(root, "parameters");
    info->flops_per_summary = jp_json_num(root, "flops_per_summary");
    json_t *ev = json_object_get(root, "eval_greedy");
    info->rouge1 = jp_json_num(ev, "rouge1_f");
    info->rouge2 = jp_json_num(ev, "rouge2_f");
    info->rougeL = jp_json_num(ev, "rougeL_f");
    json_decref(root);
    return JP_OK;
}

static int by_flops(const void *a, const void *b)
{
    const jp_sum_model_info *x = a, *y = b;
    return x->flops_per_summary < y->flops_per_summary ? -1 : x->flops_per_summary > y->flops_per_summary ? 1
                                                                                                       : strcmp(x->name, y->name);
}

static void ots_info(jp_sum_model_info *info)
{
    memset(info, 0, sizeof *info);
    jp_strlcpy(info->name, OTS, sizeof info->name);
    jp_strlcpy(info->description, "Open Text Summarizer (Debian's ots, GPL), run as a program per text: its best "
                                  "sentence (--ratio=1)", sizeof info->description);
}

/* ots's output gathered with white space runs made one space (a newline counts as white space). */
struct ots_out {
    char *buf;
    size_t len, o;
    bool sp;
};

static void ots_line(void *arg, const char *line, size_t n)
{
    struct ots_out *w = arg;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? line[i] : '\n';
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            w->sp = w->o > 0;
            continue;
        }
        if (w->sp && w->o + 1 < w->len) w->buf[w->o++] = ' ';
        w->sp = false;
        if (w->o + 1 < w->len) w->buf[w->o++] = c;
    }
}

/* Runs `ots --ratio=1 FILE` on text (written to a temporary file); its output, white space runs made one
 * space, into buf. JP_ERR_NOTFOUND when ots cannot be run. */
static int ots_run(const char *text, char *buf, size_t len)
{
    char path[] = "/tmp/jouleprint-ots-XXXXXX";
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) return jp_fail(JP_ERR_IO, "ots: cannot create a temporary file: %s", strerror(errno));
    size_t n = strlen(text);
    int rc = JP_OK;
    if (write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1) rc = jp_fail(JP_ERR_IO, "ots: cannot write %s", path);
    close(fd);
    struct ots_out w = {buf, len, 0, false};
    if (rc == JP_OK) {
        char *argv[] = {"ots", "--ratio=1", path, NULL};
        jp_spawn_config sc;
        jp_spawn_config_init(&sc);
        sc.in = JP_SPAWN_NULL;
        sc.out = JP_SPAWN_LINES;
        sc.err = JP_SPAWN_NULL;
        sc.on_line = ots_line;
        sc.arg = &w;
        jp_spawn_result r;
        if (jp_spawn_run(argv, &sc, &r) != JP_OK)
            rc = jp_fail(JP_ERR_NOTFOUND, "ots cannot be run (%s): install Debian's ots (scripts/bootstrap does)",
                         jp_last_error());
        else if (r.exit_status == 127)
            rc = jp_fail(JP_ERR_NOTFOUND, "ots cannot be run: install Debian's ots (scripts/bootstrap does)");
        else if (r.exit_status != 0)
            rc = jp_fail(JP_ERR_IO, "ots failed (status %d) on a text", r.exit_status);
    }
    if (len) buf[w.o] = '\0';
    unlink(path);
    return rc;
}

int jp_sum_list(const char *models_dir, jp_sum_model_info *out, size_t max)
{
    char zoo[PATH_MAX];
    int rc = jp_classify_models_dir(models_dir, zoo, sizeof zoo);
    if (rc) return rc;
    DIR *d = opendir(zoo);
    if (!d) return jp_fail(JP_ERR_IO, "%s: cannot be listed", zoo);
    jp_sum_model_info all[64];
    size_t n = 0;
    struct dirent *e;
    while (n < 62 && (e = readdir(d))) {
        char dir[PATH_MAX];
        if (e->d_name[0] == '.' || jp_pathf(dir, sizeof dir, "%s/%s", zoo, e->d_name)) continue;
        if (read_info(dir, e->d_name, &all[n]) == JP_OK) n++;
    }
    closedir(d);
    qsort(all, n, sizeof *all, by_flops);
    lead1_info(&all[n++]);
    ots_info(&all[n++]);
    for (size_t i = 0; i < n && i < max; i++) out[i] = all[i];
    return (int)n;
}

int jp_sum_find(const char *models_dir, const char *name, jp_sum_model_info *out)
{
    if (!name || !*name) return jp_fail(JP_ERR_INVAL, "no model named");
    if (!strcmp(name, LEAD1)) {
        lead1_info(out);
        return JP_OK;
    }
    if (!strcmp(name, OTS)) {
        ots_info(out);
        return JP_OK;
    }
    if (strchr(name, '/')) {
        const char *base = strrchr(name, '/') + 1;
        return read_info(name, *base ? base : name, out);
    }
    char zoo[PATH_MAX], dir[PATH_MAX];
    int rc = jp_classify_models_dir(models_dir, zoo, sizeof zoo);
    if (rc) return rc;
    if ((rc = jp_pathf(dir, sizeof dir, "%s/%s", zoo, name))) return rc;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || read_info(dir, name, out) != JP_OK) {
        jp_sum_model_info all[64];
        int n = jp_sum_list(zoo, all, 64);
        char names[512] = "";
        for (int i = 0; i < n && i < 64; i++) {
            size_t l = strlen(names);
            if (l + strlen(all[i].name) + 3 >= sizeof names) break;
            snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", all[i].name);
        }
        return jp_fail(JP_ERR_NOTFOUND, "unknown summarization model '%s' (in %s: %s)", name, zoo, names);
    }
    return JP_OK;
}

/* ---- pairs files ---------------------------------------------------------------------------- */

void jp_sum_pairs_free(jp_sum_pairs *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->names[i]), free(p->texts[i]), free(p->refs[i]);
    free(p->names), free(p->texts), free(p->refs);
    memset(p, 0, sizeof *p);
}

#define MAX_PAIRS 1000000
#define MAX_FIELD (1 << 20)

int jp_sum_pairs_read(const char *path, jp_sum_pairs *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    int rc;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) rc = jp_pathf(out->path, sizeof out->path, "%s/eval.tsv", path);
    else rc = jp_pathf(out->path, sizeof out->path, "%s", path);
    if (rc) return rc;
    FILE *f = fopen(out->path, "r");
    if (!f) return jp_fail(errno == ENOENT ? JP_ERR_NOTFOUND : JP_ERR_IO, "%s: cannot read: %s", out->path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t len;
    int col_name = -1, col_ref = -1, col_text = -1, ncols = 0;
    long lineno = 0;
    rc = JP_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
        if (len > MAX_FIELD) {
            rc = jp_fail(JP_ERR_PARSE, "%s: line %ld: over %d bytes", out->path, lineno, MAX_FIELD);
            break;
        }
        size_t bad;
        if (!jp_utf8_valid(line, (size_t)len, &bad)) {
            rc = jp_fail(JP_ERR_PARSE, "%s: line %ld: invalid UTF-8 at byte %zu", out->path, lineno, bad + 1);
            break;
        }
        char *field[64];
        int nf = 0;
        for (char *p = line; nf < 64;) {
            field[nf++] = p;
            char *t = strchr(p, '\t');
            if (!t) break;
            *t = '\0';
            p = t + 1;
        }
        if (lineno == 1) {
            for (int i = 0; i < nf; i++) {
                if (!strcmp(field[i], "package")) col_name = i;
                if (!strcmp(field[i], "synopsis")) col_ref = i;
                if (!strcmp(field[i], "description")) col_text = i;
            }
            ncols = nf;
            if (col_ref < 0 || col_text < 0) {
                rc = jp_fail(JP_ERR_PARSE, "%s: line 1: expected a header with the columns \"synopsis\" and "
                                           "\"description\" (tab-separated)", out->path);
                break;
            }
            continue;
        }
        if (nf != ncols) {
            rc = jp_fail(JP_ERR_PARSE, "%s: line %ld: %d fields, the header has %d", out->path, lineno, nf, ncols);
            break;
        }
        if (!*field[col_text] || !*field[col_ref]) {
            rc = jp_fail(JP_ERR_PARSE, "%s: line %ld: empty %s", out->path, lineno,
                         *field[col_text] ? "synopsis" : "description");
            break;
        }
        if (out->n == MAX_PAIRS) {
            rc = jp_fail(JP_ERR_RANGE, "%s: over %d pairs", out->path, MAX_PAIRS);
            break;
        }
        if (out->n == alloc) {
            alloc = alloc ? 2 * alloc : 256;
            char **a = realloc(out->names, alloc * sizeof *a), **b = a ? realloc(out->texts, alloc * sizeof *b) : NULL,
                 **c = b ? realloc(out->refs, alloc * sizeof *c) : NULL;
            if (a) out->names = a;
            if (b) out->texts = b;
            if (c) out->refs = c;
            if (!a || !b || !c) {
                rc = jp_fail(JP_ERR_NOMEM, "out of memory reading %s", out->path);
                break;
            }
        }
        out->names[out->n] = strdup(col_name >= 0 ? field[col_name] : "");
        out->texts[out->n] = strdup(field[col_text]);
        out->refs[out->n] = strdup(field[col_ref]);
        out->n++;
        if (!out->names[out->n - 1] || !out->texts[out->n - 1] || !out->refs[out->n - 1]) {
            rc = jp_fail(JP_ERR_NOMEM, "out of memory reading %s", out->path);
            break;
        }
    }
    free(line);
    fclose(f);
    if (rc == JP_OK && lineno == 0) rc = jp_fail(JP_ERR_PARSE, "%s: empty file (expected a header line)", out->path);
    if (rc == JP_OK && out->n == 0) rc = jp_fail(JP_ERR_PARSE, "%s: no pairs after the header", out->path);
    if (rc != JP_OK) jp_sum_pairs_free(out);
    return rc;
}

/* ---- the run ---------------------------------------------------------------------------------- */

void jp_sum_config_init(jp_sum_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->batch = 16;
    cfg->threads = 1;
    jp_s2s_gen_init(&cfg->gen);
    /* the workload's decoding (the engine's defaults are off): known words only, and a bonus for continuing
     * a phrase of the text, 2.5 as chosen on the validation pairs (models/sum/README.md) */
    cfg->gen.words = 1;
    cfg->gen.span_bonus = JP_SUM_SPAN_BONUS;
}

void jp_sum_result_free(jp_sum_result *r)
{
    if (r->summaries)
        for (size_t i = 0; i < r->n; i++) free(r->summaries[i]);
    free(r->summaries);
    free(r->scores);
    r->summaries = NULL;
    r->scores = NULL;
}

static size_t phase_index(jp_meter *m, const char *name)
{
    for (size_t i = 0; i < jp_meter_phase_count(m); i++)
        if (!strcmp(jp_meter_phase_name(m, i), name)) return i;
    return (size_t)-1;
}

#define SUMMARY_BYTES 4096

static int run_phases(const jp_sum_config *cfg, jp_meter *m, jp_sum_result *out)
{
    int batch = cfg->batch, threads = cfg->threads, rc = JP_OK;
    size_t n = cfg->n;
    jp_roots roots, *rp = jp_roots_from_env(&roots) == JP_OK ? &roots : NULL;
    struct jp_cpu_mark m0 = {0}, m1 = {0}, m2 = {0};
    bool ots = !strcmp(out->model.name, OTS) && out->model.dir[0] == '\0';
    bool lead = out->model.dir[0] == '\0';
    jp_s2s *net = NULL;
    int32_t *sbuf = NULL, *obuf = NULL, **sp = NULL, **op = NULL;
    int *slen = NULL, *olen = NULL;
    char *text = NULL;
    if (m && (rc = jp_meter_phase(m, "load")) != JP_OK) return rc;
    jp_cpu_mark_now(rp, &m0);
    int S = 0, T = 0;
    if (!lead) {
        int b = batch < (int)n ? batch : (int)n;
        if ((rc = jp_s2s_load(&net, out->model.dir, b, cfg->gen.beam, threads)) != JP_OK) goto done;
        jp_s2s_info info;
        jp_s2s_info_get(net, &info);
        S = info.max_source;
        T = info.max_target;
        sbuf = malloc((size_t)b * S * sizeof *sbuf);
        obuf = malloc((size_t)b * T * sizeof *obuf);
        sp = malloc((size_t)b * sizeof *sp), op = malloc((size_t)b * sizeof *op);
        slen = malloc((size_t)b * sizeof *slen), olen = malloc((size_t)b * sizeof *olen);
        text = malloc(SUMMARY_BYTES);
        if (!sbuf || !obuf || !sp || !op || !slen || !olen || !text) {
            rc = jp_fail(JP_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < b; i++) sp[i] = sbuf + (size_t)i * S, op[i] = obuf + (size_t)i * T;
        batch = b;
    }
    jp_cpu_mark_now(rp, &m1);
    if (m && (rc = jp_meter_phase(m, "infer")) != JP_OK) goto done;
    for (size_t at = 0; at < n; at += (size_t)batch) {
        int b = (int)(n - at < (size_t)batch ? n - at : (size_t)batch);
        if (ots) {
            for (int i = 0; i < b; i++) {
                char sbuf2[SUMMARY_BYTES];
                if ((rc = ots_run(cfg->texts[at + i], sbuf2, sizeof sbuf2)) != JP_OK) goto done;
                if (!(out->summaries[at + i] = strdup(sbuf2))) {
                    rc = jp_fail(JP_ERR_NOMEM, "out of memory");
                    goto done;
                }
            }
            continue;
        }
        if (lead) {
            for (int i = 0; i < b; i++) {
                const char *t = cfg->texts[at + i];
                size_t need = jp_lead1(t, NULL, 0);
                out->summaries[at + i] = malloc(need + 1);
                if (!out->summaries[at + i]) {
                    rc = jp_fail(JP_ERR_NOMEM, "out of memory");
                    goto done;
                }
                jp_lead1(t, out->summaries[at + i], need + 1);
            }
            continue;
        }
        for (int i = 0; i < b; i++) {
            const char *t = cfg->texts[at + i];
            long k = jp_bpe_encode(jp_s2s_tokenizer(net), t, strlen(t), sp[i], (size_t)S);
            if (k < 0) {
                rc = (int)k;
                goto done;
            }
            if (k == 0) {
                rc = jp_fail(JP_ERR_INVAL, "text %zu has no token (only white space)", at + i + 1);
                goto done;
            }
            if (k > S) {
                if (out->truncated == 0) {
                    out->first_truncated = at + i;
                    out->first_tokens = k;
                    out->first_kept = S;
                }
                out->truncated++;
                out->tokens_dropped += k - S;
                k = S;
            }
            slen[i] = (int)k;
            out->source_tokens += k;
        }
        if ((rc = jp_s2s_generate(net, (const int32_t *const *)sp, slen, b, &cfg->gen, op, olen)) != JP_OK) goto done;
        for (int i = 0; i < b; i++) {
            jp_bpe_decode(jp_s2s_tokenizer(net), op[i], (size_t)olen[i], text, SUMMARY_BYTES);
            out->generated_tokens += olen[i] + 1;
            if (!(out->summaries[at + i] = strdup(text))) {
                rc = jp_fail(JP_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
    }
    jp_cpu_mark_now(rp, &m2);
    out->load_s = m1.t - m0.t;
    out->infer_s = m2.t - m1.t;
    out->load_cpu_s = m1.cpu - m0.cpu;
    out->infer_cpu_s = m2.cpu - m1.cpu;
    out->load_share = jp_cpu_share_between(&m0, &m1);
    out->infer_share = jp_cpu_share_between(&m1, &m2);
done:
    jp_s2s_free(net);
    free(sbuf), free(obuf), free(sp), free(op), free(slen), free(olen), free(text);
    return rc;
}

int jp_sum_run(const jp_sum_config *cfg, jp_meter *m, jp_sum_result *out)
{
    if (!cfg || !out || !cfg->model) return jp_fail(JP_ERR_INVAL, "jp_sum_run: no model given");
    memset(out, 0, sizeof *out);
    out->load_share = out->infer_share = -1;
    if (cfg->n == 0) return jp_fail(JP_ERR_INVAL, "no text to summarize");
    if (cfg->batch < 1 || cfg->batch > 4096) return jp_fail(JP_ERR_RANGE, "batch %d outside 1..4096", cfg->batch);
    if (cfg->threads < 1 || cfg->threads > 64) return jp_fail(JP_ERR_RANGE, "threads %d outside 1..64", cfg->threads);
    if (cfg->gen.beam < 1 || cfg->gen.beam > 64) return jp_fail(JP_ERR_RANGE, "beam %d outside 1..64", cfg->gen.beam);
    for (size_t i = 0; i < cfg->n; i++) {
        const char *t = cfg->texts[i];
        size_t len = strlen(t), bad, k = 0;
        while (k < len && (t[k] == ' ' || t[k] == '\t' || t[k] == '\n' || t[k] == '\r' || t[k] == '\v' || t[k] == '\f')) k++;
        if (k == len) return jp_fail(JP_ERR_INVAL, "text %zu is empty", i + 1);
        if (!jp_utf8_valid(t, len, &bad)) return jp_fail(JP_ERR_PARSE, "text %zu: invalid UTF-8 at byte %zu", i + 1, bad + 1);
        if (len > MAX_FIELD) return jp_fail(JP_ERR_RANGE, "text %zu: %zu bytes, over the %d this tool reads", i + 1, len, MAX_FIELD);
    }
    int rc = jp_sum_find(cfg->models_dir, cfg->model, &out->model);
    if (rc) return rc;
    out->n = cfg->n;
    out->summaries = calloc(cfg->n, sizeof *out->summaries);
    if (!out->summaries) return jp_fail(JP_ERR_NOMEM, "out of memory");
    if (m && (rc = jp_meter_start(m)) != JP_OK) return rc;
    rc = run_phases(cfg, m, out);
    if (m) {
        int src = jp_meter_stop(m);
        if (!rc) rc = src;
    }
    if (!rc && m) {
        size_t pl = phase_index(m, "load"), pi = phase_index(m, "infer");
        if (pl != (size_t)-1) out->load_j = jp_meter_phase_joules(m, pl, JP_TOTAL);
        if (pi != (size_t)-1) out->infer_j = jp_meter_phase_joules(m, pi, JP_TOTAL);
        out->j_per_summary = out->infer_j / (double)out->n;
        out->estimated = jp_meter_estimated(m);
    }
    if (!rc && cfg->refs) {
        out->scores = calloc(cfg->n, sizeof *out->scores);
        if (!out->scores) rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        for (size_t i = 0; !rc && i < cfg->n; i++) {
            if ((rc = jp_rouge(out->summaries[i], cfg->refs[i], &out->scores[i])) != JP_OK) break;
            jp_rouge_prf *a[3] = {&out->mean.r1, &out->mean.r2, &out->mean.rl};
            const jp_rouge_prf *b[3] = {&out->scores[i].r1, &out->scores[i].r2, &out->scores[i].rl};
            for (int k = 0; k < 3; k++) {
                a[k]->p += b[k]->p / (double)cfg->n;
                a[k]->r += b[k]->r / (double)cfg->n;
                a[k]->f += b[k]->f / (double)cfg->n;
            }
        }
    }
    if (rc) jp_sum_result_free(out);
    return rc;
}
