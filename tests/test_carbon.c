/*
 * Carbon accounting in the library: the seed study's figures exactly, every Google region against the
 * project's copy of Google's CSVs (and against ../shared/data where it is there), the latest year as
 * the default, lookups by code, place, country and state with case and accents aside, suggestions for
 * unknown names, PUE, a user's own file, and intensity series with the plan they give.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "jouleprint.h"

/* The seed study's table, as ../shared/data/seed-study.md gives it: its 23 regions in its order, by the
 * seed's own names, with Google Cloud's 2021 grid figures. */
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
#define N_SEED (sizeof seed21 / sizeof seed21[0])

static const char *src_dir(void)
{
    const char *d = getenv("JP_TEST_SRC_DIR");
    return d && *d ? d : ".";
}

static void test_seed_figures(void **state)
{
    (void)state;
    double j;
    assert_int_equal(jp_parse_energy("143.8MWh", &j), JP_OK);
    jp_intensity slc, ore;
    assert_int_equal(jp_intensity_lookup_year("Salt Lake City", 2021, &slc), JP_OK);
    assert_int_equal(jp_intensity_lookup_year("Oregon", 2021, &ore), JP_OK);
    assert_string_equal(slc.region, "gcp:us-west3");
    assert_string_equal(ore.region, "gcp:us-west1");
    assert_int_equal(slc.year, 2021);
    assert_true(slc.g_per_kwh == 448);
    assert_true(ore.g_per_kwh == 60);
    assert_non_null(strstr(slc.source, "2021"));
    double a = jp_carbon_grams(j, slc.g_per_kwh, 1.0), b = jp_carbon_grams(j, ore.g_per_kwh, 1.0);
    assert_true(fabs(a - 64422400.0) < 1e-6);
    assert_true(fabs(b - 8628000.0) < 1e-6);
    char buf[64];
    jp_format_grams(a, buf, sizeof buf);
    assert_string_equal(buf, "64,422,400 g");
    jp_format_grams(b, buf, sizeof buf);
    assert_string_equal(buf, "8,628,000 g");
    snprintf(buf, sizeof buf, "%.1f%%", (a - b) / a * 100);
    assert_string_equal(buf, "86.6%");
}

/* All 23 of the seed's regions, by code and by the seed's own place name, against the 2021 figures;
 * and exactly these 23 carry the seed flag. */
static void test_seed_table_2021(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SEED; i++) {
        jp_intensity by_code, by_place;
        char id[64];
        snprintf(id, sizeof id, "gcp:%s", seed21[i].code);
        assert_int_equal(jp_intensity_lookup_year(id, 2021, &by_code), JP_OK);
        assert_int_equal(jp_intensity_lookup_year(seed21[i].place, 2021, &by_place), JP_OK);
        if (by_code.g_per_kwh != seed21[i].g || strcmp(by_place.region, id))
            fail_msg("%s (%s): %g from the code, %s from the place; the seed has %g", seed21[i].code, seed21[i].place,
                     by_code.g_per_kwh, by_place.region, seed21[i].g);
        assert_true(by_code.seed);
        assert_string_equal(by_code.provider, "gcp");
    }
    /* exactly these 23 carry the flag (none of Osaka, Seoul, Jakarta, Frankfurt, Eemshaven, Zurich), and
     * in 2021 figures the cleanest is Toronto (29), the dirtiest Mumbai (670) */
    size_t seeds = 0;
    jp_intensity lo = {0}, hi = {0};
    for (size_t i = 0; i < jp_region_count(); i++) {
        jp_intensity ci;
        assert_int_equal(jp_region_get(i, 0, &ci), JP_OK);
        if (!ci.seed) continue;
        seeds++;
        int listed = 0;
        for (size_t k = 0; k < N_SEED; k++) {
            char id[64];
            snprintf(id, sizeof id, "gcp:%s", seed21[k].code);
            listed |= !strcmp(id, ci.region);
        }
        if (!listed) fail_msg("%s (%s) is flagged as the seed's but the seed does not list it", ci.region, ci.name);
        assert_int_equal(jp_region_get(i, 2021, &ci), JP_OK);
        if (!lo.region[0] || ci.g_per_kwh < lo.g_per_kwh) lo = ci;
        if (!hi.region[0] || ci.g_per_kwh > hi.g_per_kwh) hi = ci;
    }
    assert_int_equal(seeds, N_SEED);
    assert_string_equal(lo.region, "gcp:northamerica-northeast2");
    assert_string_equal(lo.name, "Toronto");
    assert_true(lo.g_per_kwh == 29);
    assert_string_equal(hi.region, "gcp:asia-south1");
    assert_true(hi.g_per_kwh == 670);
    jp_intensity x;
    assert_int_equal(jp_intensity_lookup("gcp:europe-west6", &x), JP_OK);
    assert_false(x.seed);
    assert_int_equal(jp_intensity_lookup("North Virginia", &x), JP_OK);
    assert_string_equal(x.region, "gcp:us-east4");
}

/* Reads the project's copy of Google's figures (src/data/carbon/gcp_intensity.csv): every row must be
 * what the library gives for that region and year, and each region's latest year its default. */
static void test_every_google_figure(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/src/data/carbon/gcp_intensity.csv", src_dir());
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot read (JP_TEST_SRC_DIR?)", path);
    char line[256], last_code[64] = "";
    double last_g = 0;
    int last_year = 0, rows = 0, rows2021 = 0;
    while (fgets(line, sizeof line, f)) {
        char code[64];
        int year;
        double g;
        if (line[0] == '#' || sscanf(line, "%63[^,],%d,%lf", code, &year, &g) != 3) continue;
        if (strcmp(code, last_code) && last_code[0]) { /* the previous region's latest is the default */
            jp_intensity ci;
            assert_int_equal(jp_intensity_lookup(last_code, &ci), JP_OK);
            if (ci.year != last_year || ci.g_per_kwh != last_g)
                fail_msg("%s: default %d %g, latest in the CSV %d %g", last_code, ci.year, ci.g_per_kwh, last_year,
                         last_g);
        }
        jp_intensity ci;
        assert_int_equal(jp_intensity_lookup_year(code, year, &ci), JP_OK);
        if (ci.g_per_kwh != g) fail_msg("%s %d: %g, the CSV has %g", code, year, ci.g_per_kwh, g);
        rows++;
        rows2021 += year == 2021;
        snprintf(last_code, sizeof last_code, "%s", code);
        last_year = year;
        last_g = g;
    }
    fclose(f);
    assert_true(rows > 200);
    assert_int_equal(rows2021, 34);
}

