/* The four charts of a task in the HTML report, as inline SVG: energy per item against the score with
 * the Pareto front, energy per item by model, emissions of the projected volume by region, and the
 * power timelines (see html.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/html.h"

/* ---- chart: energy per item against the score, with the Pareto front ----------------------------- */

/* A rectangle a label or a point takes, for placing labels where they overlap nothing. */
struct box {
    double x0, y0, x1, y1;
};

static bool overlap(struct box a, struct box b) { return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1; }

/* The box of a 12px text of width w with its baseline at y, anchored at x (0 start, 1 middle, 2 end). */
static struct box text_box(double x, double y, double w, int anchor)
{
    double x0 = anchor == 0 ? x : anchor == 1 ? x - w / 2 : x - w;
    return (struct box){x0 - 2, y - 11, x0 + w + 2, y + 3};
}

/* Places a label of width w beside the point (px, py): right, left, above or below, the first that
 * overlaps none of the obstacles and stays inside the frame; sets *x, *y, *anchor and adds its box
 * to the obstacles. */
static void place_label(struct box *obst, size_t *nobst, struct box frame, double px, double py, double w, double *x,
                        double *y, int *anchor)
{
    const struct {
        double dx, dy;
        int anchor;
    } cand[] = {{13, 4, 0}, {-13, 4, 2}, {0, -14, 1}, {0, 25, 1}, {13, -10, 0}, {13, 18, 0}, {-13, -10, 2}, {-13, 18, 2}};
    size_t best = 0;
    int best_hits = 1 << 30;
    for (size_t c = 0; c < sizeof cand / sizeof cand[0]; c++) {
        struct box b = text_box(px + cand[c].dx, py + cand[c].dy, w, cand[c].anchor);
        int hits = (b.x0 < frame.x0 || b.x1 > frame.x1 || b.y0 < frame.y0 || b.y1 > frame.y1) ? 2 : 0;
        for (size_t k = 0; k < *nobst; k++) hits += overlap(b, obst[k]);
        if (hits < best_hits) {
            best_hits = hits;
            best = c;
        }
        if (!hits) break;
    }
    *x = px + cand[best].dx;
    *y = py + cand[best].dy;
    *anchor = cand[best].anchor;
    obst[(*nobst)++] = text_box(*x, *y, w, *anchor);
}

static int by_energy(const void *a, const void *b, const struct jp_bench_task *t)
{
    double x = rp_cmp(&t->models[*(const size_t *)a]), y = rp_cmp(&t->models[*(const size_t *)b]);
    return (x > y) - (x < y);
}

static void sort_by_energy(size_t *idx, size_t n, const struct jp_bench_task *t)
{
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of models */
        for (size_t j = i; j > 0 && by_energy(&idx[j - 1], &idx[j], t) > 0; j--) {
            size_t k = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = k;
        }
}

static void model_tip(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t, size_t i)
{
    const struct jp_bench_model *m = &t->models[i];
    char a[64], b[64];
    fputs("<title>", out);
    esc(out, m->name);
    if ((int)i == t->pick) fputs(" (pick)", out);
    if (m->is_reference) fputs(" (largest)", out);
    jp_format_energy(rp_cmp(m), a, sizeof a);
    fprintf(out, "\n%s per item", a);
    if (isfinite(m->score)) {
        rp_format_metric(t->metric, m->score, a, sizeof a);
        fputc('\n', out);
        esc(out, rp_metric_label(t->metric));
        fputc(' ', out);
        esc(out, a);
    }
    if (!m->is_reference && isfinite(m->saving_pct)) {
        rp_format_saving(m, a, sizeof a);
        fprintf(out, "\nsaving %s against ", a);
        esc(out, rp_html_task_ref_name(t));
    }
    rp_format_latency(m->latency_s, a, sizeof a);
    fprintf(out, "\ntime per item %s", a);
    if (isfinite(m->proj_kwh)) {
        rp_format_count(run->project_n, b, sizeof b);
        rp_format_kwh(m->proj_kwh, a, sizeof a);
        fprintf(out, "\n%s items: %s, ", b, a);
        jp_format_mass(m->proj_g, a, sizeof a);
        fprintf(out, "%s CO2e", a);
    }
    if (m->estimated) fputs("\n(estimated)", out);
    fputs("</title>", out);
}

