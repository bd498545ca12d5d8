/* Bench specs: any text is validated (accepted or refused with a message naming the spec), never run.
 * items.txt and labels.txt (20 lines) are beside it for specs that name them. */
#include "fuzz_common.h"

#include "jouleprint.h"
#include "bench/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[300];
    if (!path[0]) {
        char p[300];
        char lines[400] = "";
        for (int i = 0; i < 20; i++) snprintf(lines + strlen(lines), sizeof lines - strlen(lines), "item-%d\n", i);
        fz_path(p, sizeof p, "items.txt");
        fz_write(p, lines, strlen(lines));
        fz_path(p, sizeof p, "labels.txt");
        fz_write(p, lines, strlen(lines));
        fz_path(path, sizeof path, "spec.yaml");
    }
    struct jp_spec spec;
    int rc = jp_spec_parse(path, (const char *)data, size, &spec);
    if (rc != JP_OK) {
        FZ_CHECK(strstr(jp_last_error(), "spec.yaml") != NULL || strstr(jp_last_error(), "out of memory"));
        return 0;
    }
    for (size_t t = 0; t < spec.ntasks; t++) {
        FZ_CHECK(spec.tasks[t].nmodels >= 1);
        for (size_t k = 0; k < spec.tasks[t].nmodels; k++) {
            FZ_CHECK(spec.tasks[t].models[k].timeout_s > 0);
            FZ_CHECK(spec.tasks[t].models[k].repeats >= 1);
        }
    }
    FZ_CHECK(spec.baseline_s >= 0 && spec.baseline_s <= 3600);
    jp_spec_free(&spec);
    return 0;
}
