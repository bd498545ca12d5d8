/*
 * The meter: opens the energy sources, samples them on a thread, and turns raw counters into
 * joules per domain and per phase, a power timeline, a baseline and an attribution.
 *
 * Every source presents cumulative counters (see source/source.h). Between two samples the meter
 * takes the difference of each counter, adds the modulus when it wrapped, and rejects as a glitch
 * a value that could not be read, a counter that went backwards, or a jump implying more power
 * than the domain can draw. A value that could not be read is skipped and counted: the next good
 * read's difference covers its interval, so nothing is lost. A counter that went backwards or
 * jumped impossibly is taken as the new reference and its interval is bridged with the domain's
 * last good power, so garbage never becomes data. The interval is shortened automatically when a
 * counter could otherwise wrap more than once between two samples.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain.h"
#include "meter_hook.h"
#include "proc.h"
#include "source/source.h"

#define PHASE_NAME_MAX 32

struct mdom {
    const struct jp_domain_desc *desc;
    const char *source;
    bool in_total;
    double max_w;
    struct jp_counter c; /* the counter as followed so far (meter_hook.h) */
    bool gone;
    double joules;
    double baseline_w;
};

struct phase {
    char name[PHASE_NAME_MAX];
    double t0, t1;
    double *joules; /* per domain */
};

struct jp_meter {
    jp_meter_config cfg;
    struct jp_source_env env;
    struct jp_source *srcs;
    size_t nsrc;
    size_t *src_off; /* first domain index of each source */
    struct mdom *dom;
    size_t ndom;
    uint64_t *raw;
    enum jp_read_status *st;
    double *wbuf; /* one sample's watts: ndom domains, then the total */
    size_t naux;  /* side metrics of all sources (GPU utilization, memory; see source.h) */
    double interval;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stop_flag, measured;
    bool sampling; /* the sampling thread runs (jp_meter_start; jp_meter_start_sampling after a deferred start) */
    double t_start, t_last, t_stop;

    struct phase *phases;
    size_t nphase, cap_phase;
    char first_phase[PHASE_NAME_MAX];
    bool first_phase_auto;

    double *tl_t;     /* sample times */
    double *tl_w;     /* per sample: ndom domain watts, then the total */
    uint32_t *tl_ph;  /* phase of each sample */
    double *tl_aux;   /* per sample: naux side metrics */
    size_t ns, cap_s;
    double peak_w;
    uint64_t glitches, wraps;
    uint64_t timeline_lost; /* samples not kept in the timeline for want of memory */
    uint64_t taken;         /* samples taken over the meter's life (jp_meter_samples_taken) */

    bool has_baseline;
    double baseline_total_w, baseline_s;

    bool cpu_ok;
    struct jp_cpu_times cpu0, cpu1;
    double tree0, tree1, tree_override;
    bool tree_ok, tree_set;

    jp_meter_sample_hook hook; /* see meter_hook.h */
    void *hook_arg;
};

void jp_meter_config_init(jp_meter_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->interval_s = 0.1;
    cfg->source = NULL;
    cfg->pid = 0;
    cfg->keep_timeline = true;
    jp_model_params_init(&cfg->model);
}

/* ---- opening ------------------------------------------------------------------------------------ */

static int open_one(jp_meter *m, const struct jp_source_ops *ops, char *why, size_t len)
{
    int rc = jp_source_try_open(&m->srcs[m->nsrc], ops, &m->env);
    if (rc == JP_OK) m->nsrc++;
    else jp_strlcpy(why, jp_last_error(), len);
    return rc;
}

static int select_sources(jp_meter *m, const char *want)
{
    char reasons[2048] = "", why[512];
    size_t off = 0;
    if (want && *want && strcmp(want, "auto") != 0) {
        for (const struct jp_source_ops *const *p = jp_source_registry; *p; p++) {
            if (strcmp((*p)->name, want) != 0) continue;
            int rc = open_one(m, *p, why, sizeof why);
            if (rc != JP_OK) return jp_fail(rc, "source %s cannot be used here: %s", want, why);
            return JP_OK;
        }
        off = (size_t)snprintf(reasons, sizeof reasons, "unknown source \"%s\"; known:", want);
        for (const struct jp_source_ops *const *p = jp_source_registry; *p && off < sizeof reasons; p++)
            off += (size_t)snprintf(reasons + off, sizeof reasons - off, " %s", (*p)->name);
        return jp_fail(JP_ERR_NOTFOUND, "%s", reasons);
    }
    bool have_cpu = false;
    for (const struct jp_source_ops *const *p = jp_source_registry; *p; p++) {
        if (!(*p)->is_gpu && (have_cpu || (*p)->estimated)) continue;
        if (open_one(m, *p, why, sizeof why) != JP_OK) {
            if (off < sizeof reasons)
                off += (size_t)jp_textf(reasons + off, sizeof reasons - off, "%s%s: %s", off ? "; " : "", (*p)->name, why);
            continue;
        }
        if (!(*p)->is_gpu) have_cpu = true;
    }
    if (!have_cpu && open_one(m, &jp_source_model, why, sizeof why) != JP_OK && m->nsrc == 0)
        /* no CPU counter, and the model that stands in for them cannot run either */
        return jp_fail(JP_ERR_NOSOURCE, "no energy source can be used here: %s; model: %s", reasons, why);
    return JP_OK;
}