/* Where ../shared/data is beside the project (not in CI's clone), the 2021 file itself. */
static void test_against_shared_2021(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/../shared/data/google-region-carbon-info/2021.csv", src_dir());
    FILE *f = fopen(path, "r");
    if (!f) skip();
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char code[64], place[64], cfe[16];
        double g;
        if (sscanf(line, "%63[^,],%63[^,],%15[^,],%lf", code, place, cfe, &g) != 4 &&
            sscanf(line, "%63[^,],%63[^,],,%lf", code, place, &g) != 3)
            continue;
        jp_intensity ci;
        assert_int_equal(jp_intensity_lookup_year(code, 2021, &ci), JP_OK);
        assert_true(ci.g_per_kwh == g);
        assert_int_equal(jp_intensity_lookup_year(place, 2021, &ci), JP_OK);
        assert_true(ci.g_per_kwh == g);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 34);
}

/* Every row of the project's copy of Cloud Carbon Footprint's table (src/data/carbon/ccf/) is what the library
 * gives for provider:code, with the year 2021 and the source that CCF's factor_basis names; and the copy is
 * the one in ../shared/data where that is beside the project. */
static void test_every_ccf_figure(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/src/data/carbon/ccf/cloud-region-factors.csv", src_dir());
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot read (JP_TEST_SRC_DIR?)", path);
    char line[256];
    int rows = 0, egrid = 0;
    while (fgets(line, sizeof line, f)) {
        char prov[16], code[64], basis[128];
        double g;
        if (sscanf(line, "%15[^,],%63[^,],%lf,%127[^\n]", prov, code, &g, basis) != 4) continue;
        char id[96];
        snprintf(id, sizeof id, "%s:%s", prov, code);
        jp_intensity ci;
        if (jp_intensity_lookup(id, &ci) != JP_OK) fail_msg("%s: %s", id, jp_last_error());
        if (ci.g_per_kwh != g) fail_msg("%s: %g, CCF has %g", id, ci.g_per_kwh, g);
        assert_string_equal(ci.provider, prov);
        assert_int_equal(ci.year, 2021);
        assert_non_null(strstr(ci.source, "Cloud Carbon Footprint"));
        assert_true(ci.name[0] && ci.country[0] != '?');
        const char *nerc = strstr(basis, "NERC region ");
        if (nerc) { /* "US NERC region SERC (EPA eGRID)": the source names eGRID and the same NERC region */
            char want[64];
            snprintf(want, sizeof want, "NERC region %.*s", (int)strcspn(nerc + 12, " "), nerc + 12);
            if (!strstr(ci.source, "eGRID") || !strstr(ci.source, want)) fail_msg("%s: source %s", id, ci.source);
            assert_string_equal(ci.country, "US");
            egrid++;
        } else {
            assert_null(strstr(ci.source, "eGRID"));
        }
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 104);
    assert_int_equal(egrid, 6 + 22); /* AWS 6 US regions, Azure 22 */
    /* the copy is the shared file, byte for byte */
    snprintf(path, sizeof path, "%s/../shared/data/cloud-carbon-footprint/cloud-region-factors.csv", src_dir());
    FILE *shared = fopen(path, "r");
    if (!shared) return;
    snprintf(path, sizeof path, "%s/src/data/carbon/ccf/cloud-region-factors.csv", src_dir());
    f = fopen(path, "r");
    assert_non_null(f);
    int a, b;
    do {
        a = getc(f);
        b = getc(shared);
        assert_int_equal(a, b);
    } while (a != EOF);
    fclose(f);
    fclose(shared);
}

static void expect_region(const char *text, const char *id)
{
    jp_intensity ci;
    int rc = jp_intensity_lookup(text, &ci);
    if (rc != JP_OK) fail_msg("\"%s\": %s", text, jp_last_error());
    if (strcmp(ci.region, id)) fail_msg("\"%s\" gave %s, expected %s", text, ci.region, id);
    assert_true(ci.g_per_kwh >= 0);
    assert_true(ci.source[0]);
}

