/* The summarization engine against PyTorch, for every models/sum-* folder: logits of 4 evaluation texts
 * (8 teacher-forced decoder positions, through the key/value cache) within 1e-4 of PyTorch's, and greedy
 * output tokens identical to PyTorch's on all 1,000 evaluation texts (batched, 2 threads); beam search
 * sanity; and damaged model folders (truncated weights, a tokenizer that is not the model's, no folder). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>

#include "jouleprint/workloads.h"
#include "bench/builtin.h"
#include "fake_tree.h"
#include "jouleprint.h"
#include "nn/safetensors.h"

static char tmpdir[256];
static char src_dir[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jp-test-summ-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    const char *s = getenv("JP_TEST_SRC_DIR");
    snprintf(src_dir, sizeof src_dir, "%s", s ? s : ".");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The evaluation set's descriptions, in order. */
static int read_eval(char ***out)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/data/summarize/eval.tsv", src_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    char **d = calloc(1000, sizeof *d);
    assert_true(getline(&line, &cap, f) > 0);
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        line[len - 1] = '\0';
        char *p = line;
        for (int k = 0; k < 3; k++) {
            p = strchr(p, '\t');
            assert_non_null(p);
            p++;
        }
        assert_true(n < 1000);
        d[n++] = strdup(p);
    }
    free(line);
    fclose(f);
    *out = d;
    return n;
}

/* ---- the word constraint, checked with a word list of the test's own (a sorted array, no hashing) */

