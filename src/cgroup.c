/* Per-cgroup attribution: see cgroup.h. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* d_type */
#include "cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jp_cg_root(const jp_roots *roots, const char *explicit_root, char *buf, size_t len)
{
    const char *env = explicit_root ? explicit_root : getenv("JP_CGROUP_ROOT");
    if (env && !*env) env = NULL;
    int rc;
    if (env) {
        if (strlen(env) >= len) return jp_fail(JP_ERR_RANGE, "cgroup root %.64s...: path too long", env);
        rc = jp_pathf(buf, len, "%s", env);
    } else {
        rc = jp_pathf(buf, len, "%s/fs/cgroup", roots->sys);
    }
    if (rc != JP_OK) return rc;
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return jp_fail(JP_ERR_NOTFOUND, "%s: no cgroup tree there (%s)%s", buf, strerror(errno),
                       env && !explicit_root ? " (from JP_CGROUP_ROOT)" : "");
    char probe[PATH_MAX];
    if ((rc = jp_pathf(probe, sizeof probe, "%s/cgroup.controllers", buf)) != JP_OK) return rc;
    if (access(probe, F_OK) != 0 && !env) {
        /* systemd's hybrid layout: cgroup v1 controllers, and the unified tree at <root>/unified */
        char uni[PATH_MAX];
        if ((rc = jp_pathf(uni, sizeof uni, "%s/unified/cgroup.controllers", buf)) != JP_OK) return rc;
        if (access(uni, F_OK) == 0) {
            size_t bl = strlen(buf);
            if (bl + 8 >= len) return jp_fail(JP_ERR_RANGE, "%s/unified: path too long", buf);
            memcpy(buf + bl, "/unified", 9);
            return JP_OK;
        }
    }
    if (access(probe, F_OK) != 0)
        return jp_fail(JP_ERR_NOTFOUND,
                       "%s is not a cgroup v2 (unified) tree: no cgroup.controllers, nor a unified/ beside the v1 "
                       "controllers (cgroup v1 is not supported; boot with systemd.unified_cgroup_hierarchy=1)",
                       buf);
    return JP_OK;
}

int jp_cg_init(struct jp_cg *cg, const char *root, size_t top_n)
{
    memset(cg, 0, sizeof *cg);
    if (top_n < 1 || top_n > 1000) return jp_fail(JP_ERR_RANGE, "top cgroups %zu: expected 1 to 1000", top_n);
    if (strlen(root) >= sizeof cg->root) return jp_fail(JP_ERR_RANGE, "cgroup root: path too long");
    jp_strlcpy(cg->root, root, sizeof cg->root);
    cg->top_n = top_n;
    return JP_OK;
}

static void unit_free(struct jp_cg_unit *u)
{
    if (!u) return;
    free(u->path);
    free(u);
}

void jp_cg_free(struct jp_cg *cg)
{
    for (size_t i = 0; i < cg->n; i++) unit_free(cg->units[i]);
    free(cg->units);
    free(cg->scan);
    memset(cg, 0, sizeof *cg);
}

/* ---- labels --------------------------------------------------------------------------------- */

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

/* A pod UID at s: 8-4-4-4-12 hex digits separated by '-' (cgroupfs) or '_' (systemd). */
static bool is_uid_at(const char *s, size_t n)
{
    if (n < 36) return false;
    for (size_t i = 0; i < 36; i++) {
        bool sep = i == 8 || i == 13 || i == 18 || i == 23;
        if (sep ? (s[i] != '-' && s[i] != '_') : !isxdigit((unsigned char)s[i])) return false;
    }
    return true;
}

/* The pod UID in a path component ("pod<uid>", "kubepods-burstable-pod<uid_>.slice"), or false. */
static bool pod_component(const char *c, size_t n, char *uid, size_t len)
{
    const char *p = NULL;
    for (size_t i = 0; i + 3 <= n; i++)
        if (!memcmp(c + i, "pod", 3) && is_uid_at(c + i + 3, n - i - 3)) {
            p = c + i + 3;
            break;
        }
    if (!p) return false;
    size_t rest = n - (size_t)(p - c) - 36;
    if (rest != 0 && !(rest == 6 && !memcmp(p + 36, ".slice", 6))) return false;
    if (uid && len > 36) {
        for (size_t i = 0; i < 36; i++) uid[i] = p[i] == '_' ? '-' : (char)tolower((unsigned char)p[i]);
        uid[36] = '\0';
    }
    return true;
}

