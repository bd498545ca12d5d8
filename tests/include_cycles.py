#!/usr/bin/python3
"""No include cycle between the modules of src/ (a module: one .c/.h pair, e.g. src/meter.{c,h}).

Module A depends on module B when A.c or A.h includes B.h (quoted includes, resolved as the compiler
would: beside the file, then src/, then include/). A cycle (A -> B -> ... -> A) is printed with the
include lines that make it, and the check fails. Run by tests/check_layers.sh.

    include_cycles.py SOURCE_DIR
"""
import os
import re
import sys

root = sys.argv[1]
src = os.path.join(root, "src")
inc_dirs = [src, os.path.join(root, "include")]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(path):
    """src/source/meter.c -> source/meter; public headers are not modules of src/."""
    rel = os.path.relpath(path, src)
    if rel.startswith(".."):
        return None
    return os.path.splitext(rel)[0]


def resolve(including, name):
    for d in [os.path.dirname(including)] + inc_dirs:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p):
            return p
    return None


edges = {}  # module -> {module: "file:line"}
for dirpath, _, files in os.walk(src):
    for f in sorted(files):
        if not f.endswith((".c", ".h")):
            continue
        path = os.path.join(dirpath, f)
        a = module_of(path)
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = resolve(path, m.group(1))
                b = module_of(target) if target else None
                if b is None or b == a:
                    continue
                edges.setdefault(a, {}).setdefault(b, "%s:%d" % (os.path.relpath(path, root), n))

# every cycle found by a depth-first search (each reported once, from its smallest module)
cycles, state, stack = set(), {}, []


def visit(a):
    state[a] = 1
    stack.append(a)
    for b in sorted(edges.get(a, {})):
        if state.get(b) == 1:
            cyc = stack[stack.index(b):]
            k = cyc.index(min(cyc))
            cycles.add(tuple(cyc[k:] + cyc[:k]))
        elif b not in state:
            visit(b)
    stack.pop()
    state[a] = 2


sys.setrecursionlimit(10000)
for a in sorted(edges):
    if a not in state:
        visit(a)
for cyc in sorted(cycles):
    hops = [(cyc[i], cyc[(i + 1) % len(cyc)]) for i in range(len(cyc))]
    print("include cycle: " + " -> ".join(list(cyc) + [cyc[0]]) + "  (" +
          ", ".join(edges[x][y] for x, y in hops) + ")", file=sys.stderr)
nmods = len(set(edges) | {b for v in edges.values() for b in v})
print("include graph of src/: %d modules, %d dependencies, %d cycles" %
      (nmods, sum(len(v) for v in edges.values()), len(cycles)))
sys.exit(1 if cycles else 0)