static int word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80; }

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The words of text (runs of word bytes, ASCII lower-cased), appended to list[*n..] (cap max). */
static void words_of(const char *text, char **list, int *n, int max)
{
    for (const char *p = text; *p;) {
        if (!word_byte((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *e = p;
        while (*e && word_byte((unsigned char)*e)) e++;
        assert_true(*n < max);
        char *w = strndup(p, (size_t)(e - p));
        for (char *c = w; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        list[(*n)++] = w;
        p = e;
    }
}

static int has_word(char **list, int n, const char *w)
{
    return bsearch(&w, list, (size_t)n, sizeof *list, cmp_str) != NULL;
}

/* Encodes text (cut to the model's source length) into src and summarizes it with g into out. */
static void summarize_one(jp_s2s *m, const char *text, const jp_s2s_gen *g, int32_t src[128], int *slen,
                          int32_t out[48], int *olen)
{
    jp_s2s_info info;
    jp_s2s_info_get(m, &info);
    long n = jp_bpe_encode(jp_s2s_tokenizer(m), text, strlen(text), src, 128);
    *slen = (int)(n < info.max_source ? n : info.max_source);
    const int32_t *ps[1] = {src};
    int32_t *po[1] = {out};
    assert_int_equal(jp_s2s_generate(m, ps, slen, 1, g, po, olen), JP_OK);
}

/* Summarizes the first ntexts texts with gen (words on or off) and counts the output words that are
 * neither in the model's words.txt nor in the text as the model read it (its first max_source tokens). */
static int unknown_words(jp_s2s *m, const char *dir, char **texts, int ntexts, const jp_s2s_gen *g, int *total)
{
    char path[1600];
    snprintf(path, sizeof path, "%s/words.txt", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char *list[4096];
    int nlist = 0, nw = 0;
    char line[128];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "jouleprint-words 1\n");
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(sscanf(line, "words %d", &nw), 1);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        assert_true(nlist < 4096);
        list[nlist++] = strdup(line);
    }
    fclose(f);
    assert_int_equal(nlist, nw);
    qsort(list, (size_t)nlist, sizeof *list, cmp_str);
    int unknown = 0;
    *total = 0;
    for (int i = 0; i < ntexts; i++) {
        int32_t src[128], out[48];
        int slen, olen;
        summarize_one(m, texts[i], g, src, &slen, out, &olen);
        static char text[8192], summary[1024];
        jp_bpe_decode(jp_s2s_tokenizer(m), src, (size_t)slen, text, sizeof text);
        jp_bpe_decode(jp_s2s_tokenizer(m), out, (size_t)olen, summary, sizeof summary);
        static char *sw[4096], *ow[256];
        int nsw = 0, now = 0;
        words_of(text, sw, &nsw, 4096);
        words_of(summary, ow, &now, 256);
        qsort(sw, (size_t)nsw, sizeof *sw, cmp_str);
        for (int k = 0; k < now; k++) {
            if (!has_word(list, nlist, ow[k]) && !has_word(sw, nsw, ow[k])) {
                if (g->words && unknown < 5) printf("  text %d: \"%s\" has the unknown word \"%s\"\n", i, summary, ow[k]);
                unknown++;
            }
            (*total)++;
        }
        for (int k = 0; k < nsw; k++) free(sw[k]);
        for (int k = 0; k < now; k++) free(ow[k]);
    }
    for (int k = 0; k < nlist; k++) free(list[k]);
    return unknown;
}

/* Greedy outputs of the first ntexts texts with span bonus `bonus` (words off): how many times a token
 * that occurs in the text with a token after it is followed, in the output, by a token that never
 * follows it in the text (with a bonus of 100 on log-probabilities that are never below -100, none). */
static int span_breaks(jp_s2s *m, char **texts, int ntexts, double bonus)
{
    jp_s2s_gen g;
    jp_s2s_gen_init(&g);
    g.span_bonus = bonus;
    int breaks = 0;
    for (int i = 0; i < ntexts; i++) {
        int32_t src[128], out[48];
        int slen, olen;
        summarize_one(m, texts[i], &g, src, &slen, out, &olen);
        for (int k = 1; k < olen; k++) {
            int followed = 0, same = 0;
            for (int j = 0; j + 1 < slen; j++)
                if (src[j] == out[k - 1]) followed = 1, same |= src[j + 1] == out[k];
            breaks += followed && !same;
        }
    }
    return breaks;
}

/* Greedy outputs of all texts, `batch` at a time, against PyTorch's: how many differ. */
static int greedy_mismatches(jp_s2s *m, const char *dir, char **texts, int ntexts, const int64_t *greedy, int G,
                             int batch)
{
    jp_s2s_info info;
    jp_s2s_info_get(m, &info);
    static int32_t sbuf[16][128], obuf[16][48];
    int32_t *sp[16], *op[16];
    int slen[16], olen[16], mismatched = 0, total_tokens = 0;
    for (int b = 0; b < 16; b++) sp[b] = sbuf[b], op[b] = obuf[b];
    jp_s2s_gen g;
    jp_s2s_gen_init(&g);
    for (int i0 = 0; i0 < ntexts; i0 += batch) {
        int nb = ntexts - i0 < batch ? ntexts - i0 : batch;
        for (int b = 0; b < nb; b++) {
            long n = jp_bpe_encode(jp_s2s_tokenizer(m), texts[i0 + b], strlen(texts[i0 + b]), sbuf[b], 128);
            slen[b] = (int)(n < info.max_source ? n : info.max_source);
        }
        assert_int_equal(jp_s2s_generate(m, (const int32_t *const *)sp, slen, nb, &g, op, olen), JP_OK);
        for (int b = 0; b < nb; b++) {
            const int64_t *w = greedy + (size_t)(i0 + b) * G;
            int wl = 0;
            while (wl < G && w[wl] >= 0) wl++;
            int same = wl == olen[b];
            for (int k = 0; same && k < wl; k++) same = w[k] == obuf[b][k];
            if (!same) {
                if (mismatched < 5) printf("  text %d: C and PyTorch greedy outputs differ\n", i0 + b);
                mismatched++;
            }
            total_tokens += olen[b];
        }
    }
    printf("%s: greedy outputs of %d texts (%d tokens), %d at a time, %d differ from PyTorch's\n", dir, ntexts,
           total_tokens, batch, mismatched);
    return mismatched;
}

static void check_model(const char *dir, char **texts, int ntexts)
{
    char path[1600];
    jp_s2s *m;
    assert_int_equal(jp_s2s_load(&m, dir, 16, 4, 2), JP_OK);
    jp_s2s_info info;
    jp_s2s_info_get(m, &info);
    snprintf(path, sizeof path, "%s/parity.safetensors", dir);
    jp_safetensors *st;
    assert_int_equal(jp_st_open(&st, path), JP_OK);
    const jp_st_tensor *ts = jp_st_find(st, "src"), *tt = jp_st_find(st, "tgt_in"), *tg = jp_st_find(st, "greedy");
    assert_non_null(ts);
    assert_non_null(tt);
    assert_non_null(tg);
    int P = (int)ts->shape[0], S = (int)ts->shape[1], T = (int)tt->shape[1], G = (int)tg->shape[1];
    int64_t *src64 = malloc((size_t)P * S * sizeof *src64), *tgt64 = malloc((size_t)P * T * sizeof *tgt64);
    int64_t *greedy = malloc((size_t)ntexts * G * sizeof *greedy);
    float *want = malloc((size_t)P * T * info.vocab * sizeof *want), *got = malloc((size_t)P * T * info.vocab * sizeof *got);
    int64_t sh[3] = {P, S, 0};
    assert_int_equal(jp_st_read_i64(st, "src", 2, sh, src64), JP_OK);
    sh[1] = T;
    assert_int_equal(jp_st_read_i64(st, "tgt_in", 2, sh, tgt64), JP_OK);
    int64_t shl[3] = {P, T, info.vocab};
    assert_int_equal(jp_st_read_f32(st, "logits", 3, shl, want), JP_OK);
    int64_t shg[2] = {ntexts, G};
    assert_int_equal(jp_st_read_i64(st, "greedy", 2, shg, greedy), JP_OK);
    jp_st_close(st);

    /* logits */
    int32_t *srcb[16], tgt[16 * 48];
    int slen[16];
    for (int b = 0; b < P; b++) {
        srcb[b] = malloc((size_t)S * sizeof(int32_t));
        slen[b] = 0;
        for (int i = 0; i < S && src64[(size_t)b * S + i] != 0; i++) srcb[b][slen[b]++] = (int32_t)src64[(size_t)b * S + i];
        for (int t = 0; t < T; t++) tgt[b * T + t] = (int32_t)tgt64[(size_t)b * T + t];
    }
    assert_int_equal(jp_s2s_logits(m, (const int32_t *const *)srcb, slen, P, tgt, T, got), JP_OK);
    double worst = 0;
    for (size_t i = 0; i < (size_t)P * T * info.vocab; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (e > worst) worst = e;
    }
    printf("%s: largest logit difference from PyTorch %.3g\n", dir, worst);
    assert_true(worst < 1e-4);
    /* the same texts' ids come from the C tokenizer too */
    int32_t ids[128];
    for (int b = 0; b < P; b++) {
        long n = jp_bpe_encode(jp_s2s_tokenizer(m), texts[b], strlen(texts[b]), ids, 128);
        if (n > info.max_source) n = info.max_source;
        assert_int_equal(n, slen[b]);
        assert_memory_equal(ids, srcb[b], (size_t)n * sizeof(int32_t));
    }
    for (int b = 0; b < P; b++) free(srcb[b]);

    /* greedy on all evaluation texts, 16 at a time (8 rows a thread: jp_nn_gemm512's tiles where the CPU
     * has AVX-512, else the BLAS product), then 3 at a time on one thread (3 rows, and 1 for the last
     * text: jp_nn_rows512), both over the weights transposed at load */
    assert_int_equal(greedy_mismatches(m, dir, texts, ntexts, greedy, G, 16), 0);
    jp_s2s *m3;
    assert_int_equal(jp_s2s_load(&m3, dir, 3, 1, 1), JP_OK);
    assert_int_equal(greedy_mismatches(m3, dir, texts, ntexts, greedy, G, 3), 0);
    jp_s2s_free(m3);
    static int32_t sbuf[16][128];
    jp_s2s_gen g;
    jp_s2s_gen_init(&g);
    slen[0] = (int)jp_bpe_encode(jp_s2s_tokenizer(m), texts[0], strlen(texts[0]), sbuf[0], 128);
    if (slen[0] > info.max_source) slen[0] = info.max_source;

    /* beam search: width 1 is greedy; width 4 scores at least as well as greedy by its own measure for
     * the first text; max_len and no-repeat bound the output */
    int32_t o1[48], o4[48];
    int32_t *po1[1] = {o1}, *po4[1] = {o4};
    int l1, l4;
    const int32_t *s0[1] = {sbuf[0]};
    jp_s2s_gen gb = g;
    gb.beam = 1;
    assert_int_equal(jp_s2s_generate(m, s0, slen, 1, &gb, po1, &l1), JP_OK);
    gb.beam = 4;
    gb.no_repeat_ngram = 2;
    gb.max_len = 6;
    assert_int_equal(jp_s2s_generate(m, s0, slen, 1, &gb, po4, &l4), JP_OK);
    assert_true(l4 <= 5);
    for (int i = 0; i + 1 < l4; i++)
        for (int j = i + 1; j + 1 < l4; j++) assert_false(o4[i] == o4[j] && o4[i + 1] == o4[j + 1]);
    /* the word constraint: with it, every output word of the first 200 texts is a word of the text or of
     * words.txt, greedy and with beam 4 (no repeated 3-gram); without it, the same check finds words the
     * model spelled from pieces (so the check can fail) */
    jp_s2s_gen gw;
    jp_s2s_gen_init(&gw);
    int total, off = unknown_words(m, dir, texts, 200, &gw, &total);
    printf("%s: words off, greedy: %d of %d output words unknown\n", dir, off, total);
    assert_true(off > 0);
    gw.words = 1;
    assert_int_equal(unknown_words(m, dir, texts, 200, &gw, &total), 0);
    assert_true(total > 200);
    gw.beam = 4;
    gw.no_repeat_ngram = 3;
    assert_int_equal(unknown_words(m, dir, texts, 200, &gw, &total), 0);
    assert_true(total > 200);
    gw.words = 2;
    assert_int_equal(jp_s2s_generate(m, s0, slen, 1, &gw, po4, &l4), JP_ERR_RANGE);
    gw.words = 1;
    gw.span_bonus = -1;
    assert_int_equal(jp_s2s_generate(m, s0, slen, 1, &gw, po4, &l4), JP_ERR_RANGE);
    /* the span bonus: a large one makes greedy decoding continue the text's phrases wherever it can */
    int free_breaks = span_breaks(m, texts, 100, 0);
    printf("%s: span bonus 0: %d places where the output leaves a phrase of the text it could continue\n", dir,
           free_breaks);
    assert_true(free_breaks > 0);
    assert_int_equal(span_breaks(m, texts, 100, 100), 0);
    gb.beam = 5;
    assert_int_equal(jp_s2s_generate(m, s0, slen, 1, &gb, po4, &l4), JP_ERR_RANGE); /* loaded for 4 */
    slen[0] = info.max_source + 1;
    assert_int_equal(jp_s2s_generate(m, s0, slen, 1, &g, po4, &l4), JP_ERR_RANGE);
    free(src64), free(tgt64), free(greedy), free(want), free(got);
    jp_s2s_free(m);
}

static void test_models_match_pytorch(void **state)
{
    (void)state;
    char **texts;
    int n = read_eval(&texts);
    assert_int_equal(n, 1000);
    char models[1100];
    snprintf(models, sizeof models, "%s/models", src_dir);
    DIR *dir = opendir(models);
    assert_non_null(dir);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(dir))) {
        if (strncmp(e->d_name, "sum-", 4)) continue;
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", models, e->d_name);
        check_model(p, texts, n);
        found++;
    }
    closedir(dir);
    assert_true(found >= 2);
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
}

static void copy(const char *from, const char *to, long cut)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    char buf[65536];
    size_t n;
    long done = 0;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) {
        if (cut >= 0 && done + (long)n > cut) n = (size_t)(cut - done);
        fwrite(buf, 1, n, b);
        done += (long)n;
        if (cut >= 0 && done >= cut) break;
    }
    fclose(a);
    fclose(b);
}

