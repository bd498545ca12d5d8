/* The word sets of the summarization models' word constraint (words.h). */
#define _POSIX_C_SOURCE 200809L
#include "nn/words.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_WORDS 1000000
#define MAX_WORD_BYTES 64

static uint64_t key_of(uint64_t h, uint64_t salt)
{
    uint64_t k = h ^ (salt * 0x9e3779b97f4a7c15ULL);
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k | 1; /* never 0, the empty slot */
}

int jp_wordset_init(jp_wordset *s, size_t max_bytes)
{
    memset(s, 0, sizeof *s);
    if (max_bytes > ((size_t)1 << 30)) return jp_fail(JP_ERR_RANGE, "word set of %zu bytes is too large", max_bytes);
    for (s->cap = 16; s->cap < 2 * max_bytes;) s->cap *= 2;
    s->max = s->cap / 2;
    s->keys = calloc(s->cap, sizeof *s->keys);
    s->flags = calloc(s->cap, 1);
    if (!s->keys || !s->flags) {
        jp_wordset_free(s);
        return jp_fail(JP_ERR_NOMEM, "out of memory for a word set of %zu bytes", max_bytes);
    }
    return JP_OK;
}

void jp_wordset_free(jp_wordset *s)
{
    free(s->keys);
    free(s->flags);
    memset(s, 0, sizeof *s);
}

void jp_wordset_clear(jp_wordset *s)
{
    if (!s->n) return;
    memset(s->keys, 0, s->cap * sizeof *s->keys);
    memset(s->flags, 0, s->cap);
    s->n = 0;
}

static int put(jp_wordset *s, uint64_t h, uint64_t salt, unsigned flag)
{
    uint64_t k = key_of(h, salt);
    for (size_t i = (size_t)(k >> 1) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[i] == k) {
            s->flags[i] |= (unsigned char)flag;
            return 0;
        }
        if (s->keys[i] == 0) {
            if (s->n >= s->max) return -1;
            s->keys[i] = k;
            s->flags[i] = (unsigned char)flag;
            s->n++;
            return 0;
        }
    }
}

unsigned jp_wordset_get(const jp_wordset *s, uint64_t h, uint64_t salt)
{
    if (!s->cap) return 0;
    uint64_t k = key_of(h, salt);
    for (size_t i = (size_t)(k >> 1) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[i] == k) return s->flags[i];
        if (s->keys[i] == 0) return 0;
    }
}

int jp_wordset_add(jp_wordset *s, const unsigned char *b, size_t n, uint64_t salt)
{
    uint64_t h = JP_WORD_START;
    int in = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && jp_word_byte(b[i])) {
            h = jp_word_step(in ? h : JP_WORD_START, b[i]);
            in = 1;
            if (put(s, h, salt, JP_WORD_PREFIX)) return -1;
        } else if (in) {
            if (put(s, h, salt, JP_WORD_WHOLE)) return -1;
            in = 0;
        }
    }
    return 0;
}

int jp_wordset_load(jp_wordset *s, const char *path)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "rb");
    if (!f) return jp_fail(errno == ENOENT ? JP_ERR_NOTFOUND : JP_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    char line[MAX_WORD_BYTES + 3];
    int rc = JP_OK;
    long count = -1, lineno = 0;
    char tail;
    if (!fgets(line, sizeof line, f) || strcmp(line, "jouleprint-words 1\n") != 0) {
        rc = jp_fail(JP_ERR_PARSE, "%s: line 1: expected \"jouleprint-words 1\"", path);
        goto done;
    }
    if (!fgets(line, sizeof line, f) || sscanf(line, "words %ld%c", &count, &tail) != 2 || tail != '\n' || count < 0 ||
        count > MAX_WORDS) {
        rc = jp_fail(JP_ERR_PARSE, "%s: line 2: expected \"words N\" with N in 0..%d", path, MAX_WORDS);
        goto done;
    }
    if ((rc = jp_wordset_init(s, (size_t)count * MAX_WORD_BYTES / 4 + 16)) != JP_OK) goto done;
    for (lineno = 3; lineno < count + 3; lineno++) {
        if (!fgets(line, sizeof line, f)) {
            rc = jp_fail(JP_ERR_PARSE, "%s: line %ld: %s (the header says %ld words)", path, lineno,
                         ferror(f) ? "read error" : "the file ends", count);
            goto done;
        }
        size_t n = strlen(line);
        if (n < 2 || n > MAX_WORD_BYTES + 1 || line[n - 1] != '\n') {
            rc = jp_fail(JP_ERR_PARSE, "%s: line %ld: expected a word of 1..%d bytes", path, lineno, MAX_WORD_BYTES);
            goto done;
        }
        n--;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)line[i];
            if (!jp_word_byte(c) || (c >= 'A' && c <= 'Z')) {
                rc = jp_fail(JP_ERR_PARSE, "%s: line %ld: byte %zu is 0x%02x, expected [a-z0-9] or a non-ASCII byte",
                             path, lineno, i + 1, c);
                goto done;
            }
        }
        if (s->n + n > s->max) { /* the estimate above was short: grow */
            jp_wordset bigger;
            if ((rc = jp_wordset_init(&bigger, 2 * (s->max + n))) != JP_OK) goto done;
            for (size_t i = 0; i < s->cap; i++)
                if (s->keys[i]) {
                    size_t j = (size_t)(s->keys[i] >> 1) & (bigger.cap - 1);
                    while (bigger.keys[j]) j = (j + 1) & (bigger.cap - 1);
                    bigger.keys[j] = s->keys[i];
                    bigger.flags[j] = s->flags[i];
                    bigger.n++;
                }
            jp_wordset_free(s);
            *s = bigger;
        }
        jp_wordset_add(s, (const unsigned char *)line, n, 0);
    }
    if (fgets(line, sizeof line, f)) rc = jp_fail(JP_ERR_PARSE, "%s: line %ld: more than the %ld words the header says", path, lineno, count);
done:
    fclose(f);
    if (rc != JP_OK) jp_wordset_free(s);
    return rc;
}
