"""PyTorch in its strongest inference configuration for the benchmark children
(bench/classify_speed_torch.py, bench/generate_speed_torch.py, bench/summarize_speed_torch.py): one place, so
all compare against the same; and the children's side of the window protocol (bench/bench_util.h)."""
import sys
import time

import torch


def serve_windows(step, lines=None):
    """The child's windows: for each "GO <seconds>" line of standard input, calls step() (one batch; it
    returns the items it made and a second count, or None) in inference mode until <seconds> have passed,
    and prints "DONE <items> <seconds>" (with the second count when step gives one). Returns on any other
    line or at the end of input."""
    for line in (sys.stdin if lines is None else lines):
        parts = line.split()
        if len(parts) != 2 or parts[0] != "GO":
            return
        seconds = float(parts[1])
        items, count, counted = 0, 0, False
        with torch.inference_mode():
            t0 = time.perf_counter()
            while True:
                n, c = step()
                items += n
                if c is not None:
                    count, counted = count + c, True
                el = time.perf_counter() - t0
                if el >= seconds:
                    break
        print(f"DONE {items} {el:.6f}" + (f" {count}" if counted else ""), flush=True)


def trace_tuned(model, example):
    """torch.jit.trace on the example inputs (a tuple), then torch.jit.freeze and
    torch.jit.optimize_for_inference where each works. Returns the module and the list of steps taken (a step
    that failed is named with its exception's type). Raises what tracing raises."""
    net = torch.jit.trace(model, example)
    how = ["jit.trace"]
    try:
        net = torch.jit.freeze(net.eval())
        how.append("freeze")
    except Exception as e:  # noqa: BLE001
        how.append(f"no freeze ({type(e).__name__})")
    try:
        net = torch.jit.optimize_for_inference(net)
        how.append("optimize_for_inference")
    except Exception as e:  # noqa: BLE001
        how.append(f"no optimize_for_inference ({type(e).__name__})")
    return net, how
