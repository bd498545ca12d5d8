/* Nothing measured is lost: a bench stores each model as soon as it is measured (the run "incomplete"
 * until the end); SIGTERM and SIGHUP stop it as SIGINT does, with what finished stored; a kill -9
 * leaves the finished models in the store, no process of the model and no work folder (the session's
 * watchdog); a store that cannot take the run gets it as JSON beside it; a report that cannot be
 * written whole (the file size limit standing for a full disk) leaves no file, not a cut one. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "fake_tree.h"

static char dir[256], tmp[300], tag[64];

static void write_spec(const char *name, const char *second_cmd)
{
    char path[400], text[4096];
    snprintf(path, sizeof path, "%s/items.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 10; i++) fprintf(f, "item-%d\n", i);
    fclose(f);
    snprintf(text, sizeof text,
             "repeats: 1\nwarmup: 0\ntimeout: 60s\ntasks:\n  - name: persist\n    items: items.txt\n    scorer: none\n    models:\n"
             "      - name: first\n        command: sh -c 'cat {inputs} > {outputs}'\n"
             "      - name: second\n        command: %s\n",
             second_cmd);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Starts the tool in the background with TMPDIR set to tmp; returns its pid. */
static pid_t start_cli(const char *const *args, const char *errfile)
{
    const char *cli = getenv("JP_CLI");
    assert_non_null(cli);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open("/dev/null", O_WRONLY);
        int e = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        setenv("TMPDIR", tmp, 1);
        const char *argv[32];
        int n = 0;
        argv[n++] = cli;
        for (const char *const *a = args; *a && n < 31; a++) argv[n++] = *a;
        argv[n] = NULL;
        execv(cli, (char *const *)argv);
        _exit(126);
    }
    return pid;
}

static long query(const char *db, const char *sql, char *text, size_t len)
{
    sqlite3 *h;
    long v = -1;
    if (text && len) text[0] = '\0';
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return -1;
    }
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        if (text && sqlite3_column_text(st, 0)) snprintf(text, len, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* Waits (up to 60 s) until the store holds the first model; the session is then in the second. */
static void wait_first_stored(const char *db)
{
    for (int i = 0; i < 1200; i++) {
        if (query(db, "SELECT count(*) FROM models WHERE name = 'first' AND status = 'ok'", NULL, 0) == 1) return;
        usleep(50000);
    }
    fail_msg("the first model was never stored while the session ran");
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* The models' background shells, by the unique word in their command line ("sleep 120; echo TAG"). */
static int orphans(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "pgrep -f '[s]leep 120; echo %s' > /dev/null", tag);
    return system(cmd) == 0;
}

/* kills them by process id (what pgrep found with this test's own word) */
static void kill_orphans(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "for p in $(pgrep -f '[s]leep 120; echo %s'); do kill -9 $p; done", tag);
    if (system(cmd)) {
    }
}

/* The orphan check finds what it looks for (it once looked for text no model ran, and never failed). */
static void test_orphan_check_sees_a_tagged_process(void **state)
{
    (void)state;
    char script[128];
    snprintf(script, sizeof script, "sleep 120; echo %s", tag);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* in a group of its own (killed whole below), its output nowhere near ctest's pipes */
        setpgid(0, 0);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(126);
    }
    assert_true(pid > 0);
    setpgid(pid, pid);
    int seen = 0;
    for (int i = 0; i < 100 && !(seen = orphans()); i++) usleep(20000);
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_true(seen);
    assert_false(orphans());
}

/* The file's text holds s (read whole; up to 64 KiB). */
static bool file_holds(const char *path, const char *s)
{
    char buf[65536];
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, s) != NULL;
}

static void wait_text(const char *path, const char *s)
{
    for (int i = 0; i < 1200; i++) {
        if (file_holds(path, s)) return;
        usleep(50000);
    }
    fail_msg("%s never said \"%s\"", path, s);
}

