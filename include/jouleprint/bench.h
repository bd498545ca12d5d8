/*
 * jouleprint bench: the benchmark harness of libjouleprint-bench (pkg-config jouleprint-bench), over the
 * core meter (jouleprint.h) and the built-in workloads (jouleprint/workloads.h).
 *
 *     struct jp_spec spec;                             a YAML spec, validated whole before anything runs
 *     if (jp_spec_load("bench.yaml", &spec) != JP_OK) { ... jp_last_error() ... }
 *     struct jp_bench_options o;
 *     jp_bench_options_init(&o);
 *     o.workdir = "/tmp/run";
 *     struct jp_bench_run run;
 *     jp_bench_run_spec(&spec, &o, &run);              measures every model of every task
 *     jp_bench_analyze(&run);                          savings, Pareto front, ratings, projection
 *     jp_report_write(stdout, &run, JP_REPORT_TABLE);  or CSV, JSON, Markdown, HTML
 *     jp_store_open(&db, "jouleprint.db", JP_STORE_CREATE); jp_store_save(db, &run); jp_store_close(db);
 *     jp_bench_run_clear(&run);
 *     jp_spec_free(&spec);
 */
#ifndef JOULEPRINT_BENCH_H
#define JOULEPRINT_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "jouleprint.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default) /* every declaration below is exported from the library */
#endif

/* The size of the path fields below (PATH_MAX on Linux). */
#define JP_PATH_MAX 4096

/* ---- specs ------------------------------------------------------------------------------------- */
/*
 * Benchmark specs: a YAML file naming tasks, their items, references, scorer and models.
 *
 *   region: gcp:us-west1        # optional: carbon region (default $JP_REGION, else the world)
 *   project: 100000000          # optional: items to project to
 *   repeats: 3                  # optional defaults for every model
 *   warmup: 1
 *   timeout: 10min
 *   baseline: 5s                # optional: idle power measured once before the session
 *   tasks:
 *     - name: classification
 *       items: items.txt        # one item per line (paths relative to the spec's folder)
 *       references: labels.txt  # one reference per line, same order
 *       time: 2500              # items per measured run
 *       score: 10000            # items scored (default: as many as timed)
 *       scorer: accuracy        # accuracy | exact_match | ocr | rouge | adherence | fid | none
 *       tolerance: 0.01         # score within which a model counts as "as accurate" (the metric's
 *                               # unit: 0.01 is a point of a fraction; fid: FID units, default 1)
 *       models:
 *         - name: small
 *           command: ./small --in {inputs} --out {outputs} --n {n}
 *         - name: mlp
 *           builtin: classify
 *           options: {model: mlp, threads: 2}
 *
 * Commands are split into words (single and double quotes group words) and run directly, with the
 * spec's folder as working directory; {inputs} is a file listing the items, {outputs} where the
 * command writes one prediction per line, {n} the item count. A command may print a line
 * "JOULEPRINT PHASE <name>" to split its energy into phases ("load", "infer").
 *
 * The first measured run's predictions are scored when it covered the items to score. With more to
 * score than to time, a command gets one unmeasured pass over them after its last run; the classify
 * builtin instead runs them all in its first measured run, the meter covering only the first `time`
 * items (the same items, in the same batches, as a run of that many), so that the model is loaded once
 * and no item runs twice. The data sets the builtins read are decompressed once per run of the spec.
 */

struct jp_spec_option {
    char key[32];
    char value[256];
};

struct jp_spec_model {
    char name[64];
    char command[1024];  /* "" for a builtin */
    char builtin[32];    /* "" for a command */
    size_t noptions;
    struct jp_spec_option options[8];
    int repeats, warmup;
    double timeout_s;
    int line;
};

struct jp_spec_task {
    char name[64];
    char items[JP_PATH_MAX];      /* resolved against the spec's folder; "" for builtin-only tasks */
    char references[JP_PATH_MAX];
    long n_time, n_score;
    long n_items;              /* lines in the items file */
    char scorer[32];
    double tolerance;
    size_t nmodels;
    struct jp_spec_model *models;
    int line;
};

struct jp_spec {
    char path[JP_PATH_MAX];
    char dir[JP_PATH_MAX];
    char region[64];
    double project_n;
    double baseline_s;
    size_t ntasks;
    struct jp_spec_task *tasks;
};

/* Parses and validates the whole spec (files exist, commands can be found, builtins exist, scorers
 * are known) before anything runs. Errors name the file, line and key. */
