"""The jouleprint Python binding on the fake powercap tree the C tests use (JP_SYSFS_ROOT): counters
that the test steps by known energies at known times, so that every figure can be checked; the
emissions.csv row read back with the csv module; the decorator, an exception in the body, two trackers
at once, a failing source, and a library too old for the package.

Run by ctest (tests/CMakeLists: python_binding_*) once for Debian's /usr/bin/python3 and once for the
`python3` first on PATH where that is another interpreter; JOULEPRINT_LIBRARY names the library built,
JP_CLI the tool, JP_TEST_OLD_LIB a library that reports ABI 0. The first line printed says which
interpreter ran.
"""

import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import jouleprint  # noqa: E402

CODECARBON_COLUMNS = [
    "timestamp", "project_name", "run_id", "duration", "emissions", "emissions_rate", "cpu_power", "gpu_power",
    "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "country_name", "country_iso_code",
    "region", "cloud_provider", "cloud_region", "os", "python_version", "codecarbon_version", "cpu_count",
    "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude", "ram_total_size", "tracking_mode", "on_cloud",
    "pue"]
OUR_COLUMNS = ["jp_estimated", "jp_sources", "jp_energy_j", "jp_intensity_g_per_kwh", "jp_intensity_source",
               "jp_region", "jp_phases", "jp_version"]

PKG_W, DRAM_W = 20.0, 5.0


def write_atomic(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.tmp%d.%d" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


class FakeTree:
    """A powercap tree with package-0 and dram-0 whose counters the test sets. The counter files keep
    one width (zero-padded) and are rewritten in place by one pwrite, which takes microseconds, so that
    the meter reads the new value right after the test's clock reading it stands for."""

    WIDTH = 20

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="jp-py-")
        self.pkg_j, self.dram_j = 100.0, 10.0
        self.fds = []
        for zone, name in (("intel-rapl:0", "package-0"), ("intel-rapl:0:0", "dram")):
            d = os.path.join(self.root, "class/powercap", zone)
            write_atomic(os.path.join(d, "name"), name + "\n")
            write_atomic(os.path.join(d, "max_energy_range_uj"), "262143328850\n")
            self.fds.append(os.open(os.path.join(d, "energy_uj"), os.O_RDWR | os.O_CREAT, 0o644))
        self.write()

    def write(self):
        for fd, j in zip(self.fds, (self.pkg_j, self.dram_j)):
            os.pwrite(fd, b"%0*d\n" % (self.WIDTH, round(j * 1e6)), 0)

    def add(self, pkg_j, dram_j):
        self.pkg_j += pkg_j
        self.dram_j += dram_j
        self.write()

    def remove(self):
        for fd in self.fds:
            os.close(fd)
        shutil.rmtree(self.root, ignore_errors=True)


def near(test, got, want, rel, what):
    test.assertLessEqual(abs(got - want), rel * abs(want), "%s: got %.6g, expected %.6g within %g%%"
                         % (what, got, want, rel * 100))


