/*
 * Running a command (public: jp_spawn_run): the one place that starts a child process, for the bench
 * runner, `jouleprint stat` and `record`, and the workloads that run a program (ots).
 *
 * posix_spawn, not fork: the caller may be a large process with a sampling thread running; glibc's
 * posix_spawn neither copies its page tables nor runs code between fork and exec, and it returns the
 * exec error itself.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void jp_spawn_config_init(jp_spawn_config *c)
{
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->in = c->out = c->err = JP_SPAWN_INHERIT;
}

/* The caller's environment less the names in unset (a new array of the same strings), or environ itself. */
static char **child_env(const char *const *unset, char ***owned)
{
    *owned = NULL;
    if (!unset || !*unset) return environ;
    size_t n = 0;
    while (environ && environ[n]) n++;
    char **env = malloc((n + 1) * sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool drop = false;
        for (const char *const *u = unset; *u && !drop; u++) {
            size_t len = strlen(*u);
            drop = !strncmp(environ[i], *u, len) && environ[i][len] == '=';
        }
        if (!drop) env[k++] = environ[i];
    }
    env[k] = NULL;
    *owned = env;
    return env;
}

/* Puts fd in the place of stream target in the child (JP_SPAWN_* or a descriptor). */
static int set_stream(posix_spawn_file_actions_t *fa, int fd, int target)
{
    if (fd == JP_SPAWN_INHERIT || fd == target) return 0;
    if (fd == JP_SPAWN_NULL) return posix_spawn_file_actions_addopen(fa, target, "/dev/null", target ? O_WRONLY : O_RDONLY, 0);
    return posix_spawn_file_actions_adddup2(fa, fd, target);
}

static double rusage_cpu(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec * 1e-6 + (double)ru->ru_stime.tv_sec +
           (double)ru->ru_stime.tv_usec * 1e-6;
}

/* The lines of the command's stdout, as they come. */
struct lines {
    const jp_spawn_config *cfg;
    char buf[4096];
    size_t have;
};

static void lines_add(struct lines *l, const char *data, size_t n)
{
    while (n > 0) {
        size_t take = sizeof l->buf - 1 - l->have;
        if (take > n) take = n;
        memcpy(l->buf + l->have, data, take);
        l->have += take;
        data += take;
        n -= take;
        size_t start = 0;
        for (size_t i = 0; i < l->have; i++)
            if (l->buf[i] == '\n') {
                l->buf[i] = '\0';
                l->cfg->on_line(l->cfg->arg, l->buf + start, i - start);
                start = i + 1;
            }
        l->have -= start;
        memmove(l->buf, l->buf + start, l->have);
        if (l->have == sizeof l->buf - 1) { /* a very long line: passed on in pieces */
            l->buf[l->have] = '\0';
            l->cfg->on_line(l->cfg->arg, l->buf, l->have);
            l->have = 0;
        }
    }
}

static void lines_end(struct lines *l)
{
    if (!l->have) return;
    l->buf[l->have] = '\0';
    l->cfg->on_line(l->cfg->arg, l->buf, l->have);
    l->have = 0;
}

/* Reads what the pipe has; false once it is closed (or failed). */
static bool read_pipe(int fd, struct lines *l)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;
    if (l->cfg->on_line) lines_add(l, chunk, (size_t)n);
    return true;
}

/* SIGTERM to the command (its group), SIGKILL if it is still there 2 s later; reaps it. */
static void stop(pid_t pid, bool group, int *ws, struct rusage *ru)
{
    kill(group ? -pid : pid, SIGTERM);
    for (int i = 0; i < 40; i++) {
        pid_t w = wait4(pid, ws, WNOHANG, ru);
        if (w == pid || (w < 0 && errno != EINTR)) {
            if (group) kill(-pid, SIGKILL); /* what it started and left behind */
            return;
        }
        usleep(50000);
    }
    kill(group ? -pid : pid, SIGKILL);
    while (wait4(pid, ws, 0, ru) < 0 && errno == EINTR) {
    }
}

