/* summarize_speed: the summarization engine (jp_s2s_generate, src/nn/seq2seq.c) against PyTorch on the zoo's
 * summarization models (models/sum-xs, sum-s, sum-m: every sum-* folder), greedy decoding, in one run.
 *
 * For each model, batch size (1 and 16 by default) and thread count (1 and 2 by default), both sides get
 * the same weights (the model's model.safetensors) and the very same token ids: the first N descriptions
 * of data/summarize/eval.tsv (N = --texts, default 64, cycling through the file if it has fewer),
 * tokenized once here by the engine's tokenizer and truncated to the model's max_source (128), handed to
 * PyTorch in a file, run in order in whole batches of B, cycling. Both decode greedily with the same
 * max_len (the model's max_target, 48: at most 47 tokens, then </s>); models/sum/train.py has no beam
 * search, so there is no beam setting. The engine's greedy tokens of every text go into the same file,
 * and PyTorch checks its own against them before it starts (its READY line gives the number of texts
 * whose tokens differ: on the first batch, and on all N).
 *
 * The two sides run in interleaved windows of S seconds (default 1), engine then PyTorch, R rounds
 * (default 5), after one warm-up window each, so that the load of the machine falls on both alike; each
 * window starts after GAP_S of quiet, so that the other side's threads, which spin a while after their
 * last task, have gone to sleep before it. Reported per setting: summaries/s and generated tokens/s
 * (the ids of the summaries plus each </s>) of each side, median with the lowest and highest window, the
 * ratio of the medians and the median of the per-round ratios (of summaries/s), the machine, and the load
 * average before and after. The engine's model is loaded (jp_s2s_load for B texts, beam 1, T threads)
 * before its windows; they time jp_s2s_generate only.
 *
 * PyTorch (bench/summarize_speed_torch.py, run by Debian's /usr/bin/python3) is one child per setting,
 * kept alive for all its windows and driven over pipes (bench_util.h), on T threads with
 * OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS = T set before torch is imported, in
 * inference_mode; it times train.py's own greedy() (eager, with a key/value cache), the same arithmetic as
 * one module in eager mode, and that module under torch.jit.script (then freeze, then
 * optimize_for_inference), and uses the fastest whose tokens equal the engine's; its READY line names it
 * and gives every configuration's speed. With --json FILE all of it, every window included, is also
 * written as JSON, for BENCHMARKS.md. --no-torch runs the engine alone (for a profiler).
 *
 *     summarize_speed [--model NAME]... [--batch B]... [--threads T]... [--rounds R] [--seconds S]
 *                     [--texts N] [--models-dir D] [--python PATH] [--no-torch] [--json FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "nn/blas.h"
#include "util.h"

#include "bench_util.h"

#define MAX_ROUNDS 32
#define MAX_THREADS 64
#define MAX_BATCH 256
#define MAX_TEXTS 100000
#define MAX_MODELS 16
#define GAP_S 0.25 /* quiet before each window */

static const char USAGE[] = "[--model NAME]... [--batch B]... [--threads T]... [--rounds R] [--seconds S] "
                            "[--texts N] [--models-dir D] [--python PATH] [--no-torch] [--json FILE]";
static const char *const WITH_VALUE[] = {"--model", "--batch", "--threads", "--rounds", "--seconds", "--texts", "--models-dir",
                                                    "--python", "--json", NULL};
static const char *prog = "summarize_speed";

static _Noreturn void bad_usage(const char *what) { bench_bad_usage(prog, USAGE, what); }

/* ---- the machine ------------------------------------------------------------------------------- */

static void read_machine(struct bench_machine *m)
{
    bench_machine_read(m);
    jp_nn_blas_describe(m->blas, sizeof m->blas);
}

/* ---- the texts ----------------------------------------------------------------------------------- */

/* N texts as ids, truncated to a model's max_source; ids[i] points into one block. */
struct texts {
    int n;
    int32_t **ids;
    int *len;
    long tokens_cut; /* source tokens beyond max_source, over all texts */
    int truncated;   /* texts that had more */
};

