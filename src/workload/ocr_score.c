/* OCR scoring: character and word error rates (Levenshtein distances on Unicode code points and on
 * words) and word recall, added up over lines. */
#include <stdlib.h>
#include <string.h>

#include "workload/ocr.h"

static int is_space(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Decodes and normalizes: trimmed, every run of white space one U+0020. */
static uint32_t *normalized(const char *s, size_t *n)
{
    size_t len;
    uint32_t *cp = jp_utf8_decode(s ? s : "", &len);
    if (!cp) return NULL;
    size_t k = 0;
    int pending = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_space(cp[i])) {
            pending = k > 0;
            continue;
        }
        if (pending) cp[k++] = ' ';
        pending = 0;
        cp[k++] = cp[i];
    }
    *n = k;
    return cp;
}

struct word {
    const uint32_t *p;
    size_t len;
};

static struct word *split_words(const uint32_t *cp, size_t n, size_t *nw)
{
    struct word *w = malloc((n / 2 + 1) * sizeof *w);
    if (!w) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && cp[j] != ' ') j++;
        w[k].p = cp + i;
        w[k].len = j - i;
        k++;
        i = j + 1;
    }
    *nw = k;
    return w;
}

static int word_eq(const struct word *a, const struct word *b)
{
    return a->len == b->len && !memcmp(a->p, b->p, a->len * sizeof *a->p);
}

/* Levenshtein distance with unit costs; two rows. eq(i, j) compares a[i] with b[j]. */
#define LEVENSHTEIN(name, T, EQ)                                                                           \
    static size_t name(const T *a, size_t na, const T *b, size_t nb)                                      \
    {                                                                                                       \
        if (!na) return nb;                                                                                 \
        if (!nb) return na;                                                                                 \
        size_t *prev = malloc((nb + 1) * sizeof *prev), *cur = malloc((nb + 1) * sizeof *cur);             \
        if (!prev || !cur) {                                                                                \
            free(prev);                                                                                     \
            free(cur);                                                                                      \
            return na > nb ? na : nb; /* out of memory: an upper bound */                                  \
        }                                                                                                   \
        for (size_t j = 0; j <= nb; j++) prev[j] = j;                                                       \
        for (size_t i = 1; i <= na; i++) {                                                                  \
            cur[0] = i;                                                                                     \
            for (size_t j = 1; j <= nb; j++) {                                                              \
                size_t sub = prev[j - 1] + (EQ(&a[i - 1], &b[j - 1]) ? 0 : 1);                              \
                size_t del = prev[j] + 1, ins = cur[j - 1] + 1;                                             \
                size_t m = sub < del ? sub : del;                                                           \
                cur[j] = m < ins ? m : ins;                                                                 \
            }                                                                                               \
            size_t *t = prev;                                                                               \
            prev = cur;                                                                                     \
            cur = t;                                                                                        \
        }                                                                                                   \
        size_t d = prev[nb];                                                                                \
        free(prev);                                                                                         \
        free(cur);                                                                                          \
        return d;                                                                                           \
    }

#define CP_EQ(x, y) (*(x) == *(y))
LEVENSHTEIN(char_distance, uint32_t, CP_EQ)
LEVENSHTEIN(word_distance, struct word, word_eq)

/* Reference words matched by output words, each output word used at most once (any order). */
static size_t words_matched(const struct word *ref, size_t nr, const struct word *hyp, size_t nh)
{
    if (!nr || !nh) return 0;
    char *used = calloc(nh, 1);
    if (!used) return 0;
    size_t found = 0;
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < nh; j++)
            if (!used[j] && word_eq(&ref[i], &hyp[j])) {
                used[j] = 1;
                found++;
                break;
            }
    free(used);
    return found;
}

void jp_ocr_score(const char *ref, const char *hyp, jp_ocr_counts *c)
{
    if (!c) return;
    size_t nr = 0, nh = 0, nwr = 0, nwh = 0;
    uint32_t *r = normalized(ref, &nr), *h = normalized(hyp, &nh);
    struct word *wr = r ? split_words(r, nr, &nwr) : NULL, *wh = h ? split_words(h, nh, &nwh) : NULL;
    if (!r || !h || !wr || !wh) {
        /* out of memory: count the line as wholly wrong rather than lose it */
        c->lines++;
        c->ref_chars += nr;
        c->char_edits += nr ? nr : 1;
        c->ref_words += nwr;
        c->word_edits += nwr ? nwr : 1;
    } else {
        c->lines++;
        c->lines_exact += nr == nh && !memcmp(r, h, nr * sizeof *r);
        c->ref_chars += nr;
        c->char_edits += char_distance(r, nr, h, nh);
        c->ref_words += nwr;
        c->hyp_words += nwh;
        c->word_edits += word_distance(wr, nwr, wh, nwh);
        c->words_found += words_matched(wr, nwr, wh, nwh);
    }
    free(wr);
    free(wh);
    free(r);
    free(h);
}

double jp_ocr_cer(const jp_ocr_counts *c)
{
    if (!c) return 0;
    if (!c->ref_chars) return c->char_edits ? 1.0 : 0.0;
    return (double)c->char_edits / (double)c->ref_chars;
}

double jp_ocr_wer(const jp_ocr_counts *c)
{
    if (!c) return 0;
    if (!c->ref_words) return c->word_edits ? 1.0 : 0.0;
    return (double)c->word_edits / (double)c->ref_words;
}

double jp_ocr_recall(const jp_ocr_counts *c)
{
    if (!c || !c->ref_words) return 1.0;
    return (double)c->words_found / (double)c->ref_words;
}
