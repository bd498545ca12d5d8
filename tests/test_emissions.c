/*
 * The CodeCarbon-compatible emissions.csv writer (src/emissions.c) on a fake powercap tree whose
 * counters the test steps by known amounts: columns and their order, units (kg, kWh, W, GiB), figures
 * equal to the meter's, the header written once, quoting, files it must refuse and leave untouched,
 * concurrent writers, and `jouleprint stat --emissions-csv`.
 */
#define _GNU_SOURCE
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
#include "util.h"

#define NCOLS 39
static const char *const codecarbon_cols[31] = {
    "timestamp",     "project_name",    "run_id",           "duration",       "emissions",     "emissions_rate",
    "cpu_power",     "gpu_power",       "ram_power",        "cpu_energy",     "gpu_energy",    "ram_energy",
    "energy_consumed", "country_name",  "country_iso_code", "region",         "cloud_provider", "cloud_region",
    "os",            "python_version",  "codecarbon_version", "cpu_count",    "cpu_model",     "gpu_count",
    "gpu_model",     "longitude",       "latitude",         "ram_total_size", "tracking_mode", "on_cloud",
    "pue"};

static char *root;
static char dir[4096];

/* ---- a tiny CSV reader (quoted fields, doubled quotes) -------------------------------------------- */

struct row {
    int n;
    char *f[64];
};

