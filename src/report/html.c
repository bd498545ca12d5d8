/*
 * The HTML report: one self-contained page (no network, no external fonts or scripts) with inline SVG
 * charts drawn here: per task, energy per item against the score with the Pareto front, energy per
 * item by model, emissions of the projected volume by region, and the power timelines; the run's
 * metadata (loudly when figures are estimates) and the tables. Every string from the run is escaped.
 * A few lines of inline script turn the charts' <title> tooltips into styled ones on hover, and mark
 * how many charts were laid out (body data-charts-rendered) for the rendering test.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/internal.h"
#include "report/svg.h"
#include "util.h"

#define esc rp_html
#define HALF_W 560
#define FULL_W 1140
#define CHAR_W 6.6 /* mean width of a 12px label character, for placing labels */

static const char css[] =
    ":root{--ink:#1b2330;--muted:#5a6473;--line:#dde2ea;--bg:#f4f6f9;--card:#fff;--accent:#0072B2;"
    "--warn-bg:#fff3d1;--warn-line:#e6a700;--warn-ink:#5c4200}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,\"Segoe UI\","
    "Roboto,\"Helvetica Neue\",\"Liberation Sans\",\"DejaVu Sans\",Arial,sans-serif;"
    "-webkit-font-smoothing:antialiased}\n"
    "main{max-width:1220px;margin:0 auto;padding:36px 28px 56px}\n"
    "h1{font-size:30px;line-height:1.2;margin:0 0 6px;letter-spacing:-.015em}\n"
    "h2{font-size:22px;margin:0 0 4px;letter-spacing:-.01em}\n"
    "h3{font-size:15px;margin:0 0 2px}\n";
static const char css2[] =
    ".sub{color:var(--muted);margin:0 0 22px}\n"
    ".num,td.n,th.n{font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap}\n"
    ".banner{border:1px solid var(--warn-line);border-left:6px solid var(--warn-line);background:var(--warn-bg);"
    "color:var(--warn-ink);border-radius:8px;padding:14px 18px;margin:0 0 22px}\n"
    ".banner strong{font-size:17px;display:block;margin-bottom:2px;letter-spacing:.01em}\n"
    ".meta{display:grid;grid-template-columns:max-content 1fr;gap:5px 20px;background:var(--card);"
    "border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin:0 0 26px}\n"
    ".meta dt{color:var(--muted)}.meta dd{margin:0;overflow-wrap:anywhere}\n"
    ".task{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:26px 28px;"
    "margin:0 0 30px}\n"
    ".lead{font-size:19px;line-height:1.45;margin:6px 0 4px;max-width:62em}\n"
    ".lead b{color:var(--accent)}\n"
    ".more{color:var(--muted);margin:4px 0 18px;padding-left:20px}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:14px;margin:18px 0 24px}\n"
    ".card{border:1px solid var(--line);border-radius:10px;padding:12px 16px;background:#fbfcfd}\n"
    ".card .k{color:var(--muted);font-size:13px;text-transform:uppercase;letter-spacing:.06em}\n"
    ".card .v{font-size:25px;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.25;"
    "overflow-wrap:anywhere}\n"
    ".card .d{color:var(--muted);font-size:13.5px}\n"
    ".charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:22px 26px;margin:8px 0 24px}\n"
    ".charts figure.wide{grid-column:1/-1}\n"
    "@media (max-width:900px){.charts{grid-template-columns:1fr}}\n"
    "figure{margin:0}figcaption{margin:0 0 8px}figcaption .note{display:block;color:var(--muted);"
    "font-size:13px;font-weight:400}\n"
    "svg.chart{display:block;width:100%;height:auto;overflow:visible}\n"
    "svg text{font-family:inherit;font-size:12px;fill:var(--ink);font-variant-numeric:tabular-nums}\n"
    "svg .axis text{fill:var(--muted)}svg .title{font-size:12.5px;fill:var(--muted)}\n"
    "svg .grid{stroke:#e7ebf0;stroke-width:1}svg .frame{stroke:#b9c1cc;stroke-width:1}\n"
    "svg .lbl{font-size:12.5px;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}svg .strong{font-weight:700}svg .faint{fill:var(--muted)}svg .small{font-size:10.5px}\n"
    "svg .tag{font-size:11.5px;font-weight:700}\n"
    "svg [data-tip]:hover{opacity:.85}\n";
