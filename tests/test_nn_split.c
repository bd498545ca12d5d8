/* The choice between splitting a single image across a model's threads or not (src/nn/split_choice.h),
 * driven with made-up times: the first round alternates and picks the faster median, an outlier does
 * not sway it, the choice holds between rounds, a new round starts JP_SPLIT_REPROBE_S after the last
 * and can reverse the choice when the machine changed (a second core taken by other work), and a later
 * round ends at a trial of the other way far slower than the way chosen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nn/split_choice.h"

/* Runs one whole round of trials from time t, its even trials expected to run the way first; each split
 * image takes split_s and each unsplit one unsplit_s (the k-th split one outlier_s instead, when
 * k >= 0); returns the time at its end. */
static double round_of(jp_nn_split_choice *c, double t, int first, double split_s, double unsplit_s, int k,
                       double outlier_s)
{
    int nsplit = 0;
    for (int i = 0; i < 2 * JP_SPLIT_TRIALS; i++) {
        int timed = 0;
        int split = jp_nn_split_next(c, t, &timed);
        assert_int_equal(timed, 1);
        assert_int_equal(split, i % 2 == 0 ? first : !first);
        double s = split ? (nsplit++ == k ? outlier_s : split_s) : unsplit_s;
        t += s;
        jp_nn_split_record(c, split, s, t);
    }
    return t;
}

/* The way the next image runs, asserting that it is not timed. */
static int chosen(jp_nn_split_choice *c, double now)
{
    int timed = 1;
    int split = jp_nn_split_next(c, now, &timed);
    assert_int_equal(timed, 0);
    return split;
}

static void test_first_round(void **state)
{
    (void)state;
    jp_nn_split_choice c;
    memset(&c, 0, sizeof c);
    double t = round_of(&c, 100.0, 0, 0.001, 0.002, -1, 0);
    for (int i = 0; i < 100; i++) assert_int_equal(chosen(&c, t + i * 0.01), 1); /* until the next round */
    memset(&c, 0, sizeof c);
    t = round_of(&c, 100.0, 0, 0.003, 0.002, -1, 0);
    assert_int_equal(chosen(&c, t), 0);
}

static void test_outlier(void **state)
{
    (void)state;
    jp_nn_split_choice c;
    memset(&c, 0, sizeof c);
    /* split 1 ms but one image of 100 ms (a preemption), unsplit 1.5 ms: the mean of the split images
     * would lose, their median wins */
    double t = round_of(&c, 5.0, 0, 0.001, 0.0015, 3, 0.1);
    assert_int_equal(chosen(&c, t), 1);
}

static void test_reprobe(void **state)
{
    (void)state;
    jp_nn_split_choice c;
    memset(&c, 0, sizeof c);
    double t = round_of(&c, 10.0, 0, 0.001, 0.002, -1, 0);
    assert_int_equal(chosen(&c, t + JP_SPLIT_REPROBE_S - 0.001), 1);
    /* a record for an image that was not timed changes nothing */
    jp_nn_split_record(&c, 0, 10.0, t + 1);
    assert_int_equal(chosen(&c, t + 1.5), 1);
    /* the machine changed: the split now waits for a descheduled second thread (4 ms), and unsplit (2.5
     * ms, over twice the 1 ms the split took when it was chosen) is the faster way now */
    double t2 = round_of(&c, t + JP_SPLIT_REPROBE_S, 1, 0.004, 0.0025, -1, 0);
    assert_int_equal(chosen(&c, t2), 0);
    /* and back, a round later (the way chosen first) */
    double t3 = round_of(&c, t2 + JP_SPLIT_REPROBE_S + 0.5, 0, 0.001, 0.002, -1, 0);
    assert_int_equal(chosen(&c, t3 + 0.1), 1);
}

static void test_early_end(void **state)
{
    (void)state;
    jp_nn_split_choice c;
    memset(&c, 0, sizeof c);
    double t = round_of(&c, 1.0, 0, 0.003, 0.002, -1, 0); /* unsplit chosen: 2 ms against 3 ms */
    t += JP_SPLIT_REPROBE_S;
    int timed = 0;
    /* the next round: unsplit first (2 ms), then split, which waits 5 ms for a descheduled second
     * thread: over twice the round's 2 ms, so the round ends there */
    assert_int_equal(jp_nn_split_next(&c, t, &timed), 0);
    assert_int_equal(timed, 1);
    jp_nn_split_record(&c, 0, 0.002, t += 0.002);
    assert_int_equal(jp_nn_split_next(&c, t, &timed), 1);
    assert_int_equal(timed, 1);
    jp_nn_split_record(&c, 1, 0.005, t += 0.005);
    for (int i = 0; i < 20; i++) assert_int_equal(chosen(&c, t + i * 0.002), 0);
    /* a trial of the other way within twice the chosen way's time does not end the round */
    t += JP_SPLIT_REPROBE_S;
    assert_int_equal(jp_nn_split_next(&c, t, &timed), 0);
    jp_nn_split_record(&c, 0, 0.002, t += 0.002);
    assert_int_equal(jp_nn_split_next(&c, t, &timed), 1);
    jp_nn_split_record(&c, 1, 0.0039, t += 0.0039);
    assert_int_equal(jp_nn_split_next(&c, t, &timed), 0);
    assert_int_equal(timed, 1); /* the round goes on */
    /* nor does the first round end early, when nothing is chosen yet */
    memset(&c, 0, sizeof c);
    assert_int_equal(jp_nn_split_next(&c, 0.0, &timed), 0);
    jp_nn_split_record(&c, 0, 0.001, 0.001);
    assert_int_equal(jp_nn_split_next(&c, 0.001, &timed), 1);
    jp_nn_split_record(&c, 1, 1.0, 1.001);
    assert_int_equal(jp_nn_split_next(&c, 1.001, &timed), 0);
    assert_int_equal(timed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_round),
        cmocka_unit_test(test_outlier),
        cmocka_unit_test(test_reprobe),
        cmocka_unit_test(test_early_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