static void test_signals_keep_what_finished(void **state)
{
    (void)state;
    static const int sigs[] = {SIGTERM, SIGHUP, SIGINT};
    static const char *names[] = {"TERM", "HUP", "INT"};
    char second[256];
    snprintf(second, sizeof second, "sh -c 'sh -c \"sleep 120; echo %s\" & sleep 120'", tag);
    write_spec("sig.yaml", second);
    for (int k = 0; k < 3; k++) {
        char db[400], spec[400], err[400];
        snprintf(db, sizeof db, "%s/sig-%s.db", dir, names[k]);
        snprintf(spec, sizeof spec, "%s/sig.yaml", dir);
        snprintf(err, sizeof err, "%s/sig.err", dir);
        const char *args[] = {"bench", "--db", db, spec, NULL};
        pid_t pid = start_cli(args, err);
        wait_first_stored(db);
        char status[64];
        query(db, "SELECT status FROM runs", status, sizeof status);
        assert_string_equal(status, "incomplete");
        usleep(300000);
        kill(pid, sigs[k]);
        int ws;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        assert_true(WIFEXITED(ws));
        assert_int_equal(WEXITSTATUS(ws), 130);
        query(db, "SELECT status FROM runs", status, sizeof status);
        assert_string_equal(status, "interrupted");
        assert_int_equal(query(db, "SELECT count(*) FROM runs", NULL, 0), 1);
        assert_int_equal(query(db, "SELECT count(*) FROM models WHERE name = 'first' AND status = 'ok'", NULL, 0), 1);
        assert_int_equal(query(db, "SELECT count(*) FROM models WHERE name = 'second' AND status = 'interrupted'", NULL, 0),
                         1);
        usleep(200000);
        if (orphans()) {
            kill_orphans();
            fail_msg("SIG%s: the model's background process survived the session", names[k]);
        }
        assert_int_equal(count_entries(tmp), 0);
    }
}

static void test_kill9_keeps_finished_models(void **state)
{
    (void)state;
    char second[256];
    snprintf(second, sizeof second, "sh -c 'sh -c \"sleep 120; echo %s\" & sleep 120'", tag);
    write_spec("kill.yaml", second);
    char db[400], spec[400], err[400];
    snprintf(db, sizeof db, "%s/kill.db", dir);
    snprintf(spec, sizeof spec, "%s/kill.yaml", dir);
    snprintf(err, sizeof err, "%s/kill.err", dir);
    const char *args[] = {"bench", "--db", db, spec, NULL};
    pid_t pid = start_cli(args, err);
    wait_first_stored(db);
    usleep(300000);
    assert_int_equal(count_entries(tmp), 1); /* the session's work folder */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* the watchdog: the model's group killed, the work folder removed */
    for (int i = 0; i < 100 && (orphans() || count_entries(tmp) > 0); i++) usleep(50000);
    int left = orphans();
    if (left) kill_orphans();
    assert_false(left);
    assert_int_equal(count_entries(tmp), 0);
    char ok[16];
    query(db, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    assert_int_equal(query(db, "SELECT count(*) FROM models WHERE name = 'first' AND status = 'ok'", NULL, 0), 1);
    char status[64];
    query(db, "SELECT status FROM runs", status, sizeof status);
    assert_string_equal(status, "incomplete");
    /* the report reads it */
    const char *rep[] = {"report", "--db", db, "--format", "csv", NULL};
    assert_int_equal(ft_run_cli(NULL, NULL, rep), 0);
}

/* A model is announced as stored ("persist / first: stored") only once the store has committed it: with
 * the store's write lock held by someone else, the model's command has ended (its pass line is out) and
 * the session waits on the lock, without the line; once the lock is let go the line comes, and a kill -9
 * right after it leaves the model in the store (bench/kill_test.sh holds the tool to this line). */
static void test_stored_announced_after_commit(void **state)
{
    (void)state;
    char second[256];
    snprintf(second, sizeof second, "sh -c 'sh -c \"sleep 120; echo %s\" & sleep 120'", tag);
    write_spec("lock.yaml", second);
    char db[400], spec[400], err[400];
    snprintf(db, sizeof db, "%s/lock.db", dir);
    snprintf(spec, sizeof spec, "%s/lock.yaml", dir);
    snprintf(err, sizeof err, "%s/lock.err", dir);
    /* the store made beforehand (a session on a spec of the first model alone), then its write lock held */
    char one[400];
    snprintf(one, sizeof one, "%s/one.yaml", dir);
    FILE *f = fopen(one, "w");
    assert_non_null(f);
    fputs("repeats: 1\nwarmup: 0\ntasks:\n  - name: once\n    items: items.txt\n    scorer: none\n    models:\n"
          "      - name: only\n        command: sh -c 'cat {inputs} > {outputs}'\n",
          f);
    fclose(f);
    const char *make[] = {"bench", "--db", db, one, NULL};
    assert_int_equal(ft_run_cli(NULL, NULL, make), 0);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    const char *args[] = {"bench", "--db", db, spec, NULL};
    pid_t pid = start_cli(args, err);
    wait_text(err, "persist / first: run 1/1: 10 items");
    usleep(300000);
    bool early = file_holds(err, "persist / first: stored");
    assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    if (early) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("the model was announced as stored while the store was locked");
    }
    wait_text(err, "persist / first: stored (run 2, incomplete until the session ends)");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 100 && (orphans() || count_entries(tmp) > 0); i++) usleep(50000);
    int left = orphans();
    if (left) kill_orphans();
    assert_false(left);
    assert_int_equal(count_entries(tmp), 0);
    assert_int_equal(query(db, "SELECT count(*) FROM models WHERE name = 'first' AND status = 'ok'", NULL, 0), 1);
    char ok[16];
    query(db, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
}