static void test_lookup_forms(void **state)
{
    (void)state;
    expect_region("gcp:us-west1", "gcp:us-west1");
    expect_region("GCP:US-WEST1", "gcp:us-west1");
    expect_region("us-west1", "gcp:us-west1");
    expect_region("google:Oregon", "gcp:us-west1");
    expect_region("oregon", "gcp:us-west1");
    expect_region("The Dalles", "gcp:us-west1");
    expect_region("  salt lake city ", "gcp:us-west3");
    expect_region("Zürich", "gcp:europe-west6");
    expect_region("ZURICH", "gcp:europe-west6");
    expect_region("Sāo Paulo", "gcp:southamerica-east1");
    expect_region("sao-paulo", "gcp:southamerica-east1");
    expect_region("Montreal", "gcp:northamerica-northeast1");
    expect_region("Netherlands", "gcp:europe-west4");
    expect_region("Eemshaven", "gcp:europe-west4");
    expect_region("Paris", "gcp:europe-west9");
    expect_region("FR", "FR");
    expect_region("fra", "FR");
    expect_region("France", "FR");
    expect_region("french republic", "FR");
    expect_region("country:DE", "DE");
    expect_region("Germany", "DE");
    expect_region("United States", "US");
    expect_region("USA", "US");
    expect_region("US-OR", "US-OR");
    expect_region("us:or", "US-OR");
    expect_region("us-state:Oregon", "US-OR");
    expect_region("West Virginia", "US-WV");
    expect_region("Côte d'Ivoire", "CI");
    expect_region("world", "world");
    /* AWS and Azure: by code, display name and place; a bare place keeps meaning the country or state */
    expect_region("aws:us-east-1", "aws:us-east-1");
    expect_region("us-east-1", "aws:us-east-1");
    expect_region("AWS:US-EAST-1", "aws:us-east-1");
    expect_region("amazon:us-west-2", "aws:us-west-2");
    expect_region("aws:Oregon", "aws:us-west-2");
    expect_region("aws:Ireland", "aws:eu-west-1");
    expect_region("aws:US East (N. Virginia)", "aws:us-east-1");
    expect_region("N. Virginia", "aws:us-east-1");
    expect_region("eu-west-1", "aws:eu-west-1");
    expect_region("azure:West Europe", "azure:westeurope");
    expect_region("West Europe", "azure:westeurope");
    expect_region("westeurope", "azure:westeurope");
    expect_region("azure:EastUS", "azure:eastus");
    expect_region("microsoft:east us", "azure:eastus");
    expect_region("azure:Netherlands", "azure:westeurope");
    expect_region("azure:Zurich", "azure:switzerlandnorth");
    expect_region("Ireland", "IE");
    expect_region("Japan", "JP");
    expect_region("UK", "GB");
    expect_region("UAE", "AE");
    expect_region("Virginia", "US-VA");
    jp_intensity ci;
    assert_int_equal(jp_intensity_lookup("aws:us-east-1", &ci), JP_OK);
    assert_true(ci.g_per_kwh == 379.069);
    assert_string_equal(ci.name, "N. Virginia");
    assert_string_equal(ci.country, "US");
    assert_int_equal(ci.year, 2021);
    assert_non_null(strstr(ci.source, "EPA eGRID2020, NERC region SERC"));
    assert_int_equal(jp_intensity_lookup("azure:West Europe", &ci), JP_OK);
    assert_true(ci.g_per_kwh == 328.4);
    assert_string_equal(ci.name, "Netherlands");
    assert_string_equal(ci.country, "NL");
    assert_non_null(strstr(ci.source, "EEA"));
    assert_int_equal(jp_intensity_lookup_year("aws:us-east-1", 2024, &ci), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "it has 2021"));
    assert_int_equal(jp_intensity_lookup("world", &ci), JP_OK);
    assert_true(ci.g_per_kwh == 480.6);
    assert_true(ci.g_per_kwh == JP_WORLD_G_PER_KWH);
}

static void test_default_region(void **state)
{
    (void)state;
    jp_intensity ci;
    unsetenv("JP_REGION");
    assert_int_equal(jp_intensity_lookup(NULL, &ci), JP_OK);
    assert_string_equal(ci.region, "world");
    assert_int_equal(jp_intensity_lookup("", &ci), JP_OK);
    assert_string_equal(ci.region, "world");
    setenv("JP_REGION", "Paris", 1);
    assert_int_equal(jp_intensity_lookup(NULL, &ci), JP_OK);
    assert_string_equal(ci.region, "gcp:europe-west9");
    setenv("JP_REGION", "Atlantis", 1);
    assert_int_equal(jp_intensity_lookup(NULL, &ci), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "JP_REGION"));
    unsetenv("JP_REGION");
}

static void test_countries_and_states(void **state)
{
    (void)state;
    size_t countries = 0, states = 0, gcp = 0, aws = 0, azure = 0;
    for (size_t i = 0; i < jp_region_count(); i++) {
        jp_intensity ci;
        assert_int_equal(jp_region_get(i, 0, &ci), JP_OK);
        assert_true(ci.year >= 2009 && ci.year <= 2025);
        assert_true(ci.g_per_kwh >= 0 && ci.g_per_kwh < 3000);
        assert_non_null(strstr(ci.source, "20")); /* every figure says its year */
        countries += !strcmp(ci.provider, "country");
        states += !strcmp(ci.provider, "us-state");
        gcp += !strcmp(ci.provider, "gcp");
        aws += !strcmp(ci.provider, "aws");
        azure += !strcmp(ci.provider, "azure");
        /* every region can be found again by its id and by its name */
        jp_intensity again;
        assert_int_equal(jp_intensity_lookup(ci.region, &again), JP_OK);
        assert_string_equal(again.region, ci.region);
    }
    assert_int_equal(countries, 213);
    assert_int_equal(states, 51); /* 50 states and DC */
    assert_int_equal(aws, 27);    /* every row of Cloud Carbon Footprint's table */
    assert_int_equal(azure, 77);
    assert_true(gcp >= 47);
    /* US state figures were published in lb/MWh: Oregon 305.891 lb/MWh */
    jp_intensity ci;
    assert_int_equal(jp_intensity_lookup("US-OR", &ci), JP_OK);
    assert_true(fabs(ci.g_per_kwh - 305.891 * 0.45359237) < 1e-9);
    assert_int_equal(ci.year, 2016);
    assert_int_equal(jp_intensity_lookup("FR", &ci), JP_OK);
    assert_true(ci.g_per_kwh == 56.039);
    assert_int_equal(ci.year, 2023);
}

static void test_years(void **state)
{
    (void)state;
    jp_intensity ci;
    assert_int_equal(jp_intensity_lookup_year("us-west3", 2019, &ci), JP_OK);
    assert_true(ci.g_per_kwh == 561);
    assert_non_null(strstr(ci.source, "lifecycle"));
    assert_int_equal(jp_intensity_lookup("us-west3", &ci), JP_OK);
    assert_int_equal(ci.year, 2025);
    assert_true(ci.g_per_kwh == 567.51);
    /* a region with no figure for the year: an error naming the years it has, never another year */
    assert_int_equal(jp_intensity_lookup_year("Paris", 2019, &ci), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "2021-2025"));
    assert_int_equal(jp_intensity_lookup_year("world", 2021, &ci), JP_ERR_NOTFOUND);
    assert_int_equal(jp_intensity_lookup_year("Oregon", 1800, &ci), JP_ERR_RANGE);
    int ys[16];
    for (size_t i = 0; i < jp_region_count(); i++) {
        jp_intensity z;
        jp_region_get(i, 0, &z);
        if (strcmp(z.region, "gcp:us-west1")) continue;
        assert_int_equal(jp_region_years(i, ys, 16), 7);
        assert_int_equal(ys[0], 2019);
        assert_int_equal(ys[6], 2025);
    }
}

