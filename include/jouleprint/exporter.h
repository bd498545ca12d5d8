/*
 * jouleprint's Prometheus exporter, the part in libjouleprint: a meter that runs for as long as the
 * exporter does, and on every sample (on the meter's own sampling thread) turns the counters into
 * the metrics `jouleprint serve` publishes: energy per domain and for the node, power over the
 * last interval, carbon, energy per cgroup, and the exporter's health. The metrics are rendered
 * then, in the Prometheus text format and in OpenMetrics, and published as one immutable,
 * reference-counted exposition; a scrape only takes a reference to the latest one, so a scrape
 * costs a pointer copy and never waits for, or delays, sampling.
 *
 * The HTTP side (listening, TLS, basic auth) is the tool's (cli/serve.c, on libmicrohttpd); this
 * library links nothing for it. README.md, "On a fleet", lists every metric.
 */
#ifndef JOULEPRINT_EXPORTER_H
#define JOULEPRINT_EXPORTER_H

#include <jouleprint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default) /* every declaration below is exported from libjouleprint */
#endif

typedef struct jp_exporter jp_exporter;

/* Receives one log line (no newline) about what happened while sampling: a counter that vanished
 * or came back, a cgroup that vanished between two reads, unreadable files. Called on the sampling
 * thread. */
typedef void (*jp_exporter_log_fn)(void *arg, const char *line);

typedef struct jp_exporter_config {
    jp_meter_config meter;         /* sources, model overrides, interval (default 1 s here); the
                                      timeline is never kept */
    const jp_intensity *intensity; /* grid intensity for carbon (jp_intensity_resolve); NULL: the
                                      world average */
    double pue;                    /* 1.0 (default) to 3 */
    const char *pue_source;        /* where the PUE comes from, for the region's info metric; NULL: "" */
    bool cgroups;                  /* attribute energy to cgroups (default true) */
    const char *cgroup_root;       /* NULL: $JP_CGROUP_ROOT, else <JP_SYSFS_ROOT or /sys>/fs/cgroup.
                                      Named here or in the environment, it must be a cgroup v2 tree;
                                      the default one missing only turns attribution off (logged) */
    size_t top_cgroups;            /* cgroups with a series of their own (default 20, 1..1000); the
                                      rest are summed into one series, cgroup="other" */
    jp_exporter_log_fn log;        /* NULL: lines go to stderr */
    void *log_arg;
} jp_exporter_config;

void jp_exporter_config_init(jp_exporter_config *cfg);

/* Opens the sources (as jp_meter_open) and the cgroup tree. */
int jp_exporter_open(jp_exporter **out, const jp_exporter_config *cfg);
/* Starts sampling. An exposition (with zero energy) is published before this returns. */
int jp_exporter_start(jp_exporter *e);
/* Stops sampling and frees everything; expositions still held stay valid until released. */
void jp_exporter_close(jp_exporter *e);

/* The meter underneath (for its domains and sources; do not start or stop it). */
const jp_meter *jp_exporter_meter(const jp_exporter *e);

typedef enum jp_exposition_format {
    JP_EXPOSITION_TEXT,       /* text/plain; version=0.0.4 */
    JP_EXPOSITION_OPENMETRICS /* application/openmetrics-text; version=1.0.0 */
} jp_exposition_format;

typedef struct jp_exposition jp_exposition;

/* The latest exposition, with a reference held: release it when done (from any thread). NULL
 * before jp_exporter_start. */
jp_exposition *jp_exporter_acquire(jp_exporter *e);
void jp_exposition_release(jp_exposition *x);
/* Its bytes in a format (not NUL-terminated; valid while the reference is held). */
const char *jp_exposition_bytes(const jp_exposition *x, jp_exposition_format f, size_t *len);
/* The HTTP Content-Type of a format. */
const char *jp_exposition_content_type(jp_exposition_format f);
/* The format an HTTP Accept header asks for: OpenMetrics when it names application/openmetrics-text
 * with a quality at least that of text/plain, else the text format. NULL: text. */
jp_exposition_format jp_exposition_negotiate(const char *accept);

/* Counts one HTTP request with its status, and for a scrape (GET /metrics served) its duration in
 * seconds; they appear in the next exposition (jouleprint_http_requests_total,
 * jouleprint_scrape_duration_seconds). Thread-safe, lock-free. */
void jp_exporter_record_request(jp_exporter *e, int http_status, bool scrape, double seconds);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
