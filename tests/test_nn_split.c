/* The choice between splitting a single image across a model's threads or not (src/nn/split_choice.h),
 * driven with made-up times per image: the first probe picks the faster way, the split only by a
 * margin; a split that is mostly fast but stalls every few images behind a busy neighbour loses on its
 * mean (its median would win); the choice follows a machine that changes, at the next probe; a far
 * slower probe is cut short; a pause between images is not counted; the probes take a small share of
 * the images; between windows and probes the clock is read once per millisecond of images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nn/split_choice.h"

/* Times per image of each way: the k-th image run that way takes fast_s, or stall_s when every > 0
 * and k % every == every - 1. */
struct way_time {
    double fast_s, stall_s;
    int every;
};

static double time_of(const struct way_time *w, int k)
{
    return w->every > 0 && k % w->every == w->every - 1 ? w->stall_s : w->fast_s;
}

static long clock_reads;

/* Runs images from *t for the given seconds of made-up time, as model_forward.c does (the clock read
 * only where jp_nn_split_clock says); counts each way's images. */
static void run_for(jp_nn_split_choice *c, double *t, double seconds, const struct way_time *unsplit,
                    const struct way_time *split, int images[2])
{
    static int k[2];
    double end = *t + seconds;
    while (*t < end) {
        int way = c->split;
        if (jp_nn_split_clock(c)) {
            way = jp_nn_split_next(c, *t);
            clock_reads++;
        }
        assert_true(way == 0 || way == 1);
        *t += time_of(way ? split : unsplit, k[way]++);
        if (images) images[way]++;
    }
}

static void test_first_probe(void **state)
{
    (void)state;
    jp_nn_split_choice c = {0};
    struct way_time slow = {0.002, 0, 0}, fast = {0.001, 0, 0};
    double t = 100.0;
    assert_int_equal(jp_nn_split_next(&c, t), 0); /* unsplit at first */
    run_for(&c, &t, 0.5, &slow, &fast, NULL);
    assert_int_equal(c.split, 1);
    memset(&c, 0, sizeof c);
    t = 100.0;
    run_for(&c, &t, 0.5, &fast, &slow, NULL);
    assert_int_equal(c.split, 0);
}

static void test_margin(void **state)
{
    (void)state;
    jp_nn_split_choice c = {0};
    /* a split 5% faster is not taken; 15% faster is */
    struct way_time unsplit = {0.001, 0, 0}, split95 = {0.00095, 0, 0}, split85 = {0.00085, 0, 0};
    double t = 30.0;
    run_for(&c, &t, 3 * JP_SPLIT_REPROBE_S, &unsplit, &split95, NULL);
    assert_int_equal(c.split, 0);
    run_for(&c, &t, JP_SPLIT_REPROBE_S + 0.2, &unsplit, &split85, NULL);
    assert_int_equal(c.split, 1);
    /* and back to unsplit as soon as it is faster at all (by 2% here) */
    struct way_time unsplit83 = {0.00083, 0, 0};
    run_for(&c, &t, JP_SPLIT_REPROBE_S + 0.2, &unsplit83, &split85, NULL);
    assert_int_equal(c.split, 0);
}

static void test_stalls_count(void **state)
{
    (void)state;
    jp_nn_split_choice c = {0};
    /* split: 0.5 ms, but every 5th image waits 5 ms for a descheduled second thread (mean 1.4 ms,
     * median 0.5 ms); unsplit 1 ms */
    struct way_time unsplit = {0.001, 0, 0}, split = {0.0005, 0.005, 5};
    double t = 1.0;
    int images[2] = {0, 0};
    run_for(&c, &t, 10.0, &unsplit, &split, images);
    assert_int_equal(c.split, 0);
    /* the probes of the split way are a small share: under 2% of the images */
    assert_true(images[1] < images[0] / 50);
}

static void test_follows_machine(void **state)
{
    (void)state;
    jp_nn_split_choice c = {0};
    struct way_time unsplit = {0.002, 0, 0}, split_free = {0.001, 0, 0}, split_busy = {0.001, 0.02, 4};
    double t = 50.0;
    run_for(&c, &t, 1.0, &unsplit, &split_free, NULL);
    assert_int_equal(c.split, 1);
    /* a neighbour takes the second core: within one reprobe interval (and its window and probe) unsplit */
    run_for(&c, &t, JP_SPLIT_REPROBE_S + 0.2, &unsplit, &split_busy, NULL);
    assert_int_equal(c.split, 0);
    /* it goes away: back to the split */
    run_for(&c, &t, JP_SPLIT_REPROBE_S + 0.2, &unsplit, &split_free, NULL);
    assert_int_equal(c.split, 1);
}

static void test_cut_short(void **state)
{
    (void)state;
    jp_nn_split_choice c = {0};
    struct way_time unsplit = {0.001, 0, 0}, split = {0.004, 0, 0};
    double t = 3.0;
    int images[2] = {0, 0};
    run_for(&c, &t, 0.5, &unsplit, &split, images);
    assert_int_equal(c.split, 0);
    /* four times slower: cut short after its second counted image, not run for the whole probe (25 ms
     * would be 6 or more images) */
    assert_true(images[1] <= 3);
}

static void test_pause(void **state)
{
    (void)state;
    jp_nn_split_choice c = {0};
    struct way_time unsplit = {0.002, 0, 0}, split = {0.001, 0, 0};
    double t = 7.0;
    run_for(&c, &t, 1.0, &unsplit, &split, NULL);
    assert_int_equal(c.split, 1);
    /* the caller pauses 10 s after each of a few split images: never counted as the split's time */
    for (int i = 0; i < 5; i++) {
        jp_nn_split_next(&c, t);
        t += 10.0;
    }
    assert_int_equal(c.phase, JP_SPLIT_WINDOW); /* the pauses fell in the window before a probe */
    run_for(&c, &t, 0.2, &unsplit, &split, NULL); /* the probe of unsplit, and its decision */
    assert_int_equal(c.phase, JP_SPLIT_RUN);
    assert_int_equal(c.split, 1);
}

static void test_clock_reads(void **state)
{
    (void)state;
    jp_nn_split_choice c = {0};
    /* a model of 3 us an image, split or not: the clock is read for the windows and probes (125 ms of
     * every 2 s, about 6% of the images) and once per 1 ms of images between them */
    struct way_time unsplit = {3e-6, 0, 0}, split = {4e-6, 0, 0};
    double t = 20.0;
    int images[2] = {0, 0};
    clock_reads = 0;
    run_for(&c, &t, 10.0, &unsplit, &split, images);
    assert_int_equal(c.split, 0);
    long n = images[0] + images[1];
    assert_true(clock_reads < n / 10);
    assert_true(clock_reads > n / 30); /* the windows and probes are still counted image by image */
    /* a model of 10 ms an image: every image, as 1 ms of images is less than one */
    memset(&c, 0, sizeof c);
    struct way_time slow = {0.01, 0, 0};
    clock_reads = 0;
    images[0] = images[1] = 0;
    run_for(&c, &t, 10.0, &slow, &slow, images);
    assert_int_equal(clock_reads, images[0] + images[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_probe),   cmocka_unit_test(test_margin), cmocka_unit_test(test_stalls_count),
        cmocka_unit_test(test_follows_machine), cmocka_unit_test(test_cut_short),
        cmocka_unit_test(test_pause),          cmocka_unit_test(test_clock_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
