/* Report writers: public, in include/jouleprint/bench.h. */
#ifndef JP_REPORT_H
#define JP_REPORT_H

#include "jouleprint/bench.h"

#endif
