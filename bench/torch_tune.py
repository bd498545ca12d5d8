"""PyTorch in its strongest inference configuration for the benchmark children
(bench/classify_speed_torch.py, bench/generate_speed_torch.py): one place, so both compare against the same."""
import torch


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
