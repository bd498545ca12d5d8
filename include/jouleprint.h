/*
 * jouleprint: measure the energy of code and commands, and turn it into carbon.
 *
 * The public C API. Every symbol is prefixed jp_. Functions that can fail return an int that is
 * JP_OK (0) or a negative jp_status code; jp_strerror() names the code and jp_last_error() gives the
 * detail of the last failure in the calling thread ("/sys/class/powercap/intel-rapl:0/energy_uj:
 * readable by root only ...").
 *
 * Typical in-process use:
 *
 *     jp_meter *m;
 *     jp_meter_config cfg;
 *     jp_meter_config_init(&cfg);
 *     if (jp_meter_open(&m, &cfg) != JP_OK) { fprintf(stderr, "%s\n", jp_last_error()); ... }
 *     jp_meter_start(m);
 *     jp_meter_phase(m, "load");   ... load a model ...
 *     jp_meter_phase(m, "infer");  ... run it ...
 *     jp_meter_stop(m);
 *     double j = jp_meter_phase_joules(m, 1, JP_TOTAL);
 *     jp_meter_close(m);
 */
#ifndef JOULEPRINT_H
#define JOULEPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JP_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------------------------------ */

typedef enum jp_status {
    JP_OK = 0,
    JP_ERR_INVAL = -1,    /* a bad argument or option value */
    JP_ERR_NOMEM = -2,    /* out of memory */
    JP_ERR_IO = -3,       /* a file or device could not be read */
    JP_ERR_PERM = -4,     /* permission denied */
    JP_ERR_PARSE = -5,    /* a value could not be parsed */
    JP_ERR_NOSOURCE = -6, /* no energy source can be used here */
    JP_ERR_STATE = -7,    /* call out of order (stop before start, ...) */
    JP_ERR_NOTFOUND = -8, /* a named thing does not exist */
    JP_ERR_RANGE = -9,    /* a value outside what is allowed */
    JP_ERR_SPAWN = -10,   /* a command could not be started */
    JP_ERR_THREAD = -11   /* the sampling thread could not be started */
} jp_status;

/* The name of a status code ("permission denied"). Never NULL. */
const char *jp_strerror(int code);
/* The detail of the last error in this thread, or "" if none. Valid until the next failing call. */
const char *jp_last_error(void);

/* ---- units ------------------------------------------------------------------------------------- */

/* "100ms", "5s", "2.5min", "1h", "250us". A unit is required: a bare number is an error. */
int jp_parse_duration(const char *text, double *seconds);
/* "12J", "3.5kJ", "143.8MWh", "2 kWh". A unit is required; negative energies are an error. */
int jp_parse_energy(const char *text, double *joules);
/* Human forms with a unit chosen for the size: "812 mJ", "42.1 J", "3.60 kJ", "1.25 Wh", "4.2 kWh". */
void jp_format_energy(double joules, char *buf, size_t len);
/* "850 mW", "12.3 W", "1.20 kW". */
void jp_format_power(double watts, char *buf, size_t len);
/* Mass of CO2e given in grams, printed as "812 ug", "3.20 mg", "12.5 g", "4.20 kg", "64422 t"
 * with the unit chosen for the size. */
void jp_format_mass(double grams, char *buf, size_t len);
/* "35 ms", "2.40 s", "3 min 05 s". */
void jp_format_duration(double seconds, char *buf, size_t len);

/* ---- domains ----------------------------------------------------------------------------------- */

typedef enum jp_domain_kind {
    JP_DOMAIN_PACKAGE, /* package-N: the whole CPU socket */
    JP_DOMAIN_CORE,    /* core-N: inside package, shown, not added */
    JP_DOMAIN_UNCORE,  /* uncore-N: inside package, shown, not added */
    JP_DOMAIN_DRAM,    /* dram-N */
    JP_DOMAIN_PSYS,    /* psys: the whole SoC platform; counted only where no package is there */
    JP_DOMAIN_GPU,     /* gpu-N */
    JP_DOMAIN_CPU_MODEL, /* cpu-model: estimated from utilization */
    JP_DOMAIN_RAM_MODEL  /* ram-model: estimated from installed memory */
} jp_domain_kind;

/* "package", "core", "uncore", "dram", "psys", "gpu", "cpu-model", "ram-model". */
const char *jp_domain_kind_name(jp_domain_kind kind);

/* ---- the power model --------------------------------------------------------------------------- */

/* Parameters of the estimate used where no counter can be read. Any field left at a negative value
 * is filled from data (the CPU table, or the cloud per-vCPU figures) when the meter opens; the
 * figures actually used are reported with every result. */
typedef struct jp_model_params {
    double cpu_idle_w;   /* whole-machine CPU power at 0% utilization, W */
    double cpu_max_w;    /* whole-machine CPU power at 100% utilization, W */
    double curve;        /* shape of the utilization curve (see src/source/model_power.h) */
    double ram_w_per_gb; /* memory power per GB installed, W */
    double ram_gb;       /* memory installed, GB */
    char basis[160];     /* where the figures came from, in words (filled by the meter) */
} jp_model_params;

/* All fields "unset" (negative), basis empty. */
void jp_model_params_init(jp_model_params *p);

/* ---- sources ----------------------------------------------------------------------------------- */

/* One line per known source, in order of preference. */
typedef struct jp_source_status {
    char name[32];        /* "rapl-powercap", ... */
    bool usable;          /* can be used on this machine now */
    bool estimated;       /* gives estimates, not measurements (the model) */
    char detail[512];     /* if usable: what it measures; otherwise why not, in words a user can act on */
} jp_source_status;

