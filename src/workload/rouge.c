/* ROUGE-1/2/L as Google's rouge-score package computes them, lead-1, and a UTF-8 check (jouleprint.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "jouleprint/workloads.h"
#include "util.h"

/* ---- ROUGE ------------------------------------------------------------------------------------ */

static int is_tok(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c; }

/* Token spans of s: start offsets and lengths. */
static size_t spans(const char *s, size_t *start, size_t *len)
{
    size_t n = 0, i = 0;
    while (s[i]) {
        if (!is_tok((unsigned char)s[i])) {
            i++;
            continue;
        }
        size_t b = i;
        while (s[i] && is_tok((unsigned char)s[i])) i++;
        if (start) {
            start[n] = b;
            len[n] = i - b;
        }
        n++;
    }
    return n;
}

static int same_tok(const char *a, size_t al, const char *b, size_t bl)
{
    if (al != bl) return 0;
    for (size_t i = 0; i < al; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static jp_rouge_prf prf(size_t hit, size_t npred, size_t nref)
{
    jp_rouge_prf s;
    s.p = npred ? (double)hit / (double)npred : 0.0;
    s.r = nref ? (double)hit / (double)nref : 0.0;
    s.f = (s.p + s.r) > 0 ? 2 * s.p * s.r / (s.p + s.r) : 0.0;
    return s;
}

/* Clipped n-gram matches between token-id lists a (na) and b (nb); ids < 2^21 so that 3 fit in 64 bits. */
static size_t ngram_hits(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, int n, uint64_t *ka,
                         uint64_t *kb, size_t *ca, size_t *cb)
{
    size_t ma = na >= (size_t)n ? na - (size_t)n + 1 : 0, mb = nb >= (size_t)n ? nb - (size_t)n + 1 : 0;
    for (size_t i = 0; i < ma; i++) {
        uint64_t k = 0;
        for (int j = 0; j < n; j++) k = (k << 21) | a[i + (size_t)j];
        ka[i] = k;
    }
    for (size_t i = 0; i < mb; i++) {
        uint64_t k = 0;
        for (int j = 0; j < n; j++) k = (k << 21) | b[i + (size_t)j];
        kb[i] = k;
    }
    qsort(ka, ma, sizeof *ka, cmp_u64);
    qsort(kb, mb, sizeof *kb, cmp_u64);
    size_t i = 0, j = 0, hit = 0;
    while (i < ma && j < mb) {
        if (ka[i] == kb[j]) {
            hit++;
            i++;
            j++;
        } else if (ka[i] < kb[j]) {
            i++;
        } else {
            j++;
        }
    }
    *ca = ma;
    *cb = mb;
    return hit;
}

int jp_rouge(const char *pred, const char *ref, jp_rouge_scores *out)
{
    memset(out, 0, sizeof *out);
    size_t np = spans(pred, NULL, NULL), nr = spans(ref, NULL, NULL), nt = np + nr;
    size_t *st = malloc((nt + 1) * sizeof *st), *ln = malloc((nt + 1) * sizeof *ln);
    uint32_t *id = malloc((nt + 1) * sizeof *id);
    uint64_t *k = malloc((nt + 2) * sizeof *k);
    size_t *row = calloc(nr + 1, sizeof *row);
    if (!st || !ln || !id || !k || !row || nt >= (1u << 21)) {
        free(st), free(ln), free(id), free(k), free(row);
        return jp_fail(JP_ERR_NOMEM, "ROUGE: out of memory (%zu tokens)", nt);
    }
    spans(pred, st, ln);
    spans(ref, st + np, ln + np);
    /* ids: the index of the first equal token (quadratic, fine for summaries) */
    for (size_t i = 0; i < nt; i++) {
        const char *si = i < np ? pred + st[i] : ref + st[i];
        id[i] = (uint32_t)i;
        for (size_t j = 0; j < i; j++) {
            const char *sj = j < np ? pred + st[j] : ref + st[j];
            if (same_tok(si, ln[i], sj, ln[j])) {
                id[i] = id[j];
                break;
            }
        }
    }
    const uint32_t *a = id, *b = id + np;
    size_t ca, cb, hit;
    hit = ngram_hits(a, np, b, nr, 1, k, k + np + 1, &ca, &cb);
    out->r1 = prf(hit, ca, cb);
    hit = ngram_hits(a, np, b, nr, 2, k, k + np + 1, &ca, &cb);
    out->r2 = prf(hit, ca, cb);
    for (size_t i = 1; i <= np; i++) {
        size_t diag = 0;
        for (size_t j = 1; j <= nr; j++) {
            size_t up = row[j];
            row[j] = a[i - 1] == b[j - 1] ? diag + 1 : (up > row[j - 1] ? up : row[j - 1]);
            diag = up;
        }
    }
    out->rl = prf(row[nr], np, nr);
    free(st), free(ln), free(id), free(k), free(row);
    return JP_OK;
}

/* ---- UTF-8 ------------------------------------------------------------------------------------ */

/* Length of the well-formed sequence at s (at most n bytes), or 0 if it is not one (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
size_t jp_utf8_seq(const unsigned char *s, size_t n);
size_t jp_utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return 0;
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

bool jp_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t k = jp_utf8_seq(u + i, len - i);
        if (k == 0) {
            if (bad_offset) *bad_offset = i;
            return false;
        }
        i += k;
    }
    return true;
}

/* ---- lead-1 ----------------------------------------------------------------------------------- */

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Does the word ending at text[end] (the '.') look like an abbreviation? */
static int abbreviation(const char *t, size_t word_start, size_t dot)
{
    size_t wl = dot - word_start;
    if (wl == 1) return 1; /* "e." of "e.g.", an initial "J." */
    static const char *abbr[] = {"e.g", "i.e", "etc", "vs", "Mr", "Mrs", "Dr", "cf", "approx", "resp", "incl"};
    for (size_t i = 0; i < sizeof abbr / sizeof abbr[0]; i++)
        if (strlen(abbr[i]) == wl && !memcmp(t + word_start, abbr[i], wl)) return 1;
    return 0;
}

size_t jp_lead1(const char *text, char *buf, size_t len)
{
    size_t n = strlen(text), i = 0, end = n;
    while (i < n && is_space((unsigned char)text[i])) i++;
    size_t begin = i, word = i;
    for (; i < n; i++) {
        char c = text[i];
        if (is_space((unsigned char)c)) {
            word = i + 1;
            continue;
        }
        if ((c == '.' || c == '!' || c == '?') && (i + 1 == n || is_space((unsigned char)text[i + 1]))) {
            if (c == '.' && abbreviation(text, word, i)) continue;
            end = i + 1;
            break;
        }
    }
    /* copy begin..end with white space runs made one space, trailing space dropped */
    size_t o = 0;
    int sp = 0;
    for (i = begin; i < end; i++) {
        unsigned char c = (unsigned char)text[i];
        if (is_space(c)) {
            sp = 1;
            continue;
        }
        if (sp) {
            if (o + 1 < len) buf[o] = ' ';
            o++;
            sp = 0;
        }
        if (o + 1 < len) buf[o] = (char)c;
        o++;
    }
    if (len) buf[o < len ? o : len - 1] = '\0';
    return o;
}
