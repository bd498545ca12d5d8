/*
 * The power model: what the `model` source uses where no counter can be read. Pure functions of the
 * machine's description and its utilization, so they can be tested and scored on recorded data
 * (see bench/model_accuracy.c and BENCHMARKS.md).
 */
#ifndef JP_MODEL_POWER_H
#define JP_MODEL_POWER_H

#include "../host.h"
#include "../util.h"

/* Fills every parameter left unset (negative) from data: the TDP table by CPU brand for bare
 * metal, per-vCPU figures for VMs, a memory figure per GB; writes p->basis in words with the
 * sources named. Parameters the user set are kept and the basis says "set by the user". */
void jp_model_resolve(const struct jp_cpu_info *info, jp_model_params *p);

/* The model's global parameters for bare metal: whole-machine CPU watts at utilization u are
 *     sockets x TDP x (idle_frac + (max_frac - idle_frac) x (1 - (1 - u)^curve))              */
struct jp_model_fractions {
    double idle_frac; /* idle power as a fraction of sockets x TDP */
    double max_frac;  /* power at 100% of logical CPUs busy, as a fraction of sockets x TDP */
    double curve;     /* k in 1 - (1 - u)^k; 1 is linear, larger rises faster at low load */
};

/* The shipped defaults: fitted on all five machines by jp_fit_search (see BENCHMARKS.md). */
extern const struct jp_model_fractions jp_model_shipped;

/* jp_model_resolve with explicit fractions (jp_model_resolve uses jp_model_shipped). */
void jp_model_resolve_with(const struct jp_cpu_info *info, const struct jp_model_fractions *fr,
                           jp_model_params *p);

/* Whole-machine CPU power in watts at utilization u (0..1, fraction of all logical CPUs busy). */
double jp_model_cpu_watts(const jp_model_params *p, double u);

/* Memory power in watts. */
double jp_model_ram_watts(const jp_model_params *p);

#endif
