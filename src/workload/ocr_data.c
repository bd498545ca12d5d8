/* The OCR data set: sentences made from the shipped word list, each drawn in a style chosen for its
 * split, all from one seed; written as PNG with the ground truth beside each image. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload/ocr.h"



const char *jp_ocr_split_name(int split)
{
    switch (split) {
    case 0: return "clean";
    case 1: return "hard";
    default: return "?";
    }
}

/* Appends s to buf (at *len, capacity cap); 0 if it did not fit. */
static int append(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > cap) return 0;
    memcpy(buf + *len, s, n + 1);
    *len += n;
    return 1;
}

static void make_text(jp_rng *r, const char *const *words, size_t nwords, char *out, size_t cap)
{
    int target = jp_rng_int(r, 3, 7);
    size_t len = 0, max_chars = 44;
    out[0] = '\0';
    for (int k = 0; k < target; k++) {
        char w[64];
        double u = jp_rng_unit(r);
        if (u < 0.06) snprintf(w, sizeof w, "%d", jp_rng_int(r, 2, 999));
        else if (u < 0.08) snprintf(w, sizeof w, "%d", jp_rng_int(r, 1900, 2030));
        else snprintf(w, sizeof w, "%s", words[jp_rng_next(r) % nwords]);
        if (k == 0) w[0] = (char)toupper((unsigned char)w[0]);
        else if (jp_rng_unit(r) < 0.12 && len > 0 && out[len - 1] != ',') {
            if (!append(out, cap, &len, ",")) break;
        }
        if (k > 0 && len + 1 + strlen(w) > max_chars) break;
        if (k > 0 && !append(out, cap, &len, " ")) break;
        if (!append(out, cap, &len, w)) break;
    }
    double e = jp_rng_unit(r);
    append(out, cap, &len, e < 0.65 ? "." : e < 0.75 ? "?" : e < 0.80 ? "!" : e < 0.85 ? ";" : "");
}

static const char *pick_font(jp_rng *r, int hard)
{
    /* clean: every upright font; hard: the italic one too */
    size_t n = 0;
    while (jp_ocr_font_at(n, NULL)) n++;
    for (;;) {
        const char *name = jp_ocr_font_at(jp_rng_next(r) % n, NULL);
        if (hard || !strstr(name, "Italic")) return name;
    }
}

int jp_ocr_data_line(uint64_t seed, int split, size_t i, char *text, size_t text_len, jp_ocr_style *st)
{
    if (split < 0 || split >= JP_OCR_SPLITS || !text || text_len < 64 || !st)
        return jp_fail(JP_ERR_INVAL, "jp_ocr_data_line: bad arguments");
    const char *const *words;
    size_t nwords;
    int rc = jp_ocr_words(&words, &nwords, NULL);
    if (rc != JP_OK) return rc;
    jp_rng r = jp_rng_for(seed, 1 + (uint64_t)split, i);
    make_text(&r, words, nwords, text, text_len);
    memset(st, 0, sizeof *st);
    jp_strlcpy(st->font, pick_font(&r, split == 1), sizeof st->font);
    if (split == 0) {
        st->size_px = jp_rng_int(&r, 26, 40);
        st->fg = jp_rng_int(&r, 0, 40);
        st->bg = jp_rng_int(&r, 215, 255);
        st->blur = 0;
        st->noise = jp_rng_int(&r, 0, 3);
    } else {
        st->size_px = jp_rng_int(&r, 15, 22);
        st->fg = jp_rng_int(&r, 30, 100);
        st->bg = jp_rng_int(&r, st->fg + 60, st->fg + 120);
        st->blur = jp_rng_int(&r, 5, 13) / 10.0;
        st->noise = jp_rng_int(&r, 4, 10);
    }
    return JP_OK;
}

static void tsv_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\t') fputs("\\t", f);
        else if (*s == '\n') fputs("\\n", f);
        else if (*s == '\\') fputs("\\\\", f);
        else fputc(*s, f);
    }
}

int jp_ocr_data_write(const char *dir, size_t n, uint64_t seed)
{
    if (!dir || !*dir || n == 0 || n > 1000000) return jp_fail(JP_ERR_INVAL, "jp_ocr_data_write: need a folder and 1 to 1000000 lines");
    const char *const *words;
    size_t nwords;
    uint64_t digest;
    int rc = jp_ocr_words(&words, &nwords, &digest);
    if (rc != JP_OK) return rc;
    char path[PATH_MAX], tmp[PATH_MAX];
    for (int s = 0; s < JP_OCR_SPLITS; s++) {
        if ((rc = jp_pathf(path, sizeof path, "%s/%s", dir, jp_ocr_split_name(s))) != JP_OK) return rc;
        if ((rc = jp_mkdirs(path)) != JP_OK) return rc;
    }
    if ((rc = jp_pathf(tmp, sizeof tmp, "%s/manifest.tsv.part", dir)) != JP_OK) return rc;
    FILE *mf = fopen(tmp, "w");
    if (!mf) return jp_fail(errno == EACCES ? JP_ERR_PERM : JP_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    fprintf(mf, "# jouleprint ocr-data v%d seed=%llu n=%zu words=%016llx (%zu words)\n", JP_OCR_DATA_VERSION,
            (unsigned long long)seed, n, (unsigned long long)digest, nwords);
    fputs("split\tfile\tfont\tsize_px\tink\tpaper\tblur\tnoise\ttext\n", mf);
    for (int s = 0; s < JP_OCR_SPLITS && rc == JP_OK; s++) {
        for (size_t i = 0; i < n && rc == JP_OK; i++) {
            char text[256];
            jp_ocr_style st;
            jp_ocr_image img;
            if ((rc = jp_ocr_data_line(seed, s, i, text, sizeof text, &st)) != JP_OK) break;
            jp_rng nr = jp_rng_for(seed, 100 + (uint64_t)s, i);
            if ((rc = jp_ocr_render(text, &st, jp_rng_next(&nr), &img)) != JP_OK) break;
            rc = jp_pathf(path, sizeof path, "%s/%s/%06zu.png", dir, jp_ocr_split_name(s), i);
            if (rc == JP_OK) rc = jp_ocr_png_write(path, &img);
            jp_ocr_image_free(&img);
            if (rc != JP_OK) break;
            if ((rc = jp_pathf(path, sizeof path, "%s/%s/%06zu.gt.txt", dir, jp_ocr_split_name(s), i)) != JP_OK) break;
            FILE *g = fopen(path, "w");
            if (!g) {
                rc = jp_fail(JP_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
                break;
            }
            fprintf(g, "%s\n", text);
            if (fclose(g) != 0) {
                rc = jp_fail(JP_ERR_IO, "%s: write failed", path);
                break;
            }
            fprintf(mf, "%s\t%06zu.png\t%s\t%.0f\t%d\t%d\t%.1f\t%.0f\t", jp_ocr_split_name(s), i, st.font, st.size_px, st.fg,
                    st.bg, st.blur, st.noise);
            tsv_text(mf, text);
            fputc('\n', mf);
        }
    }
    int bad = ferror(mf);
    if (fclose(mf) != 0) bad = 1;
    if (rc == JP_OK && bad) rc = jp_fail(JP_ERR_IO, "%s: write failed", tmp);
    if (rc != JP_OK) {
        remove(tmp);
        return rc;
    }
    if ((rc = jp_pathf(path, sizeof path, "%s/manifest.tsv", dir)) != JP_OK) return rc;
    if (rename(tmp, path) != 0) return jp_fail(JP_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    return JP_OK;
}
