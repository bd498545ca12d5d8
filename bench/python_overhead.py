#!/usr/bin/env python3
"""What the Python binding costs: entering and leaving a Tracker, and a Tracker sampling at 100 ms.

    /usr/bin/python3 bench/python_overhead.py [--window 2] [--reps 5] [--pairs 50]

Targets (issue 17): entering and leaving a tracker under 1 ms; a tracker sampling at 100 ms under
0.5% of one core. Two sources: `model` (what this machine has) and `rapl-powercap` over a fake powercap
tree (JP_SYSFS_ROOT, two packages with core and dram, real-size ranges), as bench/meter_overhead.c does.

Method. Enter+leave: a window runs `pairs` empty `with Tracker(...)` blocks back to back (open the
sources, start the C sampling thread, stop it, read every figure, close), timed in wall time and in
process CPU time (time.process_time: CLOCK_PROCESS_CPUTIME_ID, every thread); the same window with
contextlib.nullcontext() in place of the tracker is the baseline, subtracted. Sampling: a window
sleeps `window` seconds inside one tracker at 100 ms; the same sleep with no tracker is the baseline;
the CPU difference over the window, enter and leave included, is the cost in % of one core. Windows
of the configurations are interleaved, `reps` of each after one warm-up of each; figures are medians
(min .. max). Prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import contextlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import jouleprint
except ImportError:
    sys.path.insert(0, os.path.join(HERE, "..", "python"))
    import jouleprint


def fake_tree():
    root = tempfile.mkdtemp(prefix="jp-pybench-")
    zones = {"intel-rapl:0": "package-0", "intel-rapl:0:0": "core", "intel-rapl:0:1": "dram",
             "intel-rapl:1": "package-1", "intel-rapl:1:0": "core", "intel-rapl:1:1": "dram"}
    for zone, name in zones.items():
        d = os.path.join(root, "class/powercap", zone)
        os.makedirs(d)
        for f, v in (("name", name), ("max_energy_range_uj", "262143328850"), ("energy_uj", "1000000")):
            with open(os.path.join(d, f), "w") as fh:
                fh.write(v + "\n")
    return root


def with_env(root):
    if root:
        os.environ["JP_SYSFS_ROOT"] = root
    else:
        os.environ.pop("JP_SYSFS_ROOT", None)


def pairs_window(make, n):
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        with make():
            pass
    return (time.perf_counter() - w0) / n, (time.process_time() - c0) / n


def sleep_window(make, seconds):
    w0, c0 = time.perf_counter(), time.process_time()
    with make():
        time.sleep(seconds)
    return time.process_time() - c0, time.perf_counter() - w0


def fmt(vals, scale, unit, digits=1):
    m = statistics.median(vals) * scale
    return "%.*f %s (%.*f .. %.*f)" % (digits, m, unit, digits, min(vals) * scale, digits, max(vals) * scale)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--pairs", type=int, default=50)
    a = ap.parse_args()
    tree = fake_tree()
    load0 = " ".join(open("/proc/loadavg").read().split()[:3])
    try:
        sources = [("model", None, "model"), ("rapl-powercap (fake tree)", tree, "rapl-powercap")]
        null = contextlib.nullcontext
        enter = {name: [] for name, _, _ in sources}
        enter_cpu = {name: [] for name, _, _ in sources}
        samp = {name: [] for name, _, _ in sources}
        base_pairs, base_pairs_cpu, base_sleep = [], [], []
        for rep in range(a.reps + 1):  # rep 0: warm-up, not kept
            bw, bc = pairs_window(null, a.pairs)
            bs, _ = sleep_window(null, a.window)
            if rep:
                base_pairs.append(bw)
                base_pairs_cpu.append(bc)
                base_sleep.append(bs)
            for name, root, src in sources:
                with_env(root)
                make = lambda: jouleprint.Tracker(source=src, interval="100ms")  # noqa: E731
                w, c = pairs_window(make, a.pairs)
                s, wall = sleep_window(make, a.window)
                if rep:
                    enter[name].append(w - bw)
                    enter_cpu[name].append(c - bc)
                    samp[name].append((s - bs) / wall)
        with_env(None)
    finally:
        shutil.rmtree(tree, ignore_errors=True)

    print("python %s (%s), libjouleprint %s at %s" % (platform.python_version(), sys.executable,
                                                     jouleprint.library_info()["version"],
                                                     jouleprint.library_info()["path"]))
    print("load average before and after: %s .. %s (2 cores: wall times above the CPU times are waits for a CPU)"
          % (load0, " ".join(open("/proc/loadavg").read().split()[:3])))
    print("baselines (median): nullcontext pair %.2f us wall; %.1f s sleep %.4f ms CPU"
          % (statistics.median(base_pairs) * 1e6, a.window, statistics.median(base_sleep) * 1e3))
    print()
    print("| source | enter+leave, wall | enter+leave, CPU | sampling at 100 ms, % of one core | targets met |")
    print("|---|---:|---:|---:|---|")
    for name, _, _ in sources:
        ok = statistics.median(enter[name]) < 1e-3 and statistics.median(samp[name]) < 0.005
        print("| %s | %s | %s | %s | %s |" % (name, fmt(enter[name], 1e3, "ms", 3), fmt(enter_cpu[name], 1e3, "ms", 3),
                                             fmt(samp[name], 100, "%", 3), "yes" if ok else "**no**"))


if __name__ == "__main__":
    main()
