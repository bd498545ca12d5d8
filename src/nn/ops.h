/* The operations of the inference engine, on plain float32 arrays. None allocates.
 *
 * Layouts. Convolutional networks keep activations as CNHW: channel-major across the whole batch
 * ([C][N][H][W]), so that one convolution over the batch is one matrix product
 * W[Cout x Cin*k*k] * col[Cin*k*k x N*OH*OW]. Transformers and MLPs keep rows: [N*T x D], row-major.
 * Linear layers and attention go through CBLAS (OpenBLAS). Convolutions use the engine's own
 * register-tiled product (ops.c: few output channels, long rows, no packing needed), with bias,
 * residual and activation applied as each tile is stored; stride-1 "same" convolutions skip im2col,
 * and 3x3 ones go through Winograd's F(2x2, 3x3) where the CPU has AVX-512 (winograd.c). */
#ifndef JP_NN_OPS_H
#define JP_NN_OPS_H

#include <stddef.h>

typedef enum jp_nn_act { JP_ACT_NONE, JP_ACT_RELU, JP_ACT_GELU } jp_nn_act;

/* A 2-D convolution with its batch norm already folded in (w, b). w is [cout][cin][k][k]. */
typedef struct jp_nn_conv {
    int cin, cout, k, stride, pad;
    float *w;    /* cout * cin * k * k */
    float *b;    /* cout */
    float *wino; /* NULL, or the weights transformed for Winograd (jp_nn_wino_pack): then jp_nn_conv2d uses it */
} jp_nn_conv;