static void texts_free(struct texts *t)
{
    if (t->ids) free(t->ids[0]);
    free(t->ids);
    free(t->len);
    memset(t, 0, sizeof *t);
}

/* The first n descriptions of p (cycling), encoded by tok. 0, or -1 with a message. */
static int texts_encode(struct texts *t, const jp_sum_pairs *p, int n, const jp_bpe *tok, int max_source)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    t->ids = calloc((size_t)n, sizeof *t->ids);
    t->len = calloc((size_t)n, sizeof *t->len);
    int32_t *block = malloc((size_t)n * (size_t)max_source * sizeof *block);
    if (!t->ids || !t->len || !block) {
        free(block);
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        t->ids[i] = block + (size_t)i * max_source;
        const char *s = p->texts[(size_t)i % p->n];
        long k = jp_bpe_encode(tok, s, strlen(s), t->ids[i], (size_t)max_source);
        if (k < 1) {
            fprintf(stderr, "%s: text %zu: %s\n", p->path, (size_t)i % p->n, k < 0 ? jp_last_error() : "no tokens");
            return -1;
        }
        t->len[i] = k < max_source ? (int)k : max_source;
        if (k > max_source) {
            t->truncated++;
            t->tokens_cut += k - max_source;
        }
    }
    return 0;
}

/* ---- the settings ------------------------------------------------------------------------------ */

struct side {
    double warmup, w[MAX_ROUNDS], tok[MAX_ROUNDS]; /* summaries/s and generated tokens/s; -1: failed */
    double median, lo, hi, tok_median, tok_lo, tok_hi;
    int ok;
};

struct row {
    jp_sum_model_info info;
    int batch, threads;
    struct side jp, pt;
    char how[1024];           /* PyTorch's configuration, or why it did not run */
    double ratio[MAX_ROUNDS]; /* engine / PyTorch per round (summaries/s) */
    double ratio_median;
    double mean_generated;    /* generated tokens per summary over the N texts (the engine's) */
    char load0[128], load1[128];
};

static void summarize(struct side *s, int rounds)
{
    s->ok = 1;
    for (int k = 0; k < rounds; k++)
        if (!(s->w[k] > 0) || !(s->tok[k] > 0)) s->ok = 0;
    if (!s->ok) return;
    s->median = bench_median(s->w, rounds);
    bench_spread(s->w, rounds, &s->lo, &s->hi);
    s->tok_median = bench_median(s->tok, rounds);
    bench_spread(s->tok, rounds, &s->tok_lo, &s->tok_hi);
}

/* The engine's workspace for one setting: the model, its outputs. */
struct engine {
    jp_s2s *m;
    jp_s2s_gen gen;
    int steps;      /* tokens at most per summary, before </s> */
    int32_t **out;  /* [batch][max_target] */
    int *out_len;
};

/* Generated tokens of one summary: its ids, and its </s> unless it stopped at the limit. */
static long generated(const struct engine *e, int out_len) { return out_len + (out_len < e->steps); }

/* One batch: texts b*B .. b*B+B-1. Generated tokens, or -1. */
static long engine_batch(struct engine *e, const struct texts *t, int b, int batch)
{
    if (jp_s2s_generate(e->m, (const int32_t *const *)(t->ids + (size_t)b * batch), t->len + (size_t)b * batch,
                        batch, &e->gen, e->out, e->out_len) != JP_OK) {
        fprintf(stderr, "%s\n", jp_last_error());
        return -1;
    }
    long n = 0;
    for (int i = 0; i < batch; i++) n += generated(e, e->out_len[i]);
    return n;
}

/* One engine window: whole batches, cycling from *next on, until `seconds` have passed; summaries/s (and
 * generated tokens/s in *tok_s), or -1. The same loop as the PyTorch side's. */
static double engine_window(struct engine *e, const struct texts *t, int batch, double seconds, long *next,
                            double *tok_s)
{
    int nb = t->n / batch;
    long done = 0, tokens = 0;
    double el, t0 = jp_now();
    do {
        long k = engine_batch(e, t, (int)(*next % nb), batch);
        if (k < 0) return -1;
        ++*next;
        tokens += k;
        done += batch;
    } while ((el = jp_now() - t0) < seconds);
    *tok_s = (double)tokens / el;
    return (double)done / el;
}

