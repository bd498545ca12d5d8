/*
 * `jouleprint carbon`, `regions` and `plan` (and stat's carbon options) as a user runs them: the seed
 * study's figures printed and in JSON, the 23 regions against the 2021 figures, the latest year by
 * default, and bad input answered with one line naming what is wrong, never a wrong figure.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
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

static const char *cli;
static char *tmp;
static char out_path[4096], err_path[4096];
static char out_buf[1 << 20], err_buf[1 << 16];

static void slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot read", path);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs jouleprint with the arguments (NULL-terminated); stdout and stderr land in out_buf, err_buf.
 * Returns the exit status. */
static int run(const char *first, ...)
{
    const char *args[64];
    int n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 63; a = va_arg(ap, const char *)) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    int status = ft_run_cli(out_path, err_path, args);
    slurp(out_path, out_buf, sizeof out_buf);
    slurp(err_path, err_buf, sizeof err_buf);
    return status;
}

static json_t *out_json(void)
{
    json_error_t e;
    json_t *j = json_loads(out_buf, 0, &e);
    if (!j) fail_msg("not JSON: %s\n%s", e.text, out_buf);
    return j;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("key %s: not a number", key);
    return json_number_value(v);
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_seed_command(void **state)
{
    (void)state;
    unsetenv("JP_REGION");
    int rc = run("carbon", "--energy", "143.8MWh", "--region", "Salt Lake City", "--compare", "Oregon", "--year",
                 "2021", NULL);
    if (rc) fail_msg("exit %d: %s", rc, err_buf);
    assert_non_null(strstr(out_buf, "64,422,400 g"));
    assert_non_null(strstr(out_buf, "8,628,000 g"));
    assert_non_null(strstr(out_buf, "86.6%"));
    assert_non_null(strstr(out_buf, "64.4 t"));
    assert_non_null(strstr(out_buf, "Salt Lake City"));
    assert_non_null(strstr(out_buf, "Google Cloud region-carbon-info 2021"));
    assert_non_null(strstr(out_buf, "PUE 1.0"));
    rc = run("carbon", "--energy", "143.8MWh", "--region", "Salt Lake City", "--compare", "Oregon", "--year", "2021",
             "--json", NULL);
    assert_int_equal(rc, 0);
    json_t *j = out_json();
    assert_true(fabs(num(j, "carbon_g") - 64422400) < 1e-6);
    assert_true(num(j, "pue") == 1.0);
    assert_string_equal(json_string_value(json_object_get(j, "region")), "gcp:us-west3");
    json_t *res = json_object_get(j, "results");
    assert_int_equal(json_array_size(res), 2);
    json_t *o = json_array_get(res, 1);
    assert_string_equal(json_string_value(json_object_get(o, "region")), "gcp:us-west1");
    assert_true(fabs(num(o, "carbon_g") - 8628000) < 1e-6);
    assert_true(fabs(num(o, "carbon_t") - 8.628) < 1e-9);
    assert_true(fabs(num(o, "saving_pct") - 86.607142857) < 1e-6);
    assert_true(num(o, "year") == 2021);
    assert_true(json_is_null(json_object_get(json_array_get(res, 0), "saving_pct")));
    json_decref(j);
}

/* Without --year: each region's latest (2025 for both). */
static void test_latest_by_default(void **state)
{
    (void)state;
    int rc = run("carbon", "--energy", "143.8MWh", "--region", "Salt Lake City", "--compare", "Oregon", "--json", NULL);
    assert_int_equal(rc, 0);
    json_t *j = out_json();
    json_t *res = json_object_get(j, "results");
    assert_true(num(json_array_get(res, 0), "year") == 2025);
    assert_true(fabs(num(json_array_get(res, 0), "carbon_g") - 143800 * 567.51) < 1e-3);
    assert_true(fabs(num(json_array_get(res, 1), "carbon_g") - 143800 * 97.85) < 1e-3);
    assert_true(json_is_null(json_object_get(j, "year")));
    json_decref(j);
    rc = run("carbon", "--energy", "143.8MWh", "--region", "Salt Lake City", "--compare", "Oregon", NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out_buf, "81,607,938 g"));
    assert_non_null(strstr(out_buf, "2025"));
}

