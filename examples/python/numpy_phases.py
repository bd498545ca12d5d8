#!/usr/bin/env python3
"""A NumPy workload measured in phases with the jouleprint Python binding.

    python3 examples/python/numpy_phases.py [--region R] [--output emissions.csv] [--size N]

Three phases: "setup" draws two random N x N matrices, "matmul" multiplies them ten times, "solve"
solves a linear system with them. Prints each phase's energy, time and carbon, and the total; on a
machine with no energy counter every figure is the power model's estimate and is marked so. With
--output, a CodeCarbon-compatible row is appended to that emissions.csv.

Needs NumPy (Debian: python3-numpy, for /usr/bin/python3) and libjouleprint (see the README's "From
Python"); from a source checkout it runs as is, finding the package in python/ and the library in build/.
"""
import argparse
import os
import sys

try:
    import jouleprint
except ImportError:  # a source checkout: the package next door
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    import jouleprint

import numpy as np


def fmt_j(j):
    return "%.3g kJ" % (j / 1e3) if j >= 1e3 else "%.3g J" % j if j >= 1 else "%.3g mJ" % (j * 1e3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--region", default=None, help="carbon region (default $JP_REGION, else the world average)")
    ap.add_argument("--output", default=None, help="append a CodeCarbon-compatible row to this emissions.csv")
    ap.add_argument("--size", type=int, default=600, help="matrix size N (default 600)")
    a = ap.parse_args()
    if not 2 <= a.size <= 20000:
        sys.exit("numpy_phases.py: --size %d: expected 2 to 20000" % a.size)

    with jouleprint.Tracker(region=a.region, output=a.output, project="numpy-phases") as t:
        t.phase("setup")
        rng = np.random.default_rng(1)
        x = rng.standard_normal((a.size, a.size))
        y = rng.standard_normal((a.size, a.size))
        t.phase("matmul")
        z = x
        for _ in range(10):
            z = (z @ y) / a.size
        t.phase("solve")
        sol = np.linalg.solve(x + a.size * np.eye(a.size), y)
    check = float(np.abs(z).sum() + np.abs(sol).sum())

    mark = " (estimated)" if t.estimated else ""
    print("numpy workload, %d x %d (checksum %.6g), region %s (%.1f gCO2e/kWh)"
          % (a.size, a.size, check, t.region, t.intensity["g_per_kwh"]))
    for name, p in t.phases.items():
        print("  %-8s %10s  %8.3f s  %.3g mg CO2e%s" % (name, fmt_j(p["energy_j"]), p["duration_s"],
                                                        p["carbon_g"] * 1e3, mark))
    print("  %-8s %10s  %8.3f s  %.3g mg CO2e%s" % ("total", fmt_j(t.energy_j), t.duration_s, t.carbon_g * 1e3,
                                                    mark.upper()))
    print("  sources: " + ", ".join("%s (%s)" % (n, d["source"]) for n, d in t.domains.items()))
    if t.estimated:
        print("  ESTIMATED: no energy counter could be read here; the power model's figures (see `jouleprint sources`)")
    if a.output:
        print("  appended run %s to %s" % (t.run_id, a.output))


if __name__ == "__main__":
    main()
