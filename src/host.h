/*
 * The machine as <proc>/cpuinfo and <proc>/meminfo describe it (JP_PROC_ROOT honoured): one parser for
 * the power model (source/model_power.c), rapl-msr (the CPU vendor and model) and jp_host_read.
 */
#ifndef JP_HOST_H
#define JP_HOST_H

#include "util.h"

struct jp_cpu_info {
    char brand[160];   /* "Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz" ("" if unknown) */
    char vendor[64];   /* "GenuineIntel", "AuthenticAMD" ("" if not shown, as on ARM) */
    long family;       /* "cpu family" of the first processor; -1 if not shown */
    long model;        /* "model" of the first processor; -1 if not shown */
    int logical_cpus;  /* online logical CPUs (vCPUs on a VM) */
    int sockets;       /* distinct "physical id" values; 1 if not shown */
    int cores;         /* physical cores in all sockets; 0 if not shown */
    bool hypervisor;   /* running under a hypervisor (cpuinfo flag "hypervisor") */
    double mem_gb;     /* MemTotal from meminfo, GB (1e9 bytes); 0 if only cpuinfo was read */
};

/* Reads <proc>/cpuinfo (mem_gb stays 0). Fails naming the file, line and field when it cannot be read
 * or makes no sense (no "processor" entry; a "physical id", "core id" or "cpu cores" that is not a
 * number). */
int jp_host_cpuinfo(const jp_roots *roots, struct jp_cpu_info *info);
/* MemTotal of <proc>/meminfo in GB; fails naming the file when it is missing or not "N kB". */
int jp_host_meminfo(const jp_roots *roots, double *mem_gb);
/* Both. */
int jp_cpu_info_read(const jp_roots *roots, struct jp_cpu_info *info);

#endif