static const char css3[] =
    "table{border-collapse:collapse;width:100%;font-size:13.5px;margin:6px 0 4px}\n"
    "p.note{color:var(--muted);font-size:13px;margin:0 0 4px}\n"
    "th,td{padding:7px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}\n"
    "th{font-weight:600;color:var(--muted);font-size:12.5px;line-height:1.3;border-bottom:2px solid var(--line);"
    "vertical-align:bottom}\n"
    "th.n{white-space:normal}td:first-child{white-space:nowrap}\n"
    "td small,th small{display:block;color:var(--muted);font-size:12px;font-weight:400}\n"
    "tr.pick td{background:#eaf4fb}tr.failed td{color:var(--muted)}\n"
    ".sw{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:7px;vertical-align:0}\n"
    ".badge{display:inline-block;font-size:11px;font-weight:700;letter-spacing:.04em;text-transform:uppercase;"
    "border-radius:4px;padding:1px 6px;margin-left:6px;vertical-align:1px}\n"
    ".b-pick{background:var(--accent);color:#fff}.b-ref{background:#e4e8ee;color:var(--ink)}"
    ".b-est{background:var(--warn-bg);color:var(--warn-ink);border:1px solid var(--warn-line)}"
    ".b-fail{background:#fbe3d6;color:#7a2e00}\n"
    ".dots{letter-spacing:0;color:var(--accent);white-space:nowrap}.dots i{color:#cfd6df;font-style:normal}\n"
    ".err{color:#7a2e00;font-size:13px;overflow-wrap:anywhere}\n"
    ".failed-list{margin:10px 0 0;padding-left:20px}\n"
    "code{font-family:ui-monospace,\"DejaVu Sans Mono\",\"Liberation Mono\",monospace;font-size:13px;"
    "overflow-wrap:anywhere}\n"
    "footer{color:var(--muted);font-size:13px;margin-top:26px}\n"
    ".tip{position:fixed;z-index:10;pointer-events:none;background:#1b2330;color:#fff;padding:7px 10px;"
    "border-radius:6px;font-size:12.5px;line-height:1.45;white-space:pre;display:none;"
    "box-shadow:0 4px 14px rgba(0,0,0,.18)}\n";

/* Constant: nothing from the run is ever written into the script. */
static const char script[] =
    "(function(){\n"
    "var tip=document.createElement('div');tip.className='tip';document.body.appendChild(tip);\n"
    "Array.prototype.forEach.call(document.querySelectorAll('svg.chart title'),function(t){\n"
    "  var p=t.parentNode;p.setAttribute('data-tip',t.textContent);p.removeChild(t);});\n"
    "document.addEventListener('mousemove',function(e){\n"
    "  var el=e.target&&e.target.closest?e.target.closest('[data-tip]'):null;\n"
    "  if(!el){tip.style.display='none';return;}\n"
    "  tip.textContent=el.getAttribute('data-tip');tip.style.display='block';\n"
    "  var x=e.clientX+14,y=e.clientY+14;\n"
    "  if(x+tip.offsetWidth>window.innerWidth-8)x=e.clientX-tip.offsetWidth-14;\n"
    "  if(y+tip.offsetHeight>window.innerHeight-8)y=e.clientY-tip.offsetHeight-14;\n"
    "  tip.style.left=x+'px';tip.style.top=y+'px';});\n"
    "var n=0;Array.prototype.forEach.call(document.querySelectorAll('svg.chart'),function(s){\n"
    "  var b=s.getBBox();if(b.width>0&&b.height>0)n++;});\n"
    "document.body.setAttribute('data-charts-rendered',String(n));\n"
    "})();\n";

/* ---- small pieces ------------------------------------------------------------------------------- */

static const char *task_ref_name(const struct jp_bench_task *t)
{
    return (t->reference >= 0 && (size_t)t->reference < t->nmodels) ? t->models[t->reference].name : "the largest";
}

