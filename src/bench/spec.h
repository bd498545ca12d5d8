/*
 * Benchmark specs: the format and jp_spec_load are public (include/jouleprint/bench.h); what the
 * runner uses besides is here.
 */
#ifndef JP_SPEC_H
#define JP_SPEC_H

#include <stddef.h>

#include "jouleprint/bench.h"
#include "util.h"

/* Splits a command into words and substitutes the placeholders. Returns a NULL-terminated argv
 * (free with jp_spec_argv_free) or NULL with the error set. */
char **jp_spec_argv(const char *command, const char *inputs, const char *outputs, long n);
void jp_spec_argv_free(char **argv);

/* Builtin workloads known to this build (the harness registry). */
bool jp_spec_builtin_known(const char *name);

#endif
