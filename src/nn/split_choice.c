/* The choice between splitting a single image across threads or not; see split_choice.h. */
#include "nn/split_choice.h"

static double mean(const jp_nn_split_choice *c, int way) { return c->sum[way] / c->n[way]; }

static void recount(jp_nn_split_choice *c, int way)
{
    c->sum[way] = 0;
    c->n[way] = 0;
}

int jp_nn_split_next(jp_nn_split_choice *c, double now)
{
    double d = now - c->last;
    if (c->last == 0) { /* the first image: the window starts, after this image (a cold start's time) */
        c->skip = 1;
        c->phase = JP_SPLIT_WINDOW;
        c->next_probe = now + JP_SPLIT_WINDOW_S;
        recount(c, 0);
    } else if (c->skip > 0) {
        c->skip--;
    } else if (c->phase != JP_SPLIT_RUN && d >= 0 && d <= JP_SPLIT_GAP_S) {
        c->sum[c->way] += d;
        c->n[c->way]++;
    }
    c->last = now;
    int other = !c->split;
    switch (c->phase) {
    case JP_SPLIT_RUN:
        if (now >= c->next_probe - JP_SPLIT_WINDOW_S) {
            c->phase = JP_SPLIT_WINDOW;
            recount(c, c->split);
        } else if (c->pace > 0) {
            double k = JP_SPLIT_CLOCK_S / c->pace;
            c->unclocked = k >= 63 ? 63 : (int)k;
        }
        break;
    case JP_SPLIT_WINDOW:
        if (now >= c->next_probe && c->n[c->split] >= JP_SPLIT_MIN_IMAGES) {
            c->phase = JP_SPLIT_PROBE;
            c->probe_start = now;
            recount(c, other);
        }
        break;
    default: /* the probe: over when long enough, or cut short when far slower */
        if ((c->n[other] >= 2 && mean(c, other) > 2 * mean(c, c->split)) ||
            (now - c->probe_start >= JP_SPLIT_PROBE_S && c->n[other] >= JP_SPLIT_MIN_IMAGES)) {
            c->pace = mean(c, c->split);
            /* the split must win by JP_SPLIT_MARGIN: its gain is smaller than its loss when the second
             * core goes busy before the next probe */
            if (mean(c, other) < c->pace * (other ? JP_SPLIT_MARGIN : 1.0)) {
                c->split = other;
                c->pace = mean(c, other);
            }
            c->phase = JP_SPLIT_RUN;
            c->next_probe = now + JP_SPLIT_REPROBE_S;
        }
        break;
    }
    c->way = c->phase == JP_SPLIT_PROBE ? !c->split : c->split;
    return c->way;
}
