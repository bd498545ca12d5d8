/* The harness runner: public (jp_bench_options, jp_bench_run_spec) in include/jouleprint/bench.h. */
#ifndef JP_RUNNER_H
#define JP_RUNNER_H

#include "bench/bench.h"
#include "bench/spec.h"

#endif
