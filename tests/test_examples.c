/*
 * The documentation's examples run as written. The in-process example of README.md and of
 * include/jouleprint.h is extracted at build time (cmake/extract_example.cmake) and compiled with
 * stand-ins for the program's own code (tests/example_stubs.h) that spend a known energy on a fake
 * powercap counter: 3.5 J loading, 10.7 J inferring. The example must print the inference's
 * 10.7 J whether the program waits 0 ms or 50 ms before its first phase (until the phases were
 * named, a wait of over 1 ms made phase 1 the "load" phase and the example printed 3.5 J).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"

static char *root;

static int setup(void **state)
{
    (void)state;
    root = ft_mkroot("examples");
    ft_write(root, "class/powercap/intel-rapl:0/name", "package-0\n");
    ft_write(root, "class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    ft_write(root, "class/powercap/intel-rapl:0/energy_uj", "1000000\n");
    setenv("JP_SYSFS_ROOT", root, 1);
    setenv("JP_DEV_ROOT", root, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_rmroot(root);
    return 0;
}

/* Runs build/<name> with JP_EXAMPLE_WAIT_MS=wait_ms; returns what it printed as the inference's joules. */
static double run_example(const char *name, int wait_ms)
{
    const char *bin = getenv("JP_TEST_BIN_DIR");
    assert_non_null(bin);
    char cmd[4400], wait[16];
    snprintf(wait, sizeof wait, "%d", wait_ms);
    setenv("JP_EXAMPLE_WAIT_MS", wait, 1);
    snprintf(cmd, sizeof cmd, "'%s/%s'", bin, name);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256] = "";
    double j = -1;
    while (fgets(line, sizeof line, p))
        if (sscanf(line, "inference: %lf J", &j) == 1) break;
    int st = pclose(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("%s exited with status %d", name, st);
    print_message("%s, %d ms before the first phase: inference %.3f J\n", name, wait_ms, j);
    return j;
}

static void test_readme_example(void **state)
{
    (void)state;
    assert_float_equal(run_example("example_readme", 0), 10.7, 1e-6);
    assert_float_equal(run_example("example_readme", 50), 10.7, 1e-6);
}

static void test_header_example(void **state)
{
    (void)state;
    assert_float_equal(run_example("example_header", 0), 10.7, 1e-6);
    assert_float_equal(run_example("example_header", 50), 10.7, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readme_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_example, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
