/* PNG text lines and the OCR folder reader. Input: PNG bytes "#GT#" ground truth. The PNG alone, then
 * a folder holding it as line.png with line.gt.txt. What is read is a text line within the caps. */
#include "fuzz_common.h"

#include <sys/stat.h>

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "workload/ocr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *png, *gt;
    size_t plen, glen;
    fz_split(data, size, "#GT#", &png, &plen, &gt, &glen);
    char dir[300], p[400];
    fz_path(dir, sizeof dir, "lines");
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/line.png", dir);
    fz_write(p, png, plen);
    jp_ocr_image img;
    if (jp_ocr_png_read(p, &img) == JP_OK) {
        FZ_CHECK(img.width >= 1 && img.height >= 1);
        FZ_CHECK(img.width <= JP_OCR_MAX_LINE_WIDTH && img.height <= JP_OCR_MAX_LINE_HEIGHT);
        volatile uint8_t last = img.pixels[(size_t)img.width * img.height - 1];
        (void)last;
        jp_ocr_image_free(&img);
    }
    snprintf(p, sizeof p, "%s/line.gt.txt", dir);
    fz_write(p, gt, glen);
    size_t n = 0, pixels = 0;
    if (jp_ocr_folder_read(dir, 0, &n, &pixels) == JP_OK) FZ_CHECK(n == 1 && pixels >= 1);
    return 0;
}