class FakeTreeTest(unittest.TestCase):
    def setUp(self):
        self.tree = FakeTree()
        self.old_env = {k: os.environ.get(k) for k in ("JP_SYSFS_ROOT", "JP_REGION")}
        os.environ["JP_SYSFS_ROOT"] = self.tree.root
        os.environ.pop("JP_REGION", None)
        self.dir = tempfile.mkdtemp(prefix="jp-py-out-")

    def tearDown(self):
        for k, v in self.old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self.tree.remove()
        shutil.rmtree(self.dir, ignore_errors=True)

    def tracker(self, **kw):
        kw.setdefault("source", "rapl-powercap")
        kw.setdefault("interval", "20ms")
        return jouleprint.Tracker(**kw)

    def test_known_power_whole_and_phases(self):
        """The tracker's figures for a known energy over each phase: the joules the test adds to the
        counters between phase boundaries (read by the boundaries themselves, so exact however the
        process is scheduled), and power as those joules over the meter's own durations, which are
        at least the time the test waited in each phase."""
        t = self.tracker(region="FR")
        t.start()
        t.phase("load")
        # 0.2 s worth at PKG_W and DRAM_W, added at once after 0.2 s (the meter judges a change over
        # the time since the counter last moved: at most the mean power, not a glitch)
        time.sleep(0.2)
        self.tree.add(PKG_W * 0.2, DRAM_W * 0.2)
        time.sleep(0.05)
        t.phase("infer")
        time.sleep(0.2)
        self.tree.add(PKG_W * 0.4, DRAM_W * 0.4)
        time.sleep(0.05)
        t.stop()
        want = {"load": (PKG_W + DRAM_W) * 0.2, "infer": (PKG_W + DRAM_W) * 0.4}
        near(self, t.energy_j, sum(want.values()), 1e-9, "whole: energy")
        near(self, t.domains["package-0"]["energy_j"], PKG_W * 0.6, 1e-9, "package-0 energy")
        near(self, t.domains["dram-0"]["energy_j"], DRAM_W * 0.6, 1e-9, "dram-0 energy")
        self.assertGreaterEqual(t.duration_s, 0.5)
        for name in ("package-0", "dram-0"):
            d = t.domains[name]
            near(self, d["mean_power_w"], d["energy_j"] / t.duration_s, 1e-12, "%s power" % name)
        for name in ("load", "infer"):
            p = t.phases[name]
            self.assertGreaterEqual(p["duration_s"], 0.25)
            near(self, p["energy_j"], want[name], 1e-9, "phase %s: energy" % name)
        near(self, sum(p["duration_s"] for p in t.phases.values()), t.duration_s, 1e-9, "phases' durations")
        self.assertFalse(t.estimated)
        self.assertEqual(sorted(t.domains), ["dram-0", "package-0"])
        self.assertEqual(t.domains["package-0"]["source"], "rapl-powercap")
        # the phases add up to the whole, and so does the carbon
        near(self, sum(p["energy_j"] for p in t.phases.values()), t.energy_j, 1e-9, "sum of phases")
        near(self, t.carbon_g, t.energy_j / 3.6e6 * t.intensity["g_per_kwh"], 1e-9, "carbon")
        self.assertEqual(t.region, "FR")
        d = t.to_dict()
        self.assertEqual(d["energy_j"], t.energy_j)
        self.assertEqual([x["name"] for x in d["domains"]], ["package-0", "dram-0"])
        self.assertFalse(d["estimated"])

    def test_counters_exact(self):
        """Energy is read from the counters, not timed: what the test adds is what the tracker reports."""
        with self.tracker() as t:
            t.phase("a")
            time.sleep(0.05)
            self.tree.add(3.0, 1.0)
            time.sleep(0.05)
            t.phase("b")
            time.sleep(0.05)
            self.tree.add(2.0, 0.5)
            time.sleep(0.05)
        near(self, t.energy_j, 6.5, 1e-9, "total")
        near(self, t.phases["a"]["energy_j"], 4.0, 1e-9, "phase a")
        near(self, t.phases["b"]["energy_j"], 2.5, 1e-9, "phase b")
        near(self, t.domains["dram-0"]["energy_j"], 1.5, 1e-9, "dram-0")

    def test_decorator(self):
        out = os.path.join(self.dir, "deco.csv")

        @jouleprint.track(source="rapl-powercap", interval="20ms", output=out, project="deco")
        def work(x):
            time.sleep(0.05)
            self.tree.add(1.0, 0.25)
            time.sleep(0.05)
            return x * 2

        self.assertIsNone(work.tracker)
        self.assertEqual(work.__name__, "work")
        self.assertEqual(work(21), 42)
        near(self, work.tracker.energy_j, 1.25, 1e-9, "first call")
        self.assertEqual(work(1), 2)
        near(self, work.tracker.energy_j, 1.25, 1e-9, "second call")
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 2)
        self.assertEqual({r["project_name"] for r in rows}, {"deco"})
        self.assertEqual(rows[1]["run_id"], work.tracker.run_id)
        # bare form, and bad options fail at decoration time
        bare = jouleprint.track(lambda: 7)
        os.environ["JP_SYSFS_ROOT"] = self.tree.root
        with self.assertRaises(jouleprint.JouleprintError):
            jouleprint.track(region="Atlantis")
        self.assertTrue(callable(bare))

    def test_exception_in_body(self):
        out = os.path.join(self.dir, "exc.csv")
        t = self.tracker(output=out)
        with self.assertRaises(ZeroDivisionError):
            with t:
                t.phase("before")
                time.sleep(0.05)
                self.tree.add(2.0, 0.5)
                time.sleep(0.05)
                1 / 0
        near(self, t.energy_j, 2.5, 1e-9, "energy measured before the exception")
        self.assertIn("before", t.phases)
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 1)
        near(self, float(rows[0]["jp_energy_j"]), 2.5, 1e-9, "row")

    def test_two_trackers_at_once(self):
        outer = self.tracker()
        inner = self.tracker()
        with outer:
            time.sleep(0.05)
            self.tree.add(1.0, 0.0)
            time.sleep(0.05)
            with inner:
                time.sleep(0.05)
                self.tree.add(2.0, 0.5)
                time.sleep(0.05)
            time.sleep(0.05)
            self.tree.add(4.0, 0.0)
            time.sleep(0.05)
        near(self, outer.energy_j, 7.5, 1e-9, "outer")
        near(self, inner.energy_j, 2.5, 1e-9, "inner")
        self.assertLess(inner.duration_s, outer.duration_s)
        # overlapping, not nested, and one in another thread
        a, b = self.tracker(), self.tracker()
        a.start()
        time.sleep(0.05)
        self.tree.add(1.0, 0.0)
        th = threading.Thread(target=b.start)
        th.start()
        th.join()
        time.sleep(0.05)
        self.tree.add(2.0, 0.0)
        time.sleep(0.05)
        a.stop()
        time.sleep(0.05)
        self.tree.add(4.0, 0.0)
        time.sleep(0.05)
        b.stop()
        near(self, a.energy_j, 3.0, 1e-9, "a")
        near(self, b.energy_j, 6.0, 1e-9, "b")

    def test_emissions_csv_row(self):
        out = os.path.join(self.dir, "emissions.csv")
        trackers = []
        for i in range(2):
            with self.tracker(region="Oregon", output=out, project="vit", pue=1.1) as t:
                t.phase("load")
                time.sleep(0.05)
                self.tree.add(3.0 + i, 1.0)
                time.sleep(0.05)
                t.phase("infer")
                time.sleep(0.05)
                self.tree.add(2.0, 0.5)
                time.sleep(0.05)
            trackers.append(t)
        with open(out, newline="") as f:
            text = f.read()
        self.assertEqual(text.count("timestamp,project_name"), 1)  # the header once
        with open(out, newline="") as f:
            reader = csv.DictReader(f)
            self.assertEqual(reader.fieldnames, CODECARBON_COLUMNS + OUR_COLUMNS)
            rows = list(reader)
        self.assertEqual(len(rows), 2)
        for row, t in zip(rows, trackers):
            self.assertEqual(row["run_id"], t.run_id)
            self.assertEqual(row["project_name"], "vit")
            # units: kg and kWh, and the very figures the tracker holds
            self.assertEqual(float(row["emissions"]), t.carbon_g / 1000.0)
            self.assertEqual(float(row["energy_consumed"]), t.energy_j / 3.6e6)
            self.assertEqual(float(row["duration"]), t.duration_s)
            near(self, float(row["emissions_rate"]), t.carbon_g / 1000.0 / t.duration_s, 1e-12, "emissions_rate")
            near(self, float(row["cpu_energy"]), t.domains["package-0"]["energy_j"] / 3.6e6, 1e-12, "cpu_energy")
            near(self, float(row["ram_energy"]), t.domains["dram-0"]["energy_j"] / 3.6e6, 1e-12, "ram_energy")
            self.assertEqual(float(row["gpu_energy"]), 0.0)
            near(self, float(row["cpu_power"]), t.domains["package-0"]["mean_power_w"], 1e-9, "cpu_power")
            self.assertEqual(float(row["pue"]), 1.1)
            self.assertEqual(row["python_version"], platform.python_version())
            self.assertEqual((row["country_iso_code"], row["cloud_provider"], row["cloud_region"], row["on_cloud"]),
                             ("USA", "gcp", "us-west1", "Y"))
            self.assertEqual(row["jp_estimated"], "false")
            self.assertEqual(row["jp_region"], "gcp:us-west1")
            self.assertEqual(float(row["jp_intensity_g_per_kwh"]), t.intensity["g_per_kwh"])
            phases = dict(p.split(":") for p in row["jp_phases"].split(";"))
            near(self, float(phases["infer"]), t.phases["infer"]["energy_j"], 1e-12, "jp_phases infer")
        near(self, trackers[0].energy_j, 6.5, 1e-9, "first run")
        near(self, trackers[1].energy_j, 7.5, 1e-9, "second run")

    def test_csv_refused_still_records(self):
        out = os.path.join(self.dir, "foreign.csv")
        with open(out, "w") as f:
            f.write("a,b\n1,2\n")
        t = self.tracker(output=out)
        with self.assertRaises(jouleprint.JouleprintError) as cm:
            with t:
                time.sleep(0.05)
                self.tree.add(1.0, 0.0)
                time.sleep(0.05)
        self.assertIn(out, str(cm.exception))
        near(self, t.energy_j, 1.0, 1e-9, "kept though the row was refused")
        with open(out) as f:
            self.assertEqual(f.read(), "a,b\n1,2\n")

    def test_open_failure_carries_the_message(self):
        empty = tempfile.mkdtemp(prefix="jp-py-empty-")
        try:
            os.environ["JP_SYSFS_ROOT"] = empty
            t = self.tracker()
            with self.assertRaises(jouleprint.JouleprintError) as cm:
                with t:
                    pass
            msg = str(cm.exception)
            self.assertIn("powercap", msg)
            self.assertNotIn("\n", msg)
            self.assertLess(cm.exception.code, 0)
            # the CLI says the same
            cli = os.environ.get("JP_CLI")
            if cli:
                r = subprocess.run([cli, "stat", "--source", "rapl-powercap", "--", "true"], capture_output=True,
                                   text=True, env=dict(os.environ))
                self.assertIn(msg, r.stderr)
        finally:
            shutil.rmtree(empty, ignore_errors=True)

    def test_bad_arguments(self):
        with self.assertRaises(jouleprint.JouleprintError) as cm:
            jouleprint.Tracker(region="Atlantis")
        self.assertIn("Atlantis", str(cm.exception))
        with self.assertRaises(jouleprint.JouleprintError):
            jouleprint.Tracker(interval="100")  # a unit is required
        with self.assertRaises(jouleprint.JouleprintError):
            jouleprint.Tracker(pue=7)
        with self.assertRaises(jouleprint.JouleprintError) as cm:
            jouleprint.Tracker(interval=0)
        self.assertIn("1 ms to 1 h", str(cm.exception))
        t = self.tracker()
        with self.assertRaises(jouleprint.JouleprintError):
            t.energy_j  # not measured yet
        with self.assertRaises(jouleprint.JouleprintError):
            t.phase("x")
        with t:
            with self.assertRaises(jouleprint.JouleprintError):
                t.phase("x" * 40)  # longer than 31 bytes


    def test_sampling_needs_no_gil(self):
        """The meter samples on a C thread that never takes the GIL: while this thread holds the GIL
        without a break (a switch interval of 10 s, and the sample count read through ctypes.PyDLL,
        which keeps the GIL during the call), the meter's sample count still moves. A sampler that
        needed the GIL could not move it before the 10 s switch interval ran out: the loop gives up
        after 5 s. The 2 J added meanwhile are all in the result."""
        import ctypes
        held = ctypes.PyDLL(os.environ["JOULEPRINT_LIBRARY"])
        held.jp_meter_samples_taken.restype = ctypes.c_uint64
        held.jp_meter_samples_taken.argtypes = [ctypes.c_void_p]
        old = sys.getswitchinterval()
        with self.tracker(interval="1ms") as t:
            time.sleep(0.05)
            self.tree.add(2.0, 0.0)
            sys.setswitchinterval(10.0)
            try:
                n0 = held.jp_meter_samples_taken(t._m)
                deadline, n = time.monotonic() + 5.0, n0
                while n < n0 + 5 and time.monotonic() < deadline:
                    n = held.jp_meter_samples_taken(t._m)
            finally:
                sys.setswitchinterval(old)
        self.assertGreaterEqual(n - n0, 5, "the meter took %d samples while this thread held the GIL" % (n - n0))
        near(self, t.energy_j, 2.0, 1e-9, "energy")


