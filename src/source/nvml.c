/*
 * nvml: NVIDIA GPUs through the NVIDIA Management Library, loaded at run time with dlopen
 * (JP_NVML_LIBRARY names the library, else libnvidia-ml.so.1), so jouleprint needs no CUDA to build
 * and runs unchanged where there is no NVIDIA driver.
 *
 * Each GPU NVML lists is one domain, gpu-N (N: NVML's index), added to the total. Where the driver
 * has the board's total energy counter (millijoules since the driver loaded; Volta and later) that
 * counter is handed to the meter as it is: a counter that resets (the driver reloaded) goes backwards
 * and the meter takes it as a glitch and a new reference. Where it has not, the board power (mW) is
 * read at every sample of the meter and integrated here (trapezoids) into a microjoule counter.
 *
 * A GPU that refuses both queries (not supported, no permission, lost) is skipped and said so in the
 * detail; the others are measured. With MIG on, the counters are those of the whole board, shared by
 * all its instances, and so are the figures. Utilization and memory in use go to the timeline as side
 * metrics (gpu-N.util_pct, gpu-N.mem_used_mib) where the driver gives them.
 *
 * JP_NVML_METHOD=power makes it integrate power even where the counter exists, so that the two methods
 * can be compared on one GPU (BENCHMARKS.md).
 */
#define _POSIX_C_SOURCE 200809L
#include "source.h"

#include <dlfcn.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_power.h"
#include "nvml_api.h"

#define DEFAULT_LIBRARY "libnvidia-ml.so.1"
#ifdef RTLD_NODELETE
#define JP_RTLD_NODELETE RTLD_NODELETE
#else
#define JP_RTLD_NODELETE 0
#endif

/* The functions looked up; the first block is required, the rest optional (NULL when missing). */
struct lib {
    void *dl;
    bool inited;
    jp_nvmlInit_v2_fn *init;
    jp_nvmlShutdown_fn *shutdown;
    jp_nvmlDeviceGetCount_v2_fn *count;
    jp_nvmlDeviceGetHandleByIndex_v2_fn *handle;
    jp_nvmlDeviceGetTotalEnergyConsumption_fn *energy;
    jp_nvmlDeviceGetPowerUsage_fn *power;
    /* optional */
    jp_nvmlErrorString_fn *errstr;
    jp_nvmlSystemGetDriverVersion_fn *driver;
    jp_nvmlDeviceGetName_fn *name;
    jp_nvmlDeviceGetEnforcedPowerLimit_fn *limit;
    jp_nvmlDeviceGetUtilizationRates_fn *util;
    jp_nvmlDeviceGetMemoryInfo_fn *mem;
    jp_nvmlDeviceGetMigMode_fn *mig;
    jp_nvmlDeviceGetSamples_fn *samples;
};

enum method { COUNTER, POWER };

struct gpu {
    nvmlDevice_t dev;
    enum method method;
    double max_reading_w;      /* a power reading above this is a glitch */
    struct jp_power_integral pi;
    int aux_util, aux_mem;     /* index into src->aux, or -1 */
};

struct priv {
    struct lib lib;
    size_t n;
    struct gpu gpus[JP_MAX_DOMAINS];
};

static const char *code_name(nvmlReturn_t rc)
{
    switch (rc) {
    case NVML_SUCCESS: return "NVML_SUCCESS";
    case NVML_ERROR_UNINITIALIZED: return "NVML_ERROR_UNINITIALIZED";
    case NVML_ERROR_INVALID_ARGUMENT: return "NVML_ERROR_INVALID_ARGUMENT";
    case NVML_ERROR_NOT_SUPPORTED: return "NVML_ERROR_NOT_SUPPORTED";
    case NVML_ERROR_NO_PERMISSION: return "NVML_ERROR_NO_PERMISSION";
    case NVML_ERROR_NOT_FOUND: return "NVML_ERROR_NOT_FOUND";
    case NVML_ERROR_INSUFFICIENT_POWER: return "NVML_ERROR_INSUFFICIENT_POWER";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "NVML_ERROR_DRIVER_NOT_LOADED";
    case NVML_ERROR_TIMEOUT: return "NVML_ERROR_TIMEOUT";
    case NVML_ERROR_GPU_IS_LOST: return "NVML_ERROR_GPU_IS_LOST";
    case NVML_ERROR_RESET_REQUIRED: return "NVML_ERROR_RESET_REQUIRED";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "NVML_ERROR_LIB_RM_VERSION_MISMATCH";
    case NVML_ERROR_NO_DATA: return "NVML_ERROR_NO_DATA";
    case NVML_ERROR_UNKNOWN: return "NVML_ERROR_UNKNOWN";
    default: return "NVML error";
    }
}

