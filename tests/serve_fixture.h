/* Test helpers for `jouleprint serve`: start it in the background on a loopback port over fake
 * trees, read its log, talk HTTP to it over loopback, and pick metrics out of an exposition.
 * Header-only (static functions) for test_serve.c and test_serve_prometheus.c. */
#ifndef JP_SERVE_FIXTURE_H
#define JP_SERVE_FIXTURE_H

#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SF_FN static __attribute__((unused))

#include "fake_tree.h"

SF_FN double sf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads a whole file into a malloc'd string ("" if missing). */
static char *sf_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (f) {
        char tmp[8192];
        size_t n;
        while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
            if (len + n + 1 > cap) {
                cap = (len + n + 1) * 2;
                buf = realloc(buf, cap);
                if (!buf) abort();
            }
            memcpy(buf + len, tmp, n);
            len += n;
        }
        fclose(f);
    }
    if (!buf) buf = calloc(1, 1);
    else buf[len] = '\0';
    return buf;
}

/* How many times needle occurs in hay. */
SF_FN int sf_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

struct sf_server {
    pid_t pid;
    int port;
    char log[4096];
};

/* Starts `jouleprint serve --listen 127.0.0.1:0 ARGS...` (stderr into log) and waits up to 60 s for
 * its "listening on" line; returns 0, or -1 if it exited or never listened (log says why). */
SF_FN int sf_start(struct sf_server *s, const char *dir, const char *const *args)
{
    const char *cli = getenv("JP_CLI");
    if (!cli) {
        fprintf(stderr, "JP_CLI is not set: run the tests under ctest\n");
        abort();
    }
    snprintf(s->log, sizeof s->log, "%s/serve-%d.log", dir, (int)time(NULL) ^ (int)getpid());
    static int seq;
    snprintf(s->log, sizeof s->log, "%s/serve-%d.log", dir, ++seq);
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* a test that fails (cmocka longjmps past sf_stop) or is killed must not leave its exporter
         * running: the server ends with the test */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(125);
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDWR);
        if (fd < 0 || nul < 0) _exit(125);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(fd, 2);
        const char *argv[64];
        int n = 0;
        argv[n++] = cli;
        argv[n++] = "serve";
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
        for (const char *const *a = args; a && *a && n < 63; a++) argv[n++] = *a;
        argv[n] = NULL;
        execv(cli, (char *const *)argv);
        _exit(126);
    }
    s->pid = pid;
    s->port = 0;
    double deadline = sf_now() + 60;
    while (sf_now() < deadline) {
        char *log = sf_slurp(s->log);
        const char *p = strstr(log, "listening on http");
        if (p && (p = strstr(p, "://127.0.0.1:")) != NULL) s->port = atoi(p + 13);
        free(log);
        if (s->port > 0) return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            return -1;
        }
        usleep(20000);
    }
    return -1;
}

