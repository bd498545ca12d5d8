/* Running a command (jp_spawn_run): exit codes and signals as a shell gives them, its output line by
 * line (the last line without a newline too, a long one in pieces), the timeout and the interrupt,
 * its process group killed with what it left behind, a start failure in words, folder, environment
 * and standard input, the CPU time it used, and the wait for its end: asleep until something happens
 * (counted as the caller's voluntary context switches, not timed), with a pidfd and with the waiting
 * thread it falls back to, and ending when a caller that ignores SIGCHLD lets the kernel reap it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "jouleprint.h"
#include "spawn_wait.h"

struct seen {
    char lines[8][64];
    size_t lens[8];
    int nlines;
    pid_t started, ended_with;
    int starts;
    pid_t group_at_start;
    int ticks, interrupt_at;
    volatile sig_atomic_t stop;
};

static void on_line(void *arg, const char *line, size_t len)
{
    struct seen *s = arg;
    assert_int_equal(strlen(line), len); /* NUL-terminated at len */
    if (s->nlines < 8) {
        snprintf(s->lines[s->nlines], sizeof s->lines[0], "%.*s", (int)(len < 63 ? len : 63), line);
        s->lens[s->nlines] = len;
    }
    s->nlines++;
}

static void on_start(void *arg, pid_t pid)
{
    struct seen *s = arg;
    if (pid > 0) {
        s->started = pid;
        s->group_at_start = getpgid(pid);
    } else {
        s->ended_with = pid;
    }
    s->starts++;
}

static void on_tick(void *arg)
{
    struct seen *s = arg;
    if (++s->ticks == s->interrupt_at) s->stop = 1;
}

/* pid has ended: no such process, or a zombie its new parent has not reaped yet (where the container's
 * first process does not reap, it stays one) */
static bool ended(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return kill(pid, 0) != 0 && errno == ESRCH;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')');
    return close_paren && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

static bool ends_soon(pid_t pid)
{
    for (int i = 0; i < 250; i++) {
        if (ended(pid)) return true;
        usleep(20000);
    }
    return false;
}

static jp_spawn_result run(char **argv, jp_spawn_config *c)
{
    jp_spawn_result r;
    if (jp_spawn_run(argv, c, &r) != JP_OK) fail_msg("jp_spawn_run %s: %s", argv[0], jp_last_error());
    return r;
}

/* A config whose command's output comes line by line, and its start and end, into s (cleared). */
static jp_spawn_config lines_config(struct seen *s)
{
    memset(s, 0, sizeof *s);
    jp_spawn_config c;
    jp_spawn_config_init(&c);
    c.out = JP_SPAWN_LINES;
    c.on_line = on_line;
    c.on_start = on_start;
    c.arg = s;
    return c;
}

/* The command's first line is the pid of a process it left running: that process has ended since
 * (killed with the command's group). */
static void assert_leftover_ended(const struct seen *s)
{
    assert_int_equal(s->nlines, 1);
    pid_t leftover = (pid_t)atol(s->lines[0]);
    assert_true(leftover > 0);
    assert_true(ends_soon(leftover));
}

static void test_exit_and_signal(void **state)
{
    (void)state;
    jp_spawn_config c;
    jp_spawn_config_init(&c);
    char *ex[] = {"sh", "-c", "exit 3", NULL};
    jp_spawn_result r = run(ex, &c);
    assert_int_equal(r.end, JP_SPAWN_EXITED);
    assert_int_equal(r.exit_status, 3);
    assert_int_equal(r.signal, 0);
    char *sig[] = {"sh", "-c", "kill -TERM $$", NULL};
    r = run(sig, &c);
    assert_int_equal(r.end, JP_SPAWN_SIGNALED);
    assert_int_equal(r.signal, SIGTERM);
    assert_int_equal(r.exit_status, 128 + SIGTERM);
    /* SIGINT at its default in the command even when the caller ignores it */
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old);
    char *intr[] = {"sh", "-c", "kill -INT $$; exit 0", NULL};
    r = run(intr, &c);
    sigaction(SIGINT, &old, NULL);
    assert_int_equal(r.end, JP_SPAWN_SIGNALED);
    assert_int_equal(r.signal, SIGINT);
}

