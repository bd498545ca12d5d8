/* The results store (SQLite): public, with its schema described, in include/jouleprint/bench.h. */
#ifndef JP_STORE_H
#define JP_STORE_H

#include "jouleprint/bench.h"

#endif
