/*
 * The exporter's sampling side (include/jouleprint/exporter.h): a meter hook that, after every
 * sample, works out the interval's energy and power per domain, the node's total, carbon, the
 * per-cgroup split, and renders both exposition formats into a new reference-counted snapshot.
 */
#define _POSIX_C_SOURCE 200809L
#include "jouleprint/exporter.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroup.h"
#include "meter_hook.h"
#include "proc.h"
#include "util.h"

struct jp_exposition {
    atomic_int refs;
    char *text, *om;
    size_t text_len, om_len;
};

/* A growing output buffer; on allocation failure it stops growing and says so (oom). */
struct buf {
    char *p;
    size_t len, cap;
    bool oom;
    int nlabels;
};

/* The HTTP statuses counted one by one; the rest are "other". */
static const int http_codes[] = {200, 400, 401, 403, 404, 405, 413, 431, 500, 503};
#define NCODES (sizeof http_codes / sizeof http_codes[0])

/* A log line that may repeat: said when it first happens, then at most once a minute with a count. */
struct ratelog {
    uint64_t said;  /* the count when last said */
    double at;      /* when */
};

struct jp_exporter {
    jp_meter *m;
    jp_roots roots;
    jp_exporter_log_fn log;
    void *log_arg;
    jp_intensity ci;
    double pue;
    char pue_source[160];
    double interval;

    /* per domain */
    size_t nd;
    double *prev_j, *watts;
    bool *gone;

    /* sampler state: touched only by the sampling thread (and by start, before it runs) */
    double t_prev, node_j, node_w, carbon_g;
    uint64_t samples;
    jp_kfile stat_file;
    bool have_busy, stat_said;
    uint64_t prev_busy;
    bool cg_on;
    struct jp_cg cg;
    struct ratelog log_vanished, log_errors, log_glitch;
    bool truncated_said;
    double last_unix, last_dur;
    double start_unix;
    struct buf text, om;

    /* request statistics, from the HTTP threads */
    atomic_uint_fast64_t req[NCODES + 1];
    atomic_uint_fast64_t scrapes, scrape_ns;

    pthread_mutex_t pub_mu;
    jp_exposition *cur;
    bool started;
};

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void say(jp_exporter *e, const char *fmt, ...) JP_PRINTF(2, 3);
static void say(jp_exporter *e, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (e->log) e->log(e->log_arg, line);
    else fprintf(stderr, "jouleprint serve: %s\n", line);
}

static bool ratelog_due(struct ratelog *r, uint64_t count, double now)
{
    if (count == r->said) return false;
    if (r->said != 0 && now - r->at < 60.0) return false;
    r->said = count;
    r->at = now;
    return true;
}

/* ---- the output buffer -------------------------------------------------------------------------- */

