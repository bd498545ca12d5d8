#include "source.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const struct jp_source_ops *const jp_source_registry[] = {
    &jp_source_rapl_powercap,
    &jp_source_rapl_msr,
    &jp_source_rapl_perf,
    &jp_source_nvml,
    &jp_source_amdgpu_hwmon,
    &jp_source_model,
    NULL,
};

int jp_source_env_init(struct jp_source_env *env, const jp_model_params *model)
{
    memset(env, 0, sizeof *env);
    int rc = jp_roots_from_env(&env->roots);
    if (rc != JP_OK) return rc;
    const char *nv = getenv("JP_NVML_LIBRARY");
    env->nvml_library = (nv && *nv) ? nv : NULL;
    if (model)
        env->model = *model;
    else
        jp_model_params_init(&env->model);
    return JP_OK;
}

int jp_source_add_domain(struct jp_source *src, const char *name, jp_domain_kind kind,
                         double joules_per_unit, uint64_t wrap, bool estimated)
{
    if (src->ndomains >= JP_MAX_DOMAINS)
        return jp_fail(JP_ERR_RANGE, "%s: more than %d domains", src->ops->name, JP_MAX_DOMAINS);
    struct jp_domain_desc *d = &src->domains[src->ndomains];
    memset(d, 0, sizeof *d);
    jp_strlcpy(d->name, name, sizeof d->name);
    d->kind = kind;
    d->joules_per_unit = joules_per_unit;
    d->wrap = wrap;
    d->estimated = estimated;
    return (int)src->ndomains++;
}

int jp_source_add_aux(struct jp_source *src, const char *domain, const char *what)
{
    if (src->naux >= JP_MAX_AUX) return -1;
    jp_textf(src->aux_name[src->naux], JP_NAME_MAX, "%s.%s", domain, what);
    src->aux[src->naux] = NAN;
    return (int)src->naux++;
}

/* A probe's refusal: its own message, or "unavailable" where it gave none. */
static int probe_refused(void)
{
    if (!jp_last_error()[0]) jp_fail(JP_ERR_NOSOURCE, "unavailable");
    return JP_ERR_NOSOURCE;
}

int jp_source_try_open(struct jp_source *src, const struct jp_source_ops *ops, const struct jp_source_env *env)
{
    memset(src, 0, sizeof *src);
    src->ops = ops;
    jp_clear_error();
    if (ops->probe && ops->probe(env) != JP_OK) return probe_refused();
    int rc = ops->open(src, env);
    if (rc != JP_OK) src->ndomains = 0;
    return rc;
}

int jp_source_probe(const struct jp_source_ops *ops, const struct jp_source_env *env)
{
    jp_clear_error();
    if (ops->probe) {
        int rc = ops->probe(env);
        if (rc != JP_OK && !jp_last_error()[0]) jp_fail(rc, "unavailable");
        return rc;
    }
    struct jp_source *src = calloc(1, sizeof *src);
    if (!src) return jp_fail(JP_ERR_NOMEM, "%s: out of memory", ops->name);
    int rc = jp_source_try_open(src, ops, env);
    if (rc == JP_OK) ops->close(src);
    free(src);
    return rc;
}

int jp_sources_probe(jp_source_status *out, size_t max)
{
    struct jp_source_env env;
    int rc = jp_source_env_init(&env, NULL);
    if (rc != JP_OK) return rc;
    size_t n = 0;
    for (const struct jp_source_ops *const *p = jp_source_registry; *p; p++, n++) {
        if (n >= max) continue;
        jp_source_status *s = &out[n];
        memset(s, 0, sizeof *s);
        jp_strlcpy(s->name, (*p)->name, sizeof s->name);
        s->estimated = (*p)->estimated;
        /* open it once: that both probes it and describes what it measures */
        struct jp_source src;
        if (jp_source_try_open(&src, *p, &env) != JP_OK) {
            jp_strlcpy(s->detail, jp_last_error(), sizeof s->detail);
            s->usable = false;
            continue;
        }
        s->usable = true;
        jp_strlcpy(s->detail, src.detail, sizeof s->detail);
        (*p)->close(&src);
    }
    return (int)n;
}
