/*
 * rapl-perf: RAPL energy counters through the perf_event "power" PMU, which needs neither the msr
 * driver nor powercap, only perf_event_open permission for system-wide events.
 *
 * sysfs describes the PMU (<sys>/bus/event_source/devices/power):
 *   type                 the PMU type for perf_event_attr.type
 *   cpumask              one CPU per package ("0", "0,18", "0-1")
 *   events/energy-pkg    "event=0x02", with energy-pkg.scale (joules per count) and .unit ("Joules")
 *   events/energy-ram, energy-cores, energy-gpu, energy-psys   likewise
 * Domains: energy-pkg -> package-N (N is the position in cpumask), energy-ram -> dram-N,
 * energy-cores -> core-N, energy-gpu -> uncore-N, energy-psys -> psys (once, on the first CPU).
 * The kernel accumulates each counter into 64 bits, so the domains never wrap (wrap = 0).
 */
#define _GNU_SOURCE
#include "rapl_perf.h"

#include "source.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the system calls, replaceable by tests ----------------------------------------------------- */

static int real_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
                           unsigned long flags)
{
    return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

static const struct jp_perf_syscalls real_calls = {real_event_open, read, close};
static struct jp_perf_syscalls calls = {real_event_open, read, close};

void jp_rapl_perf_set_syscalls(const struct jp_perf_syscalls *s)
{
    calls = real_calls;
    if (!s) return;
    if (s->event_open) calls.event_open = s->event_open;
    if (s->read) calls.read = s->read;
    if (s->close) calls.close = s->close;
}

/* ---- sysfs parsing ------------------------------------------------------------------------------ */

#define MAX_CPUS JP_MAX_DOMAINS

struct perf_event_desc {
    const char *file;        /* "energy-pkg" */
    const char *kind_name;   /* "package" */
    jp_domain_kind kind;
    bool once;               /* psys: one counter for the platform */
};

static const struct perf_event_desc events[] = {
    {"energy-pkg", "package", JP_DOMAIN_PACKAGE, false},
    {"energy-ram", "dram", JP_DOMAIN_DRAM, false},
    {"energy-cores", "core", JP_DOMAIN_CORE, false},
    {"energy-gpu", "uncore", JP_DOMAIN_UNCORE, false},
    {"energy-psys", "psys", JP_DOMAIN_PSYS, true},
};
#define NEVENTS (sizeof events / sizeof events[0])

struct event_info {
    bool present;
    uint64_t config;
    double scale;
};

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* A file's content as it can be shown in a message: at most 60 bytes, odd bytes as '?'. */
static const char *shown(const char *text, char *buf, size_t len)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 1 < len && n < 60; p++)
        buf[n++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
    buf[n] = '\0';
    return buf;
}

/* Parses a CPU list ("0", "0,18", "0-3,8-11"). Returns the count, or -1 if malformed or too long. */
static int parse_cpulist(const char *text, int *cpus, int max)
{
    const char *p = skip_ws(text);
    int n = 0;
    if (!*p) return -1;
    for (;;) {
        if (*p < '0' || *p > '9') return -1;
        char *end;
        errno = 0;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (errno || a > 1000000) return -1;
        p = end;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9') return -1;
            b = strtoul(p, &end, 10);
            if (errno || b > 1000000 || b < a) return -1;
            p = end;
        }
        for (unsigned long c = a; c <= b; c++) {
            if (n >= max) return -1;
            cpus[n++] = (int)c;
        }
        p = skip_ws(p);
        if (!*p) break;
        if (*p != ',') return -1;
        p++;
    }
    return n;
}

/* Parses "event=0x02" (the power PMU's only format term). */
static bool parse_event(const char *text, uint64_t *config)
{
    const char *p = skip_ws(text);
    if (strncmp(p, "event=", 6) != 0) return false;
    p += 6;
    if (*p < '0' || *p > '9') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 0);
    if (errno || end == p) return false;
    if (*skip_ws(end)) return false;
    *config = v;
    return true;
}

