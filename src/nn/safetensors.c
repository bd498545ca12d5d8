/* The safetensors reader: see safetensors.h for the format and what is checked. */
#define _POSIX_C_SOURCE 200809L
#include "nn/safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The reference implementation refuses headers above 100 MB; so do we. */
#define ST_MAX_HEADER (100u * 1000u * 1000u)

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [JP_ST_BOOL] = {"BOOL", 1}, [JP_ST_U8] = {"U8", 1},   [JP_ST_I8] = {"I8", 1},     [JP_ST_I16] = {"I16", 2},
    [JP_ST_U16] = {"U16", 2},   [JP_ST_F16] = {"F16", 2}, [JP_ST_BF16] = {"BF16", 2}, [JP_ST_I32] = {"I32", 4},
    [JP_ST_U32] = {"U32", 4},   [JP_ST_F32] = {"F32", 4}, [JP_ST_F64] = {"F64", 8},   [JP_ST_I64] = {"I64", 8},
    [JP_ST_U64] = {"U64", 8},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

const char *jp_st_dtype_name(jp_st_dtype d) { return (size_t)d < N_DTYPES ? dtypes[d].name : "?"; }
size_t jp_st_dtype_size(jp_st_dtype d) { return (size_t)d < N_DTYPES ? dtypes[d].size : 0; }

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

void jp_st_close(jp_safetensors *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->count; i++) free(st->tensors[i].name);
    free(st->tensors);
    free(st->bytes);
    free(st);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const jp_st_tensor *)a)->name, ((const jp_st_tensor *)b)->name);
}

static int by_begin(const void *a, const void *b)
{
    const jp_st_tensor *x = *(const jp_st_tensor *const *)a, *y = *(const jp_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Fills t from one header entry; returns JP_OK or a failure with a message. */
static int parse_entry(const char *label, const char *name, json_t *e, uint64_t data_size, jp_st_tensor *t)
{
    if (!json_is_object(e)) return jp_fail(JP_ERR_PARSE, "%s: header entry '%s' is not an object", label, name);
    json_t *dt = json_object_get(e, "dtype"), *sh = json_object_get(e, "shape"), *off = json_object_get(e, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(off))
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s': the header entry needs \"dtype\" (string), \"shape\" and "
                                     "\"data_offsets\" (arrays)", label, name);
    if (json_object_size(e) != 3)
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s': unexpected keys in its header entry", label, name);
    size_t d;
    for (d = 0; d < N_DTYPES; d++)
        if (!strcmp(json_string_value(dt), dtypes[d].name)) break;
    if (d == N_DTYPES)
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s': unknown dtype \"%s\"", label, name, json_string_value(dt));
    t->dtype = (jp_st_dtype)d;
    size_t nd = json_array_size(sh);
    if (nd > JP_ST_MAX_DIMS)
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s' has %zu dimensions (at most %d are supported)", label, name, nd,
                       JP_ST_MAX_DIMS);
    t->ndim = (int)nd;
    uint64_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *v = json_array_get(sh, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return jp_fail(JP_ERR_PARSE, "%s: tensor '%s': shape[%zu] is not a non-negative integer", label, name, i);
        uint64_t s = (uint64_t)json_integer_value(v);
        t->shape[i] = (int64_t)s;
        if (s && numel > UINT64_MAX / s)
            return jp_fail(JP_ERR_PARSE, "%s: tensor '%s': shape overflows", label, name);
        numel *= s;
    }
    t->numel = numel;
    if (json_array_size(off) != 2 || !json_is_integer(json_array_get(off, 0)) || !json_is_integer(json_array_get(off, 1)) ||
        json_integer_value(json_array_get(off, 0)) < 0 || json_integer_value(json_array_get(off, 1)) < 0)
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s': data_offsets must be two non-negative integers", label, name);
    t->begin = (uint64_t)json_integer_value(json_array_get(off, 0));
    t->end = (uint64_t)json_integer_value(json_array_get(off, 1));
    if (t->end < t->begin)
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", label, name,
                       (unsigned long long)t->begin, (unsigned long long)t->end);
    if (numel > UINT64_MAX / dtypes[d].size)
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s': shape overflows", label, name);
    uint64_t want = numel * dtypes[d].size;
    if (t->end - t->begin != want)
        return jp_fail(JP_ERR_PARSE,
                       "%s: tensor '%s': shape and dtype (%s) need %llu bytes but data_offsets [%llu, %llu] give %llu",
                       label, name, dtypes[d].name, (unsigned long long)want, (unsigned long long)t->begin,
                       (unsigned long long)t->end, (unsigned long long)(t->end - t->begin));
    if (t->end > data_size)
        return jp_fail(JP_ERR_PARSE,
                       "%s: truncated or inconsistent: tensor '%s' ends at byte %llu of the data, but the file holds only "
                       "%llu bytes of data",
                       label, name, (unsigned long long)t->end, (unsigned long long)data_size);
    return JP_OK;
}

