/* config.json + weights through a forward pass. Input: the config's JSON, "#WEIGHTS#", the safetensors
 * bytes. Whatever loads must run a forward pass on two images and give finite logits (weights are
 * checked finite at load; inputs here are finite). */
#include "fuzz_common.h"

#include <math.h>

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "nn/nn.h"

extern size_t jp_nn_max_model_bytes;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *cfg, *w;
    size_t clen, wlen;
    fz_split(data, size, "#WEIGHTS#", &cfg, &clen, &w, &wlen);
    char cp[300], wp[300];
    fz_path(cp, sizeof cp, "config.json");
    fz_path(wp, sizeof wp, "model.safetensors");
    fz_write(cp, cfg, clen);
    fz_write(wp, w, wlen);
    jp_nn_max_model_bytes = (size_t)64 << 20; /* a fuzzer's budget, not a user's */
    jp_nn_model *m;
    if (jp_nn_load_files(&m, cp, wp, 2, 1) != JP_OK) return 0;
    jp_nn_info info;
    jp_nn_info_get(m, &info);
    FZ_CHECK(info.num_labels >= 1 && info.channels >= 1 && info.height >= 1);
    size_t per = (size_t)info.channels * info.height * info.width;
    float *in = malloc(2 * per * sizeof *in), *logits = malloc(2 * (size_t)info.num_labels * sizeof *logits);
    if (in && logits) {
        for (size_t i = 0; i < 2 * per; i++) in[i] = (float)((i * 7919) % 255) / 255.0f - 0.5f;
        FZ_CHECK(jp_nn_forward(m, in, 2, logits) == JP_OK);
        for (int i = 0; i < info.num_labels; i++) FZ_CHECK(jp_nn_label(m, i) != NULL);
    }
    free(in);
    free(logits);
    jp_nn_free(m);
    return 0;
}
