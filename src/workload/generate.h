/* Internal pieces of the generate workload (the public API is in jouleprint.h). */
#ifndef JP_WORKLOAD_GENERATE_H
#define JP_WORKLOAD_GENERATE_H

#include "jouleprint/workloads.h"
#include "nn/nn.h"
#include "nn/unet.h"

/* A DDIM sampler for one model, with every buffer for `batch` images on `threads` threads allocated
 * at creation: jp_gen_sample allocates nothing (its threads are started per call, outside the steps). */
typedef struct jp_gen_sampler jp_gen_sampler;
int jp_gen_sampler_new(jp_gen_sampler **out, const jp_unet *u, int batch, int threads);
void jp_gen_sampler_free(jp_gen_sampler *s);

/* The S timesteps of an S-step DDIM run, noisiest first: t_i = floor((i+1) T / S) - 1, as
 * models/gen/train.py. ts must hold steps values. */
void jp_gen_timesteps(int steps, int T, int *ts);

/* Denoises n images from noise[n][hw] with labels[n], by DDIM (eta 0; x0 clipped to [-1, 1]) over
 * `steps` steps with classifier-free guidance g (g = 1: conditional only): out[n][hw] in [-1, 1].
 * Images are taken `batch` at a time, each batch split across the threads. */
int jp_gen_sample(jp_gen_sampler *s, const float *noise, const int *labels, int n, int steps, float guidance,
                  float *out, void (*progress)(void *, long, long), void *arg);

/* Standard normal noise for image (seed, a, b): hw values from the project's splitmix64 generator
 * (Box-Muller), the same on every machine. */
void jp_gen_noise(uint64_t seed, uint64_t a, uint64_t b, int hw, float *out);

/* [-1, 1] -> 0..255, round to nearest. */
uint8_t jp_gen_pixel(float v);

/* Quality pieces (gen_quality.c). The Frechet distance from means and covariances ([d], [d][d]). */
int jp_frechet_from_moments(const double *m1, const double *c1, const double *m2, const double *c2, int d, double *out);
/* Mean over the nq query images of the L2 distance (pixels / 255) to the nearest pool image. */
int jp_nearest_l2(const uint8_t *query, int nq, const uint8_t *pool, int np, int hw, double *mean_out);
/* The zoo's classifier of highest test accuracy. */
int jp_gen_best_classifier(const char *models_dir, jp_classify_model_info *out);
/* Predicted labels (pred may be NULL) and penultimate features [n][feature_dim] of n images. */
int jp_gen_features(jp_nn_model *clf, const uint8_t *pixels, int n, int batch, int *pred, float *feats);

#endif