struct run {
    int rounds, ntexts, torch;
    double seconds;
    const char *python, *script;
    const jp_sum_pairs *pairs;
};

/* The ids file for PyTorch, already unlinked: one line per text, its source ids, a tab, the engine's
 * greedy output ids. Its descriptor (the child opens /dev/fd/N), or -1. */
static int write_ids(struct engine *e, const struct texts *t, int batch, double *mean_generated)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/summarize_speed-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", tmpl, strerror(errno));
        return -1;
    }
    unlink(tmpl);
    int dfd = dup(fd);
    FILE *f = dfd >= 0 ? fdopen(dfd, "w") : NULL;
    int ok = f != NULL;
    long tokens = 0;
    for (int b = 0; ok && b < t->n / batch; b++) {
        long k = engine_batch(e, t, b, batch);
        if (k < 0) {
            ok = 0;
            break;
        }
        tokens += k;
        for (int i = 0; i < batch; i++) {
            int x = b * batch + i;
            for (int j = 0; j < t->len[x]; j++) fprintf(f, j ? " %d" : "%d", (int)t->ids[x][j]);
            fputc('\t', f);
            for (int j = 0; j < e->out_len[i]; j++) fprintf(f, j ? " %d" : "%d", (int)e->out[i][j]);
            fputc('\n', f);
        }
    }
    if (f && fclose(f)) ok = 0;
    if (!f && dfd >= 0) close(dfd);
    if (!ok) {
        fprintf(stderr, "%s: cannot be written\n", tmpl);
        close(fd);
        return -1;
    }
    *mean_generated = (double)tokens / (double)(t->n / batch * batch);
    return fd;
}

static void run_setting(const struct run *u, struct row *r)
{
    bench_loadavg(r->load0, sizeof r->load0);
    for (int k = 0; k < MAX_ROUNDS; k++) r->jp.w[k] = r->pt.w[k] = r->jp.tok[k] = r->pt.tok[k] = -1;
    r->jp.warmup = r->pt.warmup = -1;

    struct engine e = {0};
    struct texts t = {0};
    int fd = -1;
    if (jp_s2s_load(&e.m, r->info.dir, r->batch, 1, r->threads) != JP_OK) {
        fprintf(stderr, "%s: %s\n", r->info.dir, jp_last_error());
        return;
    }
    jp_s2s_info si;
    jp_s2s_info_get(e.m, &si);
    jp_s2s_gen_init(&e.gen); /* greedy, max_len = the model's max_target */
    e.steps = si.max_target - 1;
    e.out = calloc((size_t)r->batch, sizeof *e.out);
    e.out_len = calloc((size_t)r->batch, sizeof *e.out_len);
    int32_t *outs = malloc((size_t)r->batch * (size_t)si.max_target * sizeof *outs);
    if (!e.out || !e.out_len || !outs) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    for (int i = 0; i < r->batch; i++) e.out[i] = outs + (size_t)i * si.max_target;
    if (texts_encode(&t, u->pairs, u->ntexts, jp_s2s_tokenizer(e.m), si.max_source)) goto done;
    /* the engine's tokens of every text, for PyTorch's check: also the engine's first (untimed) pass */
    if ((fd = write_ids(&e, &t, r->batch, &r->mean_generated)) < 0) goto done;

    struct bench_child tc = {0};
    char b[16], th[16], ml[16], ids[32];
    snprintf(b, sizeof b, "%d", r->batch);
    snprintf(th, sizeof th, "%d", r->threads);
    snprintf(ml, sizeof ml, "%d", si.max_target);
    snprintf(ids, sizeof ids, "/dev/fd/%d", fd);
    const char *argv_torch[] = {u->python, u->script, "--model-dir", r->info.dir, "--ids", ids, "--batch", b,
                                "--threads", th, "--max-len", ml, NULL};
    int torch = bench_child_start_or_say(&tc, u->torch, argv_torch, r->threads, r->how, sizeof r->how);
    printf("%-6s batch %-3d threads %-2d PyTorch: %s\n", r->info.name, r->batch, r->threads, r->how);
    fflush(stdout);

    long next = 0;
    double tok;
    bench_sleep(GAP_S);
    r->jp.warmup = engine_window(&e, &t, r->batch, u->seconds, &next, &tok);
    if (torch) {
        bench_sleep(GAP_S);
        r->pt.warmup = bench_child_window2(&tc, u->seconds, &tok);
    }
    for (int k = 0; k < u->rounds; k++) {
        bench_sleep(GAP_S);
        r->jp.w[k] = engine_window(&e, &t, r->batch, u->seconds, &next, &r->jp.tok[k]);
        if (torch) {
            bench_sleep(GAP_S);
            r->pt.w[k] = bench_child_window2(&tc, u->seconds, &r->pt.tok[k]);
        }
    }
    if (torch) bench_child_stop(&tc);

    summarize(&r->jp, u->rounds);
    summarize(&r->pt, u->rounds);
    if (r->jp.ok && r->pt.ok) {
        for (int k = 0; k < u->rounds; k++) r->ratio[k] = r->jp.w[k] / r->pt.w[k];
        r->ratio_median = bench_median(r->ratio, u->rounds);
    }
done:
    if (fd >= 0) close(fd);
    texts_free(&t);
    free(outs);
    free(e.out);
    free(e.out_len);
    jp_s2s_free(e.m);
    bench_loadavg(r->load1, sizeof r->load1);
}

