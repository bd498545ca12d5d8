/* An internal hook into the meter's sampling thread, for components that turn every sample into
 * something else while the meter runs (the Prometheus exporter, src/exporter.c). */
#ifndef JP_METER_HOOK_H
#define JP_METER_HOOK_H

#include "jouleprint.h"

/* Called by the sampling thread after every sample, with the meter's lock held, so that the meter's
 * getters (jp_meter_joules, jp_meter_domain_gone, jp_meter_glitches, ...) read one consistent
 * sample. t is the sample's time (jp_now's clock). The hook must not call jp_meter_start, _stop,
 * _phase or _close. Set before jp_meter_start; NULL removes it. */
typedef void (*jp_meter_sample_hook)(void *arg, const jp_meter *m, double t);
void jp_meter_set_sample_hook(jp_meter *m, jp_meter_sample_hook fn, void *arg);

#endif
