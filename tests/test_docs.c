/*
 * The documentation's commands run. Every example command of README.md and of every `jouleprint
 * ... --help` is run, in a scratch folder that sees the source tree's examples/, data/, models/ ...
 * and the build as build/, with `jouleprint` the built tool. A command fails the test when it exits
 * with another status than documented, or when it names a file of the repository that does not
 * exist (examples/quick.yaml).
 *
 * What is a command: in README.md, a line of an indented code block that starts with "$ " (the
 * other lines of such a block are output), or every line of a block whose lines all start with a
 * command word (jouleprint, make, ...); in a --help, every line "  jouleprint ...". "# ..." is a
 * comment; a trailing backslash continues the line. Pipelines fail when any part fails.
 *
 * Sizes: the documented commands are written for real use (10,000 images, the whole study). The
 * table `smaller` below turns them into the same commands on a few items, and stands in for the
 * user's own programs (python3 infer.py: true); `special` skips the few that cannot run here (each
 * says why: `make test` is what runs this test) and states the exit status of those that document
 * an error. Both tables are applied to the text as written, after its files were checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "util.h"

/* Replacements, in order, of text in a command: smaller sizes, and stand-ins for the user's own
 * programs and files. */
static const struct {
    const char *from, *to;
} smaller[] = {
    /* the user's own programs */
    {"python3 infer.py --batch 64", "true"},
    {"python3 infer.py", "true"},
    {"python3 train.py", "true"},
    {"./model --batch 64", "true"},
    {"-- ./infer", "-- true"},
    {"-- ./bench", "-- true"},
    {"-- make -j2", "-- sleep 0.2"},
    /* shorter runs */
    {"-- sleep 1", "-- sleep 0.1"},
    {"-r 5", "-r 2"},
    {"--baseline 2s", "--baseline 100ms"},
    {"./build/measure_loop 300", "./build/measure_loop 20"},
    /* a port of the system's choosing, not 9862, which another exporter may hold */
    {"jouleprint serve --listen 127.0.0.1:9862", "jouleprint serve --listen 127.0.0.1:0"},
    {"jouleprint serve", "jouleprint serve --listen 127.0.0.1:0"},
    /* the study and bench: a spec of 3 models on a few items (tiny.yaml, written below) */
    {"make study", "jouleprint study --spec tiny.yaml"},
    {"jouleprint study --quick", "jouleprint study --spec tiny.yaml"},
    {"jouleprint study --region", "jouleprint study --spec tiny.yaml --region"},
    {"--region gcp:us-west1 examples/study-quick.yaml", "--region gcp:us-west1 tiny.yaml"},
    {"-o report.html examples/study-quick.yaml", "-o report.html tiny.yaml"},
    {"--intensity 123 examples/study-quick.yaml", "--intensity 123 tiny.yaml"},
    /* the store the study wrote (its first run) */
    {"--run 3", "--run 1"},
    {"--run 7", "--run 1"},
    {"--db lab.db", "--db jouleprint.db"},
    {"--import alice.db", "--import jouleprint.db"}, /* a store into itself: every run there already */
    /* fewer images and lines */
    {"classify --model resnet-s", "classify --model resnet-s --n 20"},
    {"--n 1000", "--n 20"},
    {"--n 300", "--n 3"},
    {"--n 200", "--n 3"},
    {"--n 50", "--n 2"},
    {"-n 20", "-n 3"},
    {"--n 8 --steps 20", "--n 1 --steps 20"}, /* one image per class: 10, scored against the 10,000 */
};

/* Commands (matched from their start, as written) skipped with a reason, or expected to fail. */
static const struct {
    const char *start;
    int status; /* the exit status documented; -1: skipped; 124: a server, stopped after 3 s */
    const char *why;
} special[] = {
    {"jouleprint serve --listen 0.0.0.0:9862 --web-config /etc/", -1,
     "needs the operator's TLS configuration in /etc; the exporter's tests cover --web-config"},
    {"jouleprint serve", 124, "a server: it must still be serving when stopped after 3 s"},
    {"make test", -1, "it is what runs this test"},
    {"make install", -1, "installs into /usr/local; the python_install test installs into a scratch prefix"},
    {"/usr/bin/python3 -m venv", -1, "the python_install test runs the offline install"},
    {"~/jp-venv/", -1, "the python_install test runs the offline install"},
    {"/usr/bin/python3 examples/python/", -1,
     "the Python tests run the examples where libjouleprint is built as a shared library"},
    {"jouleprint ocr -m eng-best --tessdata /tmp/nowhere", 1, "documents the error for a missing model"},
};