/* A container's ID in a path component: "docker-<id>.scope", "libpod-<id>.scope", "crio-<id>.scope",
 * "cri-containerd-<id>.scope", or a bare ID of 64 hex digits; with pod_child, whatever the
 * component is (a child of a pod cgroup is a container). */
static bool container_component(const char *c, size_t n, bool pod_child, char *id, size_t len)
{
    static const char *const prefixes[] = {"cri-containerd-", "crio-conmon-", "crio-", "docker-", "libpod-conmon-",
                                           "libpod-", "containerd-"};
    const char *s = c;
    size_t k = n;
    if (ends_with(s, k, ".scope")) k -= 6;
    bool prefixed = false;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t pl = strlen(prefixes[i]);
        if (k > pl && !memcmp(s, prefixes[i], pl)) {
            s += pl;
            k -= pl;
            prefixed = true;
            break;
        }
    }
    bool hex = k >= 12;
    for (size_t i = 0; i < k && hex; i++) hex = isxdigit((unsigned char)s[i]) != 0;
    if (!(hex && (prefixed || k == 64)) && !pod_child) return false;
    if (id && len) {
        if (!hex) { /* a pod's child that is not an ID: keep its name */
            s = c;
            k = n;
        }
        if (k >= len) k = len - 1;
        memcpy(id, s, k);
        id[k] = '\0';
    }
    return true;
}

void jp_cg_labels(const char *path, char *slice, size_t slen, char *unit, size_t ulen, char *pod, size_t plen,
                  char *container, size_t clen)
{
    slice[0] = unit[0] = pod[0] = container[0] = '\0';
    bool prev_pod = false;
    for (const char *c = path; *c;) {
        while (*c == '/') c++;
        if (!*c) break;
        size_t n = strcspn(c, "/");
        if (ends_with(c, n, ".slice")) {
            size_t k = n < slen ? n : slen - 1;
            memcpy(slice, c, k);
            slice[k] = '\0';
        } else if (ends_with(c, n, ".service") || ends_with(c, n, ".scope")) {
            size_t k = n < ulen ? n : ulen - 1;
            memcpy(unit, c, k);
            unit[k] = '\0';
        }
        bool is_pod = pod_component(c, n, pod, plen);
        if (!is_pod) container_component(c, n, prev_pod, container, clen);
        prev_pod = is_pod;
        c += n;
    }
}

/* Whether the cgroup at path (its last component, and whether its parent is a pod) is a container,
 * taken whole. */
static bool is_container(const char *path)
{
    const char *last = strrchr(path, '/');
    if (!last) return false;
    last++;
    const char *parent = last - 1;
    while (parent > path && parent[-1] != '/') parent--;
    bool pod_child = parent < last - 1 && pod_component(parent, (size_t)(last - 1 - parent), NULL, 0);
    return container_component(last, strlen(last), pod_child, NULL, 0);
}

/* ---- the scan --------------------------------------------------------------------------------- */

static int cmp_path(const void *a, const void *b)
{
    const struct jp_cg_unit *const *x = a, *const *y = b;
    return strcmp((*x)->path, (*y)->path);
}

