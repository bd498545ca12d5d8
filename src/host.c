/* The machine's description (public: jp_host_read). */
#include "source/model_power.h"

#include <string.h>

int jp_host_read(jp_host_info *out)
{
    if (!out) return jp_fail(JP_ERR_INVAL, "jp_host_read: no result given");
    memset(out, 0, sizeof *out);
    jp_roots roots;
    int rc = jp_roots_from_env(&roots);
    if (rc != JP_OK) return rc;
    struct jp_cpu_info ci;
    if ((rc = jp_cpu_info_read(&roots, &ci)) != JP_OK) return rc;
    jp_strlcpy(out->brand, ci.brand, sizeof out->brand);
    out->logical_cpus = ci.logical_cpus;
    out->sockets = ci.sockets;
    out->cores = ci.cores;
    out->hypervisor = ci.hypervisor;
    out->mem_gb = ci.mem_gb;
    return JP_OK;
}
