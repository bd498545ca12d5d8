/*
 * jouleprint workloads: the built-in workloads of libjouleprint-workloads (pkg-config jouleprint-workloads),
 * measured with the core meter (jouleprint.h).
 *
 * Each workload has a config (with its _init), a run that fills a result, and a _free for the result: a
 * result owns whatever it points to, and jp_<workload>_result_free releases it and zeroes the struct
 * (calling it on a zeroed or already freed result is allowed). A run's meter is opened by the caller and
 * may be NULL (time only); the run starts it, marks the phases "load" and "infer", and stops it.
 *
 * The inference engine (src/nn/), the image and font code behind the OCR data set and the IDX reader are
 * internal to the library.
 */
#ifndef JOULEPRINT_WORKLOADS_H
#define JOULEPRINT_WORKLOADS_H

#include "jouleprint.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default) /* every declaration below is exported from the library */
#endif

/* ---- folders ----------------------------------------------------------------------------------- */

/* The folders the workloads use when a call names none: the model zoo (the project's models/) and the
 * project's data folder (data/: ocr/words.txt, and tessdata/ with the Tesseract models that
 * scripts/bootstrap fetches). Each call's own argument comes first, then $JP_MODELS_DIR
 * ($JP_DATA_DIR), then what was set here, then ./models (./data). NULL or "" unsets one. The tool sets
 * them to the folders beside its executable. Process-wide: call before running workloads (the OCR
 * word list is read once, on first use). */
int jp_workloads_set_dirs(const char *models_dir, const char *data_dir);
/* Whether dir is a model zoo: a folder holding at least one model folder (NAME/config.json readable).
 * What the zoo lookups test a candidate folder with; a program looking for its zoo can use it too. */
bool jp_workloads_is_zoo(const char *dir);

/* A session of several runs (the bench harness opens one around its run): between begin and the last
 * end (they nest), each data set file the workloads read (Fashion-MNIST's test and training sets) is
 * read and decompressed once, kept in memory under its path, given out again while the file is the same
 * (device, inode, size, modification time), and freed at the end. Outside a session every run reads
 * its data itself. Thread-safe. */
void jp_workloads_session_begin(void);
void jp_workloads_session_end(void);

/* ---- OCR: the built-in `ocr` workload ---------------------------------------------------------- */
/*
 * Text lines rendered with FreeType (jp_ocr_data_write), read by Tesseract through its C API in
 * several configurations (jp_ocr_models), scored (CER, WER, word recall), and measured with the
 * meter in two phases, "load" and "infer" (jp_ocr_run). The README's "OCR" section defines every
 * metric. Strings are UTF-8.
 */

/* One Tesseract configuration: a traineddata file and an engine. */
typedef struct jp_ocr_model {
    const char *name;    /* "eng-fast", "eng-best", "eng-lstm4", "eng-legacy", "eng-combined" */
    const char *file;    /* the traineddata, relative to the tessdata folder: "4.0.0/eng.traineddata" */
    const char *engine;  /* "lstm", "legacy" or "legacy+lstm" */
    const char *summary; /* in words, with the file's origin */
} jp_ocr_model;

/* The configurations, in order of size; NULL past the end. */
const jp_ocr_model *jp_ocr_model_at(size_t i);
/* By name; NULL (and jp_last_error() listing the names) if unknown. */
const jp_ocr_model *jp_ocr_model_find(const char *name);
/* Finds and checks a configuration's traineddata: `tessdata` (NULL: $JP_TESSDATA, else the project's
 * data/tessdata, and for eng-fast Debian's tesseract-ocr-eng). Writes the folder to pass Tesseract
 * into dir and the file into path. JP_ERR_NOTFOUND when missing, JP_ERR_PARSE when the file is not a
 * traineddata or lacks the engine's parts; the message says how to install it (scripts/bootstrap). */
int jp_ocr_model_locate(const char *name, const char *tessdata, char *dir, size_t dir_len, char *path,
                        size_t path_len);


/* The data set: for a seed, line i of a split ("clean" or "hard") has a fixed text and style. */
#define JP_OCR_SPLITS 2
const char *jp_ocr_split_name(int split); /* 0: "clean", 1: "hard" */
/* Renders n lines for each split into dir (created if needed): dir/clean/000000.png with
 * dir/clean/000000.gt.txt beside it, the same under dir/hard/, and dir/manifest.tsv (one row a
 * line: split, file, font, size, ink, paper, blur, noise, text). The same seed gives the same bytes. */