static void bgrow(struct buf *b, size_t more)
{
    if (b->oom || b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void bput(struct buf *b, const char *s, size_t n)
{
    bgrow(b, n);
    if (b->oom) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void bputs(struct buf *b, const char *s) { bput(b, s, strlen(s)); }

static void bprintf(struct buf *b, const char *fmt, ...) JP_PRINTF(2, 3);
static void bprintf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) bput(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A label value or HELP text escaped: backslash, double quote (in label values) and newline. */
static void bescape(struct buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') bput(b, "\\\\", 2);
        else if (*s == '\n') bput(b, "\\n", 2);
        else if (*s == '"' && quote) bput(b, "\\\"", 2);
        else bput(b, s, 1);
    }
}

/* The shortest of %.15g and %.17g that reads back as v; integers as integers. */
static void bnum(struct buf *b, double v)
{
    char tmp[40];
    if (isnan(v)) snprintf(tmp, sizeof tmp, "NaN");
    else if (isinf(v)) snprintf(tmp, sizeof tmp, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0) snprintf(tmp, sizeof tmp, "%.0f", v);
    else {
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v) snprintf(tmp, sizeof tmp, "%.17g", v);
    }
    bputs(b, tmp);
}

/* ---- metric families ---------------------------------------------------------------------------- */

enum mtype { COUNTER, GAUGE, INFO, SUMMARY };

/* The family's metadata. name is the family's name without _total (counters) or _info (info). */
static void family(struct buf *b, bool om, const char *name, enum mtype t, const char *unit, const char *help)
{
    static const char *const tn[] = {"counter", "gauge", "info", "summary"};
    const char *suffix = "";
    if (!om && t == COUNTER) suffix = "_total";
    if (!om && t == INFO) suffix = "_info";
    bprintf(b, "# HELP %s%s ", name, suffix);
    bescape(b, help, false);
    bprintf(b, "\n# TYPE %s%s %s\n", name, suffix, !om && t == INFO ? "gauge" : tn[t]);
    if (om && unit) bprintf(b, "# UNIT %s %s\n", name, unit);
}

static void s_begin(struct buf *b, const char *name, const char *suffix)
{
    bputs(b, name);
    bputs(b, suffix);
    b->nlabels = 0;
}

static void s_label(struct buf *b, const char *k, const char *v)
{
    bputs(b, b->nlabels++ ? "," : "{");
    bputs(b, k);
    bputs(b, "=\"");
    bescape(b, v, true);
    bputs(b, "\"");
}

static void s_end(struct buf *b, double v)
{
    if (b->nlabels) bputs(b, "}");
    bputs(b, " ");
    bnum(b, v);
    bputs(b, "\n");
}

/* A sample without labels. */
static void s_one(struct buf *b, const char *name, const char *suffix, double v)
{
    s_begin(b, name, suffix);
    s_end(b, v);
}

static const char *method(bool estimated) { return estimated ? "estimated" : "measured"; }

static void render(jp_exporter *e, struct buf *b, bool om)
{
    const jp_meter *m = e->m;
    b->len = 0;
    b->oom = false;
    bgrow(b, 0);
    if (b->p) b->p[0] = '\0';

    family(b, om, "jouleprint_energy_joules", COUNTER, "joules",
           "Energy of each domain since the exporter started, wrap-safe. core and uncore are inside "
           "package: sum jouleprint_node_energy_joules, not these.");
    for (size_t i = 0; i < e->nd; i++) {
        s_begin(b, "jouleprint_energy_joules", "_total");
        s_label(b, "domain", jp_meter_domain_name(m, i));
        s_label(b, "source", jp_meter_domain_source(m, i));
        s_label(b, "kind", jp_domain_kind_name(jp_meter_domain_kind(m, i)));
        s_label(b, "method", method(jp_meter_domain_estimated(m, i)));
        s_end(b, e->prev_j[i]);
    }
    family(b, om, "jouleprint_node_energy_joules", COUNTER, "joules",
           "Energy of the node since the exporter started: packages, DRAM and GPUs, each joule once.");
    s_begin(b, "jouleprint_node_energy_joules", "_total");
    s_label(b, "method", method(jp_meter_estimated(m)));
    s_end(b, e->node_j);

    family(b, om, "jouleprint_power_watts", GAUGE, "watts", "Mean power of each domain over the last sampling interval.");
    for (size_t i = 0; i < e->nd; i++) {
        s_begin(b, "jouleprint_power_watts", "");
        s_label(b, "domain", jp_meter_domain_name(m, i));
        s_label(b, "source", jp_meter_domain_source(m, i));
        s_label(b, "kind", jp_domain_kind_name(jp_meter_domain_kind(m, i)));
        s_label(b, "method", method(jp_meter_domain_estimated(m, i)));
        s_end(b, e->watts[i]);
    }
    family(b, om, "jouleprint_node_power_watts", GAUGE, "watts", "Mean power of the node over the last sampling interval.");
    s_begin(b, "jouleprint_node_power_watts", "");
    s_label(b, "method", method(jp_meter_estimated(m)));
    s_end(b, e->node_w);

    family(b, om, "jouleprint_domain_up", GAUGE, NULL, "1 while the domain's counter can be read, 0 after it vanished.");
    for (size_t i = 0; i < e->nd; i++) {
        s_begin(b, "jouleprint_domain_up", "");
        s_label(b, "domain", jp_meter_domain_name(m, i));
        s_label(b, "source", jp_meter_domain_source(m, i));
        s_end(b, e->gone[i] ? 0 : 1);
    }

    family(b, om, "jouleprint_carbon_grams", COUNTER, "grams",
           "CO2e of the node's energy since the exporter started, at the grid intensity and PUE in use.");
    s_one(b, "jouleprint_carbon_grams", "_total", e->carbon_g);
    family(b, om, "jouleprint_grid_intensity_grams_per_joule", GAUGE, "grams_per_joule",
           "Grid carbon intensity in use, grams CO2e per joule (gCO2e/kWh divided by 3.6e6).");
    s_one(b, "jouleprint_grid_intensity_grams_per_joule", "", e->ci.g_per_kwh / 3.6e6);
    family(b, om, "jouleprint_pue_ratio", GAUGE, NULL, "Power usage effectiveness applied to carbon (1 = none).");
    s_one(b, "jouleprint_pue_ratio", "", e->pue);
    family(b, om, "jouleprint_carbon_region", INFO, NULL, "The region whose grid intensity is in use, and its source.");
    s_begin(b, "jouleprint_carbon_region", "_info");
    s_label(b, "region", e->ci.region);
    s_label(b, "name", e->ci.name);
    char year[16];
    snprintf(year, sizeof year, "%d", e->ci.year);
    s_label(b, "year", e->ci.year ? year : "");
    s_label(b, "source", e->ci.source);
    s_label(b, "pue_source", e->pue_source);
    s_end(b, 1);

    if (e->cg_on) {
        family(b, om, "jouleprint_cgroup_energy_joules", COUNTER, "joules",
               "Energy attributed to a cgroup by its share of the machine's busy CPU time, while among the top "
               "cgroups by recent energy; cgroup=\"other\" holds the rest.");
        for (size_t i = 0; i < e->cg.n; i++) {
            const struct jp_cg_unit *u = e->cg.units[i];
            if (!u->member) continue;
            s_begin(b, "jouleprint_cgroup_energy_joules", "_total");
            s_label(b, "cgroup", u->path);
            s_label(b, "slice", u->slice);
            s_label(b, "unit", u->unit);
            s_label(b, "pod_uid", u->pod_uid);
            s_label(b, "container_id", u->container_id);
            s_end(b, u->series_j);
        }
        s_begin(b, "jouleprint_cgroup_energy_joules", "_total");
        s_label(b, "cgroup", "other");
        s_label(b, "slice", "");
        s_label(b, "unit", "");
        s_label(b, "pod_uid", "");
        s_label(b, "container_id", "");
        s_end(b, e->cg.other_j);
        family(b, om, "jouleprint_cgroups", GAUGE, NULL, "Cgroups (workloads) tracked at the last sample.");
        s_one(b, "jouleprint_cgroups", "", (double)e->cg.n);
        family(b, om, "jouleprint_cgroup_read_errors", COUNTER, NULL,
               "Cgroups that could not be read: vanished between listing and reading, or unreadable.");
        s_begin(b, "jouleprint_cgroup_read_errors", "_total");
        s_label(b, "reason", "vanished");
        s_end(b, (double)e->cg.ev.vanished);
        s_begin(b, "jouleprint_cgroup_read_errors", "_total");
        s_label(b, "reason", "unreadable");
        s_end(b, (double)e->cg.ev.read_errors);
    }

    family(b, om, "jouleprint_source", INFO, NULL, "The energy sources in use.");
    for (size_t i = 0; i < e->nd; i++) {
        bool first = true;
        for (size_t k = 0; k < i && first; k++)
            if (!strcmp(jp_meter_domain_source(m, k), jp_meter_domain_source(m, i))) first = false;
        if (!first) continue;
        s_begin(b, "jouleprint_source", "_info");
        s_label(b, "source", jp_meter_domain_source(m, i));
        s_label(b, "method", method(jp_meter_domain_estimated(m, i)));
        s_end(b, 1);
    }
    family(b, om, "jouleprint_samples", COUNTER, NULL, "Samples taken.");
    s_one(b, "jouleprint_samples", "_total", (double)e->samples);
    family(b, om, "jouleprint_sampling_errors", COUNTER, NULL,
           "Counter reads skipped as glitches: unreadable or unparseable, backwards, impossible jumps, vanished.");
    s_one(b, "jouleprint_sampling_errors", "_total", (double)jp_meter_glitches(m));
    family(b, om, "jouleprint_wraps", COUNTER, NULL, "Wraps of the hardware energy counters, bridged.");
    s_one(b, "jouleprint_wraps", "_total", (double)jp_meter_wraps(m));
    family(b, om, "jouleprint_sampling_interval_seconds", GAUGE, "seconds", "The sampling interval in use.");
    s_one(b, "jouleprint_sampling_interval_seconds", "", e->interval);
    family(b, om, "jouleprint_sample_duration_seconds", GAUGE, "seconds",
           "Time the previous sample took to compute and render (counters, cgroups, both formats).");
    s_one(b, "jouleprint_sample_duration_seconds", "", e->last_dur);
    family(b, om, "jouleprint_last_sample_timestamp_seconds", GAUGE, "seconds", "Unix time of the last sample.");
    s_one(b, "jouleprint_last_sample_timestamp_seconds", "", e->last_unix);
    family(b, om, "jouleprint_scrape_duration_seconds", SUMMARY, "seconds",
           "Time taken to serve GET /metrics, as of the last sample.");
    uint64_t ns = atomic_load(&e->scrape_ns), nsc = atomic_load(&e->scrapes);
    s_one(b, "jouleprint_scrape_duration_seconds", "_sum", (double)ns * 1e-9);
    s_one(b, "jouleprint_scrape_duration_seconds", "_count", (double)nsc);
    family(b, om, "jouleprint_http_requests", COUNTER, NULL, "HTTP requests answered, by status, as of the last sample.");
    for (size_t k = 0; k <= NCODES; k++) {
        char code[16];
        snprintf(code, sizeof code, "%d", k < NCODES ? http_codes[k] : 0);
        s_begin(b, "jouleprint_http_requests", "_total");
        s_label(b, "code", k < NCODES ? code : "other");
        s_end(b, (double)atomic_load(&e->req[k]));
    }
    family(b, om, "jouleprint_start_time_seconds", GAUGE, "seconds", "Unix time the exporter started.");
    s_one(b, "jouleprint_start_time_seconds", "", e->start_unix);
    family(b, om, "jouleprint_build", INFO, NULL, "The version of jouleprint.");
    s_begin(b, "jouleprint_build", "_info");
    s_label(b, "version", JP_VERSION);
    s_end(b, 1);
    if (om) bputs(b, "# EOF\n");
}

/* ---- publishing -------------------------------------------------------------------------------- */

void jp_exposition_release(jp_exposition *x)
{
    if (!x) return;
    if (atomic_fetch_sub(&x->refs, 1) == 1) {
        free(x->text);
        free(x->om);
        free(x);
    }
}

static void publish(jp_exporter *e)
{
    render(e, &e->text, false);
    render(e, &e->om, true);
    if (e->text.oom || e->om.oom) return; /* keep the previous one */
    jp_exposition *x = calloc(1, sizeof *x);
    if (!x) return;
    x->text = malloc(e->text.len + 1);
    x->om = malloc(e->om.len + 1);
    if (!x->text || !x->om) {
        free(x->text);
        free(x->om);
        free(x);
        return;
    }
    memcpy(x->text, e->text.p, e->text.len + 1);
    memcpy(x->om, e->om.p, e->om.len + 1);
    x->text_len = e->text.len;
    x->om_len = e->om.len;
    atomic_init(&x->refs, 1);
    pthread_mutex_lock(&e->pub_mu);
    jp_exposition *old = e->cur;
    e->cur = x;
    pthread_mutex_unlock(&e->pub_mu);
    jp_exposition_release(old);
}

jp_exposition *jp_exporter_acquire(jp_exporter *e)
{
    if (!e) return NULL;
    pthread_mutex_lock(&e->pub_mu);
    jp_exposition *x = e->cur;
    if (x) atomic_fetch_add(&x->refs, 1);
    pthread_mutex_unlock(&e->pub_mu);
    return x;
}

const char *jp_exposition_bytes(const jp_exposition *x, jp_exposition_format f, size_t *len)
{
    if (!x) {
        if (len) *len = 0;
        return "";
    }
    if (len) *len = f == JP_EXPOSITION_OPENMETRICS ? x->om_len : x->text_len;
    return f == JP_EXPOSITION_OPENMETRICS ? x->om : x->text;
}

const char *jp_exposition_content_type(jp_exposition_format f)
{
    return f == JP_EXPOSITION_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                          : "text/plain; version=0.0.4; charset=utf-8";
}

/* The q of the media range starting at p (up to the next ','): 1 unless ";q=" says otherwise. */
static double quality(const char *p)
{
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    for (size_t i = 0; i + 2 < n; i++) {
        if (p[i] != ';') continue;
        const char *q = p + i + 1;
        while (*q == ' ') q++;
        if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
            char *e2;
            double v = strtod(q + 2, &e2);
            return e2 != q + 2 && v >= 0 && v <= 1 ? v : 0;
        }
    }
    return 1;
}

