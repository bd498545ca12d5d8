/*
 * The registry of built-in workloads, and their adapters to the harness: options from the spec,
 * predictions and references written one per line, as an external command would.
 *
 *   builtin: classify   src/bench/classify_builtin.c
 *   builtin: generate   src/bench/generate_builtin.c, scored by "adherence"
 *   builtin: summarize  src/bench/summarize_builtin.c
 *   builtin: ocr        options: model (required), threads, data (a folder from ocr-data),
 *                       tessdata. n items are read as n/2 clean and n/2 hard lines of the set.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench/builtin.h"

#include "jouleprint/workloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *opt(const struct jp_spec_option *opts, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(opts[i].key, key)) return opts[i].value;
    return NULL;
}

/* Every option key must be one of allowed; numbers where asked. */
static int check_keys(const struct jp_spec_option *opts, size_t n, const char *const *allowed, char *why, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(*a, opts[i].key)) ok = true;
        if (!ok) {
            size_t off = (size_t)snprintf(why, len, "unknown option \"%s\" (expected:", opts[i].key);
            for (const char *const *a = allowed; *a && off < len; a++) off += (size_t)snprintf(why + off, len - off, " %s", *a);
            if (off < len) snprintf(why + off, len - off, ")");
            return JP_ERR_INVAL;
        }
    }
    return JP_OK;
}

static int int_opt(const struct jp_spec_option *opts, size_t n, const char *key, int def, int min, int max, int *out,
                   char *why, size_t len)
{
    const char *v = opt(opts, n, key);
    *out = def;
    if (!v) return JP_OK;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < min || x > max) {
        snprintf(why, len, "option %s: expected a whole number from %d to %d, found \"%s\"", key, min, max, v);
        return JP_ERR_INVAL;
    }
    *out = (int)x;
    return JP_OK;
}

static FILE *open_w(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) jp_fail(JP_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static int close_w(FILE *f, const char *path)
{
    if (fclose(f) != 0) return jp_fail(JP_ERR_IO, "%s: write failed", path);
    return JP_OK;
}

/* ---- ocr ----------------------------------------------------------------------------------------- */

static const char *const ocr_keys[] = {"model", "threads", "data", "tessdata", NULL};

static int ocr_check(const struct jp_spec_option *opts, size_t n, char *why, size_t len)
{
    int rc = check_keys(opts, n, ocr_keys, why, len), x;
    if (rc != JP_OK) return rc;
    if ((rc = int_opt(opts, n, "threads", 1, 1, 256, &x, why, len)) != JP_OK) return rc;
    const char *model = opt(opts, n, "model");
    if (!model) {
        snprintf(why, len, "options: model is required (see `jouleprint ocr --list`)");
        return JP_ERR_INVAL;
    }
    char dir[1024], path[1024];
    if (jp_ocr_model_locate(model, opt(opts, n, "tessdata"), dir, sizeof dir, path, sizeof path) != JP_OK) {
        snprintf(why, len, "%s", jp_last_error());
        return JP_ERR_NOTFOUND;
    }
    return JP_OK;
}

static int ocr_run(const struct jp_spec_option *opts, size_t nopts, long n, long timed, const char *outputs,
               const char *refs, jp_meter *m, long *done)
{
    char why[256];
    jp_ocr_config cfg;
    jp_ocr_config_init(&cfg);
    cfg.model = opt(opts, nopts, "model");
    cfg.data = opt(opts, nopts, "data");
    cfg.tessdata = opt(opts, nopts, "tessdata");
    cfg.keep_lines = true;
    cfg.n = (size_t)((n + JP_OCR_SPLITS - 1) / JP_OCR_SPLITS); /* per split */
    if (timed > 0 && timed < n) cfg.timed = (size_t)((timed + JP_OCR_SPLITS - 1) / JP_OCR_SPLITS);
    if (int_opt(opts, nopts, "threads", 1, 1, 256, &cfg.threads, why, sizeof why) != JP_OK)
        return jp_fail(JP_ERR_INVAL, "%s", why);
    jp_ocr_result res;
    int rc = jp_ocr_run(&cfg, m, &res);
    if (rc != JP_OK) return rc;
    FILE *po = open_w(outputs), *ro = po ? open_w(refs) : NULL;
    if (!po || !ro) rc = JP_ERR_IO;
    /* a line's text must stay one line of the file */
    for (size_t i = 0; rc == JP_OK && i < res.nlines; i++) {
        for (const char *s = res.lines[i].hyp ? res.lines[i].hyp : ""; *s; s++) fputc(*s == '\n' ? ' ' : *s, po);
        fputc('\n', po);
        for (const char *s = res.lines[i].ref ? res.lines[i].ref : ""; *s; s++) fputc(*s == '\n' ? ' ' : *s, ro);
        fputc('\n', ro);
    }
    if (po && close_w(po, outputs) != JP_OK) rc = JP_ERR_IO;
    if (ro && close_w(ro, refs) != JP_OK) rc = JP_ERR_IO;
    *done = rc == JP_OK ? (long)res.lines_timed : 0;
    jp_ocr_result_free(&res);
    return rc;
}

static const struct jp_bench_builtin ocr_builtin = {"ocr", "ocr", ocr_check, ocr_run, true};

/* ---- the registry -------------------------------------------------------------------------------- */

extern const struct jp_bench_builtin jp_bench_builtin_summarize; /* src/workload/summarize_builtin.c */

static const struct jp_bench_builtin *const builtins[] = {
    &jp_bench_builtin_classify,
    &ocr_builtin,
    &jp_bench_builtin_generate,
    &jp_bench_builtin_summarize,
    NULL,
};

const struct jp_bench_builtin *jp_bench_builtin_find(const char *name)
{
    for (const struct jp_bench_builtin *const *b = builtins; *b; b++)
        if (!strcmp((*b)->name, name)) return *b;
    return NULL;
}

const char *jp_bench_builtin_names(void)
{
    static char names[256];
    names[0] = '\0';
    for (const struct jp_bench_builtin *const *b = builtins; *b; b++) {
        if (names[0]) strncat(names, ", ", sizeof names - strlen(names) - 1);
        strncat(names, (*b)->name, sizeof names - strlen(names) - 1);
    }
    return names;
}
