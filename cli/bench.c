/* jouleprint bench: run a spec's models, score them, store the run, report. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jouleprint/bench.h"

static const char help[] =
    "usage: jouleprint bench [options] SPEC.yaml\n"
    "\n"
    "Runs every model of every task in SPEC on the same items, measures the energy of each run\n"
    "(split into load and inference when the model marks them), scores the predictions, and\n"
    "reports energy per item, accuracy, the saving of each model against the largest, the Pareto\n"
    "front, and the emissions of a projected volume. The run is stored (SQLite) for `jouleprint\n"
    "report`. The whole spec is checked before anything runs. Ctrl-C stops the model in progress\n"
    "and keeps what finished.\n"
    "\n"
    "A model is an external command with placeholders ({inputs}: a file listing the items,\n"
    "{outputs}: where it writes one prediction per line, {n}: the item count), or a builtin. A\n"
    "command may print \"JOULEPRINT PHASE load\" and \"JOULEPRINT PHASE infer\" to split its energy.\n"
    "Each command runs in a process group of its own, with JP_BENCH_SESSION (a mark of the session)\n"
    "in its environment: what it leaves running is killed when the session ends, however it ends (a\n"
    "watchdog process outlives a kill -9). Each model is stored as soon as it is measured, and said to\n"
    "be (\"TASK / MODEL: stored\") once the store holds it.\n"
    "See include/jouleprint/bench.h, examples/study.yaml or examples/seed/*.yaml for the spec format.\n"
    "\n"
    "  --check            validate SPEC and exit (every error is listed, one line each)\n"
    "  --db PATH          the results store (default jouleprint.db)\n"
    "  --no-store         do not store the run\n"
    "  --project N        project emissions to N items (default: the spec's, else 100000000)\n"
    "  --format F         table (default), csv, json, md or html\n"
    "  -o, --output FILE  write the report to FILE (format from its extension unless --format)\n"
    "  --workdir DIR      keep inputs, outputs and logs of every model in DIR\n" CLI_CARBON_HELP
    "                     (without --region: the spec's region, if it names one)\n" CLI_METER_HELP
    "\n"
    "exit status: 0 every model ran, 4 some model failed or timed out, 130 interrupted\n"
    "\n"
    "examples:\n"
    "  jouleprint bench --check examples/study-quick.yaml\n"
    "  jouleprint bench --region gcp:us-west1 examples/study-quick.yaml\n"
    "  jouleprint bench -o report.html examples/study-quick.yaml\n";

/* what the signal handler sets: file-scope by necessity (a handler gets no context) */
static volatile sig_atomic_t interrupted;

#define ERRORS_MAX 32768 /* the spec's error lines shown at most */

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = type == FTW_DP ? rmdir(path) : unlink(path);
    return r != 0 && errno != ENOENT ? -1 : 0;
}

/* Removes the work folder in C (no shell): links removed, not followed; contents before folders. */
static void rm_tree(const char *dir)
{
    if (dir && *dir && strcmp(dir, "/")) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The variable every command a session runs inherits (set in the session after the watchdog is
 * forked), with a value unique to the session: the watchdog's way to find the session's models by
 * their environment when it was never told their process group. */
#define WATCH_VAR "JP_BENCH_SESSION"

/* The processes whose environment (as they were started) holds exactly `entry` ("NAME=value"): each
 * killed, with its process group (not this process's own). Reads /proc; bounded per process. */
static void kill_marked(const char *entry)
{
    DIR *d = opendir("/proc");
    if (!d) return;
    size_t elen = strlen(entry);
    pid_t self = getpid(), own_group = getpgrp();
    struct dirent *e;
    enum { ENV_MAX = 1 << 17 };
    char *env = malloc(ENV_MAX);
    if (!env) {
        closedir(d);
        return;
    }
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == self) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/environ", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        size_t n = 0;
        ssize_t r;
        while (n < ENV_MAX - 1 && (r = read(fd, env + n, ENV_MAX - 1 - n)) > 0) n += (size_t)r;
        close(fd);
        env[n] = '\0';
        /* NUL-separated entries: one of them is the entry, whole */
        bool found = false;
        for (size_t i = 0; i < n && !found; i += strlen(env + i) + 1)
            found = strlen(env + i) == elen && !memcmp(env + i, entry, elen);
        if (!found) continue;
        pid_t pg = getpgid((pid_t)pid);
        if (pg > 1 && pg != own_group) kill(-pg, SIGKILL);
        kill((pid_t)pid, SIGKILL);
    }
    free(env);
    closedir(d);
}

