/* The summarization models' byte-level BPE tokenizer (jouleprint.h), the exact rules of
 * data/summarize/build.py:
 *   ids 0 <pad>, 1 </s>, 2 <s>, 3..258 the bytes 0..255, 259 + r the merge of rank r;
 *   normalization: every run of the bytes 09 0A 0B 0C 0D 20 becomes one space; leading and trailing
 *   spaces are removed;
 *   chunks: ` ?[A-Za-z0-9\x80-\xff]+| ?[^A-Za-z0-9\x80-\xff ]` over the bytes;
 *   a chunk starts as its bytes; while some adjacent pair has a merge rank, the pair of lowest rank is
 *   merged at every occurrence, left to right without overlap.
 * The file: "jouleprint-bpe 1", "merges N", then N lines "LEFT RIGHT" (ids that exist before the merge). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jouleprint/workloads.h"
#include "nn/words.h"
#include "util.h"

#define NSPECIAL 3
#define MAX_MERGES 65000

struct jp_bpe {
    int nmerges, vocab;
    int32_t *left, *right; /* per merge */
    uint32_t *off, *len;   /* token bytes in pool */
    unsigned char *pool;
    uint64_t *keys;        /* open addressing: (left << 32 | right) + 1, 0 = empty */
    int32_t *ranks;
    size_t cap;            /* power of two */
    uint64_t hash;
};

