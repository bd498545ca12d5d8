/*
 * The harness runner. For every task and model of a spec: warm-up runs, measured runs with the
 * meter around each (split into phases when the command prints "JOULEPRINT PHASE <name>"), a
 * timeout per run, scoring of the predictions, and the figures per item. A model that fails is
 * recorded as failed and the next one runs.
 */
#define _GNU_SOURCE
#include "bench/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/builtin.h"
#include "escape.h"
#include "jouleprint/workloads.h"
#include "bench/score.h"

#define PHASE_PREFIX "JOULEPRINT PHASE "

void jp_bench_options_init(struct jp_bench_options *o)
{
    memset(o, 0, sizeof *o);
    o->workdir = "/tmp";
    o->watch_fd = -1;
    jp_meter_config_init(&o->meter);
}

static void iso_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void describe_machine(char *buf, size_t len)
{
    char host[128] = "?";
    gethostname(host, sizeof host - 1);
    jp_host_info ci;
    if (jp_host_read(&ci) == JP_OK) {
        int n = snprintf(buf, len, "%s: %s, %d CPUs%s, %.1f GB", host, ci.brand[0] ? ci.brand : "unknown CPU",
                         ci.logical_cpus, ci.hypervisor ? " (VM)" : "", ci.mem_gb);
        /* cut at len, it still reads as a cut description */
        if (n < 0 || (size_t)n >= len) snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
    } else
        snprintf(buf, len, "%s", host);
}

/* Writes the first n lines of src into dst. */
static int write_head(const char *src, const char *dst, long n)
{
    int orc;
    FILE *in = jp_fopen_read(src, &orc);
    if (!in) return orc;
    FILE *out = fopen(dst, "w");
    if (!out) {
        fclose(in);
        return jp_fail(JP_ERR_IO, "%s: cannot write: %s", dst, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    long k = 0;
    ssize_t len;
    while (k < n && (len = getline(&line, &cap, in)) >= 0) {
        fwrite(line, 1, (size_t)len, out);
        if (len == 0 || line[len - 1] != '\n') fputc('\n', out);
        k++;
    }
    free(line);
    fclose(in);
    if (fclose(out) != 0) return jp_fail(JP_ERR_IO, "%s: write failed", dst);
    return JP_OK;
}

/* Counts newlines appended to a file since *offset (for progress). */
static long count_new_lines(const char *path, off_t *offset, long so_far)
{
    int fd = jp_open_read(path, JP_OPEN_REGULAR);
    if (fd < 0) return so_far;
    char buf[65536];
    ssize_t n;
    if (lseek(fd, *offset, SEEK_SET) == *offset) {
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++) so_far += buf[i] == '\n';
            *offset += n;
        }
    }
    close(fd);
    return so_far;
}

/* ---- progress ------------------------------------------------------------------------------------ */

/* The caller draws (jp_bench_options.on_event); the runner only says where it is. */
struct progress {
    const struct jp_bench_options *o;
    const char *task, *model;
    int run, runs; /* run 0 = warm-up or scoring pass */
    const char *what;
    long total;
    double t0;
};

static void progress_report(const struct progress *p, long done, bool final)
{
    const struct jp_bench_options *o = p->o;
    if (!o->on_event) return;
    char task[256], model[256];
    jp_esc_str(task, sizeof task, JP_ESC_TERM, p->task);
    jp_esc_str(model, sizeof model, JP_ESC_TERM, p->model);
    struct jp_bench_event ev = {.kind = final ? JP_BENCH_PASS_END : JP_BENCH_PASS_PROGRESS, .task = task,
                                .model = model, .pass = p->what, .done = done, .total = p->total,
                                .elapsed_s = jp_now() - p->t0};
    o->on_event(&ev, o->on_event_arg);
}

/* A line in words for the caller (task and model NULL: about the session). */
static void note(const struct jp_bench_options *o, const char *task, const char *model, const char *fmt, ...)
    JP_PRINTF(4, 5);
static void note(const struct jp_bench_options *o, const char *task, const char *model, const char *fmt, ...)
{
    if (!o->on_event) return;
    char text[1024], tk[256], md[256];
    va_list ap;
    va_start(ap, fmt);
    jp_vescf_str(text, sizeof text, JP_ESC_TERM, fmt, ap); /* names and a child's words: no live control */
    va_end(ap);
    if (task) jp_esc_str(tk, sizeof tk, JP_ESC_TERM, task);
    if (model) jp_esc_str(md, sizeof md, JP_ESC_TERM, model);
    struct jp_bench_event ev = {.kind = JP_BENCH_NOTE, .task = task ? tk : NULL, .model = model ? md : NULL, .text = text};
    o->on_event(&ev, o->on_event_arg);
}

