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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_descriptor_sees_rewrites),
        cmocka_unit_test(test_path_reads_see_replacements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
