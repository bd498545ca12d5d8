/* The summarization models' text files: a tokenizer (tokenizer.txt) `#WORDS#` a word list (words.txt).
 * What loads must hold: every word a loaded list names is whole in the set, each of its prefixes a prefix;
 * a loaded tokenizer encodes the list's bytes to ids within its vocabulary that decode back to them. */
#include "fuzz_common.h"

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "nn/words.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *tok, *words;
    size_t toklen, wordslen;
    fz_split(data, size, "#WORDS#", &tok, &toklen, &words, &wordslen);
    char tpath[512], wpath[512];
    fz_path(tpath, sizeof tpath, "tokenizer.txt");
    fz_path(wpath, sizeof wpath, "words.txt");
    fz_write(tpath, tok, toklen);
    fz_write(wpath, words, wordslen);
    jp_wordset s;
    if (jp_wordset_load(&s, wpath) == JP_OK) {
        /* the lines after the two header lines are the words */
        const char *p = (const char *)words, *end = p + wordslen;
        for (int line = 0; p < end; line++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) break;
            if (line >= 2 && nl > p) {
                uint64_t h = JP_WORD_START;
                for (const char *c = p; c < nl; c++) {
                    h = jp_word_step(h, (unsigned char)*c);
                    FZ_CHECK(jp_wordset_get(&s, h, 0) & JP_WORD_PREFIX);
                }
                FZ_CHECK(jp_wordset_get(&s, h, 0) & JP_WORD_WHOLE);
            }
            p = nl + 1;
        }
        jp_wordset_free(&s);
    }
    jp_bpe *t;
    if (jp_bpe_load(&t, tpath) == JP_OK) {
        const char text[] = "libfoo-dev: a library for foo (development files), 2 tools";
        int32_t ids[256];
        long n = jp_bpe_encode(t, text, sizeof text - 1, ids, 256);
        FZ_CHECK(n > 0 && n <= 256);
        for (long i = 0; i < n; i++) FZ_CHECK(ids[i] >= 3 && ids[i] < jp_bpe_vocab_size(t));
        char back[512];
        jp_bpe_decode(t, ids, (size_t)n, back, sizeof back);
        FZ_CHECK(strcmp(back, text) == 0);
        jp_bpe_free(t);
    }
    return 0;
}
