/*
 * The OCR workload as a library: scores on hand-made pairs with known answers, the renderer and the
 * data set deterministic for a seed, PNG round trips, every configuration reading a clean line,
 * and missing or corrupt traineddata refused with words that say how to install it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jouleprint.h"
#include "workload/ocr.h"

static char tmpdir[4096];

/* ---- scoring ---------------------------------------------------------------------------------- */

static jp_ocr_counts score1(const char *ref, const char *hyp)
{
    jp_ocr_counts c;
    memset(&c, 0, sizeof c);
    jp_ocr_score(ref, hyp, &c);
    return c;
}

static void test_score_identical_and_white_space(void **state)
{
    (void)state;
    jp_ocr_counts c = score1("hello world", "hello world");
    assert_int_equal(c.lines, 1);
    assert_int_equal(c.lines_exact, 1);
    assert_int_equal(c.ref_chars, 11);
    assert_int_equal(c.char_edits, 0);
    assert_int_equal(c.ref_words, 2);
    assert_int_equal(c.word_edits, 0);
    assert_int_equal(c.words_found, 2);
    assert_float_equal(jp_ocr_cer(&c), 0, 1e-12);
    assert_float_equal(jp_ocr_wer(&c), 0, 1e-12);
    assert_float_equal(jp_ocr_recall(&c), 1, 1e-12);
    /* trimmed, runs of white space (tabs, newlines, no-break space) made one space */
    c = score1("  hello \t\n world\n", "hello\xc2\xa0world");
    assert_int_equal(c.lines_exact, 1);
    assert_int_equal(c.ref_chars, 11);
    assert_int_equal(c.char_edits, 0);
    /* the ideographic space U+3000 and the line separator U+2028 are white space too */
    c = score1("hello\xe3\x80\x80world", "hello world");
    assert_int_equal(c.ref_chars, 11);
    assert_int_equal(c.char_edits, 0);
    c = score1("hello world", "hello\xe2\x80\xa8world");
    assert_int_equal(c.char_edits, 0);
    assert_int_equal(c.lines_exact, 1);
    c = score1("\xe2\x80\xa8hello\xe3\x80\x80", "hello");
    assert_int_equal(c.ref_chars, 5);
    assert_int_equal(c.char_edits, 0);
}

static void test_score_character_edits(void **state)
{
    (void)state;
    /* the classic: kitten -> sitting is 2 substitutions and 1 insertion */
    jp_ocr_counts c = score1("kitten", "sitting");
    assert_int_equal(c.char_edits, 3);
    assert_int_equal(c.ref_chars, 6);
    assert_float_equal(jp_ocr_cer(&c), 0.5, 1e-12);
    assert_int_equal(c.lines_exact, 0);
    c = score1("abc", "abxc"); /* one insertion */
    assert_int_equal(c.char_edits, 1);
    c = score1("abcd", "abd"); /* one deletion */
    assert_int_equal(c.char_edits, 1);
    assert_float_equal(jp_ocr_cer(&c), 0.25, 1e-12);
    c = score1("abcd", "abxd"); /* one substitution */
    assert_int_equal(c.char_edits, 1);
    c = score1("abc", "cba"); /* two substitutions (a<->c) */
    assert_int_equal(c.char_edits, 2);
    /* CER can exceed 1: many insertions */
    c = score1("a", "abcd");
    assert_float_equal(jp_ocr_cer(&c), 3.0, 1e-12);
}

static void test_score_empty_strings(void **state)
{
    (void)state;
    jp_ocr_counts c = score1("one two", ""); /* nothing read */
    assert_int_equal(c.char_edits, 7);
    assert_float_equal(jp_ocr_cer(&c), 1, 1e-12);
    assert_int_equal(c.word_edits, 2);
    assert_float_equal(jp_ocr_wer(&c), 1, 1e-12);
    assert_float_equal(jp_ocr_recall(&c), 0, 1e-12);
    assert_int_equal(c.hyp_words, 0);
    c = score1("", ""); /* nothing to read, nothing read */
    assert_int_equal(c.lines_exact, 1);
    assert_float_equal(jp_ocr_cer(&c), 0, 1e-12);
    assert_float_equal(jp_ocr_wer(&c), 0, 1e-12);
    assert_float_equal(jp_ocr_recall(&c), 1, 1e-12);
    c = score1("", "x y"); /* nothing to read, something made up */
    assert_int_equal(c.char_edits, 3);
    assert_float_equal(jp_ocr_cer(&c), 1, 1e-12);
    assert_float_equal(jp_ocr_wer(&c), 1, 1e-12);
    assert_float_equal(jp_ocr_recall(&c), 1, 1e-12);
    c = score1(NULL, "   "); /* NULL is empty; white space alone is empty */
    assert_int_equal(c.lines_exact, 1);
    assert_int_equal(c.char_edits, 0);
}