/* ---- one external run ---------------------------------------------------------------------------- */

enum outcome { RUN_OK, RUN_FAILED, RUN_TIMEOUT, RUN_INTERRUPTED };

struct child_run {
    double cpu_s; /* the command's CPU time and its reaped descendants' (wait4), -1 if unknown */
    int exit_status;
    char error[512];
};

static void tell_watch(const struct jp_bench_options *o, pid_t pgid)
{
    if (o->watch_fd < 0) return;
    int32_t v = (int32_t)pgid;
    ssize_t w;
    do w = write(o->watch_fd, &v, sizeof v);
    while (w < 0 && errno == EINTR);
}

static enum jp_model_status model_status(enum outcome oc)
{
    switch (oc) {
    case RUN_OK: return JP_MODEL_OK;
    case RUN_TIMEOUT: return JP_MODEL_TIMEOUT;
    case RUN_INTERRUPTED: return JP_MODEL_INTERRUPTED;
    default: return JP_MODEL_FAILED;
    }
}

/* What run_child's callbacks need. */
struct child_ctx {
    const struct jp_bench_options *o;
    jp_meter *m;
    int logfd;
    const char *outputs;
    struct progress *pr;
    long done;
    off_t out_off;
};

/* the model's process group for the caller's watchdog (0: gone) */
static void child_started(void *arg, pid_t pid)
{
    struct child_ctx *c = arg;
    tell_watch(c->o, pid);
}

/* a line of the command's stdout: a phase mark splits the meter; every line goes to the log */
static void child_line(void *arg, const char *line, size_t len)
{
    struct child_ctx *c = arg;
    if (c->m && !strncmp(line, PHASE_PREFIX, strlen(PHASE_PREFIX))) {
        const char *name = line + strlen(PHASE_PREFIX);
        if (jp_meter_phase(c->m, name) != JP_OK) dprintf(c->logfd, "jouleprint: phase \"%s\" ignored: %s\n", name, jp_last_error());
    }
    dprintf(c->logfd, "%.*s\n", (int)len, line);
}

/* the predictions written so far, for the progress */
static void child_tick(void *arg)
{
    struct child_ctx *c = arg;
    if (!c->outputs || !c->pr) return;
    c->done = count_new_lines(c->outputs, &c->out_off, c->done);
    progress_report(c->pr, c->done, false);
}

/* Runs argv in dir in its own process group, stdin from /dev/null, stdout read for phase lines,
 * everything to the log. If m is not NULL, the meter is running and phase lines split it. */
static enum outcome run_child(char **argv, const char *dir, const char *logpath, double timeout_s, jp_meter *m,
                              const char *outputs, struct progress *pr, const struct jp_bench_options *o,
                              struct child_run *res)
{
    memset(res, 0, sizeof *res);
    res->cpu_s = -1;
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        snprintf(res->error, sizeof res->error, "cannot set up the run: %.300s: %s", logpath, strerror(errno));
        return RUN_FAILED;
    }
    struct child_ctx c = {.o = o, .m = m, .logfd = logfd, .outputs = outputs, .pr = pr};
    jp_spawn_config sc;
    jp_spawn_config_init(&sc);
    sc.dir = dir;
    sc.in = JP_SPAWN_NULL;
    sc.out = JP_SPAWN_LINES;
    sc.err = logfd;
    sc.new_group = true;
    sc.unset_env = o->unset_env; /* the caller's own settings */
    sc.timeout_s = timeout_s;
    sc.interrupted = o->interrupted;
    sc.on_start = child_started;
    sc.on_line = child_line;
    sc.on_tick = child_tick;
    sc.arg = &c;
    jp_spawn_result r;
    if (jp_spawn_run(argv, &sc, &r) != JP_OK) {
        jp_strlcpy(res->error, jp_last_error(), sizeof res->error);
        close(logfd);
        return RUN_FAILED;
    }
    close(logfd);
    res->exit_status = r.exit_status;
    res->cpu_s = r.cpu_s;
    enum outcome oc = RUN_OK;
    switch (r.end) {
    case JP_SPAWN_TIMEOUT:
        oc = RUN_TIMEOUT;
        snprintf(res->error, sizeof res->error, "timed out after %.0f s and was stopped", timeout_s);
        break;
    case JP_SPAWN_INTERRUPTED:
        oc = RUN_INTERRUPTED;
        snprintf(res->error, sizeof res->error, "interrupted");
        break;
    case JP_SPAWN_SIGNALED:
        oc = RUN_FAILED;
        snprintf(res->error, sizeof res->error, "killed by signal %d (%s)", r.signal, strsignal(r.signal));
        break;
    case JP_SPAWN_EXITED:
        if (r.exit_status) {
            oc = RUN_FAILED;
            snprintf(res->error, sizeof res->error, "exited with status %d", r.exit_status);
        }
        break;
    }
    if (outputs && pr) pr->total = pr->total > 0 ? pr->total : c.done;
    return oc;
}

