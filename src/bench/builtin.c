/* The registry of built-in workloads (each defined next to its workload in src/workload/). */
#include "bench/builtin.h"

#include <string.h>

static const struct jp_bench_builtin *const builtins[] = {
    NULL,
};

const struct jp_bench_builtin *jp_bench_builtin_find(const char *name)
{
    for (const struct jp_bench_builtin *const *b = builtins; *b; b++)
        if (!strcmp((*b)->name, name)) return *b;
    return NULL;
}

const char *jp_bench_builtin_names(void)
{
    static char names[256];
    names[0] = '\0';
    for (const struct jp_bench_builtin *const *b = builtins; *b; b++) {
        if (names[0]) strncat(names, ", ", sizeof names - strlen(names) - 1);
        strncat(names, (*b)->name, sizeof names - strlen(names) - 1);
    }
    return names[0] ? names : "none in this build";
}