static struct jp_cg_unit *find(struct jp_cg *cg, const char *path)
{
    size_t lo = 0, hi = cg->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(cg->units[mid]->path, path);
        if (c == 0) return cg->units[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Reads usage_usec from dir/cpu.stat: 0 on success, -1 vanished (ENOENT), -2 another error. */
static int read_usage(struct jp_cg *cg, const char *dir, const char *rel, uint64_t *out)
{
    char path[PATH_MAX], buf[1024];
    if (jp_pathf(path, sizeof path, "%s/cpu.stat", dir) != JP_OK) return -2;
    /* a regular file only, opened without waiting: a FIFO in a fake tree must not stall the sampler */
    int fd = jp_open_read(path, JP_OPEN_REGULAR);
    if (fd < 0) {
        if (fd == JP_ERR_NOTFOUND) {
            jp_strlcpy(cg->ev.vanished_path, rel, sizeof cg->ev.vanished_path);
            return -1;
        }
        jp_strlcpy(cg->ev.error_path, rel, sizeof cg->ev.error_path);
        jp_textf(cg->ev.error_why, sizeof cg->ev.error_why, "%s", jp_last_error());
        return -2;
    }
    ssize_t r = read(fd, buf, sizeof buf - 1);
    int e = errno;
    close(fd);
    if (r < 0) {
        if (e == ENODEV || e == ENOENT) { /* removed while open */
            jp_strlcpy(cg->ev.vanished_path, rel, sizeof cg->ev.vanished_path);
            return -1;
        }
        jp_strlcpy(cg->ev.error_path, rel, sizeof cg->ev.error_path);
        jp_textf(cg->ev.error_why, sizeof cg->ev.error_why, "%s", strerror(e));
        return -2;
    }
    buf[r] = '\0';
    const char *p = strstr(buf, "usage_usec ");
    if (p && (p == buf || p[-1] == '\n')) {
        p += 11;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end != p && errno == 0 && (*end == '\n' || *end == '\0') && isdigit((unsigned char)*p)) {
            *out = v;
            return 0;
        }
    }
    jp_strlcpy(cg->ev.error_path, rel, sizeof cg->ev.error_path);
    jp_textf(cg->ev.error_why, sizeof cg->ev.error_why, "cpu.stat has no usage_usec line with a number");
    return -2;
}

static void add_unit(struct jp_cg *cg, const char *dir, const char *rel, uint64_t *sum)
{
    if (cg->ns >= JP_CG_MAX_UNITS) {
        cg->ev.truncated = true;
        return;
    }
    uint64_t usage;
    int r = read_usage(cg, dir, rel, &usage);
    if (r == -1) {
        cg->ev.vanished++;
        return;
    }
    if (r == -2) {
        cg->ev.read_errors++;
        return;
    }
    if (cg->ns == cg->caps) {
        size_t cap = cg->caps ? 2 * cg->caps : 64;
        struct jp_cg_unit **p = realloc(cg->scan, cap * sizeof *p);
        if (!p) return; /* out of memory: not attributed this time */
        cg->scan = p;
        cg->caps = cap;
    }
    struct jp_cg_unit *u = find(cg, rel);
    if (u && u->gen == cg->gen + 1) return; /* seen twice in one scan (cannot happen on a real tree) */
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u || !(u->path = strdup(rel))) {
            unit_free(u);
            return;
        }
        jp_cg_labels(rel, u->slice, sizeof u->slice, u->unit, sizeof u->unit, u->pod_uid, sizeof u->pod_uid,
                     u->container_id, sizeof u->container_id);
        /* new since the last scan: all its time is of this interval (not so on the first scan) */
        u->delta_usec = cg->gen > 0 ? usage : 0;
    } else {
        /* a cgroup removed and made again under the same name starts again from zero */
        u->delta_usec = usage >= u->usage_usec ? usage - u->usage_usec : usage;
    }
    u->usage_usec = usage;
    u->gen = cg->gen + 1;
    cg->scan[cg->ns++] = u;
    *sum += u->delta_usec;
}

