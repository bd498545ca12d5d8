"""Loading libjouleprint with ctypes (no compiler at install time) and declaring what is called.

The library is looked for, in order:

1. the file named by the JOULEPRINT_LIBRARY environment variable (only there, when it is set);
2. a libjouleprint.so* inside this package's folder (a copy shipped with it);
3. the build tree, when this package is run from a source checkout (python/jouleprint ->
   build/libjouleprint.so*);
4. next to the installed package: the ``lib`` folder of each prefix above it (a package under
   /usr/local/lib/python3/dist-packages finds /usr/local/lib/libjouleprint.so*);
5. the usual library folders (/usr/local/lib, /usr/lib/<multiarch>, /usr/lib) and the dynamic
   loader's own search (LD_LIBRARY_PATH, ld.so.cache).

ctypes releases the GIL for the length of every call into the library, and the meter samples on a
thread of its own (C), so Python code runs on while the meter measures it.
"""

import ctypes
import glob
import os
import sysconfig

# The binary interface this package is written for (JP_ABI_VERSION in include/jouleprint.h): the
# library loaded must report this or more.
REQUIRED_ABI = 1
LIBRARY_ENV = "JOULEPRINT_LIBRARY"


class JouleprintError(Exception):
    """A failure reported by libjouleprint, with its one-line message; ``code`` is the jp_status."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def _sonames(folder):
    """libjouleprint.so* in folder, the plain and versioned names first."""
    found = glob.glob(os.path.join(folder, "libjouleprint.so*"))
    return sorted(found, key=lambda p: (len(os.path.basename(p)), p))


def candidates():
    """Where the library is looked for, in order (see the module's documentation)."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    out = _sonames(here)
    checkout = os.path.dirname(os.path.dirname(here))
    if os.path.isfile(os.path.join(checkout, "CMakeLists.txt")):
        out += _sonames(os.path.join(checkout, "build"))
    d = here
    while True:
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
        if os.path.basename(d) == "lib":
            out += _sonames(d)
        else:
            out += _sonames(os.path.join(d, "lib"))
    multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    for folder in ("/usr/local/lib", "/usr/local/lib/" + multiarch, "/usr/local/lib64", "/usr/lib/" + multiarch,
                   "/usr/lib64", "/usr/lib"):
        out += _sonames(folder)
    out += ["libjouleprint.so.0", "libjouleprint.so"]
    seen, unique = set(), []
    for p in out:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def _load():
    tried = []
    for path in candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, str(e).split(":")[-1].strip() or e))
            if os.environ.get(LIBRARY_ENV):
                raise JouleprintError("%s=%s: cannot load it: %s" % (LIBRARY_ENV, path, e)) from None
    raise JouleprintError(
        "libjouleprint not found: build and install it (make install) or set %s to the library's path "
        "(tried %d places: %s)" % (LIBRARY_ENV, len(tried), "; ".join(tried[:6]) + ("; ..." if len(tried) > 6 else "")))


def _check_abi(lib, path):
    if not hasattr(lib, "jp_abi_version"):
        raise JouleprintError(
            "%s: this libjouleprint is too old for the jouleprint Python package (it has no jp_abi_version; the "
            "package needs ABI %d or newer): rebuild and reinstall the library (make install), or set %s to a newer "
            "one" % (path, REQUIRED_ABI, LIBRARY_ENV))
    lib.jp_abi_version.restype = ctypes.c_int
    lib.jp_abi_version.argtypes = []
    abi = lib.jp_abi_version()
    version = "?"
    if hasattr(lib, "jp_version"):
        lib.jp_version.restype = ctypes.c_char_p
        lib.jp_version.argtypes = []
        version = lib.jp_version().decode("utf-8", "replace")
    if abi < REQUIRED_ABI:
        raise JouleprintError(
            "%s: libjouleprint %s has ABI %d, too old for the jouleprint Python package, which needs ABI %d or newer: "
            "rebuild and reinstall the library (make install), or set %s to a newer one"
            % (path, version, abi, REQUIRED_ABI, LIBRARY_ENV))
    return abi, version


# ---- the C types ----------------------------------------------------------------------------------

c_double, c_int, c_size_t, c_bool, c_char_p = ctypes.c_double, ctypes.c_int, ctypes.c_size_t, ctypes.c_bool, ctypes.c_char_p
c_void_p, POINTER, byref = ctypes.c_void_p, ctypes.POINTER, ctypes.byref


class SourceStatus(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 32), ("usable", c_bool), ("estimated", c_bool), ("detail", ctypes.c_char * 512)]


class ModelParams(ctypes.Structure):
    _fields_ = [("cpu_idle_w", c_double), ("cpu_max_w", c_double), ("curve", c_double), ("ram_w_per_gb", c_double),
                ("ram_gb", c_double), ("basis", ctypes.c_char * 160)]


class MeterConfig(ctypes.Structure):
    _fields_ = [("interval_s", c_double), ("source", c_char_p), ("pid", ctypes.c_int), ("keep_timeline", c_bool),
                ("model", ModelParams)]


