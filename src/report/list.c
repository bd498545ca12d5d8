/* The list of stored runs, for `jouleprint report --list`. */
#include <jansson.h>
#include <string.h>

#include "report/internal.h"
#include "util.h"

static void col(FILE *out, const char *s, size_t width, bool right)
{
    char e[300], cut[300];
    jp_esc_str(e, sizeof e, JP_ESC_TERM, s); /* from the store: no control character reaches the terminal */
    rp_cut(cut, sizeof cut, e, width);
    size_t w = rp_width(cut);
    if (right)
        for (size_t i = w; i < width; i++) fputc(' ', out);
    fputs(cut, out);
    if (!right)
        for (size_t i = w; i < width; i++) fputc(' ', out);
}

static int list_table(FILE *out, const struct jp_store_entry *runs, size_t n)
{
    if (!n) {
        fputs("no runs stored yet: `jouleprint bench SPEC` stores one\n", out);
        return rp_finish(out, "table");
    }
    /* widths of the id and spec columns from the data */
    size_t idw = 3, specw = 4;
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%ld", runs[i].id);
        if (strlen(id) > idw) idw = strlen(id);
        char esc[300];
        jp_esc_str(esc, sizeof esc, JP_ESC_TERM, runs[i].spec_path);
        size_t w = rp_width(esc);
        if (w > specw) specw = w;
    }
    if (specw > 28) specw = 28;
    col(out, "run", idw, true);
    fputs("  ", out);
    col(out, "started (UTC)", 20, false);
    fputs("  ", out);
    col(out, "status", 11, false);
    fputs("  models  failed  ", out);
    col(out, "figures", 9, false);
    fputs("  ", out);
    col(out, "spec", specw, false);
    fputs("  picks\n", out);
    for (size_t i = 0; i < n; i++) {
        const struct jp_store_entry *e = &runs[i];
        char b[64];
        snprintf(b, sizeof b, "%ld", e->id);
        col(out, b, idw, true);
        fputs("  ", out);
        col(out, e->started_at, 20, false);
        fputs("  ", out);
        col(out, jp_run_status_name(e->status), 11, false);
        fprintf(out, "  %6zu  %6zu  ", e->nmodels, e->nfailed);
        col(out, e->estimated ? "estimated" : "measured", 9, false);
        fputs("  ", out);
        col(out, e->spec_path, specw, false);
        fputs("  ", out);
        rp_term(out, *e->picks ? e->picks : "-");
        fputc('\n', out);
    }
    return rp_finish(out, "table");
}

static int list_csv(FILE *out, const struct jp_store_entry *runs, size_t n)
{
    fputs("id,started_at,finished_at,status,spec_path,machine,sources,estimated,region,tasks,models,failed,task_names,"
          "picks\n",
          out);
    for (size_t i = 0; i < n; i++) {
        const struct jp_store_entry *e = &runs[i];
        const char *fields[] = {e->started_at, e->finished_at, jp_run_status_name(e->status), e->spec_path, e->machine, e->sources};
        fprintf(out, "%ld", e->id);
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
            fputc(',', out);
            rp_csv(out, fields[k]);
        }
        fprintf(out, ",%s,", e->estimated ? "true" : "false");
        rp_csv(out, e->region);
        fprintf(out, ",%zu,%zu,%zu,", e->ntasks, e->nmodels, e->nfailed);
        rp_csv(out, e->tasks);
        fputc(',', out);
        rp_csv(out, e->picks);
        fputc('\n', out);
    }
    return rp_finish(out, "CSV");
}

static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_string("?"); /* not UTF-8 */
}

static int list_json(FILE *out, const struct jp_store_entry *runs, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct jp_store_entry *e = &runs[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(e->id));
        json_object_set_new(o, "started_at", jstr(e->started_at));
        json_object_set_new(o, "finished_at", jstr(e->finished_at));
        json_object_set_new(o, "status", jstr(jp_run_status_name(e->status)));
        json_object_set_new(o, "spec_path", jstr(e->spec_path));
        json_object_set_new(o, "machine", jstr(e->machine));
        json_object_set_new(o, "sources", jstr(e->sources));
        json_object_set_new(o, "estimated", json_boolean(e->estimated));
        json_object_set_new(o, "region", jstr(e->region));
        json_object_set_new(o, "tasks", json_integer((json_int_t)e->ntasks));
        json_object_set_new(o, "models", json_integer((json_int_t)e->nmodels));
        json_object_set_new(o, "failed", json_integer((json_int_t)e->nfailed));
        json_object_set_new(o, "task_names", jstr(e->tasks));
        json_object_set_new(o, "picks", jstr(e->picks));
        json_array_append_new(a, o);
    }
    int rc = json_dumpf(a, out, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    json_decref(a);
    if (rc) return jp_fail(JP_ERR_IO, "writing the JSON list failed");
    fputc('\n', out);
    return rp_finish(out, "JSON");
}

static int list_md(FILE *out, const struct jp_store_entry *runs, size_t n)
{
    fputs("| run | started (UTC) | status | models | failed | figures | spec | picks |\n"
          "|--:|:--|:--|--:|--:|:--|:--|:--|\n",
          out);
    for (size_t i = 0; i < n; i++) {
        const struct jp_store_entry *e = &runs[i];
        fprintf(out, "| %ld | ", e->id);
        rp_md(out, e->started_at);
        fputs(" | ", out);
        rp_md(out, jp_run_status_name(e->status));
        fprintf(out, " | %zu | %zu | %s | ", e->nmodels, e->nfailed, e->estimated ? "estimated" : "measured");
        rp_md(out, e->spec_path);
        fputs(" | ", out);
        rp_md(out, e->picks);
        fputs(" |\n", out);
    }
    return rp_finish(out, "Markdown");
}

int jp_report_list(FILE *out, const struct jp_store_entry *runs, size_t n, enum jp_report_format f)
{
    switch (f) {
    case JP_REPORT_CSV: return list_csv(out, runs, n);
    case JP_REPORT_JSON: return list_json(out, runs, n);
    case JP_REPORT_MD: return list_md(out, runs, n);
    case JP_REPORT_HTML: return jp_fail(JP_ERR_INVAL, "the list of runs comes as table, csv, json or md, not html");
    case JP_REPORT_TABLE: break;
    }
    return list_table(out, runs, n);
}