/* The last lines of a log, to say why a model failed. */
static void log_tail(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    int orc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) return;
    char ring[3][256] = {"", "", ""};
    int k = 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* the child's bytes as text: control characters (ANSI sequences, CR) as visible escapes */
        if (line[0]) jp_esc_str(ring[k++ % 3], sizeof ring[0], JP_ESC_TERM, line);
    }
    fclose(f);
    size_t off = 0;
    for (int i = k > 3 ? k - 3 : 0; i < k && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " | " : "", ring[i % 3]);
}

/* ---- one model ----------------------------------------------------------------------------------- */

struct model_ctx {
    const struct jp_spec *spec;
    const struct jp_spec_task *task;
    const struct jp_spec_model *sm;
    const struct jp_bench_options *o;
    jp_meter *meter;
    double idle_w; /* the session's idle power (0: none measured) */
    char dir[PATH_MAX];
    /* the model's state across the rounds */
    char outputs[PATH_MAX], refs[PATH_MAX];
    const char *refs_arg;
    bool active;   /* set up, warmed up, no run failed yet */
    bool done;     /* its figures are final (ok, or failed after its runs) */
    double e_sum, e_sq, d_sum, d_sq, above, share_sum;
    int share_n;
    bool attr_ok, scored_from_run;
};

/* The folder of models that scores a model's images (adherence, fid): the one its builtin was given
 * (option models_dir / models-dir), so that the classifier comes from the same zoo as the model; NULL
 * (the default chain: $JP_MODELS_DIR, then the program's) for a command or a builtin given none. */
static const char *scorer_models_dir(const struct jp_spec_model *sm)
{
    if (!sm->builtin[0]) return NULL;
    for (size_t i = 0; i < sm->noptions && i < sizeof sm->options / sizeof sm->options[0]; i++)
        if (!strcmp(sm->options[i].key, "models_dir") || !strcmp(sm->options[i].key, "models-dir"))
            return sm->options[i].value[0] ? sm->options[i].value : NULL;
    return NULL;
}

static void add_phase_figures(struct jp_bench_model *bm, jp_meter *m, int run_index)
{
    /* by name: the moments before a command's first mark (starting the process) are in its first
     * phase (see jp_meter_phase), and a name marked twice in one run counts once, with both parts */
    for (size_t p = 0; p < jp_meter_phase_count(m); p++) {
        const char *name = jp_meter_phase_name(m, p);
        if (jp_meter_phase_index(m, name) != (int)p) continue;
        double j = jp_meter_phase_joules_by_name(m, name, JP_TOTAL), sec = jp_meter_phase_duration_by_name(m, name);
        size_t k = 0;
        while (k < bm->nphases && strcmp(bm->phases[k].name, name)) k++;
        if (k == bm->nphases) {
            if (bm->nphases == JP_BENCH_MAX_PHASES) continue;
            jp_strlcpy(bm->phases[k].name, name, sizeof bm->phases[k].name);
            bm->nphases++;
        }
        /* running mean over runs */
        bm->phases[k].joules += (j - bm->phases[k].joules) / (run_index + 1);
        bm->phases[k].seconds += (sec - bm->phases[k].seconds) / (run_index + 1);
    }
}

static void keep_timeline(struct jp_bench_model *bm, jp_meter *m)
{
    free(bm->sample_t);
    free(bm->sample_w);
    bm->nsamples = 0;
    size_t n = jp_meter_sample_count(m);
    bm->sample_t = malloc((n ? n : 1) * sizeof *bm->sample_t);
    bm->sample_w = malloc((n ? n : 1) * sizeof *bm->sample_w);
    if (!bm->sample_t || !bm->sample_w) return;
    for (size_t s = 0; s < n; s++) {
        bm->sample_t[s] = jp_meter_sample_time(m, s);
        bm->sample_w[s] = jp_meter_sample_watts(m, s, JP_TOTAL);
    }
    bm->nsamples = n;
}

