/* The defaults jp_workloads_set_dirs (include/jouleprint/workloads.h) sets: NULL when unset. */
#ifndef JP_WORKLOAD_DIRS_H
#define JP_WORKLOAD_DIRS_H

#include "jouleprint/workloads.h"

const char *jp_workloads_models_default(void);
const char *jp_workloads_data_default(void);

#endif
