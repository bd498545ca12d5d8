#define _POSIX_C_SOURCE 200809L
#include "proc.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int parse_cpu_line(const char *path, const char *buf, struct jp_cpu_times *out)
{
    if (strncmp(buf, "cpu ", 4) != 0)
        return jp_fail(JP_ERR_PARSE, "%s: expected the first line to start with \"cpu \"", path);
    uint64_t v[8] = {0};
    const char *p = buf + 4;
    for (int i = 0; i < 8; i++) {
        char *end;
        while (*p == ' ') p++;
        if (*p < '0' || *p > '9') {
            if (i >= 4) break; /* old kernels have fewer fields */
            return jp_fail(JP_ERR_PARSE, "%s: field %d of the cpu line is not a number", path, i + 1);
        }
        v[i] = strtoull(p, &end, 10);
        p = end;
    }
    /* user nice system idle iowait irq softirq steal */
    out->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    out->total = out->busy + v[3] + v[4];
    return JP_OK;
}

int jp_proc_cpu_times(const jp_roots *roots, struct jp_cpu_times *out)
{
    char path[PATH_MAX];
    int rc = jp_pathf(path, sizeof path, "%s/stat", roots->proc);
    if (rc != JP_OK) return rc;
    jp_kfile f;
    jp_kfile_init(&f, path, false);
    return jp_proc_cpu_times_kfile(&f, out);
}

int jp_proc_cpu_times_kfile(jp_kfile *f, struct jp_cpu_times *out)
{
    char buf[4096];
    int rc = jp_kfile_read_text(f, buf, sizeof buf);
    return rc != JP_OK ? rc : parse_cpu_line(f->path, buf, out);
}

double jp_proc_hz(void)
{
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)hz : 100.0;
}

struct pinfo {
    pid_t pid, ppid;
    uint64_t ticks;
};

/* Parses "pid (comm) state ppid ... utime stime ..." where comm may hold spaces and ')'. */
static int parse_stat(const char *buf, struct pinfo *pi)
{
    const char *close = strrchr(buf, ')');
    if (!close) return -1;
    pi->pid = (pid_t)atol(buf);
    const char *p = close + 1;
    /* fields after comm: 3 state, 4 ppid, ..., 14 utime, 15 stime */
    int field = 2;
    unsigned long long ut = 0, st = 0;
    while (*p && field < 15) {
        while (*p == ' ') p++;
        field++;
        if (field == 4) pi->ppid = (pid_t)atol(p);
        if (field == 14) ut = strtoull(p, NULL, 10);
        if (field == 15) st = strtoull(p, NULL, 10);
        while (*p && *p != ' ') p++;
    }
    if (field < 15) return -1;
    pi->ticks = ut + st;
    return 0;
}

int jp_proc_tree_cpu(const jp_roots *roots, pid_t pid, double *seconds)
{
    DIR *d = opendir(roots->proc);
    if (!d) return jp_fail(JP_ERR_IO, "%s: cannot list processes", roots->proc);
    size_t n = 0, cap = 256;
    struct pinfo *all = malloc(cap * sizeof *all);
    if (!all) {
        closedir(d);
        return jp_fail(JP_ERR_NOMEM, "out of memory listing processes");
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[PATH_MAX], buf[1024];
        if (jp_pathf(path, sizeof path, "%s/%s/stat", roots->proc, e->d_name) != JP_OK) continue;
        if (jp_read_text(path, buf, sizeof buf) != JP_OK) continue; /* exited meanwhile */
        struct pinfo pi;
        if (parse_stat(buf, &pi) != 0) continue;
        if (n == cap) {
            struct pinfo *na = realloc(all, 2 * cap * sizeof *all);
            if (!na) break;
            all = na;
            cap *= 2;
        }
        all[n++] = pi;
    }
    closedir(d);
    /* mark the tree: repeat until no new member is found (parents may be listed after children) */
    unsigned char *in = calloc(n ? n : 1, 1);
    if (!in) {
        free(all);
        return jp_fail(JP_ERR_NOMEM, "out of memory listing processes");
    }
    bool grew = true;
    for (size_t i = 0; i < n; i++)
        if (all[i].pid == pid) in[i] = 1;
    while (grew) {
        grew = false;
        for (size_t i = 0; i < n; i++) {
            if (in[i]) continue;
            for (size_t j = 0; j < n; j++)
                if (in[j] && all[j].pid == all[i].ppid) {
                    in[i] = 1;
                    grew = true;
                    break;
                }
        }
    }
    uint64_t ticks = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i]) ticks += all[i].ticks;
    free(in);
    free(all);
    *seconds = (double)ticks / jp_proc_hz();
    return JP_OK;
}

static double rusage_seconds(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

double jp_self_cpu_seconds(void)
{
    /* the children too: work an in-process measurement hands to a program (the ots baseline, run once
     * per text) is this process's work, and was charged to "other work" without them */
    return rusage_seconds(RUSAGE_SELF) + rusage_seconds(RUSAGE_CHILDREN);
}

void jp_cpu_mark_now(const jp_roots *roots, struct jp_cpu_mark *m)
{
    m->machine_ok = roots && jp_proc_cpu_times(roots, &m->machine) == JP_OK;
    m->cpu = jp_self_cpu_seconds();
    m->t = jp_now();
}

double jp_cpu_share_between(const struct jp_cpu_mark *a, const struct jp_cpu_mark *b)
{
    if (!a->machine_ok || !b->machine_ok || b->machine.busy < a->machine.busy) return -1;
    double busy = (double)(b->machine.busy - a->machine.busy) / jp_proc_hz(), cpu = b->cpu - a->cpu;
    if (busy <= 0) return cpu > 0 ? 1.0 : 0.0;
    return cpu / busy > 1 ? 1.0 : cpu / busy;
}
