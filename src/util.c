#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char last_error[1024];

int jp_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

void jp_clear_error(void) { last_error[0] = '\0'; }

const char *jp_last_error(void) { return last_error; }

int jp_abi_version(void) { return JP_ABI_VERSION; }

const char *jp_version(void) { return JP_VERSION; }

const char *jp_strerror(int code)
{
    switch (code) {
    case JP_OK: return "success";
    case JP_ERR_INVAL: return "invalid argument";
    case JP_ERR_NOMEM: return "out of memory";
    case JP_ERR_IO: return "input/output error";
    case JP_ERR_PERM: return "permission denied";
    case JP_ERR_PARSE: return "cannot parse value";
    case JP_ERR_NOSOURCE: return "no usable energy source";
    case JP_ERR_STATE: return "call out of order";
    case JP_ERR_NOTFOUND: return "not found";
    case JP_ERR_RANGE: return "value out of range";
    case JP_ERR_SPAWN: return "cannot start command";
    case JP_ERR_THREAD: return "cannot start sampling thread";
    default: return "unknown error";
    }
}

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

int jp_read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == EACCES || e == EPERM) return jp_fail(JP_ERR_PERM, "%s: permission denied", path);
        if (e == ENOENT || e == ENOTDIR) return jp_fail(JP_ERR_NOTFOUND, "%s: no such file", path);
        return jp_fail(JP_ERR_IO, "%s: %s", path, strerror(e));
    }
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            if (e == EACCES || e == EPERM) return jp_fail(JP_ERR_PERM, "%s: permission denied", path);
            return jp_fail(JP_ERR_IO, "%s: %s", path, strerror(e));
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r')) buf[--got] = '\0';
    return JP_OK;
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

static int parse_u64_of(const char *path, const char *buf, uint64_t *out)
{
    if (jp_parse_u64(buf, out) != JP_OK)
        return jp_fail(JP_ERR_PARSE, "%s: expected an unsigned integer, found \"%.40s\"", path, buf);
    return JP_OK;
}

int jp_read_u64(const char *path, uint64_t *out)
{
    char buf[64];
    int rc = jp_read_text(path, buf, sizeof buf);
    return rc != JP_OK ? rc : parse_u64_of(path, buf, out);
}

void jp_kfile_init(jp_kfile *f, const char *path, bool keep)
{
    jp_strlcpy(f->path, path, sizeof f->path);
    f->fd = keep ? open(path, O_RDONLY | O_CLOEXEC) : -1;
}

int jp_kfile_read_text(jp_kfile *f, char *buf, size_t len)
{
    if (f->fd < 0) return jp_read_text(f->path, buf, len);
    ssize_t n;
    do n = pread(f->fd, buf, len - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        /* a zone gone away (ENODEV) or the like: the path says what it is now */
        close(f->fd);
        f->fd = -1;
        return jp_read_text(f->path, buf, len);
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    return JP_OK;
}

int jp_kfile_read_u64(jp_kfile *f, uint64_t *out)
{
    char buf[64];
    int rc = jp_kfile_read_text(f, buf, sizeof buf);
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
