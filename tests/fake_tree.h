/* Test helpers: fake /sys, /dev and /proc trees written by the tests, and small assertions. */
#ifndef JP_FAKE_TREE_H
#define JP_FAKE_TREE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Creates a fresh empty directory under $TMPDIR (or /tmp); returns a malloc'd path. */
char *ft_mkroot(const char *tag);
/* Removes a tree made by ft_mkroot and frees the path. */
void ft_rmroot(char *root);
/* Writes text to root/relpath (printf-style relpath is not used: pass a full relative path),
 * creating parent directories. Atomic (write to a temporary name, then rename), so that a
 * meter reading concurrently never sees a half-written value. */
void ft_write(const char *root, const char *relpath, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes raw bytes (for binary files such as a fake /dev/cpu/N/msr). Also atomic. */
void ft_write_bytes(const char *root, const char *relpath, const void *data, size_t len);
/* mkdir -p root/relpath */
void ft_mkdirs(const char *root, const char *relpath);
/* chmod root/relpath */
void ft_chmod(const char *root, const char *relpath, unsigned mode);
/* Removes root/relpath (a file or a whole directory). */
void ft_remove(const char *root, const char *relpath);

/* Runs the jouleprint tool ($JP_CLI, set by ctest) with args (NULL-terminated, without argv[0]);
 * stdout goes to outfile and stderr to errfile (NULL: /dev/null; the same path: both into one file).
 * Returns the exit status (128 + signal if killed); fails the test if JP_CLI is not set. */
int ft_run_cli(const char *outfile, const char *errfile, const char *const *args);
/* Entries of a folder, "." and ".." and other dot names left out; -1 if it cannot be read. */
int ft_count_entries(const char *dir);

/* jp_source_probe (src/source/source.h) with its jp_last_error() copied into why ("" when usable). */
struct jp_source_ops;
struct jp_source_env;
int ft_probe(const struct jp_source_ops *ops, const struct jp_source_env *env, char *why, size_t len);

#endif
