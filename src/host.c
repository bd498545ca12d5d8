/*
 * The machine: the one reader of <proc>/cpuinfo and <proc>/meminfo (JP_PROC_ROOT honoured) for the
 * power model, rapl-msr and the public jp_host_read.
 */
#define _POSIX_C_SOURCE 200809L
#include "host.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "key\t: value" -> key and value trimmed, in place. False if the line has no colon. */
static bool split_field(char *line, char **key, char **val)
{
    char *colon = strchr(line, ':');
    if (!colon) return false;
    *colon = '\0';
    char *k = line, *v = colon + 1;
    char *e = colon;
    while (e > k && isspace((unsigned char)e[-1])) *--e = '\0';
    while (isspace((unsigned char)*v)) v++;
    e = v + strlen(v);
    while (e > v && isspace((unsigned char)e[-1])) *--e = '\0';
    *key = k;
    *val = v;
    return true;
}

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    const char *p = list;
    while ((p = strstr(p, word)) != NULL) {
        bool start = p == list || isspace((unsigned char)p[-1]);
        bool end = p[n] == '\0' || isspace((unsigned char)p[n]);
        if (start && end) return true;
        p += n;
    }
    return false;
}

#define MAX_IDS 4096

/* A small set of distinct ids, grown as needed; at most MAX_IDS are kept (more are not counted). */
struct id_set {
    long *v;
    size_t n, cap;
};

/* false only when out of memory */
static bool id_set_add(struct id_set *s, long id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == id) return true;
    if (s->n >= MAX_IDS) return true;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        long *v = realloc(s->v, cap * sizeof *v);
        if (!v) return false;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = id;
    return true;
}

/* "cpu family" and "model": a number, or -1 (they only refine what is known: rapl-msr's DRAM unit) */
static long small_number(const char *val)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    return end == val || *end || errno || v < 0 || v > 1000000 ? -1 : v;
}

int jp_host_cpuinfo(const jp_roots *roots, struct jp_cpu_info *info)
{
    memset(info, 0, sizeof *info);
    info->family = info->model = -1;
    /* roots->proc replaces /proc ("" or no roots: the real one) */
    const char *proc = roots && roots->proc[0] ? roots->proc : "/proc";
    char path[PATH_MAX];
    int rc = jp_pathf(path, sizeof path, "%s/cpuinfo", proc);
    if (rc != JP_OK) return rc;

    int orc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) return orc == JP_ERR_PERM ? orc : JP_ERR_IO; /* the message names the file and why */

    /* Distinct physical ids, and distinct (physical id, core id) pairs: sets that grow as ids are
     * seen (a whole 4096-entry table zeroed for every read was 12 fresh pages at each start). */
    static const int none = -1;
    struct id_set sock_ids = {0}, core_keys = {0};
    int cpu_cores = 0;
    int cur_phys = none;
    char *line = NULL;
    size_t cap = 0;
    long line_no = 0;
    rc = JP_OK;
    while (getline(&line, &cap, f) >= 0) {
        line_no++;
        char *key, *val;
        if (!split_field(line, &key, &val)) {
            cur_phys = none; /* a blank line ends one processor's block */
            continue;
        }
        if (!strcmp(key, "processor")) {
            info->logical_cpus++;
            cur_phys = none;
        } else if (!strcmp(key, "model name") || (!strcmp(key, "Processor") && !info->brand[0])) {
            if (!info->brand[0]) jp_strlcpy(info->brand, val, sizeof info->brand);
        } else if (!strcmp(key, "physical id") || !strcmp(key, "core id")) {
            char *end;
            errno = 0;
            long v = strtol(val, &end, 10);
            if (end == val || *end || errno || v < 0 || v > 1000000) {
                rc = jp_fail(JP_ERR_PARSE, "%s:%ld: %s: expected a non-negative integer, found \"%.40s\"",
                             path, line_no, key, val);
                break;
            }
            if (key[0] == 'p') {
                cur_phys = (int)v;
                if (!id_set_add(&sock_ids, v)) {
                    rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
                    break;
                }
            } else if (!id_set_add(&core_keys, (long)(cur_phys < 0 ? 0 : cur_phys) * 1000001L + v)) {
                rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
        } else if (!strcmp(key, "cpu cores")) {
            char *end;
            long v = strtol(val, &end, 10);
            if (end == val || *end || v <= 0 || v > 100000) {
                rc = jp_fail(JP_ERR_PARSE, "%s:%ld: cpu cores: expected a positive integer, found \"%.40s\"",
                             path, line_no, val);
                break;
            }
            cpu_cores = (int)v;
        } else if (!strcmp(key, "vendor_id")) {
            if (!info->vendor[0]) jp_strlcpy(info->vendor, val, sizeof info->vendor);
        } else if (!strcmp(key, "cpu family")) {
            if (info->family < 0) info->family = small_number(val);
        } else if (!strcmp(key, "model")) {
            if (info->model < 0) info->model = small_number(val);
        } else if (!strcmp(key, "flags")) {
            if (has_word(val, "hypervisor")) info->hypervisor = true;
        }
    }
    free(line);
    fclose(f);
    if (rc == JP_OK && info->logical_cpus == 0)
        rc = jp_fail(JP_ERR_PARSE, "%s: no \"processor\" entries: expected one block per logical CPU", path);
    if (rc == JP_OK) {
        info->sockets = sock_ids.n > 0 ? (int)sock_ids.n : 1;
        if (core_keys.n > 0)
            info->cores = (int)core_keys.n;
        else if (cpu_cores > 0)
            info->cores = cpu_cores * info->sockets;
        if (info->cores > info->logical_cpus) info->cores = info->logical_cpus;
    }
    free(sock_ids.v);
    free(core_keys.v);
    return rc;
}

int jp_host_meminfo(const jp_roots *roots, double *mem_gb)
{
    *mem_gb = 0;
    const char *proc = roots && roots->proc[0] ? roots->proc : "/proc";
    char path[PATH_MAX];
    int orc;
    int rc = jp_pathf(path, sizeof path, "%s/meminfo", proc);
    if (rc != JP_OK) return rc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) return orc == JP_ERR_PERM ? orc : JP_ERR_IO;
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    while (getline(&line, &cap, f) >= 0) {
        char *key, *val;
        if (!split_field(line, &key, &val) || strcmp(key, "MemTotal")) continue;
        found = true;
        char *end;
        errno = 0;
        double kb = strtod(val, &end);
        while (isspace((unsigned char)*end)) end++;
        if (end == val || errno || !(kb > 0) || !isfinite(kb) || strcmp(end, "kB"))
            rc = jp_fail(JP_ERR_PARSE, "%s: MemTotal: expected a positive size in kB, found \"%.40s\"", path,
                         val);
        else
            *mem_gb = kb * 1024.0 / 1e9;
        break;
    }
    free(line);
    fclose(f);
    if (rc == JP_OK && !found) rc = jp_fail(JP_ERR_PARSE, "%s: no MemTotal line: expected \"MemTotal: N kB\"", path);
    return rc;
}

int jp_cpu_info_read(const jp_roots *roots, struct jp_cpu_info *info)
{
    int rc = jp_host_cpuinfo(roots, info);
    return rc == JP_OK ? jp_host_meminfo(roots, &info->mem_gb) : rc;
}

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