/* "Insufficient Permissions (NVML_ERROR_NO_PERMISSION)" */
static void describe(const struct lib *L, nvmlReturn_t rc, char *buf, size_t len)
{
    const char *s = L->errstr ? L->errstr(rc) : NULL;
    if (s && *s) snprintf(buf, len, "%s (%s)", s, code_name(rc));
    else snprintf(buf, len, "%s %d", code_name(rc), (int)rc);
}

/* dlsym into a function pointer without the object-to-function pointer cast ISO C leaves undefined. */
static void *sym(void *dl, const char *name)
{
    return dlsym(dl, name);
}
#define LOOKUP(L, field, name) memcpy(&(L)->field, &(void *){sym((L)->dl, name)}, sizeof(L)->field)

static void lib_close(struct lib *L)
{
    if (L->inited && L->shutdown) L->shutdown();
    if (L->dl) dlclose(L->dl);
    memset(L, 0, sizeof *L);
}

/* Set once the default library (no JP_NVML_LIBRARY) failed to load in this process. A failed dlopen
 * is not cheap: the loader searches its path and maps and unmaps ld.so.cache, and the unmap costs a
 * TLB shootdown on every CPU the process ran on; every meter opened (each Python `with Tracker()`)
 * paid it, about half of what opening a meter cost on a machine without NVIDIA's driver
 * (BENCHMARKS.md, "Python binding"). A driver installed while the process runs is seen by the next
 * process. A library named by JP_NVML_LIBRARY is tried every time. */
static atomic_bool default_missing;

/* NVML works through NVIDIA's kernel driver: its control device (/dev/nvidiactl; containers get it from
 * the NVIDIA container runtime), its /proc entry, or under WSL 2 the GPU paravirtualization device
 * /dev/dxg. Where none exists the default library is not looked for: the search alone (ld.so.cache
 * mapped, every library directory tried) was the largest part of opening a meter on a machine without
 * a GPU. */
static bool driver_present(void)
{
    return access("/dev/nvidiactl", F_OK) == 0 || access("/proc/driver/nvidia", F_OK) == 0 ||
           access("/dev/dxg", F_OK) == 0;
}

/* Loads and initializes NVML. On failure: JP_ERR_NOSOURCE with the reason in jp_last_error(). */
static int lib_open(struct lib *L, const struct jp_source_env *env)
{
    memset(L, 0, sizeof *L);
    const char *path = env->nvml_library ? env->nvml_library : DEFAULT_LIBRARY;
    if (!env->nvml_library && (atomic_load_explicit(&default_missing, memory_order_relaxed) || !driver_present()))
        L->dl = NULL;
    else {
        dlerror();
        /* never unmapped (dlclose only drops the reference): a driver library may leave threads or
         * exit handlers behind it after nvmlShutdown */
        L->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | JP_RTLD_NODELETE);
    }
    if (!L->dl) {
        if (env->nvml_library) {
            const char *e = dlerror();
            return jp_fail(JP_ERR_NOSOURCE, "cannot load JP_NVML_LIBRARY=%s: %s", path, e ? e : "dlopen failed");
        }
        atomic_store_explicit(&default_missing, true, memory_order_relaxed);
        return jp_fail(JP_ERR_NOSOURCE, "cannot load %s: no NVIDIA driver here (if it is installed elsewhere, "
                       "set JP_NVML_LIBRARY to the library's path)", path);
    }
    LOOKUP(L, init, "nvmlInit_v2");
    LOOKUP(L, shutdown, "nvmlShutdown");
    LOOKUP(L, count, "nvmlDeviceGetCount_v2");
    LOOKUP(L, handle, "nvmlDeviceGetHandleByIndex_v2");
    LOOKUP(L, energy, "nvmlDeviceGetTotalEnergyConsumption");
    LOOKUP(L, power, "nvmlDeviceGetPowerUsage");
    LOOKUP(L, errstr, "nvmlErrorString");
    LOOKUP(L, driver, "nvmlSystemGetDriverVersion");
    LOOKUP(L, name, "nvmlDeviceGetName");
    LOOKUP(L, limit, "nvmlDeviceGetEnforcedPowerLimit");
    LOOKUP(L, util, "nvmlDeviceGetUtilizationRates");
    LOOKUP(L, mem, "nvmlDeviceGetMemoryInfo");
    LOOKUP(L, mig, "nvmlDeviceGetMigMode");
    LOOKUP(L, samples, "nvmlDeviceGetSamples");
    const char *missing = !L->init ? "nvmlInit_v2" : !L->shutdown ? "nvmlShutdown" : !L->count ? "nvmlDeviceGetCount_v2"
                          : !L->handle ? "nvmlDeviceGetHandleByIndex_v2" : !L->energy ? "nvmlDeviceGetTotalEnergyConsumption"
                          : !L->power ? "nvmlDeviceGetPowerUsage" : NULL;
    if (missing) {
        lib_close(L);
        return jp_fail(JP_ERR_NOSOURCE, "%s has no %s: not NVML, or an NVML older than the R450 drivers", path,
                       missing);
    }
    nvmlReturn_t rc = L->init();
    if (rc != NVML_SUCCESS) {
        char d[160];
        describe(L, rc, d, sizeof d);
        lib_close(L);
        return jp_fail(JP_ERR_NOSOURCE, "nvmlInit_v2: %s%s", d,
                       rc == NVML_ERROR_DRIVER_NOT_LOADED ? ": the NVIDIA kernel driver is not loaded"
                       : rc == NVML_ERROR_NO_PERMISSION ? ": no access to /dev/nvidia*"
                       : rc == NVML_ERROR_LIB_RM_VERSION_MISMATCH ? ": the library and the kernel driver differ in version"
                       : "");
    }
    L->inited = true;
    return JP_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

