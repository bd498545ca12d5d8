/*
 * Opening a meter where NVIDIA's driver is absent tries to load libnvidia-ml.so.1 once per process,
 * not once per meter: a failed dlopen maps and unmaps the loader's cache, and that was half of what
 * opening a meter (a Python `with Tracker()`) cost (BENCHMARKS.md, "Python binding"). A library named
 * by JP_NVML_LIBRARY is still tried at every open, so that a test or a user who points at one sees it.
 * Where no NVIDIA driver has a device here (/dev/nvidiactl, /proc/driver/nvidia, /dev/dxg), the default
 * library is not looked for at all: the loader's search was the largest part of a start of `stat`.
 *
 * dlopen is interposed by this program (the library is linked statically into it) and counts the
 * calls for each name before handing them to the real one.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jouleprint.h"

static int default_calls, named_calls;

void *dlopen(const char *file, int mode)
{
    static void *(*real)(const char *, int);
    if (!real) {
        void *p = dlsym(RTLD_NEXT, "dlopen");
        memcpy(&real, &p, sizeof real);
    }
    if (file && !strcmp(file, "libnvidia-ml.so.1")) default_calls++;
    if (file && strstr(file, "no-such-nvml")) named_calls++;
    return real(file, mode);
}

static int open_nvml(void)
{
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "nvml";
    jp_meter *m = NULL;
    int rc = jp_meter_open(&m, &cfg);
    if (m) jp_meter_close(m);
    return rc;
}

static void test_default_library_tried_once(void **state)
{
    (void)state;
    unsetenv("JP_NVML_LIBRARY");
    void *here = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (here) {
        dlclose(here);
        skip(); /* a machine with NVIDIA's driver: nothing is missing to remember */
    }
    /* the driver's devices decide whether the library is looked for at all (src/source/nvml.c) */
    int expect = access("/dev/nvidiactl", F_OK) == 0 || access("/proc/driver/nvidia", F_OK) == 0 ||
                 access("/dev/dxg", F_OK) == 0;
    default_calls = 0;
    for (int i = 0; i < 5; i++) {
        assert_int_not_equal(open_nvml(), JP_OK);
        /* the same one-line reason every time, not a shorter one from the remembered failure */
        assert_non_null(strstr(jp_last_error(), "cannot load libnvidia-ml.so.1: no NVIDIA driver here"));
    }
    assert_int_equal(default_calls, expect);
    /* the automatic choice of sources, as `stat` and the Python tracker make it, does not retry it */
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    jp_meter *m = NULL;
    assert_int_equal(jp_meter_open(&m, &cfg), JP_OK);
    jp_meter_close(m);
    assert_int_equal(default_calls, expect);
}

static void test_named_library_tried_every_time(void **state)
{
    (void)state;
    setenv("JP_NVML_LIBRARY", "/nonexistent/no-such-nvml.so", 1);
    named_calls = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_not_equal(open_nvml(), JP_OK);
        assert_non_null(strstr(jp_last_error(), "cannot load JP_NVML_LIBRARY=/nonexistent/no-such-nvml.so"));
    }
    assert_int_equal(named_calls, 3);
    unsetenv("JP_NVML_LIBRARY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_library_tried_once),
        cmocka_unit_test(test_named_library_tried_every_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