static void test_bad_model_folders(void **state)
{
    (void)state;
    char m[1200], d[600], a[1400], b[1400];
    snprintf(m, sizeof m, "%s/models/sum-s", src_dir);
    snprintf(d, sizeof d, "%s/bad", tmpdir);
    assert_int_equal(system((snprintf(a, sizeof a, "mkdir -p '%s'", d), a)), 0);
    const char *files[] = {"config.json", "model.safetensors", "tokenizer.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "%s/%s", m, files[i]);
        snprintf(b, sizeof b, "%s/%s", d, files[i]);
        copy(a, b, -1);
    }
    jp_s2s *s;
    assert_int_equal(jp_s2s_load(&s, d, 1, 1, 1), JP_OK);
    jp_s2s_free(s);
    /* truncated weights */
    snprintf(a, sizeof a, "%s/model.safetensors", m);
    snprintf(b, sizeof b, "%s/model.safetensors", d);
    copy(a, b, 100000);
    assert_int_equal(jp_s2s_load(&s, d, 1, 1, 1), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "model.safetensors"));
    copy(a, b, -1);
    /* the copy head: a config that says the opposite of the weights (its tensors missing, or left over),
     * and a "copy" that is not a boolean */
    snprintf(a, sizeof a, "%s/config.json", m);
    snprintf(b, sizeof b, "%s/config.json", d);
    json_error_t je;
    json_t *cfg = json_load_file(a, 0, &je);
    assert_non_null(cfg);
    int has_copy = json_is_true(json_object_get(cfg, "copy"));
    json_object_set_new(cfg, "copy", json_boolean(!has_copy));
    assert_int_equal(json_dump_file(cfg, b, 0), 0);
    assert_int_not_equal(jp_s2s_load(&s, d, 1, 1, 1), JP_OK);
    assert_non_null(strstr(jp_last_error(), "copy."));
    json_object_set_new(cfg, "copy", json_string("yes"));
    assert_int_equal(json_dump_file(cfg, b, 0), 0);
    assert_int_equal(jp_s2s_load(&s, d, 1, 1, 1), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "\"copy\" must be true or false"));
    json_decref(cfg);
    copy(a, b, -1);
    /* a tokenizer with one merge changed: same size, other hash */
    snprintf(a, sizeof a, "%s/tokenizer.txt", m);
    snprintf(b, sizeof b, "%s/tokenizer.txt", d);
    copy(a, b, -1);
    FILE *f = fopen(b, "r+");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_int_equal(fseek(f, size - 2, SEEK_SET), 0); /* the last digit of the last merge */
    int c = fgetc(f);
    assert_int_equal(fseek(f, size - 2, SEEK_SET), 0);
    fputc(c == '3' ? '4' : '3', f);
    fclose(f);
    assert_int_equal(jp_s2s_load(&s, d, 1, 1, 1), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "not this model's tokenizer"));
    /* no such folder */
    snprintf(b, sizeof b, "%s/none", tmpdir);
    assert_int_equal(jp_s2s_load(&s, b, 1, 1, 1), JP_ERR_NOTFOUND);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int lines_in(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* `jouleprint summarize`: lead-1 on the evaluation set gives the ROUGE the library computes; each bad
 * input is one line on stderr and exit status 2. */
static void test_cli(void **state)
{
    (void)state;
    char out[512], err[512], models[1100], data[1100];
    snprintf(out, sizeof out, "%s/out.txt", tmpdir);
    snprintf(err, sizeof err, "%s/err.txt", tmpdir);
    snprintf(models, sizeof models, "%s/models", src_dir);
    snprintf(data, sizeof data, "%s/data/summarize", src_dir);
    const char *one[] = {"summarize", "--model", "lead-1", "--text", "Foo is a tool. It does things.", "--models-dir",
                         models, NULL};
    assert_int_equal(ft_run_cli(out, err, one), 0);
    assert_int_equal(strncmp(read_all(out), "Foo is a tool.\n", 15), 0);

    const char *ev[] = {"summarize", "--model", "lead-1", "--data", data, "--json", "--models-dir", models,
                        "--interval", "10ms", NULL};
    assert_int_equal(ft_run_cli(out, err, ev), 0);
    json_error_t je;
    json_t *j = json_load_file(out, 0, &je);
    if (!j) fail_msg("not JSON: %s", je.text);
    assert_int_equal(json_integer_value(json_object_get(j, "n")), 1000);
    json_t *sums = json_object_get(j, "summaries");
    assert_int_equal(json_array_size(sums), 1000);
    jp_sum_pairs p;
    assert_int_equal(jp_sum_pairs_read(data, &p), JP_OK);
    double r1 = 0, rl = 0;
    char buf[8192];
    for (size_t i = 0; i < p.n; i++) {
        jp_lead1(p.texts[i], buf, sizeof buf);
        assert_string_equal(buf, json_string_value(json_object_get(json_array_get(sums, i), "summary")));
        jp_rouge_scores s;
        assert_int_equal(jp_rouge(buf, p.refs[i], &s), JP_OK);
        r1 += s.r1.f / (double)p.n;
        rl += s.rl.f / (double)p.n;
    }
    json_t *rouge = json_object_get(j, "rouge");
    assert_float_equal(json_real_value(json_object_get(json_object_get(rouge, "rouge1"), "f")), r1, 1e-9);
    assert_float_equal(json_real_value(json_object_get(json_object_get(rouge, "rougeL"), "f")), rl, 1e-9);
    assert_true(r1 > 0.2 && r1 < 0.5); /* lead-1 overlaps the synopses, far from fully */
    assert_true(json_real_value(json_object_get(j, "infer_j")) > 0);
    assert_non_null(json_object_get(j, "carbon_g_per_summary"));
    json_decref(j);
    jp_sum_pairs_free(&p);

    /* bad input: one line each */
    char longtext[20000] = "";
    for (int i = 0; i < 300; i++) strcat(longtext, "word ");
    const char *cases[][2] = {
        {"  \n ", "text 1 is empty"},
        {"caf\xff", "text 1: invalid UTF-8 at byte 4"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *a[] = {"summarize", "--model", "sum-s", "--text", cases[k][0], "--models-dir", models, NULL};
        assert_int_equal(ft_run_cli(out, err, a), 2);
        char *e = read_all(err);
        if (!strstr(e, cases[k][1])) fail_msg("expected \"%s\", got: %s", cases[k][1], e);
        assert_int_equal(lines_in(e), 1);
    }
    const char *unk[] = {"summarize", "--model", "nope", "--text", "x y", "--models-dir", models, NULL};
    assert_int_equal(ft_run_cli(out, err, unk), 2);
    assert_non_null(strstr(read_all(err), "unknown summarization model 'nope'"));
    assert_int_equal(lines_in(read_all(err)), 1);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/bad", tmpdir); /* left by test_bad_model_folders: a tokenizer not the model's */
    const char *mis[] = {"summarize", "--model", bad, "--text", "x y", NULL};
    assert_int_equal(ft_run_cli(out, err, mis), 2);
    assert_non_null(strstr(read_all(err), "not this model's tokenizer"));
    assert_int_equal(lines_in(read_all(err)), 1);
    /* the decoding options: their defaults in the JSON, and a bad value refused in one line */
    const char *dflt[] = {"summarize", "--model", "sum-xs", "--text", "foo is a tool for bar files.", "--json",
                          "--models-dir", models, NULL};
    assert_int_equal(ft_run_cli(out, err, dflt), 0);
    json_t *dj = json_load_file(out, 0, &je);
    assert_non_null(dj);
    assert_true(json_is_true(json_object_get(dj, "words")));
    assert_float_equal(json_real_value(json_object_get(dj, "span_bonus")), JP_SUM_SPAN_BONUS, 1e-12);
    json_decref(dj);
    const char *opts[][3] = {{"--words", "maybe", "--words maybe: expected on or off"},
                             {"--span-bonus", "-1", "--span-bonus -1: expected a number from 0 to 100"},
                             {"--span-bonus", "x", "--span-bonus x: expected a number from 0 to 100"}};
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        const char *a[] = {"summarize", "--model", "sum-xs", "--text", "x y", opts[k][0], opts[k][1], "--models-dir",
                           models, NULL};
        assert_int_equal(ft_run_cli(out, err, a), 2);
        char *e = read_all(err);
        if (!strstr(e, opts[k][2])) fail_msg("expected \"%s\", got: %s", opts[k][2], e);
        assert_int_equal(lines_in(e), 1);
    }
    /* too long: summarized, with one warning saying how much was dropped */
    const char *lng[] = {"summarize", "--model", "sum-s", "--text", longtext, "--models-dir", models, NULL};
    assert_int_equal(ft_run_cli(out, err, lng), 0);
    char *e = read_all(err);
    if (!strstr(e, "text 1 has 300 tokens and sum-s reads 128: the last 172 were dropped")) fail_msg("got: %s", e);
    assert_int_equal(lines_in(e), 1);
}

/* `builtin: summarize`: lead-1 over the first 20 evaluation pairs writes lead-1's sentences and the
 * synopses, one per line; a bad option is refused before anything runs. */
static void test_builtin(void **state)
{
    (void)state;
    const struct jp_bench_builtin *b = jp_bench_builtin_find("summarize");
    assert_non_null(b);
    assert_string_equal(b->scorer, "rouge");
    char models[1100], data[1100], outp[600], refp[600], why[512];
    snprintf(models, sizeof models, "%s/models", src_dir);
    snprintf(data, sizeof data, "%s/data/summarize/eval.tsv", src_dir);
    snprintf(outp, sizeof outp, "%s/pred.txt", tmpdir);
    snprintf(refp, sizeof refp, "%s/ref.txt", tmpdir);
    struct jp_spec_option o[3];
    memset(o, 0, sizeof o);
    strcpy(o[0].key, "model"), strcpy(o[0].value, "lead-1");
    assert_true(strlen(models) < sizeof o[1].value);
    strcpy(o[1].key, "models_dir"), memcpy(o[1].value, models, strlen(models) + 1);
    strcpy(o[2].key, "beam"), strcpy(o[2].value, "0");
    assert_int_equal(b->check(o, 3, why, sizeof why), JP_ERR_INVAL);
    assert_non_null(strstr(why, "beam"));
    strcpy(o[2].key, "span_bonus"), strcpy(o[2].value, "-0.5");
    assert_int_equal(b->check(o, 3, why, sizeof why), JP_ERR_INVAL);
    assert_non_null(strstr(why, "option span_bonus: \"-0.5\" is not a number from 0 to 100"));
    strcpy(o[2].key, "words"), strcpy(o[2].value, "yes");
    assert_int_equal(b->check(o, 3, why, sizeof why), JP_ERR_INVAL);
    assert_non_null(strstr(why, "option words: \"yes\" is not on or off"));
    strcpy(o[2].value, "off");
    assert_int_equal(b->check(o, 3, why, sizeof why), JP_OK);
    assert_int_equal(b->check(o, 2, why, sizeof why), JP_OK);
    long done = 0;
    assert_int_equal(b->run(o, 2, 20, 20, outp, refp, NULL, &done), JP_OK);
    assert_int_equal(done, 20);
    jp_sum_pairs p;
    assert_int_equal(jp_sum_pairs_read(data, &p), JP_OK);
    FILE *fo = fopen(outp, "r"), *fr = fopen(refp, "r");
    char line[8192], want[8192];
    for (int i = 0; i < 20; i++) {
        assert_non_null(fgets(line, sizeof line, fo));
        line[strcspn(line, "\n")] = '\0';
        jp_lead1(p.texts[i], want, sizeof want);
        assert_string_equal(line, want);
        assert_non_null(fgets(line, sizeof line, fr));
        line[strcspn(line, "\n")] = '\0';
        assert_string_equal(line, p.refs[i]);
    }
    assert_null(fgets(line, sizeof line, fo));
    fclose(fo), fclose(fr);
    jp_sum_pairs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models_match_pytorch),
        cmocka_unit_test(test_bad_model_folders),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_builtin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
