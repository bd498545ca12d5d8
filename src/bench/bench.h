/*
 * The benchmark harness's data: a run of a spec (tasks, each with models), the figures measured
 * for every model, and the analysis (savings against the largest, Pareto front, rating, projection).
 *
 * One struct serves the runner (which fills it), the store (which saves and loads it) and the report
 * writers (which render it), so that `jouleprint report` on a stored run shows exactly what
 * `jouleprint bench` printed.
 */
#ifndef JP_BENCH_H
#define JP_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "jouleprint.h"

#define JP_BENCH_MAX_METRICS 8
#define JP_BENCH_MAX_PHASES 8

struct jp_bench_metric {
    char name[32]; /* "accuracy", "cer", "wer", "word_recall", "rouge1", "rouge2", "rougeL", "exact_match" */
    double value;  /* fractions are kept as fractions (0.913), not percent */
};

struct jp_bench_phase {
    char name[32]; /* "load", "infer", ... as the command or builtin marked them */
    double joules; /* mean over the measured runs */
    double seconds;
};

struct jp_bench_model {
    char name[64];
    char kind[16];        /* "command" or "builtin" */
    char command[1024];   /* the command template, or the builtin's name and options */
    char status[16];      /* "ok", "failed", "timeout", "interrupted" */
    char error[512];      /* why it failed, in words; "" when ok */
    int runs, warmups;    /* measured runs that completed; warm-ups done */
    long items_timed;     /* items per measured run */
    long items_scored;    /* items whose predictions were scored */

    /* energy and time, mean over measured runs (raw: the whole machine as the sources see it) */
    double energy_j, energy_j_sd;
    double duration_s, duration_s_sd;
    double above_idle_j;  /* energy above the session's idle baseline (== energy_j if none) */
    size_t nphases;
    struct jp_bench_phase phases[JP_BENCH_MAX_PHASES];
    double infer_j, infer_s; /* the "infer" phase if marked, else the whole run */
    double load_j, load_s;   /* the "load" phase if marked, else 0 */

    /* per item, from the infer phase */
    double j_per_item;
    double wh_per_1000;      /* Wh per 1,000 items */
    double latency_s;        /* seconds per item */
    double items_per_s;

    size_t nmetrics;
    struct jp_bench_metric metrics[JP_BENCH_MAX_METRICS];
    double score;            /* the task's main metric (higher is better), NAN if not scored */
    bool estimated;          /* any figure in the total came from the power model */

    /* analysis (jp_bench_analyze) */
    bool is_reference;       /* the largest model of the task: most energy per item among ok ones */
    double saving_pct;       /* energy per item saved against the reference, percent */
    double score_delta;      /* score minus the reference's (same unit as score) */
    bool pareto;             /* on the front of energy per item (lower) vs score (higher) */
    int rating;              /* 1..5 within the task, 5 = least energy per item; 0 if not ok */
    double proj_kwh;         /* energy for the run's project_n items, kWh */
    double proj_g;           /* its emissions at the run's region, g CO2e (PUE applied) */

    /* the power timeline of the last measured run: t (s) and total W per sample */
    size_t nsamples;
    double *sample_t;
    double *sample_w;
};

struct jp_bench_task {
    char name[64];
    char scorer[32];       /* "accuracy", "ocr", "rouge", "exact_match", "none" */
    char metric[32];       /* the main metric's name ("accuracy", "word_recall", "rougeL", ...) */
    char items[1024];      /* the items file or dataset, as the spec gave it */
    char references[1024]; /* the references file */
    long n_time, n_score;
    size_t nmodels;
    struct jp_bench_model *models;
    int reference;         /* index of the reference (largest) model, -1 if none ran */
    int pick;              /* the recommendation: least energy per item among models whose score is
                              within the task's tolerance of the best; -1 if none */
    double tolerance;      /* score points within which models count as "as accurate" (default 0.01) */
};

struct jp_bench_run {
    long id;                     /* in the store; 0 until saved */
    char started_at[32];         /* ISO 8601 UTC, "2026-11-25T17:03:55Z" */
    char finished_at[32];
    char status[16];             /* "complete", "interrupted" */
    char spec_path[1024];
    char machine[256];           /* "host: AMD EPYC, 2 CPUs, 25.3 GB" */
    char sources[256];           /* the energy sources used, comma-separated */
    bool estimated;              /* any figure of the run is an estimate */
    char region[64];
    double g_per_kwh;
    char intensity_source[160];
    double pue;
    double project_n;            /* items to project to (default 1e8) */
    double baseline_w;           /* idle power measured before the session; 0 if none */
    char warnings[1024];         /* what loading it left out, one line each ("" when whole) */
    size_t ntasks;
    struct jp_bench_task *tasks;
};

/* Frees everything a run owns (not the struct itself) and zeroes it. */
void jp_bench_run_clear(struct jp_bench_run *run);

/* Fills the analysis fields of every task and model from the measured ones. Idempotent. */
void jp_bench_analyze(struct jp_bench_run *run);

/* The value of a named metric, or NAN. */
double jp_bench_metric(const struct jp_bench_model *m, const char *name);

#endif
