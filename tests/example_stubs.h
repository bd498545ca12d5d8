/*
 * What the in-process example of README.md and include/jouleprint.h calls, for
 * tests/test_examples.c: stand-ins for a program's input, model loading and inference that add known
 * energy to the fake powercap counter in $JP_SYSFS_ROOT (load 3.5 J, inference 10.7 J). read_input
 * waits $JP_EXAMPLE_WAIT_MS before the first phase and adds nothing.
 *
 * Each stand-in sleeps before it adds its energy: the meter judges a counter's change over the time
 * since it last moved, so 10.7 J after 20 ms (535 W) is power, not a glitch, however late it is read.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "jouleprint.h"

static void example_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void example_add_energy(double joules)
{
    const char *root = getenv("JP_SYSFS_ROOT");
    char path[4096], tmp[4200], text[64] = "";
    snprintf(path, sizeof path, "%s/class/powercap/intel-rapl:0/energy_uj", root ? root : "");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(text, sizeof text, f)) exit(90);
    fclose(f);
    f = fopen(tmp, "w");
    if (!f) exit(91);
    fprintf(f, "%llu\n", strtoull(text, NULL, 10) + (unsigned long long)llround(joules * 1e6));
    if (fclose(f) != 0 || rename(tmp, path) != 0) exit(92);
}

static void read_input(void)
{
    const char *w = getenv("JP_EXAMPLE_WAIT_MS");
    example_sleep_ms(w ? atol(w) : 0);
}

static void load_model(void)
{
    example_sleep_ms(10);
    example_add_energy(3.5);
}

static void run_model(void)
{
    example_sleep_ms(20);
    example_add_energy(10.7);
}