static void fail_model(struct jp_bench_model *bm, enum jp_model_status status, const char *why)
{
    bm->status = status;
    jp_strlcpy(bm->error, why, sizeof bm->error);
}

/* One pass of the model over n items; measured when `measured` (the first `timed` of them: n, or fewer
 * for a builtin that times a prefix). *done gets the items it ran (timed). */
static enum outcome one_pass(struct model_ctx *c, long n, long timed, const char *what, int run, bool measured,
                             const char *outputs, const char *refs, long *done, char *err, size_t errlen)
{
    const struct jp_spec_model *sm = c->sm;
    struct progress pr = {c->o, c->task->name, sm->name, run, sm->repeats, what, n, jp_now()};
    char inputs[PATH_MAX], logpath[PATH_MAX];
    if (jp_pathf(inputs, sizeof inputs, "%s/inputs-%ld.txt", c->dir, n) != JP_OK ||
        jp_pathf(logpath, sizeof logpath, "%s/log.txt", c->dir) != JP_OK) {
        jp_textf(err, errlen, "%s", jp_last_error());
        return RUN_FAILED;
    }
    unlink(outputs);
    *done = n;
    if (sm->builtin[0]) {
        /* in-process: the builtin starts and stops the meter around its own phases */
        const struct jp_bench_builtin *b = jp_bench_builtin_find(sm->builtin);
        int rc = b->run(sm->options, sm->noptions, n, timed, outputs, refs, measured ? c->meter : NULL, done);
        if (rc != JP_OK) jp_textf(err, errlen, "%s", jp_last_error());
        progress_report(&pr, rc == JP_OK && *done == timed ? n : *done, true);
        if (c->o->interrupted && *c->o->interrupted) return RUN_INTERRUPTED;
        if (rc == JP_OK && *done <= 0) {
            jp_textf(err, errlen, "builtin %s ran no items", sm->builtin);
            return RUN_FAILED;
        }
        return rc == JP_OK ? RUN_OK : RUN_FAILED;
    }
    if (write_head(c->task->items, inputs, n) != JP_OK) {
        jp_textf(err, errlen, "%s", jp_last_error());
        return RUN_FAILED;
    }
    char **argv = jp_spec_argv(sm->command, inputs, outputs, n);
    if (!argv) {
        jp_textf(err, errlen, "command: %s", jp_last_error());
        return RUN_FAILED;
    }
    if (measured && jp_meter_start(c->meter) != JP_OK) {
        jp_textf(err, errlen, "meter: %s", jp_last_error());
        jp_spec_argv_free(argv);
        return RUN_FAILED;
    }
    struct child_run res;
    enum outcome oc = run_child(argv, c->spec->dir, logpath, sm->timeout_s, measured ? c->meter : NULL, outputs, &pr, c->o, &res);
    if (measured) {
        jp_meter_stop(c->meter);
        /* the command's process tree: its CPU time as wait4 gave it (the meter's own reading is of
         * this process, the harness) */
        if (res.cpu_s >= 0) jp_meter_set_tree_cpu(c->meter, res.cpu_s);
    }
    jp_spec_argv_free(argv);
    if (oc != RUN_OK) {
        char tail[300];
        log_tail(logpath, tail, sizeof tail);
        jp_textf(err, errlen, "%s%s%s", res.error, tail[0] ? "; its log ends: " : "", tail);
    }
    off_t off = 0;
    progress_report(&pr, count_new_lines(outputs, &off, 0), true);
    return oc;
}

static void fail_outcome(struct jp_bench_model *bm, enum outcome oc, const char *err)
{
    fail_model(bm, model_status(oc), err);
}