/* ---- output ------------------------------------------------------------------------------------ */

static void side_text(char *buf, size_t len, const struct side *s, int tokens)
{
    if (tokens) bench_stats_text(buf, len, s->ok, s->tok_median, s->tok_lo, s->tok_hi);
    else bench_stats_text(buf, len, s->ok, s->median, s->lo, s->hi);
}

static void print_row(const struct row *r)
{
    char e[128], p[128], et[128], pt[128];
    side_text(e, sizeof e, &r->jp, 0);
    side_text(p, sizeof p, &r->pt, 0);
    side_text(et, sizeof et, &r->jp, 1);
    side_text(pt, sizeof pt, &r->pt, 1);
    printf("%-6s batch %-3d threads %-2d engine %s summaries/s, %s tokens/s  PyTorch %s summaries/s, %s tokens/s",
           r->info.name, r->batch, r->threads, e, et, p, pt);
    if (r->jp.ok && r->pt.ok)
        printf("  ratio %.2fx (per-round median %.2fx)", r->jp.median / r->pt.median, r->ratio_median);
    printf("\n");
    fflush(stdout);
}

static void print_table(const struct row *rows, int nr)
{
    printf("\n| model | batch | threads | engine summaries/s (median, lowest-highest) | PyTorch summaries/s "
           "(median, lowest-highest) | engine tokens/s | PyTorch tokens/s | ratio of medians | per-round ratio "
           "(median) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < nr; i++) {
        const struct row *r = &rows[i];
        char e[128], p[128], et[128], pt[128];
        side_text(e, sizeof e, &r->jp, 0);
        side_text(p, sizeof p, &r->pt, 0);
        side_text(et, sizeof et, &r->jp, 1);
        side_text(pt, sizeof pt, &r->pt, 1);
        printf("| %s | %d | %d | %s | %s | %s | %s | ", r->info.name, r->batch, r->threads, e, p, et, pt);
        if (r->jp.ok && r->pt.ok) printf("%.2fx | %.2fx |\n", r->jp.median / r->pt.median, r->ratio_median);
        else printf("- | - |\n");
    }
}