/* The session's watchdog: a small process that outlives a kill -9 of this one. It reads the process
 * group of the model running (runner.c writes it, and 0 when it is gone) and a final -1 when the
 * session ends normally; if the pipe closes without that -1, this process died: it kills the model's
 * group, then every process started with the session's mark in its environment (a model the session
 * had started but not yet named: the kill came between its start and the write), and removes the work
 * folder (tmp: NULL to keep it). Returns the write end, or -1. */
static int start_watchdog(const char *tmp, const char *mark, pid_t *wpid)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[1]);
        /* it must not die of the terminal's Ctrl-C or hang-up before the session it watches */
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        int32_t pg = 0, v;
        for (;;) {
            ssize_t n = read(p[0], &v, sizeof v);
            if (n < 0 && errno == EINTR) continue;
            if (n != (ssize_t)sizeof v) break; /* the session died */
            if (v == -1) _exit(0);             /* ended normally: it cleaned up itself */
            pg = v;
        }
        if (pg > 0) kill(-pg, SIGKILL);
        /* twice: a process forked while the first pass read /proc is in a group killed, or found now */
        for (int pass = 0; pass < 2 && mark; pass++) kill_marked(mark);
        if (tmp) rm_tree(tmp);
        _exit(0);
    }
    close(p[0]);
    *wpid = pid;
    return p[1];
}

static void stop_watchdog(int fd, pid_t pid)
{
    if (fd < 0) return;
    int32_t done = -1;
    ssize_t w = write(fd, &done, sizeof done);
    (void)w;
    close(fd);
    waitpid(pid, NULL, 0);
}

struct store_ctx {
    const char *cmd;
    jp_store *db;
    bool failed; /* said once */
};

/* Stores the run so far after each model: saved the first time, updated under its id after. Only once
 * the store has committed it does a line say so: a model announced as stored survives a kill -9 of
 * this process at any later moment (bench/kill_test.sh holds the tool to that line). Nothing before it
 * (the pass's "N items in" line) means that the model is kept. */
static void store_model(struct store_ctx *s, const struct jp_bench_event *ev)
{
    if (!s->db || s->failed) return;
    struct jp_bench_run *run = ev->run;
    int rc = run->id > 0 ? jp_store_update(s->db, run) : jp_store_save(s->db, run);
    if (rc != JP_OK) {
        s->failed = true;
        cli_error(s->cmd, "cannot store the run as it goes (it is kept in memory): %s", jp_last_error());
        return;
    }
    fprintf(stderr, "%s: %s / %s: stored (run %ld, incomplete until the session ends)\n", s->cmd, ev->task,
            ev->model, run->id);
    fflush(stderr);
}

/* When the store cannot take the run, the run is written as JSON beside it (else to stderr), and one
 * line says where. */
/* What a session does with the runner's events: draws the progress, stores each model as it ends. */
struct session_events {
    struct cli_progress progress;
    struct store_ctx store;
};

static void on_event(const struct jp_bench_event *ev, void *arg)
{
    struct session_events *s = arg;
    if (ev->kind == JP_BENCH_MODEL_END)
        store_model(&s->store, ev);
    else
        cli_bench_progress(ev, &s->progress);
}

static void fallback_json(const char *cmd, const char *db_path, const struct jp_bench_run *run)
{
    char path[4200];
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(path, sizeof path, "%s.run-%s-%ld.json", db_path, stamp, (long)getpid());
    struct cli_out o;
    FILE *f = cli_open_out(cmd, path, &o);
    if (f) {
        if (jp_report_write(f, run, JP_REPORT_JSON) == JP_OK && !cli_close_out(cmd, &o, path)) {
            fprintf(stderr, "%s: the run could not be stored in %s: it is written to %s\n", cmd, db_path, path);
            return;
        }
        cli_discard_out(&o); /* nothing half-written left behind (no-op if already closed) */
    }
    fprintf(stderr, "%s: the run could not be stored in %s nor written beside it: here it is as JSON\n", cmd, db_path);
    jp_report_write(stderr, run, JP_REPORT_JSON);
}

