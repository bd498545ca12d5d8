/* The one name table of a model's and a session's status: text only where the store, the reports
 * and JSON write them. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

static const char *const model_names[] = {
    [JP_MODEL_OK] = "ok",
    [JP_MODEL_FAILED] = "failed",
    [JP_MODEL_TIMEOUT] = "timeout",
    [JP_MODEL_INTERRUPTED] = "interrupted",
};
static const char *const run_names[] = {
    [JP_RUN_COMPLETE] = "complete",
    [JP_RUN_INTERRUPTED] = "interrupted",
    [JP_RUN_INCOMPLETE] = "incomplete",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *jp_model_status_name(enum jp_model_status s)
{
    return (unsigned)s < COUNT(model_names) ? model_names[s] : "?";
}

const char *jp_run_status_name(enum jp_run_status s) { return (unsigned)s < COUNT(run_names) ? run_names[s] : "?"; }

static int parse(const char *text, const char *const *names, size_t n, const char *what, int *out)
{
    for (size_t i = 0; text && i < n; i++)
        if (!strcmp(text, names[i])) {
            *out = (int)i;
            return JP_OK;
        }
    char list[128] = "";
    size_t off = 0;
    for (size_t i = 0; i < n && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", names[i]);
    return jp_fail(JP_ERR_PARSE, "%s \"%.40s\" is not one of %s", what, text ? text : "(null)", list);
}

int jp_model_status_parse(const char *text, enum jp_model_status *out)
{
    int v = 0, rc = parse(text, model_names, COUNT(model_names), "model status", &v);
    if (rc == JP_OK) *out = (enum jp_model_status)v;
    return rc;
}

int jp_run_status_parse(const char *text, enum jp_run_status *out)
{
    int v = 0, rc = parse(text, run_names, COUNT(run_names), "run status", &v);
    if (rc == JP_OK) *out = (enum jp_run_status)v;
    return rc;
}