/* The model's names, its work folder and its warm-up runs. false (and bm failed) if it cannot go on. */
static bool model_begin(struct model_ctx *c, struct jp_bench_model *bm)
{
    const struct jp_spec_model *sm = c->sm;
    const struct jp_spec_task *t = c->task;
    jp_strlcpy(bm->name, sm->name, sizeof bm->name);
    jp_strlcpy(bm->kind, sm->builtin[0] ? "builtin" : "command", sizeof bm->kind);
    if (sm->builtin[0]) {
        size_t off = (size_t)snprintf(bm->command, sizeof bm->command, "%s", sm->builtin);
        for (size_t i = 0; i < sm->noptions && off < sizeof bm->command; i++)
            off += (size_t)snprintf(bm->command + off, sizeof bm->command - off, " %s=%s", sm->options[i].key, sm->options[i].value);
    } else {
        jp_strlcpy(bm->command, sm->command, sizeof bm->command);
    }
    bm->score = NAN;
    bm->attr_j_per_item = NAN;
    bm->cpu_share = bm->other_share = -1;
    bm->items_timed = t->n_time;
    c->attr_ok = true;
    snprintf(c->dir, sizeof c->dir, "%s/%s", c->o->workdir, "model-XXXXXX");
    if (!mkdtemp(c->dir)) {
        fail_model(bm, JP_MODEL_FAILED, "cannot create a work folder");
        return false;
    }
    char err[512] = "";
    if (jp_pathf(c->outputs, sizeof c->outputs, "%s/outputs.txt", c->dir) != JP_OK ||
        jp_pathf(c->refs, sizeof c->refs, "%s/references.txt", c->dir) != JP_OK) {
        fail_model(bm, JP_MODEL_FAILED, jp_last_error());
        return false;
    }
    c->refs_arg = sm->builtin[0] ? c->refs : NULL;
    long done = 0;
    for (int w = 0; w < sm->warmup; w++) {
        char what[32];
        snprintf(what, sizeof what, "warm-up %d", w + 1);
        enum outcome oc = one_pass(c, t->n_time, t->n_time, what, 0, false, c->outputs, c->refs_arg, &done, err, sizeof err);
        if (oc != RUN_OK) {
            fail_outcome(bm, oc, err);
            return false;
        }
        bm->warmups++;
    }
    return true;
}

/* Measured run r (0-based) of the model. false (and bm failed) if it failed. */
static bool model_measure(struct model_ctx *c, struct jp_bench_model *bm, int r)
{
    const struct jp_spec_model *sm = c->sm;
    const struct jp_spec_task *t = c->task;
    char what[32], err[512] = "";
    long done = 0;
    snprintf(what, sizeof what, "run %d/%d", r + 1, sm->repeats);
    /* more items to score than to time, with a builtin whose first items are those a shorter run has:
     * the first run times the first n_time and goes on to score them all in the same pass (one load of
     * the model, the timed items not run twice) */
    bool scoring = strcmp(t->scorer, "none") && t->n_score > 0;
    const struct jp_bench_builtin *b = sm->builtin[0] ? jp_bench_builtin_find(sm->builtin) : NULL;
    bool one_go = r == 0 && scoring && t->n_score > t->n_time && b && b->times_prefix;
    enum outcome oc = one_pass(c, one_go ? t->n_score : t->n_time, t->n_time, what, r + 1, true, c->outputs, c->refs_arg,
                               &done, err, sizeof err);
    if (oc != RUN_OK) {
        fail_outcome(bm, oc, err);
        return false;
    }
    jp_meter *m = c->meter;
    double e = jp_meter_joules(m, JP_TOTAL), d = jp_meter_duration(m);
    c->e_sum += e;
    c->e_sq += e * e;
    c->d_sum += d;
    c->d_sq += d * d;
    c->above += jp_meter_joules_above_baseline(m, JP_TOTAL);
    add_phase_figures(bm, m, r);
    keep_timeline(bm, m);
    if (jp_meter_estimated(m)) bm->estimated = true;
    bm->runs = r + 1;
    if (r == 0) bm->items_timed = done;
    /* this run's energy per item, of the machine and attributed to the model's processes */
    double ie = jp_meter_phase_joules_by_name(m, "infer", JP_TOTAL), is = jp_meter_phase_duration_by_name(m, "infer");
    if (!isfinite(ie) || !isfinite(is)) {
        ie = e;
        is = d;
    }
    double items = bm->items_timed > 0 ? (double)bm->items_timed : 1.0;
    double share = jp_meter_tree_share(m), tree = jp_meter_tree_cpu_seconds(m);
    double busy = jp_meter_busy_cpu_seconds(m), cap = jp_meter_capacity_cpu_seconds(m);
    double capacity = (cap > 0 && tree >= 0) ? tree / cap : -1;
    double attr = jp_bench_attribute(ie, is, share, capacity, c->idle_w);
    if (!isfinite(attr)) c->attr_ok = false;
    if (share >= 0) {
        c->share_sum += share;
        c->share_n++;
    }
    if (cap > 0 && busy >= 0 && tree >= 0) {
        double other = (busy - tree) / cap;
        if (other < 0) other = 0;
        if (other > bm->other_share) bm->other_share = other;
    }
    if (jp_bench_model_add_repeat(bm, ie / items, isfinite(attr) ? attr / items : NAN) != JP_OK) {
        fail_model(bm, JP_MODEL_FAILED, jp_last_error());
        return false;
    }
    /* score the first measured run's predictions when it covered enough items */
    if (r == 0 && scoring && (t->n_score <= t->n_time || one_go)) {
        long scored = 0, missing = 0;
        int k = jp_score_files(t->scorer, c->outputs, c->refs_arg ? c->refs_arg : t->references, t->n_score,
                               scorer_models_dir(c->sm), bm->metrics,
                               JP_BENCH_MAX_METRICS, &scored, &missing);
        if (k < 0) {
            fail_model(bm, JP_MODEL_FAILED, jp_last_error());
            return false;
        }
        bm->nmetrics = (size_t)k;
        bm->items_scored = scored;
        c->scored_from_run = true;
        if (missing > 0)
            note(c->o, t->name, sm->name, "%s / %s: %ld of %ld predictions missing (scored as wrong)", t->name,
                 sm->name, missing, scored);
    }
    return true;
}