static json_t *side_json(const struct side *s, int rounds, int ran)
{
    if (!ran) return json_null();
    json_t *o = json_object(), *w = json_array(), *tk = json_array();
    for (int k = 0; k < rounds; k++) {
        json_array_append_new(w, bench_jnum(s->w[k]));
        json_array_append_new(tk, bench_jnum(s->tok[k]));
    }
    json_object_set_new(o, "warmup_summaries_per_s", bench_jnum(s->warmup));
    json_object_set_new(o, "windows_summaries_per_s", w);
    json_object_set_new(o, "windows_tokens_per_s", tk);
    json_object_set_new(o, "median", s->ok ? bench_jnum(s->median) : json_null());
    json_object_set_new(o, "lowest", s->ok ? bench_jnum(s->lo) : json_null());
    json_object_set_new(o, "highest", s->ok ? bench_jnum(s->hi) : json_null());
    json_object_set_new(o, "tokens_median", s->ok ? bench_jnum(s->tok_median) : json_null());
    json_object_set_new(o, "tokens_lowest", s->ok ? bench_jnum(s->tok_lo) : json_null());
    json_object_set_new(o, "tokens_highest", s->ok ? bench_jnum(s->tok_hi) : json_null());
    return o;
}

static int write_json(const char *path, int argc, char **argv, const struct bench_machine *m, const struct run *u,
                      const struct row *rows, int nr)
{
    json_t *root = bench_json_root("summarize_speed", argc, argv, m),
           *method = bench_json_method(u->rounds, u->seconds, GAP_S), *settings = json_array();
    json_object_set_new(root, "machine", bench_machine_json(m));

    json_object_set_new(method, "texts", json_integer(u->ntexts));
    json_object_set_new(method, "texts_file", bench_jstr(u->pairs->path));
    json_object_set_new(method, "decoding", json_string("greedy, max_len = the model's max_target (at most "
                                                         "max_target - 1 tokens, then </s>)"));
    json_object_set_new(method, "generated_tokens", json_string("the ids of each summary plus its </s> (unless it "
                                                                 "stopped at the limit)"));
    json_object_set_new(root, "method", method);

    for (int i = 0; i < nr; i++) {
        const struct row *r = &rows[i];
        json_t *s = json_object();
        json_object_set_new(s, "model", bench_jstr(r->info.name));
        json_object_set_new(s, "parameters", json_integer((json_int_t)r->info.params));
        json_object_set_new(s, "batch", json_integer(r->batch));
        json_object_set_new(s, "threads", json_integer(r->threads));
        json_object_set_new(s, "mean_generated_tokens", bench_jnum(r->mean_generated));
        bench_json_comparison(s, r->load0, r->load1, r->how, side_json(&r->jp, u->rounds, 1),
                              side_json(&r->pt, u->rounds, r->pt.warmup > 0 || r->pt.ok), r->jp.ok && r->pt.ok,
                              r->jp.median / r->pt.median, r->ratio, u->rounds, r->ratio_median);
        json_array_append_new(settings, s);
    }
    json_object_set_new(root, "settings", settings);
    return bench_json_write(root, path);
}

