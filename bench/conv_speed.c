/* conv_speed: the engine's two methods for 3x3 stride-1 "same" convolutions, on the shapes of the zoo's
 * models, in one run: the direct method (src/nn/ops.c: register tiles over the zero-bordered input) and
 * Winograd's F(2x2, 3x3) (src/nn/winograd.c), one thread.
 *
 * For each shape, R rounds (default 7) of two interleaved windows, direct then Winograd, each window
 * whole calls of jp_nn_conv2d until S seconds (default 0.2) of this thread's CPU time have passed
 * (CLOCK_THREAD_CPUTIME_ID: time taken by other processes is not counted, so a busy machine slows
 * neither side's figure directly; it still shares the caches). Reported: the median time per call of each
 * side with the lowest and highest window, GFLOP/s counted as the direct method's multiply-adds
 * (2 x n h w cout cin 9, so that both sides are on one scale: Winograd does 16/36 of those
 * multiplications), and the ratio of the medians. Both sides' outputs are compared first (largest
 * difference printed).
 *
 *     conv_speed [--rounds R] [--seconds S]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "nn/ops.h"

#define MAX_ROUNDS BENCH_MAX_SAMPLES

struct shape {
    const char *where;
    int n, cin, cout, side;
};

/* gen-l (batch 1 with guidance: 2 evaluations; batch 16: 32), resnet-s/-m and cnn at batch 64 */
static const struct shape SHAPES[] = {
    {"gen-l 28x28 32->32, batch 1", 2, 32, 32, 28},    {"gen-l 14x14 64->64, batch 1", 2, 64, 64, 14},
    {"gen-l 7x7 96->96, batch 1", 2, 96, 96, 7},       {"gen-l 7x7 192->96, batch 1", 2, 192, 96, 7},
    {"gen-l 28x28 32->32, batch 16", 32, 32, 32, 28},  {"gen-l 14x14 64->64, batch 16", 32, 64, 64, 14},
    {"gen-l 7x7 96->96, batch 16", 32, 96, 96, 7},     {"resnet 28x28 16->16, batch 64", 64, 16, 16, 28},
    {"resnet 14x14 32->32, batch 64", 64, 32, 32, 14}, {"resnet 7x7 64->64, batch 64", 64, 64, 64, 7},
};

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU seconds per call over a window of at least `seconds`. */
static double window(const jp_nn_conv *c, const float *in, int n, int side, float *out, float *ws, double seconds)
{
    long calls = 0;
    double t0 = cpu_now(), t;
    do {
        jp_nn_conv2d(c, in, n, side, side, out, NULL, JP_ACT_NONE, ws);
        calls++;
    } while ((t = cpu_now()) - t0 < seconds);
    return (t - t0) / (double)calls;
}

static float *fill(size_t n, unsigned *seed)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "conv_speed: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (float)((*seed >> 9) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

int main(int argc, char **argv)
{
    int rounds = 7;
    double seconds = 0.2;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > MAX_ROUNDS) {
                fprintf(stderr, "conv_speed: --rounds %s: give 1 to %d\n", argv[i], MAX_ROUNDS);
                return 2;
            }
            rounds = (int)v;
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds >= 0.01 && seconds <= 60)) {
                fprintf(stderr, "conv_speed: --seconds %s: give 0.01 to 60\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: conv_speed [--rounds R] [--seconds S]   (unknown argument '%s')\n", argv[i]);
            return 2;
        }
    }
    jp_nn_conv probe = {16, 16, 3, 1, 1, NULL, NULL, NULL};
    if (!jp_nn_conv_wino_ok(&probe)) {
        fprintf(stderr, "conv_speed: this CPU has no AVX-512: the engine uses the direct method only\n");
        return 1;
    }
    printf("one thread; %d rounds of interleaved %.2f s windows (thread CPU time); GFLOP/s as direct "
           "multiply-adds\n\n",
           rounds, seconds);
    printf("| shape | direct ms/call (lowest-highest) | GFLOP/s | Winograd ms/call (lowest-highest) | GFLOP/s | "
           "speed-up | largest difference |\n|---|---:|---:|---:|---:|---:|---:|\n");
    unsigned seed = 1;
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        const struct shape *sh = &SHAPES[s];
        size_t in_n = (size_t)sh->n * sh->cin * sh->side * sh->side, out_n = (size_t)sh->n * sh->cout * sh->side * sh->side;
        float *in = fill(in_n, &seed), *w = fill((size_t)sh->cout * sh->cin * 9, &seed), *b = fill((size_t)sh->cout, &seed);
        jp_nn_conv direct = {sh->cin, sh->cout, 3, 1, 1, w, b, NULL}, wino = direct;
        wino.wino = fill(jp_nn_wino_weights_size(&wino), &seed);
        jp_nn_wino_pack(&wino, wino.wino);
        size_t a = jp_nn_conv_col_size(&direct, sh->n, sh->side, sh->side), c = jp_nn_conv_col_size(&wino, sh->n, sh->side, sh->side);
        float *ws = fill(a > c ? a : c, &seed), *o1 = fill(out_n, &seed), *o2 = fill(out_n, &seed);
        jp_nn_conv2d(&direct, in, sh->n, sh->side, sh->side, o1, NULL, JP_ACT_NONE, ws);
        jp_nn_conv2d(&wino, in, sh->n, sh->side, sh->side, o2, NULL, JP_ACT_NONE, ws);
        double maxd = 0;
        for (size_t i = 0; i < out_n; i++) maxd = fmax(maxd, fabs((double)o1[i] - o2[i]));
        double td[MAX_ROUNDS], tw[MAX_ROUNDS], flops = 2.0 * sh->n * sh->side * sh->side * sh->cout * sh->cin * 9;
        window(&direct, in, sh->n, sh->side, o1, ws, seconds / 4); /* warm-up */
        window(&wino, in, sh->n, sh->side, o2, ws, seconds / 4);
        for (int r = 0; r < rounds; r++) {
            td[r] = window(&direct, in, sh->n, sh->side, o1, ws, seconds);
            tw[r] = window(&wino, in, sh->n, sh->side, o2, ws, seconds);
        }
        double md = bench_median(td, rounds), mw = bench_median(tw, rounds), dlo, dhi, wlo, whi;
        bench_spread(td, rounds, &dlo, &dhi);
        bench_spread(tw, rounds, &wlo, &whi);
        printf("| %s | %.3f (%.3f-%.3f) | %.1f | %.3f (%.3f-%.3f) | %.1f | %.2fx | %.1e |\n", sh->where, 1e3 * md,
               1e3 * dlo, 1e3 * dhi, flops / md * 1e-9, 1e3 * mw, 1e3 * wlo, 1e3 * whi, flops / mw * 1e-9, md / mw,
               maxd);
        fflush(stdout);
        free(in), free(w), free(b), free(wino.wino), free(ws), free(o1), free(o2);
    }
    return 0;
}
