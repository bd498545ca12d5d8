#!/usr/bin/python3
"""Builds jouleprint's summarization data from Debian's package descriptions, and trains its tokenizer.

Every Debian binary package carries a one-line synopsis written by a person and a long description
(Debian Policy 5.6.13). This script pairs them: input = the long description, reference = the synopsis.

    /usr/bin/python3 data/summarize/build.py            # check, and write what is missing
    /usr/bin/python3 data/summarize/build.py --force    # rewrite everything

Inputs (after `apt-get update -o Acquire::Languages=en`, Debian 12 "bookworm", main):
    /var/lib/apt/lists/*_bookworm_main_i18n_Translation-en.lz4     the descriptions
    /var/lib/apt/lists/*_bookworm_main_binary-amd64_Packages.lz4   package -> source package
Outputs:
    data/summarize/eval.tsv         (committed) the frozen evaluation set: 1,000 pairs
    data/summarize/tokenizer.txt    (committed) the byte-level BPE tokenizer, trained on the training split
    data/summarize/words.txt        (committed) the word list of the models' word constraint (write_words)
    data/summarize/MANIFEST         (committed) sizes and SHA-256 of the inputs and outputs
    data/summarize/work/train.tsv   (regenerable, not committed) the training pairs
    data/summarize/work/valid.tsv   (regenerable, not committed) the validation pairs

TSV files: a header line `package<TAB>source<TAB>synopsis<TAB>description`, then one pair per line; the
cleaned texts hold no tab, newline or carriage return. UTF-8, NFC.

Cleaning (the description format's markup; see clean_description):
  * the first line of Description-en is the synopsis; the extended description follows, each line starting
    with one space, which is removed;
  * a line " ." is a paragraph separator: it becomes a space;
  * lines starting with two or more spaces (verbatim text in the format) are kept, their indentation removed;
  * a list bullet at the start of a line (`*`, `-`, `+`, `o`, `#`, `>`, U+2022 bullet, U+00B7 middle dot,
    U+2023 triangular bullet, each followed by a space) is removed; numbered items ("1.", "2)") are kept;
  * every run of white space becomes one space; the text is normalized to Unicode NFC.
Pairs whose cleaned description has fewer than 5 words, or whose synopsis is empty, are dropped.

No leakage: packages are grouped by source package (Packages index `Source:`, else the package itself),
and groups that share an identical cleaned description are merged (union-find). A group's side is fixed by
SHA-256("jouleprint-sum-v1:" + the group's smallest package name): 6% of groups are evaluation groups,
3% validation groups, the rest training groups. The evaluation set holds one pair per evaluation group (the
package with the smallest SHA-256 of its name), the first 1,000 such groups in SHA-256 order; the other
evaluation groups are used nowhere. Validation: one pair per validation group, up to 1,000. Training: every
pair of every training group.
"""
import argparse
import glob
import hashlib
import heapq
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
LISTS = os.environ.get("JP_APT_LISTS", "/var/lib/apt/lists")
SALT = "jouleprint-sum-v1:"
EVAL_FRAC, VALID_FRAC = 0.06, 0.03
N_EVAL, N_VALID = 1000, 1000
MIN_WORDS = 5
VOCAB = 4096          # 3 specials + 256 bytes + 3837 merges

# ---------------------------------------------------------------------------------------------- reading

def read_lz4(path):
    out = subprocess.run(["lz4cat", path], check=True, stdout=subprocess.PIPE).stdout
    return out.decode("utf-8")


def stanzas(text):
    """Yields the fields of each deb822 stanza as a dict; continuation lines are kept with their newline."""
    cur, key = {}, None
    for line in text.split("\n"):
        if line == "":
            if cur:
                yield cur
            cur, key = {}, None
        elif line[0] in " \t":
            if key is None:
                raise ValueError("continuation line outside a field: %r" % line[:60])
            cur[key] += "\n" + line
        else:
            k, sep, v = line.partition(":")
            if not sep:
                raise ValueError("line without a field name: %r" % line[:60])
            key = k
            cur[key] = v.strip()
    if cur:
        yield cur


