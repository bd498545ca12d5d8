"""jouleprint: measure the energy of Python code in-process, with phases, and its carbon.

A thin binding over libjouleprint's public C API (ctypes: nothing to compile at install time)::

    import jouleprint

    with jouleprint.Tracker(region="Oregon", output="emissions.csv", project="vit") as t:
        t.phase("load")
        model = load()
        t.phase("infer")
        run(model)
    print(t.energy_j, t.phases["infer"]["energy_j"], t.carbon_g, t.estimated)

The meter samples on a C thread of its own; no Python code runs while it samples and the GIL is not
held then. Figures from the power model (machines with no energy counter) are marked estimated.
See the README's "From Python" section.
"""

import ctypes
import functools
import math
import os
import platform
import warnings

from . import _lib
from ._lib import JouleprintError, library_info

__all__ = ["Tracker", "track", "sources", "carbon", "regions", "JouleprintError", "library_info", "__version__"]
__version__ = "0.1.0"


def _b(s):
    return None if s is None else str(s).encode("utf-8")


def _seconds(value, what):
    """A duration: a number of seconds, or a text with its unit ("100ms", "5s")."""
    if isinstance(value, bool):
        raise JouleprintError("%s %r: expected a duration such as \"100ms\" or a number of seconds" % (what, value))
    if isinstance(value, (int, float)):
        return float(value)
    out = ctypes.c_double()
    L = _lib.lib()
    if L.jp_parse_duration(_b(value), ctypes.byref(out)) != 0:
        raise JouleprintError("%s %r: %s" % (what, value, _lib.text(L.jp_last_error())), -1)
    return out.value


def _joules(value):
    """An energy: a number of joules, or a text with its unit ("3.5kWh", "12 J")."""
    if isinstance(value, bool):
        raise JouleprintError("energy %r: expected an energy such as \"3.5kWh\" or a number of joules" % (value,))
    if isinstance(value, (int, float)):
        if not (value >= 0 and math.isfinite(value)):
            raise JouleprintError("energy %r: expected a finite number of joules, 0 or more" % (value,))
        return float(value)
    out = ctypes.c_double()
    L = _lib.lib()
    if L.jp_parse_energy(_b(value), ctypes.byref(out)) != 0:
        raise JouleprintError("energy %r: %s" % (value, _lib.text(L.jp_last_error())), -1)
    return out.value


def _pue(value):
    """A PUE: a number from 1 to 3, or a provider ("gcp", "aws", "azure"). Returns (pue, source)."""
    L = _lib.lib()
    if value is None:
        return 1.0, ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = repr(float(value))
    out, src = ctypes.c_double(), ctypes.create_string_buffer(160)
    if L.jp_pue_parse(_b(value), ctypes.byref(out), src, len(src)) != 0:
        raise JouleprintError(_lib.text(L.jp_last_error()), -1)
    return out.value, _lib.text(src.value)


def _intensity(region=None, year=None, intensity=None, intensity_file=None):
    """The grid intensity for a region (see `jouleprint regions`); raises on an unknown one."""
    L = _lib.lib()
    q = _lib.IntensityQuery()
    L.jp_intensity_query_init(ctypes.byref(q))
    if year is not None:
        q.year = int(year)
    if intensity is not None:
        q.g_per_kwh = float(intensity)
    keep = _b(intensity_file)
    q.file = keep
    out = _lib.Intensity()
    _lib.check(L.jp_intensity_resolve(_b(region), ctypes.byref(q), ctypes.byref(out)))
    return out


def _intensity_dict(ci):
    return {"region": _lib.text(ci.region), "name": _lib.text(ci.name), "provider": _lib.text(ci.provider),
            "country": _lib.text(ci.country), "g_per_kwh": ci.g_per_kwh, "year": ci.year or None,
            "source": _lib.text(ci.source), "cfe": ci.cfe if ci.cfe >= 0 else None, "seed": bool(ci.seed)}