/* The means over the runs made (kept even when the model is then failed or interrupted). */
static void model_figures(struct model_ctx *c, struct jp_bench_model *bm)
{
    int n = bm->runs;
    if (n <= 0) return;
    bm->energy_j = c->e_sum / n;
    bm->duration_s = c->d_sum / n;
    bm->energy_j_sd = n > 1 ? sqrt(fmax(0, (c->e_sq - c->e_sum * c->e_sum / n) / (n - 1))) : 0;
    bm->duration_s_sd = n > 1 ? sqrt(fmax(0, (c->d_sq - c->d_sum * c->d_sum / n) / (n - 1))) : 0;
    bm->above_idle_j = c->above / n;
    bm->infer_j = bm->energy_j;
    bm->infer_s = bm->duration_s;
    for (size_t p = 0; p < bm->nphases; p++) {
        if (!strcmp(bm->phases[p].name, "infer")) {
            bm->infer_j = bm->phases[p].joules;
            bm->infer_s = bm->phases[p].seconds;
        } else if (!strcmp(bm->phases[p].name, "load")) {
            bm->load_j = bm->phases[p].joules;
            bm->load_s = bm->phases[p].seconds;
        }
    }
    double items = (double)bm->items_timed;
    bm->j_per_item = bm->infer_j / items;
    bm->wh_per_1000 = bm->j_per_item * 1000.0 / 3600.0;
    bm->latency_s = bm->infer_s / items;
    bm->items_per_s = bm->infer_s > 0 ? items / bm->infer_s : 0;
    bm->cpu_share = c->share_n > 0 ? c->share_sum / c->share_n : -1;
    bm->attr_j_per_item = NAN;
    if (c->attr_ok && bm->nrep == (size_t)n) {
        double a = 0;
        for (size_t k = 0; k < bm->nrep; k++) a += bm->rep_attr_j_per_item[k];
        bm->attr_j_per_item = a / (double)bm->nrep;
    }
}

/* After the model's last run: its figures, and its score when the runs did not cover the scored items. */
static void model_finish(struct model_ctx *c, struct jp_bench_model *bm)
{
    const struct jp_spec_task *t = c->task;
    char err[512] = "";
    long done = 0;
    model_figures(c, bm);
    if (!c->scored_from_run && strcmp(t->scorer, "none") && t->n_score > 0) {
        /* more items to score than to time: one unmeasured pass over them */
        enum outcome oc = one_pass(c, t->n_score, t->n_score, "scoring", 0, false, c->outputs, c->refs_arg, &done, err,
                                   sizeof err);
        if (oc != RUN_OK) {
            fail_outcome(bm, oc, err);
            return;
        }
        long scored = 0, missing = 0;
        int k = jp_score_files(t->scorer, c->outputs, c->refs_arg ? c->refs_arg : t->references, t->n_score,
                               scorer_models_dir(c->sm), bm->metrics,
                               JP_BENCH_MAX_METRICS, &scored, &missing);
        if (k < 0) {
            fail_model(bm, JP_MODEL_FAILED, jp_last_error());
            return;
        }
        bm->nmetrics = (size_t)k;
        bm->items_scored = scored;
    }
    const char *main_metric = jp_scorer_main_metric(t->scorer);
    bm->score = main_metric && *main_metric ? jp_bench_metric(bm, main_metric) : NAN;
    if (!strcmp(t->scorer, "fid") || !strcmp(t->scorer, "adherence")) {
        /* a few of the images, for the report's strip; none is no failure */
        int side = 0, k = jp_score_sample_images(c->outputs, JP_BENCH_MAX_IMAGES, &bm->images, &side);
        bm->nimages = k > 0 ? k : 0;
        bm->image_side = k > 0 ? side : 0;
    }
    bm->status = JP_MODEL_OK;
}