class LibraryTest(unittest.TestCase):
    def test_carbon_and_regions(self):
        c = jouleprint.carbon(energy="3.5kWh", region="Oregon", year=2021)
        self.assertEqual(c["region"], "gcp:us-west1")
        self.assertEqual(c["year"], 2021)
        near(self, c["carbon_g"], 3.5 * c["g_per_kwh"], 1e-12, "carbon")
        self.assertEqual(jouleprint.carbon(3.6e6, region="FR", pue="gcp")["energy_j"], 3.6e6)
        with self.assertRaises(jouleprint.JouleprintError):
            jouleprint.carbon("3.5", region="FR")  # no unit
        rs = jouleprint.regions("oregon")
        self.assertIn("gcp:us-west1", [r["region"] for r in rs])
        self.assertTrue(all(r["provider"] == "gcp" for r in jouleprint.regions(provider="gcp")))
        self.assertTrue(all(r["year"] == 2021 for r in jouleprint.regions(year=2021)))

    def test_sources_same_words_as_cli(self):
        got = jouleprint.sources()
        self.assertEqual(got[-1]["name"], "model")
        cli = os.environ.get("JP_CLI")
        if not cli:
            self.skipTest("JP_CLI not set (run under ctest)")
        import json
        want = json.loads(subprocess.run([cli, "sources", "--json"], capture_output=True, text=True,
                                         check=True).stdout)
        self.assertEqual([(s["name"], s["usable"], s["estimated"], s["detail"]) for s in got],
                         [(s["name"], s["usable"], s["estimated"], s["detail"]) for s in want])

