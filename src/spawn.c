/*
 * Running a command (public: jp_spawn_run): the one place that starts a child process, for the bench
 * runner, `jouleprint stat` and `record`, and the workloads that run a program (ots).
 *
 * posix_spawn, not fork: the caller may be a large process with a sampling thread running; glibc's
 * posix_spawn neither copies its page tables nor runs code between fork and exec, and it returns the
 * exec error itself.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */
#include "spawn_wait.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

/* ---- waiting for the command without polling -------------------------------------------------------
 *
 * A descriptor that becomes readable when the command has exited, so that one poll() waits for its
 * output, its exit, the next tick and the timeout together, and wakes at once when it exits: a pidfd
 * (pidfd_open, Linux 5.3), or where the kernel has none, a pipe written by a thread that waits in
 * waitid(WNOWAIT). That thread never reaps: the command stays this thread's to reap with wait4 (and its
 * rusage), and the caller's signal handling is left alone (no SIGCHLD handler). */

static bool use_pidfd = true;

void jp_spawn_wait_kind(bool pidfd)
{
    use_pidfd = pidfd;
}

struct waiter {
    int fd;      /* readable once the command has exited; -1: none (then looked at every 10 ms) */
    int wfd;     /* the thread's end of its pipe */
    pid_t pid;
    bool thread; /* a waiting thread was started (joined by waiter_close) */
    pthread_t th;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    siginfo_t si;
    /* returns when the command is a zombie (not reaped), or ECHILD once it has been reaped */
    while (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
    char b = 1;
    while (write(w->wfd, &b, 1) < 0 && errno == EINTR) {
    }
    return NULL;
}

static void waiter_open(struct waiter *w, pid_t pid)
{
    memset(w, 0, sizeof *w);
    w->fd = w->wfd = -1;
    w->pid = pid;
#ifdef SYS_pidfd_open
    if (use_pidfd) {
        long fd = syscall(SYS_pidfd_open, pid, 0);
        if (fd >= 0) {
            (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC); /* pidfd_open sets it; said again for old kernels' sake */
            w->fd = (int)fd;
            return;
        }
    }
#endif
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    w->fd = p[0];
    w->wfd = p[1];
    if (pthread_create(&w->th, NULL, wait_thread, w) != 0) {
        close(p[0]);
        close(p[1]);
        w->fd = w->wfd = -1;
        return;
    }
    w->thread = true;
}

/* after the command was reaped */
static void waiter_close(struct waiter *w)
{
    if (w->thread) pthread_join(w->th, NULL);
    if (w->fd >= 0) close(w->fd);
    if (w->wfd >= 0) close(w->wfd);
    w->fd = w->wfd = -1;
    w->thread = false;
}

/* Waits until the command has exited or timeout_ms passed (< 0: no limit); true if it has exited
 * (not reaped yet). */
static bool waiter_wait(const struct waiter *w, int timeout_ms)
{
    if (w->fd < 0) {
        siginfo_t si;
        for (int waited = 0; timeout_ms < 0 || waited <= timeout_ms; waited += 10) {
            memset(&si, 0, sizeof si);
            if (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOWAIT | WNOHANG) < 0 || si.si_pid == w->pid) return true;
            if (timeout_ms >= 0 && waited >= timeout_ms) break;
            usleep(10000);
        }
        return false;
    }
    struct pollfd pf = {w->fd, POLLIN, 0};
    int r;
    while ((r = poll(&pf, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    return r > 0;
}

/* Reaps the command if it has exited; true once it is reaped (or was reaped by someone else). */
static bool reap(pid_t pid, int *ws, struct rusage *ru, bool *lost)
{
    pid_t r;
    while ((r = wait4(pid, ws, WNOHANG, ru)) < 0 && errno == EINTR) {
    }
    if (r == pid) return true;
    if (r < 0) { /* ECHILD: not ours to reap any more (SIGCHLD ignored by the caller): its status is lost */
        *lost = true;
        return true;
    }
    return false;
}

/* SIGTERM to the command (its group), SIGKILL if it is still there 2 s later; reaps it. */
static void stop(pid_t pid, bool group, const struct waiter *w, int *ws, struct rusage *ru, bool *lost)
{
    kill(group ? -pid : pid, SIGTERM);
    double end = jp_now() + 2.0;
    for (;;) {
        if (reap(pid, ws, ru, lost)) {
            if (group) kill(-pid, SIGKILL); /* what it started and left behind */
            return;
        }
        double left = end - jp_now();
        if (left <= 0) break;
        waiter_wait(w, (int)(left * 1000) + 1);
    }
    kill(group ? -pid : pid, SIGKILL);
    while (wait4(pid, ws, 0, ru) < 0) {
        if (errno != EINTR) {
            *lost = true;
            break;
        }
    }
}

/* milliseconds from now until t (seconds, jp_now's clock), rounded up; -1 for INFINITY */
static int ms_until(double t, double now)
{
    if (isinf(t)) return -1;
    double ms = (t - now) * 1000.0;
    if (ms <= 0) return 0;
    if (ms > 3600000.0) return 3600000;
    return (int)ms + 1;
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
    bool exited = false, lost = false;
    int ws = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    res->end = JP_SPAWN_EXITED;
    struct waiter w = {.fd = -1, .wfd = -1};
    if (fd < 0 && !(cfg->timeout_s > 0) && !cfg->interrupted && !cfg->on_tick) {
        /* nothing to watch: wait for it alone */
        while (wait4(pid, &ws, 0, &ru) < 0) {
            if (errno != EINTR) {
                lost = true;
                break;
            }
        }
        exited = true;
    } else {
        waiter_open(&w, pid);
    }
    /* Each pass sleeps in one poll() until there is output, the command exits, the next tick is due
     * (every 100 ms, when there is a tick or an interrupt flag to look at) or the timeout: no pass
     * without one of these, whenever the command ends. */
    bool ticking = cfg->on_tick || cfg->interrupted;
    double next_tick = t0 + 0.1;
    while (!exited || fd >= 0) {
        if (cfg->interrupted && *cfg->interrupted) {
            res->end = JP_SPAWN_INTERRUPTED;
            break;
        }
        double now = jp_now();
        if (now > deadline) {
            res->end = JP_SPAWN_TIMEOUT;
            break;
        }
        if (ticking && now >= next_tick) {
            if (cfg->on_tick) cfg->on_tick(cfg->arg);
            next_tick += 0.1;
            if (next_tick < now) next_tick = now + 0.1; /* a late pass does not bring a burst of ticks */
            continue;
        }
        double until = ticking && next_tick < deadline ? next_tick : deadline;
        int timeout_ms = ms_until(until, now);
        bool out_ready = false, gone = false;
        if (!exited && w.fd < 0) {
            /* no descriptor for its exit (no pidfd, no thread): looked at every 10 ms */
            if (timeout_ms < 0 || timeout_ms > 10) timeout_ms = 10;
            gone = true; /* checked by reap below */
        }
        struct pollfd pf[2];
        int np = 0, ip = -1, iw = -1;
        if (fd >= 0) {
            ip = np;
            pf[np++] = (struct pollfd){fd, POLLIN, 0};
        }
        if (!exited && w.fd >= 0) {
            iw = np;
            pf[np++] = (struct pollfd){w.fd, POLLIN, 0};
        }
        int r = np ? poll(pf, (nfds_t)np, timeout_ms) : (usleep((useconds_t)timeout_ms * 1000), 0);
        if (r < 0) continue; /* EINTR: the interrupt flag is looked at first */
        if (ip >= 0 && pf[ip].revents) out_ready = true;
        if (iw >= 0 && pf[iw].revents) gone = true;
        if (gone && !exited && reap(pid, &ws, &ru, &lost)) exited = true;
        if (fd >= 0 && exited) {
            /* it is gone, but something it started may still hold its output: what is in the pipe now
             * is read (at most 1 MiB), then the run ends */
            struct pollfd p1 = {fd, POLLIN, 0};
            for (int i = 0; i < 256 && poll(&p1, 1, 0) > 0 && read_pipe(fd, &lines); i++) {
            }
            close(fd);
            fd = -1;
        } else if (out_ready && !read_pipe(fd, &lines)) {
            close(fd); /* closed by the command: its exit is waited for alone */
            fd = -1;
        }
    }
    if (fd >= 0) close(fd);
    if (cfg->on_line) lines_end(&lines);
    if (!exited)
        stop(pid, cfg->new_group, &w, &ws, &ru, &lost);
    else if (cfg->new_group)
        kill(-pid, SIGKILL); /* the command is gone; whatever it started in its group goes with it */
    waiter_close(&w);
    res->wall_s = jp_now() - t0;
    res->cpu_s = rusage_cpu(&ru);
    if (lost) {
        /* reaped by someone else (the caller ignores SIGCHLD): how it ended is not known */
    } else if (WIFSIGNALED(ws)) {
        res->signal = WTERMSIG(ws);
        res->exit_status = 128 + res->signal;
        if (res->end == JP_SPAWN_EXITED) res->end = JP_SPAWN_SIGNALED;
    } else if (WIFEXITED(ws)) {
        res->exit_status = WEXITSTATUS(ws);
    }
    if (cfg->on_start) cfg->on_start(cfg->arg, 0);
    return JP_OK;
}
