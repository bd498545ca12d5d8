/* The word sets of the summarization models' word constraint (src/nn/words.h): words and their prefixes,
 * case folding, salts kept apart, a full set refusing more, and the word list file's checks (one line
 * naming the file and line for each kind of damage), and a model folder with a damaged list. */
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

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "nn/words.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jp-test-words-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static uint64_t hash_of(const char *w)
{
    uint64_t h = JP_WORD_START;
    for (; *w; w++) h = jp_word_step(h, (unsigned char)*w);
    return h;
}

static void test_set(void **state)
{
    (void)state;
    jp_wordset s;
    assert_int_equal(jp_wordset_init(&s, 64), JP_OK);
    const char *text = "Tools for GTK+, (libfoo-2) \xc3\xa9t\xc3\xa9 x";
    assert_int_equal(jp_wordset_add(&s, (const unsigned char *)text, strlen(text), 7), 0);
    assert_int_equal(jp_wordset_get(&s, hash_of("tools"), 7), JP_WORD_PREFIX | JP_WORD_WHOLE);
    assert_int_equal(jp_wordset_get(&s, hash_of("TOOLS"), 7), JP_WORD_PREFIX | JP_WORD_WHOLE); /* folded */
    assert_int_equal(jp_wordset_get(&s, hash_of("too"), 7), JP_WORD_PREFIX);
    assert_int_equal(jp_wordset_get(&s, hash_of("gtk"), 7), JP_WORD_PREFIX | JP_WORD_WHOLE);
    assert_int_equal(jp_wordset_get(&s, hash_of("libfoo"), 7), JP_WORD_PREFIX | JP_WORD_WHOLE);
    assert_int_equal(jp_wordset_get(&s, hash_of("2"), 7), JP_WORD_PREFIX | JP_WORD_WHOLE);
    assert_int_equal(jp_wordset_get(&s, hash_of("\xc3\xa9t\xc3\xa9"), 7), JP_WORD_PREFIX | JP_WORD_WHOLE);
    assert_int_equal(jp_wordset_get(&s, hash_of("x"), 7), JP_WORD_PREFIX | JP_WORD_WHOLE);
    assert_int_equal(jp_wordset_get(&s, hash_of("libfoo-2"), 7), 0); /* '-' separates words */
    assert_int_equal(jp_wordset_get(&s, hash_of("toolsfor"), 7), 0);
    assert_int_equal(jp_wordset_get(&s, hash_of("tools"), 8), 0); /* another text's salt */
    jp_wordset_clear(&s);
    assert_int_equal(jp_wordset_get(&s, hash_of("tools"), 7), 0);
    /* room for 64 word bytes: 32 entries; a longer text fills it and says so */
    char big[200];
    for (int i = 0; i < 199; i++) big[i] = (char)('a' + i % 26);
    assert_int_equal(jp_wordset_add(&s, (const unsigned char *)big, 199, 1), -1);
    assert_true(s.n <= s.max);
    jp_wordset_free(&s);
}