/* The driver's own power sampling period, from the timestamps of the samples it keeps (median gap,
 * milliseconds); 0 when it does not say. */
static double driver_sample_ms(const struct lib *L, nvmlDevice_t dev)
{
    if (!L->samples) return 0;
    nvmlValueType_t vt;
    unsigned int n = 0;
    if (L->samples(dev, NVML_TOTAL_POWER_SAMPLES, 0, &vt, &n, NULL) != NVML_SUCCESS || n < 3) return 0;
    if (n > 4096) n = 4096;
    nvmlSample_t *s = calloc(n, sizeof *s);
    unsigned long long *ts = calloc(n, sizeof *ts);
    double ms = 0;
    if (s && ts && L->samples(dev, NVML_TOTAL_POWER_SAMPLES, 0, &vt, &n, s) == NVML_SUCCESS && n >= 3) {
        /* the timestamps sorted, then replaced by the gaps between them */
        for (unsigned i = 0; i < n; i++) ts[i] = s[i].timeStamp;
        qsort(ts, n, sizeof *ts, cmp_u64);
        size_t k = 0;
        for (unsigned i = 1; i < n; i++)
            if (ts[i] > ts[i - 1]) ts[k++] = ts[i] - ts[i - 1]; /* k <= i - 1: never overwrites unread */
        if (k >= 2) {
            qsort(ts, k, sizeof *ts, cmp_u64);
            ms = (double)ts[k / 2] / 1000.0;
        }
    }
    free(s);
    free(ts);
    return ms;
}

static void read_aux(const struct lib *L, struct jp_source *src, const struct gpu *g)
{
    if (g->aux_util >= 0) {
        nvmlUtilization_t u;
        src->aux[g->aux_util] = L->util(g->dev, &u) == NVML_SUCCESS && u.gpu <= 100 ? (double)u.gpu : NAN;
    }
    if (g->aux_mem >= 0) {
        nvmlMemory_t mi;
        src->aux[g->aux_mem] = L->mem(g->dev, &mi) == NVML_SUCCESS && mi.used <= mi.total
                                   ? (double)mi.used / (1024.0 * 1024.0)
                                   : NAN;
    }
}

static void describe_group(char *lines, size_t len, unsigned first, unsigned last, const char *desc)
{
    if (first == last) jp_gpu_appendf(lines, len, "\ngpu-%u %s", first, desc);
    else jp_gpu_appendf(lines, len, "\ngpu-%u..%u %s", first, last, desc);
}

