#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "jouleprint %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cli_closest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, len = strlen(word);
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best && best_d <= 2 && 2 * best_d < len ? best : NULL;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    /* a leading ':' (after '+') makes getopt tell a missing value from an unknown option */
    char so[128];
    bool plus = shortopts[0] == '+';
    snprintf(so, sizeof so, "%s:%s", plus ? "+" : "", shortopts + plus);
    opterr = 0;
    int prev = optind;
    int opt = getopt_long(argc, argv, so, longopts, NULL);
    if (opt != '?' && opt != ':') return opt;
    /* the word at fault: getopt has moved past it, unless it stopped inside a cluster (-rx) */
    const char *word = optind > prev && optind - 1 < argc ? argv[optind - 1] : argv[prev < argc ? prev : argc - 1];
    char name[64];
    if (optopt && !(word[0] == '-' && word[1] == '-')) {
        snprintf(name, sizeof name, "-%c", optopt);
    } else {
        size_t k = strcspn(word, "=");
        snprintf(name, sizeof name, "%.*s", (int)(k < 60 ? k : 60), word);
    }
    if (opt == ':') {
        cli_error(cmd, "option '%s' needs a value; see jouleprint %s --help", name, cmd);
        return '?';
    }
    const char *names[64];
    size_t n = 0;
    for (const struct option *o = longopts; o && o->name && n < 64; o++) names[n++] = o->name;
    const char *sug = name[0] == '-' && name[1] == '-' ? cli_closest(name + 2, names, n) : NULL;
    /* an ambiguous prefix (--re: --repeat or --region) is also reported by getopt as '?' */
    size_t matches = 0;
    const char *first = NULL;
    if (name[0] == '-' && name[1] == '-' && name[2])
        for (size_t i = 0; i < n; i++)
            if (!strncmp(names[i], name + 2, strlen(name + 2)) && matches++ == 0) first = names[i];
    if (matches > 1)
        cli_error(cmd, "option '%s' is ambiguous (--%s and %zu more); see jouleprint %s --help", name, first, matches - 1, cmd);
    else if (sug)
        cli_error(cmd, "unknown option '%s' (did you mean --%s?); see jouleprint %s --help", name, sug, cmd);
    else
        cli_error(cmd, "unknown option '%s'; see jouleprint %s --help", name, cmd);
    return '?';
}

int cli_pathf(const char *cmd, char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        cli_error(cmd, "path too long (over %zu bytes): %.80s...", len - 1, buf);
        return -1;
    }
    return 0;
}

struct first_interval {
    jp_meter *m;
    int rc; /* of jp_meter_start_sampling */
};

/* The command is started (pid > 0): the meter's sampling thread is started only if it outlives the
 * meter's first interval, waited for here on a pidfd, which becomes readable when it exits (not reaped:
 * jp_spawn_run reaps it, with its rusage). Without pidfds (Linux before 5.3), at once. */
static void first_interval(void *arg, pid_t pid)
{
    struct first_interval *fi = arg;
    if (pid <= 0) return;
    int fd = -1;
#ifdef SYS_pidfd_open
    fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    if (fd >= 0) {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        double left = jp_meter_interval(fi->m);
        for (;;) {
            struct pollfd pf = {fd, POLLIN, 0};
            int r = poll(&pf, 1, (int)ceil(left * 1000));
            if (r > 0) {
                close(fd);
                return; /* it has exited: no thread */
            }
            if (r == 0 || errno != EINTR) break;
            clock_gettime(CLOCK_MONOTONIC, &t);
            left = jp_meter_interval(fi->m) - ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9);
            if (left <= 0) break;
        }
        close(fd);
    }
    fi->rc = jp_meter_start_sampling(fi->m);
}

int cli_run(const char *cmd, char **argv, bool stdout_to_stderr, jp_meter *deferred, int *status, double *cpu_s)
{
    jp_spawn_config sc;
    jp_spawn_config_init(&sc);
    if (stdout_to_stderr) sc.out = 2;
    struct first_interval fi = {deferred, JP_OK};
    if (deferred) {
        sc.on_start = first_interval;
        sc.arg = &fi;
    }
    /* as time(1): a Ctrl-C is the command's to act on; this process reports what it did */
    struct sigaction ign, old_int, old_quit;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    jp_spawn_result r;
    int rc = jp_spawn_run(argv, &sc, &r);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    if (rc != JP_OK) {
        cli_error(cmd, "%s", jp_last_error());
        return -1;
    }
    if (fi.rc != JP_OK) {
        cli_error(cmd, "%s", jp_last_error());
        return -2;
    }
    *status = r.exit_status;
    *cpu_s = r.cpu_s;
    return 0;
}

void cli_meter_opts_init(struct cli_meter_opts *o)
{
    jp_meter_config_init(&o->cfg);
    o->baseline_s = 0;
}

static int watts_arg(const char *cmd, const char *flag, const char *arg, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end || errno || !isfinite(v) || v < 0 || v > max) {
        cli_error(cmd, "%s %s: expected a number from 0 to %g", flag, arg, max);
        return -1;
    }
    *out = v;
    return 1;
}

