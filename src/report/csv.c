/* The CSV report: one row per model (RFC 4180 quoting, LF line ends), a header; one column per metric of the run. */
#include <math.h>
#include <string.h>

#include "report/internal.h"

#define MAX_METRIC_COLS 32

static void num(FILE *out, double v)
{
    fputc(',', out);
    if (isfinite(v)) fprintf(out, "%.10g", v);
}

static void txt(FILE *out, const char *s)
{
    fputc(',', out);
    rp_csv(out, s);
}

static void boolean(FILE *out, bool b) { fputs(b ? ",true" : ",false", out); }

/* every run's figure, ';'-separated (empty where unknown) */
static void runs(FILE *out, const double *v, size_t n)
{
    fputc(',', out);
    for (size_t k = 0; v && k < n; k++) {
        if (k) fputc(';', out);
        if (isfinite(v[k])) fprintf(out, "%.10g", v[k]);
    }
}

int jp_report_csv(FILE *out, const struct jp_bench_run *run)
{
    /* the metric columns: every metric name found in the run, in order of first appearance */
    const char *metrics[MAX_METRIC_COLS];
    size_t nm = 0;
    for (size_t t = 0; t < run->ntasks; t++)
        for (size_t i = 0; i < run->tasks[t].nmodels; i++) {
            const struct jp_bench_model *m = &run->tasks[t].models[i];
            for (size_t k = 0; k < m->nmetrics && k < JP_BENCH_MAX_METRICS; k++) {
                size_t j = 0;
                while (j < nm && strcmp(metrics[j], m->metrics[k].name)) j++;
                if (j == nm && nm < MAX_METRIC_COLS) metrics[nm++] = m->metrics[k].name;
            }
        }
    fputs("run_id,task,metric,model,kind,status,error,runs,warmups,items_timed,items_scored,"
          "energy_j,energy_j_sd,duration_s,duration_s_sd,above_idle_j,load_j,load_s,infer_j,infer_s,"
          "j_per_item,wh_per_1000,time_per_item_s,items_per_s,score",
          out);
    for (size_t j = 0; j < nm; j++) txt(out, metrics[j]);
    fputs(",estimated,is_reference,is_pick,pareto,saving_pct,score_delta,rating,project_n,proj_kwh,proj_g,"
          "region,g_per_kwh,pue,basis,compared_j_per_item,compared_lo,compared_hi,attributed_j_per_item,cpu_share,"
          "other_share,saving_lo,saving_hi,saving_significant,interval_method,runs_j_per_item,runs_attributed_j_per_item\n",
          out);
    for (size_t t = 0; t < run->ntasks; t++) {
        const struct jp_bench_task *task = &run->tasks[t];
        for (size_t i = 0; i < task->nmodels; i++) {
            const struct jp_bench_model *m = &task->models[i];
            fprintf(out, "%ld", run->id);
            txt(out, task->name);
            txt(out, task->metric);
            txt(out, m->name);
            txt(out, m->kind);
            txt(out, jp_model_status_name(m->status));
            txt(out, m->error);
            fprintf(out, ",%d,%d,%ld,%ld", m->runs, m->warmups, m->items_timed, m->items_scored);
            num(out, m->energy_j);
            num(out, m->energy_j_sd);
            num(out, m->duration_s);
            num(out, m->duration_s_sd);
            num(out, m->above_idle_j);
            num(out, m->load_j);
            num(out, m->load_s);
            num(out, m->infer_j);
            num(out, m->infer_s);
            num(out, m->j_per_item);
            num(out, m->wh_per_1000);
            num(out, m->latency_s);
            num(out, m->items_per_s);
            num(out, m->score);
            for (size_t j = 0; j < nm; j++) num(out, jp_bench_metric(m, metrics[j]));
            boolean(out, m->estimated);
            boolean(out, m->is_reference);
            boolean(out, (int)i == task->pick);
            boolean(out, m->pareto);
            num(out, m->saving_pct);
            num(out, m->score_delta);
            fprintf(out, ",%d", m->rating);
            num(out, run->project_n);
            num(out, m->proj_kwh);
            num(out, m->proj_g);
            txt(out, run->region);
            num(out, run->g_per_kwh);
            num(out, run->pue > 0 ? run->pue : 1.0);
            txt(out, task->basis[0] ? task->basis : "machine");
            num(out, rp_usable(m) ? rp_cmp(m) : NAN);
            num(out, m->cmp_lo);
            num(out, m->cmp_hi);
            num(out, m->attr_j_per_item);
            num(out, m->cpu_share >= 0 ? m->cpu_share : NAN);
            num(out, m->other_share >= 0 ? m->other_share : NAN);
            num(out, m->saving_lo);
            num(out, m->saving_hi);
            boolean(out, m->saving_significant);
            txt(out, JP_BENCH_CI_METHOD);
            runs(out, m->rep_j_per_item, m->nrep);
            runs(out, m->rep_attr_j_per_item, m->nrep);
            fputs("\n", out);
        }
    }
    return rp_finish(out, "CSV");
}
