/* The CPU TDP table (generated at build time from src/data/cpu_tdp.csv) and its lookup. */
#ifndef JP_CPU_TABLE_H
#define JP_CPU_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* No pointers in the table: a name is an offset into one string of names, so that the ~4,900 rows need
 * no relocation (and no copy-on-write page) each time a process loads the library; a table of
 * pointers was most of libjouleprint's relocations. */
struct jp_cpu_tdp {
    uint32_t name_off; /* into jp_cpu_tdp_names: use jp_cpu_tdp_name() */
    double tdp_w;
};

extern const struct jp_cpu_tdp jp_cpu_tdp_table[];
extern const size_t jp_cpu_tdp_count;
extern const char jp_cpu_tdp_names[];

/* "Intel Xeon E5-2620 v3" */
static inline const char *jp_cpu_tdp_name(const struct jp_cpu_tdp *t)
{
    return jp_cpu_tdp_names + t->name_off;
}

/* Finds the table entry that best matches a CPU brand string as /proc/cpuinfo gives it
 * ("Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz"). NULL if nothing matches well enough. */
const struct jp_cpu_tdp *jp_cpu_tdp_match(const char *brand);

#endif
