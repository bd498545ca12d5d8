#!/usr/bin/env python3
"""Attributed against whole-machine energy per item, with and without busy neighbours (issue 14).

The study's classification and OCR tasks (a stated subset: fewer models and items than the study, so
that one window takes minutes on two cores), each window one `jouleprint bench` session with its repeats
round-robin across the models. Windows alternate: quiet (no neighbour of ours) and busy (two
`yes > /dev/null` processes started just before the session and killed just after), A B A B ... so that
slow drift of the machine's other load reaches both conditions alike. Per model and condition: the
median over windows of the attributed energy per item and of the whole machine's; then busy / quiet for
each. The whole-machine figure is what every comparison used before this change.

    bench/attribution_neighbours.py [--windows N] [--jouleprint build/jouleprint] [--out FILE.json]

Prints one table; --out writes every window's figures as JSON.
"""
import argparse
import json
import os
import platform
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import time

SPEC = """\
# issue 14's neighbour benchmark: the study's tasks, a subset
project: 100000000
repeats: 3
warmup: 0
timeout: 20min
tasks:
  - name: image-classification
    time: 300
    score: 300
    scorer: accuracy
    models:
      - {name: mlp, builtin: classify, options: {model: mlp, threads: 2}}
      - {name: cnn, builtin: classify, options: {model: cnn, threads: 2}}
      - {name: resnet-s, builtin: classify, options: {model: resnet-s, threads: 2}}
  - name: ocr
    time: 40
    score: 40
    scorer: ocr
    models:
      - {name: eng-fast, builtin: ocr, options: {model: eng-fast, threads: 2}}
      - {name: eng-best, builtin: ocr, options: {model: eng-best, threads: 2}}
"""


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs, %s" % (cpu, os.cpu_count() or 0, platform.platform())


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def window(jp, spec, busy, workdir):
    neighbours = []
    if busy:
        # /dev/null must be the device: yes into a regular file of that name fills the disk (or /dev)
        if not stat.S_ISCHR(os.stat("/dev/null").st_mode):
            sys.exit("/dev/null is not a character device here: refusing to start the neighbours")
        for _ in range(2):
            neighbours.append(subprocess.Popen(["yes"], stdout=subprocess.DEVNULL, start_new_session=True))
        time.sleep(1.0)
    load0 = loadavg()
    t0 = time.time()
    try:
        r = subprocess.run([jp, "bench", "--no-store", "--format", "json", spec], capture_output=True, text=True,
                           cwd=workdir)
    finally:
        for p in neighbours:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    if r.returncode not in (0, 4):
        sys.exit("jouleprint bench failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
    run = json.loads(r.stdout)
    out = {"busy": busy, "seconds": time.time() - t0, "load_before": load0, "sources": run.get("sources"),
           "models": {}}
    for task in run["tasks"]:
        for m in task["models"]:
            if m["status"] != "ok":
                continue
            out["models"]["%s/%s" % (task["name"], m["name"])] = {
                "machine": m["j_per_item"],
                "attributed": m.get("attributed_j_per_item"),
                "attributed_ci": m.get("compared_ci95"),
                "cpu_share": m.get("cpu_share"),
                "other_share": m.get("other_share"),
            }
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--windows", type=int, default=4, help="windows in all (quiet and busy alternate)")
    ap.add_argument("--jouleprint", default="build/jouleprint")
    ap.add_argument("--out")
    a = ap.parse_args()
    jp = os.path.abspath(a.jouleprint)
    with tempfile.TemporaryDirectory(prefix="jp-neigh-") as d:
        spec = os.path.join(d, "spec.yaml")
        with open(spec, "w") as f:
            f.write(SPEC)
        wins = []
        for k in range(a.windows):
            busy = k % 2 == 1
            w = window(jp, spec, busy, os.getcwd())
            print("window %d (%s): %.0f s, load before %.2f" % (k + 1, "busy" if busy else "quiet", w["seconds"],
                                                               w["load_before"]), file=sys.stderr)
            wins.append(w)
    names = list(wins[0]["models"].keys())
    print("machine: %s" % machine())
    print("energy source: %s; %d windows (%d quiet, %d busy), 3 round-robin runs per model each" %
          (wins[0]["sources"], len(wins), sum(not w["busy"] for w in wins), sum(w["busy"] for w in wins)))
    print("%-28s %12s %12s %7s   %12s %12s %7s   %s" % ("model", "attr quiet", "attr busy", "ratio", "machine quiet",
                                                       "machine busy", "ratio", "other CPU (busy)"))
    for n in names:
        def med(cond, key):
            v = [w["models"][n][key] for w in wins if w["busy"] == cond and n in w["models"]
                 and w["models"][n][key] is not None]
            return statistics.median(v) if v else float("nan")
        aq, ab, mq, mb = med(False, "attributed"), med(True, "attributed"), med(False, "machine"), med(True, "machine")
        oth = med(True, "other_share")
        print("%-28s %9.3f mJ %9.3f mJ %7.2f   %9.3f mJ %9.3f mJ %7.2f   %.0f%%" %
              (n, aq * 1e3, ab * 1e3, ab / aq, mq * 1e3, mb * 1e3, mb / mq, oth * 100))
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"machine": machine(), "windows": wins}, f, indent=1)


if __name__ == "__main__":
    main()