int cli_bench_session(const char *cmd, const struct jp_spec *spec, struct jp_bench_options *o, const char *db_path,
                      const char *workdir, struct jp_bench_run *run)
{
    memset(run, 0, sizeof *run);
    jp_store *db = NULL;
    if (db_path && jp_store_open(&db, db_path, JP_STORE_CREATE) != JP_OK) {
        cli_error(cmd, "%s", jp_last_error());
        return CLI_EXIT_FAIL;
    }
    char tmpdir[4096];
    if (workdir) {
        if (cli_pathf(cmd, tmpdir, sizeof tmpdir, "%s", workdir) != 0) {
            jp_store_close(db);
            return CLI_EXIT_FAIL;
        }
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/jouleprint-bench-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpdir)) {
            cli_error(cmd, "cannot create a work folder in %s: %s", t && *t ? t : "/tmp", strerror(errno));
            jp_store_close(db);
            return CLI_EXIT_FAIL;
        }
    }
    o->workdir = tmpdir;
    /* progress on stderr; each model stored as soon as it is measured */
    struct session_events events = {.store = {cmd, db, false}};
    cli_progress_init(&events.progress, stderr);
    o->on_event = on_event;
    o->on_event_arg = &events;
    o->interrupted = &interrupted;
    /* OMP_THREAD_LIMIT set by the tool for Tesseract (cli/main.c), not by the user: the commands a spec
     * runs get the environment the user gave */
    static const char *const tool_env[] = {"OMP_THREAD_LIMIT", CLI_OMP_MARK, NULL};
    if (getenv(CLI_OMP_MARK)) o->unset_env = tool_env;
    /* the model's process group killed and the work folder removed however this process ends (a watchdog
     * for kill -9) */
    pid_t wpid = 0;
    char mark[96];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(mark, sizeof mark, WATCH_VAR "=%ld.%ld.%ld", (long)getpid(), (long)ts.tv_sec, ts.tv_nsec);
    o->watch_fd = start_watchdog(workdir ? NULL : tmpdir, mark, &wpid);
    /* the session's models inherit the mark (a session inside a model's command sets its own) */
    const char *outer = getenv(WATCH_VAR);
    char *outer_copy = outer ? strdup(outer) : NULL;
    if (o->watch_fd >= 0) setenv(WATCH_VAR, mark + strlen(WATCH_VAR "="), 1);
    /* SIGTERM and SIGHUP as SIGINT: stop, keep and store what finished */
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa, old[3];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &sa, &old[i]);
    int rc = jp_bench_run_spec(spec, o, run);
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &old[i], NULL);
    if (!workdir) rm_tree(tmpdir);
    stop_watchdog(o->watch_fd, wpid);
    o->watch_fd = -1;
    if (outer_copy) setenv(WATCH_VAR, outer_copy, 1);
    else unsetenv(WATCH_VAR);
    free(outer_copy);
    if (rc != JP_OK) {
        cli_error(cmd, "%s", jp_last_error());
        jp_store_close(db);
        jp_bench_run_clear(run);
        return CLI_EXIT_FAIL;
    }
    int status = 0;
    if (db) {
        int src = events.store.failed ? JP_ERR_IO : run->id > 0 ? jp_store_update(db, run) : jp_store_save(db, run);
        if (src != JP_OK) {
            if (!events.store.failed) cli_error(cmd, "the run was measured but could not be stored: %s", jp_last_error());
            fallback_json(cmd, db_path, run);
            status = CLI_EXIT_FAIL;
        } else {
            fprintf(stderr, "%s: stored as run %ld in %s (jouleprint report --db %s --run %ld)\n", cmd, run->id,
                    jp_store_path(db), db_path, run->id);
        }
        jp_store_close(db);
    }
    return status;
}