int jp_ocr_data_write(const char *dir, size_t n, uint64_t seed);

/* Scores: counts added up over lines, so that rates are over the whole set (not means of lines).
 * Both texts are first trimmed and every run of white space made one space. */
typedef struct jp_ocr_counts {
    uint64_t lines, lines_exact;  /* lines scored; of them, read exactly */
    uint64_t ref_chars, char_edits; /* code points in the references; Levenshtein distance in them */
    uint64_t ref_words, word_edits; /* words in the references; Levenshtein distance in words */
    uint64_t words_found;           /* reference words matched by an output word (see recall) */
    uint64_t hyp_words;             /* words in the outputs */
} jp_ocr_counts;
/* Adds the comparison of one reference with one output to c. */
void jp_ocr_score(const char *ref, const char *hyp, jp_ocr_counts *c);
/* Character error rate: char_edits / ref_chars. Word error rate: word_edits / ref_words. Word
 * recall: words_found / ref_words, where words are separated by white space, compared exactly
 * (case and punctuation count), and each output word can match one reference word, in any order
 * (multiset intersection). With no reference characters (words), CER (WER) is 0 if the output is
 * empty too and 1 otherwise, and recall is 1 (there was nothing to miss). */
double jp_ocr_cer(const jp_ocr_counts *c);
double jp_ocr_wer(const jp_ocr_counts *c);
double jp_ocr_recall(const jp_ocr_counts *c);


/* A measured run of one configuration over a data set. */
typedef struct jp_ocr_config {
    const char *model;    /* required */
    const char *data;     /* a folder from jp_ocr_data_write (or any with clean/ and hard/, or PNGs
                             with .gt.txt beside them); NULL: the default set (seed 1), rendered
                             once into $XDG_CACHE_HOME/jouleprint (or ~/.cache/jouleprint) */
    size_t n;             /* lines per split to read (the first n); 0: all (default set: 100) */
    int threads;          /* workers, each with its own engine (default 1) */
    const char *tessdata; /* as for jp_ocr_model_locate */
    bool keep_lines;      /* keep every line's reference and output in the result */
    size_t timed;         /* 0: the meter covers every line; else it covers the first `timed` lines of
                             each split, exactly the lines a run of n = timed reads, and is stopped
                             before the rest are read (in the same run, the engines opened once): one
                             run both times and gives the outputs of all n lines (the harness uses this
                             to score more lines than it times) */
} jp_ocr_config;
void jp_ocr_config_init(jp_ocr_config *cfg);

typedef struct jp_ocr_line {
    int split;
    char *file, *ref, *hyp;
    double seconds; /* wall time of this line's recognition */
} jp_ocr_line;

typedef struct jp_ocr_split_result {
    char name[32];
    jp_ocr_counts counts;
    double infer_s;  /* wall time to read this split */
} jp_ocr_split_result;

typedef struct jp_ocr_result {
    char model[32];
    char data[4096];          /* the folder read */
    size_t nsplits;
    jp_ocr_split_result split[JP_OCR_SPLITS + 1];
    jp_ocr_counts all;
    double load_s, infer_s;   /* wall time of the phases */
    double load_j, infer_j;   /* energy of the phases (the meter's total); 0 without a meter */
    double load_share, infer_share; /* this process's share of the machine's busy CPU time in each
                                       phase (0..1), or -1 if unknown */
    double load_cpu_s, infer_cpu_s; /* this process's CPU time in each phase */
    size_t nlines;
    jp_ocr_line *lines;       /* when keep_lines */
    size_t lines_timed;       /* lines read while the meter ran: nlines, or fewer with cfg->timed */
} jp_ocr_result;

/* Reads the images into memory, then, with m (opened by the caller; NULL: time only) started:
 * phase "load" opens `threads` engines, phase "infer" reads every line (with cfg->timed, the timed
 * lines); stops m (then reads the rest). The caller
 * reads the meter for domains and more. Frees nothing the caller gave; free the result with
 * jp_ocr_result_free. */
