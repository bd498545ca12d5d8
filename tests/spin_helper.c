/* The command test_stat_cli measures for attribution: spins, then (on a fake /proc) makes the
 * machine's busy time twice its own CPU time, and writes "<cpu seconds> <busy jiffies added>" to a
 * report file. A program of its own, built without sanitizers even in the sanitizer build: the tool
 * counts the command's exit, and a sanitized process's exit (unmapping the shadow memory) costs tens
 * of milliseconds of CPU that the command cannot report, more on a busy machine.
 * Usage: spin_helper N REPORT */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 3) return 2;
    long n = atol(argv[1]);
    volatile double acc = 0;
    for (long i = 0; i < n; i++) acc += (double)i * 1e-9;
    double cpu = self_cpu_s();
    long added = 0;
    const char *proc = getenv("JP_PROC_ROOT");
    if (proc) {
        char path[4200], tmp[4300];
        snprintf(path, sizeof path, "%s/stat", proc);
        FILE *f = fopen(path, "r");
        unsigned long long user, idle;
        if (!f || fscanf(f, "cpu %llu 0 0 %llu", &user, &idle) != 2) return 3;
        fclose(f);
        added = lround(2 * cpu * (double)sysconf(_SC_CLK_TCK));
        if (added < 1) added = 1;
        /* replaced whole, by rename, as the tests' fake trees are */
        snprintf(tmp, sizeof tmp, "%s.spin", path);
        FILE *w = fopen(tmp, "w");
        if (!w) return 3;
        fprintf(w, "cpu  %llu 0 0 %llu 0 0 0 0 0 0\n", user + (unsigned long long)added, idle + (unsigned long long)added);
        if (fclose(w) != 0 || rename(tmp, path) != 0) return 3;
    }
    FILE *r = fopen(argv[2], "w");
    if (!r) return 4;
    fprintf(r, "%.6f %ld\n", self_cpu_s(), added);
    /* nothing after the report: no exit handlers */
    fflush(NULL);
    _exit((fclose(r) != 0) + (acc < 0));
}