static const struct {
    const char *code, *place;
    double g;
} seed21[] = {
    {"asia-east1", "Taiwan", 456},
    {"asia-east2", "Hong Kong", 360},
    {"asia-northeast1", "Tokyo", 464},
    {"asia-south1", "Mumbai", 670},
    {"asia-southeast1", "Singapore", 372},
    {"australia-southeast1", "Sydney", 598},
    {"australia-southeast2", "Melbourne", 521},
    {"europe-central2", "Warsaw", 576},
    {"europe-north1", "Finland", 127},
    {"europe-southwest1", "Madrid", 121},
    {"europe-west1", "Belgium", 110},
    {"europe-west2", "London", 172},
    {"europe-west9", "Paris", 59},
    {"northamerica-northeast2", "Toronto", 29},
    {"southamerica-east1", "São Paulo", 129},
    {"us-central1", "Iowa", 394},
    {"us-east1", "South Carolina", 434},
    {"us-east4", "North Virginia", 309},
    {"us-south1", "Dallas", 296},
    {"us-west1", "Oregon", 60},
    {"us-west2", "Los Angeles", 190},
    {"us-west3", "Salt Lake City", 448},
    {"us-west4", "Las Vegas", 365},
};

/* The 23 regions through the tool: `regions --seed --year 2021 --json` is the seed's table, and the
 * same without --year gives each region's latest year. */
static void test_seed_table_cli(void **state)
{
    (void)state;
    assert_int_equal(run("regions", "--seed", "--year", "2021", "--json", NULL), 0);
    json_t *j = out_json();
    assert_int_equal(json_array_size(j), 23);
    for (size_t i = 0; i < 23; i++) {
        char id[64];
        snprintf(id, sizeof id, "gcp:%s", seed21[i].code);
        int found = 0;
        for (size_t k = 0; k < json_array_size(j); k++) {
            json_t *o = json_array_get(j, k);
            if (strcmp(json_string_value(json_object_get(o, "region")), id)) continue;
            found = 1;
            if (num(o, "intensity_g_per_kwh") != seed21[i].g)
                fail_msg("%s: %g, the seed has %g", id, num(o, "intensity_g_per_kwh"), seed21[i].g);
            assert_true(num(o, "year") == 2021);
        }
        if (!found) fail_msg("%s missing", id);
    }
    json_decref(j);
    /* cleanest first: Toronto (29) opens the list and Mumbai (670) closes it */
    assert_int_equal(run("regions", "--seed", "--year", "2021", "--sort", "intensity", "--json", NULL), 0);
    j = out_json();
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "name")), "Toronto");
    assert_true(num(json_array_get(j, 0), "intensity_g_per_kwh") == 29);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 22), "name")), "Mumbai");
    assert_true(num(json_array_get(j, 22), "intensity_g_per_kwh") == 670);
    json_decref(j);
    assert_int_equal(run("regions", "--seed", "--json", NULL), 0);
    j = out_json();
    assert_int_equal(json_array_size(j), 23);
    for (size_t k = 0; k < 23; k++)
        assert_true(num(json_array_get(j, k), "year") == 2025);
    json_decref(j);
    /* and through `carbon`, place by place: 1 MWh in g is the intensity x 1000 */
    for (size_t i = 0; i < 23; i++) {
        assert_int_equal(
            run("carbon", "--energy", "1MWh", "--region", seed21[i].place, "--year", "2021", "--json", NULL), 0);
        json_t *c = out_json();
        if (fabs(num(c, "carbon_g") - seed21[i].g * 1000) > 1e-6)
            fail_msg("%s: %g g", seed21[i].place, num(c, "carbon_g"));
        json_decref(c);
    }
}