int jp_spec_load(const char *path, struct jp_spec *out);
/* The same, listing every error found, not only the first: validation goes on wherever what follows
 * does not depend on what failed. errors (if not NULL) gets them one per line, as much as len holds;
 * *nerrors (if not NULL) how many there were. jp_last_error() gives the first. */
int jp_spec_load_all(const char *path, struct jp_spec *out, char *errors, size_t len, int *nerrors);
/* jp_spec_load on a spec already in memory (len bytes of text); path names it in messages, and relative
 * item paths are resolved against its folder. */
int jp_spec_parse(const char *path, const char *text, size_t len, struct jp_spec *out);
void jp_spec_free(struct jp_spec *spec);

/* ---- runs: what the runner fills, the store keeps and the reports render ----------------------- */
/*
 * The benchmark harness's data: a run of a spec (tasks, each with models), the figures measured
 * for every model, and the analysis (savings against the largest, Pareto front, rating, projection).
 *
 * One struct serves the runner (which fills it), the store (which saves and loads it) and the report
 * writers (which render it), so that `jouleprint report` on a stored run shows exactly what
 * `jouleprint bench` printed.
 */

/* How a model's run ended, and how a session ended. The one name table of each (jp_*_status_name)
 * gives the words the store, the reports and JSON use; jp_*_status_parse reads them back. */
enum jp_model_status {
    JP_MODEL_OK = 0,      /* "ok": every run and the scoring completed */
    JP_MODEL_FAILED,      /* "failed": the command failed, crashed or could not start; the scorer failed */
    JP_MODEL_TIMEOUT,     /* "timeout": stopped at the spec's timeout */
    JP_MODEL_INTERRUPTED  /* "interrupted": stopped, or never started, because the session was interrupted */
};
enum jp_run_status {
    JP_RUN_COMPLETE = 0,  /* "complete" */
    JP_RUN_INTERRUPTED,   /* "interrupted" */
    JP_RUN_INCOMPLETE     /* "incomplete": still running (stored after each model), or killed before it ended */
};
/* The name of a status ("ok", "timeout", "complete", ...); "?" for a value outside the enum. */
const char *jp_model_status_name(enum jp_model_status s);
const char *jp_run_status_name(enum jp_run_status s);
/* The status named text; JP_ERR_PARSE (jp_last_error naming the allowed names) otherwise. */
int jp_model_status_parse(const char *text, enum jp_model_status *out);
int jp_run_status_parse(const char *text, enum jp_run_status *out);

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
    enum jp_model_status status;
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
    double latency_s;        /* time per item: the inference phase's seconds over the items (not a
                              * latency: at batch size B each item waits for its batch); shown and
                              * exported as "time per item" (time_per_item_s); stored as latency_s */
    double items_per_s;

    size_t nmetrics;
    struct jp_bench_metric metrics[JP_BENCH_MAX_METRICS];
    double score;            /* the task's main metric, NAN if not scored; higher is better unless
                                jp_metric_lower_is_better(task's metric) (FID, CER, WER) */
    bool estimated;          /* any figure in the total came from the power model */

    /* attribution (see jp_bench_attribute): the energy per item attributed to the model's own
     * processes (a command's process tree, a builtin's process), mean over measured runs; NAN when
     * the CPU time figures needed were not there in every run */
    double attr_j_per_item;
    double cpu_share;        /* the model's share of the machine's busy CPU time, mean over runs (-1: unknown) */
    double other_share;      /* the share of the machine's CPU capacity other work used, highest of any run (-1: unknown) */

    /* every measured run, in the order run (the stored run keeps them: intervals can be recomputed):
     * energy per item of the machine and attributed (NAN if unknown); repeat k ran in round k, the
     * same round as every other model's repeat k */
    size_t nrep;
    double *rep_j_per_item;
    double *rep_attr_j_per_item;

    /* analysis (jp_bench_analyze); "energy per item" below is the task's basis (see jp_bench_task) */
    double cmp_j_per_item;   /* the energy per item compared: attributed or whole machine */
    double cmp_lo, cmp_hi;   /* its 95% interval (t over the runs); NAN with fewer than 2 runs */
    bool is_reference;       /* the largest model of the task: most energy per item among ok ones */
    double saving_pct;       /* energy per item saved against the reference, percent */
    double saving_lo, saving_hi; /* its 95% interval (t over the per-round savings, paired by round); NAN if unknown */
    bool saving_significant; /* the interval is known and excludes 0 */
    double score_delta;      /* score minus the reference's (same unit as score; for a metric where lower
                                is better, a negative delta is the better score) */
    bool pareto;             /* on the front of energy per item (lower) vs score (better: higher, or
                                lower for a lower-is-better metric) */
    int rating;              /* 1..5 within the task, 5 = least energy per item; 0 if not ok */
    double proj_kwh;         /* energy for the run's project_n items, kWh */
    double proj_g;           /* its emissions at the run's region, g CO2e (PUE applied) */

    /* the first outputs of a model whose predictions are images (`builtin: generate`; scorers adherence
     * and fid): nimages 8-bit grey images of image_side x image_side pixels, item order (one per class
     * for generate), for the HTML report's strip of samples (the store keeps them, schema 4); NULL and 0
     * when none */
    int nimages, image_side;
    uint8_t *images;

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
                              within the task's tolerance of the best (the highest, or the lowest for a
                              lower-is-better metric); -1 if none */
    double tolerance;      /* score within which models count as "as accurate", in the metric's unit
                              (default jp_metric_default_tolerance: 0.01, 1 point, for fractions) */
    char basis[16];        /* analysis: "attributed" when every usable model has an attributed figure,
                              else "machine" (the whole machine's energy) */
};

