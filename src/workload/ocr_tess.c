/* The OCR models: Tesseract configurations through its C API, their traineddata files found and
 * checked before Tesseract sees them, and an engine that reads one text line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tesseract/capi.h>

#include "workload/ocr.h"

enum engine { ENG_LSTM, ENG_LEGACY, ENG_BOTH };

struct model_def {
    jp_ocr_model pub;
    const char *sub; /* folder under the tessdata root holding eng.traineddata */
    enum engine engine;
};

static const struct model_def models[] = {
    {{"eng-fast", "fast/eng.traineddata", "lstm",
      "tessdata_fast LSTM, 4.1 MB (Debian tesseract-ocr-eng 4.1.0; found in Debian's tessdata folder)"},
     "fast", ENG_LSTM},
    {{"eng-best", "4.0.0_best_int/eng.traineddata", "lstm",
      "tessdata_best LSTM with integer weights, 5.2 MB (npm @tesseract.js-data/eng 4.0.0_best_int)"},
     "4.0.0_best_int", ENG_LSTM},
    {{"eng-lstm4", "4.0.0/eng.traineddata", "lstm",
      "the LSTM network of tessdata 4.0.0, 23 MB file (npm @tesseract.js-data/eng 4.0.0)"},
     "4.0.0", ENG_LSTM},
    {{"eng-legacy", "4.0.0/eng.traineddata", "legacy",
      "the legacy (pre-LSTM) engine of tessdata 4.0.0, same file"},
     "4.0.0", ENG_LEGACY},
    {{"eng-combined", "4.0.0/eng.traineddata", "legacy+lstm",
      "tessdata 4.0.0 with both engines, results combined by Tesseract, same file"},
     "4.0.0", ENG_BOTH},
};
#define NMODELS (sizeof models / sizeof *models)

const jp_ocr_model *jp_ocr_model_at(size_t i) { return i < NMODELS ? &models[i].pub : NULL; }

static const struct model_def *find(const char *name)
{
    for (size_t i = 0; i < NMODELS; i++)
        if (name && !strcmp(models[i].pub.name, name)) return &models[i];
    return NULL;
}

const jp_ocr_model *jp_ocr_model_find(const char *name)
{
    const struct model_def *d = find(name);
    if (d) return &d->pub;
    jp_fail(JP_ERR_NOTFOUND, "unknown OCR model '%s': choose one of eng-fast, eng-best, eng-lstm4, eng-legacy, "
                             "eng-combined",
            name ? name : "(null)");
    return NULL;
}

/* Tesseract's traineddata: int32 count, int64 offsets[count] (-1 = absent), then the parts. */
enum { TD_UNICHARSET = 1, TD_INTTEMP = 3, TD_PFFMTABLE = 4, TD_NORMPROTO = 5, TD_LSTM = 17 };

