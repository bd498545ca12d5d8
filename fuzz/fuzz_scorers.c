/* CER, WER and ROUGE on any pair of strings. Input: reference "\n#HYP#\n" hypothesis. Invariants:
 * rates are >= 0, F1 scores in [0, 1], a string against itself scores perfect. */
#include "fuzz_common.h"

#include <math.h>

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "bench/score.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0; /* the edit distances are quadratic: long lines only slow the search */
    const uint8_t *a, *b;
    size_t al, bl;
    fz_split(data, size, "\n#HYP#\n", &a, &al, &b, &bl);
    char *ref = fz_str(a, al), *hyp = fz_str(b, bl);
    jp_ocr_counts c;
    memset(&c, 0, sizeof c);
    jp_ocr_score(ref, hyp, &c);
    FZ_CHECK(c.lines == 1);
    FZ_CHECK(!(jp_ocr_cer(&c) < 0) && !(jp_ocr_wer(&c) < 0));
    FZ_CHECK(c.words_found <= c.ref_words);
    double r = jp_ocr_recall(&c);
    FZ_CHECK(isnan(r) || (r >= 0 && r <= 1));
    jp_ocr_counts same;
    memset(&same, 0, sizeof same);
    jp_ocr_score(ref, ref, &same);
    FZ_CHECK(same.char_edits == 0 && same.word_edits == 0 && same.lines_exact == 1);
    FZ_CHECK(jp_ocr_cer(&same) == 0 || (same.ref_chars == 0 && isnan(jp_ocr_cer(&same))));
    for (int n = 1; n <= 2; n++) {
        double f = jp_rouge_n(hyp, ref, n);
        FZ_CHECK(f >= 0 && f <= 1);
        double s = jp_rouge_n(ref, ref, n);
        FZ_CHECK(s == 0 || s == 1);
    }
    double l = jp_rouge_l(hyp, ref);
    FZ_CHECK(l >= 0 && l <= 1);
    double ls = jp_rouge_l(ref, ref);
    FZ_CHECK(ls == 0 || ls == 1);
    FZ_CHECK(jp_rouge_n(ref, ref, 1) == ls);
    free(ref);
    free(hyp);
    return 0;
}
