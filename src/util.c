#define _XOPEN_SOURCE 700
#include "util.h"

#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double jp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct timespec jp_timespec(double t)
{
    struct timespec ts;
    if (t < 0) t = 0;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void jp_sleep_until(double t)
{
    if (t < 0) return;
    struct timespec ts = jp_timespec(t);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static int root_from_env(const char *var, char *dst, size_t len)
{
    const char *v = getenv(var);
    struct stat st;
    dst[0] = '\0';
    if (!v || !*v) return JP_OK;
    if (strlen(v) >= len - 64)
        return jp_fail(JP_ERR_INVAL, "%s: path too long (%zu bytes)", var, strlen(v));
    if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode))
        return jp_fail(JP_ERR_INVAL, "%s=%s: expected an existing directory", var, v);
    jp_strlcpy(dst, v, len);
    /* drop trailing slashes so that root + "/class/..." stays clean */
    for (size_t n = strlen(dst); n > 1 && dst[n - 1] == '/'; n--) dst[n - 1] = '\0';
    return JP_OK;
}

int jp_roots_from_env(jp_roots *r)
{
    int rc;
    if ((rc = root_from_env("JP_SYSFS_ROOT", r->sys, sizeof r->sys)) != JP_OK) return rc;
    if ((rc = root_from_env("JP_DEV_ROOT", r->dev, sizeof r->dev)) != JP_OK) return rc;
    if ((rc = root_from_env("JP_PROC_ROOT", r->proc, sizeof r->proc)) != JP_OK) return rc;
    /* unset roots mean the real ones */
    r->sys_real = !r->sys[0];
    r->proc_real = !r->proc[0];
    if (!r->sys[0]) jp_strlcpy(r->sys, "/sys", sizeof r->sys);
    if (!r->dev[0]) jp_strlcpy(r->dev, "/dev", sizeof r->dev);
    if (!r->proc[0]) jp_strlcpy(r->proc, "/proc", sizeof r->proc);
    return JP_OK;
}

int jp_pathf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) return jp_fail(JP_ERR_RANGE, "path too long: %.200s...", buf);
    return JP_OK;
}

static int open_errno(const char *path, int e)
{
    if (e == EACCES || e == EPERM) return jp_fail(JP_ERR_PERM, "%s: permission denied", path);
    if (e == ENOENT || e == ENOTDIR) return jp_fail(JP_ERR_NOTFOUND, "%s: no such file", path);
    return jp_fail(JP_ERR_IO, "%s: %s", path, strerror(e));
}

int jp_open_read(const char *path, unsigned kinds)
{
    /* O_NONBLOCK: opening a FIFO (or a tty) must not wait for a writer; it changes nothing for the regular
     * files and devices accepted below, and is cleared again for them. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return open_errno(path, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return open_errno(path, e);
    }
    const char *what = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                                              : NULL;
    int ok = (S_ISREG(st.st_mode) && (kinds & JP_OPEN_REGULAR)) || (S_ISCHR(st.st_mode) && (kinds & JP_OPEN_CHARDEV));
    if (!ok) {
        close(fd);
        return jp_fail(JP_ERR_IO, "%s: is %s, expected a regular file%s", path, what ? what : "not a regular file",
                       (kinds & JP_OPEN_CHARDEV) ? " or a character device" : "");
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

FILE *jp_fopen_read(const char *path, int *rc)
{
    int fd = jp_open_read(path, JP_OPEN_REGULAR);
    if (fd < 0) {
        *rc = fd;
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        *rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
    }
    return f;
}

int jp_read_file(const char *path, size_t max, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = jp_open_read(path, JP_OPEN_REGULAR);
    if (fd < 0) return fd;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 0) {
        close(fd);
        return jp_fail(JP_ERR_IO, "%s: cannot be examined", path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return jp_fail(JP_ERR_RANGE, "%s: %lld bytes, more than the %zu this file may hold", path,
                       (long long)st.st_size, max);
    }
    /* the size is checked again while reading: a file may grow meanwhile */
    size_t cap = (size_t)st.st_size + 1;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return jp_fail(JP_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, cap);
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return jp_fail(JP_ERR_IO, "%s: %s", path, strerror(e));
        }
        if (n == 0) break;
        got += (size_t)n;
        if (got == cap) {
            if (got > max) {
                free(buf);
                close(fd);
                return jp_fail(JP_ERR_RANGE, "%s: more than the %zu bytes this file may hold", path, max);
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            unsigned char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                close(fd);
                return jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return JP_OK;
}

/* A value read from a kernel attribute: NUL bytes inside it (a file holding "123\0garbage") are not
 * text, and (strict: a single value) a file longer than the buffer is not a value of this kind. Files
 * read for their first lines (/proc/stat, /proc/cpuinfo) are cut at the buffer's size instead. */
static int text_done(const char *path, char *buf, size_t got, bool more)
{
    if (memchr(buf, '\0', got))
        return jp_fail(JP_ERR_PARSE, "%s: holds a NUL byte at offset %zu: not a text value", path,
                       (size_t)((char *)memchr(buf, '\0', got) - buf));
    if (more) return jp_fail(JP_ERR_PARSE, "%s: longer than the %zu bytes expected of this value", path, got);
    buf[got] = '\0';
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r')) buf[--got] = '\0';
    return JP_OK;
}

static int read_text(const char *path, char *buf, size_t len, bool strict)
{
    if (len < 2) return jp_fail(JP_ERR_INVAL, "%s: buffer too small", path);
    buf[0] = '\0';
    int fd = jp_open_read(path, JP_OPEN_REGULAR);
    if (fd < 0) return fd;
    size_t got = 0;
    bool more = false;
    for (;;) {
        char extra;
        ssize_t n = got + 1 < len ? read(fd, buf + got, len - 1 - got) : read(fd, &extra, 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            buf[0] = '\0';
            if (e == EACCES || e == EPERM) return jp_fail(JP_ERR_PERM, "%s: permission denied", path);
            return jp_fail(JP_ERR_IO, "%s: %s", path, strerror(e));
        }
        if (n == 0) break;
        if (got + 1 >= len) {
            more = strict;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    int rc = text_done(path, buf, got, more);
    if (rc != JP_OK) buf[0] = '\0';
    return rc;
}

int jp_parse_u64(const char *text, uint64_t *out)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    if (*p < '0' || *p > '9') return JP_ERR_PARSE;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return JP_ERR_PARSE;
        v = v * 10 + d;
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p) return JP_ERR_PARSE;
    *out = v;
    return JP_OK;
}

int jp_parse_double(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(v)) return JP_ERR_PARSE;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') end++;
    if (*end) return JP_ERR_PARSE;
    *out = v;
    return JP_OK;
}