static int check_traineddata(const struct model_def *d, const char *path)
{
    static const char fix[] = "run scripts/bootstrap to install the models again (or scripts/fetch-tessdata)";
    int orc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) {
        char why[600];
        jp_strlcpy(why, jp_last_error(), sizeof why);
        return jp_fail(JP_ERR_IO, "%s: cannot read: %s", d->pub.name, why);
    }
    struct stat st;
    int rc = JP_OK;
    unsigned char hdr[4 + 8 * 64];
    size_t got = fread(hdr, 1, sizeof hdr, f);
    if (fstat(fileno(f), &st) != 0) got = 0;
    fclose(f);
    int32_t n = got >= 4 ? (int32_t)((uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
                                     (uint32_t)hdr[3] << 24)
                         : -1;
    if (n < 1 || n > 64 || got < 4 + 8 * (size_t)n)
        return jp_fail(JP_ERR_PARSE, "%s: %s is not a Tesseract traineddata file (no table of contents): %s",
                       d->pub.name, path, fix);
    int64_t off[64], last = -1;
    for (int32_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (int b = 7; b >= 0; b--) v = v << 8 | hdr[4 + 8 * i + b];
        off[i] = (int64_t)v;
        if (off[i] == -1) continue;
        if (off[i] < 4 + 8 * (int64_t)n || off[i] >= (int64_t)st.st_size || off[i] <= last) {
            rc = jp_fail(JP_ERR_PARSE,
                         "%s: %s is corrupt or truncated (part %d at byte %lld of a %lld-byte file): %s", d->pub.name,
                         path, (int)i, (long long)off[i], (long long)st.st_size, fix);
            return rc;
        }
        last = off[i];
    }
    int need_lstm = d->engine != ENG_LEGACY, need_legacy = d->engine != ENG_LSTM;
    if (need_lstm && (n <= TD_LSTM || off[TD_LSTM] < 0))
        return jp_fail(JP_ERR_PARSE, "%s: %s has no LSTM network, so it cannot run the %s engine: %s", d->pub.name,
                       path, d->pub.engine, fix);
    if (need_legacy && (n <= TD_NORMPROTO || off[TD_UNICHARSET] < 0 || off[TD_INTTEMP] < 0 ||
                        off[TD_PFFMTABLE] < 0 || off[TD_NORMPROTO] < 0))
        return jp_fail(JP_ERR_PARSE, "%s: %s has no legacy engine data, so it cannot run the %s engine: %s",
                       d->pub.name, path, d->pub.engine, fix);
    return JP_OK;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int jp_ocr_model_locate(const char *name, const char *tessdata, char *dir, size_t dir_len, char *path,
                        size_t path_len)
{
    const struct model_def *d = find(name);
    if (!d) return jp_ocr_model_find(name) ? JP_OK : JP_ERR_NOTFOUND;
    if (!dir || !path) return jp_fail(JP_ERR_INVAL, "jp_ocr_model_locate: bad arguments");
    char root[PATH_MAX];
    int explicit_root = 1, rc;
    if (tessdata && *tessdata) rc = jp_pathf(root, sizeof root, "%s", tessdata);
    else if (getenv("JP_TESSDATA") && *getenv("JP_TESSDATA")) rc = jp_pathf(root, sizeof root, "%s", getenv("JP_TESSDATA"));
    else {
        explicit_root = 0;
        char data[PATH_MAX];
        rc = jp_ocr_data_root(data, sizeof data);
        if (rc == JP_OK) rc = jp_pathf(root, sizeof root, "%s/tessdata", data);
    }
    if (rc != JP_OK) return rc;
    char cand[8][PATH_MAX];
    size_t nc = 0;
    if (jp_pathf(cand[nc], sizeof cand[nc], "%s/%s", root, d->sub) == JP_OK) nc++;
    if (d->engine == ENG_LSTM && !strcmp(d->sub, "fast") && !explicit_root) {
        const char *tp = getenv("TESSDATA_PREFIX");
        if (tp && *tp && jp_pathf(cand[nc], sizeof cand[nc], "%s", tp) == JP_OK) nc++;
        jp_strlcpy(cand[nc++], "/usr/share/tesseract-ocr/5/tessdata", PATH_MAX);
        jp_strlcpy(cand[nc++], "/usr/share/tesseract-ocr/4.00/tessdata", PATH_MAX);
    }
    for (size_t i = 0; i < nc; i++) {
        char file[PATH_MAX];
        if (snprintf(file, sizeof file, "%s/eng.traineddata", cand[i]) >= (int)sizeof file) continue;
        if (!is_file(file)) continue;
        if ((rc = check_traineddata(d, file)) != JP_OK) return rc;
        if ((rc = jp_pathf(dir, dir_len, "%s", cand[i])) != JP_OK) return rc;
        return jp_pathf(path, path_len, "%s", file);
    }
    if (!strcmp(d->sub, "fast"))
        return jp_fail(JP_ERR_NOTFOUND,
                       "%s: no eng.traineddata in %s/fast%s: install Debian's tesseract-ocr-eng (scripts/bootstrap "
                       "does: apt-get install tesseract-ocr-eng)",
                       d->pub.name, root, explicit_root ? "" : " nor /usr/share/tesseract-ocr/5/tessdata");
    return jp_fail(JP_ERR_NOTFOUND,
                   "%s: no %s/%s: fetch it with scripts/bootstrap (which runs scripts/fetch-tessdata: npm pack "
                   "@tesseract.js-data/eng), or set JP_TESSDATA to a folder holding %s",
                   d->pub.name, root, d->pub.file, d->pub.file);
}

/* ---- the engine ---- */

struct jp_ocr_engine {
    TessBaseAPI *api;
    const struct model_def *def;
    bool reset; /* the adaptive classifier cleared before each line */
};

static _Atomic bool reset_per_line = true;

void jp_ocr_reset_per_line(bool reset)
{
    reset_per_line = reset;
}

int jp_ocr_engine_open(jp_ocr_engine **out, const char *model, const char *tessdata)
{
    if (!out) return jp_fail(JP_ERR_INVAL, "jp_ocr_engine_open: out is NULL");
    *out = NULL;
    const struct model_def *d = find(model);
    if (!d) return jp_ocr_model_find(model) ? JP_OK : JP_ERR_NOTFOUND;
    char dir[PATH_MAX], path[PATH_MAX];
    int rc = jp_ocr_model_locate(model, tessdata, dir, sizeof dir, path, sizeof path);
    if (rc != JP_OK) return rc;
    jp_ocr_engine *e = calloc(1, sizeof *e);
    if (!e) return jp_fail(JP_ERR_NOMEM, "out of memory");
    e->def = d;
    e->reset = reset_per_line;
    e->api = TessBaseAPICreate();
    if (!e->api) {
        free(e);
        return jp_fail(JP_ERR_NOMEM, "Tesseract: cannot create an instance");
    }
    /* Tesseract's own messages (resolution guesses, ...) go nowhere; errors are ours to say. */
    static char k_debug[] = "debug_file", v_debug[] = "/dev/null";
    char *keys[] = {k_debug}, *vals[] = {v_debug};
    TessOcrEngineMode oem = d->engine == ENG_LSTM     ? OEM_LSTM_ONLY
                            : d->engine == ENG_LEGACY ? OEM_TESSERACT_ONLY
                                                      : OEM_TESSERACT_LSTM_COMBINED;
    if (TessBaseAPIInit4(e->api, dir, "eng", oem, NULL, 0, keys, vals, 1, 0) != 0) {
        TessBaseAPIDelete(e->api);
        free(e);
        return jp_fail(JP_ERR_PARSE,
                       "%s: Tesseract could not load %s with the %s engine: the file may be damaged; run "
                       "scripts/bootstrap to install the models again",
                       d->pub.name, path, d->pub.engine);
    }
    TessBaseAPISetPageSegMode(e->api, PSM_SINGLE_LINE);
    *out = e;
    return JP_OK;
}

int jp_ocr_engine_read(jp_ocr_engine *e, const jp_ocr_image *img, char **text)
{
    if (!e || !img || !img->pixels || img->width <= 0 || img->height <= 0 || !text)
        return jp_fail(JP_ERR_INVAL, "jp_ocr_engine_read: bad arguments");
    *text = NULL;
    TessBaseAPISetImage(e->api, img->pixels, img->width, img->height, 1, img->width);
    TessBaseAPISetSourceResolution(e->api, 300);
    /* Each line is read as a page of its own: no adaptation carried from one line to the next, so
     * that results do not depend on order or on how lines are shared between threads. */
    if (e->def->engine != ENG_LSTM && e->reset) TessBaseAPIClearAdaptiveClassifier(e->api);
    char *t = TessBaseAPIGetUTF8Text(e->api);
    if (!t) {
        TessBaseAPIClear(e->api);
        return jp_fail(JP_ERR_IO, "%s: Tesseract could not read the image", e->def->pub.name);
    }
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == ' ' || t[n - 1] == '\r' || t[n - 1] == '\f')) n--;
    char *copy = malloc(n + 1);
    if (copy) {
        memcpy(copy, t, n);
        copy[n] = '\0';
    }
    TessDeleteText(t);
    TessBaseAPIClear(e->api);
    if (!copy) return jp_fail(JP_ERR_NOMEM, "out of memory");
    *text = copy;
    return JP_OK;
}

void jp_ocr_engine_close(jp_ocr_engine *e)
{
    if (!e) return;
    TessBaseAPIEnd(e->api);
    TessBaseAPIDelete(e->api);
    free(e);
}