class Intensity(ctypes.Structure):
    _fields_ = [("region", ctypes.c_char * 64), ("g_per_kwh", c_double), ("source", ctypes.c_char * 160),
                ("name", ctypes.c_char * 64), ("provider", ctypes.c_char * 16), ("country", ctypes.c_char * 4),
                ("year", c_int), ("cfe", c_double), ("seed", c_bool)]


class IntensityQuery(ctypes.Structure):
    _fields_ = [("year", c_int), ("file", c_char_p), ("g_per_kwh", c_double)]


class EmissionsMeta(ctypes.Structure):
    _fields_ = [("project_name", c_char_p), ("run_id", c_char_p), ("python_version", c_char_p),
                ("intensity", POINTER(Intensity)), ("pue", c_double)]


JP_TOTAL = -1

# name: (restype, argtypes)
_PROTOTYPES = {
    "jp_strerror": (c_char_p, [c_int]),
    "jp_last_error": (c_char_p, []),
    "jp_parse_duration": (c_int, [c_char_p, POINTER(c_double)]),
    "jp_parse_energy": (c_int, [c_char_p, POINTER(c_double)]),
    "jp_domain_kind_name": (c_char_p, [c_int]),
    "jp_sources_probe": (c_int, [POINTER(SourceStatus), c_size_t]),
    "jp_meter_config_init": (None, [POINTER(MeterConfig)]),
    "jp_meter_open": (c_int, [POINTER(c_void_p), POINTER(MeterConfig)]),
    "jp_meter_start": (c_int, [c_void_p]),
    "jp_meter_phase": (c_int, [c_void_p, c_char_p]),
    "jp_meter_stop": (c_int, [c_void_p]),
    "jp_meter_close": (None, [c_void_p]),
    "jp_meter_interval": (c_double, [c_void_p]),
    "jp_meter_domain_count": (c_size_t, [c_void_p]),
    "jp_meter_domain_name": (c_char_p, [c_void_p, c_size_t]),
    "jp_meter_domain_source": (c_char_p, [c_void_p, c_size_t]),
    "jp_meter_domain_kind": (c_int, [c_void_p, c_size_t]),
    "jp_meter_domain_estimated": (c_bool, [c_void_p, c_size_t]),
    "jp_meter_domain_in_total": (c_bool, [c_void_p, c_size_t]),
    "jp_meter_domain_gone": (c_bool, [c_void_p, c_size_t]),
    "jp_meter_joules": (c_double, [c_void_p, c_int]),
    "jp_meter_duration": (c_double, [c_void_p]),
    "jp_meter_peak_watts": (c_double, [c_void_p]),
    "jp_meter_estimated": (c_bool, [c_void_p]),
    "jp_meter_phase_count": (c_size_t, [c_void_p]),
    "jp_meter_phase_name": (c_char_p, [c_void_p, c_size_t]),
    "jp_meter_phase_joules": (c_double, [c_void_p, c_size_t, c_int]),
    "jp_meter_phase_duration": (c_double, [c_void_p, c_size_t]),
    "jp_meter_glitches": (ctypes.c_uint64, [c_void_p]),
    "jp_meter_tree_share": (c_double, [c_void_p]),
    "jp_meter_attributed_joules": (c_double, [c_void_p]),
    "jp_meter_model_params": (POINTER(ModelParams), [c_void_p]),
    "jp_intensity_query_init": (None, [POINTER(IntensityQuery)]),
    "jp_intensity_resolve": (c_int, [c_char_p, POINTER(IntensityQuery), POINTER(Intensity)]),
    "jp_region_count": (c_size_t, []),
    "jp_region_get": (c_int, [c_size_t, c_int, POINTER(Intensity)]),
    "jp_region_matches": (c_bool, [c_size_t, c_char_p]),
    "jp_pue_parse": (c_int, [c_char_p, POINTER(c_double), ctypes.c_char_p, c_size_t]),
    "jp_carbon_grams": (c_double, [c_double, c_double, c_double]),
    "jp_emissions_meta_init": (None, [POINTER(EmissionsMeta)]),
    "jp_emissions_csv_header": (c_char_p, []),
    "jp_emissions_csv_append": (c_int, [c_char_p, c_void_p, POINTER(EmissionsMeta), ctypes.c_char_p, c_size_t]),
}

_lib = None
_info = None


def lib():
    """The loaded library (loaded and checked on first use)."""
    global _lib, _info
    if _lib is None:
        handle, path = _load()
        abi, version = _check_abi(handle, path)
        for name, (res, args) in _PROTOTYPES.items():
            try:
                fn = getattr(handle, name)
            except AttributeError:
                raise JouleprintError("%s: libjouleprint %s (ABI %d) lacks %s: rebuild and reinstall it (make install)"
                                      % (path, version, abi, name)) from None
            fn.restype = res
            fn.argtypes = args
        _info = {"path": path, "abi": abi, "version": version}
        _lib = handle
    return _lib


def library_info():
    """{"path", "abi", "version"} of the library in use."""
    lib()
    return dict(_info)


def text(b):
    return b.decode("utf-8", "replace") if b is not None else ""


def check(rc):
    """Raises JouleprintError with the library's message when rc is not JP_OK."""
    if rc != 0:
        L = lib()
        msg = text(L.jp_last_error()) or text(L.jp_strerror(rc))
        raise JouleprintError(msg, rc)
    return rc
