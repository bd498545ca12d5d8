/*
 * A program outside the project, built by tests/check_install.sh against the installed jouleprint.h
 * and `pkg-config --cflags --libs jouleprint` alone: it meters a fake powercap counter that it moves
 * itself, and checks units, carbon and the error channel.
 *
 *   core ROOT     ROOT: a fake /sys holding class/powercap/intel-rapl:0 (JP_SYSFS_ROOT points there)
 */
#define _POSIX_C_SOURCE 200809L
#include <jouleprint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int fail(const char *what)
{
    printf("FAIL %s: %s\n", what, jp_last_error());
    return 1;
}

/* The counter is replaced by rename, as the kernel's value would change under a reader. */
static int write_counter(const char *root, unsigned long long uj)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/class/powercap/intel-rapl:0/energy_uj", root);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%llu\n", uj);
    if (fclose(f) != 0) return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    if (strcmp(jp_version(), JP_VERSION) != 0) return fail("version");
    if (jp_abi_version() != JP_ABI_VERSION) return fail("jp_abi_version");
    printf("version %s\n", jp_version());

    double j;
    if (jp_parse_energy("2.5kWh", &j) != JP_OK || j != 9e6) return fail("jp_parse_energy");
    char buf[64];
    jp_format_energy(j, buf, sizeof buf);
    printf("energy %s\n", buf);
    jp_intensity in;
    if (jp_intensity_lookup("FR", &in) != JP_OK) return fail("jp_intensity_lookup");
    double g = jp_carbon_grams(j, in.g_per_kwh, 1.0);
    if (fabs(g - 2.5 * in.g_per_kwh) > 1e-6 * g) return fail("jp_carbon_grams");
    printf("carbon %s %d ok\n", in.region, in.year);
    jp_clear_error();
    int rc = jp_parse_energy("12", &j);
    if (rc == JP_OK || jp_last_error()[0] == '\0') return fail("error channel");
    printf("error channel: %s: %s\n", jp_strerror(rc), jp_last_error());

    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-powercap";
    cfg.interval_s = 0.05;
    jp_meter *m;
    if (write_counter(argv[1], 1000000) != 0) return fail("write");
    if (jp_meter_open(&m, &cfg) != JP_OK) return fail("jp_meter_open");
    if (jp_meter_start(m) != JP_OK) return fail("jp_meter_start");
    struct timespec ts = {0, 200000000L};
    nanosleep(&ts, NULL);
    if (write_counter(argv[1], 3000000) != 0) return fail("write");
    nanosleep(&ts, NULL);
    if (jp_meter_stop(m) != JP_OK) return fail("jp_meter_stop");
    double total = jp_meter_joules(m, JP_TOTAL);
    printf("meter %s %.3f J glitches %llu\n", jp_meter_domain_name(m, 0), total,
           (unsigned long long)jp_meter_glitches(m));
    jp_meter_close(m);
    return total == 2.0 ? 0 : 1;
}