int jp_ocr_run(const jp_ocr_config *cfg, jp_meter *m, jp_ocr_result *out);
void jp_ocr_result_free(jp_ocr_result *r);

/* ---- image classification: the built-in `classify` workload ----------------------------------- */
/*
 * Image classifiers (MLPs, CNNs, ResNets and vision transformers, read from a folder holding config.json
 * and model.safetensors with Hugging Face's tensor names and config keys) run on Fashion-MNIST's test set
 * by the library's compact float32 inference engine. The project's zoo (models/, trained by
 * models/train.py) is listed by jp_classify_list and run by jp_classify_run, which measures it in phases
 * "load" and "infer".
 */

/* A model of the zoo, from its config.json. */
typedef struct jp_classify_model_info {
    char name[64];          /* the folder's name: "mlp", "resnet-s", ... */
    char dir[1024];         /* the folder */
    char type[16];          /* model_type */
    char description[256];
    uint64_t params;
    double flops;           /* per image */
    int test_correct, test_total; /* the training script's figure on the full test set */
    double accuracy;        /* test_correct / test_total */
    double train_seconds;
} jp_classify_model_info;

/* The zoo folder: models_dir if not NULL, else $JP_MODELS_DIR, else the default jp_workloads_set_dirs
 * set, else ./models. */
int jp_classify_models_dir(const char *models_dir, char *buf, size_t len);
/* The models found there (folders with config.json), in order of FLOPs. Returns the count (at most
 * max filled) or a negative jp_status. */
int jp_classify_list(const char *models_dir, jp_classify_model_info *out, size_t max);
/* One model by name (or a path to a model folder). */
int jp_classify_find(const char *models_dir, const char *name, jp_classify_model_info *out);

typedef struct jp_classify_config {
    const char *model;      /* a zoo name or a model folder; required */
    const char *models_dir; /* as for jp_classify_models_dir */
    const char *data_dir;   /* as for jp_fashion_mnist_read */
    int n;                  /* test images to run, the first n; 0: all 10,000 */
    int batch;              /* images per forward pass (default 64) */
    int threads;            /* inference threads (default 1) */
    int *predictions;       /* if not NULL, receives n predicted labels */
    int *references;        /* if not NULL, receives the n test images' true labels */
} jp_classify_config;
void jp_classify_config_init(jp_classify_config *cfg);

typedef struct jp_classify_result {
    jp_classify_model_info model;
    int n, correct;                 /* n: the images timed (all, but for jp_classify_run_timed);
                                       correct: of all the images classified */
    double accuracy;                /* correct / the images classified */
    double load_s, infer_s;         /* wall time of the phases */
    double images_per_s;            /* n / infer_s */
    double load_j, infer_j;         /* energy of the phases (the meter's total); 0 without a meter */
    double j_per_image;             /* infer_j / n */
    bool estimated;                 /* the meter's figures are estimates (the model source) */
    double load_cpu_s, infer_cpu_s; /* this process's CPU time in each phase */
    double load_share, infer_share; /* this process's share of the machine's busy CPU time in each
                                       phase (0..1), or -1 if unknown */
} jp_classify_result;

/* Reads the test set into memory, then, with m (opened by the caller; NULL: time only) started:
 * phase "load" loads the model, phase "infer" classifies the first n test images in batches; stops
 * m. The caller reads the meter for domains and more. This is `builtin: classify` for bench specs. */
int jp_classify_run(const jp_classify_config *cfg, jp_meter *m, jp_classify_result *out);
/* The same, timing only the first `timed` (1..n) of the n images: m is stopped after them (which run in
 * the batches of a run of n = timed), and the rest are classified in the same pass, unmeasured, for the
 * predictions and the accuracy: one load of the model and one pass where a timed run and a scoring run
 * over more images would have run the timed ones twice. The result's n, infer_s, images_per_s and
 * j_per_image are of the timed images; correct and accuracy of all n. */
int jp_classify_run_timed(const jp_classify_config *cfg, int timed, jp_meter *m, jp_classify_result *out);
/* Fashion-MNIST's name of label 0..9 ("T-shirt/top", ... "Ankle boot", as the zoo's config.json
 * id2label has them), or NULL out of range. */
const char *jp_classify_label_name(int label);
/* Nothing in a classify result is allocated; this zeroes it, for the one rule above. */
void jp_classify_result_free(jp_classify_result *r);

