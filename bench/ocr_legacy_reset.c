/*
 * What eng-legacy's per-line reset costs and what it changes: the legacy engine (and the combined one)
 * clears Tesseract's adaptive classifier before each line, so that a line's text depends on that line
 * only (not on the lines read before it, their order or how they are shared between threads). This
 * runs the same lines with the reset and without it (the classifier then adapts across the lines one
 * engine reads), alternating, and reports per configuration the CPU time per line of the "infer" phase
 * (this process's, medians over the rounds) and the scores (word recall, CER), which do not vary from
 * round to round with one thread.
 *
 *   ocr_legacy_reset [-m MODEL] [-n LINES_PER_SPLIT] [-r ROUNDS] [-t THREADS]
 *
 * Defaults: eng-legacy, 100 lines per split (the 200 lines of `jouleprint study --quick`), 3 rounds,
 * 1 thread. The data set is the default one (seed 1), as the study's.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload/ocr.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    const char *model = "eng-legacy";
    int lines = 100, rounds = 3, threads = 1, opt;
    while ((opt = getopt(argc, argv, "m:n:r:t:")) != -1) {
        if (opt == 'm') {
            model = optarg;
            continue;
        }
        int v = atoi(optarg);
        if (v < 1 || v > 100000) {
            fprintf(stderr, "ocr_legacy_reset: -%c %s: expected 1 to 100000\n", opt, optarg);
            return 2;
        }
        if (opt == 'n') lines = v;
        else if (opt == 'r') rounds = v;
        else if (opt == 't') threads = v;
        else return 2;
    }
    double *cpu[2], *wall[2], recall[2] = {0, 0}, cer[2] = {0, 0};
    bool varied[2] = {false, false};
    size_t nlines = 0;
    for (int k = 0; k < 2; k++) {
        cpu[k] = calloc((size_t)rounds, sizeof *cpu[k]);
        wall[k] = calloc((size_t)rounds, sizeof *wall[k]);
        if (!cpu[k] || !wall[k]) return 1;
    }
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 2; i++) {
            int k = (r + i) % 2; /* 0: reset per line, 1: kept; the order alternates between rounds */
            jp_ocr_reset_per_line(k == 0);
            jp_ocr_config cfg;
            jp_ocr_config_init(&cfg);
            cfg.model = model;
            cfg.n = (size_t)lines;
            cfg.threads = threads;
            jp_ocr_result res;
            if (jp_ocr_run(&cfg, NULL, &res) != JP_OK) {
                fprintf(stderr, "ocr_legacy_reset: %s\n", jp_last_error());
                return 1;
            }
            nlines = (size_t)res.all.lines;
            if (nlines == 0) {
                fprintf(stderr, "ocr_legacy_reset: no lines read\n");
                return 1;
            }
            cpu[k][r] = res.infer_cpu_s / (double)nlines;
            wall[k][r] = res.infer_s / (double)nlines;
            double rc = jp_ocr_recall(&res.all), ce = jp_ocr_cer(&res.all);
            if (r > 0 && (rc != recall[k] || ce != cer[k])) varied[k] = true;
            recall[k] = rc;
            cer[k] = ce;
            jp_ocr_result_free(&res);
        }
    }
    jp_ocr_reset_per_line(true);
    printf("%s over %zu lines (%d per split), %d thread%s, %d rounds alternating (medians)\n", model, nlines, lines,
           threads, threads > 1 ? "s" : "", rounds);
    printf("  %-36s %12s %12s %12s %8s\n", "", "cpu ms/line", "wall ms/line", "word recall", "CER");
    const char *names[2] = {"adaptive classifier reset per line", "adapting across lines"};
    double mc[2];
    for (int k = 0; k < 2; k++) {
        mc[k] = median(cpu[k], rounds);
        printf("  %-36s %12.2f %12.2f %11.2f%% %7.2f%%%s\n", names[k], mc[k] * 1e3, median(wall[k], rounds) * 1e3,
               recall[k] * 100, cer[k] * 100, varied[k] ? "  (scores varied between rounds: the last shown)" : "");
    }
    printf("  CPU time per line, reset / adapting: %.2fx; word recall with the reset: %+.2f points\n", mc[0] / mc[1],
           (recall[0] - recall[1]) * 100);
    for (int k = 0; k < 2; k++) {
        free(cpu[k]);
        free(wall[k]);
    }
    return 0;
}
