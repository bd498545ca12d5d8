/* A reader for the safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes
 * of JSON header ({"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"k": "v"}}), then the raw little-endian tensor data, offsets relative to its start.
 *
 * The whole file is validated on open, as strictly as the reference implementation: a file that is
 * truncated, whose header is not a JSON object, names an unknown dtype, gives a shape whose size does
 * not match its byte range, has ranges that overlap, leave holes, or do not end where the file ends, is
 * rejected with JP_ERR_PARSE and a message naming the file, the tensor and the numbers. */
#ifndef JP_NN_SAFETENSORS_H
#define JP_NN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define JP_ST_MAX_DIMS 8

typedef enum jp_st_dtype {
    JP_ST_BOOL, JP_ST_U8, JP_ST_I8, JP_ST_I16, JP_ST_U16, JP_ST_F16, JP_ST_BF16, JP_ST_I32, JP_ST_U32,
    JP_ST_F32, JP_ST_F64, JP_ST_I64, JP_ST_U64
} jp_st_dtype;

typedef struct jp_st_tensor {
    char *name;
    jp_st_dtype dtype;
    int ndim;
    int64_t shape[JP_ST_MAX_DIMS];
    uint64_t numel;
    uint64_t begin, end;      /* byte range within the data section */
    const unsigned char *data; /* points into the file's bytes (not aligned) */
    int used;                 /* set by jp_st_read_f32 and friends, for spotting unused tensors */
} jp_st_tensor;

typedef struct jp_safetensors {
    char path[512];
    unsigned char *bytes; /* the whole file */
    size_t size;
    jp_st_tensor *tensors; /* sorted by name */
    size_t count;
} jp_safetensors;

/* Name ("F32") and element size in bytes of a dtype. */
const char *jp_st_dtype_name(jp_st_dtype d);
size_t jp_st_dtype_size(jp_st_dtype d);

/* Reads and validates a file. */
int jp_st_open(jp_safetensors **out, const char *path);
/* Parses a file already in memory (takes ownership of bytes, which must come from malloc). label
 * names it in messages. */
int jp_st_parse(jp_safetensors **out, unsigned char *bytes, size_t size, const char *label);
void jp_st_close(jp_safetensors *st);

/* The tensor with this name, or NULL. */
const jp_st_tensor *jp_st_find(const jp_safetensors *st, const char *name);

/* Copies a floating tensor (F32, F16 or BF16) into dst as float32, after checking that its shape is
 * exactly shape[0..ndim-1]. JP_ERR_NOTFOUND if absent, JP_ERR_PARSE on a shape or dtype mismatch; the
 * message names the tensor, what was expected and what the file holds. Marks the tensor used. */
int jp_st_read_f32(jp_safetensors *st, const char *name, int ndim, const int64_t *shape, float *dst);
/* The checks of jp_st_read_f32 (present, this shape, a floating dtype) without reading: lets a loader
 * check a tensor before allocating room for it. */
int jp_st_check_f32(jp_safetensors *st, const char *name, int ndim, const int64_t *shape);
/* The same for any numeric dtype, converted to int64 (labels, indices). */
int jp_st_read_i64(jp_safetensors *st, const char *name, int ndim, const int64_t *shape, int64_t *dst);
/* U8 only (images). */
int jp_st_read_u8(jp_safetensors *st, const char *name, int ndim, const int64_t *shape, uint8_t *dst);

/* IEEE half and bfloat16 to float. */
float jp_half_to_float(uint16_t h);
float jp_bf16_to_float(uint16_t h);

#endif
