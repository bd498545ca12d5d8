/*
 * The inference engine's model (internal to libjouleprint-workloads), shared by the files that make and
 * run it: model.c (allocation, config.json, loading and freeing), model_build.c (the weights of the four
 * families and their layers), model_pool.c (the worker threads and the operations one image splits
 * across them) and model_forward.c (the forward pass of each family): config.json + model.safetensors
 * -> a loaded network with all its workspace allocated, and the forward passes of the four families
 * (mlp, cnn, resnet, vit).
 *
 * Tensor names follow Hugging Face transformers for the families it has (ResNetForImageClassification,
 * ViTForImageClassification); the MLP and CNN use the same conventions ("classifier", ".convolution",
 * ".normalization"). Batch norm is folded into the preceding convolution at load.
 *
 * Threads: a model loaded with T threads keeps T-1 worker threads (OpenBLAS itself is kept on one
 * thread). A batch of two or more images is split into up to T slices run side by side, one forward
 * pass each; a single image runs on the calling thread with each large convolution, linear layer and
 * attention split across the T threads (by output rows, output columns, heads) where the measured time
 * per image says that is faster (split_choice.h). Workers spin briefly before sleeping, so that the many
 * short hand-offs of a single image stay cheap. Every buffer is allocated at load: jp_nn_forward
 * allocates nothing. */
#ifndef JP_NN_MODEL_IMPL_H
#define JP_NN_MODEL_IMPL_H

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/ops.h"
#include "nn/safetensors.h"
#include "nn/split_choice.h"
#include "util.h"
#include "nn/nn.h"

#define BN_EPS 1e-5
/* Everything a model may allocate, weights and workspace together (4 GiB): a config that asks for
 * more (a huge image_size, a large batch of large images) is refused before anything that size is
 * allocated, with a message naming the figure. */
#define MAX_MODEL_BYTES ((size_t)4 << 30)
/* A config.json is a page of JSON (ImageNet's 1000 labels make the largest, about 30 KB). */
#define MAX_CONFIG_BYTES ((size_t)16 << 20)
#define MAX_THREADS 64
/* Below this many FLOPs an operation on a single image is not worth splitting across threads. */
#define PAR_MIN_FLOPS 150000.0
/* How long a worker (or the caller waiting for workers) spins before sleeping, seconds. */
#define SPIN_S 200e-6

enum family { FAM_MLP, FAM_CNN, FAM_RESNET, FAM_VIT };

typedef struct linear {
    int in, out;
    float *w, *b;
    float *wt; /* w transposed ([in][out]) for jp_nn_rows512, where the CPU has AVX-512; else NULL */
} linear;

typedef struct block { /* one ResNet layer: 2 (basic) or 3 (bottleneck) convolutions and a shortcut */
    jp_nn_conv conv[3];
    int nconv;
    jp_nn_conv sc;
    int has_sc;
} block;

typedef struct vit_layer {
    float *ln1_g, *ln1_b, *ln2_g, *ln2_b;
    linear qkv, out, fc1, fc2;
} vit_layer;

typedef struct lane {
    struct jp_nn_model *m;
    int index;
    float *buf[4];  /* activations */
    float *col;     /* im2col workspace */
    float *scores;  /* attention scores, t x t */
    float *feats;   /* where the images in progress put their penultimate features, or NULL */
    pthread_t thread;
    int started;
} lane;

struct jp_nn_model {
    enum family fam;
    int c, h, w, nlabels;
    char **labels;
    float mean, std;
    uint64_t params;
    double flops;
    int max_batch, threads, lane_batch;
    int sub_batch; /* images a lane runs at once, so that its activations stay in cache */

    /* mlp: hidden layers; cnn: fully connected layer (fc[0]) */
    linear *fc;
    int nfc;
    linear cls;

    /* cnn: convolutions, each followed by ReLU and a 2x2 max-pool */
    jp_nn_conv *convs;
    int nconvs;

    /* resnet */
    jp_nn_conv stem;
    int stem_pool;
    block *blocks;
    int nblocks;

