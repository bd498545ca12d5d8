#!/usr/bin/env python3
"""What starting the tool costs: CPU time of short jouleprint commands, as the kernel accounts it.

    /usr/bin/python3 bench/startup_cost.py [--rounds 40] [--baseline OTHER/jouleprint] build/jouleprint

Each command runs to completion as a child of this script, and its CPU time (user + system, the child
and everything it waited for, from wait4's rusage) is taken; `stat -- true` includes the `true` that
it runs, so `true` alone is measured in the same rounds and its median is given beside it (the tool's
own cost is the difference). Rounds interleave every command of every binary (a round runs each once,
in a rotating order), so that both binaries see the same neighbours on a shared machine; figures are
medians with the middle half (quartiles). CPU time, not wall time: on a loaded machine wall time
is mostly waiting for a CPU. Also prints the shared libraries each binary loads for `stat -- true`.
"""
import argparse
import os
import statistics
import subprocess
import sys

COMMANDS = [["--version"], ["stat", "--", "true"], ["sources"], ["carbon", "--energy", "1kWh", "--region", "Oregon"]]


def cpu_ms(argv, who="startup_cost", stdout_path=None):
    """Runs argv to completion (output to /dev/null, or its standard output to the file stdout_path) and
    returns its CPU time in ms, user + system, of it and everything it waited for (wait4's rusage);
    exits naming `who` if the command fails."""
    # posix_spawn (vfork-like in glibc): a fork of this Python process would charge the copy of its
    # page tables to the child and swamp the figures
    devnull = os.open(os.devnull, os.O_WRONLY)
    out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if stdout_path else devnull
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    finally:
        os.close(devnull)
        if out != devnull:
            os.close(out)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("%s: %s exited with %d" % (who, " ".join(argv), os.waitstatus_to_exitcode(status)))
    return (ru.ru_utime + ru.ru_stime) * 1e3


def libraries(binary):
    env = dict(os.environ, LD_DEBUG="files")
    out = subprocess.run([binary, "stat", "--", "true"], env=env, capture_output=True, text=True).stderr
    return len({line.split("file=")[1].split()[0] for line in out.splitlines()
                if "file=" in line and "generating link map" in line and "[0]" in line})


def quartiles(v):
    q = statistics.quantiles(v, n=4)
    return "%.2f ms (%.2f .. %.2f)" % (statistics.median(v), q[0], q[2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--baseline", help="another jouleprint binary to compare, interleaved")
    ap.add_argument("--rounds", type=int, default=40)
    a = ap.parse_args()
    bins = [os.path.abspath(a.binary)] + ([os.path.abspath(a.baseline)] if a.baseline else [])
    jobs = [(b, c) for b in bins for c in COMMANDS] + [(None, ["/bin/true"])]
    res = {(b, tuple(c)): [] for b, c in jobs}
    for r in range(a.rounds + 1):  # round 0 warms the page cache, not kept
        k = r % len(jobs)
        for b, c in jobs[k:] + jobs[:k]:
            ms = cpu_ms(([b] + c) if b else c)
            if r:
                res[(b, tuple(c))].append(ms)
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    true_ms = statistics.median(res[(None, ("/bin/true",))])
    print("%d rounds, load average %s at the end; /bin/true alone: %s" % (a.rounds, load,
                                                                         quartiles(res[(None, ("/bin/true",))])))
    print()
    print("| command | " + " | ".join("%s (%d libraries at `stat -- true`)" % (b, libraries(b)) for b in bins) +
          (" | ratio |" if len(bins) == 2 else ""))
    print("|---|" + "---:|" * (len(bins) + (1 if len(bins) == 2 else 0)))
    for c in COMMANDS:
        meds = [statistics.median(res[(b, tuple(c))]) for b in bins]
        cells = [quartiles(res[(b, tuple(c))]) for b in bins]
        if c[0] == "stat":
            cells = ["%s; %.2f ms without `true`" % (cell, m - true_ms) for cell, m in zip(cells, meds)]
        ratio = [" %.2fx |" % (meds[1] / meds[0])] if len(bins) == 2 else []
        print("| `jouleprint %s` | %s |%s" % (" ".join(c), " | ".join(cells), "".join(ratio)))


if __name__ == "__main__":
    main()