/* SIGTERM, then waits (up to 30 s, then SIGKILL); returns the exit status (128+signal if killed). */
SF_FN int sf_stop(struct sf_server *s)
{
    if (s->pid <= 0) return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    double deadline = sf_now() + 30;
    while (waitpid(s->pid, &st, WNOHANG) == 0) {
        if (sf_now() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            break;
        }
        usleep(20000);
    }
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Waits up to timeout s for needle in the server's log. */
SF_FN bool sf_wait_log(const struct sf_server *s, const char *needle, double timeout)
{
    double deadline = sf_now() + timeout;
    do {
        char *log = sf_slurp(s->log);
        bool found = strstr(log, needle) != NULL;
        free(log);
        if (found) return true;
        usleep(20000);
    } while (sf_now() < deadline);
    return false;
}

/* A connected loopback socket with send/receive timeouts, or -1. */
SF_FN int sf_connect(int port, double timeout)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval tv = {(time_t)timeout, (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends a raw request and reads the whole answer (the server closes: Connection: close). Returns
 * the HTTP status (0 if none came within timeout); *resp gets the answer (malloc'd). */
SF_FN int sf_raw(int port, const char *request, double timeout, char **resp)
{
    *resp = calloc(1, 1);
    int fd = sf_connect(port, timeout);
    if (fd < 0) return 0;
    size_t len = strlen(request), off = 0;
    while (off < len) {
        ssize_t w = send(fd, request + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    size_t n = 0, cap = 1;
    char buf[16384];
    ssize_t r;
    double deadline = sf_now() + timeout;
    while ((r = recv(fd, buf, sizeof buf, 0)) > 0 && sf_now() < deadline) {
        if (n + (size_t)r + 1 > cap) {
            cap = (n + (size_t)r + 1) * 2;
            *resp = realloc(*resp, cap);
            if (!*resp) abort();
        }
        memcpy(*resp + n, buf, (size_t)r);
        n += (size_t)r;
        (*resp)[n] = '\0';
    }
    close(fd);
    int status = 0;
    if (n > 12 && !strncmp(*resp, "HTTP/1.", 7)) status = atoi(*resp + 9);
    return status;
}

/* GET path with an Accept header (NULL: none); *body points into *resp after the headers. */
SF_FN int sf_get(int port, const char *path, const char *accept, char **resp, const char **body)
{
    char req[1024];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sConnection: close\r\n\r\n",
                       path, accept ? "Accept: " : "", accept ? accept : "", accept ? "\r\n" : "");
    if (len < 0 || (size_t)len >= sizeof req) {
        /* a cut request would ask for another path: the test is wrong, not the server */
        fprintf(stderr, "sf_get: the request for %.60s... is longer than %zu bytes\n", path, sizeof req - 1);
        abort();
    }
    int st = sf_raw(port, req, 10, resp);
    const char *b = strstr(*resp, "\r\n\r\n");
    *body = b ? b + 4 : *resp + strlen(*resp);
    return st;
}

/* The value of the sample whose line starts with prefix (name and labels, up to the value), or NAN. */
SF_FN double sf_metric(const char *text, const char *prefix)
{
    size_t pl = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (!strncmp(p, prefix, pl) && p[pl] == ' ') return strtod(p + pl + 1, NULL);
    }
    return NAN;
}

/* A free loopback port (bound and closed: a small race, which callers retry). */
SF_FN int sf_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &sl) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- the fake machine ---------------------------------------------------------------------------- */

#define SF_PKG_RANGE_UJ 262143328850ULL
#define SF_DRAM_RANGE_UJ 60000000ULL /* 60 J, so that the test can wrap it in three steps */
#define SF_BUSY_CG "system.slice/busy.service"
#define SF_IDLE_CG "system.slice/idle.service"
#define SF_POD_CG                                                                                                   \
    "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b2c3d_0000_1111_2222_333344445555.slice/" \
    "cri-containerd-4f5e6d7c8b9a4f5e6d7c8b9a4f5e6d7c8b9a4f5e6d7c8b9a4f5e6d7c8b9a0011.scope"

/* The fake machine: package-0 at pkg_w, dram-0 at dram_w; the machine's busy CPU time grows at
 * 8 CPUs, busy.service's at 6 CPUs and idle.service's at 0.5 CPU, so that the two cgroups get
 * 6/8 and 0.5/8 of the energy. Eight busy CPUs, not one: /proc/stat counts in jiffies (10 ms), and
 * 80 of them per 100 ms sample keep the rounding of each sample's share within about 1%. Written in
 * lockstep every 2 ms by a thread. */
struct sf_fake {
    char *root;
    char sys[4096];
    double pkg_w, dram_w;
    double pkg_j, dram_j; /* the counters as written last */
    double t0, t_last;
    double busy_cpu, busy_cg, idle_cg; /* CPU seconds */
    volatile int stop;
    bool dram_gone; /* the dram zone was removed: write it no more */
    bool idle_gone; /* idle.service was removed: likewise */
    pthread_t th;
    bool running;
};

SF_FN void sf_write_energy(struct sf_fake *f, const char *zone, double joules, uint64_t range)
{
    char rel[256];
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/energy_uj", zone);
    ft_write(f->root, rel, "%llu\n", (unsigned long long)((uint64_t)llround(joules * 1e6) % range));
}

SF_FN void sf_write_cpu(struct sf_fake *f)
{
    ft_write(f->root, "proc/stat", "cpu  %llu 0 0 %llu 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n",
             (unsigned long long)llround(f->busy_cpu * 100), (unsigned long long)llround(100000 + f->busy_cpu * 25));
    ft_write(f->root, "sys/fs/cgroup/" SF_BUSY_CG "/cpu.stat", "usage_usec %llu\nuser_usec 0\nsystem_usec 0\n",
             (unsigned long long)llround(f->busy_cg * 1e6));
    if (!f->idle_gone)
        ft_write(f->root, "sys/fs/cgroup/" SF_IDLE_CG "/cpu.stat", "usage_usec %llu\nuser_usec 0\nsystem_usec 0\n",
                 (unsigned long long)llround(f->idle_cg * 1e6));
}

/* Advances the fake machine by dt seconds (of its own time, not the clock's) and writes every file. */
SF_FN void sf_fake_step(struct sf_fake *f, double dt)
{
    f->busy_cpu += 8.0 * dt;
    f->busy_cg += 6.0 * dt;
    f->idle_cg += 0.5 * dt;
    f->pkg_j += f->pkg_w * dt;
    f->dram_j += f->dram_w * dt;
    sf_write_cpu(f); /* CPU time first, then energy, as a sample reads them the other way round */
    sf_write_energy(f, "intel-rapl:0", f->pkg_j, SF_PKG_RANGE_UJ);
    if (!f->dram_gone) sf_write_energy(f, "intel-rapl:0:0", f->dram_j, SF_DRAM_RANGE_UJ);
}

SF_FN void *sf_fake_main(void *arg)
{
    struct sf_fake *f = arg;
    while (!f->stop) {
        double t = sf_now(), dt = t - f->t_last;
        f->t_last = t;
        sf_fake_step(f, dt);
        usleep(2000);
    }
    return NULL;
}

SF_FN void sf_fake_make(struct sf_fake *f)
{
    memset(f, 0, sizeof *f);
    f->root = ft_mkroot("serve");
    f->pkg_w = 20;
    f->dram_w = 5;
    f->pkg_j = 1;
    f->dram_j = 0.5;
    ft_write(f->root, "sys/class/powercap/intel-rapl:0/name", "package-0\n");
    ft_write(f->root, "sys/class/powercap/intel-rapl:0/max_energy_range_uj", "%llu\n", SF_PKG_RANGE_UJ);
    ft_write(f->root, "sys/class/powercap/intel-rapl:0:0/name", "dram\n");
    ft_write(f->root, "sys/class/powercap/intel-rapl:0:0/max_energy_range_uj", "%llu\n", SF_DRAM_RANGE_UJ);
    sf_write_energy(f, "intel-rapl:0", f->pkg_j, SF_PKG_RANGE_UJ);
    sf_write_energy(f, "intel-rapl:0:0", f->dram_j, SF_DRAM_RANGE_UJ);
    ft_write(f->root, "sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
    ft_write(f->root, "sys/fs/cgroup/" SF_POD_CG "/cpu.stat", "usage_usec 5000\n");
    sf_write_cpu(f);
    snprintf(f->sys, sizeof f->sys, "%s/sys", f->root);
    char proc[4096];
    snprintf(proc, sizeof proc, "%s/proc", f->root);
    setenv("JP_SYSFS_ROOT", f->sys, 1);
    setenv("JP_PROC_ROOT", proc, 1);
    unsetenv("JP_CGROUP_ROOT"); /* the default: <JP_SYSFS_ROOT>/fs/cgroup */
    unsetenv("JP_REGION");
}

SF_FN void sf_fake_run(struct sf_fake *f)
{
    f->stop = 0;
    f->t_last = sf_now();
    if (pthread_create(&f->th, NULL, sf_fake_main, f) != 0) abort();
    f->running = true;
}

SF_FN void sf_fake_pause(struct sf_fake *f)
{
    if (!f->running) return;
    f->stop = 1;
    pthread_join(f->th, NULL);
    f->running = false;
}

SF_FN void sf_fake_free(struct sf_fake *f)
{
    sf_fake_pause(f);
    ft_rmroot(f->root);
}


#endif