def find_one(pattern):
    paths = sorted(glob.glob(os.path.join(LISTS, pattern)))
    if len(paths) != 1:
        sys.exit("build.py: expected one file %s/%s, found %d (run apt-get update -o Acquire::Languages=en)"
                 % (LISTS, pattern, len(paths)))
    return paths[0]

# ---------------------------------------------------------------------------------------------- cleaning

BULLET = re.compile(r"^(?:[*\-+o#>\u2022\u00b7\u2023])\s+")
WS = re.compile(r"\s+")


def norm_ws(s):
    return WS.sub(" ", s).strip()


def clean_description(lines):
    """lines: the extended description lines, each still starting with its one space."""
    parts = []
    for line in lines:
        body = line[1:] if line.startswith(" ") else line
        if body.strip() == ".":
            parts.append(" ")
            continue
        body = body.strip()
        body = BULLET.sub("", body)
        parts.append(body)
    return unicodedata.normalize("NFC", norm_ws(" ".join(parts)))


def clean_synopsis(s):
    return unicodedata.normalize("NFC", norm_ws(s))

# ---------------------------------------------------------------------------------------------- tokenizer
# Byte-level BPE. The C engine (src/nn/bpe.c) implements exactly this; keep them in step.
#   ids: 0 <pad>, 1 </s>, 2 <s> (decoder start), 3..258 the bytes 0..255, 259.. the merges in rank order.
#   normalization: every run of the bytes 09 0A 0B 0C 0D 20 becomes one space 20; leading and trailing
#   spaces are removed. No other change (the data is already NFC).
#   pre-tokenization: the text is cut into chunks matching  ` ?[A-Za-z0-9\x80-\xff]+| ?[^A-Za-z0-9\x80-\xff ]`
#   on its bytes (an optional space, then a run of ASCII letters/digits/non-ASCII bytes, or one other byte).
#   encoding a chunk: start from its bytes; repeatedly take the adjacent pair with the lowest merge rank and
#   merge every occurrence of it, left to right without overlap; stop when no adjacent pair has a rank.

PAD, EOS, BOS, NSPECIAL = 0, 1, 2, 3
CHUNK = re.compile(rb" ?[A-Za-z0-9\x80-\xff]+| ?[^A-Za-z0-9\x80-\xff ]")
WSB = re.compile(rb"[\t\n\x0b\x0c\r ]+")


def normalize_bytes(b):
    return WSB.sub(b" ", b).strip(b" ")


def chunks(text):
    b = normalize_bytes(text.encode("utf-8"))
    return CHUNK.findall(b)


def train_bpe(texts, vocab):
    """Returns the merges, [(left_id, right_id)], in rank order. Ties: the pair whose (left bytes, right
    bytes) sorts first."""
    words = Counter()
    for t in texts:
        words.update(chunks(t))
    seqs = [[NSPECIAL + c for c in w] for w in sorted(words)]
    freq = [words[w] for w in sorted(words)]
    tokbytes = {NSPECIAL + i: bytes([i]) for i in range(256)}
    counts = Counter()
    where = defaultdict(set)
    for wi, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            counts[(a, b)] += freq[wi]
            where[(a, b)].add(wi)
    heap = [(-c, tokbytes[p[0]], tokbytes[p[1]], p) for p, c in counts.items()]
    heapq.heapify(heap)
    merges = []
    nmerges = vocab - NSPECIAL - 256
    while len(merges) < nmerges and heap:
        negc, _, _, pair = heapq.heappop(heap)
        if counts.get(pair, 0) != -negc or negc == 0:
            continue
        new = NSPECIAL + 256 + len(merges)
        merges.append(pair)
        tokbytes[new] = tokbytes[pair[0]] + tokbytes[pair[1]]
        touched = Counter()
        for wi in sorted(where.pop(pair, ())):
            s, f = seqs[wi], freq[wi]
            for a, b in zip(s, s[1:]):
                counts[(a, b)] -= f
                touched[(a, b)] += 0
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == pair[0] and s[i + 1] == pair[1]:
                    out.append(new)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[wi] = out
            for a, b in zip(out, out[1:]):
                counts[(a, b)] += f
                where[(a, b)].add(wi)
                touched[(a, b)] += 0
        for p in touched:
            c = counts.get(p, 0)
            if c <= 0:
                counts.pop(p, None)
            else:
                heapq.heappush(heap, (-c, tokbytes[p[0]], tokbytes[p[1]], p))
    return merges


