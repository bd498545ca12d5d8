/* jp_kfile: a kept descriptor re-reads a file rewritten in place; a path read sees a file replaced by
 * rename; a kept file that vanishes says so instead of serving a stale value. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "util.h"

static void rewrite_in_place(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_kept_descriptor_sees_rewrites(void **state)
{
    (void)state;
    char *root = ft_mkroot("kfile");
    char path[4200];
    snprintf(path, sizeof path, "%s/energy_uj", root);
    ft_write(root, "energy_uj", "100\n");
    jp_kfile f;
    jp_kfile_init(&f, path, true);
    assert_true(f.fd >= 0);
    uint64_t v = 0;
    assert_int_equal(jp_kfile_read_u64(&f, &v), JP_OK);
    assert_int_equal(v, 100);
    rewrite_in_place(path, "123456789\n"); /* longer than before */
    assert_int_equal(jp_kfile_read_u64(&f, &v), JP_OK);
    assert_int_equal(v, 123456789);
    rewrite_in_place(path, "7\n"); /* shorter: no leftover digits */
    assert_int_equal(jp_kfile_read_u64(&f, &v), JP_OK);
    assert_int_equal(v, 7);
    rewrite_in_place(path, "garbage\n");
    assert_int_equal(jp_kfile_read_u64(&f, &v), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "energy_uj: expected an unsigned integer"));
    jp_kfile_close(&f);
    ft_rmroot(root);
}

static void test_path_reads_see_replacements(void **state)
{
    (void)state;
    char *root = ft_mkroot("kfile");
    char path[4200];
    snprintf(path, sizeof path, "%s/energy_uj", root);
    ft_write(root, "energy_uj", "5\n");
    jp_kfile f;
    jp_kfile_init(&f, path, false);
    assert_int_equal(f.fd, -1);
    uint64_t v = 0;
    ft_write(root, "energy_uj", "6\n"); /* atomic: a new file renamed over the old */
    assert_int_equal(jp_kfile_read_u64(&f, &v), JP_OK);
    assert_int_equal(v, 6);
    ft_remove(root, "energy_uj");
    assert_int_equal(jp_kfile_read_u64(&f, &v), JP_ERR_NOTFOUND);
    jp_kfile_close(&f);
    ft_rmroot(root);
}

/* "123\0garbage" is not the number 123 (found by fuzzing the value readers). */
static void test_nul_inside_a_value_is_refused(void **state)
{
    (void)state;
    char *root = ft_mkroot("kfile");
    char path[4200];
    snprintf(path, sizeof path, "%s/energy_uj", root);
    ft_write_bytes(root, "energy_uj", "123\0garbage\n", 13);
    uint64_t v = 42;
    assert_int_equal(jp_read_u64(path, &v), JP_ERR_PARSE);
    assert_int_equal(v, 42);
    assert_non_null(strstr(jp_last_error(), "NUL byte at offset 3"));
    jp_kfile f;
    jp_kfile_init(&f, path, true);
    assert_true(f.fd >= 0);
    assert_int_equal(jp_kfile_read_u64(&f, &v), JP_ERR_PARSE);
    assert_int_equal(v, 42);
    jp_kfile_close(&f);
    ft_rmroot(root);
}

/* A value longer than a value can be is refused, not cut to its first bytes (which could be a number). */
static void test_overlong_value_is_refused(void **state)
{
    (void)state;
    char *root = ft_mkroot("kfile");
    char path[4200], text[200];
    snprintf(path, sizeof path, "%s/energy_uj", root);
    memset(text, ' ', sizeof text);
    memcpy(text, "123\n", 4);
    memcpy(text + sizeof text - 8, "garbage\n", 8);
    ft_write_bytes(root, "energy_uj", text, sizeof text);
    uint64_t v = 42;
    assert_int_equal(jp_read_u64(path, &v), JP_ERR_PARSE);
    assert_int_equal(v, 42);
    assert_non_null(strstr(jp_last_error(), "longer than"));
    jp_kfile f;
    jp_kfile_init(&f, path, true);
    assert_int_equal(jp_kfile_read_u64(&f, &v), JP_ERR_PARSE);
    assert_int_equal(v, 42);
    jp_kfile_close(&f);
    /* text reads (first lines of /proc/stat) are still cut at the buffer, as documented */
    char buf[8];
    assert_int_equal(jp_read_text(path, buf, sizeof buf), JP_OK);
    assert_string_equal(buf, "123\n   ");
    ft_rmroot(root);
}

/* A FIFO (or any special file) in place of a sysfs or procfs file is refused at once instead of
 * blocking on open until a writer comes; the alarm fails the test if it blocks. */
static void test_fifo_is_refused_without_blocking(void **state)
{
    (void)state;
    char *root = ft_mkroot("kfile");
    char path[4200];
    snprintf(path, sizeof path, "%s/energy_uj", root);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10);
    uint64_t v = 42;
    char buf[64];
    assert_int_equal(jp_read_u64(path, &v), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "is a FIFO, expected a regular file"));
    assert_int_equal(jp_read_text(path, buf, sizeof buf), JP_ERR_IO);
    jp_kfile f;
    jp_kfile_init(&f, path, true);
    assert_int_equal(f.fd, -1);
    assert_int_equal(jp_kfile_read_u64(&f, &v), JP_ERR_IO);
    assert_int_equal(v, 42);
    /* a directory and a character device are refused the same way */
    assert_int_equal(jp_read_text(root, buf, sizeof buf), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "is a directory"));
    assert_int_equal(jp_read_u64("/dev/zero", &v), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "is a character device"));
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(jp_read_file("/dev/zero", 1 << 20, &data, &len), JP_ERR_IO);
    assert_null(data);
    alarm(0);
    ft_rmroot(root);
}

/* jp_read_file: bounded by its maximum, whole otherwise. */
static void test_read_file_is_bounded(void **state)
{
    (void)state;
    char *root = ft_mkroot("kfile");
    char path[4200];
    snprintf(path, sizeof path, "%s/spec.yaml", root);
    ft_write(root, "spec.yaml", "0123456789");
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(jp_read_file(path, 10, &data, &len), JP_OK);
    assert_int_equal(len, 10);
    assert_string_equal((char *)data, "0123456789");
    free(data);
    data = NULL;
    assert_int_equal(jp_read_file(path, 9, &data, &len), JP_ERR_RANGE);
    assert_null(data);
    assert_non_null(strstr(jp_last_error(), "more than the 9"));
    ft_rmroot(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_inside_a_value_is_refused),
        cmocka_unit_test(test_overlong_value_is_refused),
        cmocka_unit_test(test_fifo_is_refused_without_blocking),
        cmocka_unit_test(test_read_file_is_bounded),
        cmocka_unit_test(test_kept_descriptor_sees_rewrites),
        cmocka_unit_test(test_path_reads_see_replacements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
