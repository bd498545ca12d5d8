/*
 * jouleprint: measure the energy of code and commands, and turn it into carbon.
 *
 * The core public C API of libjouleprint (pkg-config jouleprint), which links nothing but libc, libm,
 * pthreads and libdl: errors, units, the host, energy sources, the meter, carbon intensities and their
 * time series. The built-in workloads are in jouleprint/workloads.h (libjouleprint-workloads), the
 * benchmark harness, store and reports in jouleprint/bench.h (libjouleprint-bench).
 *
 * Every symbol is prefixed jp_. Functions that can fail return an int that is
 * JP_OK (0) or a negative jp_status code; jp_strerror() names the code and jp_last_error() gives the
 * detail of the last failure in the calling thread ("/sys/class/powercap/intel-rapl:0/energy_uj:
 * readable by root only ...").
 *
 * Typical in-process use (tests/test_examples.c compiles and runs it as written):
 *
 *     jp_meter *m;
 *     jp_meter_config cfg;
 *     jp_meter_config_init(&cfg);
 *     if (jp_meter_open(&m, &cfg) != JP_OK) {
 *         fprintf(stderr, "%s\n", jp_last_error());
 *         return 1;
 *     }
 *     jp_meter_start(m);
 *     read_input();                 // before the first phase: counted in it
 *     jp_meter_phase(m, "load");
 *     load_model();
 *     jp_meter_phase(m, "infer");
 *     run_model();
 *     jp_meter_stop(m);
 *     double j = jp_meter_phase_joules_by_name(m, "infer", JP_TOTAL);
 *     printf("inference: %.3f J\n", j);
 *     jp_meter_close(m);
 */
#ifndef JOULEPRINT_H
#define JOULEPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default) /* every declaration below is exported from the library */
#endif

#define JP_VERSION "0.1.0"
#define JP_VERSION_MAJOR 0
#define JP_VERSION_MINOR 1
#define JP_VERSION_PATCH 0

/* The libraries' binary interface, for programs that load them at run time (the Python binding): it
 * grows by one with every addition to a public header (this one, jouleprint/exporter.h,
 * jouleprint/workloads.h, jouleprint/bench.h: the three libraries are built and installed together, and
 * their pkg-config files carry it as abi_version); a change that breaks existing callers changes the
 * shared libraries' SONAME instead. A caller built for ABI N works with any library whose
 * jp_abi_version() is N or more (and the same SONAME). tests/abi.txt lists every exported function
 * with the ABI that brought it (tests/check_abi.sh fails when a header gains one without this number
 * growing). */
/* 1: 0.1.0 with emissions.csv; 2: + phases by name, jp_meter_samples_taken, jp_meter_baseline_seconds;
 * 3: + jp_fail, jp_clear_error, jp_host_read (the workload functions moved to libjouleprint-workloads,
 * which no shared libjouleprint before this one had); 4: + jp_series_builtin, jp_series_find,
 * jp_series_region_serves, jp_series_source; 5: + jp_spawn_config_init, jp_spawn_run; 6: +
 * jp_meter_busy_cpu_seconds, jp_meter_capacity_cpu_seconds, jp_series_warning_is_gap, jp_series_gaps;
 * 7: the number covers the workloads' and the harness's headers too: + jp_store_import (bench.h, there
 * before 6 but counted by none), jp_metric_lower_is_better, jp_metric_is_fraction,
 * jp_metric_default_tolerance (bench.h), jp_gen_png_read, jp_png_encode_grey, jp_workloads_is_zoo
 * (workloads.h); 8: + jp_classify_run_timed, jp_workloads_session_begin, jp_workloads_session_end
 * (workloads.h); 9: jp_ocr_config gains `timed` and jp_ocr_result `lines_timed` (at their ends); 10: +
 * jp_meter_start_deferred, jp_meter_start_sampling; 11: jp_s2s_gen gains `words` and `span_bonus` (at its
 * end; jp_sum_config, which holds one, grows with it) (workloads.h) */
#define JP_ABI_VERSION 11
/* JP_ABI_VERSION and JP_VERSION of the library actually loaded (not of the header compiled against). */
int jp_abi_version(void);
const char *jp_version(void);

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
/* For code built on the library (the workloads and bench libraries, a program's own sources or
 * workloads): records the detail of a failure for jp_last_error() in this thread, printf-style, and
 * returns code, so that every layer reports through one channel. */
