/* Units: parsing durations and energies, printing energies, powers, durations and masses. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jouleprint.h"

static double dur(const char *s)
{
    double v = -1;
    int rc = jp_parse_duration(s, &v);
    if (rc != JP_OK) fail_msg("duration %s: %s", s, jp_last_error());
    return v;
}

static double en(const char *s)
{
    double v = -1;
    int rc = jp_parse_energy(s, &v);
    if (rc != JP_OK) fail_msg("energy %s: %s", s, jp_last_error());
    return v;
}

static void test_durations(void **state)
{
    (void)state;
    assert_float_equal(dur("100ms"), 0.1, 1e-15);
    assert_float_equal(dur("5s"), 5.0, 0);
    assert_float_equal(dur("2.5min"), 150.0, 0);
    assert_float_equal(dur("1h"), 3600.0, 0);
    assert_float_equal(dur("250us"), 250e-6, 1e-18);
    assert_float_equal(dur("1 ms"), 1e-3, 1e-18);
    double v;
    assert_int_equal(jp_parse_duration("5", &v), JP_ERR_PARSE); /* a unit is needed */
    assert_non_null(strstr(jp_last_error(), "unit"));
    assert_int_equal(jp_parse_duration("5 parsecs", &v), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "parsecs"));
    assert_int_equal(jp_parse_duration("-1s", &v), JP_ERR_RANGE);
    assert_int_equal(jp_parse_duration("", &v), JP_ERR_PARSE);
    assert_int_equal(jp_parse_duration("nans", &v), JP_ERR_PARSE);
    assert_int_equal(jp_parse_duration("fast", &v), JP_ERR_PARSE);
}

static void test_energies(void **state)
{
    (void)state;
    assert_float_equal(en("12J"), 12.0, 0);
    assert_float_equal(en("3.5kJ"), 3500.0, 0);
    assert_float_equal(en("2Wh"), 7200.0, 0);
    assert_float_equal(en("1 kWh"), 3.6e6, 0);
    /* the seed's 143.8 MWh, exactly as a double allows */
    assert_float_equal(en("143.8MWh"), 143.8 * 3.6e9, 1e-3);
    assert_float_equal(en("1GWh"), 3.6e12, 0);
    assert_float_equal(en("250mJ"), 0.25, 1e-15);
    double v;
    assert_int_equal(jp_parse_energy("143.8", &v), JP_ERR_PARSE);
    assert_int_equal(jp_parse_energy("-5J", &v), JP_ERR_RANGE);
    assert_int_equal(jp_parse_energy("5 kwh", &v), JP_ERR_PARSE); /* units are case-sensitive: mWh vs MWh */
    /* ... and the spelling probably meant is suggested, both where the letters fit two units */
    assert_non_null(strstr(jp_last_error(), "did you mean 5kWh?"));
    assert_int_equal(jp_parse_energy("12kwh", &v), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "unknown unit \"kwh\" (units are case-sensitive): did you mean 12kWh?"));
    assert_int_equal(jp_parse_energy("3mwh", &v), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "did you mean 3mWh or 3MWh?"));
    assert_float_equal(en("1mWh"), 3.6, 1e-12);
    assert_float_equal(en("1MWh"), 3.6e9, 0);
    double d;
    assert_int_equal(jp_parse_duration("5MS", &d), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "did you mean 5ms?"));
    assert_int_equal(jp_parse_energy("5 parsecs", &v), JP_ERR_PARSE);
    assert_null(strstr(jp_last_error(), "did you mean"));
    assert_int_equal(jp_parse_energy("1e999J", &v), JP_ERR_PARSE);
}

static void check_fmt(void (*f)(double, char *, size_t), double v, const char *want)
{
    char buf[64];
    f(v, buf, sizeof buf);
    if (strcmp(buf, want) != 0) fail_msg("%g printed as \"%s\", expected \"%s\"", v, buf, want);
}

static void test_formats(void **state)
{
    (void)state;
    check_fmt(jp_format_energy, 0.812, "812 mJ");
    check_fmt(jp_format_energy, 42.13, "42.1 J");
    check_fmt(jp_format_energy, 3.6, "3.60 J");
    check_fmt(jp_format_energy, 36000, "36.0 kJ");
    check_fmt(jp_format_energy, 4500, "4500 J");
    check_fmt(jp_format_energy, 3.6e6, "1.00 kWh");
    check_fmt(jp_format_energy, 7.2e5, "200 Wh");
    check_fmt(jp_format_energy, 143.8 * 3.6e9, "144 MWh");
    check_fmt(jp_format_energy, 0, "0 J");
    check_fmt(jp_format_power, 0.85, "850 mW");
    check_fmt(jp_format_power, 12.34, "12.3 W");
    check_fmt(jp_format_power, 12000, "12.0 kW");
    check_fmt(jp_format_duration, 0.035, "35 ms");
    check_fmt(jp_format_duration, 2.4, "2.40 s");
    check_fmt(jp_format_duration, 185, "3 min 05 s");
    check_fmt(jp_format_duration, 7500, "2 h 05 min");
    /* hours beyond an int (a gap in a hostile intensity series; fuzz_series found the int cast) */
    check_fmt(jp_format_duration, 1e13, "2777777777 h 46 min");
    check_fmt(jp_format_mass, 0.0032, "3.20 mg");
    check_fmt(jp_format_mass, 12.5, "12.5 g");
    check_fmt(jp_format_mass, 4200, "4.20 kg");
    check_fmt(jp_format_mass, 64422400, "64.4 t");
    check_fmt(jp_format_mass, 8e-7, "0.80 ug");
    check_fmt(jp_format_energy, NAN, "n/a");
}

static void test_carbon_arithmetic(void **state)
{
    (void)state;
    /* the seed: 143.8 MWh at 448 and 60 gCO2/kWh */
    double j = 143.8 * 3.6e9;
    assert_float_equal(jp_carbon_grams(j, 448, 1.0), 64422400.0, 1e-4);
    assert_float_equal(jp_carbon_grams(j, 60, 1.0), 8628000.0, 1e-4);
    assert_float_equal(jp_carbon_grams(3.6e6, 100, 1.5), 150.0, 1e-12);
}

static void test_strerror_names_every_code(void **state)
{
    (void)state;
    for (int c = JP_ERR_THREAD; c <= JP_OK; c++) assert_string_not_equal(jp_strerror(c), "unknown error");
    assert_string_equal(jp_strerror(-999), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_energies),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_carbon_arithmetic),
        cmocka_unit_test(test_strerror_names_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
