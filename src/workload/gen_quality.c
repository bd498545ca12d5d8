/* The quality of generated images: prompt adherence by the zoo's best classifier, the Frechet distance
 * between the classifier's penultimate features of generated and real images ("FID" in that feature
 * space; the matrix square root through LAPACK), and the mean distance from each generated image to its
 * nearest training image (a model that copies training images scores a small one). */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blas.h"
#include "util.h"
#include "workload/classify.h"
#include "workload/generate.h"

/* mean [d] and covariance [d][d] (divided by n - 1) of x [n][d], in double */
static void moments(const float *x, int n, int d, double *mean, double *cov)
{
    memset(mean, 0, (size_t)d * sizeof *mean);
    memset(cov, 0, (size_t)d * d * sizeof *cov);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[(size_t)i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= n;
    double *row = malloc((size_t)d * sizeof *row);
    if (!row) return;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) row[j] = x[(size_t)i * d + j] - mean[j];
        for (int a = 0; a < d; a++) {
            double ra = row[a];
            double *c = cov + (size_t)a * d;
            for (int b = a; b < d; b++) c[b] += ra * row[b];
        }
    }
    free(row);
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) {
            double v = cov[(size_t)a * d + b] / (n - 1);
            cov[(size_t)a * d + b] = cov[(size_t)b * d + a] = v;
        }
}

/* LAPACKE is loaded at run time, like OpenBLAS (see nn/blas.h): Debian's LAPACK is OpenBLAS's, and
 * linked it would start OpenBLAS's spinning thread pool in every jouleprint process. lapacke.h gives
 * the prototype only. JP_LAPACKE_LIBRARY names another library. */
typedef lapack_int (*dsyevd_fn)(int, char, char, lapack_int, double *, lapack_int, double *);
static dsyevd_fn dsyevd;
static char lapacke_error[300];
static pthread_once_t lapacke_once = PTHREAD_ONCE_INIT;

static void lapacke_load(void)
{
    (void)jp_nn_blas_init(); /* OpenBLAS first, so that it is set to one thread */
    const char *name = getenv("JP_LAPACKE_LIBRARY");
    if (!name || !*name) name = "liblapacke.so.3";
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(lapacke_error, sizeof lapacke_error, "%s cannot be loaded (Debian's liblapacke): %s", name, dlerror());
        return;
    }
    *(void **)&dsyevd = dlsym(h, "LAPACKE_dsyevd");
    if (!dsyevd) snprintf(lapacke_error, sizeof lapacke_error, "%s has no LAPACKE_dsyevd", name);
}

/* Symmetric a [d][d] -> its eigenvalues w and eigenvectors (columns of a, row-major). */
static int eig(double *a, int d, double *w)
{
    pthread_once(&lapacke_once, lapacke_load);
    if (!dsyevd) return jp_fail(JP_ERR_NOTFOUND, "%s", lapacke_error);
    lapack_int info = dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, a, d, w);
    return info == 0 ? JP_OK : jp_fail(JP_ERR_RANGE, "the eigen-decomposition did not converge (LAPACK dsyevd info %d)", (int)info);
}

int jp_frechet_from_moments(const double *m1, const double *c1, const double *m2, const double *c2, int d, double *out)
{
    /* d^2 = |m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr((C1 C2)^(1/2)), and tr((C1 C2)^(1/2)) is the sum of the
     * square roots of the eigenvalues of the symmetric C1^(1/2) C2 C1^(1/2). */
    size_t dd = (size_t)d * d;
    double *v = malloc(dd * sizeof *v), *w = malloc((size_t)d * sizeof *w), *s = malloc(dd * sizeof *s),
           *t = malloc(dd * sizeof *t);
    int rc = JP_OK;
    if (!v || !w || !s || !t) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(v, c1, dd * sizeof *v);
    if ((rc = eig(v, d, w))) goto done;
    /* s = C1^(1/2) = V diag(sqrt(max(w, 0))) V^T */
    for (int i = 0; i < d; i++) w[i] = w[i] > 0 ? sqrt(w[i]) : 0;
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double acc = 0;
            for (int k = 0; k < d; k++) acc += v[(size_t)a * d + k] * w[k] * v[(size_t)b * d + k];
            s[(size_t)a * d + b] = acc;
        }
    /* t = s C2 s */
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double acc = 0;
            for (int k = 0; k < d; k++) acc += s[(size_t)a * d + k] * c2[(size_t)k * d + b];
            v[(size_t)a * d + b] = acc;
        }
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double acc = 0;
            for (int k = 0; k < d; k++) acc += v[(size_t)a * d + k] * s[(size_t)k * d + b];
            t[(size_t)a * d + b] = acc;
        }
    for (int a = 0; a < d; a++) /* symmetrize against rounding */
        for (int b = a + 1; b < d; b++) t[(size_t)a * d + b] = t[(size_t)b * d + a] = 0.5 * (t[(size_t)a * d + b] + t[(size_t)b * d + a]);
    if ((rc = eig(t, d, w))) goto done;
    double tr_sqrt = 0, tr1 = 0, tr2 = 0, dm = 0;
    for (int i = 0; i < d; i++) {
        tr_sqrt += w[i] > 0 ? sqrt(w[i]) : 0;
        tr1 += c1[(size_t)i * d + i];
        tr2 += c2[(size_t)i * d + i];
        dm += (m1[i] - m2[i]) * (m1[i] - m2[i]);
    }
    double f = dm + tr1 + tr2 - 2 * tr_sqrt;
    *out = f > 0 ? f : 0; /* rounding can leave -1e-12 for identical sets */
