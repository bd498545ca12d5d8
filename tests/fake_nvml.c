/*
 * A fake NVML for the tests: a shared library exporting the NVML functions the nvml source uses,
 * with NVML's signatures and return codes, that plays back a script instead of asking a GPU.
 *
 * The script is the file named by JP_FAKE_NVML_SCRIPT, read afresh by the first nvmlInit_v2 after
 * the library was shut down (so a test may rewrite it between meters). One statement per line, '#'
 * starts a comment:
 *
 *   epoch SECONDS      the CLOCK_MONOTONIC time the script's times count from (default: first init)
 *   clock PATH         the GPUs' time (seconds since the epoch) is the number in file PATH, read at
 *                      every query, not the real clock: the test moves time itself, in steps it
 *                      knows the meter saw, so that every figure is exact whatever the machine's load
 *                      (an unreadable or empty file keeps the last time read; none read yet: 0)
 *   init ERROR         nvmlInit_v2 fails with NVML_ERROR_<ERROR>
 *   driver VERSION     what nvmlSystemGetDriverVersion says
 *   gpu KEY=VALUE...   one GPU, in NVML index order:
 *     name="..."         its name
 *     watts=W            constant board power, or
 *     trace=T:W,T:W,...  power through these points (seconds since epoch : watts), linear between
 *     period=S           ... repeating every S seconds
 *     counter=0          no energy counter (nvmlDeviceGetTotalEnergyConsumption: NOT_SUPPORTED)
 *     start_j=J          the counter's value at the epoch (default 1000 J)
 *     step_ms=MS         the counter advances only every MS milliseconds (as real drivers do)
 *     reset_at=S         the counter restarts from 0 at S seconds (a driver reload)
 *     limit_w=W          nvmlDeviceGetEnforcedPowerLimit
 *     util=PCT, mem_used_mib=M, mem_total_mib=M
 *     mig=1              MIG on (utilization then NOT_SUPPORTED, as on real boards)
 *     sample_ms=MS       nvmlDeviceGetSamples gives power samples this far apart (else NOT_SUPPORTED)
 *     handle_error=E, energy_error=E, power_error=E   that query always fails with NVML_ERROR_<E>
 *     flaky=N            every Nth energy or power query fails with NVML_ERROR_UNKNOWN
 *     lost_at=S          from S seconds on, every query fails with NVML_ERROR_GPU_IS_LOST
 *
 * For the tests' own arithmetic it also exports fake_nvml_scripted_joules(index, t0, t1): the energy
 * the script says GPU `index` drew between two CLOCK_MONOTONIC times.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source/nvml_api.h"

#define MAX_GPUS 16
#define MAX_POINTS 64

struct nvmlDevice_st {
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
    double watts;
    int npoints;
    double pt[MAX_POINTS], pw[MAX_POINTS];
    double period;
    int counter;
    double start_j, step_s, reset_at, limit_w, util, mem_used_mib, mem_total_mib, sample_ms, lost_at;
    int mig, flaky;
    nvmlReturn_t handle_error, energy_error, power_error;
    unsigned long calls;
};

struct script {
    double epoch;
    bool have_epoch;
    char clock[1024]; /* the test's clock file, or "" for the real clock */
    double clock_t;   /* the last time read from it */
    nvmlReturn_t init_error;
    char driver[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
    int ngpus;
    struct nvmlDevice_st gpus[MAX_GPUS];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct script S;
static int refcount;
static double first_init = -1;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static nvmlReturn_t error_named(const char *s)
{
    static const struct {
        const char *name;
        nvmlReturn_t code;
    } t[] = {{"UNINITIALIZED", NVML_ERROR_UNINITIALIZED},     {"INVALID_ARGUMENT", NVML_ERROR_INVALID_ARGUMENT},
             {"NOT_SUPPORTED", NVML_ERROR_NOT_SUPPORTED},     {"NO_PERMISSION", NVML_ERROR_NO_PERMISSION},
             {"NOT_FOUND", NVML_ERROR_NOT_FOUND},             {"DRIVER_NOT_LOADED", NVML_ERROR_DRIVER_NOT_LOADED},
             {"TIMEOUT", NVML_ERROR_TIMEOUT},                 {"GPU_IS_LOST", NVML_ERROR_GPU_IS_LOST},
             {"LIB_RM_VERSION_MISMATCH", NVML_ERROR_LIB_RM_VERSION_MISMATCH},
             {"NO_DATA", NVML_ERROR_NO_DATA},                 {"UNKNOWN", NVML_ERROR_UNKNOWN}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name)) return t[i].code;
    fprintf(stderr, "fake_nvml: unknown error name %s\n", s);
    return NVML_ERROR_UNKNOWN;
}