/* Reads and checks events/<name>, .scale and .unit. A missing event file means "not here". */
static int read_event(const char *dir, const char *name, struct event_info *ev)
{
    char path[PATH_MAX], buf[256], sh[64];
    int rc;
    ev->present = false;
    if ((rc = jp_pathf(path, sizeof path, "%s/events/%s", dir, name)) != JP_OK) return rc;
    rc = jp_read_text(path, buf, sizeof buf);
    if (rc == JP_ERR_NOTFOUND) return JP_OK;
    if (rc != JP_OK) return rc;
    if (!parse_event(buf, &ev->config))
        return jp_fail(JP_ERR_PARSE, "%s: expected \"event=<code>\" such as \"event=0x02\", found \"%s\"",
                       path, shown(buf, sh, sizeof sh));

    if ((rc = jp_pathf(path, sizeof path, "%s/events/%s.scale", dir, name)) != JP_OK) return rc;
    rc = jp_read_text(path, buf, sizeof buf);
    if (rc == JP_ERR_NOTFOUND)
        return jp_fail(JP_ERR_PARSE, "%s: missing: expected the joules per count (e.g. 2.3283064365386962890625e-10)",
                       path);
    if (rc != JP_OK) return rc;
    if (jp_parse_double(buf, &ev->scale) != JP_OK || !(ev->scale > 0) || !isfinite(ev->scale))
        return jp_fail(JP_ERR_PARSE,
                       "%s: expected a positive number of joules per count (e.g. "
                       "2.3283064365386962890625e-10), found \"%s\"",
                       path, shown(buf, sh, sizeof sh));

    if ((rc = jp_pathf(path, sizeof path, "%s/events/%s.unit", dir, name)) != JP_OK) return rc;
    rc = jp_read_text(path, buf, sizeof buf);
    if (rc == JP_ERR_NOTFOUND) return jp_fail(JP_ERR_PARSE, "%s: missing: expected \"Joules\"", path);
    if (rc != JP_OK) return rc;
    if (strcmp(skip_ws(buf), "Joules") != 0)
        return jp_fail(JP_ERR_PARSE, "%s: expected the unit \"Joules\", found \"%s\"", path, shown(buf, sh, sizeof sh));
    ev->present = true;
    return JP_OK;
}

/* ---- open / probe ------------------------------------------------------------------------------- */

struct perf_priv {
    size_t n;
    int fd[JP_MAX_DOMAINS];
};

static void close_fds(struct perf_priv *pv)
{
    for (size_t i = 0; i < pv->n; i++)
        if (pv->fd[i] >= 0) calls.close(pv->fd[i]);
    pv->n = 0;
}

