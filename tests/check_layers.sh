#!/bin/sh
# The dependency picture of the built libraries (DESIGN.md "Layout"):
#   - libjouleprint needs libc, libm, pthreads and libdl only; libjouleprint-workloads no SQLite or
#     yaml; nothing below needs what is above it (core < workloads < bench);
#   - each library exports exactly the functions its public header declares: every exported symbol
#     is a jp_ function named in that header, and every function the header declares is exported
#     (none declared and never defined);
#   - src/ files include nothing from a layer above theirs; cli/ includes only its own headers and
#     the public ones (the CMake target gives it include/ only);
#   - no include cycle between the modules of src/ (tests/include_cycles.py: a module is a .c/.h pair).
#
#   check_layers.sh BUILD_DIR SOURCE_DIR   (run by ctest as check_layers)
set -eu
build=$1
src=$2
fail() { echo "check_layers: $*" >&2; status=1; }
status=0
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
san='^lib[a-z]*san\.so'

core="$build/libjouleprint.so"
wl="$build/libjouleprint-workloads.so"
bn="$build/libjouleprint-bench.so"
for l in "$core" "$wl" "$bn"; do [ -f "$l" ] || { echo "check_layers: $l not built" >&2; exit 1; }; done

echo "libjouleprint.so needs: $(needed "$core" | tr '\n' ' ')"
bad=$(needed "$core" | grep -Ev '^(libc|libm|libdl|libpthread|ld-linux.*|librt)\.so' | grep -Ev "$san" || true)
[ -z "$bad" ] || fail "libjouleprint.so needs more than libc, libm, pthreads and libdl: $bad"
echo "libjouleprint-workloads.so needs: $(needed "$wl" | tr '\n' ' ')"
bad=$(needed "$wl" | grep -E 'sqlite|yaml|jouleprint-bench' || true)
[ -z "$bad" ] || fail "libjouleprint-workloads.so needs a harness library: $bad"
echo "libjouleprint-bench.so needs: $(needed "$bn" | tr '\n' ' ')"

# The functions a header declares: its text without comments, every "jp_name(" in it.
declared() {
    sed -e ':a' -e '/\/\*/{ /\*\//!{ N; ba' -e '}; }' -e 's:/\*\([^*]\|\*[^/]\)*\*/::g' "$1" |
        grep -oE '(^|[^A-Za-z0-9_])jp_[a-z0-9_]+[[:space:]]*\(' | grep -oE 'jp_[a-z0-9_]+' | sort -u
}
exported() { nm -D --defined-only "$1" | awk '$2 ~ /^[TtWiV]$/ || $2 == "i" { sub(/@.*/, "", $3); print $3 }' | sort -u; }
check_exports() {
    lib=$1
    shift
    header=$*
    for h in "$@"; do declared "$h"; done | sort -u >"$tmpd/declared"
    exported "$lib" >"$tmpd/exported"
    extra=$(comm -13 "$tmpd/declared" "$tmpd/exported" | tr '\n' ' ')
    missing=$(comm -23 "$tmpd/declared" "$tmpd/exported" | tr '\n' ' ')
    [ -z "$extra" ] || fail "$(basename "$lib") exports what ${header#"$src"/} does not declare: $extra"
    [ -z "$missing" ] || fail "${header#"$src"/} declares what $(basename "$lib") does not define: $missing"
    echo "$(basename "$lib"): $(wc -l <"$tmpd/exported") functions exported, as declared"
}
tmpd=$(mktemp -d "${TMPDIR:-/tmp}/jp-layers.XXXXXX")
trap 'rm -rf "$tmpd"' EXIT
check_exports "$core" "$src/include/jouleprint.h" "$src/include/jouleprint/exporter.h"
check_exports "$wl" "$src/include/jouleprint/workloads.h"
check_exports "$bn" "$src/include/jouleprint/bench.h"

# No program or library of the build searches the current directory for libraries: an empty entry in
# an RUNPATH (CMake ended build-tree ones with ':') makes the loader try ./libm.so.6, ./libc.so.6, ...
# wherever the tool is started, and load a library planted there.
for f in "$build/jouleprint" "$build"/jouleprint-*.so "$core" "$wl" "$bn"; do
    [ -f "$f" ] || continue
    rp=$(readelf -d "$f" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
    case ":$rp:" in
        *::*) fail "$(basename "$f"): RUNPATH \"$rp\" has an empty entry (the current directory)" ;;
    esac
done
# and the loader agrees: started from an empty folder, the tool tries no relative path
tried=$(cd "$tmpd" && LD_DEBUG=libs "$build/jouleprint" --version 2>&1 >/dev/null | sed -n 's/.*trying file=\([^/].*\)/\1/p' | head -3)
[ -z "$tried" ] || fail "jouleprint, started in an empty folder, looks for libraries in it: $(echo $tried)"
echo "no RUNPATH with the current directory; the tool looks for no library where it is started"

# includes across layers, read from the sources
cd "$src"
for f in src/*.c src/*.h src/source/*.c src/source/*.h; do
    case $f in src/store.h) continue ;; esac # the harness's store (src/store/), in libjouleprint-bench
    bad=$(grep -nE '^#include "(\.\./)?(bench|report|workload|nn)/|^#include "(\.\./)?store\.h"|^#include "jouleprint/(bench|workloads)\.h"' "$f" || true)
    [ -z "$bad" ] || fail "$f (libjouleprint) includes from a layer above: $bad"
done
for f in src/nn/* src/workload/*; do
    bad=$(grep -nE '^#include "(\.\./)?(bench|report)/|^#include "(\.\./)?store\.h"|^#include "jouleprint/bench\.h"' "$f" || true)
    [ -z "$bad" ] || fail "$f (libjouleprint-workloads) includes from the harness: $bad"
done
for f in cli/*.c cli/*.h; do
    bad=$(grep -nE '^#include "' "$f" | grep -vE '"(jouleprint\.h|jouleprint/(bench|workloads|exporter)\.h|[a-z_]+\.h)"' || true)
    local_bad=$(grep -oE '^#include "[a-z_]+\.h"' "$f" | sed 's/.*"\(.*\)"/\1/' | while read -r h; do
        [ "$h" = jouleprint.h ] || [ -f "cli/$h" ] || echo "$h"; done)
    [ -z "$bad$local_bad" ] || fail "$f includes what is neither public nor in cli/: $bad $local_bad"
done
# no include cycle between src/ modules
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" "$src/tests/include_cycles.py" "$src" || fail "include cycles between src/ modules (listed above)"
exit $status
