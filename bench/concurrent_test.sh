#!/bin/sh
# Six bench sessions at once on one results store: every run stored whole (its two models), the store's
# integrity_check ok. SQLite's locking with a busy timeout, each save one transaction.
#   bench/concurrent_test.sh [SESSIONS] [JOULEPRINT]
set -u
k=${1:-6}
jp=${2:-build/jouleprint}
root=$(mktemp -d /tmp/jp-conc-XXXXXX)
seq 1 20 > "$root/items.txt"
cat > "$root/spec.yaml" <<SPEC
repeats: 1
warmup: 0
tasks:
  - name: conc
    items: items.txt
    scorer: none
    models:
      - name: first
        command: sh -c 'cat {inputs} > {outputs}'
      - name: second
        command: sh -c 'sleep 0.2; cat {inputs} > {outputs}'
SPEC
pids=""
i=1
while [ "$i" -le "$k" ]; do
    "$jp" bench --db "$root/shared.db" "$root/spec.yaml" >/dev/null 2>"$root/err$i" &
    pids="$pids $!"
    i=$((i + 1))
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
runs=$(sqlite3 "$root/shared.db" "SELECT count(*) FROM runs WHERE status = 'complete'")
models=$(sqlite3 "$root/shared.db" "SELECT count(*) FROM models WHERE status = 'ok'")
ic=$(sqlite3 "$root/shared.db" "PRAGMA integrity_check")
echo "concurrent test: $k sessions, $bad failed; $runs complete runs and $models models stored; integrity_check $ic"
rm -rf "$root"
[ "$bad" -eq 0 ] && [ "$runs" -eq "$k" ] && [ "$models" -eq $((2 * k)) ] && [ "$ic" = ok ]
