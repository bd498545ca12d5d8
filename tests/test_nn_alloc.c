/* Once a model is loaded, inference allocates nothing: this program counts every malloc, calloc,
 * realloc and aligned allocation made by any thread (the engine's workers and OpenBLAS included) while
 * forward passes run, for every model of the zoo, at batch sizes that take each threading path.
 * (glibc only; skipped under AddressSanitizer, which owns malloc.) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jouleprint.h"
#include "nn/nn.h"

#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
#define COUNTING 0
#else
#define COUNTING 1
static volatile int counting;
static long allocations;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static void note(void)
{
    if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
}
void *malloc(size_t n)
{
    note();
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    note();
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    note();
    return __libc_realloc(p, n);
}
void *memalign(size_t a, size_t n)
{
    note();
    return __libc_memalign(a, n);
}
void *aligned_alloc(size_t a, size_t n)
{
    note();
    return __libc_memalign(a, n);
}
int posix_memalign(void **out, size_t a, size_t n)
{
    note();
    *out = __libc_memalign(a, n);
    return *out ? 0 : ENOMEM;
}
void free(void *p) { __libc_free(p); }
#endif

static void test_no_allocation(void **state)
{
    (void)state;
    if (!COUNTING) skip();
    char zoo[1024];
    const char *src = getenv("JP_TEST_SRC_DIR");
    snprintf(zoo, sizeof zoo, "%s/models", src ? src : ".");
    DIR *d = opendir(zoo);
    if (!d) skip();
    struct dirent *e;
    int models = 0;
    float *in = calloc((size_t)64 * 784, sizeof *in), *logits = malloc((size_t)64 * 10 * sizeof *logits);
    uint8_t *px = calloc((size_t)64 * 784, 1);
    assert_true(in && logits && px);
    for (int i = 0; i < 64 * 784; i++) in[i] = (float)(i % 13) * 0.1f - 0.5f;
    while ((e = readdir(d))) {
        char dir[2048];
        if (e->d_name[0] == '.' || snprintf(dir, sizeof dir, "%s/%s", zoo, e->d_name) >= (int)sizeof dir) continue;
        for (int threads = 1; threads <= 2; threads++) {
            jp_nn_model *m;
            if (jp_nn_load(&m, dir, 64, threads) != JP_OK) continue; /* not a model folder */
            /* a first pass of each kind, so that OpenBLAS sets up its buffers */
            assert_int_equal(jp_nn_forward(m, in, 64, logits), JP_OK);
            assert_int_equal(jp_nn_forward(m, in, 1, logits), JP_OK);
#if COUNTING
            allocations = 0;
            counting = 1;
#endif
            for (int k = 0; k < 3; k++) {
                jp_nn_forward(m, in, 64, logits);
                jp_nn_forward(m, in, 7, logits);
                jp_nn_forward(m, in, 1, logits);
                jp_nn_forward_u8(m, px, 33, logits);
            }
#if COUNTING
            counting = 0;
            if (allocations) fail_msg("%s (%d threads): %ld allocations while inferring", e->d_name, threads, allocations);
#endif
            jp_nn_free(m);
            models += threads == 1;
        }
    }
    closedir(d);
    free(in);
    free(logits);
    free(px);
    print_message("%d models: no allocation in forward passes\n", models);
    assert_true(models >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_allocation)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