int jp_meter_open(jp_meter **out, const jp_meter_config *cfg)
{
    jp_clear_error();
    if (!out) return jp_fail(JP_ERR_INVAL, "jp_meter_open: out is NULL");
    *out = NULL;
    jp_meter_config def;
    if (!cfg) {
        jp_meter_config_init(&def);
        cfg = &def;
    }
    if (!(cfg->interval_s >= 0.001 && cfg->interval_s <= 3600.0))
        return jp_fail(JP_ERR_RANGE, "sampling interval %g s: expected 1 ms to 1 h", cfg->interval_s);
    jp_meter *m = calloc(1, sizeof *m);
    if (!m) return jp_fail(JP_ERR_NOMEM, "out of memory");
    m->cfg = *cfg;
    m->cfg.source = NULL; /* not kept: the caller's string */
    size_t nreg = 0;
    while (jp_source_registry[nreg]) nreg++;
    /* not zeroed: jp_source_try_open clears the one slot it opens into, and only the first nsrc are
     * read (zeroing every source's 64 domain slots was 12 fresh pages at each start) */
    m->srcs = malloc((nreg + 1) * sizeof *m->srcs);
    m->src_off = calloc(nreg + 1, sizeof *m->src_off);
    int rc = (m->srcs && m->src_off) ? jp_source_env_init(&m->env, &cfg->model) : jp_fail(JP_ERR_NOMEM, "out of memory");
    if (rc == JP_OK) rc = select_sources(m, cfg->source);
    if (rc != JP_OK) {
        jp_meter_close(m);
        return rc;
    }
    for (size_t s = 0; s < m->nsrc; s++) {
        m->src_off[s] = m->ndom;
        m->ndom += m->srcs[s].ndomains;
        m->naux += m->srcs[s].naux;
    }
    m->dom = calloc(m->ndom ? m->ndom : 1, sizeof *m->dom);
    m->raw = calloc(m->ndom ? m->ndom : 1, sizeof *m->raw);
    m->st = calloc(m->ndom ? m->ndom : 1, sizeof *m->st);
    m->wbuf = calloc(m->ndom + 1, sizeof *m->wbuf);
    if (!m->dom || !m->raw || !m->st || !m->wbuf) {
        jp_meter_close(m);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    /* two sources may number their domains alike (NVIDIA and AMD GPUs both from gpu-0): the later
     * one is named after its source, so that names stay unique keys in every output */
    for (size_t s = 0; s < m->nsrc; s++)
        for (size_t i = 0; i < m->srcs[s].ndomains; i++) {
            struct jp_domain_desc *d = &m->srcs[s].domains[i];
            bool taken = false;
            for (size_t s2 = 0; s2 <= s && !taken; s2++)
                for (size_t i2 = 0; i2 < (s2 == s ? i : m->srcs[s2].ndomains); i2++)
                    if (!strcmp(m->srcs[s2].domains[i2].name, d->name)) taken = true;
            if (taken) {
                char renamed[JP_NAME_MAX];
                snprintf(renamed, sizeof renamed, "%.20s:%.26s", m->srcs[s].ops->name, d->name);
                jp_strlcpy(d->name, renamed, sizeof d->name);
            }
        }
    bool has_package = false;
    for (size_t s = 0; s < m->nsrc; s++)
        for (size_t i = 0; i < m->srcs[s].ndomains; i++)
            if (m->srcs[s].domains[i].kind == JP_DOMAIN_PACKAGE) has_package = true;
    m->interval = cfg->interval_s;
    /* no faster than every source's inputs change (the model: a kernel tick), when all have a limit */
    double slowest_useful = INFINITY;
    for (size_t s = 0; s < m->nsrc; s++) slowest_useful = fmin(slowest_useful, m->srcs[s].min_interval_s);
    if (m->nsrc && isfinite(slowest_useful) && slowest_useful > m->interval) m->interval = slowest_useful;
    for (size_t s = 0, k = 0; s < m->nsrc; s++) {
        for (size_t i = 0; i < m->srcs[s].ndomains; i++, k++) {
            struct mdom *d = &m->dom[k];
            d->desc = &m->srcs[s].domains[i];
            d->source = m->srcs[s].ops->name;
            d->in_total = jp_domain_in_total(d->desc->kind, has_package);
            d->max_w = d->desc->max_watts > 0 ? d->desc->max_watts : jp_domain_default_max_watts(d->desc->kind);
            /* sample often enough that the counter cannot wrap twice unseen */
            if (d->desc->wrap && isfinite(d->max_w)) {
                double safe = 0.9 * (double)d->desc->wrap * d->desc->joules_per_unit / d->max_w;
                if (safe < 0.001) safe = 0.001;
                if (safe < m->interval) m->interval = safe;
            }
        }
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&m->mu, NULL);
    jp_strlcpy(m->first_phase, "run", sizeof m->first_phase);
    m->first_phase_auto = true;
    *out = m;
    return JP_OK;
}

void jp_meter_set_sample_hook(jp_meter *m, jp_meter_sample_hook fn, void *arg)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->hook = fn;
    m->hook_arg = arg;
    pthread_mutex_unlock(&m->mu);
}