/* ---- text-to-image: the diffusion engine and the built-in `generate` workload ------------------- */
/*
 * Class-conditional diffusion UNets (models/gen-*, trained on Fashion-MNIST by models/gen/train.py),
 * sampled by DDIM (eta 0) with classifier-free guidance in the library's engine (src/nn). The models are
 * class-conditional: a text prompt only chooses one of the ten classes, by the class names and the
 * synonyms that config.json (and the model card) lists.
 */

typedef struct jp_generate_model_info {
    char name[64];          /* the folder's name: "gen-s", ... */
    char dir[1024];
    char description[256];
    uint64_t params;
    double flops_per_step;  /* per image and network evaluation (a guided step costs two) */
    int train_steps;        /* optimizer steps the exported weights had */
    double train_epochs, train_seconds;
    bool train_complete;
} jp_generate_model_info;

/* The generation models in the zoo folder (see jp_classify_models_dir): folders whose config.json says
 * "model_type": "jp-unet", in order of FLOPs. Returns the count (at most max filled) or a negative
 * jp_status. */
int jp_generate_list(const char *models_dir, jp_generate_model_info *out, size_t max);
/* One model by name (or a path to a model folder). */
int jp_generate_find(const char *models_dir, const char *name, jp_generate_model_info *out);

#define JP_GENERATE_MAX_PROMPTS 256

typedef struct jp_generate_config {
    const char *model;       /* a zoo name or a model folder; required */
    const char *models_dir;
    const char *const *prompts; /* nprompts texts, each naming one class */
    int nprompts;
    int n;                   /* images per prompt (default 1) */
    int steps;               /* DDIM steps, 1 .. the training schedule (default 20) */
    double guidance;         /* classifier-free guidance scale >= 0 (default 3; 1: no guidance, one
                                network evaluation per step) */
    uint64_t seed;           /* image j of prompt p starts from the noise of stream (seed, p, j) */
    int batch;               /* images denoised at once (default 16) */
    int threads;             /* 1..64 (default 1): a batch is split across them */
    /* called on the calling thread after each denoising step of its share of a batch; may be NULL */
    void (*progress)(void *arg, long done, long total);
    void *progress_arg;
} jp_generate_config;
void jp_generate_config_init(jp_generate_config *cfg);

typedef struct jp_generate_result {
    jp_generate_model_info model;
    int n;                   /* images: nprompts * n, prompt-major */
    int size;                /* image side (28) */
    int *classes;            /* n: the class of each image */
    int *prompt_index;       /* n */
    int *image_index;        /* n: j within its prompt */
    uint8_t *pixels;         /* n * size * size grey pixels */
    char class_names[64][64];
    int num_classes;
    double load_s, infer_s;
    double load_j, infer_j;  /* the meter's total in each phase; 0 without a meter */
    double j_per_image;      /* infer_j / n */
    bool estimated;
    double load_cpu_s, infer_cpu_s;
    double load_share, infer_share;
    double network_evals;    /* per image: steps, or 2 x steps with guidance */
} jp_generate_result;

/* The class a prompt names: a class name or synonym as whole words, case-insensitive, plurals too; the
 * longer of two overlapping matches wins ("t shirt" is a T-shirt, not a Shirt). A prompt naming no
 * class or two gets JP_ERR_NOTFOUND and one line listing the classes. dir: a model folder. */
int jp_generate_match(const char *dir, const char *prompt, int *cls);

/* Loads the model in phase "load", samples every image in phase "infer", with m (may be NULL) started
 * and stopped here. Bad input (unknown model, unmatched prompt, steps 0 or above the schedule, guidance
 * negative, n < 1) fails before anything is measured. Free with jp_generate_result_free. */
int jp_generate_run(const jp_generate_config *cfg, jp_meter *m, jp_generate_result *out);
void jp_generate_result_free(jp_generate_result *r);
/* Writes image i of a result as an 8-bit grey PNG. */
int jp_generate_write_png(const jp_generate_result *r, int i, const char *path);
/* Writes every image of a result into one PNG: a row per prompt, a column per image, 2-pixel white
 * gaps (written to PATH.tmp, then renamed). */
int jp_generate_write_grid(const jp_generate_result *r, const char *path);