/* Parses "key=value" or key="quoted value" at *p; returns 0 at the end of the line. */
static int next_pair(char **p, char **key, char **val)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s || *s == '#' || *s == '\n') return 0;
    *key = s;
    while (*s && *s != '=' && *s != ' ' && *s != '\n') s++;
    if (*s != '=') return 0;
    *s++ = '\0';
    if (*s == '"') {
        *val = ++s;
        while (*s && *s != '"') s++;
    } else {
        *val = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\n') s++;
    }
    if (*s) *s++ = '\0';
    *p = s;
    return 1;
}

static void parse_gpu(struct nvmlDevice_st *g, char *line)
{
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "Fake GPU");
    g->counter = 1;
    g->start_j = 1000.0;
    g->reset_at = g->lost_at = INFINITY;
    g->mem_total_mib = 16384;
    char *key, *val;
    while (next_pair(&line, &key, &val)) {
        double v = strtod(val, NULL);
        if (!strcmp(key, "name")) snprintf(g->name, sizeof g->name, "%s", val);
        else if (!strcmp(key, "watts")) g->watts = v;
        else if (!strcmp(key, "trace")) {
            for (char *q = val; *q && g->npoints < MAX_POINTS;) {
                char *end;
                g->pt[g->npoints] = strtod(q, &end);
                if (*end != ':') break;
                g->pw[g->npoints++] = strtod(end + 1, &end);
                q = *end == ',' ? end + 1 : end;
            }
        } else if (!strcmp(key, "period")) g->period = v;
        else if (!strcmp(key, "counter")) g->counter = (int)v;
        else if (!strcmp(key, "start_j")) g->start_j = v;
        else if (!strcmp(key, "step_ms")) g->step_s = v / 1000.0;
        else if (!strcmp(key, "reset_at")) g->reset_at = v;
        else if (!strcmp(key, "limit_w")) g->limit_w = v;
        else if (!strcmp(key, "util")) g->util = v;
        else if (!strcmp(key, "mem_used_mib")) g->mem_used_mib = v;
        else if (!strcmp(key, "mem_total_mib")) g->mem_total_mib = v;
        else if (!strcmp(key, "mig")) g->mig = (int)v;
        else if (!strcmp(key, "sample_ms")) g->sample_ms = v;
        else if (!strcmp(key, "flaky")) g->flaky = (int)v;
        else if (!strcmp(key, "lost_at")) g->lost_at = v;
        else if (!strcmp(key, "handle_error")) g->handle_error = error_named(val);
        else if (!strcmp(key, "energy_error")) g->energy_error = error_named(val);
        else if (!strcmp(key, "power_error")) g->power_error = error_named(val);
        else fprintf(stderr, "fake_nvml: unknown gpu key %s\n", key);
    }
    if (!g->counter && !g->energy_error) g->energy_error = NVML_ERROR_NOT_SUPPORTED;
}

static int load_script(struct script *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->driver, sizeof s->driver, "999.99-fake");
    const char *path = getenv("JP_FAKE_NVML_SCRIPT");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        fprintf(stderr, "fake_nvml: cannot read the script JP_FAKE_NVML_SCRIPT=%s\n", path ? path : "(unset)");
        return -1;
    }
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!strncmp(p, "epoch ", 6)) {
            s->epoch = strtod(p + 6, NULL);
            s->have_epoch = true;
        } else if (!strncmp(p, "clock ", 6)) {
            sscanf(p + 6, "%1023s", s->clock);
        } else if (!strncmp(p, "init ", 5)) {
            char name[64] = "";
            sscanf(p + 5, "%63s", name);
            s->init_error = error_named(name);
        } else if (!strncmp(p, "driver ", 7)) {
            sscanf(p + 7, "%79s", s->driver);
        } else if (!strncmp(p, "gpu", 3) && s->ngpus < MAX_GPUS) {
            parse_gpu(&s->gpus[s->ngpus++], p + 3);
        }
    }
    fclose(f);
    return 0;
}

/* ---- the script's physics ---------------------------------------------------------------------- */