double jp_meter_interval(const jp_meter *m) { return m ? m->interval : 0; }

/* ---- sampling ----------------------------------------------------------------------------------- */

bool jp_counter_advance(uint64_t last, uint64_t raw, uint64_t wrap, uint64_t *delta, bool *wrapped)
{
    *wrapped = false;
    if (raw >= last) {
        *delta = raw - last;
        return true;
    }
    if (wrap && last < wrap && raw < wrap) {
        *delta = raw + (wrap - last); /* the part before the wrap, then the part after it */
        *wrapped = true;
        return true;
    }
    *delta = 0;
    return false;
}

double jp_counter_take(struct jp_counter *c, uint64_t raw, double t, uint64_t wrap, double joules_per_unit,
                       double max_w, enum jp_counter_outcome *outcome)
{
    double span = t - c->last_t; /* since the last good read */
    *outcome = JP_COUNTER_OK;
    if (!c->have_last) {
        c->last = raw;
        c->last_t = c->moved_t = t;
        c->have_last = true;
        *outcome = JP_COUNTER_FIRST;
        return 0;
    }
    if (span <= 0) return 0;
    uint64_t delta;
    bool wrapped;
    if (!jp_counter_advance(c->last, raw, wrap, &delta, &wrapped)) {
        /* went backwards with no wrap to explain it: a reset or a bad value. Start again from
         * here and bridge the interval with the last good power. */
        *outcome = JP_COUNTER_BACKWARDS;
        c->last = raw;
        c->last_t = c->moved_t = t;
        return c->last_w * span;
    }
    double e = (double)delta * joules_per_unit;
    /* Some counters advance in steps (NVML's energy about every 100 ms): a step seen after a short
     * sample holds the energy of the whole time since the counter last moved, so the power it
     * implies is judged over that time. */
    double rate_span = delta && t - c->moved_t > span ? t - c->moved_t : span;
    if (e / rate_span > max_w) {
        /* a jump no hardware can draw: as above */
        *outcome = JP_COUNTER_JUMP;
        c->last = raw;
        c->last_t = c->moved_t = t;
        return c->last_w * span;
    }
    if (wrapped) *outcome = JP_COUNTER_WRAPPED;
    c->last = raw;
    c->last_t = t;
    if (delta) {
        c->last_w = e / rate_span;
        c->moved_t = t;
    }
    return e;
}

static double step(jp_meter *m, struct mdom *d, uint64_t raw, enum jp_read_status st, double t)
{
    if (st == JP_READ_GONE) {
        d->gone = true;
        m->glitches++;
        return 0; /* a vanished zone is not invented; the result lists it */
    }
    if (st != JP_READ_OK) {
        /* skipped: the next good read's difference covers this interval too */
        m->glitches++;
        return 0;
    }
    d->gone = false;
    enum jp_counter_outcome oc;
    double e = jp_counter_take(&d->c, raw, t, d->desc->wrap, d->desc->joules_per_unit, d->max_w, &oc);
    if (oc == JP_COUNTER_BACKWARDS || oc == JP_COUNTER_JUMP) m->glitches++;
    if (oc == JP_COUNTER_WRAPPED) m->wraps++;
    return e;
}