void rp_html_chart_scatter(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
{
    const char *label = rp_metric_label(t->metric);
    char title[160];
    snprintf(title, sizeof title, "Energy per item against %s", label);
    size_t idx[64], n = 0;
    for (size_t i = 0; i < t->nmodels && n < 64; i++)
        if (rp_usable(&t->models[i]) && isfinite(t->models[i].score)) idx[n++] = i;
    if (n == 0) {
        rp_html_fig_empty(out, false, title, "No model of this task was scored, so there is nothing to plot against energy.");
        return;
    }
    sort_by_energy(idx, n, t);
    /* a fraction is drawn in percent (0 to 100); another metric (FID) in its own unit from 0 up */
    bool fraction = jp_metric_is_fraction(t->metric), lower = jp_metric_lower_is_better(t->metric);
    double pct = fraction ? 100 : 1;
    double emin = INFINITY, emax = 0, smin = INFINITY, smax = -INFINITY;
    for (size_t k = 0; k < n; k++) {
        const struct jp_bench_model *m = &t->models[idx[k]];
        emin = fmin(emin, rp_cmp(m));
        emax = fmax(emax, rp_cmp(m));
        smin = fmin(smin, m->score * pct);
        smax = fmax(smax, m->score * pct);
    }
    const int W = HALF_W, H = 390, L = 62, R = 22, T = 14, B = 56;
    struct sv_scale xs = {0, 0, L, W - R, false}, ys;
    if (emax / emin >= 8) {
        xs.log = true;
        xs.d0 = emin / 1.8;
        xs.d1 = emax * 1.8;
    } else {
        double pad = fmax((emax - emin) * 0.2, emax * 0.06);
        xs.d0 = fmax(0, emin - pad);
        xs.d1 = emax + pad;
        sv_nice(&xs.d0, &xs.d1, 5);
    }
    double pad = fmax((smax - smin) * 0.18, 1.0);
    double top = fraction ? 100 : INFINITY;
    double ylo = fmax(0, smin - pad), yhi = fmin(top, smax + pad);
    sv_nice(&ylo, &yhi, 5);
    ys = (struct sv_scale){fmax(0, ylo) / pct, fmin(top, yhi) / pct, H - B, T, false};
    struct sv_unit eu = sv_unit_for('J', xs.log ? sqrt(emin * emax) : emax);
    struct sv_unit pu = {1 / pct, fraction ? "%" : ""};
    char note[256], xt[96], yt[96];
    snprintf(note, sizeof note,
             "%s left is better: less energy, %s %s. The step line is the Pareto front; the ringed point is "
             "the pick.",
             lower ? "Lower" : "Upper", lower ? "lower" : "higher", label);
    rp_html_fig_open(out, false, title, note);
    snprintf(xt, sizeof xt, "energy per item (%s%s)", eu.name, xs.log ? ", log scale" : "");
    if (fraction) snprintf(yt, sizeof yt, "%s (%%)%s", label, lower ? ", lower is better" : "");
    else snprintf(yt, sizeof yt, "%s%s", label, lower ? " (lower is better)" : "");
    rp_html_svg_open(out, "scatter", W, H, title);
    /* the y scale maps fractions; its labels show percent */
    rp_html_axis_y(out, &ys, pu, L, W - R, yt);
    rp_html_axis_x(out, &xs, eu, T, H - B, xt, true);

    /* the front: a staircase through the front's points, and the region it dominates shaded */
    size_t front[64], nf = 0;
    struct box front_label = {0, 0, 0, 0};
    for (size_t k = 0; k < n; k++)
        if (t->models[idx[k]].pareto) front[nf++] = idx[k];
    if (nf) {
        char path[4096];
        size_t at = 0;
        double x = sv_map(&xs, t->models[front[0]].j_per_item), y = sv_map(&ys, t->models[front[0]].score);
        at += (size_t)snprintf(path + at, sizeof path - at, "M%.1f %.1f", x, y);
        for (size_t k = 1; k < nf && at < sizeof path - 64; k++) {
            x = sv_map(&xs, t->models[front[k]].j_per_item);
            y = sv_map(&ys, t->models[front[k]].score);
            at += (size_t)snprintf(path + at, sizeof path - at, "H%.1fV%.1f", x, y);
        }
        if (at < sizeof path - 32) snprintf(path + at, sizeof path - at, "H%.1f", (double)(W - R));
        double x0 = sv_map(&xs, t->models[front[0]].j_per_item);
        /* the region the front dominates: below it, or above it where lower is better */
        fprintf(out, "<path d=\"%sV%.1fH%.1fZ\" fill=\"#eef2f7\" opacity=\"0.8\"/>\n", path, lower ? (double)T : (double)(H - B),
                x0);
        fprintf(out, "<path class=\"front\" d=\"%s\" fill=\"none\" stroke=\"#5a6473\" stroke-width=\"1.6\" "
                     "stroke-dasharray=\"5 4\"/>\n",
                path);
        double ly = sv_map(&ys, t->models[front[nf - 1]].score) - 7;
        if (ly < T + 10) ly = sv_map(&ys, t->models[front[nf - 1]].score) + 16;
        fprintf(out, "<text class=\"faint\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">Pareto front</text>\n",
                (double)(W - R - 4), ly);
        front_label = text_box(W - R - 4, ly, 12 * CHAR_W, 2);
    }

    /* points, then their labels, placed so that they overlap no point, no other label and no legend */
    struct box obst[2 * 64 + 2];
    size_t nobst = 0;
    if (nf) obst[nobst++] = front_label;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        const struct jp_bench_model *m = &t->models[i];
        double x = sv_map(&xs, rp_cmp(m)), y = sv_map(&ys, m->score);
        bool pick = (int)i == t->pick;
        double r = pick ? 14 : 9;
        obst[nobst++] = (struct box){x - r, y - r, x + r, y + r};
        fprintf(out, "<g class=\"pt\" data-model=\"");
        esc(out, m->name);
        fprintf(out, "\" data-energy-j=\"%.6g\" data-score=\"%.6g\">", rp_cmp(m), m->score);
        model_tip(out, run, t, i);
        if (pick)
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"13\" fill=\"none\" stroke=\"#1b2330\" stroke-width=\"2\"/>",
                    x, y);
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"8\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"1.5\"/>", x, y,
                sv_colour(i));
        fputs("</g>\n", out);
    }
    struct box frame = {L + 2, T, W - R + 16, H - B};
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        const struct jp_bench_model *m = &t->models[i];
        bool pick = (int)i == t->pick;
        char shown[128];
        rp_cut(shown, sizeof shown, m->name, 24);
        double w = (double)(rp_width(shown) + (pick ? 7 : 0)) * (pick ? CHAR_W + 0.5 : CHAR_W), x, y;
        int anchor;
        place_label(obst, &nobst, frame, sv_map(&xs, rp_cmp(m)), sv_map(&ys, m->score), w, &x, &y, &anchor);
        fprintf(out, "<text class=\"lbl%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", pick ? " strong" : "", x, y,
                anchor == 0 ? "start" : anchor == 1 ? "middle" : "end");
        esc(out, shown);
        if (pick) fputs(" (pick)", out);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n</figure>\n", out);
}