/* A model is final: the run so far goes to the caller (to be stored at once), and a failure is noted. */
static void model_end(const struct jp_bench_options *o, struct jp_bench_run *run, size_t ti, const struct jp_spec_task *st,
                      const struct jp_bench_model *bm)
{
    if (o->on_event) {
        /* the run so far, as it would be stored: the tasks reached, analysed, "incomplete" */
        size_t all = run->ntasks;
        run->ntasks = ti + 1;
        run->status = JP_RUN_INCOMPLETE;
        iso_now(run->finished_at, sizeof run->finished_at);
        jp_bench_analyze(run);
        /* names for display, as in every event (bench.h): control characters as visible escapes */
        char task[256], model[256];
        jp_esc_str(task, sizeof task, JP_ESC_TERM, st->name);
        jp_esc_str(model, sizeof model, JP_ESC_TERM, bm->name);
        struct jp_bench_event ev = {.kind = JP_BENCH_MODEL_END, .task = task, .model = model, .run = run};
        o->on_event(&ev, o->on_event_arg);
        run->ntasks = all;
    }
    if (bm->status != JP_MODEL_OK)
        note(o, st->name, bm->name, "%s / %s %s: %s", st->name, bm->name, jp_model_status_name(bm->status), bm->error);
}

static int run_spec(const struct jp_spec *spec, const struct jp_bench_options *o, struct jp_bench_run *run);

int jp_bench_run_spec(const struct jp_spec *spec, const struct jp_bench_options *o, struct jp_bench_run *run)
{
    /* the data sets the builtins read are read and decompressed once for the whole run */
    jp_workloads_session_begin();
    int rc = run_spec(spec, o, run);
    jp_workloads_session_end();
    return rc;
}