int jp_st_parse(jp_safetensors **out, unsigned char *bytes, size_t size, const char *label)
{
    *out = NULL;
    jp_safetensors *st = calloc(1, sizeof *st);
    if (!st) {
        free(bytes);
        return jp_fail(JP_ERR_NOMEM, "%s: out of memory", label);
    }
    jp_strlcpy(st->path, label, sizeof st->path);
    st->bytes = bytes;
    st->size = size;
    json_t *root = NULL;
    jp_st_tensor **order = NULL;
    int rc = JP_ERR_PARSE;
    if (size < 8) {
        jp_fail(rc, "%s: truncated: %zu bytes, too short even for the 8-byte header length", label, size);
        goto fail;
    }
    uint64_t hlen = le64(bytes);
    if (hlen > ST_MAX_HEADER) {
        jp_fail(rc, "%s: header length %llu is implausible (more than 100 MB): not a safetensors file?", label,
                (unsigned long long)hlen);
        goto fail;
    }
    if (hlen > size - 8) {
        jp_fail(rc, "%s: truncated: the header says it is %llu bytes long but only %zu bytes follow the length", label,
                (unsigned long long)hlen, size - 8);
        goto fail;
    }
    if (hlen < 2 || bytes[8] != '{') {
        jp_fail(rc, "%s: the header does not start with '{': not a safetensors file", label);
        goto fail;
    }
    json_error_t jerr;
    root = json_loadb((const char *)bytes + 8, (size_t)hlen, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr);
    if (!root) {
        jp_fail(rc, "%s: the header is not valid JSON (%s, at byte %d)", label, jerr.text, jerr.position);
        goto fail;
    }
    /* Only padding (spaces) may follow the JSON object inside the declared header. */
    for (size_t i = (size_t)jerr.position; i < hlen; i++)
        if (bytes[8 + i] != ' ' && bytes[8 + i] != '\0' && bytes[8 + i] != '\n') {
            jp_fail(rc, "%s: unexpected bytes after the header's JSON object", label);
            goto fail;
        }
    if (!json_is_object(root)) {
        jp_fail(rc, "%s: the header is not a JSON object", label);
        goto fail;
    }
    uint64_t data_size = size - 8 - hlen;
    size_t n = json_object_size(root);
    st->tensors = calloc(n ? n : 1, sizeof *st->tensors);
    if (!st->tensors) {
        rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", label);
        goto fail;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(val)) {
                jp_fail(rc, "%s: __metadata__ is not an object", label);
                goto fail;
            }
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    jp_fail(rc, "%s: __metadata__ value '%s' is not a string", label, mk);
                    goto fail;
                }
            }
            continue;
        }
        jp_st_tensor *t = &st->tensors[st->count];
        t->name = strdup(key);
        if (!t->name) {
            rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", label);
            goto fail;
        }
        st->count++;
        if (parse_entry(label, key, val, data_size, t) != JP_OK) goto fail;
        t->data = bytes + 8 + hlen + t->begin;
    }
    /* The ranges must tile the data section exactly: no overlap, no hole, nothing after. */
    order = malloc((st->count ? st->count : 1) * sizeof *order);
    if (!order) {
        rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", label);
        goto fail;
    }
    for (size_t i = 0; i < st->count; i++) order[i] = &st->tensors[i];
    qsort(order, st->count, sizeof *order, by_begin);
    uint64_t at = 0;
    for (size_t i = 0; i < st->count; i++) {
        if (order[i]->begin < at) {
            jp_fail(rc, "%s: inconsistent: tensor '%s' (bytes %llu..%llu) overlaps '%s'", label, order[i]->name,
                    (unsigned long long)order[i]->begin, (unsigned long long)order[i]->end, order[i - 1]->name);
            goto fail;
        }
        if (order[i]->begin > at) {
            jp_fail(rc, "%s: inconsistent: %llu unaccounted bytes of data before tensor '%s'", label,
                    (unsigned long long)(order[i]->begin - at), order[i]->name);
            goto fail;
        }
        at = order[i]->end;
    }
    if (at != data_size) {
        jp_fail(rc, "%s: inconsistent: the tensors account for %llu bytes of data but the file holds %llu", label,
                (unsigned long long)at, (unsigned long long)data_size);
        goto fail;
    }
    free(order);
    json_decref(root);
    qsort(st->tensors, st->count, sizeof *st->tensors, by_name);
    *out = st;
    return JP_OK;
