#!/bin/sh
# Single images on 2 threads when the machine changes under them: a neighbour (one busy process, `yes`)
# starts after the model has chosen whether to split each image across its threads, with both cores
# free, and runs to the end. Two builds of the engine against each other, interleaved (before, after,
# before, ...), with the after build on 1 thread under the same neighbour as the reference that 2
# threads should not fall below:
#   bench/classify_neighbour.sh BEFORE_BUILD AFTER_BUILD MODEL PAIRS [DELAY_S]
# Each side is one `classify_speed --no-torch` run at batch 1 (6 windows of 1 s, its median img/s); the
# neighbour starts DELAY_S (default 3.8) after the run, once its model is loaded and warmed up (the
# program's start takes about 2.5 s here, its warm-up window 1.25 s), and is stopped when the run ends.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 BEFORE_BUILD AFTER_BUILD MODEL PAIRS [DELAY_S]" >&2; exit 2; }
before=$1 after=$2 model=$3 pairs=$4 delay=${5:-3.8}
one() { # build threads
    out=$(mktemp)
    "$1/classify_speed" --model "$model" --batch 1 --threads "$2" --rounds 6 --seconds 1 --no-torch >"$out" 2>&1 &
    run=$!
    sleep "$delay"
    yes >/dev/null &
    nb=$!
    wait "$run" || true
    kill "$nb" 2>/dev/null || true
    wait "$nb" 2>/dev/null || true
    sed -n 's/.* engine \([0-9]*\) (.*/\1/p' "$out" | head -n 1
    rm -f "$out"
}
i=0 b="" a="" r=""
while [ "$i" -lt "$pairs" ]; do
    b="$b $(one "$before" 2)"
    a="$a $(one "$after" 2)"
    r="$r $(one "$after" 1)"
    i=$((i + 1))
done
python3 - "$b" "$a" "$r" "$model" <<'PY'
import statistics as st, sys
b, a, r = ([float(x) for x in s.split()] for s in sys.argv[1:4])
if not (len(a) == len(b) == len(r)) or not a:
    sys.exit("classify_neighbour: a run printed no img/s")
print("%s batch 1, a neighbour from the run's 4th second, %d triples" % (sys.argv[4], len(a)))
print("before, 2 threads %.0f img/s (%.0f-%.0f)" % (st.median(b), min(b), max(b)))
print("after,  2 threads %.0f img/s (%.0f-%.0f)" % (st.median(a), min(a), max(a)))
print("after,  1 thread  %.0f img/s (%.0f-%.0f)" % (st.median(r), min(r), max(r)))
print("after / before %.3f (per triple %s); 2 threads / 1 thread: before %.3f, after %.3f"
      % (st.median(a) / st.median(b), " ".join("%.2f" % (y / x) for x, y in zip(b, a)),
         st.median(b) / st.median(r), st.median(a) / st.median(r)))
PY
