/* The engine's access to OpenBLAS, loaded at run time (dlopen) the first time the engine needs it.
 *
 * OpenBLAS starts its thread pool as soon as it is loaded, and each pool thread spins for its first
 * tenth of a second or so: linked into libjouleprint, that would cost every jouleprint process (stat,
 * record, each test) a busy core at start-up, inside the very measurements the tool makes. Loaded here
 * instead, only processes that run a model pay it, in their "load" phase. JP_OPENBLAS_LIBRARY names
 * another library to load (default libopenblas.so.0, Debian's libopenblas0 through libopenblas-dev).
 * If none can be loaded, jp_nn_blas_init says why and jp_nn_load refuses the model with that message;
 * the products below then run a plain loop (slow but correct), so that the operations never fail. */
#ifndef JP_NN_BLAS_H
#define JP_NN_BLAS_H

#include <stddef.h>

/* Loads OpenBLAS once (thread-safe; it is set to one thread when loaded). JP_OK, or JP_ERR_NOTFOUND
 * with the reason in jp_last_error(). */
int jp_nn_blas_init(void);

/* Row-major C = alpha op(A) op(B) + beta C, op = transpose when ta / tb are non-zero (CBLAS sgemm). */
void jp_nn_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc);

/* OpenBLAS's (process-wide) thread count. */
void jp_nn_blas_threads(int threads);
/* OpenBLAS's build configuration and the kernel it chose for this CPU ("OpenBLAS 0.3.21 ... / Haswell"),
 * or why it is not loaded. */
void jp_nn_blas_describe(char *buf, size_t len);

#endif
