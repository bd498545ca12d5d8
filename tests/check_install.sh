#!/bin/sh
# Installs the build into a scratch prefix (through DESTDIR, as a package build would), then, with
# nothing but what was installed:
#   - builds tests/outside/core.c with `pkg-config --cflags --libs jouleprint` and runs it (a meter on
#     a fake powercap counter, units, carbon, the error channel), and checks with readelf -d that it
#     and libjouleprint need no workload or harness library (Tesseract, SQLite, yaml, FreeType, png,
#     jansson);
#   - builds the same against the static libjouleprint.a (pkg-config --static);
#   - builds tests/outside/all.c against the three libraries (pkg-config jouleprint-bench);
#   - runs the installed tool and reads its manual page;
#   - runs the installed tool's model commands from another folder: it finds the models and data that
#     were installed into <prefix>/share/jouleprint, not the source tree's.
#
#   check_install.sh BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS]   (run by ctest as check_install)
set -eu
build=$1
src=$2
extra=${3:-}
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jp-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_install: $*" >&2; exit 1; }

prefix=/opt/jouleprint-test
DESTDIR="$tmp/dest" cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
root="$tmp/dest$prefix"
for f in bin/jouleprint include/jouleprint.h include/jouleprint/bench.h include/jouleprint/workloads.h \
         share/man/man1/jouleprint.1; do
    [ -f "$root/$f" ] || fail "$f not installed"
done
pcdir=$(dirname "$(find "$root" -name jouleprint.pc | head -n 1)")
libdir=$(dirname "$pcdir")
for l in jouleprint jouleprint-workloads jouleprint-bench; do
    [ -f "$pcdir/$l.pc" ] || fail "$l.pc not installed"
    [ -f "$libdir/lib$l.a" ] || fail "lib$l.a not installed"
    soname=$(readelf -d "$libdir/lib$l.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ "$soname" = "lib$l.so.0" ] || fail "lib$l.so: SONAME '$soname', expected lib$l.so.0"
    [ -f "$libdir/$soname" ] || fail "$soname not installed"
done

export PKG_CONFIG_PATH="$pcdir"
# the ABI number of the installed header is what every .pc file says (abi_version)
abi=$(sed -n 's/^#define JP_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$root/include/jouleprint.h")
[ -n "$abi" ] || fail "the installed jouleprint.h has no JP_ABI_VERSION"
for l in jouleprint jouleprint-workloads jouleprint-bench; do
    v=$(pkg-config --variable=abi_version "$l")
    [ "$v" = "$abi" ] || fail "$l.pc: abi_version '$v', but the installed jouleprint.h says JP_ABI_VERSION $abi"
done
# the source tree's include/ must not be what the compiler finds
cflags=$(pkg-config --cflags jouleprint)
case "$cflags" in *"$src"*) fail "pkg-config --cflags points into the source tree: $cflags" ;; esac

# what a library or program needs at load time, one name a line
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
forbidden='tesseract|lept|sqlite|yaml|freetype|png|jansson|libz\.|openblas|jouleprint-'

# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror $extra -o "$tmp/core" "$src/tests/outside/core.c" \
    $(pkg-config --cflags --libs jouleprint) -lm || fail "cannot build a program with pkg-config jouleprint"
bad=$(needed "$tmp/core" | grep -E "$forbidden" || true)
[ -z "$bad" ] || fail "a program linked against libjouleprint alone needs: $bad"
bad=$(needed "$libdir/libjouleprint.so" | grep -Ev '^(libc|libm|libdl|libpthread|ld-linux.*|librt)\.so' |
      grep -v '^lib[a-z]*san\.so' || true)
[ -z "$bad" ] || fail "libjouleprint.so needs more than libc, libm, pthreads and libdl: $bad"
# and at load time, everything the loader brings in
bad=$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/core" | awk '{ print $1 }' | grep -E "$forbidden" || true)
[ -z "$bad" ] || fail "loading the program brings in: $bad"

mkdir -p "$tmp/sys/class/powercap/intel-rapl:0"
echo package-0 >"$tmp/sys/class/powercap/intel-rapl:0/name"
echo 262143328850 >"$tmp/sys/class/powercap/intel-rapl:0/max_energy_range_uj"
echo 1000000 >"$tmp/sys/class/powercap/intel-rapl:0/energy_uj"
out=$(LD_LIBRARY_PATH="$libdir" JP_SYSFS_ROOT="$tmp/sys" "$tmp/core" "$tmp/sys") ||
    { echo "$out" >&2; fail "the outside program failed"; }
echo "$out"
echo "$out" | grep -qx 'meter package-0 2.000 J glitches 0' || fail "the meter did not measure the 2 J written"

# static: the same program against libjouleprint.a
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror $extra -o "$tmp/core_static" "$src/tests/outside/core.c" \
    $(pkg-config --cflags jouleprint) "$libdir/libjouleprint.a" $(pkg-config --static --libs-only-other --libs-only-l jouleprint | sed 's/-ljouleprint\b//') -lm ||
    fail "cannot build against libjouleprint.a"
needed "$tmp/core_static" | grep -q jouleprint && fail "the static build still needs a libjouleprint shared library"
JP_SYSFS_ROOT="$tmp/sys" "$tmp/core_static" "$tmp/sys" | grep -qx 'meter package-0 2.000 J glitches 0' ||
    fail "the statically linked program did not measure the 2 J written"

# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror $extra -o "$tmp/all" "$src/tests/outside/all.c" \
    $(pkg-config --cflags --libs jouleprint-bench) || fail "cannot build with pkg-config jouleprint-bench"
LD_LIBRARY_PATH="$libdir" "$tmp/all" | tee "$tmp/all.out"
grep -q '^ocr model eng-fast, label 9 Ankle boot, recall 1.00, report md$' "$tmp/all.out" || fail "all.c printed the wrong figures"

# the installed tool finds its libraries by itself (RUNPATH $ORIGIN/../lib) and has its manual page
env -u LD_LIBRARY_PATH "$root/bin/jouleprint" --help | head -n 1 | grep -q '^jouleprint ' || fail "the installed tool does not run"
env -u LD_LIBRARY_PATH "$root/bin/jouleprint" regions --help >/dev/null || fail "the installed tool does not run"
# ... and its modules (lib/jouleprint/jouleprint-tasks.so, -serve.so), loaded by the commands that need them
for c in report serve; do
    env -u LD_LIBRARY_PATH "$root/bin/jouleprint" $c --help | head -n 1 | grep -q "^usage: jouleprint $c" ||
        fail "the installed tool cannot run $c (its module is not found or does not load)"
done
# the commands that need only libjouleprint load nothing of the harness's or the workloads' libraries
# (a sanitizer build links libcrypt and libstdc++ at start on purpose: see CMakeLists.txt, JP_SANITIZE)
allowed='^libjouleprint\.so\|^libjansson'
case "$extra" in *sanitize*) allowed="$allowed\|^libcrypt\.so" ;; esac
bad=$(needed "$root/bin/jouleprint" | grep -E "$forbidden|microhttpd|gnutls|crypt" | grep -v "$allowed" | tr '\n' ' ')
[ -z "$bad" ] || fail "the jouleprint executable needs: $bad (they belong in its modules)"
# the built-in models and the workloads' data, installed into <prefix>/share/jouleprint and found there by
# the installed tool with the source tree and the build out of reach (another folder, no JP_* folders
# in the environment): the same cnn classifies the same 100 test images alike, and ocr-data renders the
# same lines from the installed word list (same seed, same bytes) as the build tree's tool
share="$root/share/jouleprint"
for f in models/cnn/config.json models/cnn/model.safetensors models/sum-s/tokenizer.txt data/ocr/words.txt \
         data/summarize/eval.tsv examples/study.yaml examples/study-quick.yaml; do
    [ -f "$share/$f" ] || fail "share/jouleprint/$f not installed"