/* AWS and Azure through the tool: Cloud Carbon Footprint's figure with its source and year. */
static void test_cloud_regions_cli(void **state)
{
    (void)state;
    int rc = run("carbon", "--energy", "1kWh", "--region", "aws:us-east-1", NULL);
    if (rc) fail_msg("exit %d: %s", rc, err_buf);
    assert_non_null(strstr(out_buf, "aws:us-east-1"));
    assert_non_null(strstr(out_buf, "N. Virginia"));
    assert_non_null(strstr(out_buf, "379.07")); /* 379.069 g/kWh, as CCF gives it */
    assert_non_null(strstr(out_buf, "379 g"));
    assert_non_null(strstr(out_buf, "2021"));
    assert_non_null(strstr(out_buf, "Cloud Carbon Footprint region factor: EPA eGRID2020, NERC region SERC"));
    rc = run("carbon", "--energy", "1kWh", "--region", "azure:West Europe", "--json", NULL);
    if (rc) fail_msg("exit %d: %s", rc, err_buf);
    json_t *j = out_json();
    assert_string_equal(json_string_value(json_object_get(j, "region")), "azure:westeurope");
    assert_true(fabs(num(j, "carbon_g") - 328.4) < 1e-9);
    json_t *r0 = json_array_get(json_object_get(j, "results"), 0);
    assert_true(num(r0, "year") == 2021);
    assert_non_null(strstr(json_string_value(json_object_get(r0, "intensity_source")), "Cloud Carbon Footprint"));
    json_decref(j);
    assert_int_equal(run("carbon", "--energy", "1kWh", "--region", "azure:West Europe", NULL), 0);
    assert_non_null(strstr(out_buf, "Netherlands"));
    assert_non_null(strstr(out_buf, "328.4"));
    /* the providers list and rank like the others */
    assert_int_equal(run("regions", "--provider", "aws", "--sort", "intensity", "--json", NULL), 0);
    j = out_json();
    assert_int_equal(json_array_size(j), 27);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "region")), "aws:eu-north-1");
    assert_true(num(json_array_get(j, 0), "intensity_g_per_kwh") == 8.8);
    json_decref(j);
    assert_int_equal(run("regions", "--provider", "azure", "--json", NULL), 0);
    j = out_json();
    assert_int_equal(json_array_size(j), 77);
    json_decref(j);
    assert_int_equal(run("carbon", "--energy", "1MWh", "--region", "aws:us-east-1", "--compare", "azure:eastus",
                         "aws:eu-north-1", "--json", NULL),
                     0);
    j = out_json();
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "best"), "region")), "aws:eu-north-1");
    json_decref(j);
}

static void test_compare_all(void **state)
{
    (void)state;
    assert_int_equal(run("carbon", "--energy", "1MWh", "--region", "us-west3", "--compare", "all", "--provider", "gcp",
                         "--year", "2021", "--json", NULL),
                     0);
    json_t *j = out_json();
    json_t *res = json_object_get(j, "results");
    assert_int_equal(json_array_size(res), 34);
    double prev = -1;
    for (size_t k = 0; k < json_array_size(res); k++) { /* ranked, cleanest first */
        double g = num(json_array_get(res, k), "intensity_g_per_kwh");
        assert_true(g >= prev);
        prev = g;
    }
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "best"), "region")),
                        "gcp:northamerica-northeast1");
    json_decref(j);
    assert_int_equal(run("carbon", "--energy", "1MWh", "--region", "us-west3", "--compare", "all", NULL), 0);
    assert_non_null(strstr(out_buf, "rank"));
    assert_true(lines(out_buf) > 300);
}

static void test_pue_and_overrides(void **state)
{
    (void)state;
    assert_int_equal(
        run("carbon", "--energy", "1MWh", "--region", "Oregon", "--year", "2021", "--pue", "gcp", "--json", NULL), 0);
    json_t *j = out_json();
    assert_true(fabs(num(j, "carbon_g") - 60000 * 1.10) < 1e-6);
    assert_true(num(j, "pue") == 1.10);
    assert_non_null(strstr(json_string_value(json_object_get(j, "pue_source")), "Google"));
    json_decref(j);
    assert_int_equal(run("carbon", "--energy", "1MWh", "--region", "Oregon", "--pue", "1.5", NULL), 0);
    assert_non_null(strstr(out_buf, "PUE 1.50"));
    assert_int_equal(run("carbon", "--energy", "2kWh", "--intensity", "100", "--json", NULL), 0);
    j = out_json();
    assert_true(fabs(num(j, "carbon_g") - 200) < 1e-9);
    json_decref(j);
    setenv("JP_REGION", "FR", 1);
    assert_int_equal(run("carbon", "--energy", "1kWh", "--json", NULL), 0);
    j = out_json();
    assert_string_equal(json_string_value(json_object_get(j, "region")), "FR");
    json_decref(j);
    unsetenv("JP_REGION");
    assert_int_equal(run("carbon", "--energy", "1kWh", NULL), 0);
    assert_non_null(strstr(out_buf, "world"));
    assert_non_null(strstr(out_buf, "480.6"));
}

static void expect_one_line_error(int rc, const char *needle)
{
    if (rc == 0) fail_msg("exit 0 for bad input; stdout: %s", out_buf);
    if (!strstr(err_buf, needle)) fail_msg("stderr lacks \"%s\": %s", needle, err_buf);
    assert_int_equal(lines(err_buf), 1);
    assert_null(strstr(out_buf, " g\n")); /* no figure printed */
}