int jp_fail(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Clears the detail (jp_last_error() then gives ""). */
void jp_clear_error(void);

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

/* ---- the host ---------------------------------------------------------------------------------- */

/* The machine as <proc>/cpuinfo and <proc>/meminfo describe it (JP_PROC_ROOT honoured). */
typedef struct jp_host_info {
    char brand[160];  /* "Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz" ("" if unknown) */
    int logical_cpus; /* online logical CPUs (vCPUs on a VM) */
    int sockets;      /* distinct "physical id" values; 1 if not shown */
    int cores;        /* physical cores in all sockets; 0 if not shown */
    bool hypervisor;  /* running under a hypervisor (cpuinfo flag "hypervisor") */
    double mem_gb;    /* MemTotal, GB (1e9 bytes) */
} jp_host_info;
/* Fails naming the file and field when they cannot be read or make no sense. */
int jp_host_read(jp_host_info *out);

/* ---- running a command ------------------------------------------------------------------------- */

/* How jp_spawn_run connects a standard stream of the command: a descriptor of the caller's (>= 0, put
 * in its place), or one of these. */
#define JP_SPAWN_INHERIT (-1) /* the caller's own stream (the default) */
#define JP_SPAWN_NULL (-2)    /* /dev/null */
#define JP_SPAWN_LINES (-3)   /* stdout only: read by jp_spawn_run, each line given to on_line */

typedef struct jp_spawn_config {
    const char *dir;              /* the command's working folder; NULL: the caller's */
    int in, out, err;             /* see JP_SPAWN_INHERIT */
    bool new_group;               /* its own process group: stopping it stops all it started, and what
                                     it leaves running when it exits is killed then */
    const char *const *unset_env; /* names taken out of its environment (NULL-terminated; NULL: none) */
    double timeout_s;             /* > 0: stopped after this long (JP_SPAWN_TIMEOUT) */
    volatile sig_atomic_t *interrupted; /* stopped as soon as *interrupted is non-zero */
    /* Each is optional and called from the calling thread, with arg. */
    void (*on_start)(void *arg, pid_t pid); /* started (pid is also its group with new_group); then 0 once
                                               it and its group are gone */
    void (*on_line)(void *arg, const char *line, size_t len); /* a line of its stdout (JP_SPAWN_LINES),
                                               without the newline; one over 4095 bytes comes in pieces */
    void (*on_tick)(void *arg);   /* about every 100 ms while it runs */
    void *arg;
} jp_spawn_config;

/* Streams inherited, no folder, group, timeout or callbacks. */
void jp_spawn_config_init(jp_spawn_config *c);

typedef enum jp_spawn_end {
    JP_SPAWN_EXITED,      /* it exited by itself: exit_status is its code */
    JP_SPAWN_SIGNALED,    /* a signal ended it: exit_status is 128 + signal */
    JP_SPAWN_TIMEOUT,     /* stopped at timeout_s (SIGTERM to it or its group, SIGKILL 2 s later) */
    JP_SPAWN_INTERRUPTED  /* stopped because *interrupted was set (the same way) */
} jp_spawn_end;

typedef struct jp_spawn_result {
    jp_spawn_end end;
    int exit_status; /* as a shell gives it: the code, or 128 + the signal that ended it */
    int signal;      /* the signal that ended it, or 0 */
    double cpu_s;    /* user + system CPU time of the command and of the children it waited for */
    double wall_s;   /* from its start until it was reaped */
} jp_spawn_result;

/* Starts argv (argv[0] looked up in PATH as execvp does; SIGINT, SIGQUIT and SIGPIPE at their defaults in
 * it) and waits until it ends, reading its output, stopping it at the timeout or when interrupted, and
 * collecting its rusage. Returns JP_OK once it ran, however it ended (res says how), JP_ERR_SPAWN when
 * it could not be started (jp_last_error: "cannot run 'cmd': No such file or directory"), JP_ERR_INVAL
 * for a bad argument. Does not change the caller's signal handling: a caller that should outlive a
 * Ctrl-C meant for the command ignores SIGINT itself while this runs. */
int jp_spawn_run(char *const argv[], const jp_spawn_config *cfg, jp_spawn_result *res);

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
/* Starts (or restarts, clearing the previous measurement) sampling. Until jp_meter_phase is called,
 * everything is measured into one phase named "run". */
int jp_meter_start(jp_meter *m);
/* For a caller that waits for something that may be short (a command it runs): jp_meter_start_deferred
 * starts a measurement as jp_meter_start does, reading the sources at once, but makes no sampling thread
 * until jp_meter_start_sampling, which the caller calls once the measurement has outlived its first
 * interval (jp_meter_interval); a sample already due is then taken at once. A measurement stopped
 * before that has its start and final reads only, as one shorter than an interval has anyway, and cost
 * no thread. jp_meter_start_sampling on a meter that samples already does nothing; on one that is not
 * running it fails with JP_ERR_STATE. */
int jp_meter_start_deferred(jp_meter *m);
int jp_meter_start_sampling(jp_meter *m);
/* Names phases (up to 31 bytes). The first call after start names the first phase, however long
 * after the start it comes: what was measured before it belongs to that phase. Every later call
 * ends the current phase and begins a new one. Called before start, it names the first phase. */
int jp_meter_phase(jp_meter *m, const char *name);
/* Stops sampling and takes the final reading. */
int jp_meter_stop(jp_meter *m);
/* For a tree that has already exited (a child reaped with wait4): its CPU time in seconds. Overrides
 * the meter's own /proc reading for attribution. */
int jp_meter_set_tree_cpu(jp_meter *m, double cpu_seconds);
void jp_meter_close(jp_meter *m);

/* The interval actually used: shorter than asked where a counter could otherwise wrap unseen; longer
 * where every source's inputs change more slowly than asked (the model reads CPU times that move once
 * per kernel tick, 10 ms on most kernels), since sampling faster would read the same values again. */
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
/* Phases by name: the index of the first phase so named (-1 if none), and the energy and time of
 * all phases so named together (NAN if none: a name never marked is not a phase of zero joules). */
int jp_meter_phase_index(const jp_meter *m, const char *name);
double jp_meter_phase_joules_by_name(const jp_meter *m, const char *name, int domain);
double jp_meter_phase_duration_by_name(const jp_meter *m, const char *name);

/* Baseline (when jp_meter_baseline ran): idle power and energy above it, never below zero. */
bool jp_meter_has_baseline(const jp_meter *m);
double jp_meter_baseline_watts(const jp_meter *m, int domain);
double jp_meter_baseline_seconds(const jp_meter *m); /* how long the baseline was measured */
double jp_meter_joules_above_baseline(const jp_meter *m, int domain);

/* Attribution: the measured process tree's share of the machine's busy CPU time over the
 * measurement (0..1), and the total energy times that share. Negative share: unknown. */
double jp_meter_tree_share(const jp_meter *m);
double jp_meter_tree_cpu_seconds(const jp_meter *m);
double jp_meter_attributed_joules(const jp_meter *m);
/* The machine's busy CPU time over the measurement, and its CPU capacity (busy + idle time of all
 * CPUs: about CPUs x duration), seconds, from <proc>/stat; -1 if unknown. */
double jp_meter_busy_cpu_seconds(const jp_meter *m);
double jp_meter_capacity_cpu_seconds(const jp_meter *m);

/* Samples that were skipped as glitches (unparseable value, counter going backwards, a jump that
 * implies an impossible power), and how many the counters wrapped. */
uint64_t jp_meter_glitches(const jp_meter *m);
uint64_t jp_meter_wraps(const jp_meter *m);

/* The timeline: one entry per sample; t is seconds since start, watts the mean power over the
 * interval that ended at t (total, or per domain). */
size_t jp_meter_sample_count(const jp_meter *m);
/* Samples taken since the meter was opened (baselines and every start included, never reset);
 * unlike the results above it may be called from another thread while the meter runs, to wait
 * for the next sample. */
uint64_t jp_meter_samples_taken(const jp_meter *m);
double jp_meter_sample_time(const jp_meter *m, size_t s);
double jp_meter_sample_watts(const jp_meter *m, size_t s, int domain);
const char *jp_meter_sample_phase(const jp_meter *m, size_t s);
/* Side metrics some sources record with every sample, such as GPU utilization and memory in use
 * ("gpu-0.util_pct", "gpu-0.mem_used_mib"): their number, names, and value at sample s (NAN where the
 * source could not read it that time). */
size_t jp_meter_aux_count(const jp_meter *m);
const char *jp_meter_aux_name(const jp_meter *m, size_t k);
double jp_meter_sample_aux(const jp_meter *m, size_t s, size_t k);

/* The model parameters used, if the model source is among the sources (else NULL). */
const jp_model_params *jp_meter_model_params(const jp_meter *m);

/* ---- carbon ------------------------------------------------------------------------------------ */
/*
 * Grid carbon intensity compiled into the library from the CSV files of src/data/carbon/ at build
 * time: the Google Cloud regions for every published year (2019-2025; the latest is the default),
 * country yearly averages (ISO 3166-1 alpha-2 and alpha-3 codes, names), US states (ISO 3166-2,
 * "US-OR"), and the AWS and Azure regions whose factor Cloud Carbon Footprint publishes (about 2021),
 * each figure with its year and source; the world average where nothing is known.
 *
 * A region is named by provider:code ("gcp:us-west1", "aws:us-east-1", "azure:westeurope"), by code
 * ("us-west1", "eu-west-1", "FR", "FRA", "US-OR"), by display name ("azure:West Europe") or by place
 * ("Oregon", "Salt Lake City", "Paris", "France", "aws:Ireland"); case and accents do not matter.
 * Without a provider, Google regions, countries and states come first: a place name that is both a
 * Google region and a state or country ("Oregon") means the Google region, "Ireland" the country
 * (aws:Ireland the AWS region there).
 */

#define JP_WORLD_G_PER_KWH 480.6 /* see src/carbon.c for its derivation */

typedef struct jp_intensity {
    char region[64];     /* canonical id: "gcp:us-west1", "aws:us-east-1", "FR", "US-OR", "world", or the user's label */
    double g_per_kwh;    /* grid carbon intensity, gCO2e/kWh */
    char source[160];    /* where the figure comes from, with its year */
    char name[64];       /* the place: "Oregon", "France", "N. Virginia" (aws:us-east-1), "world average" */
    char provider[16];   /* "gcp", "aws", "azure", "country", "us-state", "world", "user" */
    char country[4];     /* ISO 3166-1 alpha-2 of the place, "" if not known */
    int year;            /* year of the figure; 0 where it has none (world, a plain --intensity) */
    double cfe;          /* the provider's carbon-free energy share 0..1; negative: not published */
    bool seed;           /* one of the seed study's 23 Google regions */
} jp_intensity;

/* Looks up a region, latest year; NULL or "" means JP_REGION from the environment, else the world
 * average. Unknown: JP_ERR_NOTFOUND, and jp_last_error() lists the closest known names. */
int jp_intensity_lookup(const char *region, jp_intensity *out);
/* The same for one year (0 = the latest). A region with no figure for that year: JP_ERR_NOTFOUND
 * naming the years it has. */
int jp_intensity_lookup_year(const char *region, int year, jp_intensity *out);

/* How to choose a figure beyond the built-in data. */
typedef struct jp_intensity_query {
    int year;          /* 0: the latest */
    const char *file;  /* a user CSV (region,g_per_kwh[,year][,source]) consulted before the built-in
                        * data; NULL: none */
    double g_per_kwh;  /* >= 0: this figure, whatever the region (--intensity); negative: none */
} jp_intensity_query;
void jp_intensity_query_init(jp_intensity_query *q);
/* The figure for region under q: a plain figure if given, else the region's row in the file (a file
 * with a single row also serves when no region is named), else the built-in data. A malformed file
 * fails with JP_ERR_PARSE naming FILE:LINE and the field. */
int jp_intensity_resolve(const char *region, const jp_intensity_query *q, jp_intensity *out);

/* The built-in regions, in order: Google regions, countries, US states, AWS regions, Azure regions. */
size_t jp_region_count(void);
/* Region i with its figure for year (0 = its latest); JP_ERR_NOTFOUND if it has none that year. */
int jp_region_get(size_t i, int year, jp_intensity *out);
/* The years region i has figures for, ascending; returns how many (may exceed max). */
size_t jp_region_years(size_t i, int *years, size_t max);
/* Whether region i's id, code, name, other names or country contain text (case and accents aside). */
bool jp_region_matches(size_t i, const char *text);
/* Up to max known regions closest to text, best first, as "gcp:us-west1 (Oregon)"; returns how many. */
size_t jp_region_suggest(const char *text, char (*out)[96], size_t max);

/* A PUE: a number from 1 to 3 ("1.2"), or a provider whose published fleet PUE is built in ("gcp",
 * "aws", "azure"; also "google", "amazon", "microsoft"). source gets where it comes from. */
int jp_pue_parse(const char *text, double *pue, char *source, size_t len);

/* grams of CO2e for an energy in joules at an intensity and PUE (1.0 = as published). */
double jp_carbon_grams(double joules, double g_per_kwh, double pue);
/* "64,422,400 g" below 1e15 g with digits grouped; "0.0123 g" with 3 significant digits below 1000 g. */
void jp_format_grams(double grams, char *buf, size_t len);

/* ---- CodeCarbon-compatible emissions.csv ------------------------------------------------------- */
/*
 * One row per measured run, appended to a CSV that CodeCarbon's readers can read: CodeCarbon's 31
 * columns in its order and units (CodeCarbon 2.2 - 2.4's emissions.csv, the fields of its
 * EmissionsData in codecarbon/output_methods/emissions_data.py and docs/edit/output.rst, github.com/
 * mlco2/codecarbon): timestamp (local time, %Y-%m-%dT%H:%M:%S), project_name, run_id, duration (s),
 * emissions (kg CO2e), emissions_rate (kg/s), cpu_power, gpu_power, ram_power (mean W), cpu_energy,
 * gpu_energy, ram_energy, energy_consumed (kWh), country_name, country_iso_code (alpha-3), region,
 * cloud_provider, cloud_region, os, python_version, codecarbon_version (empty: not CodeCarbon),
 * cpu_count, cpu_model, gpu_count, gpu_model, longitude, latitude (empty), ram_total_size (GiB),
 * tracking_mode ("machine": the whole machine's energy), on_cloud (Y when the region is a cloud
 * region), pue; then jouleprint's own columns, which CodeCarbon lacks: jp_estimated (true/false),
 * jp_sources (domain:source;...), jp_energy_j, jp_intensity_g_per_kwh, jp_intensity_source, jp_region,
 * jp_phases (name:joules;... in order), jp_version.
 *
 * cpu is the package domains (psys where it alone is counted, or the model's cpu-model), ram the dram
 * domains (or ram-model), gpu the GPUs: only domains counted in the total, so that cpu + gpu + ram =
 * energy_consumed. emissions = jp_carbon_grams(total joules, intensity, pue) / 1000.
 *
 * The header is written once, when the file is new or empty. A row is appended by writing the whole
 * new file beside it and renaming it into place under a lock (flock), so that a reader or a crash
 * never sees half a row, and two writers at once both land. A file whose header is not this one, or
 * whose last line is unfinished, is left untouched and the call fails naming it.
 */
typedef struct jp_emissions_meta {
    const char *project_name;      /* NULL or "": "jouleprint" */
    const char *run_id;            /* NULL or "": a new random UUID (version 4) */
    const char *python_version;    /* NULL: "" (the CLI) */
    const jp_intensity *intensity; /* NULL: the world average */
    double pue;                    /* 1.0 to 3.0 (jp_emissions_meta_init: 1.0) */
} jp_emissions_meta;
void jp_emissions_meta_init(jp_emissions_meta *meta);

/* The header line (without the newline). */
const char *jp_emissions_csv_header(void);
/* Appends the row of m's last measurement (after jp_meter_stop) to path. run_id_out (may be NULL)
 * receives the run id written (37 bytes are enough). */
int jp_emissions_csv_append(const char *path, const jp_meter *m, const jp_emissions_meta *meta, char *run_id_out,
                            size_t run_id_len);

/* ---- intensity time series and planning -------------------------------------------------------- */
/*
 * A CSV of intensity over time: header timestamp,region,g_per_kwh; '#' lines are comments; timestamps
 * in UTC as "2024-05-01T13:00Z", "2024-05-01T13:00:00Z", "2024-05-01 13:00" or Unix seconds, from
 * 1970 to 2200. Each row holds from its time until the region's next row, at most one step (the
 * smallest spacing of any two rows of a region: one cadence for the file); a longer spacing, or a row
 * whose value is empty, is a gap, reported as a warning, and no plan crosses it (nothing is
 * interpolated). Planning takes O(n log n) in rows.
 */
typedef struct jp_series jp_series;

/* Loads a series. A malformed row fails with JP_ERR_PARSE naming FILE:LINE and the field; a timestamp
 * outside 1970-2200 too (saying when milliseconds were probably meant). Anything but a regular file (a
 * FIFO, /dev/zero) is refused without reading it, and so is a file over 1 GiB. A file without a region
 * column (timestamp,g_per_kwh) is one region named after the file. An empty value is a gap in the
 * source: the row is left out and the gap reported, never filled in. */
int jp_series_load(const char *path, jp_series **out);
/* The hourly series built into the library: five US balancing areas in 2022 (US EIA hourly generation
 * by fuel, as gCO2/kWh by HewlettPackard/dc-rl; src/data/carbon/eia/), regions named by area (PJM,
 * BPAT, CISO, ERCO, MISO), with their gaps. A plan's region may be an area, or a cloud region one of
 * them serves (aws:us-east-1 is in PJM; see jp_series_region_serves). */
int jp_series_builtin(jp_series **out);
/* The built-in regions series region i serves, ';'-separated ids ("aws:us-east-1;azure:eastus"); ""
 * for a file's regions and areas that serve none. */
const char *jp_series_region_serves(const jp_series *s, size_t i);
/* Where the series comes from: its path, or "built in (SOURCE)". */
const char *jp_series_source(const jp_series *s);
/* The series region that region names (its name, another name of a built-in area, the same built-in
 * region under another name, or a cloud region a built-in area serves); JP_ERR_NOTFOUND listing the
 * series' regions. */
int jp_series_find(const jp_series *s, const char *region, size_t *index);
void jp_series_free(jp_series *s);
size_t jp_series_row_count(const jp_series *s);
size_t jp_series_region_count(const jp_series *s);
const char *jp_series_region(const jp_series *s, size_t i);
double jp_series_first(const jp_series *s); /* earliest timestamp, Unix seconds */
double jp_series_last(const jp_series *s);  /* latest timestamp + its step */
/* Warnings (gaps, duplicate rows skipped), one line each. */
size_t jp_series_warning_count(const jp_series *s);
const char *jp_series_warning(const jp_series *s, size_t i);
/* Whether warning i is the one about a region's gaps inside the series (what jp_series_gaps tells
 * for any span of time). */
bool jp_series_warning_is_gap(const jp_series *s, size_t i);
/* The gaps of region i that overlap the span a..b (Unix seconds): how many, the first one's start and
 * end, and the rows they miss in all (each out-parameter may be NULL). */
size_t jp_series_gaps(const jp_series *s, size_t i, double a, double b, double *first_start, double *first_end,
                      size_t *rows_missing);

typedef struct jp_plan_choice {
    char region[64];  /* as written in the series */
    double start;     /* Unix seconds, UTC */
    double g_per_kwh; /* mean intensity over the run */
    double grams;     /* CO2e of the run */
} jp_plan_choice;

typedef struct jp_plan_request {
    double joules;       /* energy of the job, spread evenly over its duration */
    double duration_s;
    double window_start; /* the job starts at or after this (Unix s); NAN: the series' start */
    double window_end;   /* and ends by this; NAN: the series' end */
    const char *region;  /* the current region (a name in the series, or one that resolves to the same
                          * built-in region); NULL: the series' first region */
    double now;          /* when "now" is (Unix s); NAN: the window start */
} jp_plan_request;

/* The start and region with the least CO2e (best), and the job run at `now` in the current region
 * (current; grams NAN if the series does not cover it). per_region (may be NULL) gets the best start
 * of each series region, max entries, in series order; *n_regions their number. JP_ERR_NOTFOUND if no
 * start fits the window. */
int jp_series_plan(const jp_series *s, const jp_plan_request *req, jp_plan_choice *best, jp_plan_choice *current,
                   jp_plan_choice *per_region, size_t max, size_t *n_regions);

/* "2024-05-01T13:00Z" (and the forms above) to Unix seconds; JP_ERR_RANGE outside 1970-2200. */
int jp_parse_time(const char *text, double *unix_s);
/* "2024-05-01 13:00 UTC". */
void jp_format_time(double unix_s, char *buf, size_t len);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