done
[ ! -e "$share/models/cnn/parity.safetensors" ] || fail "a test fixture (parity.safetensors) was installed"
mkdir "$tmp/elsewhere"
installed() { (cd "$tmp/elsewhere" && env -u LD_LIBRARY_PATH -u JP_MODELS_DIR -u JP_DATA_DIR -u JP_TESSDATA \
               "$root/bin/jouleprint" "$@"); }
tree() { (cd "$tmp/elsewhere" && env -u JP_MODELS_DIR -u JP_DATA_DIR -u JP_TESSDATA "$build/jouleprint" "$@"); }
installed classify --list --json >"$tmp/list.json" || fail "the installed tool cannot list its models"
grep -q "\"dir\": \"$share/models/cnn\"" "$tmp/list.json" ||
    fail "the installed tool does not find its models in $share/models: $(grep '"dir"' "$tmp/list.json" | head -n 1)"
correct() { sed -n 's/^  "correct": \([0-9]*\),$/\1/p' "$1"; }
installed classify --model cnn --n 100 --json --interval 10ms >"$tmp/cnn.json" ||
    fail "the installed tool cannot classify with its cnn: $(cat "$tmp/cnn.json")"
tree classify --model cnn --n 100 --json --interval 10ms >"$tmp/cnn-tree.json" || fail "the build's tool cannot classify"
a=$(correct "$tmp/cnn.json")
b=$(correct "$tmp/cnn-tree.json")
grep -q '^  "n": 100,$' "$tmp/cnn.json" || fail "the installed cnn did not classify 100 images"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "the installed cnn got $a of 100 right, the build's $b"
echo "check_install: the installed cnn: $a of 100 test images right (the build's: $b)"
installed ocr-data --n 2 --seed 3 -o "$tmp/lines" >/dev/null || fail "the installed tool cannot render OCR lines"
tree ocr-data --n 2 --seed 3 -o "$tmp/lines-tree" >/dev/null || fail "the build's tool cannot render OCR lines"
cmp -s "$tmp/lines/manifest.tsv" "$tmp/lines-tree/manifest.tsv" ||
    fail "the installed tool's OCR lines differ from the build's (another word list?)"
man1="$root/share/man/man1/jouleprint.1"
for c in $("$root/bin/jouleprint" --help | awk '/^usage:/ { l = 1; next } l && /^  [a-z][a-z-]*  / { print $1; s = 1; next } s && /^$/ { exit }'); do
    grep -q "^\.SS \"jouleprint $(echo "$c" | sed 's/-/\\\\-/g')\"" "$man1" || fail "the manual page has no section for $c"
done
if command -v groff >/dev/null 2>&1; then
    warn=$(groff -man -ww -z "$man1" 2>&1 || true)
    [ -z "$warn" ] || fail "groff warns about the manual page: $warn"
fi
echo "check_install: ok"
