/* Internal pieces of the classify workload (the public API is in jouleprint.h). */
#ifndef JP_WORKLOAD_CLASSIFY_H
#define JP_WORKLOAD_CLASSIFY_H

#include "jouleprint.h"

/* jp_classify_run with m (may be NULL) already started by the caller, who also stops it: marks the
 * phases "load" and "infer" only. The result's energy fields are left at 0. */
int jp_classify_run_phases(const jp_classify_config *cfg, jp_meter *m, jp_classify_result *out);

/* The bench harness's `builtin: classify` (src/bench/builtin.h). Options: model (required), batch,
 * threads, models_dir, data. Predictions and references are label names, one per line. Its run()
 * starts and stops the meter it is given (jp_classify_run). */
struct jp_bench_builtin;
extern const struct jp_bench_builtin jp_bench_builtin_classify;

#endif