static void test_bad_input(void **state)
{
    (void)state;
    expect_one_line_error(run("carbon", "--energy", "143.8MWh", "--region", "Salt Lake", NULL),
                          "closest: gcp:us-west3 (Salt Lake City)");
    expect_one_line_error(run("carbon", "--energy", "143.8MWh", "--region", "Oregn", NULL), "gcp:us-west1 (Oregon)");
    expect_one_line_error(run("carbon", "--energy", "143.8", "--region", "Oregon", NULL), "unit");
    expect_one_line_error(run("carbon", "--energy", "-3kWh", "--region", "Oregon", NULL), "negative");
    expect_one_line_error(run("carbon", "--energy", "3 furlongs", "--region", "Oregon", NULL), "energy");
    expect_one_line_error(run("carbon", "--region", "Oregon", NULL), "--energy");
    expect_one_line_error(run("carbon", "--energy", "1kWh", "--region", "aws:eu-south-2", NULL),
                          "closest: aws:eu-south-1 (Milan)");
    expect_one_line_error(run("carbon", "--energy", "1kWh", "--region", "Paris", "--year", "2019", NULL), "2021-2025");
    expect_one_line_error(run("carbon", "--energy", "1kWh", "--region", "Paris", "--year", "next", NULL), "--year");
    expect_one_line_error(run("carbon", "--energy", "1kWh", "--region", "Paris", "--pue", "0.5", NULL), "PUE");
    expect_one_line_error(run("carbon", "--energy", "1kWh", "--region", "Paris", "--compare", "Narnia", NULL),
                          "Narnia");
    char path[4096];
    ft_write(tmp, "mine.csv", "region,g_per_kwh\nHome,100\nLab,-4\n");
    snprintf(path, sizeof path, "%s/mine.csv", tmp);
    expect_one_line_error(run("carbon", "--energy", "1kWh", "--region", "Home", "--intensity-file", path, NULL),
                          "mine.csv:3: g_per_kwh \"-4\"");
    ft_write(tmp, "mine.csv", "region,g_per_kwh\nHome,100\nLab,40\n");
    assert_int_equal(run("carbon", "--energy", "1kWh", "--region", "Lab", "--intensity-file", path, "--json", NULL), 0);
    json_t *j = out_json();
    assert_true(fabs(num(j, "carbon_g") - 40) < 1e-9);
    json_decref(j);
    expect_one_line_error(run("regions", "--provider", "oracle", NULL), "gcp, aws, azure");
    expect_one_line_error(run("regions", "--sort", "colour", NULL), "--sort");
}

static void test_regions_listing(void **state)
{
    (void)state;
    assert_int_equal(run("regions", "--search", "virginia", NULL), 0);
    assert_non_null(strstr(out_buf, "gcp:us-east4"));
    assert_non_null(strstr(out_buf, "US-VA"));
    assert_non_null(strstr(out_buf, "3 regions"));
    assert_int_equal(run("regions", "--provider", "country", "--sort", "intensity", "--json", NULL), 0);
    json_t *j = out_json();
    assert_int_equal(json_array_size(j), 213);
    double prev = -1;
    for (size_t k = 0; k < json_array_size(j); k++) {
        double g = num(json_array_get(j, k), "intensity_g_per_kwh");
        assert_true(g >= prev);
        prev = g;
    }
    json_decref(j);
    assert_int_equal(run("regions", "--provider", "us-state", "--json", NULL), 0);
    j = out_json();
    assert_int_equal(json_array_size(j), 51);
    json_decref(j);
}

static const char series[] = "# test series\ntimestamp,region,g_per_kwh\n"
                             "2024-05-01T00:00Z,gcp:us-west3,500\n2024-05-01T00:00Z,Oregon,90\n"
                             "2024-05-01T01:00Z,gcp:us-west3,450\n2024-05-01T01:00Z,Oregon,80\n"
                             "2024-05-01T02:00Z,gcp:us-west3,400\n2024-05-01T02:00Z,Oregon,40\n"
                             "2024-05-01T03:00Z,gcp:us-west3,420\n2024-05-01T03:00Z,Oregon,30\n"
                             "2024-05-01T04:00Z,gcp:us-west3,480\n2024-05-01T04:00Z,Oregon,70\n";

