#!/bin/sh
# The libraries' ABI number follows their exports: every function the version scripts export (made
# from the public headers) is listed in tests/abi.txt with the JP_ABI_VERSION that brought it, nothing
# listed has gone, and the highest number listed is JP_ABI_VERSION (include/jouleprint.h). A change of a
# public struct's layout, which exports nothing new, is listed as LIBRARY ABI struct:NAME.
#   check_abi.sh GENERATED_DIR SOURCE_DIR   (run by ctest as check_abi)
set -eu
gen=$1
src=$2
list="$src/tests/abi.txt"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jp-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_abi: $*" >&2; exit 1; }

for lib in jouleprint jouleprint-workloads jouleprint-bench; do
    [ -f "$gen/$lib.map" ] || fail "$gen/$lib.map missing (build first)"
    sed -n 's/^ *\(jp_[a-z0-9_]*\);$/\1/p' "$gen/$lib.map" | sed "s/^/$lib /"
done | sort >"$tmp/exported"
grep -v '^#' "$list" | grep -v '^$' | awk 'NF != 3 || $2 !~ /^[0-9]+$/ { print "bad line " NR ": " $0; exit 1 }' ||
    fail "$list: lines are LIBRARY ABI FUNCTION"
grep -v '^#' "$list" | grep -v '^$' | awk '$3 !~ /^struct:/ { print $1 " " $3 }' | sort >"$tmp/listed"
added=$(comm -23 "$tmp/exported" "$tmp/listed" | tr '\n' ',' | sed 's/,$//; s/,/, /g')
gone=$(comm -13 "$tmp/exported" "$tmp/listed" | tr '\n' ',' | sed 's/,$//; s/,/, /g')
abi=$(sed -n 's/^#define JP_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$src/include/jouleprint.h")
[ -n "$abi" ] || fail "include/jouleprint.h: no '#define JP_ABI_VERSION N' line"
[ -z "$added" ] || fail "exported but not in tests/abi.txt: $added: list each with ABI $((abi + 1)) and make JP_ABI_VERSION $((abi + 1)) (include/jouleprint.h)"
[ -z "$gone" ] || fail "in tests/abi.txt but no longer exported: $gone: removing a function breaks callers (change JP_SOVERSION, and this list)"
top=$(grep -v '^#' "$list" | awk 'NF == 3 && $2 > m { m = $2 } END { print m + 0 }')
[ "$top" = "$abi" ] || fail "tests/abi.txt's newest functions are ABI $top, but JP_ABI_VERSION is $abi (include/jouleprint.h): they must agree"
echo "check_abi: ok ($(wc -l <"$tmp/exported") functions, ABI $abi)"
