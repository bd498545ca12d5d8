/* OCR images: 8-bit grey PNG reading and writing (libpng), and rendering one text line with FreeType,
 * then blur and noise. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include "jouleprint/workloads.h"
#include "workload/ocr.h"

#define JP_PI 3.14159265358979323846

void jp_ocr_image_free(jp_ocr_image *img)
{
    if (!img) return;
    free(img->pixels);
    img->pixels = NULL;
    img->width = img->height = 0;
}

/* ---- PNG ---- */

struct png_err {
    char msg[200];
};

static void on_png_error(png_structp png, png_const_charp msg)
{
    struct png_err *e = png_get_error_ptr(png);
    if (e) snprintf(e->msg, sizeof e->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Writes img as an 8-bit grey PNG to f (left open); name is for messages. */
static int png_write_stream(FILE *f, const char *name, const jp_ocr_image *img)
{
    struct png_err err = {""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        return jp_fail(JP_ERR_NOMEM, "%s: out of memory", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return jp_fail(JP_ERR_IO, "%s: %s", name, err.msg);
    }
    png_init_io(png, f);
    png_set_compression_level(png, 9);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img->height; y++) png_write_row(png, img->pixels + (size_t)y * (size_t)img->width);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return JP_OK;
}

int jp_ocr_png_write(const char *path, const jp_ocr_image *img)
{
    if (!path || !img || !img->pixels || img->width <= 0 || img->height <= 0)
        return jp_fail(JP_ERR_INVAL, "jp_ocr_png_write: bad arguments");
    FILE *f = fopen(path, "wb");
    if (!f) return jp_fail(errno == EACCES ? JP_ERR_PERM : JP_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    int rc = png_write_stream(f, path, img);
    if (fclose(f) != 0 && rc == JP_OK) rc = jp_fail(JP_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return rc;
}

int jp_png_encode_grey(const uint8_t *pixels, int width, int height, unsigned char **out, size_t *len)
{
    if (!pixels || !out || !len || width <= 0 || height <= 0 || width > 100000 || height > 100000)
        return jp_fail(JP_ERR_INVAL, "jp_png_encode_grey: bad arguments");
    *out = NULL;
    *len = 0;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return jp_fail(JP_ERR_NOMEM, "out of memory encoding a PNG");
    jp_ocr_image img = {width, height, (uint8_t *)(uintptr_t)pixels};
    int rc = png_write_stream(f, "the PNG in memory", &img);
    if (fclose(f) != 0 && rc == JP_OK) rc = jp_fail(JP_ERR_NOMEM, "out of memory encoding a PNG");
    if (rc != JP_OK) {
        free(buf);
        return rc;
    }
    *out = (unsigned char *)buf;
    *len = n;
    return JP_OK;
}

int jp_ocr_png_read(const char *path, jp_ocr_image *img)
{
    if (!path || !img) return jp_fail(JP_ERR_INVAL, "jp_ocr_png_read: bad arguments");
    img->pixels = NULL;
    img->width = img->height = 0;
    int orc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) return orc;
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return jp_fail(JP_ERR_PARSE, "%s: not a PNG file", path);
    }
    struct png_err err = {""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
    }
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        free(pixels);
        free(rows);
        return jp_fail(JP_ERR_PARSE, "%s: %s", path, err.msg);
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, 100000, 100000);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    /* a text line, checked before anything its size is allocated: a small file can declare 40000 x
     * 40000 pixels (a "PNG bomb") */
    if (w > JP_OCR_MAX_LINE_WIDTH || h > JP_OCR_MAX_LINE_HEIGHT) {
        char why[160];
        snprintf(why, sizeof why, "%lux%lu pixels: a text line image must be at most %d wide and %d high",
                 (unsigned long)w, (unsigned long)h, JP_OCR_MAX_LINE_WIDTH, JP_OCR_MAX_LINE_HEIGHT);
        png_error(png, why);
    }
    int type = png_get_color_type(png, info);
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (type == PNG_COLOR_TYPE_RGB || type == PNG_COLOR_TYPE_RGB_ALPHA || type == PNG_COLOR_TYPE_PALETTE)
        png_set_rgb_to_gray_fixed(png, 1, -1, -1);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != w) png_error(png, "unsupported pixel format");
    pixels = malloc((size_t)w * h);
    rows = malloc(h * sizeof *rows);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * w;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(rows);
    img->pixels = pixels;
    img->width = (int)w;
    img->height = (int)h;
    return JP_OK;
}

/* ---- fonts ---- */