/* Splits one line (no newline) into fields, in place. */
static void split(char *line, struct row *r)
{
    r->n = 0;
    char *p = line;
    for (;;) {
        assert_true(r->n < 64);
        if (*p == '"') {
            char *w = ++p, *start = w;
            for (;;) {
                if (!*p) fail_msg("unterminated quote");
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            *w = '\0';
            r->f[r->n++] = start;
        } else {
            r->f[r->n++] = p;
            p += strcspn(p, ",");
        }
        if (*p == ',') {
            *p++ = '\0';
            continue;
        }
        assert_true(*p == '\0');
        break;
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot read", path);
    char *buf = malloc(1 << 22);
    size_t n = fread(buf, 1, (1 << 22) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The lines of a file (malloc'd copies); returns how many. */
static int lines_of(const char *path, char ***out)
{
    char *text = slurp(path);
    int n = 0;
    char **v = calloc(200000, sizeof *v);
    for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) v[n++] = strdup(l);
    free(text);
    *out = v;
    return n;
}

static void free_lines(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

static double num(const struct row *r, int col)
{
    char *end;
    double v = strtod(r->f[col], &end);
    if (end == r->f[col] || *end) fail_msg("column %d: \"%s\" is not a number", col, r->f[col]);
    return v;
}

static int col(const char *name)
{
    static char hdr[2048];
    static struct row h;
    if (!h.n) {
        jp_strlcpy(hdr, jp_emissions_csv_header(), sizeof hdr);
        split(hdr, &h);
    }
    for (int i = 0; i < h.n; i++)
        if (!strcmp(h.f[i], name)) return i;
    fail_msg("no column %s", name);
    return -1;
}

/* ---- a meter on a fake tree with counters stepped by known energies --------------------------- */

static double pkg_j, dram_j;

static void write_counters(void)
{
    ft_write(root, "class/powercap/intel-rapl:0/energy_uj", "%llu\n", (unsigned long long)llround(pkg_j * 1e6));
    ft_write(root, "class/powercap/intel-rapl:0:0/energy_uj", "%llu\n", (unsigned long long)llround(dram_j * 1e6));
}

static int setup(void **state)
{
    (void)state;
    root = ft_mkroot("emissions");
    ft_write(root, "class/powercap/intel-rapl:0/name", "package-0\n");
    ft_write(root, "class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    ft_write(root, "class/powercap/intel-rapl:0:0/name", "dram\n");
    ft_write(root, "class/powercap/intel-rapl:0:0/max_energy_range_uj", "262143328850\n");
    pkg_j = 100;
    dram_j = 10;
    write_counters();
    setenv("JP_SYSFS_ROOT", root, 1);
    snprintf(dir, sizeof dir, "%s/out", root);
    ft_mkdirs(root, "out");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_rmroot(root);
    return 0;
}

/* A measurement with two phases: 3 J + 1 J, then 2 J + 0.5 J. */
static jp_meter *measured(void)
{
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-powercap";
    jp_meter *m = NULL;
    if (jp_meter_open(&m, &cfg) != JP_OK) fail_msg("open: %s", jp_last_error());
    assert_int_equal(jp_meter_phase(m, "load"), JP_OK);
    assert_int_equal(jp_meter_start(m), JP_OK);
    usleep(60000);
    pkg_j += 3;
    dram_j += 1;
    write_counters();
    usleep(60000);
    assert_int_equal(jp_meter_phase(m, "in;fer"), JP_OK);
    usleep(60000);
    pkg_j += 2;
    dram_j += 0.5;
    write_counters();
    usleep(60000);
    assert_int_equal(jp_meter_stop(m), JP_OK);
    return m;
}

static void path_in(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

/* ---- tests ---------------------------------------------------------------------------------------- */

static void test_header_columns(void **state)
{
    (void)state;
    char hdr[2048];
    jp_strlcpy(hdr, jp_emissions_csv_header(), sizeof hdr);
    struct row h;
    split(hdr, &h);
    assert_int_equal(h.n, NCOLS);
    for (int i = 0; i < 31; i++) assert_string_equal(h.f[i], codecarbon_cols[i]);
    for (int i = 31; i < NCOLS; i++) assert_memory_equal(h.f[i], "jp_", 3); /* ours, after theirs */
}

static void test_row_figures(void **state)
{
    (void)state;
    char path[4200];
    path_in(path, sizeof path, "figures.csv");
    jp_meter *m = measured();
    jp_intensity ci;
    assert_int_equal(jp_intensity_lookup("Oregon", &ci), JP_OK);
    jp_emissions_meta em;
    jp_emissions_meta_init(&em);
    em.project_name = "vit, \"small\"";
    em.python_version = "3.11.2";
    em.intensity = &ci;
    em.pue = 1.1;
    char id1[64], id2[64];
    assert_int_equal(jp_emissions_csv_append(path, m, &em, id1, sizeof id1), JP_OK);
    assert_int_equal(jp_emissions_csv_append(path, m, &em, id2, sizeof id2), JP_OK);
    assert_string_not_equal(id1, id2);
    assert_int_equal(strlen(id1), 36);
    assert_int_equal(id1[14], '4'); /* UUID version 4 */

    char **lines;
    int n = lines_of(path, &lines);
    assert_int_equal(n, 3); /* header once, then two rows */
    assert_string_equal(lines[0], jp_emissions_csv_header());
    struct row r;
    split(lines[1], &r);
    assert_int_equal(r.n, NCOLS);
    assert_string_equal(r.f[col("project_name")], "vit, \"small\"");
    assert_string_equal(r.f[col("run_id")], id1);
    assert_int_equal(strlen(r.f[col("timestamp")]), 19); /* %Y-%m-%dT%H:%M:%S */
    assert_int_equal(r.f[col("timestamp")][10], 'T');

    double total = jp_meter_joules(m, JP_TOTAL), dur = jp_meter_duration(m);
    assert_true(fabs(total - 6.5) < 1e-6); /* 3 + 1 + 2 + 0.5 J */
    double grams = jp_carbon_grams(total, ci.g_per_kwh, 1.1);
    /* the same doubles, written so that they read back exactly */
    assert_true(num(&r, col("emissions")) == grams / 1000.0);
    assert_true(num(&r, col("energy_consumed")) == total / 3.6e6);
    assert_true(num(&r, col("duration")) == dur);
    assert_true(fabs(num(&r, col("emissions_rate")) - grams / 1000.0 / dur) < 1e-15);
    assert_true(fabs(num(&r, col("cpu_energy")) - 5.0 / 3.6e6) < 1e-12);
    assert_true(fabs(num(&r, col("ram_energy")) - 1.5 / 3.6e6) < 1e-12);
    assert_true(num(&r, col("gpu_energy")) == 0);
    assert_true(fabs(num(&r, col("cpu_power")) - 5.0 / dur) < 1e-9);
    assert_true(fabs(num(&r, col("ram_power")) - 1.5 / dur) < 1e-9);
    assert_true(fabs(num(&r, col("cpu_energy")) + num(&r, col("ram_energy")) + num(&r, col("gpu_energy")) -
                     num(&r, col("energy_consumed"))) < 1e-15);
    assert_true(num(&r, col("pue")) == 1.1);
    assert_string_equal(r.f[col("country_name")], "United States");
    assert_string_equal(r.f[col("country_iso_code")], "USA");
    assert_string_equal(r.f[col("cloud_provider")], "gcp");
    assert_string_equal(r.f[col("cloud_region")], "us-west1");
    assert_string_equal(r.f[col("on_cloud")], "Y");
    assert_string_equal(r.f[col("tracking_mode")], "machine");
    assert_string_equal(r.f[col("python_version")], "3.11.2");
    assert_string_equal(r.f[col("codecarbon_version")], "");
    assert_int_equal((int)num(&r, col("gpu_count")), 0);
    assert_true(num(&r, col("cpu_count")) >= 1);
    assert_string_equal(r.f[col("jp_estimated")], "false");
    assert_string_equal(r.f[col("jp_sources")], "package-0:rapl-powercap;dram-0:rapl-powercap");
    assert_true(num(&r, col("jp_energy_j")) == total);
    assert_true(num(&r, col("jp_intensity_g_per_kwh")) == ci.g_per_kwh);
    assert_string_equal(r.f[col("jp_region")], "gcp:us-west1");
    /* phases in order, a ';' in a name made '_' so that the list stays readable */
    char *ph = r.f[col("jp_phases")];
    assert_non_null(strstr(ph, "load:4"));
    assert_non_null(strstr(ph, ";in_fer:2.5"));
    assert_true(fabs(jp_meter_phase_joules(m, 0, JP_TOTAL) - 4.0) < 1e-6);
    assert_string_equal(r.f[col("jp_version")], jp_version());
    free_lines(lines, n);

    /* an AWS and an Azure region are clouds too: provider, code, place */
    char p3[4200];
    path_in(p3, sizeof p3, "clouds.csv");
    assert_int_equal(jp_intensity_lookup("aws:us-east-1", &ci), JP_OK);
    assert_int_equal(jp_emissions_csv_append(p3, m, &em, NULL, 0), JP_OK);
    assert_int_equal(jp_intensity_lookup("azure:West Europe", &ci), JP_OK);
    assert_int_equal(jp_emissions_csv_append(p3, m, &em, NULL, 0), JP_OK);
    n = lines_of(p3, &lines);
    assert_int_equal(n, 3);
    split(lines[1], &r);
    assert_string_equal(r.f[col("cloud_provider")], "aws");
    assert_string_equal(r.f[col("cloud_region")], "us-east-1");
    assert_string_equal(r.f[col("region")], "N. Virginia");
    assert_string_equal(r.f[col("country_iso_code")], "USA");
    assert_string_equal(r.f[col("on_cloud")], "Y");
    split(lines[2], &r);
    assert_string_equal(r.f[col("cloud_provider")], "azure");
    assert_string_equal(r.f[col("cloud_region")], "westeurope");
    assert_string_equal(r.f[col("country_iso_code")], "NLD");
    free_lines(lines, n);

    /* the country of a plain country, and nothing invented for the world */
    assert_int_equal(jp_intensity_lookup("FR", &ci), JP_OK);
    char p2[4200];
    path_in(p2, sizeof p2, "country.csv");
    assert_int_equal(jp_emissions_csv_append(p2, m, &em, NULL, 0), JP_OK);
    em.intensity = NULL;
    assert_int_equal(jp_emissions_csv_append(p2, m, &em, NULL, 0), JP_OK);
    n = lines_of(p2, &lines);
    assert_int_equal(n, 3);
    split(lines[1], &r);
    assert_string_equal(r.f[col("country_iso_code")], "FRA");
    assert_string_equal(r.f[col("on_cloud")], "N");
    assert_string_equal(r.f[col("cloud_provider")], "");
    split(lines[2], &r);
    assert_string_equal(r.f[col("country_name")], "");
    assert_string_equal(r.f[col("jp_region")], "world");
    assert_true(num(&r, col("jp_intensity_g_per_kwh")) == JP_WORLD_G_PER_KWH);
    free_lines(lines, n);
    jp_meter_close(m);
}

/* Files that are not ours, or end in half a line, are refused and left byte for byte as they were. */
static void test_refuses_foreign_files(void **state)
{
    (void)state;
    jp_meter *m = measured();
    static const char *const bad[] = {
        "timestamp,project_name,run_id,duration,emissions\n2024-01-01T00:00:00,x,y,1,2\n", /* CodeCarbon's */
        "a,b,c\n1,2,3\n",                                                                     /* someone else's */
        NULL, /* ours, with an unfinished row: filled in below */
    };
    char partial[4096];
    snprintf(partial, sizeof partial, "%s\n2024-01-01T00:00:00,jouleprint,abc,1.5", jp_emissions_csv_header());
    for (int i = 0; i < 3; i++) {
        const char *text = bad[i] ? bad[i] : partial;
        char path[4200];
        snprintf(path, sizeof path, "%s/bad%d.csv", dir, i);
        FILE *f = fopen(path, "w");
        fputs(text, f);
        fclose(f);
        assert_int_equal(jp_emissions_csv_append(path, m, NULL, NULL, 0), JP_ERR_PARSE);
        assert_non_null(strstr(jp_last_error(), path)); /* the message names the file */
        char *after = slurp(path);
        assert_string_equal(after, text);
        free(after);
    }
    /* no finished measurement */
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.source = "rapl-powercap";
    jp_meter *fresh;
    assert_int_equal(jp_meter_open(&fresh, &cfg), JP_OK);
    char path[4200];
    path_in(path, sizeof path, "never.csv");
    assert_int_equal(jp_emissions_csv_append(path, fresh, NULL, NULL, 0), JP_ERR_STATE);
    assert_int_equal(access(path, F_OK), -1); /* nothing created */
    jp_meter_close(fresh);
    jp_emissions_meta em;
    jp_emissions_meta_init(&em);
    em.pue = 0.5;
    assert_int_equal(jp_emissions_csv_append(path, m, &em, NULL, 0), JP_ERR_RANGE);
    jp_meter_close(m);
}

/* Eight processes appending 25 rows each at once: 200 whole rows, one header. */
static void test_concurrent_writers(void **state)
{
    (void)state;
    char path[4200];
    path_in(path, sizeof path, "shared.csv");
    jp_meter *m = measured();
    pid_t kids[8];
    for (int k = 0; k < 8; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            for (int i = 0; i < 25; i++)
                if (jp_emissions_csv_append(path, m, NULL, NULL, 0) != JP_OK) {
                    fprintf(stderr, "child: %s\n", jp_last_error());
                    _exit(1);
                }
            _exit(0);
        }
    }
    for (int k = 0; k < 8; k++) {
        int ws;
        assert_int_equal(waitpid(kids[k], &ws, 0), kids[k]);
        assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    }
    char **lines;
    int n = lines_of(path, &lines);
    assert_int_equal(n, 201);
    assert_string_equal(lines[0], jp_emissions_csv_header());
    for (int i = 1; i < n; i++) {
        struct row r;
        split(lines[i], &r);
        assert_int_equal(r.n, NCOLS);
        assert_string_equal(r.f[NCOLS - 1], jp_version());
    }
    free_lines(lines, n);
    /* no temporary file left beside it */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c '^\\.shared' > '%s/count.txt'", dir, root);
    assert_int_equal(system(cmd) == -1, 0);
    char cpath[4200];
    snprintf(cpath, sizeof cpath, "%s/count.txt", root);
    char *c = slurp(cpath);
    assert_int_equal(atoi(c), 0);
    free(c);
    jp_meter_close(m);
}

/* `jouleprint stat --emissions-csv`: a row per run, the project's name, the region's country. */
static void test_stat_cli(void **state)
{
    (void)state;
    char path[4200];
    path_in(path, sizeof path, "stat.csv");
    const char *args[] = {"stat", "-r", "2", "--source", "rapl-powercap", "--region", "FR", "--emissions-csv", path,
                          "--project-name", "cli-test", "--json", "-o", "/dev/null", "--", "true", NULL};
    assert_int_equal(ft_run_cli(NULL, NULL, args), 0);
    char **lines;
    int n = lines_of(path, &lines);
    assert_int_equal(n, 3);
    struct row r;
    split(lines[2], &r);
    assert_int_equal(r.n, NCOLS);
    assert_string_equal(r.f[col("project_name")], "cli-test");
    assert_string_equal(r.f[col("country_iso_code")], "FRA");
    assert_string_equal(r.f[col("jp_sources")], "package-0:rapl-powercap;dram-0:rapl-powercap");
    assert_string_equal(r.f[col("jp_phases")], "run:0");
    free_lines(lines, n);
    /* a file it must not append to: the command still runs, the failure is said and is the status */
    char bad[4200];
    path_in(bad, sizeof bad, "bad0.csv"); /* CodeCarbon's header, from the test above */
    char err[4200];
    snprintf(err, sizeof err, "%s/stat.err", root);
    const char *args2[] = {"stat", "--source", "rapl-powercap", "--emissions-csv", bad, "--", "true", NULL};
    assert_int_equal(ft_run_cli(NULL, err, args2), 1);
    char *e = slurp(err);
    assert_non_null(strstr(e, "--emissions-csv"));
    assert_non_null(strstr(e, "bad0.csv:1"));
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_columns),
        cmocka_unit_test(test_row_figures),
        cmocka_unit_test(test_refuses_foreign_files),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_stat_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
