/* IDX files (the MNIST family's format), read through zlib so that gzip and plain files both work:
 * a big-endian magic 0x0000TTDD (TT = 0x08, unsigned bytes; DD = dimensions), DD big-endian 32-bit
 * sizes, then the data. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <unistd.h>

#include "util.h"
#include "workload/classify.h"

#define IDX_MAX_ITEMS 10000000u

static int read_exact(gzFile f, void *buf, size_t len, const char *path)
{
    size_t got = 0;
    while (got < len) {
        unsigned chunk = len - got > (1u << 30) ? (1u << 30) : (unsigned)(len - got);
        int r = gzread(f, (char *)buf + got, chunk);
        if (r < 0) {
            int e;
            const char *msg = gzerror(f, &e);
            return jp_fail(JP_ERR_IO, "%s: %s", path, msg ? msg : "read error");
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    if (got < len)
        return jp_fail(JP_ERR_PARSE, "%s: truncated: expected %zu more bytes, got %zu", path, len, got);
    return JP_OK;
}

/* Decodes the IDX file of unsigned bytes with ndim dimensions open on fd (which it closes); dims
 * receives them. */
static int decode_idx(int fd, const char *path, int ndim, uint32_t *dims, uint8_t **data)
{
    *data = NULL;
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        return jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
    }
    unsigned char head[4 + 4 * 4];
    int rc = read_exact(f, head, 4, path);
    if (rc) goto done;
    if (head[0] || head[1] || head[2] != 0x08 || head[3] != ndim) {
        rc = jp_fail(JP_ERR_PARSE, "%s: not an IDX file of unsigned bytes with %d dimensions (magic %02x%02x%02x%02x)",
                     path, ndim, head[0], head[1], head[2], head[3]);
        goto done;
    }
    if ((rc = read_exact(f, head + 4, 4 * (size_t)ndim, path))) goto done;
    size_t total = 1;
    for (int i = 0; i < ndim; i++) {
        const unsigned char *p = head + 4 + 4 * i;
        dims[i] = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        if (dims[i] == 0 || dims[i] > IDX_MAX_ITEMS) {
            rc = jp_fail(JP_ERR_PARSE, "%s: dimension %d is %u, outside 1..%u", path, i, dims[i], IDX_MAX_ITEMS);
            goto done;
        }
        total *= dims[i];
        if (total > (size_t)IDX_MAX_ITEMS * 1024) {
            rc = jp_fail(JP_ERR_PARSE, "%s: implausibly large", path);
            goto done;
        }
    }
    /* the buffer grows with the data actually read: a 20-byte file declaring a gigabyte allocates
     * a megabyte, then says it is truncated */
    size_t have = 0, cap = total < (1u << 20) ? total : (1u << 20);
    *data = malloc(cap);
    while (*data && rc == JP_OK) {
        size_t want = cap - have;
        if ((rc = read_exact(f, *data + have, want, path))) {
            if (rc == JP_ERR_PARSE)
                rc = jp_fail(JP_ERR_PARSE, "%s: truncated: the header declares %zu bytes of data", path, total);
            goto done;
        }
        have = cap;
        if (have == total) break;
        cap = total - cap < cap ? total : cap * 2;
        uint8_t *nd = realloc(*data, cap);
        if (!nd) break;
        *data = nd;
    }
    if (!*data || have != total) {
        rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    unsigned char extra;
    if (gzread(f, &extra, 1) > 0) rc = jp_fail(JP_ERR_PARSE, "%s: bytes after the declared data", path);
done:
    gzclose(f);
    if (rc) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

/* ---- a session's cache: each file decoded once ----
 *
 * Between jp_workloads_session_begin and the last jp_workloads_session_end, a file decoded is kept under
 * its path with the identity of the file it was (device, inode, size, modification time), and given out
 * again, shared, while the file is still that one. Its users only read it; jp_idx_free leaves it to the
 * cache, which frees everything at the session's end. */

struct cached_idx {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int ndim;
    uint32_t dims[3];
    uint8_t *data;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static int session_depth;
static struct cached_idx *cache;
static size_t ncache;
static unsigned long decodes; /* files decoded since the process started (for tests) */

void jp_workloads_session_begin(void)
{
    pthread_mutex_lock(&cache_lock);
    session_depth++;
    pthread_mutex_unlock(&cache_lock);
}

void jp_workloads_session_end(void)
{
    pthread_mutex_lock(&cache_lock);
    if (session_depth > 0 && --session_depth == 0) {
        for (size_t i = 0; i < ncache; i++) {
            free(cache[i].path);
            free(cache[i].data);
        }
        free(cache);
        cache = NULL;
        ncache = 0;
    }
    pthread_mutex_unlock(&cache_lock);
}

unsigned long jp_idx_decodes(void)
{
    pthread_mutex_lock(&cache_lock);
    unsigned long n = decodes;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

static bool same_file(const struct cached_idx *c, const struct stat *st)
{
    return c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
           c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Reads an IDX file of unsigned bytes with ndim dimensions; dims receives them. *shared: the data is
 * the session cache's (not to be freed). */
static int read_idx(const char *path, int ndim, uint32_t *dims, uint8_t **data, bool *shared)
{
    *data = NULL;
    *shared = false;
    int fd = jp_open_read(path, JP_OPEN_REGULAR);
    if (fd < 0) {
        char why[600];
        jp_strlcpy(why, jp_last_error(), sizeof why);
        return jp_fail(fd, "%s (Fashion-MNIST comes with Debian's dataset-fashion-mnist: scripts/bootstrap installs it)",
                       why);
    }
    struct stat st;
    bool keep = ndim <= 3 && fstat(fd, &st) == 0;
    /* the lock is held while decoding: a second reader of the same file waits for it rather than
     * decoding it again */
    pthread_mutex_lock(&cache_lock);
    keep = keep && session_depth > 0;
    if (keep)
        for (size_t i = 0; i < ncache; i++) {
            if (strcmp(cache[i].path, path) != 0) continue;
            if (same_file(&cache[i], &st) && cache[i].ndim == ndim) {
                memcpy(dims, cache[i].dims, (size_t)ndim * sizeof *dims);
                *data = cache[i].data;
                *shared = true;
                pthread_mutex_unlock(&cache_lock);
                close(fd);
                return JP_OK;
            }
            /* the file changed (or is read with another shape): decoded afresh for this caller alone,
             * and whoever still reads the old one keeps it until the session ends */
            keep = false;
        }
    if (!keep) pthread_mutex_unlock(&cache_lock);
    int rc = decode_idx(fd, path, ndim, dims, data);
    if (!keep) {
        pthread_mutex_lock(&cache_lock);
        decodes++;
        pthread_mutex_unlock(&cache_lock);
        return rc;
    }
    decodes++;
    if (rc == JP_OK) {
        struct cached_idx *nc = realloc(cache, (ncache + 1) * sizeof *nc);
        char *p = strdup(path);
        if (nc) cache = nc;
        if (nc && p) {
            struct cached_idx *c = &cache[ncache++];
            memset(c, 0, sizeof *c);
            c->path = p;
            c->dev = st.st_dev;
            c->ino = st.st_ino;
            c->size = st.st_size;
            c->mtime = st.st_mtim;
            c->ndim = ndim;
            memcpy(c->dims, dims, (size_t)ndim * sizeof *dims);
            c->data = *data;
            *shared = true;
        } else {
            free(p); /* not kept: the caller owns it */
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

void jp_idx_free(jp_idx_images *d)
{
    if (!d) return;
    if (!d->pixels_shared) free(d->pixels);
    if (!d->labels_shared) free(d->labels);
    memset(d, 0, sizeof *d);
}

int jp_idx_read(const char *images_path, const char *labels_path, jp_idx_images *out)
{
    memset(out, 0, sizeof *out);
    uint32_t dims[3] = {0, 0, 0};
    int rc = read_idx(images_path, 3, dims, &out->pixels, &out->pixels_shared);
    if (rc) return rc;
    out->n = (int)dims[0];
    out->rows = (int)dims[1];
    out->cols = (int)dims[2];
    if (labels_path) {
        uint32_t ld[1] = {0};
        if ((rc = read_idx(labels_path, 1, ld, &out->labels, &out->labels_shared))) {
            jp_idx_free(out);
            return rc;
        }
        if ((int)ld[0] != out->n) {
            rc = jp_fail(JP_ERR_PARSE, "%s holds %u labels but %s holds %d images", labels_path, ld[0], images_path, out->n);
            jp_idx_free(out);
            return rc;
        }
    }
    return JP_OK;
}

int jp_fashion_mnist_read(const char *data_dir, bool test, jp_idx_images *out)
{
    if (!data_dir || !*data_dir) data_dir = getenv("JP_FASHION_MNIST");
    if (!data_dir || !*data_dir) data_dir = "/usr/share/datasets/fashion-mnist";
    char img[PATH_MAX], lab[PATH_MAX];
    const char *split = test ? "t10k" : "train";
    int rc;
    if ((rc = jp_pathf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", data_dir, split)) ||
        (rc = jp_pathf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", data_dir, split)))
        return rc;
    return jp_idx_read(img, lab, out);
}