    /* vit */
    int patch, dim, heads, inter, tokens;
    float ln_eps;
    linear patch_proj; /* dim x (c*patch*patch) */
    float *cls_token, *pos;
    vit_layer *layers;
    int nlayers;
    float *final_g, *final_b;

    size_t act_size, col_size, buf_size[4]; /* floats per lane */
    float *input;                           /* max_batch * c*h*w, for jp_nn_forward_u8 */
    void **allocs;
    size_t nallocs, capallocs;
    size_t allocated;  /* bytes, against MAX_MODEL_BYTES */
    size_t over_bytes; /* the request that went over it (0: none) */
    lane lanes[MAX_THREADS];

    /* the worker pool */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int pool_ready;
    atomic_ulong generation;
    atomic_int pending, quit;
    void (*task)(struct jp_nn_model *m, int li, int lanes, void *arg);
    void *task_arg;
    int task_lanes;
    int intra; /* the forward pass in progress is one image with operations split across lanes */
    /* Whether a single image is split across the lanes at all (split_choice.h): on 2 threads that is
     * faster for some models and settings and slower for others (each operation too short for two cores
     * to gain on the synchronization, or the second core busy with other work). Chosen from the measured
     * time per image, again every JP_SPLIT_REPROBE_S seconds. */
    jp_nn_split_choice split;
    const float *job_in;
    float *job_logits;
    float *job_feats; /* jp_nn_forward_features: [batch][cls.in], or NULL */
    int job_batch;
};

/* config.json as read (model.c) */
struct cfg {
    const char *path;
    json_t *root;
};

/* ---- model.c: allocation (recorded, freed together, bounded by jp_nn_max_model_bytes) and config ---- */
void *jp_nnm_zalloc(jp_nn_model *m, size_t bytes);
float *jp_nnm_falloc(jp_nn_model *m, size_t n);
int jp_nnm_prod_int(const char *path, const char *what, size_t a, size_t b, size_t c, int *out);
int jp_nnm_cfg_int(const struct cfg *c, const char *key, int def, int lo, int hi, int *out);
int jp_nnm_cfg_bool(const struct cfg *c, const char *key, int def, int *out);
int jp_nnm_cfg_ints(const struct cfg *c, const char *key, int *out, int max, int *n);
int jp_nnm_cfg_act(const struct cfg *c, const char *want);

/* ---- model_build.c: each family's layers and weights from the safetensors file ---------------------- */
int jp_nnm_build_mlp(jp_nn_model *m, const struct cfg *c, jp_safetensors *st);
int jp_nnm_build_cnn(jp_nn_model *m, const struct cfg *c, jp_safetensors *st);
int jp_nnm_build_resnet(jp_nn_model *m, const struct cfg *c, jp_safetensors *st);
int jp_nnm_build_vit(jp_nn_model *m, const struct cfg *c, jp_safetensors *st);

/* ---- model_pool.c: the worker pool and the operations a single image splits across it ------------- */
typedef void (*task_fn)(jp_nn_model *m, int li, int lanes, void *arg);
/* The share of total that lane li of lanes starts at. */
static inline int jp_nnm_split(int total, int li, int lanes) { return (int)((long long)total * li / lanes); }
void jp_nnm_pool_run(jp_nn_model *m, task_fn fn, void *arg, int lanes);
void jp_nnm_conv(jp_nn_model *m, lane *L, const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                 const float *res, jp_nn_act act);
/* A convolution followed by 2x2 stride-2 max pooling in one pass (jp_nn_conv2d_wino_pool_rows), where the
 * convolution runs Winograd's (c->wino), the activation is none or ReLU and h and w are even: out gets
 * the pooled [cout][n][h/2][w/2]; returns 1. Otherwise does nothing and returns 0. */
int jp_nnm_conv_pool(jp_nn_model *m, lane *L, const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                     jp_nn_act act);
void jp_nnm_lin(jp_nn_model *m, const float *x, int rows, const linear *l, float *y, int acc, jp_nn_act act);
void jp_nnm_attn(jp_nn_model *m, lane *L, const float *qkv, int n, float *ctx);
int jp_nnm_start_pool(jp_nn_model *m);
void jp_nnm_pool_stop(jp_nn_model *m);

#endif
