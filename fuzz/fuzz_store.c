/* The results store opened from arbitrary bytes (a .db received from someone), listed and rendered in
 * every format. Seeds: valid stores (fuzz/corpus/store). */
#include "fuzz_common.h"

#include "fuzz_store_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char p[300];
    fz_path(p, sizeof p, "fuzz.db");
    fz_write(p, data, size);
    fz_render_store(p);
    return 0;
}
