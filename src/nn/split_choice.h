/*
 * Whether a single image splits its large operations across a model's threads, chosen by timing both
 * ways and chosen again every JP_SPLIT_REPROBE_S seconds, so that the choice follows the machine: the
 * split is faster where a second core is free and each operation long enough to pay for the hand-off,
 * and slower where another process holds that core (the first thread then waits for a descheduled
 * second). A round of trials times 2 x JP_SPLIT_TRIALS single images, alternating the two ways (unsplit
 * first in the first round, the way chosen first in later ones); the faster median wins until the next
 * round. A later round ends at its first trial of the other way that takes more than twice the median
 * of the round's trials of the chosen way: where a busy neighbour holds the second core, one split
 * image can wait a whole time slice for the second thread, and eight of them every round would cost
 * more than the choice saves. The results are the same either way (a split divides rows, columns or
 * heads, never a sum), so only the time is at stake.
 *
 * Pure bookkeeping, with the clock given by the caller (model_forward.c gives jp_now()), so that tests
 * can drive it with any sequence of times.
 */
#ifndef JP_NN_SPLIT_CHOICE_H
#define JP_NN_SPLIT_CHOICE_H

#define JP_SPLIT_TRIALS 8
/* A round costs at most JP_SPLIT_TRIALS images run the slower way, every 2 s: under 1% of the images
 * of a model that makes 1,000 or more a second, where the way chosen is not far slower than the other. */
#define JP_SPLIT_REPROBE_S 2.0

typedef struct jp_nn_split_choice {
    int trials;                   /* images timed in the current round, 0 .. 2 x JP_SPLIT_TRIALS */
    int first;                    /* the way the round's even trials run (1: split) */
    int split;                    /* the choice of the last finished round */
    int rounds;                   /* rounds finished */
    double round_end;             /* when the last one finished; the next starts JP_SPLIT_REPROBE_S later */
    double s[2][JP_SPLIT_TRIALS]; /* the round's times, unsplit [0] and split [1] */
} jp_nn_split_choice;

/* How the next single image runs (1: split), at time now; *timed is set when its time is to be given
 * to jp_nn_split_record. A zeroed struct starts with a round of trials. */
int jp_nn_split_next(jp_nn_split_choice *c, double now, int *timed);
/* The time of an image that jp_nn_split_next marked timed, run split or not; ends the round after its
 * last trial, or early (see above), at time now. */
void jp_nn_split_record(jp_nn_split_choice *c, int split, double seconds, double now);

#endif
