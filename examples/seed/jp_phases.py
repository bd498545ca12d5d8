"""Phases of a seed runner, marked two ways.

- The line "JOULEPRINT PHASE <name>" on stdout, which `jouleprint bench` reads when it runs the runner
  as a command (the spec's protocol).
- An in-process jouleprint.Tracker (the Python binding), when the package can be imported: a runner
  started on its own then measures its own load and inference apart, prints both on stderr, and
  appends a CodeCarbon-compatible row to the emissions.csv named by $JP_EMISSIONS_CSV (if set), in the
  region $JP_REGION (default: the world average). Set JP_SEED_TRACKER=0 to leave it out.

    with Phases("hf_classify", model_id) as ph:
        ph.phase("load")
        ...
        ph.phase("infer")
        ...
"""
import os
import sys


def _binding():
    if os.environ.get("JP_SEED_TRACKER", "1") == "0":
        return None
    try:
        import jouleprint
    except ImportError:
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, os.path.join(here, "..", "..", "python"))  # a source checkout
        try:
            import jouleprint
        except ImportError:
            return None
    return jouleprint


class Phases:
    def __init__(self, runner, model_id):
        self.project = "%s %s" % (runner, model_id)
        self.tracker = None
        self.jp = _binding()

    def __enter__(self):
        if self.jp is not None:
            try:
                self.tracker = self.jp.Tracker(output=os.environ.get("JP_EMISSIONS_CSV") or None,
                                               project=self.project).start()
            except self.jp.JouleprintError as e:  # no library here: the protocol lines still work
                print("jouleprint: not measuring in-process: %s" % e, file=sys.stderr)
                self.tracker = None
        return self

    def phase(self, name):
        print("JOULEPRINT PHASE " + name, flush=True)
        if self.tracker is not None:
            self.tracker.phase(name)

    def __exit__(self, exc_type, exc, tb):
        if self.tracker is None:
            return False
        t = self.tracker
        t.__exit__(exc_type, exc, tb)
        if t._result is not None:
            est = " (estimated)" if t.estimated else ""
            parts = ["%s %.4g J in %.3g s" % (n, p["energy_j"], p["duration_s"]) for n, p in t.phases.items()]
            print("jouleprint: %s: %s; total %.4g J, %.4g g CO2e (%s)%s"
                  % (self.project, ", ".join(parts), t.energy_j, t.carbon_g, t.region, est), file=sys.stderr)
        return False