/* Reads a PNG that must be side x side pixels (colour is converted to grey, alpha dropped) into
 * pixels[side * side]; a PNG of another size is refused, naming the file and both sizes. */
int jp_gen_png_read(const char *path, int side, uint8_t *pixels);
/* Encodes an 8-bit grey image (rows top to bottom) as a PNG into a malloc'd buffer (*out, *len). */
int jp_png_encode_grey(const uint8_t *pixels, int width, int height, unsigned char **out, size_t *len);

/* The quality of generated images, against Fashion-MNIST. */
typedef struct jp_gen_quality_config {
    const char *models_dir;  /* as for jp_classify_models_dir */
    const char *classifier;  /* a classifier of the zoo; NULL: the one of highest test accuracy */
    const char *data_dir;    /* as for jp_fashion_mnist_read */
    int reference_n;         /* test images the FID compares with (the first ones); 0: all 10,000 */
    int nearest_n;           /* generated images whose nearest training image is sought; 0: none, <0: all */
    int threads;
} jp_gen_quality_config;

typedef struct jp_gen_quality {
    char classifier[64];
    int n, adherent;         /* images scored; those the classifier assigns to the prompted class */
    double adherence;        /* adherent / n */
    int reference_n, feature_dim;
    double fid;              /* Frechet distance of the classifier's penultimate features, generated
                                against the reference test images */
    int nearest_n;
    double nearest_train_l2; /* mean over nearest_n images of the L2 distance (pixels / 255, 784
                                values) to the nearest of the 60,000 training images; -1: not computed */
} jp_gen_quality;

/* Scores n images (pixels [n][28*28]) made for classes[n]. */
int jp_gen_quality_score(const jp_gen_quality_config *cfg, const uint8_t *pixels, const int *classes, int n,
                         jp_gen_quality *out);
/* The label that the zoo's classifier of highest test accuracy gives each of n images (pixels
 * [n][28*28]) into pred[n]; its name into classifier (len bytes). */
int jp_gen_classify(const char *models_dir, const uint8_t *pixels, int n, int threads, int *pred, char *classifier,
                    size_t len);
/* The Frechet distance between Gaussians fitted to two sets of d-wide feature vectors (a [na][d],
 * b [nb][d]): |m_a - m_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)), covariances with n - 1, the square
 * root through LAPACK's symmetric eigen-solver. */
int jp_frechet_distance(const float *a, int na, const float *b, int nb, int d, double *out);

#if defined(__GNUC__)
/* ---- summarization: ROUGE, the BPE tokenizer, the seq2seq engine, the `summarize` workload ---- */
/*
 * Text -> one-line summary. The project's models (models/sum-*, trained by models/sum/train.py on Debian
 * package descriptions -> synopses, data/summarize/) are small T5-like encoder-decoder transformers run
 * by the engine below; lead-1 is the extractive baseline built in. Strings are UTF-8.
 */

/* ROUGE as Google's rouge-score package computes it (no stemming): both texts are lower-cased (ASCII),
 * every byte that is not [a-z0-9] separates tokens (so non-ASCII letters separate tokens too, as its
 * default tokenizer does); ROUGE-N counts clipped n-gram matches, ROUGE-L uses the longest common
 * subsequence of the two token lists (sentence level, not the summary-level "Lsum"). Precision =
 * matches / prediction's count, recall = matches / reference's count (each 0 when that count is 0),
 * F = 2PR / (P + R) (0 when P + R = 0). */
typedef struct jp_rouge_prf {
    double p, r, f;
} jp_rouge_prf;
typedef struct jp_rouge_scores {
    jp_rouge_prf r1, r2, rl;
} jp_rouge_scores;
/* JP_OK, or JP_ERR_NOMEM. */
int jp_rouge(const char *prediction, const char *reference, jp_rouge_scores *out);

/* The models' byte-level BPE tokenizer (tokenizer.txt; the rules are in data/summarize/build.py and
 * src/nn/bpe.c). Ids: 0 <pad>, 1 </s>, 2 <s>, 3..258 the bytes, 259.. the merges. */
