/*
 * Built-in workloads the harness can run in-process (`builtin: classify`, `builtin: ocr`), measured
 * with the same meter as external commands and split into "load" and "infer" phases.
 */
#ifndef JP_BUILTIN_H
#define JP_BUILTIN_H

#include <stddef.h>

#include "jouleprint/bench.h" /* struct jp_spec_option */

struct jp_bench_builtin {
    const char *name;
    const char *scorer; /* the scorer its predictions suit ("accuracy", "ocr") */
    /* Validates the options before anything runs; JP_OK or a status with why[] filled. May be NULL. */
    int (*check)(const struct jp_spec_option *opts, size_t nopts, char *why, size_t whylen);
    /* Runs n items, measured with m (opened by the caller, not started; NULL: not measured): the
     * builtin starts m, marks phases "load" and "infer", and stops it, as jp_classify_run and
     * jp_ocr_run do. timed (1..n) is how many of them the meter covers: n, or for a builtin with
     * times_prefix, fewer: the meter covers the first `timed` items exactly as a run of n = timed
     * would, and is stopped before the rest run (in the same pass, the model loaded once), so that one
     * pass both times and gives the predictions to score. Writes one prediction per line to outputs
     * and the matching references to refs (all n), and the number of items timed to *done. JP_OK, or a
     * status with jp_fail's message. */
    int (*run)(const struct jp_spec_option *opts, size_t nopts, long n, long timed, const char *outputs,
               const char *refs, jp_meter *m, long *done);
    /* run() takes timed < n: the items it times are exactly those a run of n = timed reads (for
     * classify the first `timed`; for ocr the first timed/2 of each split), and its outputs are all n. */
    bool times_prefix;
};

/* `builtin: classify` (src/bench/classify_builtin.c). Options: model (required), batch, threads,
 * models_dir, data. Predictions and references are label names, one per line. Its run() starts and
 * stops the meter it is given (jp_classify_run). */
extern const struct jp_bench_builtin jp_bench_builtin_classify;
extern const struct jp_bench_builtin jp_bench_builtin_generate; /* src/bench/generate_builtin.c */

const struct jp_bench_builtin *jp_bench_builtin_find(const char *name);
/* "classify, ocr, summarize", or "none" when this build has none. */
const char *jp_bench_builtin_names(void);

#endif