class Tracker:
    """Measures the energy of the code run while it is active, in named phases.

    region: where the energy is drawn, for its carbon ("Oregon", "gcp:us-west1", "FR", "US-OR"; default
    $JP_REGION, else the world average); year: that region's figure for a year (default its latest);
    interval: sampling interval ("100ms" or seconds); output: an emissions.csv to append a
    CodeCarbon-compatible row to when the tracker stops; project: that row's project_name; source: one
    energy source by name (see sources()); pue: a number from 1 to 3 or "gcp", "aws", "azure";
    intensity: a gCO2e/kWh figure to use instead of the built-in one; intensity_file: a CSV of your own
    (region,g_per_kwh[,year][,source]); run_id: the row's run_id (default a new UUID).

    A bad region, PUE or interval raises JouleprintError here; a meter that cannot open raises it when
    the tracker starts, with the library's one-line reason.
    """

    def __init__(self, region=None, interval="100ms", output=None, project="jouleprint", *, source=None, year=None,
                 pue=None, intensity=None, intensity_file=None, run_id=None):
        self.interval_s = _seconds(interval, "interval")
        if not (0.001 <= self.interval_s <= 3600):  # the meter's own bounds, checked before anything opens
            raise JouleprintError("interval %r: expected 1 ms to 1 h" % (interval,), -9)
        self._ci = _intensity(region, year, intensity, intensity_file)
        self.pue, self.pue_source = _pue(pue)
        self.output = None if output is None else os.path.expanduser(str(output))
        self.project = project
        self.source = source
        self.run_id = run_id
        self._m = None
        self._result = None
        self.csv_error = None

    # ---- measuring --------------------------------------------------------------------------------

    def start(self):
        """Opens the energy sources and starts measuring (phase "run", unless phase() names it: what came before the first phase() belongs to it)."""
        if self._m is not None:
            raise JouleprintError("Tracker.start: this tracker is already measuring", -7)
        L = _lib.lib()
        cfg = _lib.MeterConfig()
        L.jp_meter_config_init(ctypes.byref(cfg))
        cfg.interval_s = self.interval_s
        src = _b(self.source)
        cfg.source = src
        cfg.keep_timeline = False
        m = ctypes.c_void_p()
        _lib.check(L.jp_meter_open(ctypes.byref(m), ctypes.byref(cfg)))
        try:
            _lib.check(L.jp_meter_start(m))
        except JouleprintError:
            L.jp_meter_close(m)
            raise
        self._m = m
        self._result = None
        return self

    def phase(self, name):
        """Ends the current phase and begins one named `name` (up to 31 bytes of UTF-8)."""
        if self._m is None:
            raise JouleprintError("Tracker.phase: the tracker is not measuring (use it in a with block, or start())", -7)
        _lib.check(_lib.lib().jp_meter_phase(self._m, _b(name)))

    def stop(self):
        """Stops, keeps the figures, closes the sources and appends the emissions.csv row (if output)."""
        if self._m is None:
            raise JouleprintError("Tracker.stop: the tracker is not measuring", -7)
        L = _lib.lib()
        m, self._m = self._m, None
        try:
            _lib.check(L.jp_meter_stop(m))
            self._result = self._collect(L, m)
            if self.output is not None:
                self._write_csv(L, m)
        finally:
            L.jp_meter_close(m)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        except JouleprintError as e:
            if exc_type is None:
                raise
            # the body's own exception goes on; the tracker's failure is said, not lost
            warnings.warn("jouleprint: %s" % e, RuntimeWarning, stacklevel=2)
        return False

    def __del__(self):
        m = getattr(self, "_m", None)
        if m is not None:
            try:
                _lib.lib().jp_meter_close(m)
            except Exception:
                pass

    def _write_csv(self, L, m):
        meta = _lib.EmissionsMeta()
        L.jp_emissions_meta_init(ctypes.byref(meta))
        keep = [_b(self.project), _b(self.run_id), _b(platform.python_version())]
        meta.project_name, meta.run_id, meta.python_version = keep
        meta.intensity = ctypes.pointer(self._ci)
        meta.pue = self.pue
        rid = ctypes.create_string_buffer(64)
        rc = L.jp_emissions_csv_append(_b(self.output), m, ctypes.byref(meta), rid, len(rid))
        if rc != 0:
            self.csv_error = _lib.text(L.jp_last_error())
            raise JouleprintError(self.csv_error, rc)
        self.run_id = _lib.text(rid.value)

    def _collect(self, L, m):
        g, pue = self._ci.g_per_kwh, self.pue
        dur = L.jp_meter_duration(m)
        domains = []
        for i in range(L.jp_meter_domain_count(m)):
            j = L.jp_meter_joules(m, i)
            domains.append({"name": _lib.text(L.jp_meter_domain_name(m, i)),
                            "source": _lib.text(L.jp_meter_domain_source(m, i)),
                            "kind": _lib.text(L.jp_domain_kind_name(L.jp_meter_domain_kind(m, i))),
                            "energy_j": j, "mean_power_w": j / dur if dur > 0 else 0.0,
                            "estimated": bool(L.jp_meter_domain_estimated(m, i)),
                            "in_total": bool(L.jp_meter_domain_in_total(m, i)),
                            "vanished": bool(L.jp_meter_domain_gone(m, i))})
        phases = []
        for p in range(L.jp_meter_phase_count(m)):
            pj = L.jp_meter_phase_joules(m, p, _lib.JP_TOTAL)
            phases.append({"name": _lib.text(L.jp_meter_phase_name(m, p)), "energy_j": pj,
                           "duration_s": L.jp_meter_phase_duration(m, p),
                           "carbon_g": L.jp_carbon_grams(pj, g, pue),
                           "domains": {d["name"]: L.jp_meter_phase_joules(m, p, i) for i, d in enumerate(domains)}})
        energy = L.jp_meter_joules(m, _lib.JP_TOTAL)
        mp = L.jp_meter_model_params(m)
        model = None
        if mp:
            p = mp.contents
            model = {"cpu_idle_w": p.cpu_idle_w, "cpu_max_w": p.cpu_max_w, "curve": p.curve,
                     "ram_w_per_gb": p.ram_w_per_gb, "ram_gb": p.ram_gb, "basis": _lib.text(p.basis)}
        share = L.jp_meter_tree_share(m)
        return {"energy_j": energy, "duration_s": dur, "carbon_g": L.jp_carbon_grams(energy, g, pue),
                "estimated": bool(L.jp_meter_estimated(m)), "peak_power_w": L.jp_meter_peak_watts(m),
                "interval_s": L.jp_meter_interval(m), "glitches": int(L.jp_meter_glitches(m)),
                "attribution": None if share < 0 else {"share": share, "energy_j": L.jp_meter_attributed_joules(m)},
                "domains": domains, "phases": phases, "model": model}

    # ---- results (after the tracker stops) ---------------------------------------------------------

    def _r(self):
        if self._result is None:
            raise JouleprintError("the tracker has not finished measuring: read its figures after the with block "
                                  "(or stop())", -7)
        return self._result

    @property
    def energy_j(self):
        """Total energy, joules (the domains counted in the total; core and uncore are inside package)."""
        return self._r()["energy_j"]

    @property
    def duration_s(self):
        return self._r()["duration_s"]

    @property
    def carbon_g(self):
        """grams of CO2e: energy x the region's intensity x PUE."""
        return self._r()["carbon_g"]

    @property
    def estimated(self):
        """True when any figure in the total comes from the power model, not a counter."""
        return self._r()["estimated"]

    @property
    def domains(self):
        """{domain name: {"energy_j", "mean_power_w", "source", "kind", "estimated", "in_total", "vanished"}}."""
        return {d["name"]: {k: v for k, v in d.items() if k != "name"} for d in self._r()["domains"]}

    @property
    def phases(self):
        """{phase name: {"energy_j", "duration_s", "carbon_g"}}, in order; a name used twice adds up."""
        out = {}
        for p in self._r()["phases"]:
            o = out.setdefault(p["name"], {"energy_j": 0.0, "duration_s": 0.0, "carbon_g": 0.0})
            o["energy_j"] += p["energy_j"]
            o["duration_s"] += p["duration_s"]
            o["carbon_g"] += p["carbon_g"]
        return out

    @property
    def region(self):
        return _lib.text(self._ci.region)

    @property
    def intensity(self):
        """The grid intensity used: {"region", "name", "g_per_kwh", "year", "source", ...}."""
        return _intensity_dict(self._ci)

    def to_dict(self):
        """Every figure, with the keys of `jouleprint stat --json` where they are the same things."""
        r = self._r()
        return {"energy_j": r["energy_j"], "duration_s": r["duration_s"],
                "mean_power_w": r["energy_j"] / r["duration_s"] if r["duration_s"] > 0 else 0.0,
                "peak_power_w": r["peak_power_w"], "estimated": r["estimated"],
                "domains": [{"name": d["name"], "source": d["source"], "kind": d["kind"], "joules": d["energy_j"],
                             "mean_power_w": d["mean_power_w"], "estimated": d["estimated"],
                             "in_total": d["in_total"], "vanished": d["vanished"]} for d in r["domains"]],
                "phases": [{"name": p["name"], "energy_j": p["energy_j"], "duration_s": p["duration_s"],
                            "carbon_g": p["carbon_g"], "domains": dict(p["domains"])} for p in r["phases"]],
                "carbon_g": r["carbon_g"], "region": self.region,
                "intensity_g_per_kwh": self._ci.g_per_kwh, "intensity_source": _lib.text(self._ci.source),
                "pue": self.pue, "interval_s": r["interval_s"], "glitches": r["glitches"],
                "attribution": r["attribution"], "model": r["model"], "project": self.project,
                "run_id": self.run_id, "output": self.output}

    def __repr__(self):
        if self._result is None:
            return "<jouleprint.Tracker %s>" % ("measuring" if self._m is not None else "not started")
        return "<jouleprint.Tracker %.4g J in %.3g s, %.4g gCO2e%s>" % (
            self.energy_j, self.duration_s, self.carbon_g, " (estimated)" if self.estimated else "")


