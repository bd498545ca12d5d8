/* The HTML report's strip of sample images: for a task whose models made images (`builtin: generate`,
 * scored by fid or adherence), one row per model of the first images it made, as a PNG embedded in the
 * page (a data: URI, base64), so that the page still opens offline and alone. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jouleprint/workloads.h"
#include "report/internal.h"

#define SCALE 3 /* 28-pixel images are shown at 84 pixels, without smoothing */
#define GAP 2

/* RFC 4648 base64: its alphabet (A-Z a-z 0-9 + / =) needs no escaping in an HTML attribute. */
static void base64(FILE *out, const unsigned char *b, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        char q[4] = {abc[v >> 18], abc[(v >> 12) & 63], abc[(v >> 6) & 63], abc[v & 63]};
        fwrite(q, 1, 4, out);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)b[i] << 16;
        char q[4] = {abc[v >> 18], abc[(v >> 12) & 63], '=', '='};
        fwrite(q, 1, 4, out);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8;
        char q[4] = {abc[v >> 18], abc[(v >> 12) & 63], abc[(v >> 6) & 63], '='};
        fwrite(q, 1, 4, out);
    }
}

static bool has_images(const struct jp_bench_model *m)
{
    return m->images && m->nimages > 0 && m->nimages <= JP_BENCH_MAX_IMAGES && m->image_side > 0 && m->image_side <= 256;
}

/* The model's images side by side on white, GAP pixels around each, as one PNG; 0 on success. */
static int strip_png(const struct jp_bench_model *m, unsigned char **png, size_t *len, int *w, int *h)
{
    int side = m->image_side, n = m->nimages;
    *w = n * (side + GAP) + GAP;
    *h = side + 2 * GAP;
    uint8_t *px = malloc((size_t)*w * (size_t)*h);
    if (!px) return -1;
    memset(px, 255, (size_t)*w * (size_t)*h);
    for (int i = 0; i < n; i++)
        for (int y = 0; y < side; y++)
            memcpy(px + (size_t)(GAP + y) * (size_t)*w + (size_t)(GAP + i * (side + GAP)),
                   m->images + ((size_t)i * (size_t)side + (size_t)y) * (size_t)side, (size_t)side);
    int rc = jp_png_encode_grey(px, *w, *h, png, len);
    free(px);
    return rc == JP_OK ? 0 : -1;
}

void rp_html_samples(FILE *out, const struct jp_bench_task *t)
{
    size_t with = 0;
    for (size_t i = 0; i < t->nmodels; i++) with += has_images(&t->models[i]);
    if (!with) return;
    bool generate = !strcmp(t->scorer, "fid") || !strcmp(t->scorer, "adherence");
    fputs("<figure class=\"wide samples\"><figcaption><h3>Sample images</h3><span class=\"note\">", out);
    rp_html(out, generate ? "The first images each model made, left to right: item i is prompted with class i mod 10 "
                            "(T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot), "
                            "from the same starting noise for every model. Shown at 3x, unsmoothed."
                          : "The first images each model made, left to right. Shown at 3x, unsmoothed.");
    fputs("</span></figcaption>\n<table class=\"samples\">\n", out);
    for (size_t i = 0; i < t->nmodels; i++) {
        const struct jp_bench_model *m = &t->models[i];
        if (!has_images(m)) continue;
        unsigned char *png = NULL;
        size_t len = 0;
        int w, h;
        fputs("<tr><th scope=\"row\" style=\"text-align:left;padding-right:12px\">", out);
        rp_html(out, m->name);
        fputs("</th><td>", out);
        if (strip_png(m, &png, &len, &w, &h) != 0) {
            fputs("(the images could not be encoded)</td></tr>\n", out);
            continue;
        }
        fprintf(out, "<img width=\"%d\" height=\"%d\" style=\"image-rendering:pixelated\" alt=\"", w * SCALE, h * SCALE);
        rp_html(out, m->name);
        fprintf(out, ": %d sample images\" src=\"data:image/png;base64,", m->nimages);
        base64(out, png, len);
        fputs("\"></td></tr>\n", out);
        free(png);
    }
    fputs("</table>\n</figure>\n", out);
}
