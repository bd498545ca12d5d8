/*
 * model: the estimate used where no energy counter can be read (VMs, containers, no permission).
 *
 * CPU power comes from the machine's utilization (<proc>/stat between two reads) through the power
 * model in model_power.c (idle and max watts from the CPU's TDP, or per-vCPU figures on a VM, and
 * a utilization curve); memory power is watts per GB installed. Both are integrated over time into
 * microjoule counters so that the meter treats them like any other source. Every domain is marked
 * estimated, and the parameters used are reported with the result.
 */
#define _POSIX_C_SOURCE 200809L
#include "source.h"

#include <stdlib.h>

#include "../proc.h"
#include "model_power.h"

struct priv {
    jp_roots roots;
    jp_model_params params;
    struct jp_cpu_times last;
    double last_t;
    double last_u;
    double cpu_uj, ram_uj; /* integrated energy, microjoules */
    jp_kfile stat;          /* <proc>/stat */
    double tick;            /* seconds per jiffy: /proc/stat cannot change faster */
    double last_read_t;     /* when /proc/stat was last read */
};

/* No probe: opening reads what a probe would (/proc/cpuinfo, /proc/meminfo, /proc/stat) and nothing
 * more, so a probe before it only read those files twice at every meter's start. A reader's failure
 * is JP_ERR_NOSOURCE, with the reader's message saying why. */
static int open_(struct jp_source *src, const struct jp_source_env *env)
{
    struct jp_cpu_info info;
    int rc = jp_cpu_info_read(&env->roots, &info);
    if (rc != JP_OK) return rc == JP_ERR_NOMEM ? rc : JP_ERR_NOSOURCE;
    struct priv *pv = calloc(1, sizeof *pv);
    if (!pv) return jp_fail(JP_ERR_NOMEM, "out of memory");
    pv->roots = env->roots;
    pv->params = env->model;
    jp_model_resolve(&info, &pv->params);
    if ((rc = jp_proc_cpu_times(&pv->roots, &pv->last)) != JP_OK) {
        free(pv);
        return rc == JP_ERR_NOMEM ? rc : JP_ERR_NOSOURCE;
    }
    pv->last_t = pv->last_read_t = jp_now();
    pv->last_u = 0;
    pv->tick = 1.0 / jp_proc_hz();
    char path[PATH_MAX];
    if ((rc = jp_pathf(path, sizeof path, "%s/stat", pv->roots.proc)) != JP_OK) {
        free(pv);
        return rc;
    }
    jp_kfile_init(&pv->stat, path, pv->roots.proc_real);
    jp_source_add_domain(src, "cpu-model", JP_DOMAIN_CPU_MODEL, 1e-6, 0, true);
    jp_source_add_domain(src, "ram-model", JP_DOMAIN_RAM_MODEL, 1e-6, 0, true);
    src->priv = pv;
    src->min_interval_s = pv->tick; /* /proc/stat's CPU times move once per kernel tick */
    snprintf(src->detail, sizeof src->detail,
             "estimate from CPU utilization: %d CPU%s, idle %.1f W, max %.1f W, memory %.1f GB x %.3f W/GB (%s)",
             info.logical_cpus, info.logical_cpus == 1 ? "" : "s", pv->params.cpu_idle_w,
             pv->params.cpu_max_w, pv->params.ram_gb, pv->params.ram_w_per_gb, pv->params.basis);
    return JP_OK;
}

static int read_(struct jp_source *src, uint64_t *raw, enum jp_read_status *status)
{
    struct priv *pv = src->priv;
    double t = src->read_t > 0 ? src->read_t : jp_now(); /* the meter's clock (source.h) */
    /* The kernel's CPU times move once per tick: sampling faster re-reads nothing new, so the
     * last utilization holds until a tick has passed (this keeps a 1 kHz meter cheap). */
    if (t - pv->last_read_t >= pv->tick) {
        struct jp_cpu_times now;
        if (jp_proc_cpu_times_kfile(&pv->stat, &now) != JP_OK || now.total < pv->last.total || now.busy < pv->last.busy) {
            status[0] = status[1] = JP_READ_GLITCH;
            return JP_OK;
        }
        pv->last_read_t = t;
        uint64_t dtotal = now.total - pv->last.total;
        if (dtotal > 0) {
            double u = (double)(now.busy - pv->last.busy) / (double)dtotal;
            pv->last_u = u < 0 ? 0 : u > 1 ? 1 : u;
            pv->last = now;
        }
    }
    double dt = t - pv->last_t;
    if (dt < 0) dt = 0;
    pv->cpu_uj += jp_model_cpu_watts(&pv->params, pv->last_u) * dt * 1e6;
    pv->ram_uj += jp_model_ram_watts(&pv->params) * dt * 1e6;
    pv->last_t = t;
    raw[0] = (uint64_t)pv->cpu_uj;
    raw[1] = (uint64_t)pv->ram_uj;
    status[0] = status[1] = JP_READ_OK;
    return JP_OK;
}

static void close_(struct jp_source *src)
{
    struct priv *pv = src->priv;
    if (pv) jp_kfile_close(&pv->stat);
    free(src->priv);
    src->priv = NULL;
}

const struct jp_source_ops jp_source_model = {
    .name = "model",
    .is_gpu = false,
    .estimated = true,
    .probe = NULL,
    .open = open_,
    .read = read_,
    .close = close_,
};

/* The parameters a model source resolved (for the meter's report). */
const jp_model_params *jp_source_model_params(const struct jp_source *src)
{
    return src->ops == &jp_source_model && src->priv ? &((const struct priv *)src->priv)->params : NULL;
}