static int load_text(const char *body, jp_wordset *s)
{
    char path[512];
    snprintf(path, sizeof path, "%s/words.txt", tmpdir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(body, 1, strlen(body), f);
    fclose(f);
    return jp_wordset_load(s, path);
}

static void expect_error(const char *body, const char *needle)
{
    jp_wordset s;
    assert_int_equal(load_text(body, &s), JP_ERR_PARSE);
    if (!strstr(jp_last_error(), needle)) fail_msg("\"%s\" does not say \"%s\"", jp_last_error(), needle);
    assert_non_null(strstr(jp_last_error(), "words.txt"));
    assert_null(s.keys);
}

static void test_load(void **state)
{
    (void)state;
    jp_wordset s;
    assert_int_equal(load_text("jouleprint-words 1\nwords 3\nlibrary\nfor\n\xc3\xa9t\xc3\xa9\n", &s), JP_OK);
    assert_int_equal(jp_wordset_get(&s, hash_of("library"), 0), JP_WORD_PREFIX | JP_WORD_WHOLE);
    assert_int_equal(jp_wordset_get(&s, hash_of("lib"), 0), JP_WORD_PREFIX);
    assert_int_equal(jp_wordset_get(&s, hash_of("form"), 0), 0);
    jp_wordset_free(&s);
    /* many words: the set grows past its first estimate */
    size_t cap = 2000 * 70 + 64, o = 0;
    char *body = malloc(cap);
    o += (size_t)snprintf(body + o, cap - o, "jouleprint-words 1\nwords 2000\n");
    for (int i = 0; i < 2000; i++) {
        memset(body + o, 'a' + i % 26, 60);
        o += 60;
        o += (size_t)snprintf(body + o, cap - o, "%d\n", i);
    }
    assert_int_equal(load_text(body, &s), JP_OK);
    assert_int_equal(jp_wordset_get(&s, hash_of("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1999"), 0) & JP_WORD_WHOLE,
                     0); /* 1999 % 26 = 23: x */
    assert_true(jp_wordset_get(&s, hash_of("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx1999"), 0) & JP_WORD_WHOLE);
    jp_wordset_free(&s);
    free(body);

    expect_error("jouleprint-words 2\nwords 0\n", "line 1: expected \"jouleprint-words 1\"");
    expect_error("jouleprint-words 1\nwords -1\n", "line 2: expected \"words N\"");
    expect_error("jouleprint-words 1\nwords 2\nfor\n", "line 4: the file ends (the header says 2 words)");
    expect_error("jouleprint-words 1\nwords 1\nfor\nmore\n", "line 4: more than the 1 words the header says");
    expect_error("jouleprint-words 1\nwords 1\nFor\n", "line 3: byte 1 is 0x46");
    expect_error("jouleprint-words 1\nwords 1\nfo r\n", "line 3: byte 3 is 0x20");
    expect_error("jouleprint-words 1\nwords 1\n\n", "line 3: expected a word of 1..64 bytes");
    expect_error("jouleprint-words 1\nwords 1\nfor", "line 3: expected a word of 1..64 bytes");
    char longw[200];
    snprintf(longw, sizeof longw, "jouleprint-words 1\nwords 1\n%065d\n", 0);
    expect_error(longw, "line 3: expected a word of 1..64 bytes");
    char path[512];
    snprintf(path, sizeof path, "%s/none.txt", tmpdir);
    assert_int_equal(jp_wordset_load(&s, path), JP_ERR_NOTFOUND);
}

/* A model folder whose words.txt is damaged does not load, and says which file and line; one without a
 * words.txt loads (the constraint then allows the text's own words only). */
static void test_model_folder(void **state)
{
    (void)state;
    const char *src = getenv("JP_TEST_SRC_DIR");
    char cmd[2048], dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/sum-xs", tmpdir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s/models/sum-xs/config.json' '%s/models/sum-xs/model.safetensors' "
                              "'%s/models/sum-xs/tokenizer.txt' '%s'",
             dir, src ? src : ".", src ? src : ".", src ? src : ".", dir);
    assert_int_equal(system(cmd), 0);
    jp_s2s *m;
    assert_int_equal(jp_s2s_load(&m, dir, 1, 1, 1), JP_OK);
    const char *text = "xyzzy is a frobnicator for quux files.";
    int32_t ids[128], out[48];
    int32_t *po[1] = {out};
    const int32_t *ps[1] = {ids};
    int n = (int)jp_bpe_encode(jp_s2s_tokenizer(m), text, strlen(text), ids, 128), olen;
    jp_s2s_gen g;
    jp_s2s_gen_init(&g);
    g.words = 1;
    assert_int_equal(jp_s2s_generate(m, ps, &n, 1, &g, po, &olen), JP_OK);
    char summary[512];
    jp_bpe_decode(jp_s2s_tokenizer(m), out, (size_t)olen, summary, sizeof summary);
    /* only the text's words: xyzzy is a frobnicator for quux files */
    for (char *w = strtok(summary, " -,.()"); w; w = strtok(NULL, " -,.()"))
        if (!strstr(" xyzzy is a frobnicator for quux files ", w)) fail_msg("\"%s\" is not a word of the text", w);
    jp_s2s_free(m);
    snprintf(path, sizeof path, "%s/words.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("jouleprint-words 1\nwords 2\nlibrary\nTool\n", f);
    fclose(f);
    assert_int_equal(jp_s2s_load(&m, dir, 1, 1, 1), JP_ERR_PARSE);
    assert_non_null(strstr(jp_last_error(), "words.txt: line 4: byte 1 is 0x54"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_model_folder),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