typedef struct jp_bpe jp_bpe;
#define JP_BPE_PAD 0
#define JP_BPE_EOS 1
#define JP_BPE_BOS 2
/* JP_ERR_PARSE with the file and line on anything malformed. */
int jp_bpe_load(jp_bpe **out, const char *path);
void jp_bpe_free(jp_bpe *t);
int jp_bpe_vocab_size(const jp_bpe *t);
/* FNV-1a 64 of the file's bytes (config.json's tokenizer_fnv1a64 must match it). */
uint64_t jp_bpe_hash(const jp_bpe *t);
/* Encodes len bytes of UTF-8 text (not checked here: see jp_utf8_valid). Writes up to max ids, returns
 * how many ids the whole text has (which may exceed max), or a negative jp_status. */
long jp_bpe_encode(const jp_bpe *t, const char *text, size_t len, int32_t *ids, size_t max);
/* The text of ids (special ids skipped; invalid UTF-8 replaced by U+FFFD; surrounding spaces removed),
 * NUL-terminated in buf (cut to fit). Returns the length it needs, without the NUL. */
size_t jp_bpe_decode(const jp_bpe *t, const int32_t *ids, size_t n, char *buf, size_t len);
/* true if the bytes are well-formed UTF-8; otherwise *bad_offset (may be NULL) gets the first bad byte. */
bool jp_utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* The first sentence of a text (lead-1): up to and including the first '.', '!' or '?' that is followed
 * by white space (or ends the text) and does not end a one-letter word or a common abbreviation
 * ("e.g.", "i.e.", "etc.", "vs.", "Mr."); the whole text if there is none. White space runs become one
 * space. Writes into buf (cut to fit, NUL-terminated); returns the length it needs. */
size_t jp_lead1(const char *text, char *buf, size_t len);

/* A loaded encoder-decoder (config.json, model.safetensors, tokenizer.txt of one folder). */
typedef struct jp_s2s jp_s2s;
typedef struct jp_s2s_info {
    int d_model, heads, d_ff, enc_layers, dec_layers, vocab;
    int max_source, max_target;        /* positions: source tokens read, target tokens written (with </s>) */
    uint64_t params;
    double flops_source_token, flops_generated_token; /* from config.json (the training script's figures) */
    int max_batch, max_beam, threads;
} jp_s2s_info;
/* Loads dir's three files, and its word list (words.txt, for jp_s2s_gen.words) where it has one;
 * workspace for max_batch texts of beam width up to max_beam is allocated now and none while generating.
 * A truncated or inconsistent safetensors file, a tensor of the wrong shape, a config the engine cannot
 * run, a tokenizer that is not the one the config names (vocabulary size or FNV-1a hash), or a damaged
 * word list fails with JP_ERR_PARSE and a message naming the file (and line). threads: 1..64. */
int jp_s2s_load(jp_s2s **out, const char *dir, int max_batch, int max_beam, int threads);
void jp_s2s_free(jp_s2s *m);
void jp_s2s_info_get(const jp_s2s *m, jp_s2s_info *info);
const jp_bpe *jp_s2s_tokenizer(const jp_s2s *m);

/* Teacher-forced logits, for parity checks: src[b] has src_len[b] ids (1..max_source), tgt_in[b] has
 * tgt_len ids (1..max_target); logits gets [batch][tgt_len][vocab]. batch <= max_batch. */
int jp_s2s_logits(jp_s2s *m, const int32_t *const *src, const int *src_len, int batch, const int32_t *tgt_in,
                  int tgt_len, float *logits);

typedef struct jp_s2s_gen {
    int beam;              /* 1: greedy (default) */
    double length_penalty; /* beam search: a hypothesis scores sum(log p) / length^length_penalty (1.0) */
    int max_len;           /* generated tokens at most, </s> included (0: the model's max_target) */
    int no_repeat_ngram;   /* > 0: never generate an n-gram of this size twice in one output (0: off) */
    int words;             /* 1: every word written is a word of the text being summarized or of the model
                            * folder's word list (words.txt, if it has one), ignoring case; a word is a run
                            * of ASCII letters, digits and non-ASCII bytes. 0: off (default) */
    double span_bonus;     /* >= 0: added to the log-probability of each token that follows, somewhere in
                            * the text, the token just written (continuing a phrase of the text); 0: off
                            * (default) */
} jp_s2s_gen;
void jp_s2s_gen_init(jp_s2s_gen *g);
/* Generates for batch texts given as ids (src_len[b] in 1..max_source). out[b] receives up to max_len
 * ids (without </s>), out_len[b] their count. Threads split the batch. Allocates nothing. */