static size_t slot_of(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static int rank_of(const jp_bpe *t, int32_t a, int32_t b)
{
    uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    for (size_t s = slot_of(k, t->cap);; s = (s + 1) & (t->cap - 1)) {
        if (t->keys[s] == 0) return -1;
        if (t->keys[s] == k) return t->ranks[s];
    }
}

void jp_bpe_free(jp_bpe *t)
{
    if (!t) return;
    free(t->left);
    free(t->right);
    free(t->off);
    free(t->len);
    free(t->pool);
    free(t->keys);
    free(t->ranks);
    free(t);
}

int jp_bpe_vocab_size(const jp_bpe *t) { return t->vocab; }
uint64_t jp_bpe_hash(const jp_bpe *t) { return t->hash; }

int jp_bpe_load(jp_bpe **out, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return jp_fail(errno == ENOENT ? JP_ERR_NOTFOUND : JP_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    char *text = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            if (cap > (size_t)16 << 20) {
                free(text);
                fclose(f);
                return jp_fail(JP_ERR_PARSE, "%s: over 16 MB, not a tokenizer file", path);
            }
            cap = cap ? 2 * cap : 65536 * 2;
            char *p = realloc(text, cap + 1);
            if (!p) {
                free(text);
                fclose(f);
                return jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
            }
            text = p;
        }
        size_t got = fread(text + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(text);
        return jp_fail(JP_ERR_IO, "%s: read error", path);
    }
    text[n] = '\0';
    jp_bpe *t = calloc(1, sizeof *t);
    if (!t) {
        free(text);
        return jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
    }
    t->hash = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) t->hash = (t->hash ^ (unsigned char)text[i]) * 0x100000001b3ULL;
    int rc = JP_OK;
    char *line = text, *next;
    int lineno = 1, nm = -1;
    next = strchr(line, '\n');
    if (!next || (size_t)(next - line) != strlen("jouleprint-bpe 1") || strncmp(line, "jouleprint-bpe 1", 16) != 0) {
        rc = jp_fail(JP_ERR_PARSE, "%s: line 1: expected \"jouleprint-bpe 1\"", path);
        goto done;
    }
    line = next + 1;
    lineno = 2;
    next = strchr(line, '\n');
    {
        char tail;
        if (!next || sscanf(line, "merges %d%c", &nm, &tail) != 2 || tail != '\n' || nm < 0 || nm > MAX_MERGES) {
            rc = jp_fail(JP_ERR_PARSE, "%s: line 2: expected \"merges N\" with N in 0..%d", path, MAX_MERGES);
            goto done;
        }
    }
    t->nmerges = nm;
    t->vocab = NSPECIAL + 256 + nm;
    t->left = malloc(((size_t)nm + 1) * sizeof *t->left);
    t->right = malloc(((size_t)nm + 1) * sizeof *t->right);
    t->off = malloc((size_t)t->vocab * sizeof *t->off);
    t->len = malloc((size_t)t->vocab * sizeof *t->len);
    for (t->cap = 16; t->cap < 2 * ((size_t)nm + 1);) t->cap *= 2;
    t->keys = calloc(t->cap, sizeof *t->keys);
    t->ranks = malloc(t->cap * sizeof *t->ranks);
    if (!t->left || !t->right || !t->off || !t->len || !t->keys || !t->ranks) {
        rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t pool_len = 256;
    for (int r = 0; r < nm; r++) {
        line = next + 1;
        lineno++;
        next = strchr(line, '\n');
        long a, b;
        char *e1, *e2;
        if (next) *next = '\0';
        a = strtol(line, &e1, 10);
        b = (e1 != line && *e1 == ' ') ? strtol(e1 + 1, &e2, 10) : -1;
        if (!next || e1 == line || *e1 != ' ' || b < 0 || *e2 != '\0' || a < NSPECIAL || b < NSPECIAL ||
            a >= NSPECIAL + 256 + r || b >= NSPECIAL + 256 + r) {
            rc = jp_fail(JP_ERR_PARSE, "%s: line %d: expected two token ids in %d..%d (\"LEFT RIGHT\")", path, lineno,
                         NSPECIAL, NSPECIAL + 256 + r - 1);
            goto done;
        }
        t->left[r] = (int32_t)a;
        t->right[r] = (int32_t)b;
        uint64_t k = (((uint64_t)a << 32) | (uint64_t)b) + 1;
        size_t s = slot_of(k, t->cap);
        while (t->keys[s] && t->keys[s] != k) s = (s + 1) & (t->cap - 1);
        if (t->keys[s] == k) {
            rc = jp_fail(JP_ERR_PARSE, "%s: line %d: the merge %ld %ld appears twice", path, lineno, a, b);
            goto done;
        }
        t->keys[s] = k;
        t->ranks[s] = r;
    }
    if (next[1] != '\0') {
        rc = jp_fail(JP_ERR_PARSE, "%s: line %d: unexpected text after the %d merges", path, lineno + 1, nm);
        goto done;
    }
    /* token bytes */
    for (int i = 0; i < NSPECIAL; i++) t->off[i] = 0, t->len[i] = 0;
    for (int i = 0; i < 256; i++) t->off[NSPECIAL + i] = (uint32_t)i, t->len[NSPECIAL + i] = 1;
    for (int r = 0; r < nm; r++) {
        size_t l = (size_t)t->len[t->left[r]] + t->len[t->right[r]];
        if (l > 4096) {
            rc = jp_fail(JP_ERR_PARSE, "%s: line %d: a token of over 4096 bytes", path, r + 3);
            goto done;
        }
        t->len[NSPECIAL + 256 + r] = (uint32_t)l;
        pool_len += l;
    }
    t->pool = malloc(pool_len);
    if (!t->pool) {
        rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < 256; i++) t->pool[i] = (unsigned char)i;
    size_t o = 256;
    for (int r = 0; r < nm; r++) {
        int id = NSPECIAL + 256 + r, a = t->left[r], b = t->right[r];
        t->off[id] = (uint32_t)o;
        memcpy(t->pool + o, t->pool + t->off[a], t->len[a]);
        memcpy(t->pool + o + t->len[a], t->pool + t->off[b], t->len[b]);
        o += t->len[id];
    }
done:
    free(text);
    if (rc != JP_OK) {
        jp_bpe_free(t);
        return rc;
    }
    *out = t;
    return JP_OK;
}

static int wordish(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}
static int ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

/* Encodes one chunk (n bytes) in place in s (n ids); returns the new count. */
static size_t encode_chunk(const jp_bpe *t, int32_t *s, size_t n)
{
    while (n > 1) {
        int best = -1;
        int32_t ba = 0, bb = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            int r = rank_of(t, s[i], s[i + 1]);
            if (r >= 0 && (best < 0 || r < best)) best = r, ba = s[i], bb = s[i + 1];
        }
        if (best < 0) break;
        int32_t id = NSPECIAL + 256 + best;
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && s[i] == ba && s[i + 1] == bb) {
                s[o++] = id;
                i += 2;
            } else {
                s[o++] = s[i++];
            }
        }
        n = o;
    }
    return n;
}

