/* OCR workload helpers: the generator, UTF-8, the data folder, the word list. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workload/dirs.h"
#include "workload/ocr.h"

jp_rng jp_rng_for(uint64_t seed, uint64_t a, uint64_t b)
{
    jp_rng r = {seed};
    uint64_t x = jp_rng_next(&r);
    r.s = x ^ (a * 0xd1342543de82ef95ULL);
    x = jp_rng_next(&r);
    r.s = x ^ (b * 0xaf251af3b0f025b5ULL);
    jp_rng_next(&r);
    return r;
}

uint64_t jp_fnv1a(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint32_t *jp_utf8_decode(const char *s, size_t *n)
{
    size_t len = strlen(s);
    uint32_t *out = malloc((len + 1) * sizeof *out);
    if (!out) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t k = 0, i = 0;
    while (i < len) {
        unsigned c = p[i];
        int extra;
        uint32_t cp, min;
        if (c < 0x80) {
            out[k++] = c;
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, cp = c & 0x07, min = 0x10000;
        } else {
            out[k++] = 0xfffd;
            i++;
            continue;
        }
        int ok = 1;
        for (int j = 1; ok && j <= extra; j++) {
            if (i + (size_t)j >= len || (p[i + j] & 0xc0) != 0x80) ok = 0;
            else cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            out[k++] = 0xfffd;
            i++;
            continue;
        }
        out[k++] = cp;
        i += (size_t)extra + 1;
    }
    *n = k;
    return out;
}

int jp_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (jp_pathf(buf, sizeof buf, "%s", path) != JP_OK) return JP_ERR_RANGE;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return jp_fail(errno == EACCES ? JP_ERR_PERM : JP_ERR_IO, "%s: cannot create: %s", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return jp_fail(JP_ERR_IO, "%s: not a folder", path);
    return JP_OK;
}

int jp_ocr_data_root(char *buf, size_t len)
{
    const char *env = getenv("JP_DATA_DIR");
    if (env && *env) return jp_pathf(buf, len, "%s", env);
    const char *def = jp_workloads_data_default();
    if (def) return jp_pathf(buf, len, "%s", def);
    return jp_pathf(buf, len, "data");
}

/* ---- the word list ---- */

static pthread_once_t words_once = PTHREAD_ONCE_INIT;
static int words_rc;
static char words_err[PATH_MAX + 200];
static char *words_text;
static const char **words_list;
static size_t words_n;
static uint64_t words_digest;

static void load_words(void)
{
    char root[PATH_MAX], path[PATH_MAX + 32];
    if (jp_ocr_data_root(root, sizeof root) != JP_OK) {
        words_rc = JP_ERR_RANGE;
        snprintf(words_err, sizeof words_err, "the data folder's path is too long");
        return;
    }
    snprintf(path, sizeof path, "%s/ocr/words.txt", root);
    int orc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) {
        words_rc = JP_ERR_NOTFOUND;
        snprintf(words_err, sizeof words_err,
                 "cannot read the OCR word list (%s); it ships in the source tree as data/ocr/words.txt: "
                 "set JP_DATA_DIR to the tree's data folder",
                 jp_last_error());
        return;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap + 1);
    while (text) {
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (len < cap) break;
        char *t = realloc(text, cap * 2 + 1);
        if (!t) {
            free(text);
            text = NULL;
            break;
        }
        text = t;
        cap *= 2;
    }
    fclose(f);
    if (!text) {
        words_rc = JP_ERR_NOMEM;
        snprintf(words_err, sizeof words_err, "out of memory reading %s", path);
        return;
    }
    text[len] = '\0';
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    const char **list = malloc(lines * sizeof *list);
    if (!list) {
        free(text);
        words_rc = JP_ERR_NOMEM;
        snprintf(words_err, sizeof words_err, "out of memory reading %s", path);
        return;
    }
    size_t n = 0;
    uint64_t h = JP_FNV_INIT;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        char *end = line + strlen(line);
        while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
        while (*line == ' ' || *line == '\t') line++;
        if (*line && *line != '#') {
            list[n++] = line;
            h = jp_fnv1a(line, strlen(line) + 1, h);
        }
        line = nl ? nl + 1 : NULL;
    }
    if (n < 10) {
        free(list);
        free(text);
        words_rc = JP_ERR_PARSE;
        snprintf(words_err, sizeof words_err, "%s: fewer than 10 words", path);
        return;
    }
    words_text = text;
    words_list = list;
    words_n = n;
    words_digest = h;
    words_rc = JP_OK;
}

int jp_ocr_words(const char *const **words, size_t *n, uint64_t *digest)
{
    pthread_once(&words_once, load_words);
    if (words_rc != JP_OK) return jp_fail(words_rc, "%s", words_err);
    *words = words_list;
    *n = words_n;
    if (digest) *digest = words_digest;
    return JP_OK;
}
