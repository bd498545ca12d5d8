/* The summarization models' word constraint (jp_s2s_gen.words): a set of words and of all their prefixes,
 * kept as 64-bit hashes, that decoding consults so that every word it writes is a word of the text it
 * summarizes or of the model's word list (words.txt). Internal to the engine. */
#ifndef JP_NN_WORDS_H
#define JP_NN_WORDS_H

#include <stddef.h>
#include <stdint.h>

#include "jouleprint/workloads.h"

#define JP_WORD_PREFIX 1u /* some word of the set starts with these bytes */
#define JP_WORD_WHOLE 2u  /* these bytes are a word of the set */

/* A word is a run of the bytes [A-Za-z0-9\x80-\xff] (the tokenizer's word characters), compared with
 * ASCII letters folded to lower case. Its hash: FNV-1a 64 over those folded bytes, one at a time, from
 * JP_WORD_START, so the state after k bytes is the hash of the k-byte prefix. */
#define JP_WORD_START 0xcbf29ce484222325ULL
static inline int jp_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}
static inline uint64_t jp_word_step(uint64_t h, unsigned char c)
{
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
    return (h ^ c) * 0x100000001b3ULL;
}

/* Open addressing over (hash, salt) pairs: the salt keeps the words of several texts apart in one set. */
typedef struct jp_wordset {
    uint64_t *keys; /* 0: empty */
    unsigned char *flags;
    size_t cap, n, max; /* cap a power of two; at most max entries (half of cap) */
} jp_wordset;

/* Room for max_bytes word bytes (each byte of a word adds at most one prefix). JP_OK or JP_ERR_NOMEM. */
int jp_wordset_init(jp_wordset *s, size_t max_bytes);
void jp_wordset_free(jp_wordset *s);
void jp_wordset_clear(jp_wordset *s);
/* Adds every word of the n bytes b (see above) and its prefixes under salt. 0, or -1 when the set is full
 * (what fitted stays). */
int jp_wordset_add(jp_wordset *s, const unsigned char *b, size_t n, uint64_t salt);
/* JP_WORD_PREFIX | JP_WORD_WHOLE bits of the prefix whose hash is h, under salt (0: not in the set). */
unsigned jp_wordset_get(const jp_wordset *s, uint64_t h, uint64_t salt);

/* Reads a word list: "jouleprint-words 1", "words N", then N lines of one word each (1..64 bytes of
 * [a-z0-9\x80-\xff], lower case). JP_ERR_PARSE naming the file and line on anything else. */
int jp_wordset_load(jp_wordset *s, const char *path);

/* The bytes of token id of t (NULL with *len 0 for the special ids). */
const unsigned char *jp_bpe_piece(const jp_bpe *t, int id, size_t *len);

#endif