static int open_counter(uint32_t type, uint64_t config, int cpu)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = type;
    attr.config = config;
    return calls.event_open(&attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Words for a refused perf_event_open. */
static int fail_open_errno(int e, const struct jp_source_env *env, const char *event, int cpu)
{
    if (e == EACCES || e == EPERM) {
        char path[PATH_MAX], buf[64];
        long paranoid = 0;
        bool known = false;
        if (jp_pathf(path, sizeof path, "%s/sys/kernel/perf_event_paranoid", env->roots.proc) == JP_OK &&
            jp_read_text(path, buf, sizeof buf) == JP_OK) {
            char *end;
            errno = 0;
            paranoid = strtol(buf, &end, 10);
            known = end != buf && !*skip_ws(end) && !errno;
        }
        if (known && paranoid > 0)
            return jp_fail(JP_ERR_PERM,
                           "perf_event_paranoid is %ld: system-wide power events need root or CAP_PERFMON, "
                           "or sysctl kernel.perf_event_paranoid=0 (perf_event_open of power/%s on CPU %d: %s)",
                           paranoid, event, cpu, strerror(e));
        if (known)
            return jp_fail(JP_ERR_PERM,
                           "perf_event_open of power/%s on CPU %d was refused (%s) although "
                           "perf_event_paranoid is %ld: a seccomp filter (containers) or a security module "
                           "blocks it; run as root with CAP_PERFMON",
                           event, cpu, strerror(e), paranoid);
        return jp_fail(JP_ERR_PERM,
                       "perf_event_open of power/%s on CPU %d was refused (%s): system-wide power events "
                       "need root or CAP_PERFMON, or sysctl kernel.perf_event_paranoid=0",
                       event, cpu, strerror(e));
    }
    if (e == ENOENT || e == EOPNOTSUPP || e == EINVAL)
        return jp_fail(JP_ERR_NOSOURCE,
                       "the perf event power/%s is not supported here (perf_event_open on CPU %d: %s)", event,
                       cpu, strerror(e));
    return jp_fail(JP_ERR_IO, "perf_event_open of power/%s on CPU %d: %s", event, cpu, strerror(e));
}

static int open_(struct jp_source *src, const struct jp_source_env *env)
{
    char dir[PATH_MAX], path[PATH_MAX], buf[4096], sh[64];
    struct stat st;
    int rc;
    src->priv = NULL;
    src->ndomains = 0;
    src->detail[0] = '\0';

    if ((rc = jp_pathf(dir, sizeof dir, "%s/bus/event_source/devices/power", env->roots.sys)) != JP_OK)
        return rc;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return jp_fail(JP_ERR_NOTFOUND,
                       "no perf power PMU at %s (kernel without RAPL perf support, or a VM)", dir);

    /* type */
    if ((rc = jp_pathf(path, sizeof path, "%s/type", dir)) != JP_OK) return rc;
    rc = jp_read_text(path, buf, sizeof buf);
    if (rc != JP_OK) return rc;
    uint64_t type;
    if (jp_parse_u64(buf, &type) != JP_OK || type > UINT32_MAX)
        return jp_fail(JP_ERR_PARSE, "%s: expected the PMU type as an unsigned integer, found \"%s\"", path,
                       shown(buf, sh, sizeof sh));

    /* cpumask */
    if ((rc = jp_pathf(path, sizeof path, "%s/cpumask", dir)) != JP_OK) return rc;
    rc = jp_read_text(path, buf, sizeof buf);
    if (rc != JP_OK) return rc;
    int cpus[MAX_CPUS];
    int ncpus = parse_cpulist(buf, cpus, MAX_CPUS);
    if (ncpus <= 0)
        return jp_fail(JP_ERR_PARSE,
                       "%s: expected a list of CPUs such as \"0\", \"0,18\" or \"0-1\", found \"%s\"", path,
                       shown(buf, sh, sizeof sh));

    /* events: check every file before opening anything */
    struct event_info ev[NEVENTS];
    size_t nev = 0;
    for (size_t k = 0; k < NEVENTS; k++) {
        if ((rc = read_event(dir, events[k].file, &ev[k])) != JP_OK) return rc;
        if (ev[k].present) nev++;
    }
    if (nev == 0)
        return jp_fail(JP_ERR_NOSOURCE, "%s/events has no energy events (energy-pkg, energy-ram, ...)", dir);

    struct perf_priv *pv = calloc(1, sizeof *pv);
    if (!pv) return jp_fail(JP_ERR_NOMEM, "rapl-perf: out of memory");

    /* Open the counters. A refusal (permission) fails the source; an event the kernel says it does
     * not support is left out, and reported only if nothing at all could be opened. */
    int first_err = 0, first_err_cpu = 0;
    const char *first_err_event = NULL;
    bool have_kind[NEVENTS] = {false};
    for (int c = 0; c < ncpus; c++) {
        for (size_t k = 0; k < NEVENTS; k++) {
            if (!ev[k].present || (events[k].once && c > 0)) continue;
            int fd = open_counter((uint32_t)type, ev[k].config, cpus[c]);
            if (fd < 0) {
                int e = errno;
                if (e == EACCES || e == EPERM || e == EMFILE || e == ENFILE || e == ENOMEM) {
                    close_fds(pv);
                    free(pv);
                    src->ndomains = 0;
                    return fail_open_errno(e, env, events[k].file, cpus[c]);
                }
                if (!first_err) {
                    first_err = e;
                    first_err_cpu = cpus[c];
                    first_err_event = events[k].file;
                }
                continue;
            }
            char name[JP_NAME_MAX];
            if (events[k].once)
                snprintf(name, sizeof name, "%s", events[k].kind_name);
            else
                snprintf(name, sizeof name, "%s-%d", events[k].kind_name, c);
            int d = jp_source_add_domain(src, name, events[k].kind, ev[k].scale, 0, false);
            if (d < 0) {
                calls.close(fd);
                close_fds(pv);
                free(pv);
                src->ndomains = 0;
                return d;
            }
            pv->fd[d] = fd;
            pv->n = src->ndomains;
            have_kind[k] = true;
        }
    }
    if (src->ndomains == 0) {
        free(pv);
        return fail_open_errno(first_err ? first_err : ENOENT, env, first_err_event ? first_err_event : "energy-pkg",
                               first_err_event ? first_err_cpu : cpus[0]);
    }

    char kinds[128] = "";
    for (size_t k = 0; k < NEVENTS; k++) {
        if (!have_kind[k]) continue;
        if (kinds[0]) strncat(kinds, ", ", sizeof kinds - strlen(kinds) - 1);
        strncat(kinds, events[k].kind_name, sizeof kinds - strlen(kinds) - 1);
    }
    snprintf(src->detail, sizeof src->detail, "perf power PMU (type %u) on %d package%s: %s", (unsigned)type,
             ncpus, ncpus == 1 ? "" : "s", kinds);
    src->priv = pv;
    return JP_OK;
}

static void close_(struct jp_source *src)
{
    struct perf_priv *pv = src->priv;
    if (!pv) return;
    close_fds(pv);
    free(pv);
    src->priv = NULL;
}

/* ---- read --------------------------------------------------------------------------------------- */

static int read_(struct jp_source *src, uint64_t *raw, enum jp_read_status *status)
{
    struct perf_priv *pv = src->priv;
    if (!pv) return jp_fail(JP_ERR_STATE, "rapl-perf: read before open");
    for (size_t i = 0; i < pv->n; i++) {
        uint64_t v = 0;
        ssize_t n;
        do {
            n = calls.read(pv->fd[i], &v, sizeof v);
        } while (n < 0 && errno == EINTR);
        raw[i] = 0;
        if (n == (ssize_t)sizeof v) {
            raw[i] = v;
            status[i] = JP_READ_OK;
        } else if (n == 0) {
            /* end of file: the kernel put the event in error state (its CPU or PMU went away) */
            status[i] = JP_READ_GONE;
        } else if (n < 0 && (errno == ENODEV || errno == ENXIO || errno == ENOENT)) {
            status[i] = JP_READ_GONE;
        } else {
            status[i] = JP_READ_GLITCH;
        }
    }
    return JP_OK;
}

const struct jp_source_ops jp_source_rapl_perf = {"rapl-perf", false, false, NULL, open_, read_, close_};
