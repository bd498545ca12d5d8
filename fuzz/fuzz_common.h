/* Shared by the fuzz targets: a private scratch folder and small file helpers. Each target defines
 * LLVMFuzzerTestOneInput; built with clang's libFuzzer by `make fuzz`, and with replay_main.c by the
 * normal build so that ctest replays the corpus and the regression inputs (tests/fuzz/<target>/). */
#ifndef JP_FUZZ_COMMON_H
#define JP_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A folder of this process's own, made once. */
static inline const char *fz_dir(void)
{
    static char dir[256];
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/jp-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) abort();
    }
    return dir;
}

/* Writes len bytes to <fz_dir>/name; returns the path (static buffer per call site is the caller's). */
static inline void fz_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (len && fwrite(data, 1, len, f) != len) abort();
    fclose(f);
}

static inline void fz_path(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", fz_dir(), name); }

/* Splits data at the first occurrence of sep: part 0 before it, part 1 after (empty if absent). */
static inline void fz_split(const uint8_t *data, size_t size, const char *sep, const uint8_t **a, size_t *alen,
                            const uint8_t **b, size_t *blen)
{
    size_t sl = strlen(sep);
    const uint8_t *at = sl && size >= sl ? memmem(data, size, sep, sl) : NULL;
    *a = data;
    if (!at) {
        *alen = size;
        *b = data + size;
        *blen = 0;
        return;
    }
    *alen = (size_t)(at - data);
    *b = at + sl;
    *blen = size - *alen - sl;
}

/* A NUL-terminated copy. */
static inline char *fz_str(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);
    if (!s) abort();
    memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

#define FZ_CHECK(cond)                                                                      \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#endif