class Tokenizer:
    def __init__(self, merges):
        self.merges = list(merges)
        self.rank = {p: r for r, p in enumerate(self.merges)}
        self.bytes = [b"<pad>", b"</s>", b"<s>"] + [bytes([i]) for i in range(256)]
        for a, b in self.merges:
            self.bytes.append(self.bytes[a] + self.bytes[b])
        self.cache = {}

    @property
    def vocab_size(self):
        return len(self.bytes)

    @classmethod
    def load(cls, path):
        with open(path, encoding="ascii") as f:
            lines = f.read().split("\n")
        if lines[0] != "jouleprint-bpe 1":
            raise ValueError("%s: line 1: expected 'jouleprint-bpe 1'" % path)
        n = int(lines[1].split()[1])
        merges = []
        for i in range(n):
            a, b = lines[2 + i].split()
            merges.append((int(a), int(b)))
        return cls(merges)

    def save(self, path):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            f.write("jouleprint-bpe 1\n")
            f.write("merges %d\n" % len(self.merges))
            for a, b in self.merges:
                f.write("%d %d\n" % (a, b))
        os.replace(tmp, path)

    def encode_chunk(self, ch):
        got = self.cache.get(ch)
        if got is not None:
            return got
        s = [NSPECIAL + c for c in ch]
        while len(s) > 1:
            best, br = None, None
            for p in zip(s, s[1:]):
                r = self.rank.get(p)
                if r is not None and (br is None or r < br):
                    best, br = p, r
            if best is None:
                break
            new = NSPECIAL + 256 + br
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == best[0] and s[i + 1] == best[1]:
                    out.append(new)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            s = out
        self.cache[ch] = s
        return s

    def encode(self, text):
        ids = []
        for ch in chunks(text):
            ids.extend(self.encode_chunk(ch))
        return ids

    def decode(self, ids):
        b = b"".join(self.bytes[i] for i in ids if i >= NSPECIAL)
        return b.decode("utf-8", errors="replace").strip()

# ---------------------------------------------------------------------------------------------- building

