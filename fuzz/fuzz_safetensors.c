/* safetensors: the header and the tensors. Whatever parses must read back within its bytes. */
#include "fuzz_common.h"

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "nn/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *bytes = malloc(size ? size : 1);
    if (!bytes) return 0;
    memcpy(bytes, data, size);
    jp_safetensors *st;
    if (jp_st_parse(&st, bytes, size, "fuzz.safetensors") != JP_OK) return 0;
    for (size_t i = 0; i < st->count; i++) {
        const jp_st_tensor *t = &st->tensors[i];
        FZ_CHECK(t->end >= t->begin && t->end - t->begin == t->numel * jp_st_dtype_size(t->dtype));
        FZ_CHECK(t->data >= st->bytes && t->data + (t->end - t->begin) <= st->bytes + st->size);
        if (t->numel > (1u << 20) || t->ndim > 4) continue;
        void *dst = malloc(t->numel * 8 + 8);
        if (!dst) continue;
        int64_t shape[JP_ST_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) shape[d] = t->shape[d];
        jp_st_read_f32(st, t->name, t->ndim, shape, dst);
        jp_st_read_i64(st, t->name, t->ndim, shape, dst);
        jp_st_read_u8(st, t->name, t->ndim, shape, dst);
        FZ_CHECK(jp_st_find(st, t->name) == t);
        free(dst);
    }
    jp_st_close(st);
    return 0;
}
