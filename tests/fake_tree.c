#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "fake_tree.h"

#include "source/source.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
    fprintf(stderr, "fake_tree: %s %s: %s\n", what, path, strerror(errno));
    abort();
}

char *ft_mkroot(const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/jp-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    if (!mkdtemp(buf)) die("mkdtemp", buf);
    return strdup(buf);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    /* tests may have removed read permission; never through a link, whose target is not the tree's
     * (chmod follows links: a tree holding a link to /dev/null left /dev/null at mode 0700) */
    if (flag != FTW_SL && flag != FTW_SLN) chmod(path, 0700);
    return remove(path);
}

void ft_rmroot(char *root)
{
    if (!root) return;
    nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(root);
}

void ft_mkdirs(const char *root, const char *relpath)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", root, relpath);
    for (char *p = buf + strlen(root) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) die("mkdir", buf);
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) die("mkdir", buf);
}

void ft_write_bytes(const char *root, const char *relpath, const void *data, size_t len)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", root, relpath);
    char *slash = strrchr(path, '/');
    if (slash && slash > path + strlen(root)) {
        *slash = '\0';
        ft_mkdirs(root, path + strlen(root) + 1);
        *slash = '/';
    }
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) die("open", tmp);
    if (len && fwrite(data, 1, len, f) != len) die("write", tmp);
    if (fclose(f) != 0) die("close", tmp);
    if (rename(tmp, path) != 0) die("rename", path);
}

void ft_write(const char *root, const char *relpath, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof text) {
        errno = ERANGE;
        die("format", relpath);
    }
    ft_write_bytes(root, relpath, text, (size_t)n);
}

void ft_chmod(const char *root, const char *relpath, unsigned mode)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, relpath);
    if (chmod(path, (mode_t)mode) != 0) die("chmod", path);
}

void ft_remove(const char *root, const char *relpath)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, relpath);
    nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int ft_run_cli(const char *outfile, const char *errfile, const char *const *args)
{
    const char *cli = getenv("JP_CLI");
    if (!cli) {
        fprintf(stderr, "fake_tree: JP_CLI is not set: run the tests under ctest\n");
        abort();
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(outfile ? outfile : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = errfile && outfile && !strcmp(errfile, outfile) ? o
                                                                : open(errfile ? errfile : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(125);
        dup2(o, 1);
        dup2(e, 2);
        const char *argv[64];
        int n = 0;
        argv[n++] = cli;
        for (const char *const *a = args; *a && n < 63; a++) argv[n++] = *a;
        argv[n] = NULL;
        execv(cli, (char *const *)argv);
        _exit(126);
    }
    int ws;
    if (pid < 0 || waitpid(pid, &ws, 0) != pid) return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

int ft_probe(const struct jp_source_ops *ops, const struct jp_source_env *env, char *why, size_t len)
{
    int rc = jp_source_probe(ops, env);
    snprintf(why, len, "%s", rc == JP_OK ? "" : jp_last_error());
    return rc;
}

int ft_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}