static void test_plan_cli(void **state)
{
    (void)state;
    char path[4096];
    ft_write(tmp, "series.csv", "%s", series);
    snprintf(path, sizeof path, "%s/series.csv", tmp);
    /* 2 kWh over 2 h: Oregon from 02:00 (mean 35) against Salt Lake City now (00:00, mean 475) */
    assert_int_equal(run("plan", "--energy", "2kWh", "--duration", "2h", "--series", path, "--region", "Salt Lake City",
                         "--json", NULL),
                     0);
    json_t *j = out_json();
    json_t *best = json_object_get(j, "best"), *now = json_object_get(j, "now");
    assert_string_equal(json_string_value(json_object_get(best, "region")), "Oregon");
    assert_string_equal(json_string_value(json_object_get(best, "start")), "2024-05-01T02:00:00Z");
    assert_true(fabs(num(best, "carbon_g") - 70) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(now, "region")), "gcp:us-west3");
    assert_true(fabs(num(now, "carbon_g") - 950) < 1e-9);
    assert_true(fabs(num(j, "saving_pct") - (950.0 - 70) / 950 * 100) < 1e-9);
    json_decref(j);
    /* a window: only 00:00 .. 02:30 */
    assert_int_equal(run("plan", "--energy", "2kWh", "--duration", "2h", "--series", path, "--window",
                         "2024-05-01T00:00Z..2024-05-01T02:30Z", "--json", NULL),
                     0);
    j = out_json();
    best = json_object_get(j, "best");
    assert_string_equal(json_string_value(json_object_get(best, "region")), "Oregon");
    assert_string_equal(json_string_value(json_object_get(best, "start")), "2024-05-01T00:00:00Z");
    json_decref(j);
    assert_int_equal(run("plan", "--energy", "2kWh", "--duration", "2h", "--series", path, NULL), 0);
    assert_non_null(strstr(out_buf, "best"));
    assert_non_null(strstr(out_buf, "2024-05-01 02:00 UTC in Oregon"));
    /* gaps: a warning naming the rows missing, and the plan avoids them */
    ft_write(tmp, "gap.csv",
             "timestamp,region,g_per_kwh\n2024-05-01T00:00Z,A,10\n2024-05-01T03:00Z,A,10\n"
             "2024-05-01T00:00Z,B,50\n2024-05-01T01:00Z,B,50\n2024-05-01T02:00Z,B,50\n2024-05-01T03:00Z,B,50\n");
    snprintf(path, sizeof path, "%s/gap.csv", tmp);
    assert_int_equal(run("plan", "--energy", "1kWh", "--duration", "2h", "--series", path, "--json", NULL), 0);
    assert_non_null(strstr(err_buf, "warning"));
    assert_non_null(strstr(err_buf, "A: 1 gap"));
    assert_non_null(strstr(err_buf, "2 rows missing"));
    j = out_json();
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "best"), "region")), "B");
    assert_int_equal(json_array_size(json_object_get(j, "warnings")), 1);
    json_decref(j);
    /* malformed */
    ft_write(tmp, "bad.csv", "timestamp,region,g_per_kwh\n2024-05-01T00:00Z,A,10\n2024-05-01T01:00Z,,10\n");
    snprintf(path, sizeof path, "%s/bad.csv", tmp);
    expect_one_line_error(run("plan", "--energy", "1kWh", "--duration", "1h", "--series", path, NULL),
                          "bad.csv:3: region");
    expect_one_line_error(run("plan", "--energy", "1", "--duration", "1h", "--series", path, NULL), "unit");
    expect_one_line_error(
        run("plan", "--energy", "1kWh", "--duration", "1h", "--series", path, "--window", "soon", NULL), "--window");
    /* issue 13: milliseconds, /dev/zero and a FIFO, refused in one line and at once */
    ft_write(tmp, "ms.csv", "timestamp,region,g_per_kwh\n1714568400000,A,100\n1714572000000,A,100\n");
    snprintf(path, sizeof path, "%s/ms.csv", tmp);
    expect_one_line_error(run("plan", "--energy", "1kWh", "--duration", "1h", "--series", path, NULL),
                          "ms.csv:2: timestamp: time 1714568400000: after 2200 as Unix seconds; it looks like "
                          "milliseconds");
    alarm(60);
    expect_one_line_error(run("plan", "--energy", "1kWh", "--duration", "1h", "--series", "/dev/zero", NULL),
                          "/dev/zero: is a character device");
    snprintf(path, sizeof path, "%s/fifo", tmp);
    assert_int_equal(mkfifo(path, 0600), 0);
    expect_one_line_error(run("plan", "--energy", "1kWh", "--duration", "1h", "--series", path, NULL), "is a FIFO");
    alarm(0);
    unlink(path);
}