static void test_score_unicode(void **state)
{
    (void)state;
    /* code points, not bytes: e-acute is one character (two bytes) */
    jp_ocr_counts c = score1("caf\xc3\xa9 na\xc3\xafve", "cafe na\xc3\xafve");
    assert_int_equal(c.ref_chars, 10);
    assert_int_equal(c.char_edits, 1);
    assert_int_equal(c.word_edits, 1);
    assert_int_equal(c.words_found, 1);
    assert_float_equal(jp_ocr_recall(&c), 0.5, 1e-12);
    /* three CJK characters (3 bytes each), one dropped */
    c = score1("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xe6\x97\xa5\xe6\x9c\xac");
    assert_int_equal(c.ref_chars, 3);
    assert_int_equal(c.char_edits, 1);
    /* a 4-byte emoji inserted is one edit */
    c = score1("ab", "a\xf0\x9f\x98\x80" "b");
    assert_int_equal(c.char_edits, 1);
    /* precomposed e-acute against e + combining acute: different code points, 2 edits */
    c = score1("\xc3\xa9", "e\xcc\x81");
    assert_int_equal(c.ref_chars, 1);
    assert_int_equal(c.char_edits, 2);
    /* a malformed byte is one U+FFFD */
    c = score1("a\xff" "b", "a?b");
    assert_int_equal(c.ref_chars, 3);
    assert_int_equal(c.char_edits, 1);
    c = score1("a\xff" "b", "a\xef\xbf\xbd" "b");
    assert_int_equal(c.char_edits, 0);
    /* overlong forms are not the character they spell: "\xc0\xaf" is not '/' but two bad bytes */
    c = score1("a\xc0\xaf" "b", "a/b");
    assert_int_equal(c.ref_chars, 4);
    assert_int_equal(c.char_edits, 2);
    c = score1("\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_int_equal(c.ref_chars, 3);
    assert_int_equal(c.char_edits, 0);
    /* UTF-16 surrogates (U+D800) and code points above U+10FFFF are not characters either */
    c = score1("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_int_equal(c.ref_chars, 3);
    assert_int_equal(c.char_edits, 0);
    c = score1("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_int_equal(c.ref_chars, 4);
    assert_int_equal(c.char_edits, 0);
    /* the largest valid code points of each length are still one character */
    c = score1("\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", "xyz");
    assert_int_equal(c.ref_chars, 3);
    assert_int_equal(c.char_edits, 3);
    /* a truncated sequence, then a good character */
    c = score1("\xe6\x97" "x", "\xef\xbf\xbd\xef\xbf\xbdx");
    assert_int_equal(c.ref_chars, 3);
    assert_int_equal(c.char_edits, 0);
}

static void test_score_words(void **state)
{
    (void)state;
    jp_ocr_counts c = score1("the cat sat", "the sat"); /* a word deleted */
    assert_int_equal(c.word_edits, 1);
    assert_float_equal(jp_ocr_wer(&c), 1.0 / 3, 1e-12);
    assert_float_equal(jp_ocr_recall(&c), 2.0 / 3, 1e-12);
    c = score1("the cat sat", "the cat sat down"); /* a word inserted: recall unhurt */
    assert_int_equal(c.word_edits, 1);
    assert_float_equal(jp_ocr_recall(&c), 1, 1e-12);
    c = score1("a b c", "a x c"); /* a word substituted */
    assert_int_equal(c.word_edits, 1);
    assert_int_equal(c.words_found, 2);
    /* recall ignores order, WER does not */
    c = score1("one two three", "three two one");
    assert_int_equal(c.word_edits, 2);
    assert_float_equal(jp_ocr_recall(&c), 1, 1e-12);
    /* each output word matches one reference word (multiset) */
    c = score1("the the cat", "the cat");
    assert_int_equal(c.words_found, 2);
    c = score1("the cat", "the the the cat");
    assert_int_equal(c.words_found, 2);
    assert_float_equal(jp_ocr_recall(&c), 1, 1e-12);
    assert_int_equal(c.hyp_words, 4);
    /* case and punctuation count */
    c = score1("Cat sat.", "cat sat");
    assert_int_equal(c.words_found, 0);
    assert_int_equal(c.word_edits, 2);
    assert_int_equal(c.char_edits, 2);
}

static void test_score_adds_up_over_lines(void **state)
{
    (void)state;
    jp_ocr_counts c;
    memset(&c, 0, sizeof c);
    jp_ocr_score("abcd", "abcd", &c);     /* 0 of 4 */
    jp_ocr_score("ab cd ef", "ab cd", &c); /* 3 of 8 chars, 1 of 3 words */
    assert_int_equal(c.lines, 2);
    assert_int_equal(c.lines_exact, 1);
    assert_float_equal(jp_ocr_cer(&c), 3.0 / 12, 1e-12); /* over the total, not a mean of lines */
    assert_float_equal(jp_ocr_wer(&c), 1.0 / 4, 1e-12);
    assert_float_equal(jp_ocr_recall(&c), 3.0 / 4, 1e-12);
}

/* ---- rendering and the data set ---------------------------------------------------------------- */

static jp_ocr_style style(const char *font, double size, double blur, double noise)
{
    jp_ocr_style st;
    memset(&st, 0, sizeof st);
    snprintf(st.font, sizeof st.font, "%s", font);
    st.size_px = size;
    st.fg = 20;
    st.bg = 235;
    st.blur = blur;
    st.noise = noise;
    return st;
}

static int same_image(const jp_ocr_image *a, const jp_ocr_image *b)
{
    return a->width == b->width && a->height == b->height &&
           !memcmp(a->pixels, b->pixels, (size_t)a->width * (size_t)a->height);
}

static void test_render_deterministic(void **state)
{
    (void)state;
    jp_ocr_style st = style("LiberationSerif", 18, 0.8, 9);
    jp_ocr_image a, b, c;
    assert_int_equal(jp_ocr_render("Quiet river, 1987.", &st, 42, &a), JP_OK);
    assert_int_equal(jp_ocr_render("Quiet river, 1987.", &st, 42, &b), JP_OK);
    assert_true(a.width > 100 && a.height > 18);
    assert_true(same_image(&a, &b));
    assert_int_equal(jp_ocr_render("Quiet river, 1987.", &st, 43, &c), JP_OK);
    assert_int_equal(c.width, a.width);
    assert_false(same_image(&a, &c)); /* other noise */
    /* ink where the text is: the darkest pixel is far darker than the paper */
    int lo = 255;
    for (int i = 0; i < a.width * a.height; i++) lo = a.pixels[i] < lo ? a.pixels[i] : lo;
    assert_true(lo < 120);
    jp_ocr_image_free(&a);
    jp_ocr_image_free(&b);
    jp_ocr_image_free(&c);
    /* every font renders; an unknown one is refused */
    for (size_t i = 0; jp_ocr_font_at(i, NULL); i++) {
        jp_ocr_style fs = style(jp_ocr_font_at(i, NULL), 20, 0, 0);
        assert_int_equal(jp_ocr_render("Ag", &fs, 1, &a), JP_OK);
        jp_ocr_image_free(&a);
    }
    jp_ocr_style bad = style("NoSuchFont", 20, 0, 0);
    assert_int_equal(jp_ocr_render("x", &bad, 1, &a), JP_ERR_NOTFOUND);
    bad = style("DejaVuSans", 0, 0, 0);
    assert_int_equal(jp_ocr_render("x", &bad, 1, &a), JP_ERR_RANGE);
}

static void test_png_round_trip(void **state)
{
    (void)state;
    jp_ocr_style st = style("DejaVuSans", 24, 0.5, 5);
    jp_ocr_image a, b;
    assert_int_equal(jp_ocr_render("round trip", &st, 7, &a), JP_OK);
    char path[4200];
    snprintf(path, sizeof path, "%s/rt.png", tmpdir);
    assert_int_equal(jp_ocr_png_write(path, &a), JP_OK);
    assert_int_equal(jp_ocr_png_read(path, &b), JP_OK);
    assert_true(same_image(&a, &b));
    jp_ocr_image_free(&a);
    jp_ocr_image_free(&b);
    snprintf(path, sizeof path, "%s/not.png", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("not a png", f);
    fclose(f);
    assert_int_equal(jp_ocr_png_read(path, &b), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "not a PNG"));
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (24 - 8 * i));
}

/* A "PNG bomb": a few hundred bytes declaring 40000 x 40000 pixels (1.6 GB) is refused before its pixels
 * are allocated, and so are lines taller than a line; a FIFO in place of a PNG is refused at once. */
static void test_png_bomb_refused(void **state)
{
    (void)state;
    static const uint32_t dims[][2] = {{40000, 40000}, {16385, 20}, {200, 1025}};
    for (size_t d = 0; d < 3; d++) {
        unsigned char png[8 + 25 + 12 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        unsigned char *ihdr = png + 8;
        put32(ihdr, 13);
        memcpy(ihdr + 4, "IHDR", 4);
        put32(ihdr + 8, dims[d][0]);
        put32(ihdr + 12, dims[d][1]);
        ihdr[16] = 8; /* depth */
        ihdr[17] = 0; /* gray */
        put32(ihdr + 21, crc32_of(ihdr + 4, 17));
        unsigned char *idat = ihdr + 25;
        put32(idat, 0);
        memcpy(idat + 4, "IDAT", 4);
        put32(idat + 8, crc32_of(idat + 4, 4));
        unsigned char *iend = idat + 12;
        put32(iend, 0);
        memcpy(iend + 4, "IEND", 4);
        put32(iend + 8, crc32_of(iend + 4, 4));
        char path[4200];
        snprintf(path, sizeof path, "%s/bomb.png", tmpdir);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(png, 1, sizeof png, f), sizeof png);
        fclose(f);
        jp_ocr_image img;
        assert_int_equal(jp_ocr_png_read(path, &img), JP_ERR_PARSE);
        assert_null(img.pixels);
        assert_non_null(strstr(jp_last_error(), "bomb.png"));
        assert_non_null(strstr(jp_last_error(), "a text line image must be at most 16384 wide and 1024 high"));
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/fifo.png", tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(20);
    jp_ocr_image img;
    assert_int_not_equal(jp_ocr_png_read(path, &img), JP_OK);
    assert_non_null(strstr(jp_last_error(), "is a FIFO"));
    alarm(0);
    unlink(path);
}

static void test_data_line_deterministic(void **state)
{
    (void)state;
    char t1[256], t2[256];
    jp_ocr_style s1, s2;
    int differs = 0;
    for (size_t i = 0; i < 20; i++)
        for (int split = 0; split < JP_OCR_SPLITS; split++) {
            assert_int_equal(jp_ocr_data_line(9, split, i, t1, sizeof t1, &s1), JP_OK);
            assert_int_equal(jp_ocr_data_line(9, split, i, t2, sizeof t2, &s2), JP_OK);
            assert_string_equal(t1, t2);
            assert_memory_equal(&s1, &s2, sizeof s1);
            assert_true(strlen(t1) >= 3 && strlen(t1) < 80);
            if (split == 0) assert_true(s1.size_px >= 26 && s1.blur == 0);
            else assert_true(s1.size_px <= 22 && s1.blur > 0 && s1.noise > 0 && s1.bg - s1.fg >= 60);
            assert_int_equal(jp_ocr_data_line(10, split, i, t2, sizeof t2, &s2), JP_OK);
            differs += strcmp(t1, t2) != 0;
        }
    assert_true(differs > 30);
}

static void read_all(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot read", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc((size_t)n + 1);
    *len = fread(*buf, 1, (size_t)n, f);
    (*buf)[*len] = '\0';
    fclose(f);
}

/* 1 if every file under a/ is byte for byte the file under b/ (same names). */
static int same_tree(const char *a, const char *b, int *files)
{
    static const char *const subs[] = {"", "/clean", "/hard"};
    for (size_t s = 0; s < 3; s++) {
        char da[4300], db[4300];
        snprintf(da, sizeof da, "%s%s", a, subs[s]);
        snprintf(db, sizeof db, "%s%s", b, subs[s]);
        DIR *d = opendir(da);
        if (!d) return 0;
        struct dirent *e;
        int same = 1;
        while ((e = readdir(d))) {
            char pa[4600], pb[4600];
            snprintf(pa, sizeof pa, "%s/%s", da, e->d_name);
            snprintf(pb, sizeof pb, "%s/%s", db, e->d_name);
            struct stat st;
            if (stat(pa, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            char *x, *y;
            size_t nx, ny;
            read_all(pa, &x, &nx);
            if (access(pb, R_OK) != 0) {
                free(x);
                same = 0;
                continue;
            }
            read_all(pb, &y, &ny);
            if (nx != ny || memcmp(x, y, nx)) same = 0;
            (*files)++;
            free(x);
            free(y);
        }
        closedir(d);
        if (!same) return 0;
    }
    return 1;
}

static void test_data_set_deterministic(void **state)
{
    (void)state;
    char a[4200], b[4200], c[4200];
    snprintf(a, sizeof a, "%s/set-a", tmpdir);
    snprintf(b, sizeof b, "%s/set-b", tmpdir);
    snprintf(c, sizeof c, "%s/set-c", tmpdir);
    assert_int_equal(jp_ocr_data_write(a, 3, 5), JP_OK);
    assert_int_equal(jp_ocr_data_write(b, 3, 5), JP_OK);
    assert_int_equal(jp_ocr_data_write(c, 3, 6), JP_OK);
    int files = 0;
    assert_true(same_tree(a, b, &files));
    assert_int_equal(files, 1 + 2 * 3 * 2); /* manifest, and a PNG and its text for each line */
    files = 0;
    assert_false(same_tree(a, c, &files));
    /* the ground truth is the manifest's text */
    char path[4400], text[256];
    jp_ocr_style st;
    snprintf(path, sizeof path, "%s/hard/000002.gt.txt", a);
    char *gt;
    size_t n;
    read_all(path, &gt, &n);
    assert_int_equal(jp_ocr_data_line(5, 1, 2, text, sizeof text, &st), JP_OK);
    assert_true(n == strlen(text) + 1 && !strncmp(gt, text, strlen(text)) && gt[n - 1] == '\n');
    free(gt);
    snprintf(path, sizeof path, "%s/manifest.tsv", a);
    read_all(path, &gt, &n);
    assert_non_null(strstr(gt, "seed=5 n=3"));
    assert_non_null(strstr(gt, text));
    free(gt);
}

/* ---- the models ------------------------------------------------------------------------------- */

static void test_each_configuration_reads_a_clean_line(void **state)
{
    (void)state;
    static const char line[] = "Bring the green lantern home by 1987.";
    jp_ocr_style st = style("DejaVuSans", 36, 0, 0);
    st.fg = 0;
    st.bg = 255;
    jp_ocr_image img;
    assert_int_equal(jp_ocr_render(line, &st, 1, &img), JP_OK);
    size_t n = 0;
    for (size_t i = 0; jp_ocr_model_at(i); i++, n++) {
        const jp_ocr_model *md = jp_ocr_model_at(i);
        jp_ocr_engine *e;
        int rc = jp_ocr_engine_open(&e, md->name, NULL);
        if (rc != JP_OK) fail_msg("%s: %s", md->name, jp_last_error());
        char *text;
        assert_int_equal(jp_ocr_engine_read(e, &img, &text), JP_OK);
        if (strcmp(text, line)) fail_msg("%s read '%s' for '%s'", md->name, text, line);
        free(text);
        /* a second read of the same line gives the same text (no state carried over) */
        assert_int_equal(jp_ocr_engine_read(e, &img, &text), JP_OK);
        assert_string_equal(text, line);
        free(text);
        jp_ocr_engine_close(e);
    }
    assert_true(n >= 5);
    jp_ocr_image_free(&img);
    assert_null(jp_ocr_model_find("eng-huge"));
    assert_non_null(strstr(jp_last_error(), "eng-best"));
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("%s: cannot write", path);
    fwrite(data, 1, len, f);
    fclose(f);
}

static void expect_refused(const char *model, const char *tessdata, int code, const char *words)
{
    char dir[4096], path[4096];
    int rc = jp_ocr_model_locate(model, tessdata, dir, sizeof dir, path, sizeof path);
    if (rc != code) fail_msg("%s: expected %d, got %d (%s)", model, code, rc, jp_last_error());
    if (!strstr(jp_last_error(), words)) fail_msg("'%s' does not say '%s'", jp_last_error(), words);
    if (!strstr(jp_last_error(), "scripts/bootstrap") && !strstr(jp_last_error(), "tesseract-ocr-eng"))
        fail_msg("'%s' does not say how to install", jp_last_error());
    if (!strstr(jp_last_error(), model)) fail_msg("'%s' does not name %s", jp_last_error(), model);
    jp_ocr_engine *e = (jp_ocr_engine *)&rc;
    assert_int_equal(jp_ocr_engine_open(&e, model, tessdata), code);
    assert_null(e);
}

static void test_missing_traineddata(void **state)
{
    (void)state;
    char empty[4200];
    snprintf(empty, sizeof empty, "%s/no-models", tmpdir);
    mkdir(empty, 0755);
    expect_refused("eng-best", empty, JP_ERR_NOTFOUND, "4.0.0_best_int/eng.traineddata");
    expect_refused("eng-legacy", empty, JP_ERR_NOTFOUND, "4.0.0/eng.traineddata");
    expect_refused("eng-fast", empty, JP_ERR_NOTFOUND, "tesseract-ocr-eng");
    /* $JP_TESSDATA is the same as the argument */
    setenv("JP_TESSDATA", empty, 1);
    expect_refused("eng-combined", NULL, JP_ERR_NOTFOUND, "fetch-tessdata");
    unsetenv("JP_TESSDATA");
}

static void test_corrupt_traineddata(void **state)
{
    (void)state;
    char root[4200], dir[4300], path[4400];
    snprintf(root, sizeof root, "%s/bad-models", tmpdir);
    snprintf(dir, sizeof dir, "%s/4.0.0_best_int", root);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/eng.traineddata", dir);
    /* not a traineddata at all */
    write_bytes(path, "<html>404 Not Found</html>\n", 27);
    expect_refused("eng-best", root, JP_ERR_PARSE, "not a Tesseract traineddata");
    write_bytes(path, "", 0);
    expect_refused("eng-best", root, JP_ERR_PARSE, "not a Tesseract traineddata");
    /* a real one cut short: its table of contents points past the end */
    char real_dir[4096], real[4096];
    assert_int_equal(jp_ocr_model_locate("eng-best", NULL, real_dir, sizeof real_dir, real, sizeof real), JP_OK);
    char *buf;
    size_t n;
    read_all(real, &buf, &n);
    write_bytes(path, buf, n / 3);
    expect_refused("eng-best", root, JP_ERR_PARSE, "corrupt or truncated");
    /* the LSTM-only file where the legacy engine is asked for */
    snprintf(dir, sizeof dir, "%s/4.0.0", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/eng.traineddata", dir);
    write_bytes(path, buf, n);
    expect_refused("eng-legacy", root, JP_ERR_PARSE, "no legacy engine data");
    free(buf);
}

/* ---- a run ------------------------------------------------------------------------------------ */

static void test_run_scores_and_measures(void **state)
{
    (void)state;
    char data[4200];
    snprintf(data, sizeof data, "%s/run-set", tmpdir);
    assert_int_equal(jp_ocr_data_write(data, 4, 3), JP_OK);
    jp_ocr_config cfg;
    jp_ocr_config_init(&cfg);
    cfg.model = "eng-fast";
    cfg.data = data;
    cfg.n = 3;
    cfg.threads = 2;
    cfg.keep_lines = true;
    /* the power model, as on a machine with no counters */
    char empty[4200];
    snprintf(empty, sizeof empty, "%s/no-sys", tmpdir);
    mkdir(empty, 0755);
    setenv("JP_SYSFS_ROOT", empty, 1);
    setenv("JP_DEV_ROOT", empty, 1);
    jp_meter_config mc;
    jp_meter_config_init(&mc);
    mc.interval_s = 0.02;
    jp_meter *m;
    assert_int_equal(jp_meter_open(&m, &mc), JP_OK);
    jp_ocr_result r;
    int rc = jp_ocr_run(&cfg, m, &r);
    if (rc != JP_OK) fail_msg("jp_ocr_run: %s", jp_last_error());
    assert_int_equal(r.nsplits, 2);
    assert_string_equal(r.split[0].name, "clean");
    assert_string_equal(r.split[1].name, "hard");
    assert_int_equal(r.split[0].counts.lines, 3);
    assert_int_equal(r.all.lines, 6);
    assert_int_equal(r.nlines, 6);
    assert_true(r.load_s > 0 && r.infer_s > 0);
    assert_true(r.load_j > 0 && r.infer_j > 0);
    assert_true(r.infer_share <= 1);
    assert_string_equal(jp_meter_phase_name(m, 0), "load");
    assert_string_equal(jp_meter_phase_name(m, 1), "infer");
    assert_true(jp_ocr_recall(&r.split[0].counts) > 0.8); /* clean lines are read */
    /* the kept lines score to the totals */
    jp_ocr_counts c;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < r.nlines; i++) {
        assert_non_null(strstr(r.lines[i].file, ".png"));
        jp_ocr_score(r.lines[i].ref, r.lines[i].hyp, &c);
    }
    assert_memory_equal(&c, &r.all, sizeof c);
    jp_ocr_result_free(&r);
    /* the same with one thread and no meter: the same texts */
    cfg.threads = 1;
    assert_int_equal(jp_ocr_run(&cfg, NULL, &r), JP_OK);
    assert_memory_equal(&c, &r.all, sizeof c);
    assert_true(r.load_j == 0 && r.infer_j == 0);
    jp_ocr_result_free(&r);
    /* timed: the meter covers the first line of each split (what a run of n = 1 reads), the rest are
     * read after it stopped; the outputs are those of the whole run, line for line */
    jp_ocr_result all;
    cfg.threads = 1;
    assert_int_equal(jp_ocr_run(&cfg, m, &all), JP_OK);
    assert_int_equal(all.lines_timed, 6);
    cfg.timed = 1;
    assert_int_equal(jp_ocr_run(&cfg, m, &r), JP_OK);
    assert_int_equal(r.nlines, 6);
    assert_int_equal(r.lines_timed, 2);
    assert_memory_equal(&c, &r.all, sizeof c);
    for (size_t i = 0; i < r.nlines; i++) {
        assert_string_equal(r.lines[i].file, all.lines[i].file);
        assert_string_equal(r.lines[i].hyp, all.lines[i].hyp);
    }
    /* the infer phase's CPU time is that of 2 lines, not 6 (CPU time, which load does not inflate
     * much: a line costs tens of ms here, the clock ticks every 10 ms) */
    printf("infer CPU: timed 2 lines %.3f s, all 6 lines %.3f s\n", r.infer_cpu_s, all.infer_cpu_s);
    assert_true(r.infer_cpu_s < 0.7 * all.infer_cpu_s);
    jp_ocr_result_free(&all);
    jp_ocr_result_free(&r);
    cfg.timed = 3; /* not fewer than n: every line timed */
    assert_int_equal(jp_ocr_run(&cfg, NULL, &r), JP_OK);
    assert_int_equal(r.lines_timed, 6);
    jp_ocr_result_free(&r);
    cfg.timed = 0;
    /* errors: no such folder; an unknown model */
    cfg.data = "/nonexistent/ocr";
    assert_int_equal(jp_ocr_run(&cfg, m, &r), JP_ERR_NOTFOUND);
    cfg.model = "eng-tiny";
    cfg.data = data;
    assert_int_equal(jp_ocr_run(&cfg, m, &r), JP_ERR_NOTFOUND);
    jp_meter_close(m);
    unsetenv("JP_SYSFS_ROOT");
    unsetenv("JP_DEV_ROOT");
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jp-test-ocr-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    (void)argc;
    /* Tesseract's OpenMP threads spin on a small machine; libgomp reads this only when loaded */
    if (!getenv("OMP_THREAD_LIMIT")) {
        setenv("OMP_THREAD_LIMIT", "1", 1);
        execv("/proc/self/exe", argv);
    }
    const char *src = getenv("JP_TEST_SRC_DIR");
    if (src && !getenv("JP_DATA_DIR")) {
        char data[4200];
        snprintf(data, sizeof data, "%s/data", src);
        setenv("JP_DATA_DIR", data, 1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score_identical_and_white_space),
        cmocka_unit_test(test_score_character_edits),
        cmocka_unit_test(test_score_empty_strings),
        cmocka_unit_test(test_score_unicode),
        cmocka_unit_test(test_score_words),
        cmocka_unit_test(test_score_adds_up_over_lines),
        cmocka_unit_test(test_render_deterministic),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_png_bomb_refused),
        cmocka_unit_test(test_data_line_deterministic),
        cmocka_unit_test(test_data_set_deterministic),
        cmocka_unit_test(test_each_configuration_reads_a_clean_line),
        cmocka_unit_test(test_missing_traineddata),
        cmocka_unit_test(test_corrupt_traineddata),
        cmocka_unit_test(test_run_scores_and_measures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