static void test_lines(void **state)
{
    (void)state;
    struct seen s;
    jp_spawn_config c = lines_config(&s);
    char *argv[] = {"printf", "a\\n\\nbb\\nccc", NULL};
    jp_spawn_result r = run(argv, &c);
    assert_int_equal(r.exit_status, 0);
    assert_int_equal(s.nlines, 4);
    assert_string_equal(s.lines[0], "a");
    assert_string_equal(s.lines[1], "");
    assert_string_equal(s.lines[2], "bb");
    assert_string_equal(s.lines[3], "ccc"); /* the last, without a newline */
    /* a line of 5,000 bytes: 4,095 then 905 */
    c = lines_config(&s);
    char *longl[] = {"sh", "-c", "i=0; while [ $i -lt 50 ]; do printf %0100d 0; i=$((i+1)); done; echo; echo end", NULL};
    r = run(longl, &c);
    assert_int_equal(r.exit_status, 0);
    assert_int_equal(s.nlines, 3);
    assert_int_equal(s.lens[0], 4095);
    assert_int_equal(s.lens[1], 905);
    assert_string_equal(s.lines[2], "end");
}

static void test_timeout_kills_the_group(void **state)
{
    (void)state;
    struct seen s;
    jp_spawn_config c = lines_config(&s);
    c.new_group = true;
    c.timeout_s = 0.3;
    /* a child of the command that ignores SIGTERM, and the command itself waiting forever */
    char *argv[] = {"sh", "-c", "trap '' TERM; sleep 60 & echo $!; wait", NULL};
    jp_spawn_result r = run(argv, &c);
    assert_int_equal(r.end, JP_SPAWN_TIMEOUT);
    assert_true(r.wall_s >= 0.3 && r.wall_s < 30);
    assert_int_equal(s.starts, 2);
    assert_true(s.started > 0);
    assert_int_equal(s.group_at_start, s.started); /* its own group, led by it */
    assert_int_equal(s.ended_with, 0);
    assert_leftover_ended(&s);
}

static void test_leftover_holding_output(void **state)
{
    (void)state;
    struct seen s;
    jp_spawn_config c = lines_config(&s);
    c.new_group = true;
    /* the command exits at once, leaving a process that holds its output for a minute: the run ends
     * with the command, and the process goes with the group */
    char *argv[] = {"sh", "-c", "sleep 60 & echo $!; exit 5", NULL};
    jp_spawn_result r = run(argv, &c);
    assert_int_equal(r.end, JP_SPAWN_EXITED);
    assert_int_equal(r.exit_status, 5);
    assert_true(r.wall_s < 30);
    assert_leftover_ended(&s);
}

static void test_interrupt(void **state)
{
    (void)state;
    struct seen s = {0};
    s.interrupt_at = 3;
    jp_spawn_config c;
    jp_spawn_config_init(&c);
    c.on_tick = on_tick;
    c.arg = &s;
    c.interrupted = &s.stop;
    char *argv[] = {"sleep", "60", NULL};
    jp_spawn_result r = run(argv, &c);
    assert_int_equal(r.end, JP_SPAWN_INTERRUPTED);
    assert_int_equal(s.ticks, 3);
    assert_int_equal(r.signal, SIGTERM); /* stopped by SIGTERM, not left running */
}

static void test_cannot_start(void **state)
{
    (void)state;
    jp_spawn_config c;
    jp_spawn_config_init(&c);
    jp_spawn_result r;
    char *argv[] = {"/nonexistent/command", NULL};
    assert_int_equal(jp_spawn_run(argv, &c, &r), JP_ERR_SPAWN);
    assert_string_equal(jp_last_error(), "cannot run '/nonexistent/command': No such file or directory");
    char *ok[] = {"true", NULL};
    c.dir = "/nonexistent/folder";
    assert_int_equal(jp_spawn_run(ok, &c, &r), JP_ERR_SPAWN);
    assert_non_null(strstr(jp_last_error(), "cannot run 'true' in /nonexistent/folder"));
    char *none[] = {NULL};
    jp_spawn_config_init(&c);
    assert_int_equal(jp_spawn_run(none, &c, &r), JP_ERR_INVAL);
    c.out = -7;
    assert_int_equal(jp_spawn_run(ok, &c, &r), JP_ERR_INVAL);
}

static void test_dir_env_stdin(void **state)
{
    (void)state;
    char dir[] = "/tmp/jp-spawn-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("JP_SPAWN_TEST_GONE", "here", 1);
    setenv("JP_SPAWN_TEST_KEPT", "kept", 1);
    static const char *const unset[] = {"JP_SPAWN_TEST_GONE", NULL};
    struct seen s;
    jp_spawn_config c = lines_config(&s);
    c.dir = dir;
    c.unset_env = unset;
    c.in = JP_SPAWN_NULL;
    char *argv[] = {"sh", "-c", "pwd; echo ${JP_SPAWN_TEST_GONE-unset} $JP_SPAWN_TEST_KEPT; cat; echo eof", NULL};
    jp_spawn_result r = run(argv, &c);
    assert_int_equal(r.exit_status, 0);
    assert_int_equal(s.nlines, 3);
    assert_string_equal(s.lines[0], dir);
    assert_string_equal(s.lines[1], "unset kept");
    assert_string_equal(s.lines[2], "eof"); /* cat read /dev/null: nothing */
    assert_string_equal(getenv("JP_SPAWN_TEST_GONE"), "here"); /* the caller's environment untouched */
    rmdir(dir);
}