done:
    free(v), free(w), free(s), free(t);
    return rc;
}

int jp_frechet_distance(const float *a, int na, const float *b, int nb, int d, double *out)
{
    if (!a || !b || !out) return jp_fail(JP_ERR_INVAL, "jp_frechet_distance: NULL argument");
    if (na < 2 || nb < 2) return jp_fail(JP_ERR_RANGE, "the Frechet distance needs at least 2 samples per set (got %d and %d)", na, nb);
    if (d < 1 || d > 4096) return jp_fail(JP_ERR_RANGE, "feature width %d outside 1..4096", d);
    size_t dd = (size_t)d * d;
    double *m1 = malloc((size_t)d * sizeof *m1), *m2 = malloc((size_t)d * sizeof *m2), *c1 = malloc(dd * sizeof *c1),
           *c2 = malloc(dd * sizeof *c2);
    int rc;
    if (!m1 || !m2 || !c1 || !c2) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
    } else {
        moments(a, na, d, m1, c1);
        moments(b, nb, d, m2, c2);
        rc = jp_frechet_from_moments(m1, c1, m2, c2, d, out);
    }
    free(m1), free(m2), free(c1), free(c2);
    return rc;
}

int jp_nearest_l2(const uint8_t *query, int nq, const uint8_t *pool, int np, int hw, double *mean_out)
{
    if (!query || !pool || !mean_out || nq < 1 || np < 1 || hw < 1) return jp_fail(JP_ERR_INVAL, "jp_nearest_l2: bad arguments");
    (void)jp_nn_blas_init(); /* without OpenBLAS the product runs as a plain loop */
    jp_clear_error();
    /* |q - p|^2 = |q|^2 + |p|^2 - 2 q.p, the products by sgemm over chunks of the pool */
    enum { CHUNK = 2048 };
    float *q = malloc((size_t)nq * hw * sizeof *q), *p = malloc((size_t)CHUNK * hw * sizeof *p),
          *g = malloc((size_t)nq * CHUNK * sizeof *g), *qn = malloc((size_t)nq * sizeof *qn),
          *pn = malloc((size_t)CHUNK * sizeof *pn), *best = malloc((size_t)nq * sizeof *best);
    int rc = JP_OK;
    if (!q || !p || !g || !qn || !pn || !best) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < nq; i++) {
        double s = 0;
        for (int k = 0; k < hw; k++) {
            float v = query[(size_t)i * hw + k] / 255.0f;
            q[(size_t)i * hw + k] = v;
            s += (double)v * v;
        }
        qn[i] = (float)s;
        best[i] = INFINITY;
    }
    for (int at = 0; at < np; at += CHUNK) {
        int c = np - at < CHUNK ? np - at : CHUNK;
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (int k = 0; k < hw; k++) {
                float v = pool[(size_t)(at + j) * hw + k] / 255.0f;
                p[(size_t)j * hw + k] = v;
                s += (double)v * v;
            }
            pn[j] = (float)s;
        }
        jp_nn_sgemm(0, 1, nq, c, hw, 1.0f, q, hw, p, hw, 0.0f, g, c);
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < c; j++) {
                float d2 = qn[i] + pn[j] - 2.0f * g[(size_t)i * c + j];
                if (d2 < best[i]) best[i] = d2;
            }
    }
    double sum = 0;
    for (int i = 0; i < nq; i++) sum += sqrt(best[i] > 0 ? best[i] : 0);
    *mean_out = sum / nq;
done:
    free(q), free(p), free(g), free(qn), free(pn), free(best);
    return rc;
}

int jp_gen_best_classifier(const char *models_dir, jp_classify_model_info *out)
{
    jp_classify_model_info zoo[64];
    int n = jp_classify_list(models_dir, zoo, 64);
    if (n < 0) return n;
    if (n == 0) {
        char zoo_dir[4096];
        if (jp_classify_models_dir(models_dir, zoo_dir, sizeof zoo_dir) != JP_OK) jp_strlcpy(zoo_dir, "?", sizeof zoo_dir);
        return jp_fail(JP_ERR_NOTFOUND, "%s: no image classifier in this folder of models to score images with", zoo_dir);
    }
    if (n > 64) n = 64;
    int best = 0;
    for (int i = 1; i < n; i++)
        if (zoo[i].accuracy > zoo[best].accuracy) best = i;
    *out = zoo[best];
    return JP_OK;
}

