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

/* Horizontal axis: grid lines from top to bottom, labels below bottom, title under them. */
void rp_html_axis_x(FILE *out, const struct sv_scale *s, struct sv_unit u, double top, double bottom, const char *title,
                   bool grid)
{
    double ticks[32];
    size_t n = sv_ticks(s, ticks, 32);
    fputs("<g class=\"axis\">\n", out);
    for (size_t i = 0; i < n; i++) {
        double x = sv_map(s, ticks[i]);
        char lab[32];
        sv_label(ticks[i] / u.scale, lab, sizeof lab);
        if (grid) fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, top, x, bottom);
        fprintf(out, "<line class=\"frame\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, bottom, x, bottom + 4);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, bottom + 17, lab);
    }
    fprintf(out, "<line class=\"frame\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", s->r0, bottom, s->r1, bottom);
    fprintf(out, "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (s->r0 + s->r1) / 2, bottom + 38);
    esc(out, title);
    fputs("</text>\n</g>\n", out);
}

/* Vertical axis at x = left: grid lines to right, labels left of it, the title turned along it. */
void rp_html_axis_y(FILE *out, const struct sv_scale *s, struct sv_unit u, double left, double right, const char *title)
{
    double ticks[32];
    size_t n = sv_ticks(s, ticks, 32);
    fputs("<g class=\"axis\">\n", out);
    for (size_t i = 0; i < n; i++) {
        double y = sv_map(s, ticks[i]);
        char lab[32];
        sv_label(ticks[i] / u.scale, lab, sizeof lab);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", left, y, right, y);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" dy=\".32em\">%s</text>\n", left - 8, y, lab);
    }
    fprintf(out, "<line class=\"frame\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, s->r0, left, s->r1);
    double cy = (s->r0 + s->r1) / 2;
    fprintf(out, "<text class=\"title\" transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">", cy);
    esc(out, title);
    fputs("</text>\n</g>\n", out);
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