/* The watchdog finds the session's models by the mark in their environment, not only by the process
 * group the session told it: here the model's background shell leaves the group (setsid), as a model
 * started in the moment before the session could name its group to the watchdog is unknown to it. */
static void test_kill9_finds_processes_by_mark(void **state)
{
    (void)state;
    char second[256];
    snprintf(second, sizeof second, "sh -c 'setsid sh -c \"sleep 120; echo %s\" & sleep 120'", tag);
    write_spec("mark.yaml", second);
    char db[400], spec[400], err[400];
    snprintf(db, sizeof db, "%s/mark.db", dir);
    snprintf(spec, sizeof spec, "%s/mark.yaml", dir);
    snprintf(err, sizeof err, "%s/mark.err", dir);
    const char *args[] = {"bench", "--db", db, spec, NULL};
    pid_t pid = start_cli(args, err);
    int seen = 0;
    for (int i = 0; i < 1200 && !(seen = orphans()); i++) usleep(50000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_true(seen);
    for (int i = 0; i < 100 && (orphans() || count_entries(tmp) > 0); i++) usleep(50000);
    int left = orphans();
    if (left) kill_orphans();
    assert_false(left);
    assert_int_equal(count_entries(tmp), 0);
}

/* A store that refuses the run (a trigger standing for a full disk): the run goes to JSON beside it. */
static void test_store_failure_writes_json(void **state)
{
    (void)state;
    write_spec("json.yaml", "sh -c 'cat {inputs} > {outputs}'");
    char db[400], spec[400], err[400];
    snprintf(db, sizeof db, "%s/full.db", dir);
    snprintf(spec, sizeof spec, "%s/json.yaml", dir);
    snprintf(err, sizeof err, "%s/json.err", dir);
    /* a store whose runs table refuses every row */
    const char *init[] = {"report", "--db", db, "--list", NULL};
    (void)init;
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_close(h);
    {
        /* let the tool create its schema, then add the trigger */
        char spec_ok[400];
        snprintf(spec_ok, sizeof spec_ok, "%s/json.yaml", dir);
        const char *first[] = {"bench", "--db", db, spec_ok, NULL};
        assert_int_equal(ft_run_cli(NULL, NULL, first), 0);
    }
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TRIGGER full BEFORE INSERT ON runs BEGIN SELECT RAISE(FAIL, 'database or "
                                     "disk is full'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    const char *args[] = {"bench", "--db", db, spec, NULL};
    pid_t pid = start_cli(args, err);
    int ws;
    waitpid(pid, &ws, 0);
    assert_true(WIFEXITED(ws));
    assert_int_not_equal(WEXITSTATUS(ws), 0);
    /* one line says where; the file is the run as JSON, both models in it */
    FILE *f = fopen(err, "r");
    assert_non_null(f);
    char line[2048], where[1024] = "";
    while (fgets(line, sizeof line, f)) {
        char *at = strstr(line, "it is written to ");
        if (at) {
            snprintf(where, sizeof where, "%s", at + strlen("it is written to "));
            where[strcspn(where, "\n")] = '\0';
        }
    }
    fclose(f);
    assert_true(where[0]);
    assert_non_null(strstr(where, "full.db.run-"));
    json_error_t je;
    json_t *j = json_load_file(where, 0, &je);
    if (!j) fail_msg("%s: %s", where, je.text);
    char *dump = json_dumps(j, 0);
    assert_non_null(strstr(dump, "\"first\""));
    assert_non_null(strstr(dump, "\"second\""));
    free(dump);
    json_decref(j);
}

/* A report that cannot be written whole leaves no file behind (it used to leave a 0-byte one), and an
 * older report at that path stays as it was. */
static void test_report_never_cut(void **state)
{
    (void)state;
    char db[400], out[400];
    snprintf(db, sizeof db, "%s/full.db", dir);
    snprintf(out, sizeof out, "%s/report.html", dir);
    for (int k = 0; k < 2; k++) {
        if (k) {
            FILE *f = fopen(out, "w");
            fputs("old report", f);
            fclose(f);
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            struct rlimit rl = {2000, 2000}; /* bytes: the HTML report is far larger */
            signal(SIGXFSZ, SIG_IGN);
            setrlimit(RLIMIT_FSIZE, &rl);
            const char *args[] = {"report", "--db", db, "--run", "1", "-o", out, NULL};
            _exit(ft_run_cli(NULL, NULL, args));
        }
        int ws;
        waitpid(pid, &ws, 0);
        assert_true(WIFEXITED(ws));
        assert_int_not_equal(WEXITSTATUS(ws), 0);
        struct stat st;
        if (k == 0) assert_int_not_equal(stat(out, &st), 0);
        else {
            assert_int_equal(stat(out, &st), 0);
            assert_int_equal(st.st_size, 10);
        }
        assert_int_equal(count_entries(dir) > 0, 1);
        DIR *d = opendir(dir);
        struct dirent *e;
        while ((e = readdir(d))) assert_null(strstr(e->d_name, ".tmp-"));
        closedir(d);
    }
    /* without the limit it is written */
    const char *args[] = {"report", "--db", db, "--run", "1", "-o", out, NULL};
    assert_int_equal(ft_run_cli(NULL, NULL, args), 0);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_true(st.st_size > 2000);
}

/* A command that leaves a process behind holding its output ends when the command ends (it used to
 * wait for that process, until the timeout), and the process left behind is killed with its group. */
static void test_left_behind_process_killed(void **state)
{
    (void)state;
    char second[256];
    snprintf(second, sizeof second, "sh -c 'sh -c \"sleep 120; echo %s\" & cat {inputs} > {outputs}'", tag);
    write_spec("left.yaml", second);
    char db[400], spec[400], path[400];
    snprintf(db, sizeof db, "%s/left.db", dir);
    snprintf(spec, sizeof spec, "%s/left.yaml", dir);
    /* the spec's timeout is 60 s; ctest's is 300 s */
    snprintf(path, sizeof path, "%s/left.err", dir);
    const char *args[] = {"bench", "--db", db, spec, NULL};
    assert_int_equal(ft_run_cli(NULL, path, args), 0);
    assert_int_equal(query(db, "SELECT count(*) FROM models WHERE status = 'ok'", NULL, 0), 2);
    usleep(200000);
    int left = orphans();
    if (left) kill_orphans();
    assert_false(left);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/jp-test-persist-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    snprintf(tag, sizeof tag, "jptag%ld", (long)getpid());
    return mkdir(tmp, 0755);
}

static int teardown(void **state)
{
    (void)state;
    kill_orphans();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orphan_check_sees_a_tagged_process),
        cmocka_unit_test(test_signals_keep_what_finished),
        cmocka_unit_test(test_stored_announced_after_commit),
        cmocka_unit_test(test_kill9_keeps_finished_models),
        cmocka_unit_test(test_kill9_finds_processes_by_mark),
        cmocka_unit_test(test_left_behind_process_killed),
        cmocka_unit_test(test_store_failure_writes_json),
        cmocka_unit_test(test_report_never_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