static int run_spec(const struct jp_spec *spec, const struct jp_bench_options *o, struct jp_bench_run *run)
{
    memset(run, 0, sizeof *run);
    iso_now(run->started_at, sizeof run->started_at);
    jp_strlcpy(run->spec_path, spec->path, sizeof run->spec_path);
    describe_machine(run->machine, sizeof run->machine);
    jp_intensity ci;
    int rc = JP_OK;
    if (o->intensity) {
        ci = *o->intensity;
    } else {
        const char *region = o->region ? o->region : spec->region[0] ? spec->region : NULL;
        if ((rc = jp_intensity_lookup(region, &ci)) != JP_OK) return rc; /* the lookup's own status and message */
    }
    jp_strlcpy(run->region, ci.region, sizeof run->region);
    run->g_per_kwh = ci.g_per_kwh;
    jp_strlcpy(run->intensity_source, ci.source, sizeof run->intensity_source);
    run->intensity_year = ci.year;
    run->pue = o->pue > 0 ? o->pue : 1.0;
    run->project_n = o->project_n > 0 ? o->project_n : spec->project_n;

    jp_meter *m;
    rc = jp_meter_open(&m, &o->meter);
    if (rc != JP_OK) return rc;
    for (size_t i = 0; i < jp_meter_domain_count(m); i++) {
        const char *s = jp_meter_domain_source(m, i);
        if (!strstr(run->sources, s)) {
            size_t len = strlen(run->sources);
            snprintf(run->sources + len, sizeof run->sources - len, "%s%s", len ? ", " : "", s);
        }
    }
    run->estimated = jp_meter_estimated(m);
    if (spec->baseline_s > 0) {
        note(o, NULL, NULL, "measuring idle power for %.1f s", spec->baseline_s);
        if ((rc = jp_meter_baseline(m, spec->baseline_s)) != JP_OK) {
            jp_meter_close(m);
            return rc;
        }
        run->baseline_w = jp_meter_baseline_watts(m, JP_TOTAL);
    }
    run->tasks = calloc(spec->ntasks, sizeof *run->tasks);
    if (!run->tasks) {
        jp_meter_close(m);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    run->ntasks = spec->ntasks;
    bool stop = false;
    for (size_t ti = 0; ti < spec->ntasks; ti++) {
        const struct jp_spec_task *st = &spec->tasks[ti];
        struct jp_bench_task *bt = &run->tasks[ti];
        jp_strlcpy(bt->name, st->name, sizeof bt->name);
        jp_strlcpy(bt->scorer, st->scorer, sizeof bt->scorer);
        const char *mm = jp_scorer_main_metric(st->scorer);
        jp_strlcpy(bt->metric, mm ? mm : "", sizeof bt->metric);
        jp_strlcpy(bt->items, st->items, sizeof bt->items);
        jp_strlcpy(bt->references, st->references, sizeof bt->references);
        bt->n_time = st->n_time;
        bt->n_score = st->n_score;
        bt->tolerance = st->tolerance;
        bt->reference = bt->pick = -1;
        bt->models = calloc(st->nmodels, sizeof *bt->models);
        struct model_ctx *cs = calloc(st->nmodels ? st->nmodels : 1, sizeof *cs);
        if (!bt->models || !cs) {
            free(cs);
            jp_meter_close(m);
            return jp_fail(JP_ERR_NOMEM, "out of memory");
        }
        /* every model set up and warmed up, then the measured runs round-robin across the models
         * (A B C A B C ...), so that slow drift and neighbours' load reach every model alike; a model
         * is final after its last run (and stored then, through on_event) */
        int rounds = 0;
        for (size_t mi = 0; mi < st->nmodels; mi++) {
            struct jp_bench_model *bm = &bt->models[mi];
            const struct jp_spec_model *sm = &st->models[mi];
            cs[mi] = (struct model_ctx){.spec = spec, .task = st, .sm = sm, .o = o, .meter = m, .idle_w = run->baseline_w};
            /* what it is, before anything runs: a run stored before it is measured to the end (the session
             * killed) shows it interrupted */
            jp_strlcpy(bm->name, sm->name, sizeof bm->name);
            jp_strlcpy(bm->kind, sm->builtin[0] ? "builtin" : "command", sizeof bm->kind);
            jp_strlcpy(bm->command, sm->builtin[0] ? sm->builtin : sm->command, sizeof bm->command);
            fail_model(bm, JP_MODEL_INTERRUPTED, "not measured to the end: the session ended first");
            bm->score = bm->attr_j_per_item = NAN;
            bm->cpu_share = bm->other_share = -1;
            bt->nmodels++;
        }
        for (size_t mi = 0; mi < st->nmodels && !stop; mi++) {
            struct jp_bench_model *bm = &bt->models[mi];
            cs[mi].active = model_begin(&cs[mi], bm);
            if (st->models[mi].repeats > rounds) rounds = st->models[mi].repeats;
            if (!cs[mi].active && bm->status != JP_MODEL_INTERRUPTED) {
                cs[mi].done = true; /* failed before its runs: final now */
                model_end(o, run, ti, st, bm);
            }
            if (o->interrupted && *o->interrupted) stop = true;
        }
        for (int r = 0; r < rounds && !stop; r++) {
            for (size_t mi = 0; mi < st->nmodels && !stop; mi++) {
                struct model_ctx *c = &cs[mi];
                struct jp_bench_model *bm = &bt->models[mi];
                if (!c->active || r >= c->sm->repeats) continue;
                bool final = false;
                if (!model_measure(c, bm, r)) {
                    model_figures(c, bm); /* the runs it finished are kept with the failure */
                    final = true;
                } else if (r + 1 == c->sm->repeats) {
                    model_finish(c, bm);
                    final = true;
                }
                if (final) {
                    c->active = false;
                    c->done = true;
                    model_end(o, run, ti, st, bm);
                }
                if (o->interrupted && *o->interrupted) stop = true;
            }
        }
        for (size_t mi = 0; mi < st->nmodels; mi++) {
            struct jp_bench_model *bm = &bt->models[mi];
            if (cs[mi].done || (!cs[mi].active && bm->status != JP_MODEL_INTERRUPTED)) continue;
            /* not run to the end: say so, rather than leave a hole; the runs it made are kept */
            if (bm->runs > 0) model_figures(&cs[mi], bm);
            char why[128];
            if (bm->runs > 0)
                snprintf(why, sizeof why, "interrupted after %d of %d runs (their figures are kept)", bm->runs,
                         st->models[mi].repeats);
            else
                snprintf(why, sizeof why, "not run: the session was interrupted");
            fail_model(bm, JP_MODEL_INTERRUPTED, why);
        }
        free(cs);
    }
    jp_meter_close(m);
    run->status = stop ? JP_RUN_INTERRUPTED : JP_RUN_COMPLETE;
    iso_now(run->finished_at, sizeof run->finished_at);
    jp_bench_analyze(run);
    return JP_OK;
}