fail:
    free(order);
    json_decref(root);
    jp_st_close(st);
    return rc;
}

/* The largest weights file read (16 GiB): the file is read whole. */
#define ST_MAX_FILE ((size_t)16 << 30)

int jp_st_open(jp_safetensors **out, const char *path)
{
    *out = NULL;
    unsigned char *buf;
    size_t len;
    int rc = jp_read_file(path, ST_MAX_FILE, &buf, &len);
    if (rc != JP_OK) return rc;
    return jp_st_parse(out, buf, len, path);
}

const jp_st_tensor *jp_st_find(const jp_safetensors *st, const char *name)
{
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, st->tensors[mid].name);
        if (!c) return &st->tensors[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

float jp_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
        if (!man) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float jp_bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t at = 0;
    at += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (at < len) snprintf(buf + at, len - at, "]");
}

static int check(jp_safetensors *st, const char *name, int ndim, const int64_t *shape, jp_st_tensor **out)
{
    jp_st_tensor *t = (jp_st_tensor *)jp_st_find(st, name);
    if (!t) return jp_fail(JP_ERR_NOTFOUND, "%s: no tensor named '%s'", st->path, name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[128], got[128];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s' has shape %s; the model's config needs %s", st->path, name, got,
                       want);
    }
    t->used = 1;
    *out = t;
    return JP_OK;
}

int jp_st_check_f32(jp_safetensors *st, const char *name, int ndim, const int64_t *shape)
{
    jp_st_tensor *t = (jp_st_tensor *)jp_st_find(st, name);
    int was_used = t ? t->used : 0;
    int rc = check(st, name, ndim, shape, &t);
    if (rc) return rc;
    t->used = was_used; /* marked when read */
    if (t->dtype != JP_ST_F32 && t->dtype != JP_ST_F16 && t->dtype != JP_ST_BF16)
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16", st->path, name,
                       jp_st_dtype_name(t->dtype));
    return JP_OK;
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int jp_st_read_f32(jp_safetensors *st, const char *name, int ndim, const int64_t *shape, float *dst)
{
    jp_st_tensor *t;
    int rc = check(st, name, ndim, shape, &t);
    if (rc) return rc;
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case JP_ST_F32:
        for (uint64_t i = 0; i < t->numel; i++) {
            uint32_t b = le32(p + 4 * i);
            memcpy(&dst[i], &b, 4);
        }
        return JP_OK;
    case JP_ST_F16:
        for (uint64_t i = 0; i < t->numel; i++) dst[i] = jp_half_to_float(le16(p + 2 * i));
        return JP_OK;
    case JP_ST_BF16:
        for (uint64_t i = 0; i < t->numel; i++) dst[i] = jp_bf16_to_float(le16(p + 2 * i));
        return JP_OK;
    default:
        t->used = 0;
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16", st->path, name,
                       jp_st_dtype_name(t->dtype));
    }
}

int jp_st_read_i64(jp_safetensors *st, const char *name, int ndim, const int64_t *shape, int64_t *dst)
{
    jp_st_tensor *t;
    int rc = check(st, name, ndim, shape, &t);
    if (rc) return rc;
    const unsigned char *p = t->data;
    for (uint64_t i = 0; i < t->numel; i++) {
        switch (t->dtype) {
        case JP_ST_U8: dst[i] = p[i]; break;
        case JP_ST_I8: dst[i] = (int8_t)p[i]; break;
        case JP_ST_I16: dst[i] = (int16_t)le16(p + 2 * i); break;
        case JP_ST_U16: dst[i] = le16(p + 2 * i); break;
        case JP_ST_I32: dst[i] = (int32_t)le32(p + 4 * i); break;
        case JP_ST_U32: dst[i] = le32(p + 4 * i); break;
        case JP_ST_I64: dst[i] = (int64_t)le64(p + 8 * i); break;
        default:
            t->used = 0;
            return jp_fail(JP_ERR_PARSE, "%s: tensor '%s' has dtype %s; an integer dtype was expected", st->path, name,
                           jp_st_dtype_name(t->dtype));
        }
    }
    return JP_OK;
}

int jp_st_read_u8(jp_safetensors *st, const char *name, int ndim, const int64_t *shape, uint8_t *dst)
{
    jp_st_tensor *t;
    int rc = check(st, name, ndim, shape, &t);
    if (rc) return rc;
    if (t->dtype != JP_ST_U8) {
        t->used = 0;
        return jp_fail(JP_ERR_PARSE, "%s: tensor '%s' has dtype %s; U8 was expected", st->path, name,
                       jp_st_dtype_name(t->dtype));
    }
    memcpy(dst, t->data, (size_t)t->numel);
    return JP_OK;
}
