/*
 * Fitting and scoring the power model on recorded load profiles (internal).
 *
 * The profiles are CodeCarbon's cpu_load_profiling data (tests/data/cpu_load_profiling): one folder
 * per machine, CSV rows of (cpu_name, cores_used, cpu_load %, rapl_power W, estimated_power W), where
 * rapl_power is what the machine's RAPL counter measured and estimated_power is CodeCarbon's own
 * estimate. bench/model_accuracy.c prints the scores and tests/test_model_power.c recomputes them, both
 * through these functions, so the figures in BENCHMARKS.md cannot drift from the code.
 */
#ifndef JP_MODEL_FIT_H
#define JP_MODEL_FIT_H

#include "model_power.h"

#include <stddef.h>

struct jp_fit_row {
    double load;     /* fraction of logical CPUs busy, 0..1 (the CSV's cpu_load / 100) */
    double rapl_w;   /* measured */
    double cc_w;     /* CodeCarbon's estimate */
};

struct jp_fit_machine {
    char name[64];                   /* the folder: "E5-2620" */
    char cpu[160];                   /* cpu_name as the CSV gives it (a /proc brand string) */
    int logical_cpus;                /* max cores_used over the machine's files */
    int sockets;                     /* what /proc/cpuinfo would show (see jp_fit_load) */
    struct jp_cpu_info info;         /* the description the model is given */
    const struct jp_cpu_tdp *match;  /* jp_cpu_tdp_match(cpu), NULL if none */
    size_t nrows;
    struct jp_fit_row *rows;
};

struct jp_fit_set {
    size_t n;
    struct jp_fit_machine *m;
};

/* Reads every sub-folder of dir as one machine (folders and files in name order; files ending in
 * -tasks.csv are skipped). Fails naming the file and line on anything it cannot use. */
int jp_fit_load(const char *dir, struct jp_fit_set *set);
void jp_fit_free(struct jp_fit_set *set);

/* The model's estimate for one row through jp_model_resolve_with and jp_model_cpu_watts. */
double jp_fit_predict(const struct jp_fit_machine *m, const struct jp_model_fractions *fr, double load);
/* Mean absolute error over a machine's rows, W: of the model, and of CodeCarbon's estimate. */
double jp_fit_mae(const struct jp_fit_machine *m, const struct jp_model_fractions *fr);
double jp_fit_cc_mae(const struct jp_fit_machine *m);

/* Fits the fractions on every machine except index `skip` (pass set->n to use all): minimizes the
 * sum over machines of MAE / (sockets x TDP), a coarse grid then a fine one around its best
 * (idle 0..0.5, max 0.2..1.6, curve 0.5..6). Machines without a TDP match are left out. */
int jp_fit_search(const struct jp_fit_set *set, size_t skip, struct jp_model_fractions *out);
/* The same with the curve held at `curve` (> 0; 1 is linear) and only idle and max fitted; a curve
 * <= 0 fits it too (jp_fit_search). */
int jp_fit_search_curve(const struct jp_fit_set *set, size_t skip, double curve, struct jp_model_fractions *out);

#endif
