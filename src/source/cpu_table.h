/* The CPU TDP table (generated at build time from src/data/cpu_tdp.csv) and its lookup. */
#ifndef JP_CPU_TABLE_H
#define JP_CPU_TABLE_H

#include <stddef.h>

struct jp_cpu_tdp {
    const char *name; /* "Intel Xeon E5-2620 v3" */
    double tdp_w;
};

extern const struct jp_cpu_tdp jp_cpu_tdp_table[];
extern const size_t jp_cpu_tdp_count;

/* Finds the table entry that best matches a CPU brand string as /proc/cpuinfo gives it
 * ("Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz"). NULL if nothing matches well enough. */
const struct jp_cpu_tdp *jp_cpu_tdp_match(const char *brand);

#endif