def track(fn=None, **options):
    """A decorator that measures each call of a function with a Tracker(**options).

    The last call's tracker is the wrapper's ``tracker`` attribute (set as the call begins, so it is
    there after an exception too)::

        @jouleprint.track(region="FR", output="emissions.csv", project="train")
        def train(): ...
        train()
        print(train.tracker.energy_j)
    """

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            t = Tracker(**options)
            wrapper.tracker = t
            with t:
                return f(*args, **kwargs)

        wrapper.tracker = None
        return wrapper

    if fn is not None:
        if not callable(fn):
            raise TypeError("jouleprint.track: use @jouleprint.track or @jouleprint.track(region=..., ...)")
        return decorate(fn)
    Tracker(**options)  # bad options fail at decoration time, not at the first call
    return decorate


def sources():
    """What can be measured here, and why not, in the words of `jouleprint sources`: a list of
    {"name", "usable", "estimated", "state" ("yes", "estimate" or "no"), "detail"}, in order of
    preference."""
    L = _lib.lib()
    arr = (_lib.SourceStatus * 16)()
    n = L.jp_sources_probe(arr, 16)
    if n < 0:
        _lib.check(n)
    out = []
    for s in arr[:min(n, 16)]:
        out.append({"name": _lib.text(s.name), "usable": bool(s.usable), "estimated": bool(s.estimated),
                    "state": ("estimate" if s.estimated else "yes") if s.usable else "no",
                    "detail": _lib.text(s.detail)})
    return out


