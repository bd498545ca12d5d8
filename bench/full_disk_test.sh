#!/bin/sh
# The full-disk test: a bench whose store and report are on a small tmpfs that fills up. Expected: the
# run reaches the fallback (the JSON beside the store, or on stderr when even that cannot be written,
# with one line saying so), the JSON holds both models, and no 0-byte or cut report is left (the
# report goes through a temporary file and a rename). Needs root (mount); says so otherwise.
#   bench/full_disk_test.sh [JOULEPRINT]
set -u
jp=$(cd "$(dirname "${1:-build/jouleprint}")" && pwd)/$(basename "${1:-build/jouleprint}")
[ "$(id -u)" = 0 ] || { echo "full-disk test: needs root to mount a tmpfs; skipped"; exit 0; }
work=$(mktemp -d /tmp/jp-full-XXXXXX)
disk="$work/disk"
mkdir -p "$disk"
mount -t tmpfs -o size=512k tmpfs "$disk" || { echo "full-disk test: cannot mount a tmpfs; skipped"; exit 0; }
trap 'umount "$disk"; rm -rf "$work"' EXIT
keep=${KEEP:-}
seq 1 50 > "$work/items.txt"
cat > "$work/spec.yaml" <<SPEC
repeats: 1
warmup: 0
tasks:
  - name: full
    items: items.txt
    scorer: none
    models:
      - name: first
        command: sh -c 'cat {inputs} > {outputs}'
      - name: second
        command: sh -c 'cat {inputs} > {outputs}'
SPEC
fail=0
# 1. a store made while there was room, then the disk filled to the last byte
"$jp" bench --db "$disk/runs.db" "$work/spec.yaml" >/dev/null 2>&1 || { echo "full-disk test: the first run failed"; exit 1; }
dd if=/dev/zero of="$disk/fill" bs=4k 2>/dev/null
dd if=/dev/zero of="$disk/fill2" bs=1 2>/dev/null
echo "disk: $(df -k "$disk" | awk 'NR==2 { print $4 }') KB free"
"$jp" bench --db "$disk/runs.db" -o "$disk/report.html" "$work/spec.yaml" >"$work/out" 2>"$work/err"
rc=$?
echo "bench exit status: $rc"
grep -E "could not be stored|written to|here it is as JSON|write failed" "$work/err" | sed 's/^/  stderr: /'
# the JSON: beside the store, or on stderr after the line that says so
json=$(ls "$disk"/runs.db.run-*.json 2>/dev/null | head -1)
if [ -n "$json" ] && [ -s "$json" ]; then
    src="$json"
else
    # the JSON object that follows the line saying so
    /usr/bin/python3 -c "import json,sys; t=open(sys.argv[1]).read(); i=t.index('here it is as JSON'); i=t.index('{', i); o,_=json.JSONDecoder().raw_decode(t[i:]); json.dump(o, open(sys.argv[2],'w'))" "$work/err" "$work/run.json" 2>/dev/null
    src="$work/run.json"
fi
if /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); s=json.dumps(r); assert '\"first\"' in s and '\"second\"' in s" "$src" 2>/dev/null; then
    echo "fallback JSON: ok ($src, $(wc -c < "$src") bytes, both models)"
else
    echo "fallback JSON: MISSING or incomplete"; fail=1
fi
if [ -e "$disk/report.html" ]; then
    size=$(wc -c < "$disk/report.html")
    [ "$size" -gt 0 ] && echo "report.html: present, $size bytes" || { echo "report.html: 0 bytes (MISS)"; fail=1; }
else
    echo "report.html: not written (no 0-byte file), as expected on a full disk"
fi
ls "$disk" | grep -q "\.tmp-" && { echo "temporary files left (MISS): $(ls "$disk" | tr "\n" " ")"; fail=1; }
[ $fail -eq 0 ] && echo "full-disk test: ok" || echo "full-disk test: FAILED"
exit $fail
