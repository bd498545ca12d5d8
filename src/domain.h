/*
 * Energy domains and the power model's parameters: what every back-end (src/source/) and the meter
 * share, so that the sources depend on this small module and never on the meter (before, the sources
 * called into meter.c, which calls the sources through the registry).
 */
#ifndef JP_DOMAIN_H
#define JP_DOMAIN_H

#include "jouleprint.h"

#include <stdbool.h>

/* The most a domain of this kind can plausibly draw, W; a counter step implying more is a glitch
 * (INFINITY for the model's own integration, which is never one). */
double jp_domain_default_max_watts(jp_domain_kind kind);

/* Whether a domain of this kind adds to the total (DESIGN.md: total = package + dram (+ gpu), or psys
 * where no package is there; core and uncore are inside package, shown, not added). has_package: a
 * package domain is measured in the same meter. */
bool jp_domain_in_total(jp_domain_kind kind, bool has_package);

#endif