int cli_meter_option(const char *cmd, struct cli_meter_opts *o, int opt, const char *arg)
{
    double d;
    switch (opt) {
    case 1000:
        if (jp_parse_duration(arg, &d) != JP_OK) {
            cli_error(cmd, "--interval: %s", jp_last_error());
            return -1;
        }
        if (d < 0.001 || d > 3600) {
            cli_error(cmd, "--interval %s: expected 1ms to 1h", arg);
            return -1;
        }
        o->cfg.interval_s = d;
        return 1;
    case 1001: o->cfg.source = arg; return 1;
    case 1002: return watts_arg(cmd, "--cpu-idle-w", arg, 100000, &o->cfg.model.cpu_idle_w);
    case 1003: return watts_arg(cmd, "--cpu-max-w", arg, 100000, &o->cfg.model.cpu_max_w);
    case 1004: return watts_arg(cmd, "--ram-w-per-gb", arg, 100, &o->cfg.model.ram_w_per_gb);
    case 1005: return watts_arg(cmd, "--ram-gb", arg, 1e6, &o->cfg.model.ram_gb);
    case 1006: return watts_arg(cmd, "--curve", arg, 100, &o->cfg.model.curve);
    case 1007:
        if (jp_parse_duration(arg, &d) != JP_OK) {
            cli_error(cmd, "--baseline: %s", jp_last_error());
            return -1;
        }
        if (d <= 0 || d > 86400) {
            cli_error(cmd, "--baseline %s: expected more than 0 and at most 1 day", arg);
            return -1;
        }
        o->baseline_s = d;
        return 1;
    default: return 0;
    }
}

/* Every file written goes to a temporary name beside it and is renamed over the path only once it is
 * whole and flushed to disk: a full disk or a kill leaves the old file (or none), never a cut one. A
 * symbolic link is followed: the file it names is replaced, the link stays a link. */
FILE *cli_open_out(const char *cmd, const char *path, struct cli_out *o)
{
    o->f = NULL;
    o->tmp[0] = o->dest[0] = '\0';
    if (!path || !strcmp(path, "-")) return o->f = stdout;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        /* a device or a FIFO (-o /dev/null, -o /dev/stderr): written in place; renaming a file over it
         * would replace /dev/null itself with a regular file when run as root */
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            cli_error(cmd, "%s: cannot write: %s", path, strerror(errno));
            if (fd >= 0) close(fd);
        }
        return o->f = f;
    }
    char *real = lstat(path, &st) == 0 && S_ISLNK(st.st_mode) ? realpath(path, NULL) : NULL;
    const char *dest = real ? real : path;
    if (snprintf(o->dest, sizeof o->dest, "%s", dest) >= (int)sizeof o->dest ||
        snprintf(o->tmp, sizeof o->tmp, "%s.tmp-XXXXXX", dest) >= (int)sizeof o->tmp) {
        cli_error(cmd, "%s: cannot write: too long a path", path);
        free(real);
        o->tmp[0] = o->dest[0] = '\0';
        return NULL;
    }
    free(real);
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd < 0) {
        cli_error(cmd, "%s: cannot write: %s", path, strerror(errno));
        o->tmp[0] = '\0';
        return NULL;
    }
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0) { /* as fopen would have made it */
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        cli_error(cmd, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        unlink(o->tmp);
        o->tmp[0] = '\0';
        return NULL;
    }
    return o->f = f;
}

void cli_discard_out(struct cli_out *o)
{
    if (!o || !o->f) return;
    if (o->f != stdout && o->f != stderr) fclose(o->f);
    if (o->tmp[0]) unlink(o->tmp);
    o->f = NULL;
    o->tmp[0] = '\0';
}

int cli_close_out(const char *cmd, struct cli_out *o, const char *path)
{
    if (!o || !o->f) return -1;
    FILE *f = o->f;
    o->f = NULL;
    int bad = ferror(f);
    if (f == stdout || f == stderr) {
        if (fflush(f) != 0) bad = 1;
        if (bad) {
            cli_error(cmd, "%s: write failed: %s", path && *path ? path : "output", strerror(errno));
            return -1;
        }
        return 0;
    }
    bool pending = o->tmp[0] != '\0';
    /* a device or FIFO written in place (not pending) cannot be synced, nor needs to be */
    if (fflush(f) != 0 || (pending && fsync(fileno(f)) != 0)) bad = 1;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!pending) return bad ? -1 : 0;
    if (!bad && rename(o->tmp, o->dest) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) unlink(o->tmp);
    o->tmp[0] = '\0';
    if (bad) {
        cli_error(cmd, "%s: write failed: %s (nothing written)", path && *path ? path : "output", strerror(e));
        return -1;
    }
    return 0;
}

void cli_print_model(FILE *out, const jp_meter *m)
{
    const jp_model_params *mp = jp_meter_model_params(m);
    if (!mp) return;
    char idle[32], max[32];
    jp_format_power(mp->cpu_idle_w, idle, sizeof idle);
    jp_format_power(mp->cpu_max_w, max, sizeof max);
    fprintf(out, "  %-11s CPU idle %s, max %s, curve %.2f; memory %.1f GB x %.3f W/GB\n", "model", idle, max, mp->curve,
            mp->ram_gb, mp->ram_w_per_gb);
    fprintf(out, "  %-11s %s\n", "", mp->basis);
    fprintf(out, "  %-11s no energy counter could be read here: figures are an estimate (see `jouleprint sources`)\n", "");
}

json_t *cli_model_json(const jp_meter *m)
{
    const jp_model_params *p = jp_meter_model_params(m);
    if (!p) return json_null();
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:s}", "cpu_idle_w", p->cpu_idle_w, "cpu_max_w", p->cpu_max_w, "curve",
                     p->curve, "ram_w_per_gb", p->ram_w_per_gb, "ram_gb", p->ram_gb, "basis", p->basis);
}