def h01(s):
    return int.from_bytes(hashlib.sha256((SALT + s).encode("utf-8")).digest()[:8], "big") / 2.0 ** 64


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blk in iter(lambda: f.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest()


def load_pairs():
    tr_path = find_one("*_debian_dists_bookworm_main_i18n_Translation-en.lz4")
    pk_path = find_one("*_debian_dists_bookworm_main_binary-amd64_Packages.lz4")
    source = {}
    for st in stanzas(read_lz4(pk_path)):
        pkg = st.get("Package")
        if not pkg:
            continue
        src = st.get("Source", pkg).split(" ")[0]
        source.setdefault(pkg, src)
    pairs = {}
    dropped = Counter()
    for st in stanzas(read_lz4(tr_path)):
        pkg, desc = st.get("Package"), st.get("Description-en")
        if not pkg or desc is None:
            dropped["no package or description"] += 1
            continue
        lines = desc.split("\n")
        syn = clean_synopsis(lines[0])
        text = clean_description(lines[1:])
        if not syn:
            dropped["empty synopsis"] += 1
            continue
        if len(text.split(" ")) < MIN_WORDS or not text:
            dropped["description under %d words" % MIN_WORDS] += 1
            continue
        if pkg in pairs:
            dropped["duplicate package"] += 1
            continue
        pairs[pkg] = (source.get(pkg, pkg), syn, text)
    return pairs, dropped, (tr_path, pk_path)


def split(pairs):
    parent = {}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for pkg, (src, _, _) in pairs.items():
        parent.setdefault("src:" + src, "src:" + src)
        parent.setdefault("pkg:" + pkg, "pkg:" + pkg)
        union("src:" + src, "pkg:" + pkg)
    by_text = {}
    for pkg, (_, _, text) in sorted(pairs.items()):
        if text in by_text:
            union("pkg:" + pkg, "pkg:" + by_text[text])
        else:
            by_text[text] = pkg
    groups = defaultdict(list)
    for pkg in pairs:
        groups[find("pkg:" + pkg)].append(pkg)
    ev, va, tr = [], [], []
    for members in groups.values():
        members.sort()
        u = h01(members[0])
        if u < EVAL_FRAC:
            ev.append((u, members))
        elif u < EVAL_FRAC + VALID_FRAC:
            va.append((u, members))
        else:
            tr.extend(members)
    ev.sort()
    va.sort()
    pick = lambda members: min(members, key=lambda p: (h01("pkg:" + p), p))
    eval_pk = [pick(m) for _, m in ev[:N_EVAL]]
    valid_pk = [pick(m) for _, m in va[:N_VALID]]
    if len(eval_pk) < N_EVAL:
        sys.exit("build.py: only %d evaluation groups, %d wanted" % (len(eval_pk), N_EVAL))
    return sorted(eval_pk), sorted(valid_pk), sorted(tr), len(groups), len(ev)


def write_tsv(path, pkgs, pairs):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("package\tsource\tsynopsis\tdescription\n")
        for p in pkgs:
            src, syn, text = pairs[p]
            for field in (p, src, syn, text):
                assert not any(c in field for c in "\t\n\r"), p
            f.write("%s\t%s\t%s\t%s\n" % (p, src, syn, text))
    os.replace(tmp, path)


def read_tsv(path):
    out = []
    with open(path, encoding="utf-8", newline="\n") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["package", "source", "synopsis", "description"]:
            raise ValueError("%s: line 1: unexpected header" % path)
        for n, line in enumerate(f, 2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 4:
                raise ValueError("%s: line %d: expected 4 tab-separated fields" % (path, n))
            out.append(tuple(fields))
    return out


EDGE_TEXTS = [
    "  leading  spaces\tand\ttabs\n\nand newlines  ",
    "na\u00efve caf\u00e9 \u2014 \u201cquotes\u201d \u65e5\u672c\u8a9e \U0001f600 end",
    "a.b,c!!  ?? (x) [y] {z} <tag> 3.14 1,000 foo_bar foo-bar C++ C# .NET",
    "UPPER lower MiXeD 12345 x86_64 i386 UTF-8 \u00c5ngstr\u00f6m \u0394 \u03c0",
    "x",
]


WORD_RE = re.compile(rb"[A-Za-z0-9\x80-\xff]+")  # the tokenizer's word characters (chunks)
WORDS_MIN_PAIRS = 40


def write_words(train_pairs, path):
    """The word list of the models' word constraint (`jouleprint summarize --words on`, src/nn/words.h):
    every word that a synopsis of the training split uses without its description using it, in at least
    WORDS_MIN_PAIRS pairs ("library", "tool", "for", "documentation", "development", ...). With it, decoding
    may write only the words of the text it summarizes and these. ASCII letters lower-cased; sorted.
    40 was chosen on the validation pairs (ROUGE against lists of 10 to 80 pairs, and against lists of every
    synopsis word seen 1 to 300 times), never on the evaluation set."""
    words = lambda s: {w.lower() for w in WORD_RE.findall(s.encode())}
    count = {}
    for syn, text in train_pairs:
        for w in words(syn) - words(text):
            count[w] = count.get(w, 0) + 1
    keep = sorted(w for w, c in count.items() if c >= WORDS_MIN_PAIRS and len(w) <= 64)
    with open(path, "wb") as f:
        f.write(b"jouleprint-words 1\nwords %d\n" % len(keep))
        f.write(b"".join(w + b"\n" for w in keep))


def fnv_ids(ids):
    h = 0xcbf29ce484222325
    for i in ids:
        for c in i.to_bytes(4, "little"):
            h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def write_fixtures(tok, eval_path, out_path):
    """tests/data/summarize/tokens.txt: for every evaluation row, the number of ids and FNV-1a 64 of the ids
    (uint32 little-endian) of its description and of its synopsis; then edge-case texts with all their ids."""
    rows = read_tsv(eval_path)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("# jouleprint BPE parity fixture: written by data/summarize/build.py from eval.tsv and tokenizer.txt\n")
        f.write("# row  description: count fnv1a64  synopsis: count fnv1a64\n")
        for i, r in enumerate(rows):
            d, y = tok.encode(r[3]), tok.encode(r[2])
            f.write("row %d %d %016x %d %016x\n" % (i, len(d), fnv_ids(d), len(y), fnv_ids(y)))
        for t in EDGE_TEXTS:
            f.write("text %s\n" % t.encode("utf-8").hex())
            f.write("ids %s\n" % " ".join(str(i) for i in tok.encode(t)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="rewrite the committed eval set and tokenizer too")
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--fixtures-only", action="store_true", help="only rewrite tests/data/summarize/tokens.txt")
    a = ap.parse_args()
    fixtures = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "data", "summarize", "tokens.txt")
    if a.fixtures_only:
        write_fixtures(Tokenizer.load(os.path.join(HERE, "tokenizer.txt")), os.path.join(HERE, "eval.tsv"), fixtures)
        return
    os.makedirs(a.work, exist_ok=True)
    pairs, dropped, inputs = load_pairs()
    ev, va, tr, ngroups, nevgroups = split(pairs)
    eval_path = os.path.join(HERE, "eval.tsv")
    tok_path = os.path.join(HERE, "tokenizer.txt")
    if os.path.exists(eval_path) and not a.force:
        committed = [r[0] for r in read_tsv(eval_path)]
        if committed != ev:
            print("build.py: note: the apt index differs from the one the committed eval set was built from "
                  "(%d of 1000 packages differ); keeping the committed eval set, and excluding its packages' "
                  "groups from training" % len(set(committed) ^ set(ev)))
            # keep the frozen set frozen: drop from training and validation anything sharing a source or text
            bad_src = {r[1] for r in read_tsv(eval_path)}
            bad_txt = {r[3] for r in read_tsv(eval_path)}
            keep = lambda p: pairs[p][0] not in bad_src and pairs[p][2] not in bad_txt
            tr = [p for p in tr if keep(p)]
            va = [p for p in va if keep(p)]
    else:
        write_tsv(eval_path, ev, pairs)
    write_tsv(os.path.join(a.work, "train.tsv"), tr, pairs)
    write_tsv(os.path.join(a.work, "valid.tsv"), va, pairs)
    if not os.path.exists(tok_path) or a.force:
        texts = []
        for p in tr:
            texts.append(pairs[p][1])
            texts.append(pairs[p][2])
        tok = Tokenizer(train_bpe(texts, VOCAB))
        tok.save(tok_path)
    tok = Tokenizer.load(tok_path)
    # a round-trip check on every evaluation text (ids decode back to the normalized text)
    for p, _, syn, text in read_tsv(eval_path):
        for t in (syn, text):
            got = tok.decode(tok.encode(t))
            if got != normalize_bytes(t.encode()).decode():
                sys.exit("build.py: tokenizer round trip failed on %s" % p)
    write_fixtures(tok, eval_path, fixtures)
    words_path = os.path.join(HERE, "words.txt")
    write_words([(pairs[p][1], pairs[p][2]) for p in tr], words_path)
    with open(os.path.join(HERE, "MANIFEST"), "w", encoding="utf-8") as f:
        for path in inputs:
            f.write("input  %s  %d bytes  sha256 %s\n" % (os.path.basename(path), os.path.getsize(path),
                                                        sha256_file(path)))
        f.write("pairs %d (dropped: %s)\n" % (len(pairs), ", ".join("%s %d" % kv for kv in sorted(dropped.items()))))
        f.write("groups %d, evaluation groups %d\n" % (ngroups, nevgroups))
        f.write("eval %d  valid %d  train %d\n" % (len(read_tsv(eval_path)), len(va), len(tr)))
        for path in (eval_path, tok_path, words_path):
            f.write("output %s  sha256 %s\n" % (os.path.basename(path), sha256_file(path)))
        f.write("output work/train.tsv  sha256 %s\n" % sha256_file(os.path.join(a.work, "train.tsv")))
        f.write("output work/valid.tsv  sha256 %s\n" % sha256_file(os.path.join(a.work, "valid.tsv")))
    print(open(os.path.join(HERE, "MANIFEST")).read(), end="")


if __name__ == "__main__":
    main()