static const struct jp_bench_model *task_pick(const struct jp_bench_task *t)
{
    return (t->pick >= 0 && (size_t)t->pick < t->nmodels && rp_usable(&t->models[t->pick])) ? &t->models[t->pick]
                                                                                            : NULL;
}

static const struct jp_bench_model *task_ref(const struct jp_bench_task *t)
{
    return (t->reference >= 0 && (size_t)t->reference < t->nmodels && rp_usable(&t->models[t->reference]))
               ? &t->models[t->reference]
               : NULL;
}

/* Text cut to cols characters, escaped. */
static void esc_cut(FILE *out, const char *s, size_t cols)
{
    char buf[256];
    rp_cut(buf, sizeof buf, s, cols);
    esc(out, buf);
}

static void svg_open(FILE *out, const char *kind, int w, int h, const char *aria)
{
    fprintf(out, "<svg class=\"chart\" data-chart=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                 "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
            kind, w, h, w, h);
    esc(out, aria);
    fputs("\">\n", out);
}

/* Horizontal axis: grid lines from top to bottom, labels below bottom, title under them. */
static void axis_x(FILE *out, const struct sv_scale *s, struct sv_unit u, double top, double bottom, const char *title,
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
static void axis_y(FILE *out, const struct sv_scale *s, struct sv_unit u, double left, double right, const char *title)
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

static void fig_open(FILE *out, bool wide, const char *title, const char *note)
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

static void fig_empty(FILE *out, bool wide, const char *title, const char *why)
{
    fig_open(out, wide, title, why);
    fputs("</figure>\n", out);
}

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
        rp_format_score(m->score, a, sizeof a);
        fputc('\n', out);
        esc(out, rp_metric_label(t->metric));
        fputc(' ', out);
        esc(out, a);
    }
    if (!m->is_reference && isfinite(m->saving_pct)) {
        rp_format_saving(m, a, sizeof a);
        fprintf(out, "\nsaving %s against ", a);
        esc(out, task_ref_name(t));
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

static void chart_scatter(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
{
    const char *label = rp_metric_label(t->metric);
    char title[160];
    snprintf(title, sizeof title, "Energy per item against %s", label);
    size_t idx[64], n = 0;
    for (size_t i = 0; i < t->nmodels && n < 64; i++)
        if (rp_usable(&t->models[i]) && isfinite(t->models[i].score)) idx[n++] = i;
    if (n == 0) {
        fig_empty(out, false, title, "No model of this task was scored, so there is nothing to plot against energy.");
        return;
    }
    sort_by_energy(idx, n, t);
    double emin = INFINITY, emax = 0, smin = INFINITY, smax = -INFINITY;
    for (size_t k = 0; k < n; k++) {
        const struct jp_bench_model *m = &t->models[idx[k]];
        emin = fmin(emin, rp_cmp(m));
        emax = fmax(emax, rp_cmp(m));
        smin = fmin(smin, m->score * 100);
        smax = fmax(smax, m->score * 100);
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
    double ylo = fmax(0, smin - pad), yhi = fmin(100, smax + pad);
    sv_nice(&ylo, &yhi, 5);
    ys = (struct sv_scale){fmax(0, ylo) / 100, fmin(100, yhi) / 100, H - B, T, false};
    struct sv_unit eu = sv_unit_for('J', xs.log ? sqrt(emin * emax) : emax);
    struct sv_unit pu = {0.01, "%"};
    char note[256], xt[96], yt[96];
    snprintf(note, sizeof note,
             "Lower left is better: less energy, higher %s. The step line is the Pareto front; the ringed point is "
             "the pick.",
             label);
    fig_open(out, false, title, note);
    snprintf(xt, sizeof xt, "energy per item (%s%s)", eu.name, xs.log ? ", log scale" : "");
    snprintf(yt, sizeof yt, "%s (%%)", label);
    svg_open(out, "scatter", W, H, title);
    /* the y scale maps fractions; its labels show percent */
    axis_y(out, &ys, pu, L, W - R, yt);
    axis_x(out, &xs, eu, T, H - B, xt, true);

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
        fprintf(out, "<path d=\"%sV%.1fH%.1fZ\" fill=\"#eef2f7\" opacity=\"0.8\"/>\n", path, (double)(H - B), x0);
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

static void chart_bars(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
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
        fig_empty(out, false, title, "No model of this task completed.");
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
    fig_open(out, false, title, note);
    snprintf(xt, sizeof xt, "energy per item (%s%s)", eu.name, xs.log ? ", log scale" : "");
    svg_open(out, "bars", W, H, title);
    axis_x(out, &xs, eu, T, H - B, xt, true);
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        const struct jp_bench_model *m = &t->models[i];
        double bh = ROW >= 48 ? 26 : ROW - 12, y = T + (double)k * ROW + (ROW - bh) / 2, cy = y + bh / 2;
        bool pick = (int)i == t->pick;
        fprintf(out, "<text class=\"lbl%s%s\" x=\"%d\" y=\"%.1f\" dy=\".32em\" text-anchor=\"end\">",
                pick ? " strong" : "", k >= nu ? " faint" : "", L, cy);
        esc_cut(out, m->name, 22);
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

static void chart_regions(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t,
                          const struct rp_regions *rg)
{
    char title[160], count[64], note[512];
    rp_format_count(run->project_n, count, sizeof count);
    snprintf(title, sizeof title, "CO2e of %s items by region", count);
    const struct jp_bench_model *pick = task_pick(t), *ref = task_ref(t);
    if (!pick || rg->n == 0) {
        fig_empty(out, true, title, !pick ? "No model of this task completed." : "No regional intensity figures.");
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
             "sorted from the cleanest grid to the dirtiest. This run's region is in bold.",
             rg->nseed, years, run->pue > 0 ? run->pue : 1.0,
             rg->missing ? " (regions without a figure that year are left out)" : "");
    fig_open(out, true, title, note);
    svg_open(out, "regions", W, H, title);
    char xt[96];
    snprintf(xt, sizeof xt, "grams of CO2e for %s items (%s)", count, gu.name);
    axis_x(out, &xs, gu, T - 6, H - B, xt, true);
    /* legend */
    fprintf(out, "<g class=\"legend\"><rect x=\"%d\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>"
                 "<text x=\"%d\" y=\"16\">",
            L + 10, sv_colour((size_t)t->pick), L + 28);
    esc_cut(out, pick->name, 30);
    fputs(" (pick)</text>", out);
    if (ref) {
        fprintf(out, "<rect x=\"%d\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/><text x=\"%d\" y=\"16\">",
                L + 260, sv_colour((size_t)t->reference), L + 278);
        esc_cut(out, ref->name, 30);
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
            esc_cut(out, r->name, 26);
        } else if (*r->name) {
            esc_cut(out, r->name, 18);
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
static void chart_timeline(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
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
        fig_empty(out, true, title, "No power timeline was recorded for this task.");
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
    fig_open(out, true, title, note);
    svg_open(out, "timeline", W, H, title);
    snprintf(xt, sizeof xt, "time since the run started (%s)", tu.name);
    snprintf(yt, sizeof yt, "%s", wu.name);
    size_t row = 0;
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        if (m->nsamples < 1 || !m->sample_t || !m->sample_w) continue;
        double top = T + (double)row * (PANEL + GAP), bottom = top + PANEL;
        struct sv_scale ys = {ys0.d0, ys0.d1, bottom, top, false};
        axis_y(out, &ys, wu, L, W - R, row == 0 ? yt : "");
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
        esc_cut(out, m->name, 28);
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
    axis_x(out, &xs, (struct sv_unit){1, tu.name}, T, H - B, xt, true);
    fputs("</svg>\n</figure>\n", out);
}

/* ---- the page ----------------------------------------------------------------------------------- */

static void meta_row(FILE *out, const char *key, const char *value, bool code)
{
    if (!value || !*value) return;
    fprintf(out, "<dt>%s</dt><dd>%s", key, code ? "<code>" : "");
    esc(out, value);
    fprintf(out, "%s</dd>\n", code ? "</code>" : "");
}

static void rating_dots(FILE *out, int r)
{
    fputs("<span class=\"dots\" title=\"rating ", out);
    fprintf(out, "%d of 5\">", r);
    for (int k = 1; k <= 5; k++) fputs(k <= r ? "●" : "<i>●</i>", out);
    fputs("</span>", out);
}

/* "289 us" -> "289 µs" for the page */
static const char *micro(char *s)
{
    size_t n = strlen(s);
    if (n >= 3 && !strcmp(s + n - 3, " us") && n + 2 < 64) strcpy(s + n - 2, "µs");
    return s;
}

static void td_num(FILE *out, const char *s) { fprintf(out, "<td class=\"n\">%s</td>", s); }

/* a figure with a smaller one under it */
static void td_two(FILE *out, const char *s, const char *sub)
{
    fprintf(out, "<td class=\"n\">%s<small>%s</small></td>", s, sub);
}

static void models_table(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t)
{
    const char *label = rp_metric_label(t->metric);
    char b[128], c[64];
    /* extra metrics: every metric other than the main one, in order of first appearance */
    const char *extra[16];
    size_t nx = 0;
    bool load = false;
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        if (m->load_j > 0) load = true;
        for (size_t k = 0; k < m->nmetrics && k < JP_BENCH_MAX_METRICS; k++) {
            if (!strcmp(m->metrics[k].name, t->metric)) continue;
            size_t j = 0;
            while (j < nx && strcmp(extra[j], m->metrics[k].name)) j++;
            if (j == nx && nx < 16) extra[nx++] = m->metrics[k].name;
        }
    }
    /* per-model "estimated" marks only when some figures are measured and some not: else the banner says it */
    size_t nest = 0, nok = 0;
    for (size_t i = 0; i < t->nmodels; i++)
        if (rp_usable(&t->models[i])) {
            nok++;
            nest += t->models[i].estimated;
        }
    bool mixed = nest > 0 && nest < nok;
    rp_format_count(run->project_n, c, sizeof c);
    if (t->reference >= 0 && (size_t)t->reference < t->nmodels) {
        fputs("<p class=\"note\">Savings and changes are against <b>", out);
        esc(out, t->models[t->reference].name);
        fputs("</b>, the model with the most energy per item. Ratings: 5 dots for the least energy per item of the "
              "task, 1 for the most (log scale).</p>\n",
              out);
    }
    fprintf(out, "<div style=\"overflow-x:auto\"><table class=\"models\">\n<thead><tr><th>model</th><th class=\"n\">energy / "
          "item, %s<small>95%% interval</small></th><th class=\"n\">whole machine / item<small>Wh / 1,000 items</small></th>"
          "<th class=\"n\">time / item<small>items/s</small></th>", rp_attributed(t) ? "attributed" : "whole machine");
    if (load) fputs("<th class=\"n\">load</th>", out);
    fputs("<th class=\"n\">", out);
    esc(out, label);
    fputs("</th>", out);
    for (size_t j = 0; j < nx; j++) {
        fputs("<th class=\"n\">", out);
        esc(out, rp_metric_label(extra[j]));
        fputs("</th>", out);
    }
    fputs("<th class=\"n\">saving</th><th class=\"n\">", out);
    esc(out, label);
    fprintf(out, " change</th><th>rating</th><th>Pareto front</th><th class=\"n\">%s items<small>CO2e in ", c);
    esc(out, run->region);
    fputs("</small></th></tr></thead>\n<tbody>\n", out);
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        bool ok = rp_usable(m), pick = (int)i == t->pick;
        fprintf(out, "<tr class=\"%s\" data-model=\"", pick ? "pick" : ok ? "" : "failed");
        esc(out, m->name);
        fprintf(out, "\"><td><span class=\"sw\" style=\"background:%s\"></span>", ok ? sv_colour(i) : "#c4cbd4");
        esc(out, m->name);
        if (pick) fputs("<span class=\"badge b-pick\">pick</span>", out);
        if (m->is_reference) fputs("<span class=\"badge b-ref\">largest</span>", out);
        if (m->estimated && mixed) fputs("<span class=\"badge b-est\">estimated</span>", out);
        if (!ok) {
            fputs("<span class=\"badge b-fail\">", out);
            esc(out, jp_model_status_name(m->status));
            fputs("</span>", out);
        }
        fputs("</td>", out);
        int span = 9 + (load ? 1 : 0) + (int)nx;
        if (!ok) {
            fprintf(out, "<td colspan=\"%d\" class=\"err\">", span);
            esc(out, *m->error ? m->error : "no energy figure");
            fputs("</td></tr>\n", out);
            continue;
        }
        char sub[64], n3[32];
        jp_format_energy(rp_cmp(m), b, sizeof b);
        rp_format_energy_ci(m, n3, sizeof n3);
        snprintf(sub, sizeof sub, "95%%: %s", n3);
        td_two(out, b, sub);
        jp_format_energy(m->j_per_item, b, sizeof b);
        rp_format_wh(m->wh_per_1000, n3, sizeof n3);
        snprintf(sub, sizeof sub, "%s / 1,000", n3);
        td_two(out, b, sub);
        rp_format_latency(m->latency_s, b, sizeof b);
        rp_format_sig3(m->items_per_s, n3, sizeof n3);
        snprintf(sub, sizeof sub, "%s /s", n3);
        td_two(out, micro(b), sub);
        if (load) {
            jp_format_energy(m->load_j, b, sizeof b);
            td_num(out, b);
        }
        rp_format_score(m->score, b, sizeof b);
        td_num(out, b);
        for (size_t j = 0; j < nx; j++) {
            rp_format_score(jp_bench_metric(m, extra[j]), b, sizeof b);
            td_num(out, b);
        }
        if (m->is_reference) {
            td_num(out, "&ndash;");
            td_num(out, "&ndash;");
        } else {
            rp_format_saving(m, b, sizeof b);
            td_num(out, b);
            rp_format_points(m->score_delta, b, sizeof b);
            td_num(out, b);
        }
        fputs("<td>", out);
        rating_dots(out, m->rating);
        fprintf(out, "</td><td>%s</td>", m->pareto ? "yes" : "");
        rp_format_kwh(m->proj_kwh, b, sizeof b);
        jp_format_mass(m->proj_g, n3, sizeof n3);
        snprintf(sub, sizeof sub, "%s CO2e", n3);
        td_two(out, b, sub);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table></div>\n", out);
}

static void card(FILE *out, const char *k, const char *v, const char *d)
{
    fputs("<div class=\"card\"><div class=\"k\">", out);
    esc(out, k);
    fputs("</div><div class=\"v\">", out);
    esc(out, v);
    fputs("</div><div class=\"d\">", out);
    esc(out, d);
    fputs("</div></div>\n", out);
}

static void write_task(FILE *out, const struct jp_bench_run *run, const struct jp_bench_task *t, size_t ti,
                       const struct rp_regions *rg)
{
    char a[128], b[128], c[512];
    const char *label = rp_metric_label(t->metric);
    fprintf(out, "<section class=\"task\" id=\"task-%zu\" data-task=\"", ti + 1);
    esc(out, t->name);
    fputs("\">\n<h2>", out);
    esc(out, t->name);
    fputs("</h2>\n<p class=\"sub\">", out);
    rp_format_count((double)t->n_time, a, sizeof a);
    rp_format_count((double)t->n_score, b, sizeof b);
    fprintf(out, "%zu model%s; %s items timed, %s scored", t->nmodels, t->nmodels == 1 ? "" : "s", a, b);
    if (rp_task_scored(t)) {
        fputs("; main metric: ", out);
        esc(out, label);
    }
    if (*t->items) {
        fputs("; items <code>", out);
        esc(out, t->items);
        fputs("</code>", out);
    }
    fputs("</p>\n", out);

    /* the conclusions: the first sentence as the lead, the rest below it */
    char *text = malloc(8192);
    if (text) {
        jp_report_conclusions(run, t, text, 8192);
        char *first = text;
        if (!strncmp(first, "Energy compared:", 16)) {
            /* which energy is compared and how the intervals were made: a note above the finding */
            char *e = strchr(first, '\n');
            if (e) *e = '\0';
            fputs("<p class=\"note basis\">", out);
            esc(out, first);
            fputs("</p>\n", out);
            first = e ? e + 1 : first + strlen(first);
        }
        char *nl = strchr(first, '\n');
        if (nl) *nl = '\0';
        fputs("<p class=\"lead\">", out);
        esc(out, first);
        fputs("</p>\n", out);
        if (nl && nl[1]) {
            fputs("<ul class=\"more\">\n", out);
            for (char *line = nl + 1; line && *line;) {
                char *e = strchr(line, '\n');
                if (e) *e = '\0';
                fputs("<li>", out);
                esc(out, line);
                fputs("</li>\n", out);
                line = e ? e + 1 : NULL;
            }
            fputs("</ul>\n", out);
        }
        free(text);
    }

    const struct jp_bench_model *pick = task_pick(t), *ref = task_ref(t);
    if (pick) {
        fputs("<div class=\"cards\">\n", out);
        if (pick == ref) snprintf(c, sizeof c, "no model using less energy is as accurate");
        else if (isfinite(pick->score)) {
            char tol[32];
            snprintf(c, sizeof c, "least energy within %s of the best %s", rp_tolerance_words(t, tol, sizeof tol), label);
        }
        else snprintf(c, sizeof c, "least energy per item");
        card(out, "pick", pick->name, c);
        jp_format_energy(rp_cmp(pick), a, sizeof a);
        if (ref && ref != pick) {
            rp_format_saving(pick, b, sizeof b);
            if (isfinite(pick->saving_lo) && !pick->saving_significant) snprintf(c, sizeof c, "%s against %.60s", b, ref->name);
            else snprintf(c, sizeof c, "%s less than %.60s", b, ref->name);
        } else {
            snprintf(c, sizeof c, "per item");
        }
        card(out, "energy per item", a, c);
        if (isfinite(pick->score)) {
            rp_format_score(pick->score, a, sizeof a);
            if (ref && ref != pick) {
                rp_format_points(pick->score_delta, b, sizeof b);
                snprintf(c, sizeof c, "%s against %.60s", b, ref->name);
            } else {
                snprintf(c, sizeof c, "the best of the task");
            }
            card(out, label, a, c);
        }
        if (isfinite(pick->proj_kwh)) {
            rp_format_kwh(pick->proj_kwh, a, sizeof a);
            jp_format_mass(pick->proj_g, b, sizeof b);
            char n[64];
            rp_format_count(run->project_n, n, sizeof n);
            snprintf(c, sizeof c, "%s CO2e in %s for %s items", b, run->region, n);
            card(out, "projected energy", a, c);
        }
        fputs("</div>\n", out);
    }

    fputs("<div class=\"charts\">\n", out);
    chart_scatter(out, run, t);
    chart_bars(out, run, t);
    chart_regions(out, run, t, rg);
    chart_timeline(out, run, t);
    fputs("</div>\n<h3>Models</h3>\n", out);
    models_table(out, run, t);
    size_t nfailed = rp_failed_count(t);
    if (nfailed) {
        fprintf(out, "<h3 style=\"margin-top:16px\">Did not finish (%zu)</h3>\n<ul class=\"failed-list\">\n", nfailed);
        for (size_t i = 0; i < t->nmodels; i++) {
            const struct jp_bench_model *m = &t->models[i];
            if (m->status == JP_MODEL_OK) continue;
            fputs("<li><b>", out);
            esc(out, m->name);
            fputs("</b> ", out);
            esc(out, jp_model_status_name(m->status));
            if (*m->error) {
                fputs(": <span class=\"err\">", out);
                esc(out, m->error);
                fputs("</span>", out);
            }
            if (*m->command) {
                fputs("<br><code>", out);
                esc(out, m->command);
                fputs("</code>", out);
            }
            fputs("</li>\n", out);
        }
        fputs("</ul>\n", out);
    }
    fputs("</section>\n", out);
}

int jp_report_html(FILE *out, const struct jp_bench_run *run)
{
    char a[640], b[128];
    size_t nmodels = 0;
    for (size_t t = 0; t < run->ntasks; t++) nmodels += run->tasks[t].nmodels;
    struct rp_regions *rg = malloc(sizeof *rg);
    if (!rg) return jp_fail(JP_ERR_NOMEM, "writing the HTML report: out of memory");
    rp_regions_for(run, rg);

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"jouleprint " JP_VERSION "\">\n",
          out);
    fprintf(out, "<title>jouleprint report: run %ld", run->id);
    for (size_t t = 0; t < run->ntasks && t < 4; t++) {
        fputs(t ? ", " : " (", out);
        esc(out, run->tasks[t].name);
        if (t + 1 == run->ntasks || t == 3) fputs(run->ntasks > 4 ? ", ...)" : ")", out);
    }
    fprintf(out, "</title>\n<style>\n%s%s%s</style>\n</head>\n<body>\n<main>\n", css, css2, css3);
    fprintf(out, "<h1>Energy and accuracy of %zu model%s", nmodels, nmodels == 1 ? "" : "s");
    if (run->ntasks == 1) {
        fputs(": ", out);
        esc(out, run->tasks[0].name);
    } else {
        fprintf(out, " on %zu tasks", run->ntasks);
    }
    fprintf(out, "</h1>\n<p class=\"sub\">jouleprint run %ld", run->id);
    fputs(", ", out);
    esc(out, jp_run_status_name(run->status));
    if (*run->started_at) {
        fputs(", ", out);
        esc(out, run->started_at);
    }
    if (*run->spec_path) {
        fputs(", spec <code>", out);
        esc(out, run->spec_path);
        fputs("</code>", out);
    }
    fputs("</p>\n", out);
    if (run->estimated) {
        fputs("<div class=\"banner\" id=\"estimated\"><strong>These figures are estimates</strong>No energy counter could "
              "be read for (part of) this run, so its energy and carbon figures come from jouleprint's power model "
              "(sources: ",
              out);
        esc(out, run->sources);
        fputs("). They compare models run on the same machine well; do not quote them as measured energy.</div>\n", out);
    }
    if (run->status == JP_RUN_INTERRUPTED)
        fputs("<div class=\"banner\"><strong>Interrupted run</strong>The run was stopped before every model finished; "
              "what finished is shown.</div>\n",
              out);

    fputs("<dl class=\"meta\">\n", out);
    snprintf(a, sizeof a, "%s%s%s", run->started_at, *run->finished_at ? " to " : "", run->finished_at);
    meta_row(out, "time (UTC)", a, false);
    meta_row(out, "machine", run->machine, false);
    snprintf(a, sizeof a, "%s (%s)", run->sources, run->estimated ? "ESTIMATED" : "measured");
    meta_row(out, "energy sources", a, false);
    snprintf(a, sizeof a, "%s: %.1f gCO2e/kWh, PUE %.2f", run->region, run->g_per_kwh, run->pue > 0 ? run->pue : 1.0);
    meta_row(out, "carbon", a, false);
    meta_row(out, "intensity source", run->intensity_source, false);
    if (run->baseline_w > 0) {
        jp_format_power(run->baseline_w, b, sizeof b);
        snprintf(a, sizeof a, "%s, measured before the session", b);
        meta_row(out, "idle baseline", a, false);
    }
    rp_format_count(run->project_n, b, sizeof b);
    snprintf(a, sizeof a, "%s items per model", b);
    meta_row(out, "projection", a, false);
    fputs("</dl>\n", out);

    for (size_t t = 0; t < run->ntasks; t++) write_task(out, run, &run->tasks[t], t, rg);
    if (!run->ntasks) fputs("<p>This run has no tasks.</p>\n", out);
    fprintf(out,
            "<footer>Generated by jouleprint %s. Energy per item is the inference phase's energy divided by the items "
            "timed; savings are against the task's largest model (the most energy per item); the pick is the model "
            "with the least energy per item among those within the task's tolerance of the best score. Palette: Okabe "
            "&amp; Ito, readable with colour-blindness. This page is self-contained and opens offline.</footer>\n",
            JP_VERSION);
    fprintf(out, "</main>\n<script>\n%s</script>\n</body>\n</html>\n", script);
    free(rg);
    return rp_finish(out, "HTML");
}