static char scratch[4096];
static const char *src_dir, *bin_dir;
static char failures[65536];
static size_t nfail_len;
static int ran, skipped, nfailed;

static void add_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add_failure(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (nfail_len < sizeof failures) {
        int n = vsnprintf(failures + nfail_len, sizeof failures - nfail_len, fmt, ap);
        if (n > 0) nfail_len += (size_t)n;
        if (nfail_len >= sizeof failures) nfail_len = sizeof failures - 1;
    }
    va_end(ap);
    nfailed++;
}

/* The files of the repository a command names: words that start with one of its folders. */
static void check_files(const char *where, const char *cmd)
{
    static const char *const dirs[] = {"examples/", "data/", "models/", "scripts/", "src/", "tests/", "python/",
                                       "./build/", "build/", "include/", "bench/", "tools/", "cmake/"};
    const char *p = cmd;
    while (*p) {
        while (*p == ' ' || *p == '\'' || *p == '"' || *p == '=') p++;
        size_t n = strcspn(p, " '\"=");
        if (!n) break;
        for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
            if (strncmp(p, dirs[d], strlen(dirs[d]))) continue;
            char path[8192], word[4096];
            snprintf(word, sizeof word, "%.*s", (int)n, p);
            if (!strncmp(word, "./build/", 8)) snprintf(path, sizeof path, "%s/%s", bin_dir, word + 8);
            else if (!strncmp(word, "build/", 6)) snprintf(path, sizeof path, "%s/%s", bin_dir, word + 6);
            else snprintf(path, sizeof path, "%s/%s", src_dir, word);
            struct stat st;
            if (stat(path, &st) != 0) add_failure("%s: `%s` names %s, which does not exist\n", where, cmd, word);
            break;
        }
        p += n;
    }
}

static void replace_all(char *cmd, size_t cap, const char *from, const char *to)
{
    char *at = strstr(cmd, from);
    if (!at) return;
    char rest[8192];
    snprintf(rest, sizeof rest, "%s", at + strlen(from));
    *at = '\0';
    size_t len = strlen(cmd);
    snprintf(cmd + len, cap - len, "%s%s", to, rest);
}

/* Runs one documented command (where: "README.md:87" or "stat --help"). */
static void run_one(const char *where, const char *written)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s", written);
    /* a comment ends the command */
    char *hash = strstr(cmd, "  #");
    if (hash) *hash = '\0';
    size_t len = strlen(cmd);
    while (len && cmd[len - 1] == ' ') cmd[--len] = '\0';
    if (!len) return;
    check_files(where, cmd);
    int want = 0;
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        if (strncmp(cmd, special[i].start, strlen(special[i].start))) continue;
        if (special[i].status < 0) {
            print_message("%s: skipped `%s`: %s\n", where, cmd, special[i].why);
            skipped++;
            return;
        }
        want = special[i].status;
        break;
    }
    const char *limit = want == 124 ? "3" : "600"; /* timeout(1) exits 124 when it stops the command */
    for (size_t i = 0; i < sizeof smaller / sizeof smaller[0]; i++) replace_all(cmd, sizeof cmd, smaller[i].from, smaller[i].to);
    char log[4200], line[20000];
    snprintf(log, sizeof log, "%s/last.log", scratch);
    snprintf(line, sizeof line, "cd '%s' && timeout %s bash -o pipefail -c '%s' > '%s' 2>&1 < /dev/null", scratch, limit, cmd, log);
    if (strchr(cmd, '\'')) {
        /* quote the command for sh -c: ' becomes '\'' */
        char q[9000];
        size_t o = 0;
        for (const char *c = cmd; *c && o + 5 < sizeof q; c++) {
            if (*c == '\'') {
                memcpy(q + o, "'\\''", 4);
                o += 4;
            } else {
                q[o++] = *c;
            }
        }
        q[o] = '\0';
        snprintf(line, sizeof line, "cd '%s' && timeout %s bash -o pipefail -c '%s' > '%s' 2>&1 < /dev/null", scratch, limit, q, log);
    }
    double t0 = jp_now();
    int st = system(line);
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    ran++;
    print_message("%s: `%s` -> %d (%.1f s)\n", where, cmd, status, jp_now() - t0);
    if (status != want) {
        char tail[600] = "";
        FILE *f = fopen(log, "r");
        if (f) {
            fseek(f, 0, SEEK_END);
            long size = ftell(f);
            fseek(f, size > 500 ? size - 500 : 0, SEEK_SET);
            size_t n = fread(tail, 1, sizeof tail - 1, f);
            tail[n] = '\0';
            fclose(f);
        }
        add_failure("%s: `%s` (run as `%s`) exited with %d, expected %d; its output ends:\n%s\n", where, written, cmd,
                    status, want, tail);
    }
}