long jp_bpe_encode(const jp_bpe *t, const char *text, size_t len, int32_t *ids, size_t max)
{
    const unsigned char *u = (const unsigned char *)text;
    /* normalized copy: white space runs -> one space, trimmed */
    unsigned char *b = malloc(len + 1);
    int32_t *work = malloc((len + 1) * sizeof *work);
    if (!b || !work) {
        free(b);
        free(work);
        return jp_fail(JP_ERR_NOMEM, "tokenizer: out of memory for %zu bytes", len);
    }
    size_t n = 0;
    int pend = 0;
    for (size_t i = 0; i < len; i++) {
        if (ws(u[i])) {
            pend = n > 0;
            continue;
        }
        if (pend) b[n++] = ' ';
        pend = 0;
        b[n++] = u[i];
    }
    long total = 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        if (b[i] == ' ') i++;
        if (i < n && wordish(b[i])) {
            while (i < n && wordish(b[i])) i++;
        } else {
            i++;
        }
        size_t m = i - start;
        for (size_t k = 0; k < m; k++) work[k] = NSPECIAL + b[start + k];
        m = encode_chunk(t, work, m);
        for (size_t k = 0; k < m; k++, total++)
            if ((size_t)total < max) ids[total] = work[k];
    }
    free(b);
    free(work);
    return total;
}

size_t jp_utf8_seq(const unsigned char *s, size_t n); /* src/workload/rouge.c */

size_t jp_bpe_decode(const jp_bpe *t, const int32_t *ids, size_t n, char *buf, size_t len)
{
    /* bytes of the tokens, then invalid UTF-8 replaced, then surrounding spaces removed; done in one
     * pass over a virtual concatenation by copying into buf as we go would need look-ahead across
     * tokens, so the bytes are gathered first (bounded: 4096 bytes a token) */
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= NSPECIAL && ids[i] < t->vocab) total += t->len[ids[i]];
    unsigned char *raw = malloc(total + 1);
    if (!raw) {
        if (len) buf[0] = '\0';
        return 0;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= NSPECIAL && ids[i] < t->vocab) {
            memcpy(raw + o, t->pool + t->off[ids[i]], t->len[ids[i]]);
            o += t->len[ids[i]];
        }
    size_t b = 0, e = total;
    while (b < e && ws(raw[b])) b++;
    while (e > b && ws(raw[e - 1])) e--;
    size_t w = 0;
    for (size_t i = b; i < e;) {
        size_t k = jp_utf8_seq(raw + i, e - i);
        const unsigned char *src = raw + i;
        static const unsigned char repl[3] = {0xEF, 0xBF, 0xBD};
        if (k == 0) src = repl, k = 3, i += 1;
        else i += k;
        for (size_t j = 0; j < k; j++, w++)
            if (w + 1 < len) buf[w] = (char)src[j];
    }
    if (len) buf[w < len ? w : len - 1] = '\0';
    free(raw);
    return w;
}

const unsigned char *jp_bpe_piece(const jp_bpe *t, int id, size_t *len)
{
    if (id < NSPECIAL || id >= t->vocab) {
        *len = 0;
        return NULL;
    }
    *len = t->len[id];
    return t->pool + t->off[id];
}
