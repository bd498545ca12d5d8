/* Renders a store as the report command does: the list, then the latest run in every format. */
#ifndef JP_FUZZ_STORE_RENDER_H
#define JP_FUZZ_STORE_RENDER_H

#include "report/report.h"
#include "store.h"

static inline void fz_render_store(const char *path)
{
    jp_store *db;
    if (jp_store_open(&db, path, JP_STORE_READONLY) != JP_OK) return;
    FILE *out = fopen("/dev/null", "w");
    if (!out) abort();
    struct jp_store_entry *runs;
    size_t n;
    static const enum jp_report_format fmts[] = {JP_REPORT_TABLE, JP_REPORT_CSV, JP_REPORT_JSON, JP_REPORT_MD,
                                                 JP_REPORT_HTML};
    if (jp_store_list(db, &runs, &n) == JP_OK) {
        for (int f = 0; f < 4; f++) jp_report_list(out, runs, n, fmts[f]);
        free(runs);
    }
    struct jp_bench_run run;
    if (jp_store_load(db, JP_STORE_LATEST, &run) == JP_OK) {
        jp_bench_analyze(&run);
        for (int f = 0; f < 5; f++) jp_report_write(out, &run, fmts[f]);
        jp_bench_run_clear(&run);
    }
    fclose(out);
    jp_store_close(db);
}

#endif
