/* Small pieces of the HTML report: the task's pick and reference, escaped cut text, SVG frames, axes and
 * figure captions (see html.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/html.h"

/* ---- small pieces ------------------------------------------------------------------------------- */

const char *rp_html_task_ref_name(const struct jp_bench_task *t)
{
    return (t->reference >= 0 && (size_t)t->reference < t->nmodels) ? t->models[t->reference].name : "the largest";
}

const struct jp_bench_model *rp_html_task_pick(const struct jp_bench_task *t)
{
    return (t->pick >= 0 && (size_t)t->pick < t->nmodels && rp_usable(&t->models[t->pick])) ? &t->models[t->pick]
                                                                                            : NULL;
}

const struct jp_bench_model *rp_html_task_ref(const struct jp_bench_task *t)
{
    return (t->reference >= 0 && (size_t)t->reference < t->nmodels && rp_usable(&t->models[t->reference]))
               ? &t->models[t->reference]
               : NULL;
}

/* Text cut to cols characters, escaped. */
void rp_html_esc_cut(FILE *out, const char *s, size_t cols)
{
    char buf[256];
    rp_cut(buf, sizeof buf, s, cols);
    esc(out, buf);
}

void rp_html_svg_open(FILE *out, const char *kind, int w, int h, const char *aria)
{
    fprintf(out, "<svg class=\"chart\" data-chart=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                 "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
            kind, w, h, w, h);
    esc(out, aria);
    fputs("\">\n", out);
}

/* An axis's ticks (at most 32): their places on the chart and their labels in unit u. */
struct axis_ticks {
    size_t n;
    double at[32];
    char label[32][32];
};

/* The ticks of s, and the axis's group opened. */
static void axis_open(FILE *out, const struct sv_scale *s, struct sv_unit u, struct axis_ticks *t)
{
    double v[32];
    t->n = sv_ticks(s, v, 32);
    for (size_t i = 0; i < t->n; i++) {
        t->at[i] = sv_map(s, v[i]);
        sv_label(v[i] / u.scale, t->label[i], sizeof t->label[i]);
    }
    fputs("<g class=\"axis\">\n", out);
}

/* The title into the <text> the caller opened, then the axis's group closed. */
static void axis_close(FILE *out, const char *title)
{
    esc(out, title);
    fputs("</text>\n</g>\n", out);
}

/* Horizontal axis: grid lines from top to bottom, labels below bottom, title under them. */
void rp_html_axis_x(FILE *out, const struct sv_scale *s, struct sv_unit u, double top, double bottom, const char *title,
                   bool grid)
{
    struct axis_ticks t;
    axis_open(out, s, u, &t);
    for (size_t i = 0; i < t.n; i++) {
        double x = t.at[i];
        const char *lab = t.label[i];
        if (grid) fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, top, x, bottom);
        fprintf(out, "<line class=\"frame\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, bottom, x, bottom + 4);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, bottom + 17, lab);
    }
    fprintf(out, "<line class=\"frame\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", s->r0, bottom, s->r1, bottom);
    fprintf(out, "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (s->r0 + s->r1) / 2, bottom + 38);
    axis_close(out, title);
}

/* Vertical axis at x = left: grid lines to right, labels left of it, the title turned along it. */
void rp_html_axis_y(FILE *out, const struct sv_scale *s, struct sv_unit u, double left, double right, const char *title)
{
    struct axis_ticks t;
    axis_open(out, s, u, &t);
    for (size_t i = 0; i < t.n; i++) {
        double y = t.at[i];
        const char *lab = t.label[i];
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", left, y, right, y);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" dy=\".32em\">%s</text>\n", left - 8, y, lab);
    }
    fprintf(out, "<line class=\"frame\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, s->r0, left, s->r1);
    double cy = (s->r0 + s->r1) / 2;
    fprintf(out, "<text class=\"title\" transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">", cy);
    axis_close(out, title);
}

void rp_html_fig_open(FILE *out, bool wide, const char *title, const char *note)
{
    fprintf(out, "<figure%s><figcaption><h3>", wide ? " class=\"wide\"" : "");
    esc(out, title);
    fputs("</h3>", out);
    if (note && *note) {
        fputs("<span class=\"note\">", out);
        esc(out, note);
        fputs("</span>", out);
    }
    fputs("</figcaption>\n", out);
}

void rp_html_fig_empty(FILE *out, bool wide, const char *title, const char *why)
{
    rp_html_fig_open(out, wide, title, why);
    fputs("</figure>\n", out);
}