/* ---- chart: energy per item by model ------------------------------------------------------------ */

void rp_html_chart_bars(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
{
    const char *title = "Energy per item by model";
    size_t idx[64], n = 0, nu = 0;
    for (size_t i = 0; i < t->nmodels && n < 64; i++)
        if (rp_usable(&t->models[i])) idx[n++] = i;
    nu = n;
    sort_by_energy(idx, n, t);
    for (size_t i = 0; i < t->nmodels && n < 64; i++)
        if (!rp_usable(&t->models[i])) idx[n++] = i;
    if (nu == 0) {
        rp_html_fig_empty(out, false, title, "No model of this task completed.");
        return;
    }
    double emin = INFINITY, emax = 0;
    for (size_t k = 0; k < nu; k++) {
        emin = fmin(emin, t->models[idx[k]].j_per_item);
        emax = fmax(emax, t->models[idx[k]].j_per_item);
    }
    /* rows fill about the height of the scatter beside it when there are few */
    const int W = HALF_W, L = 150, R = 118, T = 8, B = 50, ROW = n >= 9 ? 34 : n >= 4 ? 300 / (int)n : 60;
    int H = T + (int)n * ROW + B;
    struct sv_scale xs = {0, emax * 1.04, L + 8, W - R, false};
    if (emax / emin >= 20) {
        xs.log = true;
        xs.d0 = fmin(pow(10, floor(log10(emin))), emin / 3);
        xs.d1 = pow(10, ceil(log10(emax * 1.0001)));
    } else {
        sv_nice(&xs.d0, &xs.d1, 4);
    }
    struct sv_unit eu = sv_unit_for('J', xs.log ? sqrt(emin * emax) : emax);
    char note[200], xt[96];
    snprintf(note, sizeof note, "Shorter is better.%s",
             xs.log ? " Log scale: the models differ by more than 20 times." : "");
    rp_html_fig_open(out, false, title, note);
    snprintf(xt, sizeof xt, "energy per item (%s%s)", eu.name, xs.log ? ", log scale" : "");
    rp_html_svg_open(out, "bars", W, H, title);
    rp_html_axis_x(out, &xs, eu, T, H - B, xt, true);
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        const struct jp_bench_model *m = &t->models[i];
        double bh = ROW >= 48 ? 26 : ROW - 12, y = T + (double)k * ROW + (ROW - bh) / 2, cy = y + bh / 2;
        bool pick = (int)i == t->pick;
        fprintf(out, "<text class=\"lbl%s%s\" x=\"%d\" y=\"%.1f\" dy=\".32em\" text-anchor=\"end\">",
                pick ? " strong" : "", k >= nu ? " faint" : "", L, cy);
        rp_html_esc_cut(out, m->name, 22);
        fputs("</text>\n", out);
        if (k >= nu) {
            fprintf(out, "<text class=\"faint\" x=\"%d\" y=\"%.1f\" dy=\".32em\" font-style=\"italic\">", L + 10, cy);
            esc(out, m->status == JP_MODEL_OK ? "no energy figure" : jp_model_status_name(m->status));
            fputs("</text>\n", out);
            continue;
        }
        double x0 = sv_map(&xs, xs.log ? xs.d0 : 0), x1 = sv_map(&xs, rp_cmp(m));
        char v[64];
        jp_format_energy(rp_cmp(m), v, sizeof v);
        fprintf(out, "<g class=\"bar\" data-model=\"");
        esc(out, m->name);
        fprintf(out, "\" data-energy-j=\"%.6g\">", rp_cmp(m));
        model_tip(out, run, t, i);
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"2\" fill=\"%s\" "
                     "shape-rendering=\"crispEdges\"/></g>\n",
                x0, y, fmax(x1 - x0, 1.5), bh, sv_colour(i));
        fprintf(out, "<text class=\"lbl%s\" x=\"%.1f\" y=\"%.1f\" dy=\".32em\">%s", pick ? " strong" : "", x1 + 6, cy, v);
        if (pick) fputs("<tspan class=\"tag\" fill=\"#0072B2\"> pick</tspan>", out);
        if (m->is_reference) fputs("<tspan class=\"tag faint\"> largest</tspan>", out);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n</figure>\n", out);
}

