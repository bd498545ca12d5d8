/* An internal hook into the meter's sampling thread, for components that turn every sample into
 * something else while the meter runs (the Prometheus exporter, src/exporter.c). */
#ifndef JP_METER_HOOK_H
#define JP_METER_HOOK_H

#include "jouleprint.h"

#include <stdbool.h>
#include <stdint.h>

/* Called by the sampling thread after every sample, with the meter's lock held, so that the meter's
 * getters (jp_meter_joules, jp_meter_domain_gone, jp_meter_glitches, ...) read one consistent
 * sample. t is the sample's time (jp_now's clock). The hook must not call jp_meter_start, _stop,
 * _phase or _close. Set before jp_meter_start; NULL removes it. */
typedef void (*jp_meter_sample_hook)(void *arg, const jp_meter *m, double t);
void jp_meter_set_sample_hook(jp_meter *m, jp_meter_sample_hook fn, void *arg);

/* The advance of an energy counter read as last then raw, in counter units, into *delta: true when it
 * moved forward, over at most one wrap (modulo wrap, when wrap > 0 and both values lie below it, which a
 * counter that wraps at wrap must); false when it went backwards with no wrap to explain it (a reset or
 * a bad value). *wrapped says whether it wrapped. The meter's arithmetic, apart for its tests. */
bool jp_counter_advance(uint64_t last, uint64_t raw, uint64_t wrap, uint64_t *delta, bool *wrapped);

/* One energy counter as the meter follows it, and what one good read of it brings: the joules since the
 * last good read (0 for the first); a counter that went backwards with no wrap to explain it, or that
 * jumped more than max_w watts could draw, is taken as the new reference and its interval bridged with
 * the last good power (*outcome says which). Times in seconds (jp_now's clock). */
struct jp_counter {
    uint64_t last;   /* the last good value */
    bool have_last;
    double last_t;   /* time of the last good read */
    double moved_t;  /* time the counter last moved (counters that update in steps) */
    double last_w;   /* the power of its last move */
};
enum jp_counter_outcome { JP_COUNTER_FIRST, JP_COUNTER_OK, JP_COUNTER_WRAPPED, JP_COUNTER_BACKWARDS, JP_COUNTER_JUMP };
double jp_counter_take(struct jp_counter *c, uint64_t raw, double t, uint64_t wrap, double joules_per_unit,
                       double max_w, enum jp_counter_outcome *outcome);

#endif