def carbon(energy, region=None, year=None, pue=None, intensity=None, intensity_file=None):
    """The CO2e of an energy ("3.5kWh", or joules) in a region, as `jouleprint carbon` computes it:
    {"carbon_g", "energy_j", "g_per_kwh", "region", "name", "year", "source", "pue", ...}."""
    j = _joules(energy)
    ci = _intensity(region, year, intensity, intensity_file)
    p, psrc = _pue(pue)
    out = _intensity_dict(ci)
    out.update({"energy_j": j, "carbon_g": _lib.lib().jp_carbon_grams(j, ci.g_per_kwh, p), "pue": p,
                "pue_source": psrc})
    return out


def regions(search=None, year=None, provider=None):
    """The built-in regions (Google Cloud regions, countries, US states, AWS and Azure regions) with their
    figure for `year` (default each one's latest; regions without a figure that year are left out), those
    whose code, name, other names or country contain `search`, of one `provider` ("gcp", "aws", "azure",
    "country", "us-state")."""
    L = _lib.lib()
    out = []
    ci = _lib.Intensity()
    s = _b(search)
    for i in range(L.jp_region_count()):
        if s is not None and not L.jp_region_matches(i, s):
            continue
        if L.jp_region_get(i, int(year or 0), ctypes.byref(ci)) != 0:
            continue
        d = _intensity_dict(ci)
        if provider is not None and d["provider"] != provider:
            continue
        out.append(d)
    return out
