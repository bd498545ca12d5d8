/* Internal pieces of the OCR workload shared by src/workload/ocr_*.c (the public API is in
 * include/jouleprint/workloads.h). */
#ifndef JP_WORKLOAD_OCR_H
#define JP_WORKLOAD_OCR_H

#include "jouleprint/workloads.h"
#include "util.h"

/* splitmix64: the one generator behind every random choice of the data set (never rand()). */
typedef struct jp_rng {
    uint64_t s;
} jp_rng;
static inline uint64_t jp_rng_next(jp_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* Uniform in [0, 1). */
static inline double jp_rng_unit(jp_rng *r) { return (double)(jp_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }
/* Uniform integer in [lo, hi]. */
static inline int jp_rng_int(jp_rng *r, int lo, int hi)
{
    return lo + (int)(jp_rng_next(r) % (uint64_t)(hi - lo + 1));
}
static inline double jp_rng_range(jp_rng *r, double lo, double hi) { return lo + (hi - lo) * jp_rng_unit(r); }
/* A generator for a stream named by (seed, a, b), independent of every other (a, b). */
jp_rng jp_rng_for(uint64_t seed, uint64_t a, uint64_t b);

/* Decodes UTF-8 into code points (malloc'd, *n of them). Each byte of a malformed sequence becomes
 * U+FFFD. Returns NULL only when out of memory. */
uint32_t *jp_utf8_decode(const char *s, size_t *n);

/* The project's data folder (holding ocr/words.txt): $JP_DATA_DIR, else what jp_workloads_set_dirs
 * set, else ./data. */
int jp_ocr_data_root(char *buf, size_t len);
/* Reads a folder of line images (NAME.png with NAME.gt.txt or NAME.txt beside it) as jp_ocr_run does,
 * the first limit (0: all), and frees them again: the lines read and their pixels. For checks and the
 * folder reader's fuzz target. */
int jp_ocr_folder_read(const char *folder, size_t limit, size_t *nlines, size_t *pixels);

/* The shipped word list (data/ocr/words.txt), read once. */
int jp_ocr_words(const char *const **words, size_t *n, uint64_t *digest);

/* The version of the data set generator: bump it when the same seed would give other bytes. */
#define JP_OCR_DATA_VERSION 1
/* The largest text line image read (a line of text: wide, not tall): anything larger is refused
 * before its pixels are allocated. */
#define JP_OCR_MAX_LINE_WIDTH 16384
#define JP_OCR_MAX_LINE_HEIGHT 1024

/* mkdir -p. */
int jp_mkdirs(const char *path);

/* FNV-1a, 64 bits. */
uint64_t jp_fnv1a(const void *data, size_t len, uint64_t h);
#define JP_FNV_INIT 0xcbf29ce484222325ULL

/* ---- the data set's images, fonts and the Tesseract engine (internal to libjouleprint-workloads) ---- */

/* An 8-bit grey image, one byte a pixel, rows top to bottom, `width` bytes a row. */
typedef struct jp_ocr_image {
    int width, height;
    uint8_t *pixels;
} jp_ocr_image;
void jp_ocr_image_free(jp_ocr_image *img);
/* PNG, 8-bit greyscale. */
int jp_ocr_png_write(const char *path, const jp_ocr_image *img);
/* Any PNG; colour is converted to grey, alpha dropped. */
int jp_ocr_png_read(const char *path, jp_ocr_image *img);

/* How one line is drawn. */
typedef struct jp_ocr_style {
    char font[40];   /* a name from jp_ocr_font_at(): "DejaVuSans", "LiberationSerif", "FreeMono", ... */
    double size_px;  /* FreeType pixel size (the em square) */
    int fg, bg;      /* ink and paper grey levels, 0..255 */
    double blur;     /* Gaussian blur sigma in pixels; 0 = none */
    double noise;    /* Gaussian noise standard deviation in grey levels; 0 = none */
} jp_ocr_style;

/* The fonts the renderer knows (name and file; NULL past the end). Files are Debian's
 * fonts-dejavu-core, fonts-liberation and fonts-freefont-ttf. */
const char *jp_ocr_font_at(size_t i, const char **file);
/* Renders one line of text; noise is drawn from seed. The caller frees with jp_ocr_image_free. */
int jp_ocr_render(const char *text, const jp_ocr_style *style, uint64_t seed, jp_ocr_image *out);


/* The text and style of line i of a split for a seed (what jp_ocr_data_write renders). */
int jp_ocr_data_line(uint64_t seed, int split, size_t i, char *text, size_t text_len, jp_ocr_style *style);

/* A Tesseract instance for one configuration, reading single text lines. */
typedef struct jp_ocr_engine jp_ocr_engine;
int jp_ocr_engine_open(jp_ocr_engine **out, const char *model, const char *tessdata);
/* The text read (malloc'd, without the trailing newline); the caller frees it with free(). */
int jp_ocr_engine_read(jp_ocr_engine *e, const jp_ocr_image *img, char **text);
void jp_ocr_engine_close(jp_ocr_engine *e);
/* Whether the engines opened from now on (legacy and combined) clear Tesseract's adaptive classifier
 * before each line (true, what jp_ocr_run always does: a line's text depends on that line only) or let
 * it adapt across the lines an engine reads (false). For bench/ocr_legacy_reset.c, which measures what
 * the reset costs and what it changes. */
void jp_ocr_reset_per_line(bool reset);

#endif