/* Reads every source for the sample of time t. */
static void read_all(jp_meter *m, double t)
{
    for (size_t s = 0; s < m->nsrc; s++) {
        struct jp_source *src = &m->srcs[s];
        size_t off = m->src_off[s];
        src->read_t = t;
        if (src->ops->read(src, m->raw + off, m->st + off) != JP_OK)
            for (size_t i = 0; i < src->ndomains; i++) m->st[off + i] = JP_READ_GLITCH;
    }
}

/* Room for twice as many samples in the timeline (256 at first). */
static int grow_timeline(jp_meter *m)
{
    size_t cap = m->cap_s ? 2 * m->cap_s : 256;
    double *nt = realloc(m->tl_t, cap * sizeof *nt);
    if (nt) m->tl_t = nt;
    double *nw = realloc(m->tl_w, cap * (m->ndom + 1) * sizeof *nw);
    if (nw) m->tl_w = nw;
    uint32_t *np = realloc(m->tl_ph, cap * sizeof *np);
    if (np) m->tl_ph = np;
    double *na = m->naux ? realloc(m->tl_aux, cap * m->naux * sizeof *na) : NULL;
    if (na) m->tl_aux = na;
    if (!nt || !nw || !np || (m->naux && !na)) return JP_ERR_NOMEM;
    m->cap_s = cap;
    return JP_OK;
}

static int push_sample(jp_meter *m, double t, const double *w)
{
    if (m->ns == m->cap_s && grow_timeline(m) != JP_OK) return JP_ERR_NOMEM;
    m->tl_t[m->ns] = t;
    memcpy(m->tl_w + m->ns * (m->ndom + 1), w, (m->ndom + 1) * sizeof *w);
    m->tl_ph[m->ns] = (uint32_t)(m->nphase - 1);
    if (m->naux) {
        double *a = m->tl_aux + m->ns * m->naux;
        for (size_t s = 0; s < m->nsrc; s++)
            for (size_t k = 0; k < m->srcs[s].naux; k++) *a++ = m->srcs[s].aux[k];
    }
    m->ns++;
    return JP_OK;
}

/* Whether the last sample skipped a domain that could not be read (not one that vanished). */
static bool final_read_failed(const jp_meter *m)
{
    for (size_t i = 0; i < m->ndom; i++)
        if (m->st[i] == JP_READ_GLITCH) return true;
    return false;
}

/* Takes one sample at time t. Caller holds the lock. */
static void sample_locked(jp_meter *m, double t)
{
    double dt = t - m->t_last;
    if (dt <= 0) return;
    read_all(m, t);
    struct phase *ph = &m->phases[m->nphase - 1];
    double *wp = m->wbuf;
    double total_w = 0;
    for (size_t i = 0; i < m->ndom; i++) {
        struct mdom *d = &m->dom[i];
        double e = step(m, d, m->raw[i], m->st[i], t);
        d->joules += e;
        ph->joules[i] += e;
        wp[i] = e / dt;
        if (d->in_total) total_w += e / dt;
    }
    if (total_w > m->peak_w) m->peak_w = total_w;
    m->t_last = t;
    ph->t1 = t;
    m->taken++;
    if (m->cfg.keep_timeline) {
        wp[m->ndom] = total_w;
        if (push_sample(m, t - m->t_start, wp) != JP_OK) m->timeline_lost++;
    }
    if (m->hook) m->hook(m->hook_arg, m, t);
}