/* Power at t seconds since the epoch, before any period folding: linear between trace points. */
static double trace_w(const struct nvmlDevice_st *g, double t)
{
    if (!g->npoints) return g->watts;
    if (t <= g->pt[0]) return g->pw[0];
    for (int i = 1; i < g->npoints; i++)
        if (t <= g->pt[i]) {
            double f = (t - g->pt[i - 1]) / (g->pt[i] - g->pt[i - 1]);
            return g->pw[i - 1] + f * (g->pw[i] - g->pw[i - 1]);
        }
    return g->pw[g->npoints - 1];
}

static double power_at(const struct nvmlDevice_st *g, double t)
{
    if (t < 0) t = 0;
    if (g->period > 0) t = fmod(t, g->period);
    return trace_w(g, t);
}

/* Energy from 0 to t (0 <= t, no folding): exact for the piecewise-linear trace. */
static double trace_j(const struct nvmlDevice_st *g, double t)
{
    if (!g->npoints) return g->watts * t;
    double e = 0, a = 0;
    /* breakpoints: 0, the trace's points, t */
    for (int i = 0; i <= g->npoints && a < t; i++) {
        double b = i < g->npoints ? g->pt[i] : t;
        if (b > t) b = t;
        if (b > a) {
            e += 0.5 * (trace_w(g, a) + trace_w(g, b)) * (b - a);
            a = b;
        }
    }
    if (t > a) e += g->pw[g->npoints - 1] * (t - a);
    return e;
}

/* Energy the script says the GPU drew from the epoch to t (seconds since the epoch). */
static double energy_to(const struct nvmlDevice_st *g, double t)
{
    if (t <= 0) return 0;
    if (g->period > 0) {
        double n = floor(t / g->period);
        return n * trace_j(g, g->period) + trace_j(g, t - n * g->period);
    }
    return trace_j(g, t);
}

double fake_nvml_scripted_joules(unsigned index, double t0, double t1);
double fake_nvml_scripted_joules(unsigned index, double t0, double t1)
{
    struct script *s = malloc(sizeof *s);
    if (!s || load_script(s) != 0 || (int)index >= s->ngpus || !s->have_epoch) {
        free(s);
        return NAN;
    }
    const struct nvmlDevice_st *g = &s->gpus[index];
    double e = energy_to(g, t1 - s->epoch) - energy_to(g, t0 - s->epoch);
    free(s);
    return e;
}

/* ---- the API ----------------------------------------------------------------------------------- */

/* Seconds since the epoch: the test's clock file when the script names one, else the real clock. */
static double now_rel(void)
{
    if (!S.clock[0]) return mono() - S.epoch;
    FILE *f = fopen(S.clock, "r");
    double t;
    if (f) {
        if (fscanf(f, "%lf", &t) == 1 && isfinite(t) && t >= 0) S.clock_t = t;
        fclose(f);
    }
    return S.clock_t;
}

/* Locks and checks that NVML is initialized and dev is one of ours. */
static nvmlReturn_t enter(nvmlDevice_t dev)
{
    pthread_mutex_lock(&mu);
    if (refcount <= 0) return NVML_ERROR_UNINITIALIZED;
    if (dev && (dev < S.gpus || dev >= S.gpus + S.ngpus)) return NVML_ERROR_INVALID_ARGUMENT;
    if (dev && now_rel() >= dev->lost_at) return NVML_ERROR_GPU_IS_LOST;
    return NVML_SUCCESS;
}

static nvmlReturn_t leave(nvmlReturn_t rc)
{
    pthread_mutex_unlock(&mu);
    return rc;
}

nvmlReturn_t nvmlInit_v2(void)
{
    pthread_mutex_lock(&mu);
    if (refcount == 0) {
        if (load_script(&S) != 0) return leave(NVML_ERROR_UNKNOWN);
        if (first_init < 0) first_init = mono();
        if (!S.have_epoch) S.epoch = first_init;
        if (S.init_error) return leave(S.init_error);
    }
    refcount++;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlShutdown(void)
{
    pthread_mutex_lock(&mu);
    if (refcount <= 0) return leave(NVML_ERROR_UNINITIALIZED);
    refcount--;
    return leave(NVML_SUCCESS);
}

const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch.";
    case NVML_ERROR_NO_DATA: return "No data";
    default: return "Unknown Error";
    }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    nvmlReturn_t rc = enter(NULL);
    if (rc) return leave(rc);
    if (!version) return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (strlen(S.driver) + 1 > length) return leave(NVML_ERROR_INSUFFICIENT_SIZE);
    memcpy(version, S.driver, strlen(S.driver) + 1);
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    nvmlReturn_t rc = enter(NULL);
    if (rc) return leave(rc);
    if (!deviceCount) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *deviceCount = (unsigned int)S.ngpus;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    nvmlReturn_t rc = enter(NULL);
    if (rc) return leave(rc);
    if (!device || index >= (unsigned)S.ngpus) return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (S.gpus[index].handle_error) return leave(S.gpus[index].handle_error);
    *device = &S.gpus[index];
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    nvmlReturn_t rc = enter(device);
    if (rc) return leave(rc);
    if (!device || !name) return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (strlen(device->name) + 1 > length) return leave(NVML_ERROR_INSUFFICIENT_SIZE);
    memcpy(name, device->name, strlen(device->name) + 1);
    return leave(NVML_SUCCESS);
}