static void test_unknown_suggests(void **state)
{
    (void)state;
    jp_intensity ci;
    assert_int_equal(jp_intensity_lookup("Oregn", &ci), JP_ERR_NOTFOUND);
    const char *e = jp_last_error();
    assert_non_null(strstr(e, "Oregn"));
    assert_non_null(strstr(e, "closest"));
    assert_non_null(strstr(e, "gcp:us-west1 (Oregon)"));
    assert_null(strchr(e, '\n'));
    assert_int_equal(jp_intensity_lookup("Salt Lake", &ci), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "gcp:us-west3 (Salt Lake City)"));
    char sug[5][96];
    assert_true(jp_region_suggest("Frnace", sug, 5) >= 1);
    assert_string_equal(sug[0], "FR (France)");
    /* an AWS or Azure region Cloud Carbon Footprint has no factor for: refused, with the nearest */
    assert_int_equal(jp_intensity_lookup("aws:eu-south-2", &ci), JP_ERR_NOTFOUND);
    e = jp_last_error();
    assert_non_null(strstr(e, "no figure built in"));
    assert_non_null(strstr(e, "closest: aws:eu-south-1 (Milan)"));
    assert_int_equal(jp_intensity_lookup("azure:polandcentral", &ci), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "Azure region"));
    assert_int_equal(jp_intensity_lookup("mars:base1", &ci), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "known: gcp, aws, azure"));
}

static void test_search(void **state)
{
    (void)state;
    size_t n = 0, fr = 0;
    for (size_t i = 0; i < jp_region_count(); i++) {
        n += jp_region_matches(i, "virginia");
        fr += jp_region_matches(i, "FR");
    }
    /* gcp:us-east4 Northern Virginia, US-VA, US-WV, aws:us-east-1 (N. Virginia), and Azure's five in
     * Virginia: eastus, eastus2 and their stage and EUAP variants */
    assert_int_equal(n, 9);
    /* France, gcp:europe-west9, aws:eu-west-3 and Azure's francecentral, francesouth and france; not "Africa" */
    assert_int_equal(fr, 6);
}

static void test_pue(void **state)
{
    (void)state;
    double p;
    char src[160];
    assert_int_equal(jp_pue_parse("gcp", &p, src, sizeof src), JP_OK);
    assert_true(p == 1.10);
    assert_non_null(strstr(src, "2021"));
    assert_int_equal(jp_pue_parse("AWS", &p, src, sizeof src), JP_OK);
    assert_true(p == 1.14); /* the latest year, 2025 */
    assert_int_equal(jp_pue_parse("azure", &p, src, sizeof src), JP_OK);
    assert_true(p == 1.18);
    assert_int_equal(jp_pue_parse("1.2", &p, src, sizeof src), JP_OK);
    assert_true(p == 1.2);
    assert_int_equal(jp_pue_parse("0.9", &p, src, sizeof src), JP_ERR_PARSE);
    assert_int_equal(jp_pue_parse("oracle", &p, src, sizeof src), JP_ERR_PARSE);
    assert_int_equal(jp_pue_parse("", &p, src, sizeof src), JP_ERR_PARSE);
    assert_true(fabs(jp_carbon_grams(3.6e6, 100, 1.5) - 150) < 1e-12);
}

static void test_format_grams(void **state)
{
    (void)state;
    char b[64];
    jp_format_grams(0, b, sizeof b);
    assert_string_equal(b, "0 g");
    jp_format_grams(0.0123, b, sizeof b);
    assert_string_equal(b, "0.0123 g");
    jp_format_grams(999.4, b, sizeof b);
    assert_string_equal(b, "999 g");
    jp_format_grams(1000, b, sizeof b);
    assert_string_equal(b, "1,000 g");
    jp_format_grams(123456789012.0, b, sizeof b);
    assert_string_equal(b, "123,456,789,012 g");
    jp_format_mass(64422400, b, sizeof b);
    assert_string_equal(b, "64.4 t");
}

static void test_energy_needs_unit(void **state)
{
    (void)state;
    double j;
    assert_int_not_equal(jp_parse_energy("143.8", &j), JP_OK);
    assert_non_null(strstr(jp_last_error(), "unit"));
    assert_int_not_equal(jp_parse_energy("-1kWh", &j), JP_OK);
    assert_non_null(strstr(jp_last_error(), "negative"));
    assert_int_equal(jp_parse_energy("2GWh", &j), JP_OK);
    assert_true(j == 7.2e12);
}

static void test_user_file(void **state)
{
    (void)state;
    char *root = ft_mkroot("carbon");
    ft_write(root, "mine.csv",
             "# my utility's figures\nregion,g_per_kwh,year,source\nHome,123.5,2024,\"my utility, bill\"\n"
             "Office,250,,\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/mine.csv", root);
    jp_intensity_query q;
    jp_intensity_query_init(&q);
    q.file = path;
    jp_intensity ci;
    assert_int_equal(jp_intensity_resolve("home", &q, &ci), JP_OK);
    assert_true(ci.g_per_kwh == 123.5);
    assert_string_equal(ci.provider, "user");
    assert_int_equal(ci.year, 2024);
    assert_non_null(strstr(ci.source, "my utility, bill"));
    assert_non_null(strstr(ci.source, "mine.csv:3"));
    /* not in the file: the built-in data */
    assert_int_equal(jp_intensity_resolve("Oregon", &q, &ci), JP_OK);
    assert_string_equal(ci.region, "gcp:us-west1");
    /* several rows and no region named: which one? */
    unsetenv("JP_REGION");
    assert_int_equal(jp_intensity_resolve(NULL, &q, &ci), JP_ERR_NOTFOUND);
    /* a plain figure beats everything */
    q.g_per_kwh = 42;
    assert_int_equal(jp_intensity_resolve("Oregon", &q, &ci), JP_OK);
    assert_true(ci.g_per_kwh == 42);
    assert_non_null(strstr(ci.source, "--intensity"));
    /* malformed: one line naming FILE:LINE and the field */
    q.g_per_kwh = -1;
    ft_write(root, "bad.csv", "region,g_per_kwh\nHome,123\nOffice,lots\n");
    snprintf(path, sizeof path, "%s/bad.csv", root);
    q.file = path;
    assert_int_equal(jp_intensity_resolve("Home", &q, &ci), JP_ERR_PARSE);
    char want[4200];
    snprintf(want, sizeof want, "%s:3: g_per_kwh \"lots\"", path);
    assert_non_null(strstr(jp_last_error(), want));
    ft_write(root, "bad.csv", "region,g_per_kwh\nHome,123,7\n");
    assert_int_equal(jp_intensity_resolve("Home", &q, &ci), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "bad.csv:2"));
    ft_write(root, "bad.csv", "place,grams\nHome,123\n");
    assert_int_equal(jp_intensity_resolve("Home", &q, &ci), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "bad.csv:1"));
    /* a file that is not there, or not a file, is an error, never the built-in data in its place */
    snprintf(path, sizeof path, "%s/nowhere.csv", root);
    q.file = path;
    assert_int_equal(jp_intensity_resolve("Oregon", &q, &ci), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "nowhere.csv"));
    q.file = "/dev/zero";
    alarm(60);
    assert_int_equal(jp_intensity_resolve("Oregon", &q, &ci), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "character device"));
    alarm(0);
    ft_rmroot(root);
}