/* Mean of the hours [from, from + hours) of a committed EIA file (every one must have a value). */
static double eia_mean(const char *area, const char *from, int hours)
{
    char path[4096];
    const char *src = getenv("JP_TEST_SRC_DIR");
    snprintf(path, sizeof path, "%s/src/data/carbon/eia/%s-2022.csv", src ? src : ".", area);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot read", path);
    char line[128];
    double sum = 0;
    int n = -1;
    while (fgets(line, sizeof line, f) && n < hours) {
        if (n < 0 && !strncmp(line, from, strlen(from))) n = 0;
        if (n < 0) continue;
        const char *comma = strchr(line, ',');
        if (!comma || comma[1] == '\n') fail_msg("%s: no value in %s", path, line);
        sum += atof(comma + 1);
        n++;
    }
    fclose(f);
    assert_int_equal(n, hours);
    return sum / hours;
}

/* plan without --series: the built-in EIA series, the current region found from the cloud region it
 * serves, the figures those of the committed files, the gaps warned about. */
static void test_plan_builtin_cli(void **state)
{
    (void)state;
    int rc = run("plan", "--energy", "12kWh", "--duration", "3h", "--region", "aws:us-east-1", "--window",
                 "2022-07-01T00:00Z..2022-07-08T00:00Z", "--json", NULL);
    if (rc) fail_msg("exit %d: %s", rc, err_buf);
    json_t *j = out_json();
    json_t *best = json_object_get(j, "best"), *now = json_object_get(j, "now");
    assert_string_equal(json_string_value(json_object_get(now, "region")), "PJM");
    assert_string_equal(json_string_value(json_array_get(json_object_get(now, "serves"), 0)), "aws:us-east-1");
    assert_string_equal(json_string_value(json_object_get(now, "start")), "2022-07-01T00:00:00Z");
    double g_now = eia_mean("PJM", "2022-07-01 00:00", 3);
    assert_true(fabs(num(now, "intensity_g_per_kwh") - g_now) < 1e-9);
    assert_true(fabs(num(now, "carbon_g") - 12 * g_now) < 1e-6);
    assert_string_equal(json_string_value(json_object_get(best, "region")), "BPAT");
    assert_string_equal(json_string_value(json_object_get(best, "start")), "2022-07-03T12:00:00Z");
    double g_best = eia_mean("BPAT", "2022-07-03 12:00", 3);
    assert_true(fabs(num(best, "intensity_g_per_kwh") - g_best) < 1e-9);
    assert_int_equal(json_array_size(json_object_get(j, "regions")), 5);
    /* no gap of any area falls in that week: nothing to warn about (the year's gaps are in January, March
     * and June) */
    assert_int_equal(json_array_size(json_object_get(j, "warnings")), 0);
    assert_null(strstr(err_buf, "warning"));
    assert_non_null(strstr(json_string_value(json_object_get(j, "series")), "dc-rl"));
    json_decref(j);
    /* the text: which area the region is in, and the areas with the regions they serve */
    rc = run("plan", "--energy", "12kWh", "--duration", "3h", "--region", "aws:us-east-1", "--window",
             "2022-07-01T00:00Z..2022-07-08T00:00Z", NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out_buf, "region aws:us-east-1: the series' PJM"));
    assert_non_null(strstr(out_buf, "in PJM (aws:us-east-1, azure:eastus)"));
    assert_non_null(strstr(out_buf, "2022-07-03 12:00 UTC in BPAT (aws:us-west-2, gcp:us-west1)"));
    assert_null(strstr(err_buf, "warning"));
    /* the whole year: every area's gaps bear on it, each said once */
    rc = run("plan", "--energy", "12kWh", "--duration", "3h", "--region", "aws:us-east-1", NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err_buf, "PJM: 2 gaps in the series (23 rows missing"));
    assert_non_null(strstr(err_buf, "nothing is interpolated"));
    const char *first = strstr(err_buf, "PJM: 2 gaps");
    assert_null(strstr(first + 1, "PJM: 2 gaps"));
    assert_non_null(strstr(err_buf, "CISO: 3 gaps"));
    assert_non_null(strstr(err_buf, "MISO: 2 gaps"));
    /* across PJM's gap: now is not covered, said so, and only PJM's gap is warned about */
    rc = run("plan", "--energy", "1kWh", "--duration", "2h", "--region", "azure:eastus", "--window",
             "2022-03-13T06:00Z..2022-03-13T12:00Z", "--json", NULL);
    assert_int_equal(rc, 0);
    j = out_json();
    assert_int_equal(json_array_size(json_object_get(j, "warnings")), 1);
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(j, "warnings"), 0)),
                           "PJM: 1 gap in the series (22 rows missing; the gap from 2022-03-13 07:00 UTC to 2022-03-14 05:00 UTC)"));
    assert_true(json_is_null(json_object_get(json_object_get(j, "now"), "carbon_g")));
    assert_string_not_equal(json_string_value(json_object_get(json_object_get(j, "best"), "region")), "PJM");
    json_decref(j);
    /* a region no built-in area serves */
    expect_one_line_error(run("plan", "--energy", "1kWh", "--duration", "1h", "--region", "gcp:europe-west1", NULL),
                          "or give --series FILE");
}

