/* The harness runner: runs every model of a validated spec and fills a jp_bench_run. */
#ifndef JP_RUNNER_H
#define JP_RUNNER_H

#include <signal.h>
#include <stdio.h>

#include "bench/bench.h"
#include "bench/spec.h"

struct jp_bench_options {
    const char *region;          /* overrides the spec's region; NULL: spec, then $JP_REGION, then world */
    double project_n;            /* overrides the spec's; <= 0: the spec's */
    double pue;                  /* <= 0: 1.0 */
    const char *workdir;         /* inputs, outputs and logs go here (must exist) */
    FILE *progress;              /* where progress goes (stderr), NULL: none */
    bool progress_tty;           /* redraw one line with a bar, else plain lines */
    volatile sig_atomic_t *interrupted; /* set by the caller's SIGINT handler: stop, keep what finished */
    jp_meter_config meter;       /* interval, source, model overrides */
};

void jp_bench_options_init(struct jp_bench_options *o);

/* Runs the spec. A model that fails, crashes or times out is recorded as such and the others
 * still run; when *interrupted becomes set, the model in progress is stopped and marked
 * "interrupted", nothing more runs, and run->status is "interrupted". Returns JP_OK if the run
 * could be made (whatever the models did), or an error (the meter could not be opened, ...). */
int jp_bench_run_spec(const struct jp_spec *spec, const struct jp_bench_options *o, struct jp_bench_run *run);

#endif
