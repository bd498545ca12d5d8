/* The one CSV field reader (src/csv.c) of the intensity files, the power profiles and gen_table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"

static int split(const char *text, char *buf, size_t len, char **f, int max, unsigned flags)
{
    strncpy(buf, text, len - 1);
    buf[len - 1] = '\0';
    return jp_csv_split(buf, f, max, flags);
}

static void test_fields(void **state)
{
    (void)state;
    char buf[256], *f[8];
    assert_int_equal(split("a,b,,d", buf, sizeof buf, f, 8, 0), 4);
    assert_string_equal(f[0], "a");
    assert_string_equal(f[1], "b");
    assert_string_equal(f[2], "");
    assert_string_equal(f[3], "d");
    /* quotes: a comma inside, "" as one quote */
    assert_int_equal(split("\"Paris, FR\",\"say \"\"hi\"\"\",3", buf, sizeof buf, f, 8, 0), 3);
    assert_string_equal(f[0], "Paris, FR");
    assert_string_equal(f[1], "say \"hi\"");
    assert_string_equal(f[2], "3");
    /* an empty line is one empty field; a trailing comma one more */
    assert_int_equal(split("", buf, sizeof buf, f, 8, 0), 1);
    assert_string_equal(f[0], "");
    assert_int_equal(split("x,", buf, sizeof buf, f, 8, 0), 2);
    assert_string_equal(f[1], "");
    assert_int_equal(split("\"\",\"\"", buf, sizeof buf, f, 8, 0), 2);
    assert_string_equal(f[0], "");
    assert_string_equal(f[1], "");
}

static void test_trim(void **state)
{
    (void)state;
    char buf[256], *f[8];
    /* blanks kept without JP_CSV_TRIM ... */
    assert_int_equal(split(" a , b\t", buf, sizeof buf, f, 8, 0), 2);
    assert_string_equal(f[0], " a ");
    assert_string_equal(f[1], " b\t");
    /* ... dropped with it, outside the quotes only */
    assert_int_equal(split(" a , b\t,  \" c \" ,d", buf, sizeof buf, f, 8, JP_CSV_TRIM), 4);
    assert_string_equal(f[0], "a");
    assert_string_equal(f[1], "b");
    assert_string_equal(f[2], " c ");
    assert_string_equal(f[3], "d");
    /* without trimming, a blank after a closing quote is an error */
    assert_int_equal(split("\"c\" ,d", buf, sizeof buf, f, 8, 0), JP_CSV_AFTER_QUOTE);
}

static void test_errors(void **state)
{
    (void)state;
    char buf[256], *f[3];
    assert_int_equal(split("a,b,c", buf, sizeof buf, f, 3, 0), 3);
    assert_int_equal(split("a,b,c,d", buf, sizeof buf, f, 3, 0), JP_CSV_TOO_MANY);
    assert_int_equal(split("a,\"b", buf, sizeof buf, f, 3, 0), JP_CSV_UNTERMINATED);
    assert_int_equal(split("\"b\"x,c", buf, sizeof buf, f, 3, JP_CSV_TRIM), JP_CSV_AFTER_QUOTE);
    assert_string_equal(jp_csv_strerror(JP_CSV_TOO_MANY), "too many fields");
    assert_string_equal(jp_csv_strerror(JP_CSV_UNTERMINATED), "unterminated quoted field");
    assert_string_equal(jp_csv_strerror(JP_CSV_AFTER_QUOTE), "expected ',' after a quoted field");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
