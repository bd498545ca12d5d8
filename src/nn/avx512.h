/* What the engine's AVX-512 files (kernels512.c, winograd.c) share: the target attribute of their
 * functions and the mask of a partial vector. Include only under x86-64 GCC or Clang. */
#ifndef JP_NN_AVX512_H
#define JP_NN_AVX512_H

#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/* The first n lanes of a 16-float vector (none for n <= 0, all for n >= 16). */
static inline __mmask16 jp_lanes16(int n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

#endif
