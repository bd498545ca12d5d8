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
static const char *prog = "summarize_speed";

/* One line naming what is wrong, with the usage; exit status 2. */
static _Noreturn void bad_usage(const char *what)
{
    fprintf(stderr, "%s: %s; usage: %s %s\n", prog, what, prog, USAGE);
    exit(2);
}

static long int_arg(const char *opt, const char *s, long lo, long hi)
{
    char *end, what[256];
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        snprintf(what, sizeof what, "bad argument '%s %s' (an integer in %ld..%ld)", opt, s, lo, hi);
        bad_usage(what);
    }
    return v;
}

static double seconds_arg(const char *opt, const char *s)
{
    char *end, what[256];
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0 && v <= 600)) {
        snprintf(what, sizeof what, "bad argument '%s %s' (seconds in (0, 600])", opt, s);
        bad_usage(what);
    }
    return v;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

/* ---- the machine ------------------------------------------------------------------------------- */

struct machine {
    struct bench_cpu cpu;
    long online;
    int cores, hypervisor;
    char coretype[64]; /* OPENBLAS_CORETYPE, read (never set), "" if unset */
    char blas[512];
    char started[32], load0[128], load1[128];
};

static void read_machine(struct machine *m)
{
    memset(m, 0, sizeof *m);
    bench_cpuinfo(&m->cpu);
    jp_host_info host;
    if (jp_host_read(&host) == JP_OK) {
        if (!m->cpu.name[0]) jp_strlcpy(m->cpu.name, host.brand, sizeof m->cpu.name);
        m->cores = host.cores;
        m->hypervisor = host.hypervisor;
    }
    m->online = sysconf(_SC_NPROCESSORS_ONLN);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    jp_strlcpy(m->coretype, ct ? ct : "", sizeof m->coretype);
    jp_nn_blas_describe(m->blas, sizeof m->blas);
    time_t now = time(NULL);
    struct tm tm;
    strftime(m->started, sizeof m->started, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    bench_loadavg(m->load0, sizeof m->load0);
}

static void print_machine(const struct machine *m)
{
    printf("started %s, load average %s\n", m->started, m->load0);
    printf("CPU: %s (family %d, model %d, stepping %d); avx2 %s, avx512f %s, fma %s\n",
           m->cpu.name[0] ? m->cpu.name : "?", m->cpu.family, m->cpu.model, m->cpu.stepping,
           m->cpu.avx2 ? "yes" : "no", m->cpu.avx512f ? "yes" : "no", m->cpu.fma ? "yes" : "no");
    printf("cores: %ld online CPUs, %d physical cores%s\n", m->online, m->cores,
           m->hypervisor ? ", under a hypervisor (vCPUs)" : "");
    printf("OPENBLAS_CORETYPE: %s\n", m->coretype[0] ? m->coretype : "(unset)");
    printf("OpenBLAS (engine): %s\n", m->blas);
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
    int torch = u->torch;
    if (torch) {
        char b[16], th[16], ml[16], ids[32];
        snprintf(b, sizeof b, "%d", r->batch);
        snprintf(th, sizeof th, "%d", r->threads);
        snprintf(ml, sizeof ml, "%d", si.max_target);
        snprintf(ids, sizeof ids, "/dev/fd/%d", fd);
        const char *argv_torch[] = {u->python, u->script, "--model-dir", r->info.dir, "--ids", ids, "--batch", b,
                                    "--threads", th, "--max-len", ml, NULL};
        if (bench_child_start(&tc, argv_torch, r->threads)) {
            snprintf(r->how, sizeof r->how, "did not start");
            bench_child_stop(&tc);
            torch = 0;
        } else {
            jp_strlcpy(r->how, tc.how, sizeof r->how);
        }
    } else {
        snprintf(r->how, sizeof r->how, "not run (--no-torch)");
    }
    printf("%-6s batch %-3d threads %-2d PyTorch: %s\n", r->info.name, r->batch, r->threads, r->how);
    fflush(stdout);

    long next = 0;
    double tok;
    sleep_s(GAP_S);
    r->jp.warmup = engine_window(&e, &t, r->batch, u->seconds, &next, &tok);
    if (torch) {
        sleep_s(GAP_S);
        r->pt.warmup = bench_child_window2(&tc, u->seconds, &tok);
    }
    for (int k = 0; k < u->rounds; k++) {
        sleep_s(GAP_S);
        r->jp.w[k] = engine_window(&e, &t, r->batch, u->seconds, &next, &r->jp.tok[k]);
        if (torch) {
            sleep_s(GAP_S);
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

/* a rate: no decimals from 100 on, one below */
static const char *rate(char *buf, size_t len, double v)
{
    if (!(v > 0)) snprintf(buf, len, "-");
    else snprintf(buf, len, v >= 100 ? "%.0f" : "%.1f", v);
    return buf;
}

static void side_text(char *buf, size_t len, const struct side *s, int tokens)
{
    char a[32], b[32], c[32];
    if (!s->ok) snprintf(buf, len, "-");
    else if (tokens)
        snprintf(buf, len, "%s (%s-%s)", rate(a, sizeof a, s->tok_median), rate(b, sizeof b, s->tok_lo),
                 rate(c, sizeof c, s->tok_hi));
    else
        snprintf(buf, len, "%s (%s-%s)", rate(a, sizeof a, s->median), rate(b, sizeof b, s->lo),
                 rate(c, sizeof c, s->hi));
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

/* A figure, or null where there is none (failed windows are -1; JSON has no NaN). */
static json_t *jnum(double v) { return isfinite(v) && v >= 0 ? json_real(v) : json_null(); }
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_null(); /* not UTF-8 */
}

static json_t *side_json(const struct side *s, int rounds, int ran)
{
    if (!ran) return json_null();
    json_t *o = json_object(), *w = json_array(), *tk = json_array();
    for (int k = 0; k < rounds; k++) {
        json_array_append_new(w, jnum(s->w[k]));
        json_array_append_new(tk, jnum(s->tok[k]));
    }
    json_object_set_new(o, "warmup_summaries_per_s", jnum(s->warmup));
    json_object_set_new(o, "windows_summaries_per_s", w);
    json_object_set_new(o, "windows_tokens_per_s", tk);
    json_object_set_new(o, "median", s->ok ? jnum(s->median) : json_null());
    json_object_set_new(o, "lowest", s->ok ? jnum(s->lo) : json_null());
    json_object_set_new(o, "highest", s->ok ? jnum(s->hi) : json_null());
    json_object_set_new(o, "tokens_median", s->ok ? jnum(s->tok_median) : json_null());
    json_object_set_new(o, "tokens_lowest", s->ok ? jnum(s->tok_lo) : json_null());
    json_object_set_new(o, "tokens_highest", s->ok ? jnum(s->tok_hi) : json_null());
    return o;
}

static int write_json(const char *path, int argc, char **argv, const struct machine *m, const struct run *u,
                      const struct row *rows, int nr)
{
    json_t *root = json_object(), *cmd = json_array(), *mj = json_object(), *method = json_object(),
           *settings = json_array();
    for (int i = 0; i < argc; i++) json_array_append_new(cmd, jstr(argv[i]));
    json_object_set_new(root, "program", json_string("summarize_speed"));
    json_object_set_new(root, "command", cmd);
    json_object_set_new(root, "started", jstr(m->started));
    json_object_set_new(root, "load_average_start", jstr(m->load0));
    json_object_set_new(root, "load_average_end", jstr(m->load1));

    json_object_set_new(mj, "cpu", jstr(m->cpu.name));
    json_object_set_new(mj, "family", json_integer(m->cpu.family));
    json_object_set_new(mj, "model", json_integer(m->cpu.model));
    json_object_set_new(mj, "stepping", json_integer(m->cpu.stepping));
    json_t *flags = json_object();
    json_object_set_new(flags, "avx2", json_boolean(m->cpu.avx2));
    json_object_set_new(flags, "avx512f", json_boolean(m->cpu.avx512f));
    json_object_set_new(flags, "fma", json_boolean(m->cpu.fma));
    json_object_set_new(mj, "flags", flags);
    json_object_set_new(mj, "online_cpus", json_integer(m->online));
    json_object_set_new(mj, "physical_cores", json_integer(m->cores));
    json_object_set_new(mj, "hypervisor", json_boolean(m->hypervisor));
    json_object_set_new(mj, "openblas_coretype", m->coretype[0] ? jstr(m->coretype) : json_null());
    json_object_set_new(mj, "openblas", jstr(m->blas));
    json_object_set_new(root, "machine", mj);

    json_object_set_new(method, "rounds", json_integer(u->rounds));
    json_object_set_new(method, "window_s", json_real(u->seconds));
    json_object_set_new(method, "gap_before_window_s", json_real(GAP_S));
    json_object_set_new(method, "order", json_string("engine warm-up, PyTorch warm-up, then each round: engine, "
                                                      "PyTorch"));
    json_object_set_new(method, "texts", json_integer(u->ntexts));
    json_object_set_new(method, "texts_file", jstr(u->pairs->path));
    json_object_set_new(method, "decoding", json_string("greedy, max_len = the model's max_target (at most "
                                                         "max_target - 1 tokens, then </s>)"));
    json_object_set_new(method, "generated_tokens", json_string("the ids of each summary plus its </s> (unless it "
                                                                 "stopped at the limit)"));
    json_object_set_new(root, "method", method);

    for (int i = 0; i < nr; i++) {
        const struct row *r = &rows[i];
        json_t *s = json_object(), *ratios = json_array();
        json_object_set_new(s, "model", jstr(r->info.name));
        json_object_set_new(s, "parameters", json_integer((json_int_t)r->info.params));
        json_object_set_new(s, "batch", json_integer(r->batch));
        json_object_set_new(s, "threads", json_integer(r->threads));
        json_object_set_new(s, "mean_generated_tokens", jnum(r->mean_generated));
        json_object_set_new(s, "load_average_before", jstr(r->load0));
        json_object_set_new(s, "load_average_after", jstr(r->load1));
        json_object_set_new(s, "pytorch_configuration", jstr(r->how));
        json_object_set_new(s, "engine", side_json(&r->jp, u->rounds, 1));
        json_object_set_new(s, "pytorch", side_json(&r->pt, u->rounds, r->pt.warmup > 0 || r->pt.ok));
        int both = r->jp.ok && r->pt.ok;
        for (int k = 0; both && k < u->rounds; k++) json_array_append_new(ratios, jnum(r->ratio[k]));
        json_object_set_new(s, "ratio_of_medians", both ? jnum(r->jp.median / r->pt.median) : json_null());
        json_object_set_new(s, "per_round_ratios", ratios);
        json_object_set_new(s, "median_per_round_ratio", both ? jnum(r->ratio_median) : json_null());
        json_array_append_new(settings, s);
    }
    json_object_set_new(root, "settings", settings);
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (rc) fprintf(stderr, "%s: cannot be written\n", path);
    return rc ? -1 : 0;
}

/* ---- main -------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    int nmodels = 0, nbatch = 0, nthreads = 0, batches[8], threads_list[8], rounds = 5, ntexts = 64, torch = 1;
    double seconds = 1.0;
    const char *models_dir = NULL, *python = "/usr/bin/python3", *json_path = NULL, *only[MAX_MODELS];
    char what[1400];
    if (argc > 0 && argv[0][0]) prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-torch")) {
            torch = 0;
            continue;
        }
        if (!strcmp(a, "--model") || !strcmp(a, "--batch") || !strcmp(a, "--threads") || !strcmp(a, "--rounds") ||
            !strcmp(a, "--seconds") || !strcmp(a, "--texts") || !strcmp(a, "--models-dir") ||
            !strcmp(a, "--python") || !strcmp(a, "--json")) {
            if (i + 1 >= argc) {
                snprintf(what, sizeof what, "bad argument '%s' (it needs a value)", a);
                bad_usage(what);
            }
        } else {
            snprintf(what, sizeof what, "bad argument '%s'", a);
            bad_usage(what);
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--model")) {
            if (nmodels == MAX_MODELS) bad_usage("bad argument '--model' (at most 16)");
            only[nmodels++] = v;
        } else if (!strcmp(a, "--batch")) {
            if (nbatch == 8) bad_usage("bad argument '--batch' (at most 8)");
            batches[nbatch++] = (int)int_arg(a, v, 1, MAX_BATCH);
        } else if (!strcmp(a, "--threads")) {
            if (nthreads == 8) bad_usage("bad argument '--threads' (at most 8)");
            threads_list[nthreads++] = (int)int_arg(a, v, 1, MAX_THREADS);
        } else if (!strcmp(a, "--rounds")) {
            rounds = (int)int_arg(a, v, 1, MAX_ROUNDS);
        } else if (!strcmp(a, "--seconds")) {
            seconds = seconds_arg(a, v);
        } else if (!strcmp(a, "--texts")) {
            ntexts = (int)int_arg(a, v, 1, MAX_TEXTS);
        } else if (!strcmp(a, "--models-dir")) {
            models_dir = v;
        } else if (!strcmp(a, "--python")) {
            python = v;
        } else {
            json_path = v;
        }
    }
    if (!nbatch) {
        batches[nbatch++] = 1;
        batches[nbatch++] = 16;
    }
    if (!nthreads) {
        threads_list[nthreads++] = 1;
        threads_list[nthreads++] = 2;
    }
    for (int i = 0; i < nbatch; i++)
        if (batches[i] > ntexts) {
            snprintf(what, sizeof what, "bad argument '--batch %d' (more than the %d texts of --texts)", batches[i],
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
    if (nmodels) {
        for (int i = 0; i < nmodels; i++) {
            if (jp_sum_find(zoo, only[i], &models[nm]) != JP_OK) {
                snprintf(what, sizeof what, "bad argument '--model %s' (%s)", only[i], jp_last_error());
                bad_usage(what);
            }
            if (!models[nm].dir[0]) {
                snprintf(what, sizeof what, "bad argument '--model %s' (not a model of the engine)", only[i]);
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

    struct machine mach;
    read_machine(&mach);
    print_machine(&mach);
    printf("method: greedy decoding (max_len 48: at most 47 tokens, then </s>); the first %d descriptions of %s%s, "
           "tokenized once, truncated to 128 tokens, whole batches; %d rounds of %g s windows, engine then PyTorch, "
           "after one warm-up window each, %.2f s of quiet before each window\n\n",
           ntexts, pairs.path, (size_t)ntexts > pairs.n ? " (cycled)" : "", rounds, seconds, GAP_S);
    fflush(stdout);

    struct run u = {rounds, ntexts, torch, seconds, python, script, &pairs};
    int cap = nm * nbatch * nthreads, nr = 0;
    struct row *rows = calloc((size_t)cap, sizeof *rows);
    if (!rows) return 1;
    for (int mi = 0; mi < nm; mi++)
        for (int ti = 0; ti < nthreads; ti++)
            for (int bi = 0; bi < nbatch; bi++) {
                struct row *r = &rows[nr++];
                r->info = models[mi];
                r->batch = batches[bi];
                r->threads = threads_list[ti];
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
