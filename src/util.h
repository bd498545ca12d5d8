/*
 * Internal helpers: clocks, redirectable roots, small file reads, bounded string copies. The error
 * channel (jp_fail) is public, in jouleprint.h.
 *
 * util.c and proc.c are the helper set every library compiles in as hidden symbols of its own (as
 * curl's tool does with curlx): they hold no state, so each library's copy behaves the same, and
 * their errors go through the one jp_fail of libjouleprint.
 */
#ifndef JP_UTIL_H
#define JP_UTIL_H

#include "jouleprint.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#if defined(__GNUC__)
#define JP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define JP_PRINTF(a, b)
#endif

/* Monotonic time in seconds. */
double jp_now(void);
/* The monotonic time t (seconds, as jp_now gives it) as a struct timespec for the *_ABSTIME and
 * timed-wait calls. */
struct timespec jp_timespec(double t);
/* Sleeps until the absolute monotonic time t (seconds, same clock as jp_now). */
void jp_sleep_until(double t);

/* The directories every back-end reads in place of /sys, /dev and /proc: JP_SYSFS_ROOT,
 * JP_DEV_ROOT, JP_PROC_ROOT when set, else "/sys", "/dev", "/proc" themselves. Each root IS that
 * directory: <proc>/cpuinfo, <sys>/class/powercap, <dev>/cpu/0/msr. */
typedef struct jp_roots {
    char sys[PATH_MAX];
    char dev[PATH_MAX];
    char proc[PATH_MAX];
    bool sys_real, proc_real; /* the real kernel trees, not redirected to a fake */
} jp_roots;

/* Reads the environment; fails (JP_ERR_INVAL) naming the variable if a root is not a directory. */
int jp_roots_from_env(jp_roots *r);

/* A small file read afresh on every call. Kernel attributes (sysfs, procfs) are re-read by pread at
 * offset 0 on a descriptor kept open, which saves the open and close of every sample (most of a
 * sampler's cost); files of a fake tree are read by path each time, since tests replace them by
 * rename, which a kept descriptor would not see. */
typedef struct jp_kfile {
    char path[PATH_MAX];
    int fd; /* -1: read by path */
} jp_kfile;
/* keep: the file lives in a real kernel tree (jp_roots' *_real). Opening never fails: a file that
 * cannot be opened now is read by path, and read errors say why. */
void jp_kfile_init(jp_kfile *f, const char *path, bool keep);
/* As jp_read_text and jp_read_u64. */
int jp_kfile_read_text(jp_kfile *f, char *buf, size_t len);
int jp_kfile_read_u64(jp_kfile *f, uint64_t *out);
void jp_kfile_close(jp_kfile *f);

/* snprintf into buf; returns JP_ERR_RANGE (with a message) if it did not fit. */
int jp_pathf(char *buf, size_t len, const char *fmt, ...) JP_PRINTF(3, 4);

/* Opens a file to read: O_CLOEXEC, and O_NONBLOCK while opening so that a FIFO never blocks; refuses
 * (JP_ERR_IO, one message naming the file and what it is) anything but the kinds allowed. Returns the
 * descriptor, or a negative status. */
#define JP_OPEN_REGULAR 1u
#define JP_OPEN_CHARDEV 2u
int jp_open_read(const char *path, unsigned kinds);
/* The same as a stdio stream (regular files only); NULL with *rc and jp_last_error() set. */
FILE *jp_fopen_read(const char *path, int *rc);
/* Reads a whole regular file of at most max bytes into *out (malloc'd, NUL-terminated after *len bytes).
 * JP_ERR_RANGE when it is larger. */
int jp_read_file(const char *path, size_t max, unsigned char **out, size_t *len);

/* Reads a small text file whole (up to len-1 bytes), NUL-terminated, trailing newline removed.
 * Errors: JP_ERR_PERM (EACCES/EPERM), JP_ERR_NOTFOUND (ENOENT), JP_ERR_IO otherwise; the message
 * names the path. */
int jp_read_text(const char *path, char *buf, size_t len);
/* Reads a file holding one unsigned decimal integer (sysfs style). JP_ERR_PARSE on anything else. */
int jp_read_u64(const char *path, uint64_t *out);
/* Parses one unsigned decimal integer with optional surrounding whitespace. */
int jp_parse_u64(const char *text, uint64_t *out);
/* Parses a finite double with optional surrounding whitespace. */
int jp_parse_double(const char *text, double *out);

/* snprintf for messages and labels where cutting a too-long text is the intent (the compiler's
 * truncation warnings do not apply). Returns what snprintf returns. */
int jp_textf(char *buf, size_t len, const char *fmt, ...) JP_PRINTF(3, 4);

/* Removes a folder and everything in it (links removed, not followed), in C rather than through a
 * shell. A path already gone is fine. */
int jp_rm_tree(const char *path);

/* Copies src into dst (always NUL-terminated, truncating). */
void jp_strlcpy(char *dst, const char *src, size_t len);

#endif
