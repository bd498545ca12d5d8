/*
 * The inference engine of libjouleprint-workloads (internal: the public workloads are in
 * include/jouleprint/workloads.h).
 *
 * A compact float32 inference engine (src/nn/) for image classifiers: MLPs, CNNs, ResNets and vision
 * transformers, read from a folder holding config.json and model.safetensors with Hugging Face's
 * tensor names and config keys (ResNetForImageClassification, ViTForImageClassification). Batch norm
 * is folded into the convolutions at load; matrix work goes through OpenBLAS. Every buffer is
 * allocated at load, none while inferring. The project's zoo (models/, trained on Fashion-MNIST by
 * models/train.py) is run by jp_classify_run, which measures it in phases "load" and "infer".
 */
#ifndef JP_NN_H
#define JP_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct jp_nn_model jp_nn_model;

/* Loads dir/config.json and dir/model.safetensors. max_batch: the largest batch that will be given
 * to jp_nn_forward (workspace for it is allocated now); threads: 1..64 threads for inference (T-1
 * worker threads are started: a batch of two or more is split across them, and a single image has
 * its larger operations split across them). OpenBLAS is set to one thread (process-wide), since the
 * engine threads itself. A truncated or inconsistent safetensors file, a tensor of the wrong shape or dtype,
 * a missing or unexpected tensor, or a config the engine cannot run, fails with JP_ERR_PARSE and a
 * message naming the file and the tensor. */
int jp_nn_load(jp_nn_model **out, const char *dir, int max_batch, int threads);
/* The same with the two files named. */
int jp_nn_load_files(jp_nn_model **out, const char *config_path, const char *weights_path, int max_batch,
                     int threads);
void jp_nn_free(jp_nn_model *m);

/* Logits [batch][num_labels] of images given as float NCHW [batch][channels][height][width], already
 * normalized. 1 <= batch <= max_batch. Allocates nothing. One call at a time per model (a model's
 * workspace and worker threads serve one forward pass); load a model per calling thread otherwise. */
int jp_nn_forward(jp_nn_model *m, const float *input, int batch, float *logits);
/* The same from 8-bit pixels, normalized as the model's config says ((p/255 - mean) / std). */
int jp_nn_forward_u8(jp_nn_model *m, const uint8_t *pixels, int batch, float *logits);
/* Both, also giving each image's penultimate features (the input of the classifier head, feature_dim
 * wide: the pooled features of a CNN or ResNet, the final [CLS] token of a ViT) in features
 * [batch][feature_dim]. */
int jp_nn_forward_features(jp_nn_model *m, const float *input, int batch, float *logits, float *features);
int jp_nn_forward_u8_features(jp_nn_model *m, const uint8_t *pixels, int batch, float *logits, float *features);

typedef struct jp_nn_info {
    char type[16];                  /* "mlp", "cnn", "resnet", "vit" */
    int channels, height, width;    /* the input */
    int num_labels;
    uint64_t params;                /* learned parameters (batch-norm running statistics excluded) */
    double flops;                   /* per image: 2 x multiply-accumulates of convolutions, linear layers
                                       and attention products */
    int max_batch, threads;
    float input_mean, input_std;
    int feature_dim;                /* width of the penultimate features (the classifier head's input) */
} jp_nn_info;
void jp_nn_info_get(const jp_nn_model *m, jp_nn_info *info);
/* The name of label i (config.json's id2label), or NULL out of range. */
const char *jp_nn_label(const jp_nn_model *m, int i);
#endif