jp_exposition_format jp_exposition_negotiate(const char *accept)
{
    if (!accept) return JP_EXPOSITION_TEXT;
    double q_om = -1, q_text = -1;
    for (const char *p = accept; *p;) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        double q = quality(p);
        if (!strncmp(p, "application/openmetrics-text", 28)) {
            if (q > q_om) q_om = q;
        } else if (!strncmp(p, "text/plain", 10)) {
            if (q > q_text) q_text = q;
        }
        const char *c = strchr(p, ',');
        if (!c) break;
        p = c + 1;
    }
    return q_om > 0 && q_om >= q_text ? JP_EXPOSITION_OPENMETRICS : JP_EXPOSITION_TEXT;
}

void jp_exporter_record_request(jp_exporter *e, int http_status, bool scrape, double seconds)
{
    if (!e) return;
    size_t k = 0;
    while (k < NCODES && http_codes[k] != http_status) k++;
    atomic_fetch_add(&e->req[k], 1);
    if (scrape && seconds >= 0 && seconds < 1e6) {
        atomic_fetch_add(&e->scrapes, 1);
        atomic_fetch_add(&e->scrape_ns, (uint_fast64_t)(seconds * 1e9));
    }
}

/* ---- sampling ----------------------------------------------------------------------------------- */

static void note_events(jp_exporter *e, double now)
{
    const jp_meter *m = e->m;
    for (size_t i = 0; i < e->nd; i++) {
        bool g = jp_meter_domain_gone(m, i);
        if (g == e->gone[i]) continue;
        e->gone[i] = g;
        if (g)
            say(e, "%s (%s): the counter vanished; its energy stays at %.3f J and jouleprint_domain_up is 0 until it is back",
                jp_meter_domain_name(m, i), jp_meter_domain_source(m, i), e->prev_j[i]);
        else
            say(e, "%s (%s): the counter is back", jp_meter_domain_name(m, i), jp_meter_domain_source(m, i));
    }
    uint64_t gl = jp_meter_glitches(m);
    if (ratelog_due(&e->log_glitch, gl, now))
        say(e, "%llu counter reads skipped as glitches so far (unreadable, backwards, impossible jumps, or vanished "
               "zones; see jouleprint_sampling_errors_total)",
            (unsigned long long)gl);
    if (!e->cg_on) return;
    if (ratelog_due(&e->log_vanished, e->cg.ev.vanished, now))
        say(e, "cgroup %s vanished between listing and reading its cpu.stat; its energy up to its last read is kept "
               "(%llu such so far)",
            e->cg.ev.vanished_path, (unsigned long long)e->cg.ev.vanished);
    if (ratelog_due(&e->log_errors, e->cg.ev.read_errors, now))
        say(e, "cgroup %s: cannot read cpu.stat: %s; not attributed (%llu such reads so far)", e->cg.ev.error_path,
            e->cg.ev.error_why, (unsigned long long)e->cg.ev.read_errors);
    if (e->cg.ev.truncated && !e->truncated_said) {
        e->truncated_said = true;
        say(e, "more than %d cgroups, or deeper than %d levels, under %s: those past the limit are not attributed",
            JP_CG_MAX_UNITS, JP_CG_MAX_DEPTH, e->cg.root);
    }
}

