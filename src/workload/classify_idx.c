/* IDX files (the MNIST family's format), read through zlib so that gzip and plain files both work:
 * a big-endian magic 0x0000TTDD (TT = 0x08, unsigned bytes; DD = dimensions), DD big-endian 32-bit
 * sizes, then the data. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

/* Reads an IDX file of unsigned bytes with ndim dimensions; dims receives them. */
static int read_idx(const char *path, int ndim, uint32_t *dims, uint8_t **data)
{
    *data = NULL;
    int fd = jp_open_read(path, JP_OPEN_REGULAR);
    if (fd < 0) {
        char why[600];
        jp_strlcpy(why, jp_last_error(), sizeof why);
        return jp_fail(fd, "%s (Fashion-MNIST comes with Debian's dataset-fashion-mnist: scripts/bootstrap installs it)",
                       why);
    }
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

void jp_idx_free(jp_idx_images *d)
{
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

int jp_idx_read(const char *images_path, const char *labels_path, jp_idx_images *out)
{
    memset(out, 0, sizeof *out);
    uint32_t dims[3] = {0, 0, 0};
    int rc = read_idx(images_path, 3, dims, &out->pixels);
    if (rc) return rc;
    out->n = (int)dims[0];
    out->rows = (int)dims[1];
    out->cols = (int)dims[2];
    if (labels_path) {
        uint32_t ld[1] = {0};
        if ((rc = read_idx(labels_path, 1, ld, &out->labels))) {
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
