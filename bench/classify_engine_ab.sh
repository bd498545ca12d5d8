#!/bin/sh
# Two builds of the engine against each other on one classifier, interleaved: before, after, before, ...
#   bench/classify_engine_ab.sh BEFORE_BUILD AFTER_BUILD MODEL BATCH THREADS PAIRS
# Each side is one `classify_speed --no-torch` run (3 windows of 0.5 s, its median img/s); the pairs run
# back to back so that both sides see the same neighbours. Prints the medians, the ratio of medians and
# the ratio within each pair (after / before). A side written BUILD@T runs on T threads instead of
# THREADS, so that one build on 1 and on 2 threads can be compared the same way:
#   bench/classify_engine_ab.sh build@1 build@2 resnet-s 64 - 6
set -eu
[ $# -eq 6 ] || { echo "usage: $0 BEFORE_BUILD AFTER_BUILD MODEL BATCH THREADS PAIRS" >&2; exit 2; }
before=$1 after=$2 model=$3 batch=$4 threads=$5 pairs=$6
one() {
    dir=${1%@*} t=$threads
    case $1 in *@*) t=${1##*@} ;; esac
    "$dir/classify_speed" --model "$model" --batch "$batch" --threads "$t" --rounds 3 --seconds 0.5 --no-torch 2>&1 |
        sed -n 's/.* engine \([0-9]*\) (.*/\1/p' | head -n 1
}
i=0 b="" a=""
while [ "$i" -lt "$pairs" ]; do
    b="$b $(one "$before")"
    a="$a $(one "$after")"
    i=$((i + 1))
done
python3 - "$b" "$a" "$model" "$batch" "$threads" "$before" "$after" <<'PY'
import statistics as st, sys
b = [float(x) for x in sys.argv[1].split()]
a = [float(x) for x in sys.argv[2].split()]
if len(a) != len(b) or not a:
    sys.exit("classify_engine_ab: a run printed no img/s")
r = [y / x for x, y in zip(b, a)]
print("%s batch %s threads %s, %d pairs" % (sys.argv[3], sys.argv[4], sys.argv[5], len(a)))
print("before %.0f img/s (%.0f-%.0f)  %s" % (st.median(b), min(b), max(b), sys.argv[6]))
print("after  %.0f img/s (%.0f-%.0f)  %s" % (st.median(a), min(a), max(a), sys.argv[7]))
print("ratio of medians %.3f; per pair %s (median %.3f)" % (st.median(a) / st.median(b), " ".join("%.2f" % x for x in r), st.median(r)))
PY