static void on_sample(void *arg, const jp_meter *m, double t)
{
    jp_exporter *e = arg;
    double t0 = jp_now();
    double dt = t - e->t_prev;
    if (dt <= 0) return;
    double de = 0;
    for (size_t i = 0; i < e->nd; i++) {
        double j = jp_meter_joules(m, (int)i);
        double d = j - e->prev_j[i];
        if (!(d >= 0)) d = 0;
        e->watts[i] = d / dt;
        e->prev_j[i] = j;
        if (jp_meter_domain_in_total(m, i)) de += d;
    }
    e->node_j += de;
    e->node_w = de / dt;
    e->carbon_g += jp_carbon_grams(de, e->ci.g_per_kwh, e->pue);

    /* the machine's busy CPU time over the interval, the denominator of the cgroup shares */
    struct jp_cpu_times ct;
    uint64_t busy_usec = 0;
    if (jp_proc_cpu_times_kfile(&e->stat_file, &ct) == JP_OK) {
        if (e->have_busy && ct.busy >= e->prev_busy)
            busy_usec = (uint64_t)((double)(ct.busy - e->prev_busy) * 1e6 / jp_proc_hz());
        e->prev_busy = ct.busy;
        e->have_busy = true;
    } else if (!e->stat_said) {
        e->stat_said = true;
        say(e, "%s; cgroups are given shares of their own CPU time instead of the machine's", jp_last_error());
    }
    if (e->cg_on) {
        jp_cg_scan(&e->cg);
        jp_cg_attribute(&e->cg, de, busy_usec, dt);
    }
    e->samples++;
    e->t_prev = t;
    e->last_unix = unix_now();
    note_events(e, t);
    publish(e);
    e->last_dur = jp_now() - t0;
}

