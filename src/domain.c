/* Energy domains and the power model's parameters (see domain.h); public: jp_domain_kind_name and
 * jp_model_params_init. */
#include "domain.h"

#include <math.h>

const char *jp_domain_kind_name(jp_domain_kind kind)
{
    switch (kind) {
    case JP_DOMAIN_PACKAGE: return "package";
    case JP_DOMAIN_CORE: return "core";
    case JP_DOMAIN_UNCORE: return "uncore";
    case JP_DOMAIN_DRAM: return "dram";
    case JP_DOMAIN_PSYS: return "psys";
    case JP_DOMAIN_GPU: return "gpu";
    case JP_DOMAIN_CPU_MODEL: return "cpu-model";
    case JP_DOMAIN_RAM_MODEL: return "ram-model";
    }
    return "unknown";
}

double jp_domain_default_max_watts(jp_domain_kind kind)
{
    switch (kind) {
    case JP_DOMAIN_DRAM: return 500.0;
    case JP_DOMAIN_PSYS: return 3000.0;
    case JP_DOMAIN_GPU: return 3000.0;
    case JP_DOMAIN_CPU_MODEL:
    case JP_DOMAIN_RAM_MODEL: return INFINITY; /* our own integration: never a glitch */
    default: return 1500.0;
    }
}

bool jp_domain_in_total(jp_domain_kind kind, bool has_package)
{
    switch (kind) {
    case JP_DOMAIN_CORE:
    case JP_DOMAIN_UNCORE: return false;
    case JP_DOMAIN_PSYS: return !has_package;
    default: return true;
    }
}

void jp_model_params_init(jp_model_params *p)
{
    p->cpu_idle_w = p->cpu_max_w = p->curve = p->ram_w_per_gb = p->ram_gb = -1.0;
    p->basis[0] = '\0';
}
