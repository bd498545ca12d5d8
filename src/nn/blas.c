/* OpenBLAS loaded at run time; see blas.h. */
#define _POSIX_C_SOURCE 200809L
#include "nn/blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DEFAULT_LIBRARY "libopenblas.so.0"
/* The CBLAS constants (the reference CBLAS header's values, which OpenBLAS uses). */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*threads_fn)(int);
typedef char *(*string_fn)(void);

static struct {
    pthread_once_t once;
    int rc;
    char why[512];
    sgemm_fn sgemm;
    threads_fn set_threads;
    string_fn config, corename;
} blas = {PTHREAD_ONCE_INIT, 0, "", NULL, NULL, NULL, NULL};

/* dlsym into a function pointer without the object-to-function pointer cast ISO C leaves undefined. */
static void *sym(void *dl, const char *name) { return dlsym(dl, name); }
#define LOOKUP(field, name) memcpy(&blas.field, &(void *){sym(dl, name)}, sizeof blas.field)

static void load(void)
{
    const char *path = getenv("JP_OPENBLAS_LIBRARY");
    if (!path || !*path) path = DEFAULT_LIBRARY;
    dlerror();
    /* never unloaded: OpenBLAS leaves its thread pool behind */
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        blas.rc = JP_ERR_NOTFOUND;
        snprintf(blas.why, sizeof blas.why,
                 "cannot load OpenBLAS (%s): %s; install it with scripts/bootstrap (Debian libopenblas-dev), or set "
                 "JP_OPENBLAS_LIBRARY",
                 path, e ? e : "dlopen failed");
        return;
    }
    LOOKUP(sgemm, "cblas_sgemm");
    LOOKUP(set_threads, "openblas_set_num_threads");
    LOOKUP(config, "openblas_get_config");
    LOOKUP(corename, "openblas_get_corename");
    if (!blas.sgemm) {
        blas.rc = JP_ERR_NOTFOUND;
        snprintf(blas.why, sizeof blas.why, "%s has no cblas_sgemm: not a CBLAS library", path);
        return;
    }
    if (blas.set_threads) blas.set_threads(1);
}

int jp_nn_blas_init(void)
{
    pthread_once(&blas.once, load);
    return blas.rc ? jp_fail(blas.rc, "%s", blas.why) : JP_OK;
}

void jp_nn_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc)
{
    pthread_once(&blas.once, load);
    if (blas.sgemm) {
        blas.sgemm(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float s = 0;
            for (int q = 0; q < k; q++)
                s += (ta ? a[(size_t)q * lda + i] : a[(size_t)i * lda + q]) * (tb ? b[(size_t)j * ldb + q] : b[(size_t)q * ldb + j]);
            c[(size_t)i * ldc + j] = alpha * s + (beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j]);
        }
}

void jp_nn_blas_threads(int threads)
{
    pthread_once(&blas.once, load);
    if (blas.set_threads) blas.set_threads(threads);
}

void jp_nn_blas_describe(char *buf, size_t len)
{
    pthread_once(&blas.once, load);
    if (!blas.sgemm) {
        snprintf(buf, len, "none (%s)", blas.why);
        return;
    }
    const char *cfg = blas.config ? blas.config() : NULL, *core = blas.corename ? blas.corename() : NULL;
    snprintf(buf, len, "%s / kernel %s", cfg ? cfg : "?", core ? core : "?");
}
