#!/usr/bin/env python3
"""Attributed against whole-machine energy per item, with and without busy neighbours (issue 14).

The study's classification and OCR tasks (a stated subset: fewer models and items than the study, so
that one window takes minutes on two cores), each window one `jouleprint bench` session with its repeats
round-robin across the models. Windows alternate: quiet (no neighbour of ours) and busy (two
`yes > /dev/null` processes started just before the session and killed just after), A B A B ... so that
slow drift of the machine's other load reaches both conditions alike. Per model and condition: the
median over windows of the attributed energy per item and of the whole machine's; then busy / quiet for
each. The whole-machine figure is what every comparison used before this change.

    bench/attribution_neighbours.py [--windows N] [--images N] [--lines N] [--jouleprint build/jouleprint]
                                    [--out FILE.json]
    bench/attribution_neighbours.py --from FILE.json      # the table again, from a saved run

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
    time: @IMAGES@
    score: @IMAGES@
    scorer: accuracy
    models:
      - {name: mlp, builtin: classify, options: {model: mlp, threads: 2}}
      - {name: cnn, builtin: classify, options: {model: cnn, threads: 2}}
      - {name: resnet-s, builtin: classify, options: {model: resnet-s, threads: 2}}
  - name: ocr
    time: @LINES@
    score: @LINES@
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


def report(wins, images, lines, host):
    """One line per model: medians over the windows of each condition, their ratio, and the verdict.

    A model agrees when its busy median lies within 15% of its quiet median, or within the quiet windows'
    95% interval of the attributed energy per item (the median of those windows' lower and upper bounds:
    each window's interval is over its 3 runs)."""
    names = list(wins[0]["models"].keys())
    print("machine: %s" % host)
    print("energy source: %s; %d windows (%d quiet, %d busy), 3 round-robin runs per model each, "
          "%d images and %d lines per run" %
          (wins[0]["sources"], len(wins), sum(not w["busy"] for w in wins), sum(w["busy"] for w in wins), images,
           lines))
    print("%-28s %11s %19s %11s %6s   %12s %12s %6s   %6s  %s" %
          ("model", "attr quiet", "(interval)", "attr busy", "ratio", "machine quiet", "machine busy", "ratio",
           "other", "agrees"))
    agree = 0
    for n in names:
        def vals(cond, key):
            return [w["models"][n][key] for w in wins if w["busy"] == cond and n in w["models"]
                    and w["models"][n][key] is not None]

        def med(cond, key):
            v = vals(cond, key)
            return statistics.median(v) if v else float("nan")
        aq, ab, mq, mb = med(False, "attributed"), med(True, "attributed"), med(False, "machine"), med(True, "machine")
        cis = vals(False, "attributed_ci")
        lo = statistics.median(c["lo"] for c in cis) if cis else float("nan")
        hi = statistics.median(c["hi"] for c in cis) if cis else float("nan")
        oth = med(True, "other_share")
        within15 = abs(ab / aq - 1) <= 0.15
        inside = lo <= ab <= hi
        ok = within15 or inside
        agree += ok
        print("%-28s %8.3f mJ (%7.3f-%7.3f mJ) %8.3f mJ %6.2f   %9.3f mJ %9.3f mJ %6.2f   %5.0f%%  %s" %
              (n, aq * 1e3, lo * 1e3, hi * 1e3, ab * 1e3, ab / aq, mq * 1e3, mb * 1e3, mb / mq, oth * 100,
               "yes (within 15%)" if within15 else "yes (within the interval)" if inside else "NO"))
    print("%d of %d models agree between quiet and busy windows" % (agree, len(names)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--windows", type=int, default=4, help="windows in all (quiet and busy alternate)")
    ap.add_argument("--jouleprint", default="build/jouleprint")
    ap.add_argument("--out")
    ap.add_argument("--from", dest="from_json", metavar="FILE.json",
                    help="print the table again from a file that --out wrote, running nothing")
    ap.add_argument("--images", type=int, default=300,
                    help="images per classification run (a run of well under a second is a few 10 ms jiffies of "
                         "CPU time, which makes its share of the machine coarse)")
    ap.add_argument("--lines", type=int, default=40, help="text lines per OCR run")
    a = ap.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            saved = json.load(f)
        report(saved["windows"], saved.get("images", 0), saved.get("lines", 0), saved["machine"])
        return
    jp = os.path.abspath(a.jouleprint)
    with tempfile.TemporaryDirectory(prefix="jp-neigh-") as d:
        spec = os.path.join(d, "spec.yaml")
        with open(spec, "w") as f:
            f.write(SPEC.replace("@IMAGES@", str(a.images)).replace("@LINES@", str(a.lines)))
        wins = []
        for k in range(a.windows):
            busy = k % 2 == 1
            w = window(jp, spec, busy, os.getcwd())
            print("window %d (%s): %.0f s, load before %.2f" % (k + 1, "busy" if busy else "quiet", w["seconds"],
                                                               w["load_before"]), file=sys.stderr)
            wins.append(w)
    report(wins, a.images, a.lines, machine())
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"machine": machine(), "images": a.images, "lines": a.lines, "windows": wins}, f, indent=1)


if __name__ == "__main__":
    main()