/* ---- life --------------------------------------------------------------------------------------- */

void jp_exporter_config_init(jp_exporter_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    jp_meter_config_init(&cfg->meter);
    cfg->meter.interval_s = 1.0;
    cfg->meter.keep_timeline = false;
    cfg->pue = 1.0;
    cfg->cgroups = true;
    cfg->top_cgroups = 20;
}

int jp_exporter_open(jp_exporter **out, const jp_exporter_config *cfg)
{
    jp_clear_error();
    if (!out || !cfg) return jp_fail(JP_ERR_INVAL, "jp_exporter_open: NULL argument");
    *out = NULL;
    if (!(cfg->pue >= 1.0 && cfg->pue <= 3.0)) return jp_fail(JP_ERR_RANGE, "PUE %g: expected 1 to 3", cfg->pue);
    if (cfg->cgroups && (cfg->top_cgroups < 1 || cfg->top_cgroups > 1000))
        return jp_fail(JP_ERR_RANGE, "top cgroups %zu: expected 1 to 1000", cfg->top_cgroups);
    jp_exporter *e = calloc(1, sizeof *e);
    if (!e) return jp_fail(JP_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&e->pub_mu, NULL);
    e->log = cfg->log;
    e->log_arg = cfg->log_arg;
    e->pue = cfg->pue;
    jp_strlcpy(e->pue_source, cfg->pue_source ? cfg->pue_source : "", sizeof e->pue_source);
    jp_kfile_init(&e->stat_file, "", false);
    int rc;
    if (cfg->intensity) {
        e->ci = *cfg->intensity;
    } else if ((rc = jp_intensity_lookup("world", &e->ci)) != JP_OK) {
        jp_exporter_close(e);
        return rc;
    }
    if (!(e->ci.g_per_kwh >= 0 && e->ci.g_per_kwh < 1e5)) {
        jp_exporter_close(e);
        return jp_fail(JP_ERR_RANGE, "grid intensity %g gCO2e/kWh: expected 0 to 100000", e->ci.g_per_kwh);
    }
    if ((rc = jp_roots_from_env(&e->roots)) != JP_OK) {
        jp_exporter_close(e);
        return rc;
    }
    char path[PATH_MAX];
    if ((rc = jp_pathf(path, sizeof path, "%s/stat", e->roots.proc)) != JP_OK) {
        jp_exporter_close(e);
        return rc;
    }
    jp_kfile_init(&e->stat_file, path, e->roots.proc_real);
    if (cfg->cgroups) {
        char root[PATH_MAX];
        bool asked = cfg->cgroup_root || (getenv("JP_CGROUP_ROOT") && *getenv("JP_CGROUP_ROOT"));
        rc = jp_cg_root(&e->roots, cfg->cgroup_root, root, sizeof root);
        if (rc != JP_OK && asked) {
            jp_exporter_close(e);
            return rc;
        }
        if (rc != JP_OK) {
            say(e, "per-cgroup attribution is off: %s", jp_last_error());
            jp_clear_error();
        } else if ((rc = jp_cg_init(&e->cg, root, cfg->top_cgroups)) != JP_OK) {
            jp_exporter_close(e);
            return rc;
        } else {
            e->cg_on = true;
        }
    }
    jp_meter_config mc = cfg->meter;
    mc.keep_timeline = false;
    if ((rc = jp_meter_open(&e->m, &mc)) != JP_OK) {
        jp_exporter_close(e);
        return rc;
    }
    e->interval = jp_meter_interval(e->m);
    e->nd = jp_meter_domain_count(e->m);
    e->prev_j = calloc(e->nd + 1, sizeof *e->prev_j);
    e->watts = calloc(e->nd + 1, sizeof *e->watts);
    e->gone = calloc(e->nd + 1, sizeof *e->gone);
    if (!e->prev_j || !e->watts || !e->gone) {
        jp_exporter_close(e);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    *out = e;
    return JP_OK;
}

const jp_meter *jp_exporter_meter(const jp_exporter *e) { return e ? e->m : NULL; }

int jp_exporter_start(jp_exporter *e)
{
    if (!e) return jp_fail(JP_ERR_INVAL, "jp_exporter_start: exporter is NULL");
    if (e->started) return jp_fail(JP_ERR_STATE, "jp_exporter_start: already started");
    e->start_unix = e->last_unix = unix_now();
    /* the first references: cgroups' CPU time and the machine's busy time now */
    struct jp_cpu_times ct;
    if (jp_proc_cpu_times_kfile(&e->stat_file, &ct) == JP_OK) {
        e->prev_busy = ct.busy;
        e->have_busy = true;
    }
    if (e->cg_on) jp_cg_scan(&e->cg);
    publish(e);
    if (!e->cur) return jp_fail(JP_ERR_NOMEM, "out of memory");
    jp_meter_set_sample_hook(e->m, on_sample, e);
    e->t_prev = jp_now();
    int rc = jp_meter_start(e->m);
    if (rc != JP_OK) return rc;
    e->started = true;
    return JP_OK;
}

void jp_exporter_close(jp_exporter *e)
{
    if (!e) return;
    if (e->m) {
        if (e->started) jp_meter_stop(e->m);
        jp_meter_close(e->m);
    }
    if (e->cg_on) jp_cg_free(&e->cg);
    jp_kfile_close(&e->stat_file);
    jp_exposition_release(e->cur);
    pthread_mutex_destroy(&e->pub_mu);
    free(e->prev_j);
    free(e->watts);
    free(e->gone);
    free(e->text.p);
    free(e->om.p);
    free(e);
}