/* Probes every source (honouring JP_SYSFS_ROOT, JP_DEV_ROOT, JP_PROC_ROOT, JP_NVML_LIBRARY).
 * Fills up to max entries; returns the number of sources or a negative jp_status. */
int jp_sources_probe(jp_source_status *out, size_t max);

/* ---- the meter --------------------------------------------------------------------------------- */

typedef struct jp_meter jp_meter;

typedef struct jp_meter_config {
    double interval_s;       /* sampling interval; default 0.1 s; allowed 0.001 .. 3600 */
    const char *source;      /* NULL: automatic (first usable counter, else the model); or a name */
    pid_t pid;               /* process tree to attribute energy to; 0 = this process */
    bool keep_timeline;      /* record every sample (default true) */
    jp_model_params model;   /* overrides for the model source */
} jp_meter_config;

void jp_meter_config_init(jp_meter_config *cfg);

/* Opens the sources. Fails with JP_ERR_NOSOURCE and a reason if nothing can be used. */
int jp_meter_open(jp_meter **out, const jp_meter_config *cfg);
/* Measures idle power for `seconds` before the real measurement; results then also report energy
 * above this baseline. Call before jp_meter_start. */
int jp_meter_baseline(jp_meter *m, double seconds);
/* Starts (or restarts, clearing the previous measurement) sampling. Phase 0 is named "run". */
int jp_meter_start(jp_meter *m);
/* Ends the current phase and begins a new one named `name` (up to 31 bytes). The first call after
 * start renames the initial phase if nothing has been measured in it yet. */
int jp_meter_phase(jp_meter *m, const char *name);
/* Stops sampling and takes the final reading. */
int jp_meter_stop(jp_meter *m);
/* For a tree that has already exited (a child reaped with wait4): its CPU time in seconds. Overrides
 * the meter's own /proc reading for attribution. */
int jp_meter_set_tree_cpu(jp_meter *m, double cpu_seconds);
void jp_meter_close(jp_meter *m);

/* The interval actually used (may be shorter than asked, so that no counter wraps unseen). */
double jp_meter_interval(const jp_meter *m);

/* Results, valid after jp_meter_stop. Domains are indexed 0..n-1; JP_TOTAL asks for the total. */
#define JP_TOTAL (-1)
size_t jp_meter_domain_count(const jp_meter *m);
const char *jp_meter_domain_name(const jp_meter *m, size_t i);
const char *jp_meter_domain_source(const jp_meter *m, size_t i);
jp_domain_kind jp_meter_domain_kind(const jp_meter *m, size_t i);
bool jp_meter_domain_estimated(const jp_meter *m, size_t i);
/* Whether this domain is added into the total (core and uncore are not; psys only on its own). */
bool jp_meter_domain_in_total(const jp_meter *m, size_t i);
/* Whether the domain had vanished at the last sample (a zone removed mid-run); its energy after
 * that is not counted, and not invented. */
bool jp_meter_domain_gone(const jp_meter *m, size_t i);
double jp_meter_joules(const jp_meter *m, int domain);
double jp_meter_duration(const jp_meter *m);
double jp_meter_mean_watts(const jp_meter *m, int domain);
double jp_meter_peak_watts(const jp_meter *m); /* peak of the total over one sample interval */
bool jp_meter_estimated(const jp_meter *m);     /* any domain in the total is estimated */

size_t jp_meter_phase_count(const jp_meter *m);
const char *jp_meter_phase_name(const jp_meter *m, size_t phase);
double jp_meter_phase_joules(const jp_meter *m, size_t phase, int domain);
double jp_meter_phase_duration(const jp_meter *m, size_t phase);

/* Baseline (when jp_meter_baseline ran): idle power and energy above it, never below zero. */
bool jp_meter_has_baseline(const jp_meter *m);
double jp_meter_baseline_watts(const jp_meter *m, int domain);
double jp_meter_joules_above_baseline(const jp_meter *m, int domain);

/* Attribution: the measured process tree's share of the machine's busy CPU time over the
 * measurement (0..1), and the total energy times that share. Negative share: unknown. */
double jp_meter_tree_share(const jp_meter *m);
double jp_meter_tree_cpu_seconds(const jp_meter *m);
double jp_meter_attributed_joules(const jp_meter *m);

/* Samples that were skipped as glitches (unparseable value, counter going backwards, a jump that
 * implies an impossible power), and how many the counters wrapped. */
uint64_t jp_meter_glitches(const jp_meter *m);
uint64_t jp_meter_wraps(const jp_meter *m);

/* The timeline: one entry per sample; t is seconds since start, watts the mean power over the
 * interval that ended at t (total, or per domain). */
size_t jp_meter_sample_count(const jp_meter *m);
double jp_meter_sample_time(const jp_meter *m, size_t s);
double jp_meter_sample_watts(const jp_meter *m, size_t s, int domain);
const char *jp_meter_sample_phase(const jp_meter *m, size_t s);

/* The model parameters used, if the model source is among the sources (else NULL). */
const jp_model_params *jp_meter_model_params(const jp_meter *m);

/* ---- carbon (minimal; regions arrive with the carbon module) ---------------------------------- */

typedef struct jp_intensity {
    char region[64];     /* "world" */
    double g_per_kwh;    /* grid carbon intensity */
    char source[160];    /* where the figure comes from, with its year */
} jp_intensity;

/* Looks up a region; NULL or "" means JP_REGION from the environment, else the world average. */
int jp_intensity_lookup(const char *region, jp_intensity *out);
/* grams of CO2e for an energy in joules at an intensity and PUE (1.0 = as published). */
double jp_carbon_grams(double joules, double g_per_kwh, double pue);

#ifdef __cplusplus
}
#endif
#endif
