/* Summarization pieces: ROUGE against rouge-score's documented cases, lead-1, the UTF-8 check, and the
 * BPE tokenizer: identical ids to data/summarize/build.py on every text of the evaluation set (and on
 * edge-case texts with non-ASCII), decoding, and damaged tokenizer files. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jouleprint/workloads.h"
#include "jouleprint.h"

static char tmpdir[256];
static char src_dir[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jp-test-sum-XXXXXX");
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

#define EPS 1e-12

/* rouge-score (google-research/rouge, rouge_scorer_test.py and its README): target "testing one two",
 * prediction "testing": ROUGE-1 precision 1, recall 1/3, F 0.5. */
static void test_rouge_documented(void **state)
{
    (void)state;
    jp_rouge_scores s;
    assert_int_equal(jp_rouge("testing", "testing one two", &s), JP_OK);
    assert_float_equal(s.r1.p, 1.0, EPS);
    assert_float_equal(s.r1.r, 1.0 / 3.0, EPS);
    assert_float_equal(s.r1.f, 0.5, EPS);
    /* no bigram in a one-word prediction */
    assert_float_equal(s.r2.p, 0.0, EPS);
    assert_float_equal(s.r2.r, 0.0, EPS);
    assert_float_equal(s.r2.f, 0.0, EPS);
    assert_float_equal(s.rl.f, 0.5, EPS);

    /* ROUGE-2: "testing one" against "testing one two": one of one predicted bigram, one of two */
    assert_int_equal(jp_rouge("testing one", "testing one two", &s), JP_OK);
    assert_float_equal(s.r2.p, 1.0, EPS);
    assert_float_equal(s.r2.r, 0.5, EPS);
    assert_float_equal(s.r2.f, 2.0 / 3.0, EPS);
    /* ROUGE-L, consecutive and not: LCS 2 of 2 predicted, 2 of 3 reference tokens */
    assert_float_equal(s.rl.p, 1.0, EPS);
    assert_float_equal(s.rl.r, 2.0 / 3.0, EPS);
    assert_float_equal(s.rl.f, 0.8, EPS);
    assert_int_equal(jp_rouge("testing two", "testing one two", &s), JP_OK);
    assert_float_equal(s.rl.p, 1.0, EPS);
    assert_float_equal(s.rl.r, 2.0 / 3.0, EPS);
    assert_float_equal(s.r2.f, 0.0, EPS);

    /* tokenization: lower case, runs of [a-z0-9]; punctuation and non-ASCII separate tokens */
    assert_int_equal(jp_rouge("Testing, ONE-two!", "testing one two", &s), JP_OK);
    assert_float_equal(s.r1.f, 1.0, EPS);
    assert_float_equal(s.r2.f, 1.0, EPS);
    assert_float_equal(s.rl.f, 1.0, EPS);
    assert_int_equal(jp_rouge("caf\xc3\xa9", "caf", &s), JP_OK); /* "café" -> "caf" */
    assert_float_equal(s.r1.f, 1.0, EPS);

    /* clipping: a repeated predicted word counts as often as the reference has it */
    assert_int_equal(jp_rouge("the the the", "the cat", &s), JP_OK);
    assert_float_equal(s.r1.p, 1.0 / 3.0, EPS);
    assert_float_equal(s.r1.r, 0.5, EPS);

    /* empty on either side scores 0, as rouge-score does */
    assert_int_equal(jp_rouge("", "", &s), JP_OK);
    assert_float_equal(s.r1.f, 0.0, EPS);
    assert_int_equal(jp_rouge("...", "testing", &s), JP_OK);
    assert_float_equal(s.rl.f, 0.0, EPS);
}

static void test_lead1(void **state)
{
    (void)state;
    char buf[256];
    size_t n = jp_lead1("  Foo is a  tool. It does\nthings.", buf, sizeof buf);
    assert_string_equal(buf, "Foo is a tool.");
    assert_int_equal(n, strlen("Foo is a tool."));
    jp_lead1("Tools, e.g. grep and sed, for text. More.", buf, sizeof buf);
    assert_string_equal(buf, "Tools, e.g. grep and sed, for text.");
    jp_lead1("Version 3.2 of it, by J. Smith! Next", buf, sizeof buf);
    assert_string_equal(buf, "Version 3.2 of it, by J. Smith!");
    jp_lead1("no end mark at all", buf, sizeof buf);
    assert_string_equal(buf, "no end mark at all");
    /* cut to fit, but the needed length returned */
    n = jp_lead1("Twelve chars. x", buf, 6);
    assert_string_equal(buf, "Twelv");
    assert_int_equal(n, 13);
    jp_lead1("", buf, sizeof buf);
    assert_string_equal(buf, "");
}