/* dir: the absolute path, in a buffer of PATH_MAX; rel points into it (after the root). */
static void walk(struct jp_cg *cg, char *dir, size_t len, size_t rel_off, int depth, uint64_t *sum)
{
    const char *rel = dir + rel_off;
    if (depth > 0 && is_container(rel)) {
        add_unit(cg, dir, rel, sum);
        return;
    }
    if (depth >= JP_CG_MAX_DEPTH) {
        cg->ev.truncated = true;
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        if (depth == 0) {
            cg->ev.read_errors++;
            jp_strlcpy(cg->ev.error_path, "/", sizeof cg->ev.error_path);
            jp_textf(cg->ev.error_why, sizeof cg->ev.error_why, "%s", strerror(errno));
        } else if (errno == ENOENT) {
            cg->ev.vanished++;
            jp_strlcpy(cg->ev.vanished_path, rel, sizeof cg->ev.vanished_path);
        }
        return;
    }
    bool child = false;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        bool isdir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            isdir = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (!isdir) continue;
        size_t nl = strlen(de->d_name);
        if (len + 1 + nl >= PATH_MAX) {
            cg->ev.truncated = true;
            continue;
        }
        child = true;
        dir[len] = '/';
        memcpy(dir + len + 1, de->d_name, nl + 1);
        walk(cg, dir, len + 1 + nl, rel_off, depth + 1, sum);
        dir[len] = '\0';
    }
    closedir(d);
    if (!child && depth > 0) add_unit(cg, dir, rel, sum);
}

uint64_t jp_cg_scan(struct jp_cg *cg)
{
    char dir[PATH_MAX];
    jp_strlcpy(dir, cg->root, sizeof dir);
    size_t len = strlen(dir);
    cg->ns = 0;
    uint64_t sum = 0;
    walk(cg, dir, len, len, 0, &sum);
    cg->gen++;
    /* drop the units not seen this time; the scan becomes the sorted list */
    for (size_t i = 0; i < cg->n; i++)
        if (cg->units[i]->gen != cg->gen) unit_free(cg->units[i]);
    qsort(cg->scan, cg->ns, sizeof *cg->scan, cmp_path);
    struct jp_cg_unit **t = cg->units;
    size_t tc = cg->cap;
    cg->units = cg->scan;
    cg->cap = cg->caps;
    cg->n = cg->ns;
    cg->scan = t;
    cg->caps = tc;
    cg->ns = 0;
    return sum;
}

/* ---- attribution -------------------------------------------------------------------------------- */

static int cmp_recent(const void *a, const void *b)
{
    const struct jp_cg_unit *const *x = a, *const *y = b;
    double wx = (*x)->recent_w * ((*x)->member ? 1.25 : 1.0), wy = (*y)->recent_w * ((*y)->member ? 1.25 : 1.0);
    if (wx != wy) return wx > wy ? -1 : 1;
    return strcmp((*x)->path, (*y)->path);
}

void jp_cg_attribute(struct jp_cg *cg, double joules, uint64_t busy_usec, double dt)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < cg->n; i++) sum += cg->units[i]->delta_usec;
    uint64_t denom = busy_usec > sum ? busy_usec : sum;
    if (cg->n <= cg->top_n) /* room for every one: new units have a series from their first joule */
        for (size_t i = 0; i < cg->n; i++) cg->units[i]->member = true;
    double alpha = dt > 0 ? 1.0 - exp(-dt / JP_CG_RECENT_S) : 0;
    for (size_t i = 0; i < cg->n; i++) {
        struct jp_cg_unit *u = cg->units[i];
        double e = denom > 0 && joules > 0 ? joules * (double)u->delta_usec / (double)denom : 0;
        u->joules += e;
        cg->attributed_j += e;
        if (u->member) u->series_j += e;
        else cg->other_j += e;
        if (dt > 0) u->recent_w += alpha * (e / dt - u->recent_w);
    }
    /* members for the next interval: the top N by recent power, members favoured by a quarter so
     * that two units of about the same power do not swap places at every sample. The scan list is
     * sorted by path again before the next lookup. */
    if (cg->n > cg->top_n) {
        qsort(cg->units, cg->n, sizeof *cg->units, cmp_recent);
        for (size_t i = 0; i < cg->n; i++) cg->units[i]->member = i < cg->top_n && cg->units[i]->recent_w > 0;
        qsort(cg->units, cg->n, sizeof *cg->units, cmp_path);
    } else {
        for (size_t i = 0; i < cg->n; i++) cg->units[i]->member = true;
    }
}
