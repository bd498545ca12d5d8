/* The diffusion UNet of jouleprint's text-to-image models (models/gen-*, trained by models/gen/train.py):
 * config.json ("model_type": "jp-unet") + model.safetensors -> one network evaluation eps(x_t, t, label).
 *
 * The model is read-only once loaded and may be shared by threads; each thread evaluates it with its own
 * workspace (jp_unet_ws), allocated once for up to max_n images: jp_unet_eps allocates nothing. */
#ifndef JP_NN_UNET_H
#define JP_NN_UNET_H

#include <stddef.h>
#include <stdint.h>

#define JP_UNET_MAX_LEVELS 4
#define JP_UNET_MAX_LABELS 64

typedef struct jp_unet jp_unet;
typedef struct jp_unet_ws jp_unet_ws;

typedef struct jp_unet_info {
    int image_size, num_labels, null_class, train_timesteps;
    int levels, widths[JP_UNET_MAX_LEVELS], res_blocks, attention, heads;
    uint64_t params;
    double flops; /* per image and network evaluation */
} jp_unet_info;

/* Loads dir/config.json and dir/model.safetensors. Every shape is checked against the config and every
 * tensor of the file must be used; errors name the file and the field or tensor. */
int jp_unet_load(jp_unet **out, const char *dir);
void jp_unet_free(jp_unet *u);
void jp_unet_info_get(const jp_unet *u, jp_unet_info *info);
/* The class names of config.json's id2label (0 .. num_labels-1), and each class's synonyms (lower case;
 * *n of them). */
const char *jp_unet_label(const jp_unet *u, int i);
const char *const *jp_unet_synonyms(const jp_unet *u, int i, int *n);
/* The training schedule's cumulative alphas, train_timesteps of them. */
const float *jp_unet_alphas_cumprod(const jp_unet *u);

/* Workspace for evaluating up to max_n images at once. NULL when out of memory. */
jp_unet_ws *jp_unet_ws_new(const jp_unet *u, int max_n);
void jp_unet_ws_free(jp_unet_ws *ws);

/* eps[n][hw] = the network's noise prediction for the images x[n][hw] (one channel, hw = size^2) at
 * timesteps t[n] with class labels[n] (null_class for none). 1 <= n <= the workspace's max_n. */
void jp_unet_eps(const jp_unet *u, jp_unet_ws *ws, const float *x, const float *t, const int *labels, int n, float *eps);

#endif
