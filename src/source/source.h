/*
 * The energy back-end interface. Each back-end is one file under src/source/ that exports one
 * `const struct jp_source_ops`. Every back-end presents its domains as cumulative energy counters
 * (raw units times a scale, with the modulus at which they wrap); the meter does the deltas,
 * wraparound, glitch rejection and integration once for all of them. Back-ends that only know
 * power (the model) integrate it themselves into such a counter.
 *
 * Back-ends must read every value afresh on every call to read(), and must take every path from
 * the roots in struct jp_source_env so that tests can point them at fake trees.
 */
#ifndef JP_SOURCE_H
#define JP_SOURCE_H

#include "../domain.h"
#include "../util.h"

#define JP_NAME_MAX 48
#define JP_MAX_DOMAINS 64
#define JP_MAX_AUX 32

/* What a back-end is given when probed or opened. */
struct jp_source_env {
    jp_roots roots;               /* /sys, /dev, /proc or their fakes */
    const char *nvml_library;     /* JP_NVML_LIBRARY or NULL */
    jp_model_params model;        /* user overrides for the model (negative = unset) */
};

struct jp_domain_desc {
    char name[JP_NAME_MAX];  /* "package-0", "dram-1", "cpu-model" */
    jp_domain_kind kind;
    double joules_per_unit;  /* scale of the raw counter */
    uint64_t wrap;           /* counter modulus in raw units; 0: a 64-bit counter that never wraps */
    double max_watts;        /* a delta implying more than this is a glitch; 0: the meter's default */
    bool estimated;
};

/* Per-domain outcome of one read. */
enum jp_read_status {
    JP_READ_OK = 0,
    JP_READ_GLITCH = 1, /* the value could not be read or parsed this time; skip it */
    JP_READ_GONE = 2    /* the domain has vanished (zone removed); skip it */
};

struct jp_source {
    const struct jp_source_ops *ops;
    size_t ndomains;
    struct jp_domain_desc domains[JP_MAX_DOMAINS];
    char detail[512]; /* what it measures, in words: "2 packages via intel-rapl, dram" */
    void *priv;       /* the back-end's own state */
    /* Its inputs change no more often than this (seconds; 0: no limit). When every source of a meter
     * has such a limit above the interval asked for, the meter samples at the shortest of them
     * instead: faster sampling would only read the same values again. */
    double min_interval_s;
    /* Optional side metrics that are not energy (GPU utilization, GPU memory): names fixed by open()
     * ("gpu-0.util_pct", "gpu-0.mem_used_mib"), values refreshed by every read(), NAN where not
     * available that time. The meter records them with each sample of the timeline. */
    size_t naux;
    char aux_name[JP_MAX_AUX][JP_NAME_MAX];
    double aux[JP_MAX_AUX];
    /* The meter's time of the read in progress (jp_now's clock), set before every read(); 0 outside
     * the meter. A back-end that integrates power times its readings by it, so that its joules and
     * the meter's duration share one clock: a constant P over a run of d seconds is P x d joules
     * however the sampling thread was scheduled around the query. */
    double read_t;
};

struct jp_source_ops {
    const char *name;   /* "rapl-powercap", "rapl-msr", "rapl-perf", "nvml", "amdgpu-hwmon", "model" */
    bool is_gpu;        /* GPU sources add to a CPU source; CPU sources exclude one another */
    bool estimated;     /* gives estimates (the model) */
    /* JP_OK if it can run here; otherwise a status, with jp_fail() saying what a user can do about it
     * (as open does). May be NULL where there is no cheaper check than opening: probing then opens
     * and closes, and open's error says why (see jp_source_probe). */
    int (*probe)(const struct jp_source_env *env);
    /* Fills src->domains, src->ndomains, src->detail and src->priv. On failure, jp_fail() says why
     * and nothing stays allocated. */
    int (*open)(struct jp_source *src, const struct jp_source_env *env);
    /* Reads every domain's counter afresh into raw[i], with status[i]. Returns JP_OK, or an error if
     * the whole source failed this time (the meter then counts a glitch for every domain). */
    int (*read)(struct jp_source *src, uint64_t *raw, enum jp_read_status *status);
    void (*close)(struct jp_source *src);
};

extern const struct jp_source_ops jp_source_rapl_powercap;
extern const struct jp_source_ops jp_source_rapl_msr;
extern const struct jp_source_ops jp_source_rapl_perf;
extern const struct jp_source_ops jp_source_nvml;
extern const struct jp_source_ops jp_source_amdgpu_hwmon;
extern const struct jp_source_ops jp_source_model;

/* All back-ends, in order of preference, NULL-terminated. */
extern const struct jp_source_ops *const jp_source_registry[];

/* The parameters a model source resolved when opened; NULL for other sources. */
const jp_model_params *jp_source_model_params(const struct jp_source *src);

/* Whether ops can run here (its probe, or an open and close when it has none); jp_last_error() says
 * why not. */
int jp_source_probe(const struct jp_source_ops *ops, const struct jp_source_env *env);
/* Probes and opens ops into src with one open: JP_OK, JP_ERR_NOSOURCE when its probe says no, or
 * open's status; jp_last_error() says why. */
int jp_source_try_open(struct jp_source *src, const struct jp_source_ops *ops, const struct jp_source_env *env);

/* Fills env from the environment (roots, JP_NVML_LIBRARY) and the given model overrides. */
int jp_source_env_init(struct jp_source_env *env, const jp_model_params *model);

/* Adds a side metric named "<domain>.<what>" ("gpu-0.util_pct"), NAN until read; returns its index,
 * or -1 when the source has JP_MAX_AUX already. */
int jp_source_add_aux(struct jp_source *src, const char *domain, const char *what);

/* Adds a domain to src; returns its index or JP_ERR_RANGE if full. */
int jp_source_add_domain(struct jp_source *src, const char *name, jp_domain_kind kind,
                         double joules_per_unit, uint64_t wrap, bool estimated);

#endif