/* Output side of a convolution or pooling window. */
static inline int jp_nn_out_size(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

/* Floats of workspace a convolution needs for n images of h x w: im2col columns, taken in cache-sized
 * chunks of output rows (0 for 1x1 stride-1 unpadded), or the padded input of an implicit convolution. */
size_t jp_nn_conv_col_size(const jp_nn_conv *c, int n, int h, int w);

/* Folds batch norm (gamma, beta, running mean and variance, eps) into a convolution: c->w is scaled,
 * and c->b, which holds the convolution's own bias (zeros if it has none), receives the folded bias.
 * Computed in double. */
void jp_nn_fold_bn(jp_nn_conv *c, const float *gamma, const float *beta, const float *mean, const float *var, double eps);

/* im2col on CNHW for output rows r0 .. r1-1, where output row r is image r / OH, line oy = r % OH:
 * col[(ci*k + ky)*k + kx][(r-r0)*OW + ox] = in[ci][b][oy*s+ky-p][ox*s+kx-p] (0 outside). */
void jp_nn_im2col_rows(const float *in, int cin, int n, int h, int w, int k, int stride, int pad, int r0, int r1,
                       float *col);

/* out = act(conv(in) + b [+ residual]); in is CNHW [cin][n][h][w], out [cout][n][oh][ow], residual
 * (may be NULL) the same shape as out. col is workspace of jp_nn_conv_col_size floats. */
void jp_nn_conv2d(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out, const float *residual,
                  jp_nn_act act, float *col);
/* The same for output rows r0 .. r1-1 only (of n*OH; see jp_nn_im2col_rows): disjoint row ranges can
 * run on different threads, each with its own col. Not for implicit convolutions (below). */
void jp_nn_conv2d_rows(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out, const float *residual,
                       jp_nn_act act, float *col, int r0, int r1);

/* Stride-1 "same" convolutions (odd k, padding k/2) run without im2col: jp_nn_conv_pad copies the input
 * once with a zero border (into jp_nn_conv_pad_size floats), and the product reads the k*k shifted
 * windows of that copy in place. jp_nn_conv2d does both; to split one convolution across threads, pad
 * once, then give each thread a disjoint range of output rows (of n*h). */
int jp_nn_conv_is_implicit(const jp_nn_conv *c);
size_t jp_nn_conv_pad_size(const jp_nn_conv *c, int n, int h, int w);
void jp_nn_conv_pad(const jp_nn_conv *c, const float *in, int n, int h, int w, float *padded);
void jp_nn_conv2d_padded_rows(const jp_nn_conv *c, const float *padded, int n, int h, int w, float *out,
                              const float *residual, jp_nn_act act, int r0, int r1);

/* Winograd F(2x2, 3x3) for 3x3 stride-1 "same" convolutions (winograd.c): 16 multiply-adds per 2x2 output
 * pixels and channel pair instead of 36. jp_nn_conv_wino_ok says whether c qualifies on this CPU (AVX-512,
 * at least 16 input and output channels); a loader that wants it sets c->wino to jp_nn_wino_weights_size
 * floats filled by jp_nn_wino_pack (after any batch-norm folding), and jp_nn_conv2d then uses it for
 * activations none and ReLU; its workspace is included in jp_nn_conv_col_size. */
int jp_nn_conv_wino_ok(const jp_nn_conv *c);
size_t jp_nn_wino_weights_size(const jp_nn_conv *c);
void jp_nn_wino_pack(const jp_nn_conv *c, float *U);
size_t jp_nn_wino_ws_size(const jp_nn_conv *c, int n, int h, int w);
void jp_nn_conv2d_wino(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out, const float *residual,
                       jp_nn_act act, float *ws);
/* The same for tile rows r0 .. r1-1 only (of jp_nn_wino_tile_rows: each image's rows of 2x2 output tiles,
 * image after image): disjoint ranges can run on different threads, each with its own workspace. */
int jp_nn_wino_tile_rows(int n, int h);
void jp_nn_conv2d_wino_rows(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                            const float *residual, jp_nn_act act, float *ws, int r0, int r1);
/* The same convolution (activation none or ReLU, no residual; h and w even) followed by 2x2 stride-2 max
 * pooling in the output transform: each 2x2 tile is one pooling window, so out is [cout][n][h/2][w/2] and
 * the full-size output is never written (jp_nn_conv2d then jp_nn_maxpool2d, in one pass). */
void jp_nn_conv2d_wino_pool_rows(const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                                 jp_nn_act act, float *ws, int r0, int r1);

/* The convolutions' product with its epilogue in AVX-512 registers (kernels512.c): C = act(A B + bias[row]
 * + col_bias[col] [+ residual]) (either bias may be NULL; residual may be C itself), row-major, act none or
 * ReLU. Linear layers use it with B their weight transposed at load and the bias per column. jp_nn_gemm512_ok says whether this CPU has AVX-512 (and
 * the kernels are enabled); the engine's products use it then, and their portable form otherwise.
 * jp_nn_avx512_set_enabled(0) turns off it and Winograd's convolutions (which need the same CPU): tests
 * and benchmarks compare both in one process. */
int jp_nn_gemm512_ok(void);
void jp_nn_avx512_set_enabled(int on);
void jp_nn_gemm512(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                   const float *bias, const float *col_bias, const float *residual, jp_nn_act act);
/* A few rows through a linear layer whose weight was transposed at load (Bt = W^T, K x N, row-major):
 * C[M x N] = act(A Bt + bias[col] [+ C if accumulate]), act none or ReLU. For M up to a few rows (a
 * single image's or a decoder step's linear layers), where it streams the weight once; AVX-512 only
 * (jp_nn_gemm512_ok). */
void jp_nn_rows512(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc,
                   const float *bias, int accumulate, jp_nn_act act);
/* A linear layer's rows through its weight transposed at load, bias per column: jp_nn_rows512 up to 4
 * rows, jp_nn_gemm512's tiles for more (the accumulation as a residual that is C itself). AVX-512 only. */
void jp_nn_linear512(int M, int N, int K, const float *A, int lda, const float *Bt, int ldb, float *C, int ldc,
                     const float *bias, int accumulate, jp_nn_act act);
/* Transposes src [rows][cols] into dst [cols][rows]. */
void jp_nn_transpose(const float *src, size_t rows, size_t cols, float *dst);
/* jp_nn_conv2d_padded_rows with its tiles in AVX-512 registers (act none or ReLU; off: the cin*k*k row
 * offsets of the padded input, as that function computes them). */
void jp_nn_conv_implicit512(const jp_nn_conv *c, const float *padded, int n, int h, int w, float *out,
                            const float *residual, jp_nn_act act, const int *off, int r0, int r1);
/* 2x2 stride-2 unpadded max pooling (jp_nn_maxpool2d's common case) in AVX-512 registers. */
void jp_nn_maxpool2x2_512(const float *in, int planes, int h, int w, float *out);

/* Max pooling over planes (planes = C*N in CNHW), -inf padding as PyTorch. */
void jp_nn_maxpool2d(const float *in, int planes, int h, int w, int k, int stride, int pad, float *out);
/* Global average pooling: in CNHW [c][n][h*w] -> out [n][c] (rows, ready for a linear layer). */
void jp_nn_global_avgpool(const float *in, int c, int n, int hw, float *out);
/* CNHW [c][n][hw] -> rows [n][c*hw] (PyTorch's flatten of NCHW). */
void jp_nn_cnhw_to_rows(const float *in, int c, int n, int hw, float *out);
/* NCHW [n][c][hw] -> CNHW [c][n][hw]. */
void jp_nn_nchw_to_cnhw(const float *in, int n, int c, int hw, float *out);

/* y[m x out] = act(x[m x in] * W^T + b), W is [out][in] (PyTorch's Linear). With accumulate, y is
 * added to instead of overwritten (a residual connection) and act must be NONE. b may be NULL. */
void jp_nn_linear(const float *x, int m, int in, const float *w, const float *b, int out, float *y, int accumulate,
                  jp_nn_act act);
/* The same for output columns o0 .. o1-1 only (disjoint ranges can run on different threads). */
void jp_nn_linear_cols(const float *x, int m, int in, const float *w, const float *b, int out, float *y, int accumulate,
                       jp_nn_act act, int o0, int o1);

/* Per row of length d: y = (x - mean) / sqrt(var + eps) * gamma + beta. x and y may be the same. */
void jp_nn_layernorm(const float *x, int rows, int d, const float *gamma, const float *beta, float eps, float *y);
/* Softmax of each row, in place. */
void jp_nn_softmax_rows(float *x, int rows, int d);
/* What one model may allocate in all (bytes; 4 GiB): a fuzz target lowers it. */
extern size_t jp_nn_max_model_bytes;
void jp_nn_relu(float *x, size_t n);
/* The erf GELU, as PyTorch's default and Hugging Face's "gelu" (erf to within 1.5e-7). */
void jp_nn_gelu(float *x, size_t n);
/* y += x */
void jp_nn_add(float *y, const float *x, size_t n);

/* Multi-head self-attention for n sequences of t tokens. qkv is [n*t][3*d] (queries, keys, values side
 * by side, each d = heads * dh wide, head h in columns h*dh..); ctx gets [n*t][d]. scores is workspace
 * of t*t floats. */
void jp_nn_attention(const float *qkv, int n, int t, int d, int heads, float *ctx, float *scores);
/* The same for (sequence, head) pairs j0 .. j1-1, pair j being sequence j / heads, head j % heads. */
void jp_nn_attention_range(const float *qkv, int n, int t, int d, int heads, float *ctx, float *scores, int j0, int j1);

/* ---- the diffusion UNet's operations (CNHW unless said) ---- */

/* Group norm: for each image and each of `groups` groups of c / groups consecutive channels,
 * y = (x - mean) / sqrt(var + eps) * gamma[ch] + beta[ch], statistics (biased variance, as PyTorch)
 * over the group's channels and positions, in double; with silu, y = silu(y) as well. x and y may be
 * the same. c must be a multiple of groups. */
void jp_nn_groupnorm(const float *x, int c, int n, int hw, int groups, const float *gamma, const float *beta,
                     float eps, int silu, float *y);
/* x = x * sigmoid(x) */
void jp_nn_silu(float *x, size_t n);
/* Nearest-neighbour 2x upsampling of planes: in [planes][h][w] -> out [planes][2h][2w]. */
void jp_nn_upsample2x(const float *in, int planes, int h, int w, float *out);
/* x[ch][img][p] += v[img][ch] for every position p: a per-image, per-channel bias (the projected
 * timestep embedding of a residual block). */
void jp_nn_add_channel_bias(float *x, int c, int n, int hw, const float *v);
/* The sinusoidal timestep embedding: out[i][j] = sin(t[i] f_j) for j < dim/2 and cos(t[i] f_(j-dim/2))
 * after, f_j = exp(-ln(10000) j / (dim/2)), computed in float as PyTorch does. dim must be even. */
void jp_nn_timestep_embedding(const float *t, int n, int dim, float *out);
/* CNHW [c][n][hw] -> tokens [n*hw][c] (token p of image i is row i*hw + p). */
void jp_nn_cnhw_to_tokens(const float *in, int c, int n, int hw, float *out);
/* out[ch][i][p] += tok[i*hw + p][ch]: tokens back onto a CNHW activation, as a residual. */
void jp_nn_tokens_add_cnhw(const float *tok, int c, int n, int hw, float *out);

/* For benchmarks: OpenBLAS's best single-precision matrix-product rate on this machine, in GFLOP/s,
 * over reps products of size x size matrices on `threads` threads. Allocates. */
double jp_nn_sgemm_gflops(int threads, int size, int reps);

#endif
