/* Internal pieces of the classify workload (the public API is in include/jouleprint/workloads.h). */
#ifndef JP_WORKLOAD_CLASSIFY_H
#define JP_WORKLOAD_CLASSIFY_H

#include "jouleprint/workloads.h"

/* jp_classify_run with m (may be NULL) already started by the caller, who also stops it: marks the
 * phases "load" and "infer" only. The result's energy fields are left at 0. */
int jp_classify_run_phases(const jp_classify_config *cfg, jp_meter *m, jp_classify_result *out);

/* Fashion-MNIST's IDX files (gzip or plain). Images are [n][rows][cols] bytes. */
typedef struct jp_idx_images {
    int n, rows, cols;
    uint8_t *pixels;
    uint8_t *labels; /* n labels, or NULL */
    bool pixels_shared, labels_shared; /* the session's cache's (read only; jp_idx_free leaves them) */
} jp_idx_images;
/* Reads an image file and, when labels_path is not NULL, its label file (the counts must agree). In a
 * session (jp_workloads_session_begin) each file is decoded once and shared: read only, valid until the
 * session ends. */
int jp_idx_read(const char *images_path, const char *labels_path, jp_idx_images *out);
void jp_idx_free(jp_idx_images *d);
/* Reads Fashion-MNIST's test (or, test = false, training) split from data_dir (NULL:
 * $JP_FASHION_MNIST, else /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist). */
int jp_fashion_mnist_read(const char *data_dir, bool test, jp_idx_images *out);
/* How many IDX files this process has decoded so far (the session's cache saves the rest). */
unsigned long jp_idx_decodes(void);

#endif