static void *sampler(void *arg)
{
    jp_meter *m = arg;
    pthread_mutex_lock(&m->mu);
    double next = m->t_start + m->interval;
    while (!m->stop_flag) {
        struct timespec ts = jp_timespec(next);
        pthread_cond_timedwait(&m->cv, &m->mu, &ts);
        if (m->stop_flag) break;
        double now = jp_now();
        if (now + 1e-6 < next) continue; /* woken early */
        sample_locked(m, now);
        next += m->interval;
        if (next < now) next = now + m->interval; /* fell behind: do not burst */
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

static int add_phase(jp_meter *m, const char *name, double t)
{
    if (m->nphase == m->cap_phase) {
        size_t cap = m->cap_phase ? 2 * m->cap_phase : 4;
        struct phase *np = realloc(m->phases, cap * sizeof *np);
        if (!np) return jp_fail(JP_ERR_NOMEM, "out of memory");
        m->phases = np;
        m->cap_phase = cap;
    }
    struct phase *p = &m->phases[m->nphase];
    p->joules = calloc(m->ndom ? m->ndom : 1, sizeof *p->joules);
    if (!p->joules) return jp_fail(JP_ERR_NOMEM, "out of memory");
    jp_strlcpy(p->name, name, sizeof p->name);
    p->t0 = p->t1 = t;
    m->nphase++;
    return JP_OK;
}

static void clear_results(jp_meter *m)
{
    for (size_t i = 0; i < m->nphase; i++) free(m->phases[i].joules);
    m->nphase = 0;
    m->ns = 0;
    m->peak_w = 0;
    m->glitches = m->wraps = 0;
    m->tree_set = false;
    for (size_t i = 0; i < m->ndom; i++) {
        m->dom[i].c.have_last = m->dom[i].gone = false;
        m->dom[i].c.last_w = 0;
        m->dom[i].joules = 0;
    }
}


static bool tree_cpu(jp_meter *m, double *out)
{
    if (m->cfg.pid == 0) {
        *out = jp_self_cpu_seconds();
        return true;
    }
    return jp_proc_tree_cpu(&m->env.roots, m->cfg.pid, out) == JP_OK;
}

/* Starts the sampling thread; caller holds the lock. */
static int start_thread(jp_meter *m)
{
    m->stop_flag = false;
    /* The timeline's first room is made here, on the caller's thread: glibc gives a thread's first
     * allocation an arena of its own (an mmap of 128 MB of address space and fresh pages), which the
     * sampling thread then never needs; a later growth reallocates in the caller's arena. A failure
     * here is tried again at the first sample. */
    if (m->cfg.keep_timeline && m->cap_s == 0) (void)grow_timeline(m);
    int e = pthread_create(&m->thread, NULL, sampler, m);
    if (e != 0) return jp_fail(JP_ERR_THREAD, "cannot start the sampling thread: %s", strerror(e));
    m->sampling = true;
    return JP_OK;
}

/* jp_meter_start, with its sampling thread (thread) or without it until jp_meter_start_sampling. */
static int start(jp_meter *m, bool thread)
{
    if (!m) return jp_fail(JP_ERR_INVAL, "jp_meter_start: meter is NULL");
    pthread_mutex_lock(&m->mu);
    if (m->running) {
        pthread_mutex_unlock(&m->mu);
        return jp_fail(JP_ERR_STATE, "jp_meter_start: the meter is already running");
    }
    clear_results(m);
    double t = jp_now();
    int rc = add_phase(m, m->first_phase, t);
    if (rc != JP_OK) {
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    m->cpu_ok = jp_proc_cpu_times(&m->env.roots, &m->cpu0) == JP_OK;
    m->tree_ok = tree_cpu(m, &m->tree0);
    t = jp_now(); /* the start is the time of its read, as every sample's is */
    read_all(m, t);
    for (size_t i = 0; i < m->ndom; i++) {
        if (m->st[i] == JP_READ_OK) {
            m->dom[i].c.last = m->raw[i];
            m->dom[i].c.last_t = m->dom[i].c.moved_t = t;
            m->dom[i].c.have_last = true;
        }
    }
    m->t_start = m->t_last = t;
    m->phases[0].t0 = m->phases[0].t1 = t;
    m->stop_flag = false;
    m->sampling = false;
    if (thread && (rc = start_thread(m)) != JP_OK) {
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    m->running = true;
    m->measured = false;
    pthread_mutex_unlock(&m->mu);
    return JP_OK;
}

int jp_meter_start(jp_meter *m) { return start(m, true); }

/* No thread for a measurement that ends within its first interval: making one and joining it was
 * about 0.2 ms of CPU and 6 page faults of `jouleprint stat -- true` (BENCHMARKS.md). */
int jp_meter_start_deferred(jp_meter *m) { return start(m, false); }

int jp_meter_start_sampling(jp_meter *m)
{
    if (!m) return jp_fail(JP_ERR_INVAL, "jp_meter_start_sampling: meter is NULL");
    pthread_mutex_lock(&m->mu);
    int rc = JP_OK;
    if (!m->running)
        rc = jp_fail(JP_ERR_STATE, "jp_meter_start_sampling: the meter is not running");
    else if (!m->sampling)
        rc = start_thread(m); /* its first sample is due at the start + one interval: at once if that passed */
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int jp_meter_phase(jp_meter *m, const char *name)
{
    if (!m || !name || !*name) return jp_fail(JP_ERR_INVAL, "jp_meter_phase: a phase needs a name");
    if (strlen(name) >= PHASE_NAME_MAX)
        return jp_fail(JP_ERR_RANGE, "phase name \"%.40s...\" longer than %d bytes", name, PHASE_NAME_MAX - 1);
    pthread_mutex_lock(&m->mu);
    int rc = JP_OK;
    if (!m->running) {
        /* before start: names the first phase */
        jp_strlcpy(m->first_phase, name, sizeof m->first_phase);
        m->first_phase_auto = false;
    } else {
        struct phase *cur = &m->phases[m->nphase - 1];
        if (m->nphase == 1 && m->first_phase_auto) {
            /* the first mark names the first phase, however long after the start it comes: what
             * was measured before it belongs to it (starting a program, waiting for its input) */
            jp_strlcpy(cur->name, name, sizeof cur->name);
        } else {
            sample_locked(m, jp_now());
            rc = add_phase(m, name, m->t_last);
        }
        m->first_phase_auto = false;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int jp_meter_stop(jp_meter *m)
{
    if (!m) return jp_fail(JP_ERR_INVAL, "jp_meter_stop: meter is NULL");
    pthread_mutex_lock(&m->mu);
    if (!m->running) {
        pthread_mutex_unlock(&m->mu);
        return jp_fail(JP_ERR_STATE, "jp_meter_stop: the meter is not running");
    }
    if (m->sampling) {
        m->stop_flag = true;
        pthread_cond_signal(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->thread, NULL);
        pthread_mutex_lock(&m->mu);
        m->sampling = false;
    }
    sample_locked(m, jp_now());
    /* A read skipped mid-run is covered by the next good one; the last read has no next one, so a
     * counter that failed it (a flaky query) would lose the time since its previous good read.
     * Read again, a few times, while any domain failed. */
    for (int k = 0; k < 3 && final_read_failed(m); k++) sample_locked(m, jp_now());
    m->t_stop = m->t_last;
    m->running = false;
    m->measured = true;
    if (m->cpu_ok) m->cpu_ok = jp_proc_cpu_times(&m->env.roots, &m->cpu1) == JP_OK;
    if (m->tree_ok) m->tree_ok = tree_cpu(m, &m->tree1);
    /* the next start names its first phase afresh */
    jp_strlcpy(m->first_phase, "run", sizeof m->first_phase);
    m->first_phase_auto = true;
    pthread_mutex_unlock(&m->mu);
    return JP_OK;
}

int jp_meter_baseline(jp_meter *m, double seconds)
{
    if (!m) return jp_fail(JP_ERR_INVAL, "jp_meter_baseline: meter is NULL");
    if (!(seconds > 0 && seconds <= 86400))
        return jp_fail(JP_ERR_RANGE, "baseline %g s: expected more than 0 and at most a day", seconds);
    if (m->running) return jp_fail(JP_ERR_STATE, "jp_meter_baseline: stop the meter first");
    int rc = jp_meter_start(m);
    if (rc != JP_OK) return rc;
    jp_sleep_until(jp_now() + seconds);
    if ((rc = jp_meter_stop(m)) != JP_OK) return rc;
    double dur = m->t_stop - m->t_start;
    m->baseline_s = dur;
    m->baseline_total_w = 0;
    for (size_t i = 0; i < m->ndom; i++) {
        m->dom[i].baseline_w = dur > 0 ? m->dom[i].joules / dur : 0;
        if (m->dom[i].in_total) m->baseline_total_w += m->dom[i].baseline_w;
    }
    m->has_baseline = true;
    clear_results(m);
    m->measured = false;
    return JP_OK;
}

int jp_meter_set_tree_cpu(jp_meter *m, double cpu_seconds)
{
    if (!m || !(cpu_seconds >= 0)) return jp_fail(JP_ERR_INVAL, "jp_meter_set_tree_cpu: bad arguments");
    m->tree_override = cpu_seconds;
    m->tree_set = true;
    return JP_OK;
}

void jp_meter_close(jp_meter *m)
{
    if (!m) return;
    if (m->running) jp_meter_stop(m);
    for (size_t s = 0; s < m->nsrc; s++) m->srcs[s].ops->close(&m->srcs[s]);
    if (m->dom) {
        clear_results(m);
        pthread_mutex_destroy(&m->mu);
        pthread_cond_destroy(&m->cv);
    }
    free(m->phases);
    free(m->tl_t);
    free(m->tl_w);
    free(m->tl_ph);
    free(m->tl_aux);
    free(m->srcs);
    free(m->src_off);
    free(m->dom);
    free(m->raw);
    free(m->st);
    free(m->wbuf);
    free(m);
}

/* ---- results ------------------------------------------------------------------------------------ */

static bool valid_domain(const jp_meter *m, int d) { return d == JP_TOTAL || (d >= 0 && (size_t)d < m->ndom); }

size_t jp_meter_domain_count(const jp_meter *m) { return m ? m->ndom : 0; }

const char *jp_meter_domain_name(const jp_meter *m, size_t i) { return m && i < m->ndom ? m->dom[i].desc->name : ""; }

const char *jp_meter_domain_source(const jp_meter *m, size_t i) { return m && i < m->ndom ? m->dom[i].source : ""; }

jp_domain_kind jp_meter_domain_kind(const jp_meter *m, size_t i)
{
    return m && i < m->ndom ? m->dom[i].desc->kind : JP_DOMAIN_PACKAGE;
}

bool jp_meter_domain_estimated(const jp_meter *m, size_t i) { return m && i < m->ndom && m->dom[i].desc->estimated; }

bool jp_meter_domain_in_total(const jp_meter *m, size_t i) { return m && i < m->ndom && m->dom[i].in_total; }

bool jp_meter_domain_gone(const jp_meter *m, size_t i) { return m && i < m->ndom && m->dom[i].gone; }

static double sum_domains(const jp_meter *m, const double *per_domain_or_null, int domain)
{
    if (domain != JP_TOTAL) return per_domain_or_null ? per_domain_or_null[domain] : m->dom[domain].joules;
    double t = 0;
    for (size_t i = 0; i < m->ndom; i++)
        if (m->dom[i].in_total) t += per_domain_or_null ? per_domain_or_null[i] : m->dom[i].joules;
    return t;
}

double jp_meter_joules(const jp_meter *m, int domain)
{
    if (!m || !valid_domain(m, domain)) return NAN;
    return sum_domains(m, NULL, domain);
}

double jp_meter_duration(const jp_meter *m) { return m && m->measured ? m->t_stop - m->t_start : 0; }

double jp_meter_mean_watts(const jp_meter *m, int domain)
{
    double d = jp_meter_duration(m);
    return d > 0 ? jp_meter_joules(m, domain) / d : 0;
}

double jp_meter_peak_watts(const jp_meter *m) { return m ? m->peak_w : 0; }

bool jp_meter_estimated(const jp_meter *m)
{
    if (!m) return false;
    for (size_t i = 0; i < m->ndom; i++)
        if (m->dom[i].in_total && m->dom[i].desc->estimated) return true;
    return false;
}

size_t jp_meter_phase_count(const jp_meter *m) { return m ? m->nphase : 0; }

const char *jp_meter_phase_name(const jp_meter *m, size_t p) { return m && p < m->nphase ? m->phases[p].name : ""; }

double jp_meter_phase_joules(const jp_meter *m, size_t p, int domain)
{
    if (!m || p >= m->nphase || !valid_domain(m, domain)) return NAN;
    return sum_domains(m, m->phases[p].joules, domain);
}

double jp_meter_phase_duration(const jp_meter *m, size_t p)
{
    return m && p < m->nphase ? m->phases[p].t1 - m->phases[p].t0 : 0;
}

int jp_meter_phase_index(const jp_meter *m, const char *name)
{
    if (!m || !name) return -1;
    for (size_t p = 0; p < m->nphase; p++)
        if (!strcmp(m->phases[p].name, name)) return (int)p;
    return -1;
}

double jp_meter_phase_joules_by_name(const jp_meter *m, const char *name, int domain)
{
    if (jp_meter_phase_index(m, name) < 0 || !valid_domain(m, domain)) return NAN;
    double j = 0;
    for (size_t p = 0; p < m->nphase; p++)
        if (!strcmp(m->phases[p].name, name)) j += sum_domains(m, m->phases[p].joules, domain);
    return j;
}

double jp_meter_phase_duration_by_name(const jp_meter *m, const char *name)
{
    if (jp_meter_phase_index(m, name) < 0) return NAN;
    double d = 0;
    for (size_t p = 0; p < m->nphase; p++)
        if (!strcmp(m->phases[p].name, name)) d += m->phases[p].t1 - m->phases[p].t0;
    return d;
}

bool jp_meter_has_baseline(const jp_meter *m) { return m && m->has_baseline; }

double jp_meter_baseline_watts(const jp_meter *m, int domain)
{
    if (!m || !m->has_baseline || !valid_domain(m, domain)) return 0;
    return domain == JP_TOTAL ? m->baseline_total_w : m->dom[domain].baseline_w;
}

double jp_meter_baseline_seconds(const jp_meter *m) { return m && m->has_baseline ? m->baseline_s : 0; }

double jp_meter_joules_above_baseline(const jp_meter *m, int domain)
{
    double j = jp_meter_joules(m, domain);
    if (!m || !m->has_baseline) return j;
    double above = j - jp_meter_baseline_watts(m, domain) * jp_meter_duration(m);
    return above > 0 ? above : 0;
}

double jp_meter_tree_cpu_seconds(const jp_meter *m)
{
    if (!m) return -1;
    if (m->tree_set) return m->tree_override;
    if (!m->tree_ok) return -1;
    double d = m->tree1 - m->tree0;
    return d > 0 ? d : 0;
}

double jp_meter_tree_share(const jp_meter *m)
{
    double tree = jp_meter_tree_cpu_seconds(m);
    if (!m || !m->cpu_ok || tree < 0 || m->cpu1.busy < m->cpu0.busy) return -1;
    double busy = (double)(m->cpu1.busy - m->cpu0.busy) / jp_proc_hz();
    if (busy <= 0) return tree > 0 ? 1.0 : 0.0;
    double share = tree / busy;
    return share > 1 ? 1 : share;
}

double jp_meter_busy_cpu_seconds(const jp_meter *m)
{
    if (!m || !m->cpu_ok || m->cpu1.busy < m->cpu0.busy) return -1;
    return (double)(m->cpu1.busy - m->cpu0.busy) / jp_proc_hz();
}

double jp_meter_capacity_cpu_seconds(const jp_meter *m)
{
    if (!m || !m->cpu_ok || m->cpu1.total < m->cpu0.total) return -1;
    return (double)(m->cpu1.total - m->cpu0.total) / jp_proc_hz();
}

double jp_meter_attributed_joules(const jp_meter *m)
{
    double share = jp_meter_tree_share(m);
    return share < 0 ? -1 : share * jp_meter_joules(m, JP_TOTAL);
}

uint64_t jp_meter_glitches(const jp_meter *m) { return m ? m->glitches : 0; }

uint64_t jp_meter_wraps(const jp_meter *m) { return m ? m->wraps : 0; }

size_t jp_meter_sample_count(const jp_meter *m) { return m ? m->ns : 0; }

uint64_t jp_meter_samples_taken(const jp_meter *m)
{
    if (!m) return 0;
    /* callable while the sampler runs: the object is the caller's, only the pointer is const */
    jp_meter *mm = (jp_meter *)(uintptr_t)m;
    pthread_mutex_lock(&mm->mu);
    uint64_t n = mm->taken;
    pthread_mutex_unlock(&mm->mu);
    return n;
}

double jp_meter_sample_time(const jp_meter *m, size_t s) { return m && s < m->ns ? m->tl_t[s] : 0; }

double jp_meter_sample_watts(const jp_meter *m, size_t s, int domain)
{
    if (!m || s >= m->ns || !valid_domain(m, domain)) return NAN;
    return m->tl_w[s * (m->ndom + 1) + (domain == JP_TOTAL ? m->ndom : (size_t)domain)];
}

const char *jp_meter_sample_phase(const jp_meter *m, size_t s)
{
    return m && s < m->ns ? m->phases[m->tl_ph[s]].name : "";
}

size_t jp_meter_aux_count(const jp_meter *m) { return m ? m->naux : 0; }

const char *jp_meter_aux_name(const jp_meter *m, size_t k)
{
    for (size_t s = 0; m && s < m->nsrc; s++) {
        if (k < m->srcs[s].naux) return m->srcs[s].aux_name[k];
        k -= m->srcs[s].naux;
    }
    return "";
}

double jp_meter_sample_aux(const jp_meter *m, size_t s, size_t k)
{
    return m && s < m->ns && k < m->naux ? m->tl_aux[s * m->naux + k] : NAN;
}

const jp_model_params *jp_meter_model_params(const jp_meter *m)
{
    if (!m) return NULL;
    for (size_t s = 0; s < m->nsrc; s++) {
        const jp_model_params *p = jp_source_model_params(&m->srcs[s]);
        if (p) return p;
    }
    return NULL;
}