/* ---- chart: emissions of the projected volume by region ----------------------------------------- */

void rp_html_chart_regions(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t,
                          const struct rp_regions *rg)
{
    char title[160], count[64], note[512];
    rp_format_count(run->project_n, count, sizeof count);
    snprintf(title, sizeof title, "CO2e of %s items by region", count);
    const struct jp_bench_model *pick = rp_html_task_pick(t), *ref = rp_html_task_ref(t);
    if (!pick || rg->n == 0) {
        rp_html_fig_empty(out, true, title, !pick ? "No model of this task completed." : "No regional intensity figures.");
        return;
    }
    if (ref == pick) ref = NULL;
    const int W = FULL_W, L = 300, R = 190, T = 34, B = 50, ROW = ref ? 26 : 21;
    int H = T + (int)rg->n * ROW + B;
    double gmax = 0;
    for (size_t k = 0; k < rg->n; k++) {
        gmax = fmax(gmax, rp_proj_grams(run, pick, rg->r[k].g_per_kwh));
        if (ref) gmax = fmax(gmax, rp_proj_grams(run, ref, rg->r[k].g_per_kwh));
    }
    struct sv_scale xs = {0, gmax * 1.02, L + 10, W - R, false};
    sv_nice(&xs.d0, &xs.d1, 6);
    struct sv_unit gu = sv_unit_for('g', gmax);
    char years[64] = "";
    if (rg->min_year && rg->min_year == rg->max_year) snprintf(years, sizeof years, " %d", rg->min_year);
    else if (rg->min_year) snprintf(years, sizeof years, " %d-%d", rg->min_year, rg->max_year);
    snprintf(note, sizeof note,
             "The seed study's %zu Google Cloud regions at their%s grid intensity (location-based), PUE %.2f%s; "
             "sorted from the cleanest grid to the dirtiest. This run's region is in bold.%s",
             rg->nseed, years, run->pue > 0 ? run->pue : 1.0,
             rg->missing ? " (regions without a figure that year are left out)" : "",
             rg->year_inferred ? " The year is inferred from the run's figure (its store kept no year)." : "");
    rp_html_fig_open(out, true, title, note);
    rp_html_svg_open(out, "regions", W, H, title);
    char xt[96];
    snprintf(xt, sizeof xt, "grams of CO2e for %s items (%s)", count, gu.name);
    rp_html_axis_x(out, &xs, gu, T - 6, H - B, xt, true);
    /* legend */
    fprintf(out, "<g class=\"legend\"><rect x=\"%d\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>"
                 "<text x=\"%d\" y=\"16\">",
            L + 10, sv_colour((size_t)t->pick), L + 28);
    rp_html_esc_cut(out, pick->name, 30);
    fputs(" (pick)</text>", out);
    if (ref) {
        fprintf(out, "<rect x=\"%d\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/><text x=\"%d\" y=\"16\">",
                L + 260, sv_colour((size_t)t->reference), L + 278);
        rp_html_esc_cut(out, ref->name, 30);
        fputs(" (largest)</text>", out);
    }
    fputs("<text class=\"faint\" x=\"294\" y=\"16\" text-anchor=\"end\">gCO2e/kWh</text></g>\n", out);
    for (size_t k = 0; k < rg->n; k++) {
        const struct rp_region *r = &rg->r[k];
        double y = T + (double)k * ROW + 3, cy = T + (double)k * ROW + ROW / 2.0;
        const char *code = strncmp(r->id, "gcp:", 4) ? r->id : r->id + 4;
        fprintf(out, "<g class=\"region\" data-region=\"");
        esc(out, r->id);
        fprintf(out, "\" data-g-per-kwh=\"%.6g\">", r->g_per_kwh);
        fprintf(out, "<text class=\"lbl%s\" x=\"%d\" y=\"%.1f\" dy=\".32em\" text-anchor=\"end\">", r->run ? " strong" : "",
                222, cy);
        if (*r->name && strstr(r->name, code)) { /* "world average", not "world average world" */
            rp_html_esc_cut(out, r->name, 26);
        } else if (*r->name) {
            rp_html_esc_cut(out, r->name, 18);
            fputs(" <tspan class=\"faint\">", out);
            esc(out, code);
            fputs("</tspan>", out);
        } else {
            esc(out, code);
        }
        fprintf(out, "</text><text class=\"faint\" x=\"294\" y=\"%.1f\" dy=\".32em\" text-anchor=\"end\">%.0f</text>\n", cy,
                r->g_per_kwh);
        double gp = rp_proj_grams(run, pick, r->g_per_kwh), x0 = sv_map(&xs, 0);
        double bh = ref ? 9 : 13;
        char a[64], b[64];
        jp_format_mass(gp, a, sizeof a);
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" shape-rendering=\"crispEdges\">"
                     "<title>",
                x0, y, fmax(sv_map(&xs, gp) - x0, 1), bh, sv_colour((size_t)t->pick));
        esc(out, *r->name ? r->name : r->id);
        fputs(" (", out);
        esc(out, code);
        fprintf(out, "), %.0f gCO2e/kWh\n", r->g_per_kwh);
        esc(out, pick->name);
        fprintf(out, ": %s CO2e</title></rect>", a);
        /* every value at the end of its own bar: a screenshot or a printout shows both models' figures */
        const char *cls = r->run ? "lbl strong" : "lbl";
        fprintf(out, "<text class=\"%s%s\" data-value-of=\"pick\" x=\"%.1f\" y=\"%.1f\" dy=\".32em\">%s</text>", cls,
                ref ? " small" : "", fmax(sv_map(&xs, gp), x0 + 1) + 5, y + bh / 2, a);
        double xend = sv_map(&xs, gp);
        if (ref) {
            double gr = rp_proj_grams(run, ref, r->g_per_kwh);
            jp_format_mass(gr, b, sizeof b);
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                         "shape-rendering=\"crispEdges\"><title>",
                    x0, y + bh + 2, fmax(sv_map(&xs, gr) - x0, 1), bh, sv_colour((size_t)t->reference));
            esc(out, ref->name);
            fprintf(out, ": %s CO2e</title></rect>", b);
            fprintf(out, "<text class=\"%s small\" data-value-of=\"largest\" x=\"%.1f\" y=\"%.1f\" dy=\".32em\">%s</text>", cls,
                    fmax(sv_map(&xs, gr), x0 + 1) + 5, y + bh + 2 + bh / 2, b);
            xend = fmax(xend, sv_map(&xs, gr));
        }
        /* the region's tags after the longer bar's value */
        if ((int)k == rg->cleanest || (int)k == rg->dirtiest || r->run) {
            fprintf(out, "<text class=\"lbl\" x=\"%.1f\" y=\"%.1f\" dy=\".32em\">", xend + 70, cy);
            if ((int)k == rg->cleanest) fputs("<tspan class=\"tag\" fill=\"#007a5a\">cleanest</tspan>", out);
            if ((int)k == rg->dirtiest) fputs("<tspan class=\"tag\" fill=\"#b34700\">dirtiest</tspan>", out);
            if (r->run) fputs("<tspan class=\"tag\"> this run</tspan>", out);
            fputs("</text>", out);
        }
        fputs("</g>\n", out);
    }
    fputs("</svg>\n</figure>\n", out);
}