int jp_s2s_generate(jp_s2s *m, const int32_t *const *src, const int *src_len, int batch, const jp_s2s_gen *g,
                    int32_t *const *out, int *out_len);

/* The `summarize` workload: a model of models/ (sum-s, sum-m, ...) or "lead-1". */
typedef struct jp_sum_model_info {
    char name[64];        /* "sum-s", or "lead-1" */
    char dir[1024];       /* the folder ("" for lead-1) */
    char description[256];
    uint64_t params;
    double flops_per_summary; /* at the evaluation set's mean lengths (config.json) */
    double rouge1, rouge2, rougeL; /* the training script's greedy figures on the evaluation set (F1) */
} jp_sum_model_info;
/* The models found in models_dir (as jp_classify_models_dir: folders whose config.json has model_type
 * "jp-seq2seq"), in order of FLOPs, then lead-1. Returns the count or a negative jp_status. */
int jp_sum_list(const char *models_dir, jp_sum_model_info *out, size_t max);
int jp_sum_find(const char *models_dir, const char *name, jp_sum_model_info *out);


/* Texts with their references: a pairs file (a TSV with a header naming the columns "synopsis" and
 * "description", as data/summarize/eval.tsv), or a folder holding eval.tsv. texts get the descriptions,
 * refs the synopses, names the "package" column ("" if absent). Every field is checked: one line per
 * problem, naming the file and line. Free with jp_sum_pairs_free. */
typedef struct jp_sum_pairs {
    size_t n;
    char **names, **texts, **refs;
    char path[4096];
} jp_sum_pairs;
int jp_sum_pairs_read(const char *path, jp_sum_pairs *out);
void jp_sum_pairs_free(jp_sum_pairs *p);

typedef struct jp_sum_config {
    const char *model;           /* a name from jp_sum_list, a model folder, or "lead-1"; required */
    const char *models_dir;      /* as for jp_classify_models_dir */
    const char *const *texts;    /* n texts to summarize (UTF-8, not empty) */
    const char *const *refs;     /* NULL, or n references: then ROUGE is computed */
    size_t n;
    int batch;                   /* texts per generate call (default 16) */
    int threads;                 /* default 1 */
    jp_s2s_gen gen;              /* beam, length penalty, max length, no-repeat n-gram; words (on) and span
                                  * bonus (JP_SUM_SPAN_BONUS) by default here, both off in jp_s2s_gen_init */
} jp_sum_config;
#define JP_SUM_SPAN_BONUS 2.5
void jp_sum_config_init(jp_sum_config *cfg);

typedef struct jp_sum_result {
    jp_sum_model_info model;
    size_t n;
    char **summaries;            /* n summaries */
    jp_rouge_scores *scores;     /* n per-text scores when refs were given, else NULL */
    jp_rouge_scores mean;        /* their means (P, R and F averaged over texts) */
    size_t truncated;            /* texts longer than the model reads */
    long tokens_dropped;         /* source tokens cut off, over all texts */
    size_t first_truncated;      /* index of the first truncated text */
    long first_tokens, first_kept; /* its token count and what the model read of it */
    long source_tokens, generated_tokens;
    double load_s, infer_s;      /* wall time of the phases */
    double load_j, infer_j;      /* energy of the phases (the meter's total); 0 without a meter */
    double j_per_summary;        /* infer_j / n */
    bool estimated;
    double load_cpu_s, infer_cpu_s;
    double load_share, infer_share; /* as in jp_classify_result */
} jp_sum_result;

/* Checks every text (empty: JP_ERR_INVAL "text N is empty"; invalid UTF-8: JP_ERR_PARSE "text N: invalid
 * UTF-8 at byte K"), then, with m (opened by the caller; NULL: time only) started: phase "load" loads the
 * model, phase "infer" summarizes every text; stops m; then scores. Texts over the model's source length
 * are truncated to it (the result says how many and by how much). This is `builtin: summarize`. */
int jp_sum_run(const jp_sum_config *cfg, jp_meter *m, jp_sum_result *out);
void jp_sum_result_free(jp_sum_result *r);

#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
