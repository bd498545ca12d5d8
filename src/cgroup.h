/*
 * Per-cgroup attribution for the exporter: walks a cgroup v2 (unified) tree, reads each workload
 * cgroup's CPU time (cpu.stat usage_usec), and splits an interval's energy among them by their
 * share of the machine's busy CPU time, as `stat` does for a process tree.
 *
 * A workload ("unit") is a leaf cgroup (in cgroup v2 only leaves hold processes), or a container's
 * cgroup as a whole (Docker, Podman, containerd, CRI-O scopes, and every child of a Kubernetes pod
 * cgroup), whatever it holds inside. Labels come from the path: the nearest systemd slice, the
 * systemd unit (.service or .scope), the Kubernetes pod UID and the container ID.
 *
 * Series stay bounded: the top N units by recent energy (an exponentially weighted power, time
 * constant JP_CG_RECENT_S) are members and get a series each; every other unit's energy goes into
 * one "other" series. A member's series counts the energy attributed to it while it is a member,
 * so that no joule is in two series and every series only grows.
 */
#ifndef JP_CGROUP_H
#define JP_CGROUP_H

#include "util.h"

#define JP_CG_MAX_UNITS 10000 /* units tracked at most; more are not attributed (and said once) */
#define JP_CG_MAX_DEPTH 32
#define JP_CG_RECENT_S 300.0  /* time constant of the power that ranks units */

struct jp_cg_unit {
    char *path;            /* relative to the root, starting with '/' */
    char slice[128];       /* the nearest systemd slice ("system.slice"), or "" */
    char unit[128];        /* the systemd unit (.service, .scope), or "" */
    char pod_uid[40];      /* Kubernetes pod UID, or "" */
    char container_id[72]; /* container ID, or "" */
    uint64_t usage_usec;   /* cpu.stat usage_usec at the last read */
    uint64_t delta_usec;   /* its increase over the last scan */
    double joules;         /* attributed since first seen */
    double series_j;       /* attributed while a member (the value of its series) */
    double recent_w;       /* exponentially weighted attributed power, for ranking */
    uint64_t gen;          /* the scan that last saw it */
    bool member;
};

/* What one scan ran into, for the log and the health metrics. */
struct jp_cg_events {
    uint64_t vanished;      /* listed, then gone before its cpu.stat could be read */
    uint64_t read_errors;   /* cpu.stat unreadable (permission) or not parseable */
    char vanished_path[256], error_path[256], error_why[256]; /* the last of each */
    bool truncated;         /* more than JP_CG_MAX_UNITS units or deeper than JP_CG_MAX_DEPTH */
};

struct jp_cg {
    char root[PATH_MAX];
    size_t top_n;
    struct jp_cg_unit **units; /* sorted by path */
    size_t n, cap;
    struct jp_cg_unit **scan; /* the scan being built */
    size_t ns, caps;
    uint64_t gen;
    double other_j;            /* energy of the units that were not members */
    double attributed_j;       /* all energy attributed */
    struct jp_cg_events ev;    /* cumulative */
};

/* The cgroup root: explicit if not NULL, else JP_CGROUP_ROOT if set, else <JP_SYSFS_ROOT>/fs/cgroup
 * (the roots' sys, so /sys/fs/cgroup on a real machine), or its unified/ where systemd's hybrid
 * layout mounts cgroup v2 beside the v1 controllers. JP_ERR_NOTFOUND when it is not a cgroup v2 tree
 * (no cgroup.controllers at the root), with a message saying so. */
int jp_cg_root(const jp_roots *roots, const char *explicit_root, char *buf, size_t len);

/* top_n: series at most besides "other" (1 .. 1000). */
int jp_cg_init(struct jp_cg *cg, const char *root, size_t top_n);
void jp_cg_free(struct jp_cg *cg);

/* Walks the tree and reads every unit's CPU time; units no longer there are dropped (their energy
 * stays in the totals). A unit first seen after the first scan is new, so all of its CPU time is
 * of this interval. Returns the sum of the units' CPU time increases, in microseconds. */
uint64_t jp_cg_scan(struct jp_cg *cg);

/* Splits joules (the machine's energy over the interval of the last scan) among the units by
 * delta_usec / max(busy_usec, the sum of delta_usec), where busy_usec is the machine's busy CPU time
 * over that interval (0 if unknown: shares of the units' time). dt: the interval, seconds. Then
 * chooses the members. */
void jp_cg_attribute(struct jp_cg *cg, double joules, uint64_t busy_usec, double dt);

/* Labels parsed from a path (exposed for the tests). */
void jp_cg_labels(const char *path, char *slice, size_t slen, char *unit, size_t ulen, char *pod, size_t plen,
                  char *container, size_t clen);

#endif