class AbiTest(unittest.TestCase):
    def run_with(self, lib):
        env = dict(os.environ, JOULEPRINT_LIBRARY=lib)
        code = ("import sys; sys.path.insert(0, %r)\nimport jouleprint\ntry:\n    jouleprint.Tracker()\n"
                "except jouleprint.JouleprintError as e:\n    print('ERROR', e)\n"
                % os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)

    def test_library_too_old(self):
        old = os.environ.get("JP_TEST_OLD_LIB")
        if not old:
            self.skipTest("JP_TEST_OLD_LIB not set (run under ctest)")
        r = self.run_with(old)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ERROR", r.stdout)
        self.assertIn("too old", r.stdout)
        self.assertIn("ABI 0", r.stdout)
        self.assertIn("0.0.1", r.stdout)
        self.assertIn("JOULEPRINT_LIBRARY", r.stdout)

    def test_not_libjouleprint(self):
        r = self.run_with("libm.so.6")
        self.assertIn("ERROR", r.stdout)
        self.assertIn("no jp_abi_version", r.stdout)

    def test_missing_library(self):
        r = self.run_with("/nonexistent/libjouleprint.so.0")
        self.assertIn("ERROR", r.stdout)
        self.assertIn("cannot load", r.stdout)


if __name__ == "__main__":
    print("interpreter: %s (Python %s)" % (sys.executable, platform.python_version()), flush=True)
    unittest.main(verbosity=2)
