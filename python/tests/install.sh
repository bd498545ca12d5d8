#!/bin/sh
# The README's offline install, as a user runs it on Debian 12 (whose /usr/bin/python3 is "externally
# managed": pip refuses to install into it): a venv that sees Debian's packages (NumPy, PyTorch,
# setuptools), then pip with no build isolation and no index, so that nothing is fetched. The package
# is copied first, since pip builds in its folder. Run by ctest (python_install) with
# JOULEPRINT_LIBRARY naming the library built; checks that the installed package loads it and measures.
set -eu
src="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/jp-pyinstall-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp -r "$src" "$tmp/python"
rm -rf "$tmp/python/build" "$tmp/python/jouleprint.egg-info"
/usr/bin/python3 -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/pip" install --no-build-isolation --no-index "$tmp/python"
cd "$tmp"
"$tmp/venv/bin/python" - <<'PY'
import jouleprint, sys
assert jouleprint.__file__.startswith(sys.prefix), jouleprint.__file__  # the installed copy
with jouleprint.Tracker(output="emissions.csv") as t:
    t.phase("work")
    sum(range(200000))
assert t.energy_j > 0 and "work" in t.phases, t.to_dict()
print("installed:", jouleprint.__file__, jouleprint.library_info(), t)
PY