/* The example shipped for the README runs. */
static void test_example_series(void **state)
{
    (void)state;
    char path[4096];
    const char *src = getenv("JP_TEST_SRC_DIR");
    snprintf(path, sizeof path, "%s/examples/intensity_series.csv", src ? src : ".");
    assert_int_equal(
        run("plan", "--energy", "12kWh", "--duration", "3h", "--series", path, "--region", "us-west3", NULL), 0);
    assert_non_null(strstr(out_buf, "gcp:europe-west9"));
    assert_string_equal(err_buf, "");
}

/* stat's carbon options on a real (model or counter) measurement of `true`. */
static void test_stat_carbon_options(void **state)
{
    (void)state;
    int rc =
        run("stat", "--json", "-o", "-", "--intensity", "100", "--pue", "1.5", "--project", "1000", "--", "true", NULL);
    if (rc == 1 && strstr(err_buf, "source")) skip(); /* nothing can measure here */
    if (rc) fail_msg("exit %d: %s", rc, err_buf);
    json_t *j = out_json();
    double e = num(j, "energy_j");
    assert_true(num(j, "pue") == 1.5);
    assert_true(num(j, "intensity_g_per_kwh") == 100);
    assert_true(fabs(num(j, "carbon_g") - e / 3.6e6 * 100 * 1.5) <= 1e-9 * (1 + num(j, "carbon_g")));
    json_t *p = json_object_get(j, "project");
    assert_non_null(p);
    assert_true(num(p, "runs") == 1000);
    assert_true(fabs(num(p, "energy_j") - e * 1000) <= 1e-9 * (1 + e * 1000));
    assert_true(fabs(num(p, "carbon_g") - num(j, "carbon_g") * 1000) <= 1e-6 * (1 + num(p, "carbon_g")));
    json_decref(j);
    rc = run("stat", "-o", "-", "--region", "Oregon", "--year", "2021", "--project", "many", "--", "true", NULL);
    expect_one_line_error(rc, "--project");
    rc = run("stat", "-o", "-", "--region", "Oregon", "--year", "2021", "--", "true", NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out_buf, "gcp:us-west1"));
    assert_non_null(strstr(out_buf, "60"));
    assert_non_null(strstr(out_buf, "PUE 1.0"));
}

static int setup(void **state)
{
    (void)state;
    cli = getenv("JP_CLI");
    if (!cli || !*cli) {
        fprintf(stderr, "JP_CLI is not set: run under ctest\n");
        return -1;
    }
    tmp = ft_mkroot("carbon-cli");
    snprintf(out_path, sizeof out_path, "%s/stdout", tmp);
    snprintf(err_path, sizeof err_path, "%s/stderr", tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_rmroot(tmp);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_command),      cmocka_unit_test(test_latest_by_default),
        cmocka_unit_test(test_seed_table_cli),    cmocka_unit_test(test_cloud_regions_cli),
        cmocka_unit_test(test_compare_all),
        cmocka_unit_test(test_pue_and_overrides), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_regions_listing),   cmocka_unit_test(test_plan_cli),
        cmocka_unit_test(test_plan_builtin_cli),
        cmocka_unit_test(test_example_series),    cmocka_unit_test(test_stat_carbon_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
