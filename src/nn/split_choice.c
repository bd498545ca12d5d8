/* The choice between splitting a single image across threads or not; see split_choice.h. */
#include "nn/split_choice.h"

/* The median of n <= JP_SPLIT_TRIALS durations (insertion sort of a copy). */
static double median_s(const double *v, int n)
{
    double s[JP_SPLIT_TRIALS];
    for (int i = 0; i < n; i++) {
        int j = i;
        for (; j > 0 && s[j - 1] > v[i]; j--) s[j] = s[j - 1];
        s[j] = v[i];
    }
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void end_round(jp_nn_split_choice *c, double now)
{
    c->trials = 2 * JP_SPLIT_TRIALS;
    c->rounds++;
    c->round_end = now;
}

int jp_nn_split_next(jp_nn_split_choice *c, double now, int *timed)
{
    if (c->trials >= 2 * JP_SPLIT_TRIALS && now - c->round_end >= JP_SPLIT_REPROBE_S) {
        c->trials = 0;
        c->first = c->split;
    }
    if (c->trials < 2 * JP_SPLIT_TRIALS) {
        *timed = 1;
        return c->trials % 2 == 0 ? c->first : !c->first;
    }
    *timed = 0;
    return c->split;
}

void jp_nn_split_record(jp_nn_split_choice *c, int split, double seconds, double now)
{
    if (c->trials >= 2 * JP_SPLIT_TRIALS) return;
    split = split ? 1 : 0;
    int i = c->trials / 2;
    if (c->rounds > 0 && split != c->first && seconds > 2 * median_s(c->s[c->first], i + 1)) {
        end_round(c, now); /* far slower than the way chosen, just timed: the choice stays */
        return;
    }
    c->s[split][i] = seconds;
    if (++c->trials == 2 * JP_SPLIT_TRIALS) {
        c->split = median_s(c->s[1], JP_SPLIT_TRIALS) < median_s(c->s[0], JP_SPLIT_TRIALS);
        end_round(c, now);
    }
}
