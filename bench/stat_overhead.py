#!/usr/bin/env python3
"""What `jouleprint stat` itself costs while it measures a command: the tool's own CPU time.

    /usr/bin/python3 bench/stat_overhead.py [--rounds 10] [--seconds 5] build/jouleprint

Each run is `jouleprint stat --interval I --json -o - -- sleep S` (the report on standard output, which
this script sends to a file), spawned by this script and reaped with wait4, whose rusage is the CPU
time of jouleprint and of everything it waited for (its `sleep`). The tool reports the command's own
CPU time (`attribution.tree_cpu_s`, from its own wait4 of the command), so the tool's cost is the
difference, run by run: no baseline from another run is subtracted. `stat --export-json FILE -- true`
is measured too (the report written atomically: a temporary file, fsync, rename). It is given in ms and in % of one core over the run's measured duration. `stat -- true`
is measured the same way (the fixed cost of a measurement: start, meter, thread, report). Rounds
interleave the configurations in a rotating order; medians with quartiles. CPU time, not wall time, so
a busy machine slows the runs down but hardly moves the figures (issue 19's targets: under 0.3% of a
core at 100 ms, under 1% at 10 ms, `stat -- true` under 5 ms).
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

from startup_cost import cpu_ms  # bench/, beside this script


def run(binary, args, out):
    """The tool's own CPU for one run. With args starting "--export-json", the report is the file that
    option writes (atomically: a temporary file, fsync, rename); otherwise `--json -o -`, the report on
    standard output, which this script sends to a plain file (no fsync, no rename: as a pipe)."""
    if args[0] == "--export-json":
        argv, stdout_path = [binary, "stat", "--export-json", out] + args[1:], None
    else:
        argv, stdout_path = [binary, "stat", "--json", "-o", "-"] + args, out
    whole_ms = cpu_ms(argv, "stat_overhead", stdout_path)
    with open(out) as f:
        d = json.load(f)
    return whole_ms - d["attribution"]["tree_cpu_s"] * 1e3, d["duration_s"]


def quartiles(v, fmt):
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0], v[0], v[0]]
    return (fmt + " (" + fmt + " .. " + fmt + ")") % (statistics.median(v), q[0], q[2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=5.0)
    a = ap.parse_args()
    if a.rounds < 1 or not 0 < a.seconds <= 600:
        sys.exit("stat_overhead: --rounds must be at least 1 and --seconds in (0, 600]")
    b = os.path.abspath(a.binary)
    s = "%g" % a.seconds
    jobs = [("stat -- true", ["--", "true"]),
            ("stat --export-json FILE -- true", ["--export-json", "--", "true"]),
            ("stat --interval 100ms -- sleep " + s, ["--interval", "100ms", "--", "sleep", s]),
            ("stat --interval 10ms -- sleep " + s, ["--interval", "10ms", "--", "sleep", s])]
    res = {name: [] for name, _ in jobs}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        for r in range(a.rounds + 1):  # round 0 warms the page cache, not kept
            k = r % len(jobs)
            for name, args in jobs[k:] + jobs[:k]:
                ms, dur = run(b, args, out)
                if r:
                    res[name].append((ms, dur))
            print("round %d of %d done" % (r, a.rounds), file=sys.stderr)
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    print("%d rounds, %s, load average %s at the end" % (a.rounds, b, load))
    print()
    print("| command | tool's own CPU | % of one core over the run |")
    print("|---|---:|---:|")
    for name, _ in jobs:
        ms = [m for m, _ in res[name]]
        pct = [100 * m / 1e3 / d for m, d in res[name]]
        print("| `jouleprint %s` | %s | %s |" % (name, quartiles(ms, "%.2f ms"),
                                                 "-" if "true" in name else quartiles(pct, "%.3f%%")))


if __name__ == "__main__":
    main()
