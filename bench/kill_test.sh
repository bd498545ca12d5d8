#!/bin/sh
# The kill test: a two-model bench killed with SIGKILL at N random moments (default 100). After each
# kill: every model whose command had finished at least GRACE seconds before the kill is in the
# store, PRAGMA integrity_check is ok, no process of the models is left (each starts a background
# shell running `sleep`, tagged with a unique word), and no work folder is left in the session's TMPDIR.
#   bench/kill_test.sh [N] [JOULEPRINT]        (prints one line per kill and a summary; exit 1 on any miss)
set -u
n=${1:-100}
jp=${2:-build/jouleprint}
grace=${GRACE:-1.5}
root=$(mktemp -d /tmp/jp-kill-XXXXXX)
tag="jpkill$$"
mkdir -p "$root/tmp"
seq 1 20 > "$root/items.txt"
cat > "$root/spec.yaml" <<SPEC
repeats: 1
warmup: 0
tasks:
  - name: kill
    items: items.txt
    scorer: none
    models:
      - name: first
        command: sh -c 'sh -c "sleep 300; echo $tag" & sleep 0.4; cat {inputs} > {outputs}; date +%s.%N > $root/done-first'
      - name: second
        command: sh -c 'sh -c "sleep 300; echo $tag" & sleep 0.4; cat {inputs} > {outputs}; date +%s.%N > $root/done-second'
SPEC
fail=0 stored_total=0 killed_before=0
i=1
while [ "$i" -le "$n" ]; do
    rm -f "$root/done-first" "$root/done-second" "$root/db.sqlite"
    TMPDIR="$root/tmp" "$jp" bench --db "$root/db.sqlite" "$root/spec.yaml" >/dev/null 2>"$root/err" &
    pid=$!
    # a random moment within the run (about 3 s on a loaded machine): 0 to 4 s
    delay=$(awk -v s="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.3f", (s % 4000) / 1000 }')
    sleep "$delay"
    now=$(date +%s.%N)
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    sleep 0.5 # the watchdog's clean-up
    miss=""
    stored=""
    if [ -s "$root/db.sqlite" ]; then
        ic=$(sqlite3 "$root/db.sqlite" "PRAGMA integrity_check" 2>&1)
        [ "$ic" = "ok" ] || miss="$miss integrity:$ic"
        stored=$(sqlite3 "$root/db.sqlite" "SELECT group_concat(name) FROM models WHERE status = 'ok'" 2>/dev/null)
    fi
    for m in first second; do
        if [ -f "$root/done-$m" ]; then
            secs=$(awk -v a="$now" -v b="$(cat "$root/done-$m")" 'BEGIN { printf "%.2f", a - b }')
            age=$(awk -v s="$secs" 'BEGIN { print (s > '"$grace"') ? 1 : 0 }')
            if [ "$age" = 1 ]; then
                killed_before=$((killed_before + 1))
                case ",$stored," in *",$m,"*) ;; *) miss="$miss lost:$m(ended ${secs}s before the kill)" ;; esac
            fi
        fi
    done
    case "$stored" in "") ;; *) stored_total=$((stored_total + $(echo "$stored" | tr ',' '\n' | wc -l))) ;; esac
    # the models' background shells, by the unique word in their command line (this test's own)
    orphans=$(pgrep -f "[s]leep 300; echo $tag" || true)
    if [ -n "$orphans" ]; then
        miss="$miss orphans:$(echo "$orphans" | wc -l)"
        # shellcheck disable=SC2086
        kill -9 $orphans 2>/dev/null
    fi
    left=$(ls -A "$root/tmp" | wc -l)
    [ "$left" -eq 0 ] || { miss="$miss folders:$left"; rm -rf "$root/tmp"/*; }
    if [ -n "$miss" ]; then
        fail=$((fail + 1))
        echo "kill $i at ${delay}s: MISS:$miss (stored: ${stored:-none})"
    else
        echo "kill $i at ${delay}s: ok (stored: ${stored:-none})"
    fi
    i=$((i + 1))
done
echo "kill test: $n kills, $fail with a miss; $killed_before models had finished >${grace}s before their kill, all of them stored if 0 misses; $stored_total model results found stored"
rm -rf "$root"
[ "$fail" -eq 0 ]
