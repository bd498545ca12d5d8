/*
 * Whether a single image splits its large operations across a model's threads, chosen from measured
 * throughput and chosen again every JP_SPLIT_REPROBE_S seconds, so that the choice follows the machine:
 * the split is faster where a second core is free and each operation long enough to pay for the
 * hand-off, and slower where another process holds that core (the first thread then waits for a
 * descheduled second).
 *
 * Images run the way chosen (unsplit at first). Every JP_SPLIT_REPROBE_S (the first time after
 * JP_SPLIT_WINDOW_S), the other way runs for JP_SPLIT_PROBE_S, and the way with the lower mean time per
 * image is kept: the other way's over the probe against the chosen way's over the JP_SPLIT_WINDOW_S
 * just before it, the split needing to win by a margin (JP_SPLIT_MARGIN). Means, not medians, and
 * probes longer than a scheduler's time slice: beside a busy neighbour a split image is mostly fast,
 * while every few milliseconds one waits a whole time slice for the second thread, and only the mean
 * counts that wait; a freshly woken second thread also runs at once for its first slice, so that short
 * alternating trials would find the split fast where it is slow. A probe ends early once the other
 * way's mean is over twice the chosen way's. The results are the same either way (a split divides
 * rows, columns or heads, never a sum), so only the time is at stake.
 *
 * One clock reading per image while a window or a probe is counted: an image's time is from its start
 * to the next image's start (what the caller does between images counts the same for both ways), and a
 * gap over JP_SPLIT_GAP_S (the caller paused) is not counted. Between them the clock is read once per
 * JP_SPLIT_CLOCK_S of images at the last window's pace (at most every 64th image), which is all it takes
 * to see the next window come: for a model of a few microseconds an image, a reading per image would
 * cost 1% (29 ns here). Pure bookkeeping, with the clock given by the caller (model_forward.c gives
 * jp_now()), so that tests can drive it with any sequence of times.
 */
#ifndef JP_NN_SPLIT_CHOICE_H
#define JP_NN_SPLIT_CHOICE_H

#define JP_SPLIT_REPROBE_S 2.0
#define JP_SPLIT_WINDOW_S 0.1
/* At most JP_SPLIT_PROBE_S of images run the slower way every JP_SPLIT_REPROBE_S: 1.25% of the time,
 * and less where the probe ends early */
#define JP_SPLIT_PROBE_S 0.025
#define JP_SPLIT_MIN_IMAGES 4 /* in the probe and in the window, however long they last */
#define JP_SPLIT_GAP_S 1.0
#define JP_SPLIT_CLOCK_S 0.001
/* The split is taken only where its mean is at most this share of unsplit's (unsplit wherever it is
 * faster at all): on a machine whose second core comes and goes between probes, a split that wins by
 * little at one probe can lose by much before the next. */
#define JP_SPLIT_MARGIN 0.9

enum { JP_SPLIT_RUN, JP_SPLIT_WINDOW, JP_SPLIT_PROBE };

typedef struct jp_nn_split_choice {
    int split;           /* the way chosen (1: split) */
    int phase;           /* JP_SPLIT_RUN (nothing counted), _WINDOW (the way chosen counted), _PROBE (the other) */
    int way;             /* the way of the image in progress */
    int skip;            /* images whose times are not counted yet (the first, cold one) */
    int unclocked;       /* images to run the way chosen without reading the clock (jp_nn_split_clock) */
    double pace;         /* the chosen way's mean time per image in the last window */
    double last;         /* the start of the image in progress, 0 before the first */
    double probe_start;  /* when the probe started */
    double next_probe;   /* when the next one is due */
    double sum[2];       /* time of each way's images counted (window, probe) */
    int n[2];            /* and their number */
} jp_nn_split_choice;

/* How the image starting at time now runs (1: split). A zeroed struct starts unsplit. */
int jp_nn_split_next(jp_nn_split_choice *c, double now);

/* Whether the next image needs the clock: when not, it runs the way chosen (c->split) and
 * jp_nn_split_next is not called for it. */
static inline int jp_nn_split_clock(jp_nn_split_choice *c)
{
    if (c->unclocked > 0) {
        c->unclocked--;
        return 0;
    }
    return 1;
}

#endif