/* Whether a line starts with a word that begins a command. */
static bool command_word(const char *l)
{
    static const char *const words[] = {"jouleprint ", "make ", "./build/", "/usr/bin/python3 ", "~/jp-venv/", "scripts/"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strncmp(l, words[i], strlen(words[i]))) return true;
    return false;
}

/* The commands of the README, in order. */
static void readme_commands(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/README.md", src_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char lines[4000][1024];
    int n = 0;
    while (n < 4000 && fgets(lines[n], sizeof lines[n], f)) {
        lines[n][strcspn(lines[n], "\n")] = '\0';
        n++;
    }
    fclose(f);
    bool prev_blank = true;
    for (int i = 0; i < n;) {
        /* an indented code block: lines of 4 spaces after a blank line, until a line that is not */
        if (!(prev_blank && !strncmp(lines[i], "    ", 4))) {
            prev_blank = lines[i][0] == '\0';
            i++;
            continue;
        }
        int start = i, end = i;
        while (end < n && (!strncmp(lines[end], "    ", 4) || (lines[end][0] == '\0' && end + 1 < n && !strncmp(lines[end + 1], "    ", 4))))
            end++;
        bool dollar = false, all_commands = true;
        for (int k = start; k < end; k++) {
            const char *l = lines[k] + 4;
            if (!lines[k][0]) continue;
            if (!strncmp(l, "$ ", 2)) dollar = true;
            if (!command_word(l)) all_commands = false;
        }
        for (int k = start; k < end; k++) {
            const char *l = lines[k] + 4;
            if (!lines[k][0]) continue;
            if (dollar ? strncmp(l, "$ ", 2) != 0 : !all_commands) continue;
            if (dollar) l += 2;
            char cmd[8192], where[64];
            snprintf(cmd, sizeof cmd, "%s", l);
            snprintf(where, sizeof where, "README.md:%d", k + 1);
            /* continuation lines */
            while (strlen(cmd) && cmd[strlen(cmd) - 1] == '\\' && k + 1 < end) {
                cmd[strlen(cmd) - 1] = '\0';
                k++;
                const char *c = lines[k];
                while (*c == ' ') c++;
                size_t len = strlen(cmd);
                snprintf(cmd + len, sizeof cmd - len, "%s", c);
            }
            run_one(where, cmd);
        }
        i = end;
        prev_blank = false;
    }
}

/* The commands of `jouleprint [CMD] --help`. */
static void help_commands(const char *sub)
{
    char line[4400], out[4200];
    snprintf(out, sizeof out, "%s/help.txt", scratch);
    snprintf(line, sizeof line, "'%s/jouleprint' %s --help > '%s'", bin_dir, sub, out);
    if (system(line) != 0) {
        add_failure("jouleprint %s --help failed\n", sub);
        return;
    }
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    static char text[200][1024];
    int n = 0;
    while (n < 200 && fgets(text[n], sizeof text[n], f)) {
        text[n][strcspn(text[n], "\n")] = '\0';
        n++;
    }
    fclose(f);
    for (int k = 0; k < n; k++) {
        if (strncmp(text[k], "  jouleprint ", 13)) continue;
        char cmd[8192], where[96];
        snprintf(cmd, sizeof cmd, "%s", text[k] + 2);
        while (strlen(cmd) && cmd[strlen(cmd) - 1] == '\\' && k + 1 < n) {
            cmd[strlen(cmd) - 1] = '\0';
            k++;
            const char *c = text[k];
            while (*c == ' ') c++;
            size_t len = strlen(cmd);
            snprintf(cmd + len, sizeof cmd - len, "%s", c);
        }
        snprintf(where, sizeof where, "jouleprint %s--help", sub[0] ? sub : "");
        if (sub[0]) snprintf(where, sizeof where, "jouleprint %s --help", sub);
        run_one(where, cmd);
    }
}

