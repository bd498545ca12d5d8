/*
 * Where the tool's -o writes: a regular file is replaced whole (a temporary file renamed over it), a
 * symbolic link is followed (the file it names is replaced, the link stays: it was replaced by a
 * regular file), and a path that is not a regular file is written in place (test_stat_cli checks a
 * FIFO too): renaming over /dev/null replaced the device with a regular file when run as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"

static char *dir;

static int run_stat_to(const char *out)
{
    const char *args[] = {"stat", "--json", "-o", out, "--", "true", NULL};
    return ft_run_cli(NULL, NULL, args);
}

static char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A link to /dev/null: written through, the link and the device stay what they were. */
static void test_link_to_dev_null_stays(void **state)
{
    (void)state;
    char link[4200];
    snprintf(link, sizeof link, "%s/null-link.json", dir);
    assert_int_equal(symlink("/dev/null", link), 0);
    assert_int_equal(run_stat_to(link), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
}

/* A link to a regular file: the file gets the report, the link stays a link. */
static void test_link_to_file_is_followed(void **state)
{
    (void)state;
    char link[4200], real[4200];
    snprintf(real, sizeof real, "%s/real.json", dir);
    snprintf(link, sizeof link, "%s/link.json", dir);
    ft_write(dir, "real.json", "old\n");
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(run_stat_to(link), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    const char *txt = slurp(real);
    assert_non_null(txt);
    assert_non_null(strstr(txt, "\"energy_j\""));
}

struct reader {
    char path[4200];
    int fd; /* the read end, opened by the test before the thread starts */
    char got[1 << 16];
    size_t n;
};

/* read(2), not stdio: a thread blocked in fread holds its stream's lock, and the test's own
 * fflush(NULL) before it starts the tool (ft_run_cli) waited for that lock for ever */
static void *read_fifo(void *arg)
{
    struct reader *r = arg;
    r->n = 0;
    for (;;) {
        ssize_t k = read(r->fd, r->got + r->n, sizeof r->got - 1 - r->n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        r->n += (size_t)k;
        if (r->n == sizeof r->got - 1) break;
    }
    r->got[r->n] = '\0';
    close(r->fd);
    return NULL;
}

/* A FIFO: the report goes down the pipe, and the FIFO is still a FIFO. */
static void test_fifo_written_in_place(void **state)
{
    (void)state;
    static struct reader r;
    snprintf(r.path, sizeof r.path, "%s/pipe", dir);
    assert_int_equal(mkfifo(r.path, 0600), 0);
    /* the test holds the FIFO open itself, so that opening its read end does not wait, and opens
     * that here, not in the reader thread (a thread scheduled after the tool had finished would
     * wait for a writer for ever); the reader reaches the end once the tool and the test closed it */
    int hold = open(r.path, O_RDWR | O_CLOEXEC);
    assert_true(hold >= 0);
    r.fd = open(r.path, O_RDONLY | O_CLOEXEC);
    assert_true(r.fd >= 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, read_fifo, &r), 0);
    int rc = run_stat_to(r.path);
    close(hold);
    pthread_join(th, NULL);
    assert_int_equal(rc, 0);
    struct stat st;
    assert_int_equal(lstat(r.path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_non_null(strstr(r.got, "\"energy_j\""));
}

/* A regular file is still replaced whole, and no temporary file is left beside it. */
static void test_regular_file_replaced(void **state)
{
    (void)state;
    char out[4200];
    snprintf(out, sizeof out, "%s/plain.json", dir);
    ft_write(dir, "plain.json", "old\n");
    assert_int_equal(run_stat_to(out), 0);
    const char *txt = slurp(out);
    assert_non_null(txt);
    assert_non_null(strstr(txt, "\"energy_j\""));
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c tmp-", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    assert_int_equal(n, 0);
}

/* Removing a fake tree leaves what its links point to as it was (ft_rmroot chmod-ed through them). */
static void test_tree_removal_leaves_link_targets(void **state)
{
    (void)state;
    char outside[4200], link[4200];
    snprintf(outside, sizeof outside, "%s/outside.txt", dir);
    ft_write(dir, "outside.txt", "x\n");
    assert_int_equal(chmod(outside, 0644), 0);
    char *root = ft_mkroot("links");
    snprintf(link, sizeof link, "%s/to-outside", root);
    assert_int_equal(symlink(outside, link), 0);
    ft_rmroot(root);
    struct stat st;
    assert_int_equal(stat(outside, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
}

static int setup(void **state)
{
    (void)state;
    dir = ft_mkroot("cli-output");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_rmroot(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_to_dev_null_stays),
        cmocka_unit_test(test_link_to_file_is_followed),
        cmocka_unit_test(test_fifo_written_in_place),
        cmocka_unit_test(test_regular_file_replaced),
        cmocka_unit_test(test_tree_removal_leaves_link_targets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