static void test_time(void **state)
{
    (void)state;
    double t;
    assert_int_equal(jp_parse_time("2024-05-01T13:00Z", &t), JP_OK);
    assert_true(t == 1714568400.0);
    assert_int_equal(jp_parse_time("2024-05-01 13:00", &t), JP_OK);
    assert_true(t == 1714568400.0);
    assert_int_equal(jp_parse_time("2024-05-01T15:00:00+02:00", &t), JP_OK);
    assert_true(t == 1714568400.0);
    assert_int_equal(jp_parse_time("1714568400", &t), JP_OK);
    assert_true(t == 1714568400.0);
    assert_int_equal(jp_parse_time("2024-05-01", &t), JP_OK);
    assert_true(t == 1714521600.0);
    assert_int_not_equal(jp_parse_time("yesterday", &t), JP_OK);
    assert_int_not_equal(jp_parse_time("2024-13-01T00:00Z", &t), JP_OK);
    char b[64];
    jp_format_time(1714568400.0, b, sizeof b);
    assert_string_equal(b, "2024-05-01 13:00 UTC");
    /* a time no calendar holds (a plan window from hostile input; fuzz_series found the long cast) */
    jp_format_time(1.66286e48, b, sizeof b);
    assert_string_equal(b, "1.66286e+48 (Unix seconds)");
    jp_format_time(-1e300, b, sizeof b);
    assert_string_equal(b, "-1e+300 (Unix seconds)");
}

/* Three regions, hourly: A is cheap from 02:00 to 04:00, B flat, C dear; the job takes 2 h. */
static const char series_csv[] = "timestamp,region,g_per_kwh\n"
                                 "2024-05-01T00:00Z,A,300\n2024-05-01T00:00Z,B,200\n2024-05-01T00:00Z,C,900\n"
                                 "2024-05-01T01:00Z,A,300\n2024-05-01T01:00Z,B,200\n2024-05-01T01:00Z,C,900\n"
                                 "2024-05-01T02:00Z,A,50\n2024-05-01T02:00Z,B,200\n2024-05-01T02:00Z,C,900\n"
                                 "2024-05-01T03:00Z,A,70\n2024-05-01T03:00Z,B,200\n2024-05-01T03:00Z,C,900\n"
                                 "2024-05-01T04:00Z,A,400\n2024-05-01T04:00Z,B,200\n2024-05-01T04:00Z,C,900\n"
                                 "2024-05-01T05:00Z,A,400\n2024-05-01T05:00Z,B,200\n2024-05-01T05:00Z,C,900\n";

static void test_plan(void **state)
{
    (void)state;
    char *root = ft_mkroot("series");
    ft_write(root, "s.csv", "%s", series_csv);
    char path[4096];
    snprintf(path, sizeof path, "%s/s.csv", root);
    jp_series *s;
    assert_int_equal(jp_series_load(path, &s), JP_OK);
    assert_int_equal(jp_series_row_count(s), 18);
    assert_int_equal(jp_series_region_count(s), 3);
    assert_int_equal(jp_series_warning_count(s), 0);
    jp_plan_request req = {
        .joules = 7.2e6, .duration_s = 7200, .window_start = NAN, .window_end = NAN, .region = "C", .now = NAN};
    jp_plan_choice best, now, per[3];
    size_t n;
    assert_int_equal(jp_series_plan(s, &req, &best, &now, per, 3, &n), JP_OK);
    assert_string_equal(best.region, "A");
    assert_true(best.start == 1714528800.0); /* 02:00 */
    assert_true(fabs(best.g_per_kwh - 60) < 1e-9);
    assert_true(fabs(best.grams - 120) < 1e-9); /* 2 kWh x 60 g */
    assert_string_equal(now.region, "C");
    assert_true(now.start == 1714521600.0);
    assert_true(fabs(now.grams - 1800) < 1e-9);
    assert_int_equal(n, 3);
    assert_string_equal(per[1].region, "B");
    /* half-hour start inside a row: mean over the pieces */
    req.now = 1714521600.0 + 5400; /* 01:30 in A: 0.5 h at 300, 1 h at 50, 0.5 h at 70 */
    req.region = "A";
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_OK);
    assert_true(fabs(now.g_per_kwh - (0.5 * 300 + 50 + 0.5 * 70) / 2) < 1e-9);
    /* a window that rules out A's cheap hours: B wins */
    req.now = NAN;
    assert_int_equal(jp_parse_time("2024-05-01T03:30Z", &req.window_start), JP_OK);
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_OK);
    assert_string_equal(best.region, "B");
    /* a window shorter than the job */
    req.window_end = req.window_start + 3600;
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_ERR_RANGE);
    /* an unknown current region */
    req.window_start = req.window_end = NAN;
    req.region = "Z";
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "A, B, C"));
    jp_series_free(s);
    ft_rmroot(root);
}