int jp_gen_features(jp_nn_model *clf, const uint8_t *pixels, int n, int batch, int *pred, float *feats)
{
    jp_nn_info info;
    jp_nn_info_get(clf, &info);
    int hw = info.height * info.width;
    float *logits = malloc((size_t)batch * info.num_labels * sizeof *logits);
    if (!logits) return jp_fail(JP_ERR_NOMEM, "out of memory");
    int rc = JP_OK;
    for (int at = 0; at < n && rc == JP_OK; at += batch) {
        int b = n - at < batch ? n - at : batch;
        rc = jp_nn_forward_u8_features(clf, pixels + (size_t)at * hw, b, logits, feats + (size_t)at * info.feature_dim);
        for (int i = 0; i < b && rc == JP_OK && pred; i++) {
            const float *l = logits + (size_t)i * info.num_labels;
            int k = 0;
            for (int j = 1; j < info.num_labels; j++)
                if (l[j] > l[k]) k = j;
            pred[at + i] = k;
        }
    }
    free(logits);
    return rc;
}

int jp_gen_quality_score(const jp_gen_quality_config *cfg, const uint8_t *pixels, const int *classes, int n,
                         jp_gen_quality *out)
{
    memset(out, 0, sizeof *out);
    out->nearest_train_l2 = -1;
    if (!cfg || !pixels || !classes || n < 2) return jp_fail(JP_ERR_RANGE, "quality needs at least 2 images (got %d)", n);
    jp_classify_model_info best;
    int rc = cfg->classifier ? jp_classify_find(cfg->models_dir, cfg->classifier, &best)
                             : jp_gen_best_classifier(cfg->models_dir, &best);
    if (rc) return rc;
    jp_strlcpy(out->classifier, best.name, sizeof out->classifier);
    jp_idx_images test = {0}, train = {0};
    jp_nn_model *clf = NULL;
    float *fg = NULL, *fr = NULL;
    int *pred = NULL;
    int batch = 64;
    if ((rc = jp_fashion_mnist_read(cfg->data_dir, true, &test))) goto done;
    if ((rc = jp_nn_load(&clf, best.dir, batch, cfg->threads > 0 ? cfg->threads : 1))) goto done;
    jp_nn_info info;
    jp_nn_info_get(clf, &info);
    if (info.height * info.width != test.rows * test.cols) {
        rc = jp_fail(JP_ERR_PARSE, "%s: not a Fashion-MNIST classifier", best.dir);
        goto done;
    }
    int nr = cfg->reference_n > 0 && cfg->reference_n < test.n ? cfg->reference_n : test.n;
    fg = malloc((size_t)n * info.feature_dim * sizeof *fg);
    fr = malloc((size_t)nr * info.feature_dim * sizeof *fr);
    pred = malloc((size_t)n * sizeof *pred);
    if (!fg || !fr || !pred) {
        rc = jp_fail(JP_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = jp_gen_features(clf, pixels, n, batch, pred, fg)) || (rc = jp_gen_features(clf, test.pixels, nr, batch, NULL, fr)))
        goto done;
    for (int i = 0; i < n; i++) out->adherent += pred[i] == classes[i];
    out->n = n;
    out->reference_n = nr;
    out->adherence = (double)out->adherent / n;
    out->feature_dim = info.feature_dim;
    if ((rc = jp_frechet_distance(fg, n, fr, nr, info.feature_dim, &out->fid))) goto done;
    if (cfg->nearest_n != 0) {
        if ((rc = jp_fashion_mnist_read(cfg->data_dir, false, &train))) goto done;
        int nq = cfg->nearest_n > 0 && cfg->nearest_n < n ? cfg->nearest_n : n;
        if ((rc = jp_nearest_l2(pixels, nq, train.pixels, train.n, test.rows * test.cols, &out->nearest_train_l2))) goto done;
        out->nearest_n = nq;
    }
done:
    free(fg), free(fr), free(pred);
    jp_nn_free(clf);
    jp_idx_free(&test);
    jp_idx_free(&train);
    return rc;
}

int jp_gen_classify(const char *models_dir, const uint8_t *pixels, int n, int threads, int *pred, char *classifier,
                    size_t len)
{
    if (!pixels || !pred || n < 1) return jp_fail(JP_ERR_INVAL, "jp_gen_classify: bad arguments");
    jp_classify_model_info best;
    int rc = jp_gen_best_classifier(models_dir, &best);
    if (rc) return rc;
    if (classifier) jp_strlcpy(classifier, best.name, len);
    jp_nn_model *clf = NULL;
    if ((rc = jp_nn_load(&clf, best.dir, 64, threads > 0 ? threads : 1))) return rc;
    jp_nn_info info;
    jp_nn_info_get(clf, &info);
    float *feats = malloc((size_t)n * info.feature_dim * sizeof *feats);
    rc = feats ? jp_gen_features(clf, pixels, n, 64, pred, feats) : jp_fail(JP_ERR_NOMEM, "out of memory");
    free(feats);
    jp_nn_free(clf);
    return rc;
}
