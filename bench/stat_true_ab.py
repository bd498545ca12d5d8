#!/usr/bin/env python3
"""A/B of `jouleprint stat --json -o - -- true` between builds: the tool's own CPU, run after run.

    /usr/bin/python3 bench/stat_true_ab.py ROUNDS [--run "STAT ARGS -- COMMAND"] NAME=BINARY [NAME=BINARY ...]
    e.g. bench/stat_true_ab.py 200 before=../base/build/jouleprint after=build/jouleprint
         bench/stat_true_ab.py 40 --run "--interval 100ms -- sleep 1" before=... after=...

--run replaces `-- true` (what follows `stat --json -o -`), for a command that runs long enough to be
sampled.

The tool's own CPU is wait4's rusage (user + system) of the jouleprint process minus the command's CPU
that the tool reports (attribution.tree_cpu_s), as bench/stat_overhead.py takes it; minflt is of the
tool and its reaped `true` together. Every round runs every binary once, in a rotating order, back to
back (warm caches; stat_overhead.py's `stat -- true` follows 5-s sleeps instead); the first round is
a warm-up. Medians with quartiles, and each binary's ratio to the first's. NAME=BINARY@VAR=VALUE runs
that binary with one environment variable set."""
import json, os, shlex, statistics, sys, tempfile

def run(binary, out, env):
    argv = [binary, "stat", "--json", "-o", "-"] + RUN
    devnull = os.open(os.devnull, os.O_WRONLY)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    os.close(fd); os.close(devnull)
    _, st, ru = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 0
    d = json.load(open(out))
    return (ru.ru_utime + ru.ru_stime) * 1e3 - d["attribution"]["tree_cpu_s"] * 1e3, ru.ru_minflt

def q(v):
    qs = statistics.quantiles(v, n=4)
    return statistics.median(v), qs[0], qs[2]

rounds = int(sys.argv[1])
args = sys.argv[2:]
RUN = ["--", "true"]
if len(args) >= 2 and args[0] == "--run":
    RUN = shlex.split(args[1])
    args = args[2:]
bins = []
envs = {}
for a in args:
    n, b = a.split("=", 1)
    e = dict(os.environ)
    if "@" in b:
        b, kv = b.split("@", 1)
        k, v = kv.split("=", 1)
        e[k] = v
    bins.append((n, b)); envs[n] = e
res = {n: [] for n, _ in bins}
flt = {n: [] for n, _ in bins}
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "r.json")
    for r in range(rounds + 1):
        k = r % len(bins)
        for n, b in bins[k:] + bins[:k]:
            ms, f = run(os.path.abspath(b), out, envs[n])
            if r:
                res[n].append(ms); flt[n].append(f)
load = " ".join(open("/proc/loadavg").read().split()[:3])
print("%d rounds of `stat --json -o - %s`, load average %s at the end" % (rounds, " ".join(RUN), load))
base = statistics.median(res[bins[0][0]])
for n, b in bins:
    m, lo, hi = q(res[n])
    print("%-12s %6.2f ms (%.2f .. %.2f)  ratio %.3f  minflt median %d   %s" % (n, m, lo, hi, m / base, statistics.median(flt[n]), b))