static void test_series_gaps_and_errors(void **state)
{
    (void)state;
    char *root = ft_mkroot("series");
    /* A has no 02:00 and 03:00 rows: its cheap hours are gone and no plan may cross the hole */
    ft_write(root, "gap.csv",
             "# with a gap\ntimestamp,region,g_per_kwh\n"
             "2024-05-01T00:00Z,A,10\n2024-05-01T01:00Z,A,10\n2024-05-01T04:00Z,A,10\n2024-05-01T05:00Z,A,10\n"
             "2024-05-01T00:00Z,B,100\n2024-05-01T01:00Z,B,100\n2024-05-01T02:00Z,B,100\n2024-05-01T03:00Z,B,100\n"
             "2024-05-01T04:00Z,B,100\n2024-05-01T05:00Z,B,100\n2024-05-01T05:00Z,B,999\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/gap.csv", root);
    jp_series *s;
    assert_int_equal(jp_series_load(path, &s), JP_OK);
    assert_int_equal(jp_series_warning_count(s), 2);
    int gap = 0, dup = 0;
    for (size_t i = 0; i < jp_series_warning_count(s); i++) {
        const char *w = jp_series_warning(s, i);
        if (strstr(w, "A: 1 gap") && strstr(w, "2 rows missing")) gap = 1;
        if (strstr(w, "B: 1 row") && strstr(w, "skipped")) dup = 1;
    }
    assert_true(gap && dup);
    /* a 3 h job: A can only run 00:00-02:00 or 04:00-06:00, both too short; B it is */
    jp_plan_request req = {
        .joules = 3.6e6, .duration_s = 3 * 3600, .window_start = NAN, .window_end = NAN, .region = "A", .now = NAN};
    jp_plan_choice best, now;
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_OK);
    assert_string_equal(best.region, "B");
    assert_true(fabs(best.g_per_kwh - 100) < 1e-9); /* the duplicate 999 row was skipped */
    assert_true(isnan(now.grams));                  /* A at 00:00 would cross the gap */
    jp_series_free(s);
    /* malformed rows: FILE:LINE and the field, never a figure */
    ft_write(root, "bad.csv", "timestamp,region,g_per_kwh\n2024-05-01T00:00Z,A,10\n2024-05-01T01:00Z,A,ten\n");
    snprintf(path, sizeof path, "%s/bad.csv", root);
    assert_int_equal(jp_series_load(path, &s), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "bad.csv:3: g_per_kwh \"ten\""));
    ft_write(root, "bad.csv", "timestamp,region,g_per_kwh\nsoon,A,10\n");
    assert_int_equal(jp_series_load(path, &s), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "bad.csv:2: timestamp"));
    ft_write(root, "bad.csv", "timestamp,region,g_per_kwh\n2024-05-01T00:00Z,A,-5\n");
    assert_int_equal(jp_series_load(path, &s), JP_ERR_PARSE);
    ft_write(root, "bad.csv", "timestamp,region,g_per_kwh\n2024-05-01T00:00Z,A,5\n");
    assert_int_equal(jp_series_load(path, &s), JP_ERR_PARSE); /* one row: no step */
    ft_write(root, "bad.csv", "when,where\n");
    assert_int_equal(jp_series_load(path, &s), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "bad.csv:1"));
    ft_rmroot(root);
}

/* Timestamps outside 1970-2200 are refused with the line (issue 13: 1e24 and milliseconds were taken as
 * seconds, year 56301), saying when milliseconds were probably meant. */
static void test_series_time_range(void **state)
{
    (void)state;
    char *root = ft_mkroot("series");
    char path[4096];
    snprintf(path, sizeof path, "%s/t.csv", root);
    jp_series *s;
    ft_write(root, "t.csv", "timestamp,region,g_per_kwh\n1714568400000,A,100\n1714572000000,A,100\n");
    assert_int_equal(jp_series_load(path, &s), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "t.csv:2: timestamp"));
    assert_non_null(strstr(jp_last_error(), "milliseconds"));
    assert_non_null(strstr(jp_last_error(), "2024-05-01 13:00 UTC"));
    assert_null(strchr(jp_last_error(), '\n'));
    ft_write(root, "t.csv", "timestamp,region,g_per_kwh\n2024-05-01T00:00Z,A,100\n1e24,A,100\n");
    assert_int_equal(jp_series_load(path, &s), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "t.csv:3: timestamp"));
    assert_non_null(strstr(jp_last_error(), "outside 1970-2200"));
    assert_null(strstr(jp_last_error(), "milliseconds"));
    ft_write(root, "t.csv", "timestamp,region,g_per_kwh\n2199-12-31T23:00Z,A,100\n2200-01-01T00:00Z,A,100\n");
    assert_int_equal(jp_series_load(path, &s), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "t.csv:3: timestamp"));
    ft_write(root, "t.csv", "timestamp,region,g_per_kwh\n1969-12-31T23:00Z,A,100\n1970-01-01T00:00Z,A,100\n");
    assert_int_equal(jp_series_load(path, &s), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "t.csv:2: timestamp"));
    double t;
    assert_int_equal(jp_parse_time("1714568400000", &t), JP_ERR_RANGE);
    assert_int_equal(jp_parse_time("2024-05-01T13:00:00.5e30Z", &t), JP_ERR_RANGE);
    assert_int_equal(jp_parse_time("7258118399", &t), JP_OK);
    assert_int_equal(jp_parse_time("0", &t), JP_OK);
    ft_rmroot(root);
}

/* A row that says 100 g/kWh never comes out as 0 g: at the far end of the range, a run shorter than a
 * double can add to the start time still has the row's figure (the old plan summed pieces of length
 * (a + d) - a = 0). */
static void test_plan_never_zero(void **state)
{
    (void)state;
    char *root = ft_mkroot("series");
    ft_write(root, "far.csv", "timestamp,region,g_per_kwh\n2199-12-31T21:00Z,A,100\n2199-12-31T22:00Z,A,100\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/far.csv", root);
    jp_series *s;
    assert_int_equal(jp_series_load(path, &s), JP_OK);
    jp_plan_request req = {
        .joules = 3.6e6, .duration_s = 1e-9, .window_start = NAN, .window_end = NAN, .region = "A", .now = NAN};
    jp_plan_choice best, now;
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_OK);
    assert_true(best.g_per_kwh == 100);
    assert_true(best.grams == 100);
    assert_true(now.grams == 100);
    req.duration_s = 5400; /* 1.5 h across both rows */
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_OK);
    assert_true(fabs(best.g_per_kwh - 100) < 1e-9);
    jp_series_free(s);
    ft_rmroot(root);
}

