/*
 * How well the power model predicts measured CPU power: leave-one-machine-out on CodeCarbon's load
 * profiles (RAPL-measured), beside CodeCarbon's own estimate on the same rows.
 *
 *     model_accuracy [DIR]      DIR defaults to tests/data/cpu_load_profiling (relative to cwd)
 *
 * For each machine the model's global parameters (idle and max as fractions of sockets x TDP, and the
 * curve) are fitted on the other machines and the machine is scored with them; the shipped parameters
 * are the fit on all machines. Results go to BENCHMARKS.md ("Power model accuracy").
 */
#include "source/cpu_table.h"
#include "source/model_fit.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data/cpu_load_profiling";
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: %s [DIR]\n", argv[0]);
        return 2;
    }
    struct jp_fit_set set;
    if (jp_fit_load(dir, &set) != JP_OK) {
        fprintf(stderr, "model_accuracy: %s\n", jp_last_error());
        return 1;
    }

    printf("Machines (%s):\n", dir);
    for (size_t i = 0; i < set.n; i++) {
        const struct jp_fit_machine *m = &set.m[i];
        printf("  %-18s %-48s %2d logical CPUs, %d socket%s, TDP %s", m->name, m->cpu, m->logical_cpus,
               m->sockets, m->sockets == 1 ? "" : "s", m->match ? "" : "unknown\n");
        if (m->match) printf("%g W (\"%s\")\n", m->match->tdp_w, jp_cpu_tdp_name(m->match));
    }

    printf("\nLeave one machine out (fitted on the other machines, scored on this one):\n\n");
    printf("| machine | rows | fitted idle, max (x TDP), curve k | MAE model (held out), W | "
           "MAE CodeCarbon, W | ratio | MAE linear k=1 (held out), W |\n");
    printf("|---|---:|---|---:|---:|---:|---:|\n");
    double sum_model = 0, sum_cc = 0, sum_lin = 0;
    size_t rows = 0;
    int beaten = 0;
    for (size_t i = 0; i < set.n; i++) {
        const struct jp_fit_machine *m = &set.m[i];
        struct jp_model_fractions fr;
        if (jp_fit_search(&set, i, &fr) != JP_OK) {
            fprintf(stderr, "model_accuracy: %s\n", jp_last_error());
            jp_fit_free(&set);
            return 1;
        }
        struct jp_model_fractions lin;
        if (jp_fit_search_curve(&set, i, 1.0, &lin) != JP_OK) {
            fprintf(stderr, "model_accuracy: %s\n", jp_last_error());
            jp_fit_free(&set);
            return 1;
        }
        double mae = jp_fit_mae(m, &fr), cc = jp_fit_cc_mae(m), mlin = jp_fit_mae(m, &lin);
        printf("| %s | %zu | %.3f, %.3f, %.2f | %.2f | %.2f | %.2f | %.2f |\n", m->name, m->nrows, fr.idle_frac,
               fr.max_frac, fr.curve, mae, cc, mae / cc, mlin);
        sum_lin += mlin * (double)m->nrows;
        sum_model += mae * (double)m->nrows;
        sum_cc += cc * (double)m->nrows;
        rows += m->nrows;
        beaten += mae < cc;
    }
    printf("| all rows | %zu | | %.2f | %.2f | %.2f | %.2f |\n", rows, sum_model / (double)rows,
           sum_cc / (double)rows, sum_model / sum_cc, sum_lin / (double)rows);
    printf("\nModel beats CodeCarbon on %d of %zu held-out machines.\n", beaten, set.n);

    struct jp_model_fractions all;
    if (jp_fit_search(&set, set.n, &all) != JP_OK) {
        fprintf(stderr, "model_accuracy: %s\n", jp_last_error());
        jp_fit_free(&set);
        return 1;
    }
    printf("\nFitted on all %zu machines: idle %.3f, max %.3f x TDP, curve k %.2f\n", set.n, all.idle_frac,
           all.max_frac, all.curve);
    printf("Shipped (jp_model_shipped):   idle %.3f, max %.3f x TDP, curve k %.2f%s\n",
           jp_model_shipped.idle_frac, jp_model_shipped.max_frac, jp_model_shipped.curve,
           (all.idle_frac == jp_model_shipped.idle_frac && all.max_frac == jp_model_shipped.max_frac &&
            all.curve == jp_model_shipped.curve)
               ? ""
               : "  (differs from the fit: update model_power.c)");
    printf("In-sample with the shipped parameters (not a held-out score):");
    for (size_t i = 0; i < set.n; i++)
        printf(" %s %.2f W;", set.m[i].name, jp_fit_mae(&set.m[i], &jp_model_shipped));
    printf("\n");
    jp_fit_free(&set);
    return 0;
}
