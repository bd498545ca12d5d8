#!/usr/bin/python3
"""Load figures for `jouleprint serve` (BENCHMARKS.md, "The exporter under load").

    /usr/bin/python3 bench/serve_load.py [--jp build/jouleprint] [--rounds 3] [--window 20]
                                         [--skip-wrk] [--skip-churn]

1. Throughput: wrk, 2 threads and 50 connections on loopback for 60 s against /metrics: requests
   per second and the p99 latency as wrk reports them.
2. CPU: the exporter's CPU time (utime + stime from /proc/PID/stat) over windows of --window
   seconds at a 1 s sampling interval, with no scrapes (A) and with one scrape a second (B),
   interleaved A B A B ... for --rounds rounds; medians of each and their ratio.
3. Memory under cgroup churn: the exporter at a 20 ms interval over a fake cgroup tree while 5
   containers are created and 5 removed every 20 ms, 3,600 times (the churn of an hour of 1 s
   samples, compressed); VmRSS every 600 rounds.

Every exporter here runs over a fake cgroup tree (JP_CGROUP_ROOT: 100 services, 20 containers) so
that the exposition has its full size (top 20 series and "other"), and over this machine's own
energy sources. Loopback only.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")


def make_tree(root, services=100, containers=20):
    os.makedirs(root, exist_ok=True)
    open(os.path.join(root, "cgroup.controllers"), "w").write("cpu memory\n")
    for i in range(services):
        d = os.path.join(root, "system.slice", "svc%03d.service" % i)
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "cpu.stat"), "w").write("usage_usec %d\n" % (1000 * (i + 1)))
    for i in range(containers):
        d = os.path.join(root, "system.slice", "docker-%064x.scope" % i)
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "cpu.stat"), "w").write("usage_usec 5000\n")


class Serve:
    def __init__(self, jp, cgroot, interval, logdir):
        env = dict(os.environ, JP_CGROUP_ROOT=cgroot)
        self.log = os.path.join(logdir, "serve-%s.log" % interval)
        self.p = subprocess.Popen([jp, "serve", "--listen", "127.0.0.1:0", "--interval", interval],
                                  stderr=open(self.log, "w"), stdout=subprocess.DEVNULL, env=env)
        deadline = time.time() + 60
        self.port = None
        while time.time() < deadline and self.port is None:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", open(self.log).read())
            if m:
                self.port = int(m.group(1))
            elif self.p.poll() is not None:
                sys.exit("serve exited: " + open(self.log).read())
            else:
                time.sleep(0.05)
        if self.port is None:
            sys.exit("serve did not listen in 60 s")
        self.url = "http://127.0.0.1:%d/metrics" % self.port

    def cpu_s(self):
        f = open("/proc/%d/stat" % self.p.pid).read()
        fields = f[f.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / HZ

    def rss_kb(self):
        for line in open("/proc/%d/status" % self.p.pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return -1

    def scrape(self):
        with urllib.request.urlopen(self.url, timeout=10) as r:
            return r.read().decode()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=30)


def wrk(serve):
    out = subprocess.run(["wrk", "-t2", "-c50", "-d60s", "--latency", serve.url], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, int(errors.group(1)) if errors else 0, out


def cpu_windows(serve, rounds, window):
    a, b = [], []
    for _ in range(rounds):
        for kind in ("A", "B"):
            c0, t0 = serve.cpu_s(), time.monotonic()
            next_t = t0
            while time.monotonic() - t0 < window:
                if kind == "B" and time.monotonic() >= next_t:
                    serve.scrape()
                    next_t += 1.0
                time.sleep(0.05)
            share = (serve.cpu_s() - c0) / (time.monotonic() - t0)
            (a if kind == "A" else b).append(share)
            print("  window %s: %.3f%% of one CPU" % (kind, 100 * share), flush=True)
    return a, b


def churn(serve, cgroot, rounds=3600, per=5):
    live, rss, n = [], [], 0
    for r in range(rounds):
        for _ in range(per):
            d = os.path.join(cgroot, "system.slice", "docker-%064x.scope" % (1 << 60 | n))
            n += 1
            os.makedirs(d)
            open(os.path.join(d, "cpu.stat"), "w").write("usage_usec %d\n" % (1000 + r))
            live.append(d)
        while len(live) > 4 * per:
            shutil.rmtree(live.pop(0))
        if r % 600 == 0 or r == rounds - 1:
            rss.append((r, serve.rss_kb()))
            print("  after %4d rounds (%5d containers made): VmRSS %d kB" % (r, n, rss[-1][1]), flush=True)
        time.sleep(0.02)
    return rss, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jp", default="build/jouleprint")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--skip-wrk", action="store_true")
    ap.add_argument("--skip-churn", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="jp-serve-bench-")
    try:
        cg = os.path.join(tmp, "cgroup")
        make_tree(cg)
        print("machine: %s; load average %s" % (os.uname().nodename, open("/proc/loadavg").read().split()[:3]))
        s = Serve(args.jp, cg, "1s", tmp)
        size = len(s.scrape())
        print("exposition: %d bytes (text format)" % size)
        if not args.skip_wrk:
            rps, p99, errors, out = wrk(s)
            print("wrk -t2 -c50 -d60s: %.0f requests/s, p99 %.2f ms, non-2xx %d" % (rps, p99, errors))
            print(out)
        print("CPU at 1 s sampling, %d rounds of %.0f s windows (A: no scrapes, B: 1 scrape/s):" %
              (args.rounds, args.window))
        a, b = cpu_windows(s, args.rounds, args.window)
        ma, mb = statistics.median(a), statistics.median(b)
        print("median A %.3f%%, median B %.3f%% of one CPU; B/A %.2f" % (100 * ma, 100 * mb, mb / ma if ma else float("nan")))
        s.stop()
        if args.skip_churn:
            return
        s = Serve(args.jp, cg, "20ms", tmp)
        time.sleep(1)
        print("memory under churn (5 containers made and 5 removed every 20 ms, interval 20 ms):")
        rss, made = churn(s, cg)
        body = s.scrape()
        tracked = re.search(r"^jouleprint_cgroups (\d+)", body, re.M).group(1)
        samples = re.search(r"^jouleprint_samples_total (\d+)", body, re.M).group(1)
        print("  %d containers made; %s samples; cgroups tracked at the end: %s; VmRSS first %d kB, last %d kB, max %d kB"
              % (made, samples, tracked, rss[0][1], rss[-1][1], max(r for _, r in rss)))
        s.stop()
        print(open(s.log).read())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
