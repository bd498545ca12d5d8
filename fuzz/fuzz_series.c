/* An hourly intensity series file and a plan over it. Input: the series CSV, then "#", then the plan's
 * request: five little-endian doubles (joules, duration, window start, window end, now; zeros where the
 * input ends) and the rest as the current region's name, which is also parsed as a time. Invariants: a
 * series that loads has regions and rows, its timestamps within 1970-2200; a plan found starts within
 * the series, at or after the window's start, has a finite, non-negative intensity and, for a finite
 * non-negative energy, finite non-negative grams; at most the asked number of regions is filled in; a
 * time that parses lies within 1970-2200. */
#include "fuzz_common.h"

#include <math.h>

#include "jouleprint.h"

#define Y1970 0.0
#define Y2200 7258118400.0 /* 2200-01-01T00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *csv, *rest;
    size_t clen, rlen;
    fz_split(data, size, "#", &csv, &clen, &rest, &rlen);
    char path[512];
    fz_path(path, sizeof path, "series.csv");
    fz_write(path, csv, clen);
    double p[5] = {0};
    for (size_t i = 0; i < 5 && (i + 1) * 8 <= rlen; i++) memcpy(&p[i], rest + i * 8, 8);
    char *region = fz_str(rlen > 40 ? rest + 40 : rest + rlen, rlen > 40 ? rlen - 40 : 0);

    double t;
    if (jp_parse_time(region, &t) == JP_OK) FZ_CHECK(t >= Y1970 && t <= Y2200);

    jp_series *s = NULL;
    if (jp_series_load(path, &s) == JP_OK) {
        FZ_CHECK(jp_series_region_count(s) >= 1 && jp_series_row_count(s) >= 1);
        double first = jp_series_first(s), last = jp_series_last(s);
        FZ_CHECK(first >= Y1970 && first <= Y2200 && last >= first);
        for (size_t i = 0; i < jp_series_region_count(s); i++) FZ_CHECK(jp_series_region(s, i) != NULL);
        for (size_t i = 0; i < jp_series_warning_count(s); i++) FZ_CHECK(jp_series_warning(s, i) != NULL);
        jp_plan_request req = {.joules = p[0], .duration_s = p[1], .window_start = p[2], .window_end = p[3],
                               .region = *region ? region : NULL, .now = p[4]};
        jp_plan_choice best, cur, per[8];
        size_t nreg = 0;
        if (jp_series_plan(s, &req, &best, &cur, per, 8, &nreg) == JP_OK) {
            FZ_CHECK(nreg <= 8);
            FZ_CHECK(best.start >= first - 1e-6 && best.start <= last);
            if (isfinite(p[2])) FZ_CHECK(best.start >= p[2] - 1e-6);
            FZ_CHECK(isfinite(best.g_per_kwh) && best.g_per_kwh >= 0);
            if (isfinite(p[0]) && p[0] >= 0) FZ_CHECK(isfinite(best.grams) && best.grams >= 0);
        }
        jp_series_free(s);
    }
    free(region);
    return 0;
}