static int open_(struct jp_source *src, const struct jp_source_env *env)
{
    struct priv *pv = calloc(1, sizeof *pv);
    if (!pv) return jp_fail(JP_ERR_NOMEM, "out of memory");
    struct lib *L = &pv->lib;
    int rc = lib_open(L, env);
    if (rc != JP_OK) {
        free(pv);
        return rc;
    }
    unsigned int count = 0;
    nvmlReturn_t nr = L->count(&count);
    char d[160];
    if (nr != NVML_SUCCESS || count == 0) {
        if (nr != NVML_SUCCESS) describe(L, nr, d, sizeof d);
        lib_close(L);
        free(pv);
        if (nr != NVML_SUCCESS) return jp_fail(JP_ERR_NOSOURCE, "nvmlDeviceGetCount_v2: %s", d);
        return jp_fail(JP_ERR_NOSOURCE, "NVML is installed but lists no NVIDIA GPU");
    }
    /* JP_NVML_METHOD=power integrates power even where the energy counter exists: to compare the two */
    const char *meth = getenv("JP_NVML_METHOD");
    bool force_power = meth && !strcmp(meth, "power");
    char lines[512] = "", skipped[512] = "";
    /* consecutive GPUs described alike share one line ("gpu-0..7 NVIDIA H100 ...: energy counter") */
    char prev[320] = "";
    unsigned first = 0, last = 0;
    bool have_prev = false;
    for (unsigned int i = 0; i < count; i++) {
        nvmlDevice_t dev = NULL;
        char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = "";
        if ((nr = L->handle(i, &dev)) != NVML_SUCCESS) {
            describe(L, nr, d, sizeof d);
            jp_gpu_appendf(skipped, sizeof skipped, "\nGPU %u skipped: %s", i, d);
            continue;
        }
        if (!L->name || L->name(dev, name, sizeof name) != NVML_SUCCESS) snprintf(name, sizeof name, "GPU %u", i);
        name[sizeof name - 1] = '\0';
        unsigned int cur = 0, pend = 0;
        bool mig = L->mig && L->mig(dev, &cur, &pend) == NVML_SUCCESS && cur == NVML_DEVICE_MIG_ENABLE;
        unsigned int limit_mw = 0;
        double limit_w = L->limit && L->limit(dev, &limit_mw) == NVML_SUCCESS ? limit_mw / 1000.0 : 0;
        if (!(limit_w > 0 && limit_w < 100000)) limit_w = 0;
        enum method method;
        unsigned long long mj;
        unsigned int mw = 0;
        char why_no_counter[160] = "";
        nvmlReturn_t re = force_power ? NVML_ERROR_NOT_SUPPORTED : L->energy(dev, &mj), rp = NVML_SUCCESS;
        if (re == NVML_SUCCESS) {
            method = COUNTER;
        } else {
            if (force_power) jp_strlcpy(why_no_counter, "not used, JP_NVML_METHOD=power", sizeof why_no_counter);
            else if (re != NVML_ERROR_NOT_SUPPORTED) describe(L, re, why_no_counter, sizeof why_no_counter);
            else jp_strlcpy(why_no_counter, "not supported", sizeof why_no_counter);
            rp = L->power(dev, &mw);
            if (rp != NVML_SUCCESS) {
                char dp[160];
                describe(L, rp, dp, sizeof dp);
                if (rp == re && !force_power)
                    jp_gpu_appendf(skipped, sizeof skipped, "\nGPU %u (%s) skipped: energy and power: %s%s", i, name,
                                   dp, mig ? " (MIG on)" : "");
                else
                    jp_gpu_appendf(skipped, sizeof skipped, "\nGPU %u (%s) skipped: energy counter: %s; power: %s%s",
                                   i, name, why_no_counter, dp, mig ? " (MIG on)" : "");
                continue;
            }
            method = POWER;
        }
        char dname[JP_NAME_MAX];
        snprintf(dname, sizeof dname, "gpu-%u", i);
        int di = jp_source_add_domain(src, dname, JP_DOMAIN_GPU, method == COUNTER ? 1e-3 : 1e-6, 0, false);
        if (di < 0) break;
        struct gpu *g = &pv->gpus[di];
        g->dev = dev;
        g->method = method;
        g->aux_util = g->aux_mem = -1;
        /* A board draws at most a little over its power limit; a reading far above is not data. */
        g->max_reading_w = limit_w > 0 ? fmax(3.0 * limit_w, 1000.0) : 3000.0;
        if (method == COUNTER) {
            /* The driver advances the counter in steps. Sampled faster than it steps, one sample sees a
             * whole step and the ones before it none, so a step may look like many times the board's
             * power over one short interval: allow 100 times the limit (a 100 ms step seen in a 1 ms
             * sample) before calling a forward jump impossible. Going backwards is always caught. */
            src->domains[di].max_watts = 100.0 * (limit_w > 0 ? limit_w : 1000.0);
        } else {
            src->domains[di].max_watts = g->max_reading_w;
            jp_power_integral_add(&g->pi, mw / 1000.0, jp_now());
        }
        nvmlUtilization_t u;
        nvmlMemory_t mi;
        if (L->util && L->util(dev, &u) == NVML_SUCCESS) g->aux_util = jp_source_add_aux(src, dname, "util_pct");
        if (L->mem && L->mem(dev, &mi) == NVML_SUCCESS) g->aux_mem = jp_source_add_aux(src, dname, "mem_used_mib");
        double sms = driver_sample_ms(L, dev);
        char desc[320] = "";
        jp_gpu_appendf(desc, sizeof desc, "%s: ", name);
        if (method == COUNTER)
            jp_gpu_appendf(desc, sizeof desc, "energy counter");
        else
            jp_gpu_appendf(desc, sizeof desc, "sampled power (energy counter: %s), integrated at every meter "
                           "sample (--interval)", why_no_counter);
        if (sms > 0) jp_gpu_appendf(desc, sizeof desc, "; the driver samples power every %.0f ms", sms);
        if (limit_w > 0) jp_gpu_appendf(desc, sizeof desc, "; limit %.0f W", limit_w);
        if (mig) jp_gpu_appendf(desc, sizeof desc, "; MIG on: figures for the whole board");
        if (have_prev && i == last + 1 && !strcmp(desc, prev)) {
            last = i;
        } else {
            if (have_prev) describe_group(lines, sizeof lines, first, last, prev);
            jp_strlcpy(prev, desc, sizeof prev);
            first = last = i;
            have_prev = true;
        }
    }
    if (have_prev) describe_group(lines, sizeof lines, first, last, prev);
    if (src->ndomains == 0) {
        lib_close(L);
        free(pv);
        return jp_fail(JP_ERR_NOSOURCE, "NVML lists %u GPU%s, none can be measured:%s", count, count == 1 ? "" : "s",
                       skipped);
    }
    pv->n = src->ndomains;
    src->priv = pv;
    char ver[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = "";
    if (!L->driver || L->driver(ver, sizeof ver) != NVML_SUCCESS) jp_strlcpy(ver, "?", sizeof ver);
    ver[sizeof ver - 1] = '\0';
    snprintf(src->detail, sizeof src->detail, "NVML, driver %s: %zu of %u GPU%s measured", ver, src->ndomains, count,
             count == 1 ? "" : "s");
    jp_gpu_appendf(src->detail, sizeof src->detail, "%s%s", lines, skipped);
    return JP_OK;
}

static int read_(struct jp_source *src, uint64_t *raw, enum jp_read_status *status)
{
    struct priv *pv = src->priv;
    const struct lib *L = &pv->lib;
    for (size_t i = 0; i < pv->n; i++) {
        struct gpu *g = &pv->gpus[i];
        nvmlReturn_t rc;
        if (g->method == COUNTER) {
            unsigned long long mj = 0;
            rc = L->energy(g->dev, &mj);
            raw[i] = (uint64_t)mj;
        } else {
            unsigned int mw = 0;
            rc = L->power(g->dev, &mw);
            double t = src->read_t > 0 ? src->read_t : jp_now();
            if (rc == NVML_SUCCESS && mw / 1000.0 > g->max_reading_w) rc = NVML_ERROR_UNKNOWN; /* not data */
            if (rc == NVML_SUCCESS) jp_power_integral_add(&g->pi, mw / 1000.0, t);
            raw[i] = jp_power_integral_raw(&g->pi);
        }
        status[i] = rc == NVML_SUCCESS ? JP_READ_OK : rc == NVML_ERROR_GPU_IS_LOST ? JP_READ_GONE : JP_READ_GLITCH;
        read_aux(L, src, g);
    }
    return JP_OK;
}

static void close_(struct jp_source *src)
{
    struct priv *pv = src->priv;
    if (!pv) return;
    lib_close(&pv->lib);
    free(pv);
    src->priv = NULL;
}

const struct jp_source_ops jp_source_nvml = {
    .name = "nvml",
    .is_gpu = true,
    .estimated = false,
    .probe = NULL, /* opening is the probe */
    .open = open_,
    .read = read_,
    .close = close_,
};