static void test_documented_commands_run(void **state)
{
    (void)state;
    src_dir = getenv("JP_TEST_SRC_DIR");
    bin_dir = getenv("JP_TEST_BIN_DIR");
    if (!src_dir || !bin_dir) fail_msg("run under ctest (JP_TEST_SRC_DIR, JP_TEST_BIN_DIR)");
    char *root = ft_mkroot("docs");
    snprintf(scratch, sizeof scratch, "%s", root);
    free(root);
    /* the repository's folders, and the build as build/ */
    const char *links[] = {"examples", "data", "models", "scripts", "python", "src", "tests", "include"};
    char a[8400], b[4200];
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(a, sizeof a, "%s/%s", src_dir, links[i]);
        snprintf(b, sizeof b, "%s/%s", scratch, links[i]);
        if (symlink(a, b) != 0) fail_msg("symlink %s: %s", b, strerror(errno));
    }
    snprintf(b, sizeof b, "%s/build", scratch);
    if (symlink(bin_dir, b) != 0) fail_msg("symlink %s: %s", b, strerror(errno));
    ft_write(scratch, "tiny.yaml",
             "# the study's steps on 3 models and a few items (tests/test_docs.c)\n"
             "repeats: 1\nwarmup: 0\ntimeout: 10min\n"
             "tasks:\n"
             "  - name: image-classification\n    time: 20\n    score: 20\n    scorer: accuracy\n    models:\n"
             "      - {name: mlp, builtin: classify, options: {model: mlp}}\n"
             "      - {name: cnn, builtin: classify, options: {model: cnn}}\n"
             "  - name: ocr\n    time: 3\n    score: 3\n    scorer: ocr\n    models:\n"
             "      - {name: eng-fast, builtin: ocr, options: {model: eng-fast}}\n");
    /* the built tool first on PATH; no energy counter (the power model, the same everywhere); the
     * OCR data rendered into the scratch folder */
    char path[8400];
    snprintf(path, sizeof path, "%s:%s", bin_dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", path, 1);
    char *empty = ft_mkroot("docs-empty");
    setenv("JP_SYSFS_ROOT", empty, 1);
    setenv("JP_DEV_ROOT", empty, 1);
    snprintf(b, sizeof b, "%s/cache", scratch);
    setenv("XDG_CACHE_HOME", b, 1);

    readme_commands();
    help_commands("");
    /* every subcommand the main help lists: "  name   summary" after the usage line */
    char out[4200], line[8800];
    snprintf(out, sizeof out, "%s/commands.txt", scratch);
    snprintf(line, sizeof line, "'%s/jouleprint' --help > '%s'", bin_dir, out);
    assert_int_equal(system(line), 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char subs[64][32];
    int nsubs = 0;
    bool in_list = false;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "usage:", 6)) {
            in_list = true;
            continue;
        }
        if (!in_list) continue;
        if (line[0] == '\n' && nsubs) break;
        char name[32];
        if (nsubs < 64 && sscanf(line, "  %31[a-z0-9-] ", name) == 1) snprintf(subs[nsubs++], sizeof subs[0], "%s", name);
    }
    fclose(f);
    assert_true(nsubs >= 10);
    for (int i = 0; i < nsubs; i++) help_commands(subs[i]);

    print_message("%d commands run, %d skipped, %d failed\n", ran, skipped, nfailed);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) print_message("could not remove %s\n", scratch);
    ft_rmroot(empty);
    if (nfailed) print_message("%s", failures);
    if (nfailed) fail_msg("%d documented command%s failed (listed above)", nfailed, nfailed == 1 ? "" : "s");
    assert_true(ran >= 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_documented_commands_run)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