/* ---- main -------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct bench_settings set = {.rounds = 5, .seconds = 1.0, .max_batch = MAX_BATCH, .max_threads = MAX_THREADS,
                                 .max_rounds = MAX_ROUNDS};
    int ntexts = 64, torch = 1;
    const char *models_dir = NULL, *python = "/usr/bin/python3", *json_path = NULL;
    char what[1400];
    if (argc > 0 && argv[0][0]) prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-torch")) {
            torch = 0;
            continue;
        }
        const char *v = bench_option_value(prog, USAGE, argc, argv, &i, WITH_VALUE);
        if (bench_settings_arg(&set, prog, USAGE, a, v)) continue;
        if (!strcmp(a, "--texts")) {
            ntexts = (int)bench_int_arg(prog, USAGE, a, v, 1, MAX_TEXTS);
        } else if (!strcmp(a, "--models-dir")) {
            models_dir = v;
        } else if (!strcmp(a, "--python")) {
            python = v;
        } else {
            json_path = v;
        }
    }
    bench_default_settings(set.batches, &set.nbatch, 16, set.threads, &set.nthreads);
    for (int i = 0; i < set.nbatch; i++)
        if (set.batches[i] > ntexts) {
            snprintf(what, sizeof what, "bad argument '--batch %d' (more than the %d texts of --texts)", set.batches[i],
                     ntexts);
            bad_usage(what);
        }
    signal(SIGPIPE, SIG_IGN);

    char zoo[PATH_MAX], script[PATH_MAX + 64], data_path[PATH_MAX + 64];
    if (jp_classify_models_dir(models_dir, zoo, sizeof zoo) != JP_OK) {
        snprintf(what, sizeof what, "bad argument '--models-dir' (%s)", jp_last_error());
        bad_usage(what);
    }
    /* the models: the named ones in the order given, else the zoo's seq2seq models (in order of FLOPs) */
    jp_sum_model_info models[MAX_MODELS];
    int nm = 0;
    if (set.nmodels) {
        for (int i = 0; i < set.nmodels; i++) {
            if (jp_sum_find(zoo, set.models[i], &models[nm]) != JP_OK) {
                snprintf(what, sizeof what, "bad argument '--model %s' (%s)", set.models[i], jp_last_error());
                bad_usage(what);
            }
            if (!models[nm].dir[0]) {
                snprintf(what, sizeof what, "bad argument '--model %s' (not a model of the engine)", set.models[i]);
                bad_usage(what);
            }
            nm++;
        }
    } else {
        jp_sum_model_info all[MAX_MODELS];
        int n = jp_sum_list(zoo, all, MAX_MODELS);
        for (int i = 0; i < n && i < MAX_MODELS; i++)
            if (all[i].dir[0]) models[nm++] = all[i]; /* every model of the engine (sum-xs, sum-s, sum-m) */
        if (!nm) {
            fprintf(stderr, "%s: no summarization models (sum-*) in %s\n", prog, zoo);
            return 1;
        }
    }
    snprintf(script, sizeof script, "%s/../bench/summarize_speed_torch.py", zoo);
    if (torch && access(script, R_OK) != 0) {
        fprintf(stderr, "%s: %s not found (--no-torch runs the engine alone)\n", prog, script);
        return 1;
    }
    snprintf(data_path, sizeof data_path, "%s/../data/summarize/eval.tsv", zoo);
    jp_sum_pairs pairs;
    if (jp_sum_pairs_read(data_path, &pairs) != JP_OK) {
        fprintf(stderr, "%s: %s\n", prog, jp_last_error());
        return 1;
    }
    if (!pairs.n) {
        fprintf(stderr, "%s: %s has no texts\n", prog, data_path);
        return 1;
    }

    struct bench_machine mach;
    read_machine(&mach);
    bench_machine_print(&mach);
    printf("method: greedy decoding (max_len 48: at most 47 tokens, then </s>); the first %d descriptions of %s%s, "
           "tokenized once, truncated to 128 tokens, whole batches; %d rounds of %g s windows, engine then PyTorch, "
           "after one warm-up window each, %.2f s of quiet before each window\n\n",
           ntexts, pairs.path, (size_t)ntexts > pairs.n ? " (cycled)" : "", set.rounds, set.seconds, GAP_S);
    fflush(stdout);

    struct run u = {set.rounds, ntexts, torch, set.seconds, python, script, &pairs};
    int cap = nm * set.nbatch * set.nthreads, nr = 0;
    struct row *rows = calloc((size_t)cap, sizeof *rows);
    if (!rows) return 1;
    for (int mi = 0; mi < nm; mi++)
        for (int ti = 0; ti < set.nthreads; ti++)
            for (int bi = 0; bi < set.nbatch; bi++) {
                struct row *r = &rows[nr++];
                r->info = models[mi];
                r->batch = set.batches[bi];
                r->threads = set.threads[ti];
                run_setting(&u, r);
                print_row(r);
            }
    bench_loadavg(mach.load1, sizeof mach.load1);
    printf("\nload average at the end: %s\n", mach.load1);
    print_table(rows, nr);

    int rc = 0;
    for (int i = 0; i < nr; i++)
        if (!rows[i].jp.ok || (torch && !rows[i].pt.ok)) rc = 1;
    if (json_path) {
        if (write_json(json_path, argc, argv, &mach, &u, rows, nr)) rc = 1;
        else printf("\nwritten: %s\n", json_path);
    }
    free(rows);
    jp_sum_pairs_free(&pairs);
    return rc;
}