int jp_spawn_run(char *const argv[], const jp_spawn_config *cfg, jp_spawn_result *res)
{
    if (!argv || !argv[0] || !argv[0][0] || !cfg || !res) return jp_fail(JP_ERR_INVAL, "jp_spawn_run: no command given");
    if (cfg->in < JP_SPAWN_NULL || cfg->err < JP_SPAWN_NULL || cfg->out < JP_SPAWN_LINES)
        return jp_fail(JP_ERR_INVAL, "jp_spawn_run: a stream is not a descriptor nor a JP_SPAWN_ value");
    memset(res, 0, sizeof *res);
    res->exit_status = -1;

    int pfd[2] = {-1, -1};
    if (cfg->out == JP_SPAWN_LINES && pipe2(pfd, O_CLOEXEC) != 0)
        return jp_fail(JP_ERR_SPAWN, "cannot run '%.200s': no pipe for its output: %s", argv[0], strerror(errno));
    char **owned;
    char **env = child_env(cfg->unset_env, &owned);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int e = env ? 0 : ENOMEM;
    bool fa_ok = false, at_ok = false;
    if (!e) e = posix_spawn_file_actions_init(&fa);
    fa_ok = !e;
    if (!e) e = posix_spawnattr_init(&at);
    at_ok = !e;
    if (!e) e = set_stream(&fa, cfg->in, 0);
    if (!e) e = set_stream(&fa, cfg->out == JP_SPAWN_LINES ? pfd[1] : cfg->out, 1);
    if (!e) e = set_stream(&fa, cfg->err, 2);
    if (!e && cfg->dir) e = posix_spawn_file_actions_addchdir_np(&fa, cfg->dir);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGQUIT);
    sigaddset(&def, SIGPIPE);
    short flags = POSIX_SPAWN_SETSIGDEF | (cfg->new_group ? POSIX_SPAWN_SETPGROUP : 0);
    if (!e) e = posix_spawnattr_setsigdefault(&at, &def);
    if (!e) e = posix_spawnattr_setpgroup(&at, 0);
    if (!e) e = posix_spawnattr_setflags(&at, flags);
    pid_t pid = -1;
    fflush(NULL); /* nothing the caller buffered is written twice or late */
    if (!e) e = posix_spawnp(&pid, argv[0], fa_ok ? &fa : NULL, &at, argv, env);
    double t0 = jp_now();
    if (fa_ok) posix_spawn_file_actions_destroy(&fa);
    if (at_ok) posix_spawnattr_destroy(&at);
    free(owned);
    if (pfd[1] >= 0) close(pfd[1]);
    if (e) {
        if (pfd[0] >= 0) close(pfd[0]);
        return jp_fail(JP_ERR_SPAWN, "cannot run '%.200s'%s%.200s: %s", argv[0], cfg->dir ? " in " : "",
                       cfg->dir ? cfg->dir : "", strerror(e));
    }
    if (cfg->on_start) cfg->on_start(cfg->arg, pid);

    struct lines lines = {.cfg = cfg};
    int fd = pfd[0];
    double deadline = cfg->timeout_s > 0 ? t0 + cfg->timeout_s : INFINITY;
    bool exited = false;
    int ws = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    res->end = JP_SPAWN_EXITED;
    if (fd < 0 && !(cfg->timeout_s > 0) && !cfg->interrupted && !cfg->on_tick) {
        /* nothing to watch: wait for it alone (no polling delay in the time measured around it) */
        while (wait4(pid, &ws, 0, &ru) < 0 && errno == EINTR) {
        }
        exited = true;
    }
    useconds_t wait_us = 500;
    while (!exited || fd >= 0) {
        if (cfg->interrupted && *cfg->interrupted) {
            res->end = JP_SPAWN_INTERRUPTED;
            break;
        }
        if (jp_now() > deadline) {
            res->end = JP_SPAWN_TIMEOUT;
            break;
        }
        if (!exited && wait4(pid, &ws, WNOHANG, &ru) == pid) exited = true;
        if (fd >= 0 && exited) {
            /* it is gone, but something it started may still hold its output: what is in the pipe now
             * is read (at most 1 MiB), then the run ends */
            struct pollfd pf = {fd, POLLIN, 0};
            for (int i = 0; i < 256 && poll(&pf, 1, 0) > 0 && read_pipe(fd, &lines); i++) {
            }
            close(fd);
            fd = -1;
        } else if (fd >= 0) {
            struct pollfd pf = {fd, POLLIN, 0};
            if (poll(&pf, 1, 100) > 0 && !read_pipe(fd, &lines)) {
                close(fd);
                fd = -1;
            }
        } else if (!exited) {
            /* no output to wait on: look again soon, then less often */
            usleep(wait_us);
            if (wait_us < 20000) wait_us *= 2;
        }
        if (cfg->on_tick) cfg->on_tick(cfg->arg);
    }
    if (fd >= 0) close(fd);
    if (cfg->on_line) lines_end(&lines);
    if (!exited)
        stop(pid, cfg->new_group, &ws, &ru);
    else if (cfg->new_group)
        kill(-pid, SIGKILL); /* the command is gone; whatever it started in its group goes with it */
    res->wall_s = jp_now() - t0;
    res->cpu_s = rusage_cpu(&ru);
    if (WIFSIGNALED(ws)) {
        res->signal = WTERMSIG(ws);
        res->exit_status = 128 + res->signal;
        if (res->end == JP_SPAWN_EXITED) res->end = JP_SPAWN_SIGNALED;
    } else if (WIFEXITED(ws)) {
        res->exit_status = WEXITSTATUS(ws);
    }
    if (cfg->on_start) cfg->on_start(cfg->arg, 0);
    return JP_OK;
}