/* ---- chart: power timelines --------------------------------------------------------------------- */

static void polyline(FILE *out, const struct jp_bench_model *m, const struct sv_scale *xs, const struct sv_scale *ys,
                     double tscale, const char *colour)
{
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" stroke-linejoin=\"round\" points=\"", colour);
    size_t n = m->nsamples, buckets = 700;
    if (n <= 2 * buckets) {
        for (size_t s = 0; s < n; s++)
            if (isfinite(m->sample_t[s]) && isfinite(m->sample_w[s]))
                fprintf(out, "%.1f,%.1f ", sv_map(xs, m->sample_t[s] / tscale), sv_map(ys, m->sample_w[s]));
    } else {
        /* min and max of each bucket, in time order, so that peaks survive */
        for (size_t b = 0; b < buckets; b++) {
            size_t s0 = b * n / buckets, s1 = (b + 1) * n / buckets, lo = s0, hi = s0;
            for (size_t s = s0; s < s1; s++) {
                if (m->sample_w[s] < m->sample_w[lo]) lo = s;
                if (m->sample_w[s] > m->sample_w[hi]) hi = s;
            }
            size_t first = lo < hi ? lo : hi, second = lo < hi ? hi : lo;
            fprintf(out, "%.1f,%.1f ", sv_map(xs, m->sample_t[first] / tscale), sv_map(ys, m->sample_w[first]));
            if (second != first)
                fprintf(out, "%.1f,%.1f ", sv_map(xs, m->sample_t[second] / tscale), sv_map(ys, m->sample_w[second]));
        }
    }
    fputs("\"/>\n", out);
}