static void test_utf8(void **state)
{
    (void)state;
    size_t bad = 99;
    assert_true(jp_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", 14, &bad));
    assert_false(jp_utf8_valid("ab\xc3", 3, &bad)); /* truncated sequence */
    assert_int_equal(bad, 2);
    assert_false(jp_utf8_valid("a\xc0\xafz", 4, &bad)); /* overlong '/' */
    assert_int_equal(bad, 1);
    assert_false(jp_utf8_valid("\xed\xa0\x80", 3, &bad)); /* a surrogate */
    assert_int_equal(bad, 0);
    assert_false(jp_utf8_valid("x\xff", 2, &bad));
    assert_int_equal(bad, 1);
}

static uint64_t fnv_ids(const int32_t *ids, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++) h = (h ^ (((uint32_t)ids[i] >> (8 * b)) & 0xFF)) * 0x100000001b3ULL;
    return h;
}

/* The evaluation set's fields: line i+2 of eval.tsv is row i (package, source, synopsis, description). */
static void test_bpe_parity(void **state)
{
    (void)state;
    char path[1200];
    jp_bpe *t;
    snprintf(path, sizeof path, "%s/data/summarize/tokenizer.txt", src_dir);
    assert_int_equal(jp_bpe_load(&t, path), JP_OK);
    assert_int_equal(jp_bpe_vocab_size(t), 4096);
    snprintf(path, sizeof path, "%s/data/summarize/eval.tsv", src_dir);
    FILE *ev = fopen(path, "r");
    snprintf(path, sizeof path, "%s/tests/data/summarize/tokens.txt", src_dir);
    FILE *fx = fopen(path, "r");
    assert_non_null(ev);
    assert_non_null(fx);
    char *line = NULL, *fl = NULL;
    size_t cap = 0, fcap = 0;
    assert_true(getline(&line, &cap, ev) > 0); /* header */
    static int32_t ids[1 << 16];
    int rows = 0, texts = 0, nonascii = 0;
    char *dec = malloc(1 << 20);
    assert_non_null(dec);
    while (getline(&fl, &fcap, fx) > 0) {
        if (fl[0] == '#') continue;
        if (!strncmp(fl, "row ", 4)) {
            int r;
            long nd, ny;
            unsigned long long hd, hy;
            assert_int_equal(sscanf(fl, "row %d %ld %llx %ld %llx", &r, &nd, &hd, &ny, &hy), 5);
            assert_int_equal(r, rows);
            ssize_t len = getline(&line, &cap, ev);
            assert_true(len > 0);
            line[--len] = '\0';
            char *f2 = strchr(line, '\t');
            assert_non_null(f2);
            char *syn = strchr(f2 + 1, '\t');
            assert_non_null(syn);
            syn++;
            char *desc = strchr(syn, '\t');
            assert_non_null(desc);
            *desc++ = '\0';
            for (char *p = desc; *p; p++) nonascii += (unsigned char)*p >= 0x80;
            long n = jp_bpe_encode(t, desc, strlen(desc), ids, sizeof ids / sizeof ids[0]);
            assert_int_equal(n, nd);
            if (fnv_ids(ids, (size_t)n) != hd) fail_msg("row %d (%s): description ids differ from the script's", r, line);
            /* decoding gives back the (already normalized) text */
            jp_bpe_decode(t, ids, (size_t)n, dec, 1 << 20);
            assert_string_equal(dec, desc);
            n = jp_bpe_encode(t, syn, strlen(syn), ids, sizeof ids / sizeof ids[0]);
            assert_int_equal(n, ny);
            if (fnv_ids(ids, (size_t)n) != hy) fail_msg("row %d (%s): synopsis ids differ from the script's", r, line);
            rows++;
        } else if (!strncmp(fl, "text ", 5)) {
            char text[4096];
            size_t k = 0;
            for (char *p = fl + 5; p[0] && p[0] != '\n'; p += 2) {
                unsigned v;
                assert_int_equal(sscanf(p, "%2x", &v), 1);
                text[k++] = (char)v;
            }
            text[k] = '\0';
            assert_true(getline(&fl, &fcap, fx) > 0);
            assert_int_equal(strncmp(fl, "ids", 3), 0);
            long n = jp_bpe_encode(t, text, k, ids, sizeof ids / sizeof ids[0]);
            char *p = fl + 3;
            for (long i = 0; i < n; i++) {
                char *e;
                long v = strtol(p, &e, 10);
                assert_true(e != p);
                assert_int_equal(ids[i], v);
                p = e;
            }
            while (*p == ' ') p++;
            assert_true(*p == '\n' || *p == '\0'); /* and no more ids in the fixture */
            texts++;
        }
    }
    assert_int_equal(rows, 1000);
    assert_int_equal(texts, 5);
    assert_true(nonascii > 0); /* the set does hold non-ASCII text */
    /* max smaller than the count: the count is still the whole text's */
    assert_int_equal(jp_bpe_encode(t, "hello world", 11, ids, 1), jp_bpe_encode(t, "hello world", 11, ids, 100));
    /* decoding skips specials and replaces invalid UTF-8 */
    int32_t raw[5] = {JP_BPE_BOS, 3 + 'a', 3 + 0xC3, 3 + 'b', JP_BPE_EOS};
    jp_bpe_decode(t, raw, 5, dec, 64);
    assert_string_equal(dec, "a\xef\xbf\xbd" "b");
    free(dec);
    free(line);
    free(fl);
    fclose(ev);
    fclose(fx);
    jp_bpe_free(t);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_bpe_bad_files(void **state)
{
    (void)state;
    char path[512];
    jp_bpe *t = NULL;
    snprintf(path, sizeof path, "%s/tok.txt", tmpdir);
    write_file(path, "jouleprint-bpe 2\nmerges 0\n");
    assert_int_equal(jp_bpe_load(&t, path), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "line 1"));
    write_file(path, "jouleprint-bpe 1\nmerges 2\n100 101\n");
    assert_int_equal(jp_bpe_load(&t, path), JP_ERR_PARSE); /* truncated: one of two merges */
    assert_non_null(strstr(jp_last_error(), "line 4"));
    write_file(path, "jouleprint-bpe 1\nmerges 1\n100 259\n");
    assert_int_equal(jp_bpe_load(&t, path), JP_ERR_PARSE); /* refers to itself */
    assert_non_null(strstr(jp_last_error(), "line 3"));
    write_file(path, "jouleprint-bpe 1\nmerges 1\n100 101\nextra\n");
    assert_int_equal(jp_bpe_load(&t, path), JP_ERR_PARSE);
    write_file(path, "jouleprint-bpe 1\nmerges 2\n100 101\n100 101\n");
    assert_int_equal(jp_bpe_load(&t, path), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "twice"));
    write_file(path, "jouleprint-bpe 1\nmerges 1\n3 4\n");
    assert_int_equal(jp_bpe_load(&t, path), JP_OK);
    assert_int_equal(jp_bpe_vocab_size(t), 260);
    int32_t ids[8];
    /* bytes 0x00 0x01 merge into 259; the text "\x01\x01" stays two byte tokens */
    assert_int_equal(jp_bpe_encode(t, "\x01\x01", 2, ids, 8), 2);
    assert_int_equal(ids[0], 4);
    jp_bpe_free(t);
    snprintf(path, sizeof path, "%s/none.txt", tmpdir);
    assert_int_equal(jp_bpe_load(&t, path), JP_ERR_NOTFOUND);
}

/* ots run as a program per text (jp_spawn_run): its best sentence, white space made single spaces */
static void test_ots(void **state)
{
    (void)state;
    if (access("/usr/bin/ots", X_OK) != 0) skip(); /* scripts/bootstrap installs it */
    const char *texts[] = {"Jouleprint measures energy. It is a tool. It also computes carbon for many regions of the "
                           "world.",
                           "Short. This sentence\nspans   two lines\tand talks about energy energy energy of models.\nEnd."};
    jp_sum_config cfg;
    jp_sum_config_init(&cfg);
    cfg.model = "ots";
    cfg.texts = texts;
    cfg.n = 2;
    jp_sum_result r;
    if (jp_sum_run(&cfg, NULL, &r) != JP_OK) fail_msg("ots: %s", jp_last_error());
    assert_int_equal(r.n, 2);
    assert_string_equal(r.summaries[0], "It also computes carbon for many regions of the world.");
    assert_string_equal(r.summaries[1], "This sentence spans two lines and talks about energy energy energy of models.");
    jp_sum_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rouge_documented), cmocka_unit_test(test_lead1), cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_bpe_parity), cmocka_unit_test(test_bpe_bad_files), cmocka_unit_test(test_ots),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
