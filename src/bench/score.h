/*
 * Scorers: predictions against references, one item per line.
 *
 *   accuracy     top-1 classification accuracy: the fraction of lines equal to the reference
 *                (surrounding whitespace ignored)
 *   exact_match  the same comparison, for free text
 *   adherence    for generated images: the share whose class is the prompted one (the reference).
 *                A prediction is the path of a 28x28 PNG (relative to the predictions file's folder;
 *                `builtin: generate` writes these), which the zoo's best classifier labels, or a class
 *                name already assigned (compared as accuracy is)
 *   fid          (lower is better) the Frechet distance between the zoo's best classifier's penultimate
 *                features of the predicted images (PNG paths, as for adherence; every one must be there)
 *                and of the 10,000 Fashion-MNIST test images; with adherence and nearest_train_l2 (the
 *                mean L2 distance, pixels / 255, from each image to its nearest training image)
 *   ocr          word_recall (the metric the seed quotes for OCR: Tesseract 57.50, TrOCR 95.89 to
 *                96.59), cer and wer, summed over the corpus, as the OCR workload defines them
 *                (jp_ocr_score in include/jouleprint.h)
 *   rouge        rouge1, rouge2: F1 of unigram and bigram overlap; rougeL: F1 of the longest common
 *                subsequence; as Google's rouge-score computes them (jp_rouge), averaged over lines
 */
#ifndef JP_SCORE_H
#define JP_SCORE_H

#include <stddef.h>

#include "bench/bench.h"

/* Names of the scorers and the main metric each reports (higher is better but for fid: see
 * jp_metric_lower_is_better). NULL if unknown. */
const char *jp_scorer_main_metric(const char *scorer);
/* "accuracy, exact_match, ocr, rouge, adherence, fid, none" */
const char *jp_scorer_names(void);
/* Whether a prediction line is the path of a PNG image (ends in .png, surrounding whitespace ignored). */
bool jp_score_is_image_path(const char *s);

/* Scores lines[0..n) of predictions against references. Fills metrics (up to max) and returns how
 * many, or a negative status. models_dir: the folder of models whose best classifier scores images
 * (adherence, fid), as for jp_classify_models_dir (NULL: $JP_MODELS_DIR, then the default). */
int jp_score_lines(const char *scorer, const char *const *pred, const char *const *ref, size_t n,
                   const char *models_dir, struct jp_bench_metric *metrics, size_t max);

/* Reads predictions and references files and scores the first n lines (n <= 0: all references).
 * Missing prediction lines count as empty (wrong); *missing_out says how many. */
int jp_score_files(const char *scorer, const char *pred_path, const char *ref_path, long n, const char *models_dir,
                   struct jp_bench_metric *metrics, size_t max, long *scored_out, long *missing_out);

/* The images named by the first lines of a predictions file (up to max, at most JP_BENCH_MAX_IMAGES,
 * stopping at the first line that is not a .png path): *pixels (malloc'd, n * side * side bytes, 8-bit
 * grey) and *side. Returns n (0 and NULL when the first line is not an image) or a negative status. */
int jp_score_sample_images(const char *pred_path, int max, uint8_t **pixels, int *side);

/* ROUGE building blocks, exposed for tests. */
double jp_rouge_n(const char *pred, const char *ref, int n);    /* F1 of n = 1 or 2 (jp_rouge) */
double jp_rouge_l(const char *pred, const char *ref);           /* F1 */

#endif