static void test_cpu_time(void **state)
{
    (void)state;
    jp_spawn_config c;
    jp_spawn_config_init(&c);
    /* CPU time consumed by a child of the command that it waited for, counted */
    char *argv[] = {"sh", "-c", "sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'", NULL};
    jp_spawn_result r = run(argv, &c);
    assert_int_equal(r.exit_status, 0);
    print_message("cpu %.3f s, wall %.3f s\n", r.cpu_s, r.wall_s);
    assert_true(r.cpu_s > 0.05);
}

/* How often this thread has slept (its voluntary context switches so far). */
static long sleeps(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
    return ru.ru_nvcsw;
}

/* The wait sleeps until something happens: a poll that wakes at the timeout, at the command's exit or
 * at its output, not a back-off that looks every few milliseconds (which slept about 25 times a
 * second here). Each case is run with the pidfd and with the waiting thread. */
static void test_waits_asleep(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        jp_spawn_wait_kind(kind == 0);
        /* a command that outlives its timeout of 1 s, nothing else to watch: asleep until the timeout,
         * then until SIGTERM has ended it */
        jp_spawn_config c;
        jp_spawn_config_init(&c);
        c.timeout_s = 1.0;
        char *forever[] = {"sleep", "60", NULL};
        long s0 = sleeps();
        jp_spawn_result r = run(forever, &c);
        long n = sleeps() - s0;
        print_message("%s: timeout: %ld sleeps over %.3f s\n", kind ? "thread" : "pidfd", n, r.wall_s);
        assert_int_equal(r.end, JP_SPAWN_TIMEOUT);
        assert_int_equal(r.signal, SIGTERM);
        assert_in_range(n, 1, 10);
        /* its output closed 1 s before it exits: one line read, then asleep until the exit */
        struct seen s;
        c = lines_config(&s);
        c.new_group = true;
        char *closes[] = {"sh", "-c", "echo a; exec >&-; sleep 1; exit 4", NULL};
        s0 = sleeps();
        r = run(closes, &c);
        n = sleeps() - s0;
        print_message("%s: output closed first: %ld sleeps over %.3f s\n", kind ? "thread" : "pidfd", n, r.wall_s);
        assert_int_equal(r.end, JP_SPAWN_EXITED);
        assert_int_equal(r.exit_status, 4);
        assert_int_equal(s.nlines, 1);
        assert_string_equal(s.lines[0], "a");
        assert_in_range(n, 1, 10);
        /* the timeout and the kill of the group, with the waiting thread too */
        memset(&s, 0, sizeof s);
        c.timeout_s = 0.3;
        char *stubborn[] = {"sh", "-c", "trap '' TERM; sleep 60 & echo $!; wait", NULL};
        r = run(stubborn, &c);
        assert_int_equal(r.end, JP_SPAWN_TIMEOUT);
        assert_leftover_ended(&s);
        assert_int_equal(s.ended_with, 0);
    }
    jp_spawn_wait_kind(true);
}

/* A caller that ignores SIGCHLD: the kernel reaps the command, so no status can be had, but the run
 * ends with it (it waited for the timeout, or for ever, before) and says the status is unknown. */
static void test_sigchld_ignored(void **state)
{
    (void)state;
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGCHLD, &ign, &old);
    for (int kind = 0; kind < 2; kind++) {
        jp_spawn_wait_kind(kind == 0);
        struct seen s;
        jp_spawn_config c = lines_config(&s);
        c.timeout_s = 60;
        char *argv[] = {"sh", "-c", "echo x; exit 3", NULL};
        jp_spawn_result r = run(argv, &c);
        assert_int_equal(r.end, JP_SPAWN_EXITED);
        assert_int_equal(r.exit_status, -1);
        assert_int_equal(s.nlines, 1);
    }
    sigaction(SIGCHLD, &old, NULL);
    jp_spawn_wait_kind(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_and_signal),     cmocka_unit_test(test_lines),
        cmocka_unit_test(test_timeout_kills_the_group), cmocka_unit_test(test_leftover_holding_output),
        cmocka_unit_test(test_interrupt),           cmocka_unit_test(test_cannot_start),
        cmocka_unit_test(test_dir_env_stdin),       cmocka_unit_test(test_cpu_time),
        cmocka_unit_test(test_waits_asleep),        cmocka_unit_test(test_sigchld_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
