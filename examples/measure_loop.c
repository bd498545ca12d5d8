/*
 * Measuring code in-process with the jouleprint C API: a "load" phase that fills a buffer and an
 * "infer" phase that computes over it, each reported in joules.
 *
 *   build/measure_loop [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>

#include "jouleprint.h"

static double work(double *buf, size_t n, long iterations)
{
    double acc = 0;
    for (long it = 0; it < iterations; it++)
        for (size_t i = 0; i < n; i++) acc += buf[i] * (double)(it + 1) * 1e-9;
    return acc;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 400;
    if (iterations <= 0) {
        fprintf(stderr, "usage: measure_loop [ITERATIONS > 0]\n");
        return 2;
    }
    jp_meter_config cfg;
    jp_meter_config_init(&cfg);
    cfg.interval_s = 0.01;
    jp_meter *m;
    if (jp_meter_open(&m, &cfg) != JP_OK) {
        fprintf(stderr, "measure_loop: %s\n", jp_last_error());
        return 1;
    }
    size_t n = 1u << 20;
    jp_meter_start(m);
    jp_meter_phase(m, "load");
    double *buf = malloc(n * sizeof *buf);
    if (!buf) return 1;
    for (size_t i = 0; i < n; i++) buf[i] = (double)(i % 1000);
    jp_meter_phase(m, "infer");
    double acc = work(buf, n, iterations);
    jp_meter_stop(m);

    printf("result %.3f\n", acc);
    for (size_t p = 0; p < jp_meter_phase_count(m); p++) {
        char e[32], d[32];
        jp_format_energy(jp_meter_phase_joules(m, p, JP_TOTAL), e, sizeof e);
        jp_format_duration(jp_meter_phase_duration(m, p), d, sizeof d);
        printf("phase %-6s %10s in %s\n", jp_meter_phase_name(m, p), e, d);
    }
    char e[32];
    jp_format_energy(jp_meter_joules(m, JP_TOTAL), e, sizeof e);
    printf("total        %10s%s\n", e, jp_meter_estimated(m) ? " (estimated: no energy counter here)" : "");
    free(buf);
    jp_meter_close(m);
    return 0;
}
