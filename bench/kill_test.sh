#!/bin/sh
# The kill test: a two-model bench killed with SIGKILL at N random moments (default 100). After each
# kill: every model the session had announced as stored before the kill ("bench: kill / M: stored",
# printed only once the store has committed the model: a model is finished when it is committed) is in
# the store with status ok; no model is stored whose command had not finished; PRAGMA integrity_check
# is ok; no process of the models is left (each starts a background shell running `sleep`, tagged with
# a unique word); and no work folder is left in the session's TMPDIR.
# A model whose command had ended but which was not yet committed when the kill came is "in flight":
# not a miss (the session was between the command's end and the commit), but counted, with the time
# since its command ended, so that a long window shows. A kill that comes after the session has ended
# on its own is checked too, then made again: N kills land while a session runs.
#   bench/kill_test.sh [N] [JOULEPRINT]        (prints one line per kill and a summary; exit 1 on any miss)
set -u
n=${1:-100}
jp=${2:-build/jouleprint}
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
# how long a whole session takes here (three run to the end, timed; the longest): the kills fall in
# 0 .. 1.25 times that, so that the second model's end is reached on a machine whose load varies (a
# kill after the session's own end is counted as such)
span_ms=0
for _ in 1 2 3; do
    t0=$(date +%s.%N)
    TMPDIR="$root/tmp" "$jp" bench --db "$root/whole.sqlite" "$root/spec.yaml" >/dev/null 2>"$root/err" ||
        { cat "$root/err" >&2; echo "kill test: the session does not run to its end" >&2; exit 2; }
    span_ms=$(awk -v a="$t0" -v b="$(date +%s.%N)" -v m="$span_ms" 'BEGIN { s = (b - a) * 1250; printf "%d", (s > m) ? s : m }')
done
echo "kill test: a whole session takes up to $(awk -v m="$span_ms" 'BEGIN { printf "%.2f", m / 1250 }') s here; $n kills at random moments in 0-$(awk -v m="$span_ms" 'BEGIN { printf "%.2f", m / 1000 }') s"
rm -rf "$root/tmp"/* "$root/done-first" "$root/done-second"
fail=0 late=0 stored_total=0 announced_total=0 inflight=0 inflight_max=0
# i counts the kills that came while the session ran; an attempt that came after its end is checked
# as well, then made again (at most 3N attempts in all)
i=1 attempts=0
while [ "$i" -le "$n" ] && [ "$attempts" -lt $((3 * n)) ]; do
    attempts=$((attempts + 1))
    rm -f "$root/done-first" "$root/done-second" "$root/db.sqlite"
    note=""
    TMPDIR="$root/tmp" "$jp" bench --db "$root/db.sqlite" "$root/spec.yaml" >/dev/null 2>"$root/err" &
    pid=$!
    # a random moment within the run
    delay=$(awk -v s="$(od -An -N4 -tu4 /dev/urandom)" -v m="$span_ms" 'BEGIN { printf "%.3f", (s % (m + 1)) / 1000 }')
    sleep "$delay"
    now=$(date +%s.%N)
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    # 137: killed; anything else: this session had ended on its own before the kill
    [ $? -eq 137 ] || { late=$((late + 1)); note=" (the session had ended before the kill: made again)"; }
    sleep 0.5 # the watchdog's clean-up
    miss=""
    stored=""
    if [ -s "$root/db.sqlite" ]; then
        ic=$(sqlite3 "$root/db.sqlite" "PRAGMA integrity_check" 2>&1)
        [ "$ic" = "ok" ] || miss="$miss integrity:$ic"
        stored=$(sqlite3 "$root/db.sqlite" "SELECT group_concat(name) FROM models WHERE status = 'ok'" 2>/dev/null)
    fi
    # what the session had said was stored before it was killed (stderr is unbuffered, the line comes
    # after the commit)
    announced=$(sed -n 's/^bench: kill \/ \([a-z]*\): stored (run .*/\1/p' "$root/err" | sort -u | paste -sd, -)
    for m in first second; do
        case ",$stored," in *",$m,"*) in_store=1 ;; *) in_store=0 ;; esac
        case ",$announced," in *",$m,"*)
            announced_total=$((announced_total + 1))
            [ "$in_store" = 1 ] || miss="$miss lost:$m(announced stored, not in the store)" ;;
        esac
        # (the file is whole once its command has ended: an empty one was cut by the kill)
        if [ -s "$root/done-$m" ]; then
            secs=$(awk -v a="$now" -v b="$(cat "$root/done-$m")" 'BEGIN { printf "%.2f", a - b }')
            # (a command may still end in the moment between the kill and the watchdog's)
            if [ "$in_store" = 0 ] && [ "$(awk -v s="$secs" 'BEGIN { print (s > 0) }')" = 1 ]; then
                inflight=$((inflight + 1))
                inflight_max=$(awk -v a="$inflight_max" -v b="$secs" 'BEGIN { print (b > a) ? b : a }')
                note="$note in-flight:$m(ended ${secs}s before the kill)"
            fi
        elif [ "$in_store" = 1 ]; then
            miss="$miss early:$m(stored, its command never finished)"
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
    left=$(find "$root/tmp" -mindepth 1 -maxdepth 1 | wc -l)
    [ "$left" -eq 0 ] || { miss="$miss folders:$left"; rm -rf "$root/tmp"/*; }
    if [ -n "$miss" ]; then
        fail=$((fail + 1))
        echo "kill $i at ${delay}s: MISS:$miss (stored: ${stored:-none})$note"
    else
        echo "kill $i at ${delay}s: ok (stored: ${stored:-none})$note"
    fi
    [ -n "$note" ] && case "$note" in *"made again"*) continue ;; esac
    i=$((i + 1))
done
echo "kill test: $((i - 1)) kills while the session ran ($late more attempts came after its end and were made again), $fail with a miss; $announced_total models announced stored before their kill, all of them in the store if 0 misses; $stored_total model results found stored; $inflight models in flight at their kill (command ended, not yet committed; the longest ${inflight_max}s)"
rm -rf "$root"
[ "$((i - 1))" -eq "$n" ] || echo "kill test: only $((i - 1)) of the $n kills came while the session ran"
[ "$fail" -eq 0 ] && [ "$((i - 1))" -eq "$n" ]
