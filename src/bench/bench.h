/* The harness's run structs and analysis: public, in include/jouleprint/bench.h. */
#ifndef JP_BENCH_H
#define JP_BENCH_H

#include "jouleprint/bench.h"

#endif