static const struct font {
    const char *name, *file;
} fonts[] = {
    {"DejaVuSans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"},
    {"DejaVuSans-Bold", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"},
    {"DejaVuSerif", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"},
    {"DejaVuSansMono", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"},
    {"LiberationSans", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"},
    {"LiberationSans-Bold", "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"},
    {"LiberationSerif", "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"},
    {"LiberationSerif-Italic", "/usr/share/fonts/truetype/liberation/LiberationSerif-Italic.ttf"},
    {"LiberationMono", "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"},
    {"FreeSans", "/usr/share/fonts/truetype/freefont/FreeSans.ttf"},
    {"FreeSerif", "/usr/share/fonts/truetype/freefont/FreeSerif.ttf"},
    {"FreeMono", "/usr/share/fonts/truetype/freefont/FreeMono.ttf"},
};

const char *jp_ocr_font_at(size_t i, const char **file)
{
    if (i >= sizeof fonts / sizeof *fonts) return NULL;
    if (file) *file = fonts[i].file;
    return fonts[i].name;
}

static const struct font *font_find(const char *name)
{
    for (size_t i = 0; i < sizeof fonts / sizeof *fonts; i++)
        if (!strcmp(fonts[i].name, name)) return &fonts[i];
    return NULL;
}

/* ---- rendering ---- */

static void gaussian_blur(float *v, int w, int h, double sigma)
{
    int r = (int)ceil(3 * sigma);
    if (r < 1) return;
    float *k = malloc((size_t)(2 * r + 1) * sizeof *k);
    float *tmp = malloc((size_t)w * (size_t)h * sizeof *tmp);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return;
    }
    double sum = 0;
    for (int i = -r; i <= r; i++) sum += k[i + r] = (float)exp(-(double)(i * i) / (2 * sigma * sigma));
    for (int i = 0; i <= 2 * r; i++) k[i] = (float)(k[i] / sum);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = 0;
            for (int i = -r; i <= r; i++) {
                int xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
                s += k[i + r] * v[(size_t)y * (size_t)w + (size_t)xx];
            }
            tmp[(size_t)y * (size_t)w + (size_t)x] = s;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = 0;
            for (int i = -r; i <= r; i++) {
                int yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
                s += k[i + r] * tmp[(size_t)yy * (size_t)w + (size_t)x];
            }
            v[(size_t)y * (size_t)w + (size_t)x] = s;
        }
    free(k);
    free(tmp);
}

static const char *ft_error(FT_Error e)
{
    const char *s = FT_Error_String(e);
    return s ? s : "FreeType error";
}

int jp_ocr_render(const char *text, const jp_ocr_style *st, uint64_t seed, jp_ocr_image *out)
{
    if (!text || !st || !out) return jp_fail(JP_ERR_INVAL, "jp_ocr_render: bad arguments");
    out->pixels = NULL;
    out->width = out->height = 0;
    if (!(st->size_px >= 4 && st->size_px <= 400) || st->fg < 0 || st->fg > 255 || st->bg < 0 || st->bg > 255 ||
        !(st->blur >= 0 && st->blur <= 20) || !(st->noise >= 0 && st->noise <= 255))
        return jp_fail(JP_ERR_RANGE, "jp_ocr_render: style out of range (size 4..400 px, grey 0..255, blur 0..20, "
                                     "noise 0..255)");
    const struct font *fd = font_find(st->font);
    if (!fd) return jp_fail(JP_ERR_NOTFOUND, "unknown font '%s'", st->font);
    size_t ncp;
    uint32_t *cp = jp_utf8_decode(text, &ncp);
    if (!cp) return jp_fail(JP_ERR_NOMEM, "out of memory");
    FT_Library lib;
    FT_Face face;
    FT_Error fe = FT_Init_FreeType(&lib);
    if (fe) {
        free(cp);
        return jp_fail(JP_ERR_IO, "FreeType: %s", ft_error(fe));
    }
    if ((fe = FT_New_Face(lib, fd->file, 0, &face)) != 0) {
        free(cp);
        FT_Done_FreeType(lib);
        return jp_fail(JP_ERR_NOTFOUND,
                       "%s: cannot open font %s (%s): install the fonts with scripts/bootstrap (Debian "
                       "fonts-dejavu-core, fonts-liberation, fonts-freefont-ttf)",
                       fd->file, fd->name, ft_error(fe));
    }
    int rc = JP_OK;
    float *canvas = NULL;
    if ((fe = FT_Set_Char_Size(face, 0, (FT_F26Dot6)lround(st->size_px * 64), 72, 72)) != 0) {
        rc = jp_fail(JP_ERR_IO, "%s: cannot set size %.1f px: %s", fd->name, st->size_px, ft_error(fe));
        goto done;
    }
    /* pass 1: the pen positions (26.6) and the extent */
    long asc = (face->size->metrics.ascender + 63) >> 6, desc = (-face->size->metrics.descender + 63) >> 6;
    int margin = (int)ceil(st->size_px * 0.5) + 2;
    long pen = 0, minx = 0, maxx = 0;
    FT_UInt prev = 0;
    for (size_t i = 0; i < ncp; i++) {
        FT_UInt gi = FT_Get_Char_Index(face, cp[i]);
        if (prev && gi && FT_HAS_KERNING(face)) {
            FT_Vector kv;
            if (!FT_Get_Kerning(face, prev, gi, FT_KERNING_DEFAULT, &kv)) pen += kv.x;
        }
        if ((fe = FT_Load_Glyph(face, gi, FT_LOAD_DEFAULT)) != 0) {
            rc = jp_fail(JP_ERR_IO, "%s: cannot load glyph U+%04X: %s", fd->name, (unsigned)cp[i], ft_error(fe));
            goto done;
        }
        long left = (pen >> 6) + (face->glyph->metrics.horiBearingX >> 6);
        long right = left + ((face->glyph->metrics.width + 63) >> 6);
        if (left < minx) minx = left;
        if (right > maxx) maxx = right;
        pen += face->glyph->advance.x;
        prev = gi;
    }
    if ((pen >> 6) > maxx) maxx = pen >> 6;
    long w = maxx - minx + 2 * margin, h = asc + desc + 2 * margin;
    if (w > 20000 || h > 2000) {
        rc = jp_fail(JP_ERR_RANGE, "the line is too large to render (%ld x %ld px)", w, h);
        goto done;
    }
    canvas = calloc((size_t)w * (size_t)h, sizeof *canvas);
    if (!canvas) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* pass 2: draw coverage */
    long ox = margin - minx, baseline = margin + asc;
    pen = 0;
    prev = 0;
    for (size_t i = 0; i < ncp; i++) {
        FT_UInt gi = FT_Get_Char_Index(face, cp[i]);
        if (prev && gi && FT_HAS_KERNING(face)) {
            FT_Vector kv;
            if (!FT_Get_Kerning(face, prev, gi, FT_KERNING_DEFAULT, &kv)) pen += kv.x;
        }
        if ((fe = FT_Load_Glyph(face, gi, FT_LOAD_RENDER)) != 0) {
            rc = jp_fail(JP_ERR_IO, "%s: cannot render glyph U+%04X: %s", fd->name, (unsigned)cp[i], ft_error(fe));
            goto done;
        }
        FT_GlyphSlot g = face->glyph;
        long gx = ox + (pen >> 6) + g->bitmap_left, gy = baseline - g->bitmap_top;
        for (unsigned r = 0; r < g->bitmap.rows; r++)
            for (unsigned c = 0; c < g->bitmap.width; c++) {
                long x = gx + (long)c, y = gy + (long)r;
                if (x < 0 || y < 0 || x >= w || y >= h) continue;
                float a = g->bitmap.buffer[(long)r * g->bitmap.pitch + (long)c] / 255.0f;
                float *px = &canvas[y * w + x];
                *px = *px + a > 1 ? 1 : *px + a;
            }
        pen += g->advance.x;
        prev = gi;
    }
    /* ink on paper, blur, noise */
    for (long i = 0; i < w * h; i++) canvas[i] = (float)st->bg + (float)(st->fg - st->bg) * canvas[i];
    if (st->blur > 0) gaussian_blur(canvas, (int)w, (int)h, st->blur);
    out->pixels = malloc((size_t)w * (size_t)h);
    if (!out->pixels) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    jp_rng rng = jp_rng_for(seed, 0x6e6f697365ULL, 0);
    for (long i = 0; i < w * h; i++) {
        double v = canvas[i];
        if (st->noise > 0) {
            if (i % 2 == 0) { /* Box-Muller: two normals from two uniforms */
                double u1 = jp_rng_unit(&rng), u2 = jp_rng_unit(&rng);
                double rad = sqrt(-2 * log(1 - u1));
                v += st->noise * rad * cos(2 * JP_PI * u2);
                if (i + 1 < w * h) canvas[i + 1] += (float)(st->noise * rad * sin(2 * JP_PI * u2));
            }
        }
        v = floor(v + 0.5);
        out->pixels[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    out->width = (int)w;
    out->height = (int)h;
done:
    free(canvas);
    free(cp);
    FT_Done_Face(face);
    FT_Done_FreeType(lib);
    return rc;
}