int jp_read_text(const char *path, char *buf, size_t len) { return read_text(path, buf, len, false); }

static int parse_u64_of(const char *path, const char *buf, uint64_t *out)
{
    if (jp_parse_u64(buf, out) != JP_OK)
        return jp_fail(JP_ERR_PARSE, "%s: expected an unsigned integer, found \"%.40s\"", path, buf);
    return JP_OK;
}

int jp_read_u64(const char *path, uint64_t *out)
{
    char buf[64];
    int rc = read_text(path, buf, sizeof buf, true);
    return rc != JP_OK ? rc : parse_u64_of(path, buf, out);
}

void jp_kfile_init(jp_kfile *f, const char *path, bool keep)
{
    jp_strlcpy(f->path, path, sizeof f->path);
    f->fd = keep ? jp_open_read(path, JP_OPEN_REGULAR) : -1;
    if (f->fd < 0) f->fd = -1;
}

static int kfile_read(jp_kfile *f, char *buf, size_t len, bool strict)
{
    if (f->fd < 0) return read_text(f->path, buf, len, strict);
    if (len < 2) return jp_fail(JP_ERR_INVAL, "%s: buffer too small", f->path);
    ssize_t n;
    do n = pread(f->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        /* a zone gone away (ENODEV) or the like: the path says what it is now */
        close(f->fd);
        f->fd = -1;
        return read_text(f->path, buf, len, strict);
    }
    /* len bytes asked for: a full read means the value is longer than len - 1 */
    size_t got = (size_t)n;
    bool more = got >= len && strict;
    if (got >= len) got = len - 1;
    int rc = text_done(f->path, buf, got, more);
    if (rc != JP_OK) buf[0] = '\0';
    return rc;
}

int jp_kfile_read_text(jp_kfile *f, char *buf, size_t len) { return kfile_read(f, buf, len, false); }

int jp_kfile_read_u64(jp_kfile *f, uint64_t *out)
{
    char buf[64];
    int rc = kfile_read(f, buf, sizeof buf, true);
    return rc != JP_OK ? rc : parse_u64_of(f->path, buf, out);
}

void jp_kfile_close(jp_kfile *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

int jp_textf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n;
}

void jp_strlcpy(char *dst, const char *src, size_t len)
{
    if (!len) return;
    size_t n = strlen(src);
    if (n >= len) n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = type == FTW_DP ? rmdir(path) : unlink(path);
    return r != 0 && errno != ENOENT ? -1 : 0;
}

int jp_rm_tree(const char *path)
{
    /* FTW_PHYS: links are removed, never followed; FTW_DEPTH: contents before their folder */
    if (!path || !*path || !strcmp(path, "/")) return jp_fail(JP_ERR_INVAL, "refusing to remove \"%s\"", path ? path : "");
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return jp_fail(JP_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    return JP_OK;
}