/* Only regular files: /dev/zero, a FIFO and a folder are refused at once, never read (issue 13: plan
 * --series /dev/zero never ended). */
static void test_series_special_files(void **state)
{
    (void)state;
    alarm(60); /* a hang fails the test instead of stalling the suite */
    jp_series *s;
    assert_int_equal(jp_series_load("/dev/zero", &s), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "/dev/zero: is a character device"));
    char *root = ft_mkroot("series");
    char path[4096];
    snprintf(path, sizeof path, "%s/fifo", root);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(jp_series_load(path, &s), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "is a FIFO"));
    assert_int_equal(jp_series_load(root, &s), JP_ERR_IO);
    assert_non_null(strstr(jp_last_error(), "is a directory"));
    snprintf(path, sizeof path, "%s/none.csv", root);
    assert_int_equal(jp_series_load(path, &s), JP_ERR_NOTFOUND);
    alarm(0);
    ft_rmroot(root);
}

/* The mean over a run by brute force: second by second over the rows (each row holds until the next, at
 * most step), -1 when a second is not covered. */
static double brute_mean(const double *t, const double *g, size_t n, double step, double a, double dur)
{
    double sum = 0;
    for (double x = a; x < a + dur; x += 1) {
        size_t k = n;
        for (size_t i = 0; i < n; i++)
            if (t[i] <= x) k = i;
        if (k == n || x >= t[k] + step || (k + 1 < n && x >= t[k + 1])) return -1;
        sum += g[k];
    }
    return sum / dur;
}

/* The n log n plan gives what a brute force gives, gaps included, on a series made up with gaps and steps
 * of random figures; and 100,000 one-second rows with a 12 h job take well under a second of CPU time
 * (issue 13: 4.3 s, quadratic). */
static void test_plan_matches_brute_force(void **state)
{
    (void)state;
    char *root = ft_mkroot("series");
    enum { N = 400 };
    double t[N], g[N];
    size_t n = 0;
    uint64_t x = 88172645463325252ull;
    double at = 1.7e9;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (x % 17 == 0) at += 60 * (double)(1 + x % 5); /* a gap of 1 to 5 rows */
        t[n] = at;
        g[n] = (double)(x % 90000) / 100.0;
        n++;
        at += 60;
    }
    char *csv = malloc(64 * N + 64), *o = csv;
    o += sprintf(o, "timestamp,region,g_per_kwh\n");
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%.0f,R,%.2f\n", t[i], g[i]);
    ft_write(root, "r.csv", "%s", csv);
    free(csv);
    char path[4096];
    snprintf(path, sizeof path, "%s/r.csv", root);
    jp_series *s;
    assert_int_equal(jp_series_load(path, &s), JP_OK);
    const double durs[] = {1, 59, 60, 61, 150, 600, 1800};
    size_t checked = 0, covered = 0;
    for (size_t d = 0; d < sizeof durs / sizeof durs[0]; d++)
        for (double a = t[0] - 30; a < t[n - 1] + 90; a += 37) {
            jp_plan_request req = {.joules = 3.6e6,
                                   .duration_s = durs[d],
                                   .window_start = a,
                                   .window_end = a + durs[d],
                                   .region = "R",
                                   .now = a};
            jp_plan_choice best, now;
            int rc = jp_series_plan(s, &req, &best, &now, NULL, 0, NULL);
            double want = brute_mean(t, g, n, 60, a, durs[d]);
            if (want < 0) {
                assert_int_equal(rc, JP_ERR_NOTFOUND);
                assert_true(isnan(now.grams));
            } else {
                assert_int_equal(rc, JP_OK);
                if (fabs(now.g_per_kwh - want) > 1e-6)
                    fail_msg("from %.0f for %.0f s: %.9f, brute force %.9f", a, durs[d], now.g_per_kwh, want);
                covered++;
            }
            checked++;
        }
    assert_true(covered > 500 && checked > covered);
    jp_series_free(s);

    /* 100,000 one-second rows, a 12 h job: CPU time, not wall time */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "timestamp,region,g_per_kwh\n");
    for (int i = 0; i < 100000; i++)
        fprintf(f, "%d,R,%d\n", 1700000000 + i, 100 + (i * 7919) % 400);
    fclose(f);
    assert_int_equal(jp_series_load(path, &s), JP_OK);
    jp_plan_request req = {
        .joules = 3.6e6, .duration_s = 12 * 3600, .window_start = NAN, .window_end = NAN, .region = "R", .now = NAN};
    jp_plan_choice best, now;
    clock_t c0 = clock();
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_OK);
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (cpu > 1.0) fail_msg("plan over 100,000 rows took %.2f s of CPU time", cpu);
    assert_true(best.g_per_kwh > 100 && best.g_per_kwh < 500);
    jp_series_free(s);
    ft_rmroot(root);
}

/* The built-in series: the five areas of src/data/carbon/eia/, every figure as the committed files give
 * it, gaps kept as gaps, and the cloud regions each serves. */