static bool flaky_now(struct nvmlDevice_st *g)
{
    g->calls++;
    return g->flaky > 0 && g->calls % (unsigned long)g->flaky == 0;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy)
{
    nvmlReturn_t rc = enter(device);
    if (rc) return leave(rc);
    if (!device || !energy) return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (device->energy_error) return leave(device->energy_error);
    if (flaky_now(device)) return leave(NVML_ERROR_UNKNOWN);
    double t = now_rel();
    if (device->step_s > 0) t = floor(t / device->step_s) * device->step_s;
    double j = t >= device->reset_at ? energy_to(device, t) - energy_to(device, device->reset_at)
                                     : device->start_j + energy_to(device, t);
    *energy = (unsigned long long)(j * 1000.0);
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    nvmlReturn_t rc = enter(device);
    if (rc) return leave(rc);
    if (!device || !power) return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (device->power_error) return leave(device->power_error);
    if (flaky_now(device)) return leave(NVML_ERROR_UNKNOWN);
    *power = (unsigned int)lround(power_at(device, now_rel()) * 1000.0);
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit)
{
    nvmlReturn_t rc = enter(device);
    if (rc) return leave(rc);
    if (!device || !limit) return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (!(device->limit_w > 0)) return leave(NVML_ERROR_NOT_SUPPORTED);
    *limit = (unsigned int)lround(device->limit_w * 1000.0);
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
    nvmlReturn_t rc = enter(device);
    if (rc) return leave(rc);
    if (!device || !utilization) return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (device->mig) return leave(NVML_ERROR_NOT_SUPPORTED);
    utilization->gpu = (unsigned int)device->util;
    utilization->memory = (unsigned int)(device->util / 2);
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    nvmlReturn_t rc = enter(device);
    if (rc) return leave(rc);
    if (!device || !memory) return leave(NVML_ERROR_INVALID_ARGUMENT);
    memory->total = (unsigned long long)(device->mem_total_mib * 1048576.0);
    memory->used = (unsigned long long)(device->mem_used_mib * 1048576.0);
    memory->free = memory->total - memory->used;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)
{
    nvmlReturn_t rc = enter(device);
    if (rc) return leave(rc);
    if (!device || !currentMode || !pendingMode) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *currentMode = *pendingMode = device->mig ? NVML_DEVICE_MIG_ENABLE : 0;
    return leave(NVML_SUCCESS);
}

#define RING 20 /* samples the fake driver keeps */

nvmlReturn_t nvmlDeviceGetSamples(nvmlDevice_t device, nvmlSamplingType_t type, unsigned long long lastSeenTimeStamp,
                                  nvmlValueType_t *sampleValType, unsigned int *sampleCount, nvmlSample_t *samples)
{
    nvmlReturn_t rc = enter(device);
    if (rc) return leave(rc);
    if (!device || !sampleValType || !sampleCount) return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (type != NVML_TOTAL_POWER_SAMPLES || !(device->sample_ms > 0)) return leave(NVML_ERROR_NOT_SUPPORTED);
    *sampleValType = NVML_VALUE_TYPE_UNSIGNED_INT;
    if (!samples) {
        *sampleCount = RING;
        return leave(NVML_SUCCESS);
    }
    double now = S.epoch + now_rel();
    unsigned int n = 0;
    for (int k = RING - 1; k >= 0 && n < *sampleCount; k--) {
        double t = now - k * device->sample_ms / 1000.0;
        unsigned long long us = (unsigned long long)(t * 1e6);
        if (us <= lastSeenTimeStamp) continue;
        samples[n].timeStamp = us;
        samples[n].sampleValue.uiVal = (unsigned int)lround(power_at(device, t - S.epoch) * 1000.0);
        n++;
    }
    *sampleCount = n;
    return leave(n ? NVML_SUCCESS : NVML_ERROR_NOT_FOUND);
}