/* Where a model's energy figure came from, in words: a counter, or the power model's estimate. */
static void energy_origin(const struct jp_bench_run *run, const struct jp_bench_model *m, char *buf, size_t len)
{
    if (m->estimated)
        snprintf(buf, len, "estimate: the power model (its shape follows CPU utilisation, not a meter)");
    else
        snprintf(buf, len, "measured: energy counters (%.120s)", run->sources);
}

/* One panel per model on a shared time axis (whole seconds or minutes, round ticks), so that lines at
 * the same watts do not hide each other; a run too short to draw as a line is drawn as a bar. */
void rp_html_chart_timeline(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
{
    const char *title = "Power during the last measured run of each model";
    double tmax = 0, wmax = run->baseline_w > 0 ? run->baseline_w : 0;
    size_t lines = 0;
    bool any_est = false;
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        if (m->nsamples < 1 || !m->sample_t || !m->sample_w) continue;
        lines++;
        any_est |= m->estimated;
        for (size_t s = 0; s < m->nsamples; s++) {
            if (isfinite(m->sample_t[s])) tmax = fmax(tmax, m->sample_t[s]);
            if (isfinite(m->sample_w[s])) wmax = fmax(wmax, m->sample_w[s]);
        }
    }
    if (!lines || !(tmax > 0)) {
        rp_html_fig_empty(out, true, title, "No power timeline was recorded for this task.");
        return;
    }
    /* the axis in the unit shown, so that its ticks are round in that unit (2 min, not 1.667 min) */
    struct sv_unit tu = sv_unit_for('s', tmax);
    const int W = FULL_W, PANEL = 86, GAP = 18, L = 62, R = 260, T = 10, B = 52;
    int H = T + (int)lines * (PANEL + GAP) - GAP + B;
    struct sv_scale xs = {0, tmax / tu.scale, L, W - R, false};
    sv_nice(&xs.d0, &xs.d1, 8);
    struct sv_scale ys0 = {0, wmax * 1.08, 0, 0, false};
    sv_nice(&ys0.d0, &ys0.d1, 3);
    struct sv_unit wu = sv_unit_for('W', ys0.d1);
    char note[400], xt[64], yt[64];
    snprintf(note, sizeof note,
             "Whole-machine power (total of the energy sources) over time, one panel per model on the same axes%s.%s",
             run->baseline_w > 0 ? "; the dashed line is the idle baseline" : "",
             any_est ? " Where the source is the power model, the line is an estimate whose shape follows CPU "
                       "utilisation: flat lines at the same watts mean a busy CPU, not equal work."
                     : "");
    rp_html_fig_open(out, true, title, note);
    rp_html_svg_open(out, "timeline", W, H, title);
    snprintf(xt, sizeof xt, "time since the run started (%s)", tu.name);
    snprintf(yt, sizeof yt, "%s", wu.name);
    size_t row = 0;
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        if (m->nsamples < 1 || !m->sample_t || !m->sample_w) continue;
        double top = T + (double)row * (PANEL + GAP), bottom = top + PANEL;
        struct sv_scale ys = {ys0.d0, ys0.d1, bottom, top, false};
        rp_html_axis_y(out, &ys, wu, L, W - R, row == 0 ? yt : "");
        fprintf(out, "<line class=\"frame\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", L, bottom, W - R, bottom);
        if (run->baseline_w > 0) {
            double y = sv_map(&ys, run->baseline_w);
            fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#5a6473\" stroke-dasharray=\"4 4\"/>\n", L, y,
                    W - R, y);
        }
        fprintf(out, "<g class=\"line\" data-model=\"");
        esc(out, m->name);
        fprintf(out, "\" data-samples=\"%zu\" data-estimated=\"%s\"><title>", m->nsamples, m->estimated ? "true" : "false");
        esc(out, m->name);
        char a[32], b[32], origin[200];
        jp_format_energy(m->energy_j, a, sizeof a);
        jp_format_duration(m->duration_s, b, sizeof b);
        energy_origin(run, m, origin, sizeof origin);
        fprintf(out, "\n%s in %s (mean of the measured runs)\n%zu samples\n", a, b, m->nsamples);
        esc(out, origin);
        fputs("</title>\n", out);
        double t_end = m->sample_t[m->nsamples - 1] / tu.scale;
        double px = sv_map(&xs, t_end) - sv_map(&xs, 0);
        if (m->nsamples < 2 || px < 3) {
            /* shorter than a few pixels: a bar of its mean power, 3 px wide, so that it is seen */
            double w = m->duration_s > 0 && isfinite(m->energy_j) ? m->energy_j / m->duration_s : m->sample_w[0];
            double y = sv_map(&ys, w);
            fprintf(out, "<rect x=\"%d\" y=\"%.1f\" width=\"3\" height=\"%.1f\" fill=\"%s\"/>", L, y, fmax(bottom - y, 1),
                    sv_colour(i));
            char d[32];
            jp_format_duration(m->sample_t[m->nsamples - 1], d, sizeof d);
            fprintf(out, "<text class=\"faint\" x=\"%d\" y=\"%.1f\" dy=\".32em\">%s: too short to draw as a line</text>", L + 8,
                    y, d);
        } else {
            polyline(out, m, &xs, &ys, tu.scale, sv_colour(i));
        }
        fputs("</g>\n", out);
        /* the model's name and where its figure came from, beside its panel */
        fprintf(out, "<text class=\"lbl%s\" x=\"%d\" y=\"%.1f\" dy=\".32em\" fill=\"%s\">", (int)i == t->pick ? " strong" : "",
                W - R + 14, top + 14, sv_colour(i));
        rp_html_esc_cut(out, m->name, 28);
        if (m->status != JP_MODEL_OK) {
            fputs(" (", out);
            esc(out, jp_model_status_name(m->status));
            fputs(")", out);
        }
        fprintf(out, "</text><text class=\"faint small\" x=\"%d\" y=\"%.1f\" dy=\".32em\">%s</text>", W - R + 14, top + 34,
                m->estimated ? "estimate: power model," : "measured: counters");
        fprintf(out, "<text class=\"faint small\" x=\"%d\" y=\"%.1f\" dy=\".32em\">%s</text>\n", W - R + 14, top + 50,
                m->estimated ? "follows CPU utilisation" : "");
        row++;
    }
    rp_html_axis_x(out, &xs, (struct sv_unit){1, tu.name}, T, H - B, xt, true);
    fputs("</svg>\n</figure>\n", out);
}

