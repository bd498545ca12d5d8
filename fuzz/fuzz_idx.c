/* IDX files (plain or gzip): images "#LABELS#" labels. What loads holds what its header says. */
#include "fuzz_common.h"

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "workload/classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *img, *lab;
    size_t ilen, llen;
    fz_split(data, size, "#LABELS#", &img, &ilen, &lab, &llen);
    char ip[300], lp[300];
    fz_path(ip, sizeof ip, "images.idx");
    fz_path(lp, sizeof lp, "labels.idx");
    fz_write(ip, img, ilen);
    fz_write(lp, lab, llen);
    jp_idx_images d;
    if (jp_idx_read(ip, llen ? lp : NULL, &d) == JP_OK) {
        FZ_CHECK(d.n >= 1 && d.rows >= 1 && d.cols >= 1 && d.pixels);
        volatile uint8_t last = d.pixels[(size_t)d.n * d.rows * d.cols - 1];
        (void)last;
        if (llen) {
            FZ_CHECK(d.labels != NULL);
            volatile uint8_t l = d.labels[d.n - 1];
            (void)l;
        }
        jp_idx_free(&d);
    }
    return 0;
}