/* The interval method, in words, for every output that shows an interval. */
#define JP_BENCH_CI_METHOD "95% t-interval over the measured runs (savings: paired by round)"
/* Above this share of the machine's CPU capacity used by other work during a run, the reports say so. */
#define JP_BENCH_OTHER_SHARE_WARN 0.10

struct jp_bench_run {
    long id;                     /* in the store; 0 until saved */
    char started_at[32];         /* ISO 8601 UTC, "2026-11-25T17:03:55Z" */
    char finished_at[32];
    enum jp_run_status status;
    char spec_path[1024];
    char machine[256];           /* "host: AMD EPYC, 2 CPUs, 25.3 GB" */
    char sources[256];           /* the energy sources used, comma-separated */
    bool estimated;              /* any figure of the run is an estimate */
    /* the grid intensity the run's carbon figures use, whole: region, figure, source, year */
    char region[64];
    double g_per_kwh;
    char intensity_source[160];
    int intensity_year;          /* the figure's year; 0: it has none (the world average, a figure given
                                    with --intensity); -1: not known (a run stored before schema 3) */
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

/* At most this many sample images per model are kept (and stored). */
#define JP_BENCH_MAX_IMAGES 10

/* The value of a named metric, or NAN. */
double jp_bench_metric(const struct jp_bench_model *m, const char *name);

/* Attribution of one run's energy E (J) over t seconds to the measured work. share: its share of the
 * machine's busy CPU time (0..1); capacity: its CPU time over the machine's CPU capacity in the run
 * (CPU seconds over CPUs x t, 0..1); idle_w: the machine's idle power (<= 0: none measured).
 * With an idle power: share x (E - idle_w x t), the energy above idle, plus capacity x idle_w x t, the
 * idle power in proportion to the CPUs the work kept busy. Without: share x E (idle power follows busy
 * time). NAN when share is unknown (< 0). */
double jp_bench_attribute(double energy_j, double seconds, double share, double capacity, double idle_w);

/* Two-sided 95% Student t quantile for df degrees of freedom (df >= 1). */
double jp_bench_t95(int df);

/* Appends a measured run's figures to m's repeats (energy per item of the machine, attributed, NAN if
 * unknown). JP_ERR_NOMEM on failure. */
int jp_bench_model_add_repeat(struct jp_bench_model *m, double j_per_item, double attr_j_per_item);

/* A metric's direction and scale. Lower is better for "fid", "cer", "wer" and "nearest_train_l2"; higher
 * for every other (accuracy, word recall, ROUGE, exact match, adherence, and unknown names). Fractions
 * (0..1, shown as percent, compared in points of 0.01) are every metric but "fid" and
 * "nearest_train_l2", which are shown as they are and compared in their own units. */
bool jp_metric_lower_is_better(const char *metric);
bool jp_metric_is_fraction(const char *metric);
/* The tolerance a task uses when its spec gives none: one point of the metric's scale (0.01 for a
 * fraction, 1 for FID). */
double jp_metric_default_tolerance(const char *metric);

/* ---- the runner -------------------------------------------------------------------------------- */

/* What the runner tells its caller while it runs, through one callback: progress for the caller to show
 * (the tool draws a bar on a terminal and plain lines otherwise), notes in words, and each model as soon
 * as it is measured. Strings are valid during the call only; task, model, pass and text are for display,
 * with control characters written as visible escapes ("\x1b"), as every writer of the tool does. */
enum jp_bench_event_kind {
    JP_BENCH_PASS_PROGRESS, /* a pass over the items is running: done of total items so far */
    JP_BENCH_PASS_END,      /* a pass ended: done items in elapsed_s */
    JP_BENCH_NOTE,          /* one line in words: the idle baseline being measured, predictions missing, a
                               model that did not finish and why */
    JP_BENCH_MODEL_END      /* a model was measured: run is the run so far (status JP_RUN_INCOMPLETE, the
                               tasks reached so far, analysed), for the caller to store at once so that a
                               kill loses nothing finished; the callback may set run->id (the store does) */
};
struct jp_bench_event {
    enum jp_bench_event_kind kind;
    const char *task, *model; /* the pass's or model's; NULL in a note about the whole session */
    const char *pass;         /* "warm-up 1", "run 2/3", "scoring" */
    long done, total;         /* items */
    double elapsed_s;         /* since the pass started */
    const char *text;         /* JP_BENCH_NOTE: the line, without a newline */
    struct jp_bench_run *run; /* JP_BENCH_MODEL_END: the run so far; NULL otherwise */
};
typedef void (*jp_bench_event_fn)(const struct jp_bench_event *ev, void *arg);

struct jp_bench_options {
    const jp_intensity *intensity; /* the intensity, resolved by the caller (jp_intensity_resolve: region,
                                      year, a given figure or a file), kept whole in the run; NULL: region */
    const char *region;          /* without intensity: looked up (latest year); overrides the spec's
                                    region; NULL: spec, then $JP_REGION, then world */
    double project_n;            /* overrides the spec's; <= 0: the spec's */
    double pue;                  /* <= 0: 1.0 */
    const char *workdir;         /* inputs, outputs and logs go here (must exist) */
    jp_bench_event_fn on_event;  /* called as the run goes (from the calling thread); NULL: silent */
    void *on_event_arg;
    volatile sig_atomic_t *interrupted; /* set by the caller's SIGINT handler: stop, keep what finished */
    const char *const *unset_env; /* variables taken out of the environment of the commands a spec runs
                                     (NULL-terminated; NULL: none): what the caller set for itself only */
    jp_meter_config meter;       /* interval, source, model overrides */
    /* >= 0: each model's process group id is written here (an int32_t) when it starts, and 0 once it is
     * gone, for a watchdog that kills the group if this process dies first (-1: none). */
    int watch_fd;
};

void jp_bench_options_init(struct jp_bench_options *o);

/* Runs the spec. A model that fails, crashes or times out is recorded as such and the others
 * still run; when *interrupted becomes set, the model in progress is stopped and marked
 * JP_MODEL_INTERRUPTED, nothing more runs, and run->status is JP_RUN_INTERRUPTED. Returns JP_OK if the run
 * could be made (whatever the models did), or an error (the meter could not be opened, ...). */
int jp_bench_run_spec(const struct jp_spec *spec, const struct jp_bench_options *o, struct jp_bench_run *run);

/* ---- the results store ------------------------------------------------------------------------- */
/*
 * The results store: benchmark runs (struct jp_bench_run, bench/bench.h) kept in one SQLite file
 * (default "jouleprint.db") so that runs can be listed, rendered again and compared over time.
 *
 *     jp_store *db;
 *     if (jp_store_open(&db, "jouleprint.db", JP_STORE_CREATE) != JP_OK) { ... jp_last_error() ... }
 *     jp_store_save(db, &run);                    run.id is now the run's number in the store
 *     struct jp_bench_run again;
 *     jp_store_load(db, JP_STORE_LATEST, &again); the same run, field by field
 *     jp_bench_run_clear(&again);
 *     jp_store_close(db);
 *
 * Every error message names the store's path ("results.db: no run 7; the store holds runs 1-5").
 *
 * Schema (version 4). A table schema_version lists the migrations applied; jp_store_open applies the
 * missing ones in order, each in its own transaction, and refuses a store written by a newer
 * jouleprint; opened read-only, an older store is read as it is (version 1 kept no attributed
 * figures, intervals or runs: they load as unknown). Tables: runs (one row per run, with the machine, sources, estimated flag, region,
 * intensity, PUE, projection volume, baseline), tasks, models (every measured and analysed figure of
 * a model, and again the machine, sources and estimated flag so that models can be compared across
 * runs with one query), phases, metrics, and timelines (one row per model with samples: t and watts
 * as BLOBs of little-endian IEEE 754 doubles), and (version 2) repeats (one row per model: the energy
 * per item of each measured run, whole machine and attributed, as such BLOBs). Version 3 keeps the
 * intensity whole: runs.intensity_year (NULL in the runs of older stores, loaded as -1, unknown). Version 4
 * keeps the sample images of a model that made images (`builtin: generate`), for the HTML report's strip:
 * images (one row per such model: side, nimages, and the nimages * side * side 8-bit grey pixels as one
 * BLOB; runs of older stores have none). NaN figures are stored
 * as NULL. A run is saved in one
 * transaction: a crash or an error leaves the store as it was before the save.
 */

typedef struct jp_store jp_store;

/* The schema version this build writes and reads. */
#define JP_STORE_SCHEMA_VERSION 4

/* jp_store_open flags */
#define JP_STORE_CREATE 1u   /* create the file if it does not exist (else: JP_ERR_NOTFOUND) */
#define JP_STORE_READONLY 2u /* read only: never writes (no schema into an empty file, no journal) */

/* Opens (and with JP_STORE_CREATE creates) the store at path, bringing its schema up to date.
 * Errors name the path: JP_ERR_NOTFOUND (no such file, without JP_STORE_CREATE), JP_ERR_PARSE (not
 * a SQLite file, not a jouleprint store, or a newer schema), JP_ERR_IO, JP_ERR_PERM. */
int jp_store_open(jp_store **out, const char *path, unsigned flags);
/* Closes the store (NULL is allowed). */
void jp_store_close(jp_store *db);
/* The path the store was opened with. */
const char *jp_store_path(const jp_store *db);

/* Saves run as a new run of the store, in one transaction, and sets run->id to its number (ids only
 * grow; a run saved twice is stored twice). The run is saved as given: analyse it first
 * (jp_bench_analyze) so that the stored savings, front and ratings are those the user saw. */
int jp_store_save(jp_store *db, struct jp_bench_run *run);
/* Writes run again under its id (run->id from a jp_store_save), replacing what was stored, in one
 * transaction: how a session stores each model as soon as it is measured. */
int jp_store_update(jp_store *db, struct jp_bench_run *run);

/* Loads run id (JP_STORE_LATEST: the run with the highest id) into *run, which is overwritten
 * without being freed (clear a previously loaded run with jp_bench_run_clear first); the caller
 * frees the result with jp_bench_run_clear. On failure *run is left zeroed: JP_ERR_NOTFOUND when
 * there is no such run (the message says which runs there are). A damaged timeline, damaged runs and
 * sample images whose side (1 to 256), count (1 to JP_BENCH_MAX_IMAGES) or bytes disagree are left
 * out (checked before anything is copied) and said so in run->warnings, one line each naming the task
 * and model and what was expected: the run's measured figures are never hidden by them. */
#define JP_STORE_LATEST 0L
int jp_store_load(jp_store *db, long id, struct jp_bench_run *run);

/* One line of the list of runs. */
struct jp_store_entry {
    long id;
    char started_at[32];
    char finished_at[32];
    enum jp_run_status status;
    char spec_path[1024];
    char machine[256];
    char sources[256];
    bool estimated;
    char region[64];
    size_t ntasks;
    size_t nmodels;         /* over all tasks */
    size_t nfailed;         /* models whose status is not JP_MODEL_OK */
    char tasks[256];        /* the task names, comma-separated (cut with "..." when long) */
    char picks[256];        /* per task "task: pick" (or "task: -"), "; "-separated */
};

/* All runs, newest (highest id) first, in a malloc'd array the caller frees; *n their number
 * (0 and *out NULL for an empty store). */
int jp_store_list(jp_store *db, struct jp_store_entry **out, size_t *n);

/* Deletes run id and everything it owns, in one transaction. JP_ERR_NOTFOUND if there is none. */
int jp_store_delete(jp_store *db, long id);

/* Merges the runs of the results store at path (one received from someone else) into db. The file is
 * opened read-only as untrusted data and checked whole before anything is read from it: a sound SQLite
 * file, this schema version, no view or trigger or other table, every column declared as this version
 * declares it, every value of its column's type, within its bounds (finite, non-negative energies and
 * times, texts no longer than the store keeps, known statuses) and every reference leading to a row;
 * a file that fails gets one line naming the file, table, row and column (JP_ERR_PARSE) and nothing is
 * imported. Each run is then saved under a new id in its own transaction, unless db holds the same run
 * already (every field, figure and sample alike): importing a file twice adds nothing. */
struct jp_store_import_result {
    size_t imported;         /* runs added */
    size_t duplicates;       /* runs db held already */
    long first_id, last_id;  /* the ids the added runs got (0 when none) */
};
int jp_store_import(jp_store *db, const char *path, struct jp_store_import_result *res);

/* ---- reports ----------------------------------------------------------------------------------- */
/*
 * Report writers: one benchmark run (struct jp_bench_run, analysed by jp_bench_analyze) rendered as
 *
 *   table  aligned plain text for a terminal: per task the models with energy per item, accuracy,
 *          savings against the largest, the Pareto front, ratings, and the conclusions in words
 *          ("base saves 25.96% energy per item against large at the same accuracy")
 *   csv    one row per model (RFC 4180, a header; one column per metric found in the run)
 *   json   one object: the run, its tasks and models with every figure, timelines, conclusions
 *   md     Markdown: metadata, a table per task, the conclusions
 *   html   one self-contained page (no network): inline SVG charts (energy per item against the
 *          score with the Pareto front, energy per item by model, emissions of the projected volume
 *          by region, power timelines), the metadata and the tables
 *
 * Writers never change the run; every string taken from it is escaped for the format. They return
 * JP_OK, or JP_ERR_IO when the stream reports a write error (jp_last_error says so).
 */

enum jp_report_format { JP_REPORT_TABLE, JP_REPORT_CSV, JP_REPORT_JSON, JP_REPORT_MD, JP_REPORT_HTML };

/* "table", "csv", "json", "md" (also "markdown"), "html" -> the format; JP_ERR_INVAL naming the
 * choices otherwise. */
int jp_report_format_parse(const char *name, enum jp_report_format *out);
/* The format's name ("table", ...). */
const char *jp_report_format_name(enum jp_report_format f);
/* The format a file name implies by its extension: .csv, .json, .md/.markdown, .html/.htm, and
 * .txt or no extension for the table. *known is set to whether the name has one of these (an
 * unknown extension, x.pdf, gives the table and false: writing a table into x.pdf would mislead). */
enum jp_report_format jp_report_format_for_path(const char *path, bool *known);
/* For the tool's -o FILE: the format to write FILE in, given the --format asked (NULL: none), which
 * wins over the extension. Fails with JP_ERR_INVAL and a message naming the file when no format was
 * asked and FILE's extension names none. */
int jp_report_format_for_output(const char *path, const enum jp_report_format *asked, enum jp_report_format *out);

/* Writes run to out in format f. */
int jp_report_write(FILE *out, const struct jp_bench_run *run, enum jp_report_format f);

/* The writers, one per format. */
int jp_report_table(FILE *out, const struct jp_bench_run *run);
int jp_report_csv(FILE *out, const struct jp_bench_run *run);
int jp_report_json(FILE *out, const struct jp_bench_run *run);
int jp_report_md(FILE *out, const struct jp_bench_run *run);
int jp_report_html(FILE *out, const struct jp_bench_run *run);

/* The list of stored runs (jp_store_list, newest first) as table, csv, json or md; html is refused
 * with JP_ERR_INVAL. */
int jp_report_list(FILE *out, const struct jp_store_entry *runs, size_t n, enum jp_report_format f);

/* The task's conclusions in words, one sentence per line, "\n"-separated, into buf: the pick and
 * what it saves against the largest model at what accuracy, the other models' savings, the
 * projection to the run's volume with the cleanest and dirtiest of the seed's regions, and the
 * failed models. Shared by every format (and usable by `jouleprint bench` on its own). */
void jp_report_conclusions(const struct jp_bench_run *run, const struct jp_bench_task *task, char *buf, size_t len);

/* The study's summary in words (see src/report/summary.c), and the same figures as JSON. */
void jp_report_summary(FILE *out, const struct jp_bench_run *run);
int jp_report_summary_json(FILE *out, const struct jp_bench_run *run);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