/* 0 if every model ran, 4 if one failed or timed out, 130 if the session was interrupted. */
int cli_bench_status(const struct jp_bench_run *run)
{
    if (run->status == JP_RUN_INTERRUPTED) return 130;
    for (size_t t = 0; t < run->ntasks; t++)
        for (size_t i = 0; i < run->tasks[t].nmodels; i++)
            if (run->tasks[t].models[i].status != JP_MODEL_OK) return 4;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"check", no_argument, NULL, 'c'},       {"db", required_argument, NULL, 'd'},
        {"no-store", no_argument, NULL, 'n'},    {"project", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"workdir", required_argument, NULL, 'W'}, {"help", no_argument, NULL, 'h'},
        CLI_METER_LONGOPTS,                      CLI_CARBON_LONGOPTS,
        {0, 0, 0, 0}};
    struct cli_meter_opts mo;
    cli_meter_opts_init(&mo);
    struct cli_carbon_opts co;
    cli_carbon_opts_init(&co);
    struct jp_bench_options o;
    jp_bench_options_init(&o);
    const char *db_path = "jouleprint.db", *outpath = NULL, *format = NULL, *workdir = NULL;
    int check = 0, store = 1, opt;
    optind = 1;
    while ((opt = cli_getopt("bench", argc, argv, "o:h", longopts)) != -1) {
        switch (opt) {
        case 'c': check = 1; break;
        case 'd': db_path = optarg; break;
        case 'n': store = 0; break;
        case 'p': {
            char *end;
            errno = 0;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(v >= 1 && v <= 1e15)) {
                cli_error("bench", "--project %s: expected a number of items from 1 to 1e15", optarg);
                return CLI_EXIT_USAGE;
            }
            o.project_n = v;
            break;
        }
        case 'f': format = optarg; break;
        case 'o': outpath = optarg; break;
        case 'W': workdir = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: {
            int r = cli_carbon_option("bench", &co, opt, optarg);
            if (r == 0) r = cli_meter_option("bench", &mo, opt, optarg);
            if (r == 1) break;
            return CLI_EXIT_USAGE;
        }
        }
    }
    if (optind != argc - 1) {
        cli_error("bench", optind >= argc ? "no spec: jouleprint bench [options] SPEC.yaml" : "one spec at a time");
        return CLI_EXIT_USAGE;
    }
    enum jp_report_format fmt = JP_REPORT_TABLE;
    if (format && jp_report_format_parse(format, &fmt) != JP_OK) {
        cli_error("bench", "--format: %s", jp_last_error());
        return CLI_EXIT_USAGE;
    }
    if (outpath && strcmp(outpath, "-") && jp_report_format_for_output(outpath, format ? &fmt : NULL, &fmt) != JP_OK) {
        cli_error("bench", "-o %s", jp_last_error());
        return CLI_EXIT_USAGE;
    }
    if (mo.baseline_s > 0) {
        cli_error("bench", "--baseline: set the session's idle baseline in the spec (baseline: 5s)");
        return CLI_EXIT_USAGE;
    }
    struct jp_spec spec;
    char *errors = malloc(ERRORS_MAX);
    if (!errors) {
        cli_error("bench", "out of memory");
        return CLI_EXIT_FAIL;
    }
    int nerrors = 0;
    int lrc = jp_spec_load_all(argv[optind], &spec, errors, ERRORS_MAX, &nerrors);
    if (lrc != JP_OK) {
        /* every error, one line each, so that one --check shows everything to fix */
        for (char *line = errors, *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (!nl) break;
            *nl = '\0';
            cli_error("bench", "%s", line);
        }
        int shown = 0;
        for (const char *p = errors; *p; p++) shown += *p == '\n' ? 1 : 0;
        if (nerrors > shown) cli_error("bench", "... and %d more errors", nerrors - shown);
        if (nerrors > 1) cli_error("bench", "%s: %d errors", argv[optind], nerrors);
        free(errors);
        return CLI_EXIT_USAGE;
    }
    free(errors);
    /* the intensity, resolved once: --region (else the spec's), --year, --intensity, --intensity-file */
    if (!co.region && spec.region[0]) co.region = spec.region;
    jp_intensity ci;
    if (cli_carbon_resolve("bench", &co, &ci)) {
        jp_spec_free(&spec);
        return CLI_EXIT_USAGE;
    }
    o.intensity = &ci;
    o.pue = co.pue;
    if (check) {
        size_t models = 0;
        for (size_t i = 0; i < spec.ntasks; i++) models += spec.tasks[i].nmodels;
        printf("%s: valid: %zu task%s, %zu model%s\n", argv[optind], spec.ntasks, spec.ntasks == 1 ? "" : "s", models,
               models == 1 ? "" : "s");
        jp_spec_free(&spec);
        return 0;
    }
    o.meter = mo.cfg;
    struct jp_bench_run run;
    int status = cli_bench_session("bench", &spec, &o, store ? db_path : NULL, workdir, &run);
    jp_spec_free(&spec);
    if (status == CLI_EXIT_FAIL && !run.tasks) return status;
    struct cli_out oo;
    FILE *out = cli_open_out("bench", outpath, &oo);
    if (!out || jp_report_write(out, &run, fmt) != JP_OK) {
        if (out) cli_error("bench", "report: %s", jp_last_error());
        status = CLI_EXIT_FAIL;
        cli_discard_out(&oo); /* no half-written report (stdout: nothing to undo) */
    }
    if (out && out != stdout && oo.f && cli_close_out("bench", &oo, outpath) != 0) status = CLI_EXIT_FAIL;
    if (out == stdout) fflush(stdout);
    if (!status) status = cli_bench_status(&run);
    jp_bench_run_clear(&run);
    return status;
}