static void test_builtin_series(void **state)
{
    (void)state;
    jp_series *s;
    assert_int_equal(jp_series_builtin(&s), JP_OK);
    assert_int_equal(jp_series_region_count(s), 5);
    const char *areas[] = {"PJM", "BPAT", "CISO", "ERCO", "MISO"};
    const size_t gaps[] = {23, 0, 3, 0, 3};
    size_t rows = 0;
    for (size_t a = 0; a < 5; a++) {
        assert_string_equal(jp_series_region(s, a), areas[a]);
        rows += 8760 - gaps[a];
    }
    assert_int_equal(jp_series_row_count(s), rows);
    assert_int_equal(jp_series_warning_count(s), 3); /* PJM, CISO, MISO: their gaps */
    assert_non_null(strstr(jp_series_warning(s, 0), "PJM: 2 gaps"));
    assert_non_null(strstr(jp_series_warning(s, 0), "23 rows missing"));
    assert_string_equal(jp_series_region_serves(s, 0), "aws:us-east-1;azure:eastus");
    /* which area a region is in */
    const struct {
        const char *name, *area;
    } in[] = {{"aws:us-east-1", "PJM"}, {"us-east-1", "PJM"},       {"azure:East US", "PJM"}, {"VA", "PJM"},
              {"aws:us-west-2", "BPAT"}, {"Oregon", "BPAT"},        {"gcp:us-west1", "BPAT"}, {"Dallas", "ERCO"},
              {"gcp:us-central1", "MISO"}, {"CISO", "CISO"},        {"pjm", "PJM"}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        size_t k;
        if (jp_series_find(s, in[i].name, &k) != JP_OK) fail_msg("%s: %s", in[i].name, jp_last_error());
        if (strcmp(jp_series_region(s, k), in[i].area))
            fail_msg("%s: %s, expected %s", in[i].name, jp_series_region(s, k), in[i].area);
    }
    assert_int_equal(jp_series_find(s, "gcp:europe-west1", NULL), JP_ERR_NOTFOUND);
    assert_non_null(strstr(jp_last_error(), "PJM (aws:us-east-1 azure:eastus)"));
    /* every row of every committed file: a 1 s run at its hour in its area has its figure, an empty value
     * is not covered */
    size_t seen = 0, empty = 0;
    for (size_t a = 0; a < 5; a++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/src/data/carbon/eia/%s-2022.csv", src_dir(), areas[a]);
        FILE *f = fopen(path, "r");
        if (!f) fail_msg("%s: cannot read", path);
        char line[128];
        while (fgets(line, sizeof line, f)) {
            char ts[40];
            double g = -1;
            int n = sscanf(line, "%39[^,],%lf", ts, &g);
            if (n < 1 || !strcmp(ts, "timestamp")) continue;
            double t;
            assert_int_equal(jp_parse_time(ts, &t), JP_OK);
            jp_plan_request req = {.joules = 3.6e6,
                                   .duration_s = 1,
                                   .window_start = t,
                                   .window_end = t + 1,
                                   .region = areas[a],
                                   .now = t};
            jp_plan_choice best, now;
            jp_series_plan(s, &req, &best, &now, NULL, 0, NULL);
            if (n == 2) {
                if (now.g_per_kwh != g) fail_msg("%s %s: %g, the file has %g", areas[a], ts, now.g_per_kwh, g);
                seen++;
            } else {
                assert_true(isnan(now.grams));
                empty++;
            }
        }
        fclose(f);
    }
    assert_int_equal(seen, rows);
    assert_int_equal(empty, 29);
    /* a plan across PJM's 22-hour gap is refused in PJM, never filled in: 2022-03-13 06:00 for 2 h */
    double t;
    assert_int_equal(jp_parse_time("2022-03-13T06:00Z", &t), JP_OK);
    jp_plan_request req = {
        .joules = 3.6e6, .duration_s = 7200, .window_start = t, .window_end = t + 7200, .region = "aws:us-east-1",
        .now = t};
    jp_plan_choice best, now;
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_OK);
    assert_string_equal(now.region, "PJM");
    assert_true(isnan(now.grams));
    assert_string_not_equal(best.region, "PJM");
    jp_series_free(s);
}

/* The committed files load as they are, one region each named after the file, with their gaps. */
static void test_eia_files_load(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/src/data/carbon/eia/PJM-2022.csv", src_dir());
    jp_series *s;
    assert_int_equal(jp_series_load(path, &s), JP_OK);
    assert_int_equal(jp_series_region_count(s), 1);
    assert_string_equal(jp_series_region(s, 0), "PJM-2022");
    assert_int_equal(jp_series_row_count(s), 8760 - 23);
    assert_int_equal(jp_series_warning_count(s), 1);
    assert_non_null(strstr(jp_series_warning(s, 0), "23 of them with an empty value"));
    double t;
    assert_int_equal(jp_parse_time("2022-01-01T00:00Z", &t), JP_OK);
    assert_true(jp_series_first(s) == t);
    jp_plan_request req = {
        .joules = 3.6e6, .duration_s = 7200, .window_start = t, .window_end = t + 7200, .region = NULL, .now = t};
    jp_plan_choice best, now;
    assert_int_equal(jp_series_plan(s, &req, &best, &now, NULL, 0, NULL), JP_OK);
    assert_true(fabs(now.g_per_kwh - (341.43 + 343.65) / 2) < 1e-9);
    jp_series_free(s);
}

/* The example series shipped under examples/ loads cleanly. */
static void test_example_series(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/intensity_series.csv", src_dir());
    jp_series *s;
    assert_int_equal(jp_series_load(path, &s), JP_OK);
    assert_int_equal(jp_series_warning_count(s), 0);
    assert_int_equal(jp_series_region_count(s), 3);
    for (size_t i = 0; i < 3; i++) {
        jp_intensity ci; /* its regions are built-in names */
        assert_int_equal(jp_intensity_lookup(jp_series_region(s, i), &ci), JP_OK);
    }
    jp_series_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_figures),
        cmocka_unit_test(test_seed_table_2021),
        cmocka_unit_test(test_every_google_figure),
        cmocka_unit_test(test_against_shared_2021),
        cmocka_unit_test(test_every_ccf_figure),
        cmocka_unit_test(test_lookup_forms),
        cmocka_unit_test(test_default_region),
        cmocka_unit_test(test_countries_and_states),
        cmocka_unit_test(test_years),
        cmocka_unit_test(test_unknown_suggests),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_pue),
        cmocka_unit_test(test_format_grams),
        cmocka_unit_test(test_energy_needs_unit),
        cmocka_unit_test(test_user_file),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_series_gaps_and_errors),
        cmocka_unit_test(test_example_series),
        cmocka_unit_test(test_series_time_range),
        cmocka_unit_test(test_plan_never_zero),
        cmocka_unit_test(test_series_special_files),
        cmocka_unit_test(test_plan_matches_brute_force),
        cmocka_unit_test(test_builtin_series),
        cmocka_unit_test(test_eia_files_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
