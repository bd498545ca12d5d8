#!/usr/bin/python3
"""PyTorch side of bench/classify_speed.c: one classification model of the zoo (models/mlp, cnn, vit,
resnet-s, resnet-m), loaded from the same model.safetensors into the architecture code of
models/train.py, in PyTorch's strongest CPU configuration that works for it:

  - OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS = T set before torch is imported (the
    caller sets them too), torch.set_num_threads(T), one inter-op thread;
  - torch.jit.trace at the benchmark's batch size, then torch.jit.freeze and
    torch.jit.optimize_for_inference (each skipped, and said so, if it fails); the traced module's
    logits are compared with eager mode's on the first batches and the largest difference is reported
    (over 1e-3 the traced module is dropped for eager mode, and said so);
  - channels_last for the convolutional nets (see MEMORY_FORMAT), contiguous for the others;
  - torch.inference_mode around every timed call;
  - a few untimed batches before "READY", so that the allocator's caches, oneDNN's primitive caches
    and the JIT's profiling runs are all behind us.

The images are the C benchmark's own: with --images, a raw float32 file of N x 784 pre-normalized
pixels written by classify_speed, so that both sides see the very same floats; without it (by hand),
the Fashion-MNIST test split normalized as models/train.py does.

Protocol (stdin/stdout, one line each), as bench/generate_speed_torch.py: after loading, tracing and
warming up it prints "READY <configuration>"; then for each "GO <seconds>" it runs whole batches (the
test images in order, cycling, continuing where the last window stopped) until <seconds> have passed
and prints "DONE <images> <seconds>"; it exits on "QUIT" or end of input.

    /usr/bin/python3 bench/classify_speed_torch.py --model-dir models/resnet-s --batch 64 --threads 2

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy)."""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Layout of the activations per model type. channels_last lets oneDNN run its NHWC convolutions
# without reordering each layer's input and output, so it is the layout for the convolutional nets.
# Checked on the project's VM (Zen, 2 vCPUs, Debian's torch 1.13.1, traced, frozen and optimized as
# below) with --memory-format, two children interleaved, 5 windows of 0.5 s each, 1 thread: channels_last
# against contiguous 1.00x / 0.98x (cnn, batch 1 / 64), 1.00x / 0.99x (resnet-s), 1.01x / 0.97x
# (resnet-m): the same within the spread of the windows (optimize_for_inference moves the convolutions
# to oneDNN's own blocked layout either way), not slower. The 2-thread comparison could not be made on
# that machine while it was loaded; classify_speed --torch-memory-format contiguous repeats it. The MLP
# and the ViT have no convolution but the ViT's patch embedding, so they stay contiguous.
#
# ATen's own kernels (element-wise ops, softmax, layer norm, GELU) run at the CPU capability torch
# picks, AVX2 here although the CPU has AVX-512; ATEN_CPU_CAPABILITY=avx512 was not faster (0.91x-1.03x,
# mlp, vit, resnet-s, batch 1 and 64, 1 thread), so it is left to torch. The READY line says which.
MEMORY_FORMAT = {"cnn": "channels_last", "resnet": "channels_last", "mlp": "contiguous", "vit": "contiguous"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--images", help="raw float32 N x 784 pre-normalized images (classify_speed writes it)")
    ap.add_argument("--memory-format", choices=("auto", "channels_last", "contiguous"), default="auto")
    ap.add_argument("--warmup-batches", type=int, default=20)
    a = ap.parse_args()
    # Before torch (and OpenBLAS, OpenMP) are loaded: they read these once, when they start.
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = str(a.threads)
    import warnings

    import numpy as np
    import torch
    import torch_tune  # bench/, beside this script
    # The ViT's attention scale, math.sqrt(d // heads), is a constant of the model: the tracer's warning
    # that it will be treated as one is expected.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    sys.path.insert(0, os.path.join(HERE, "..", "models"))
    import train  # noqa: E402  (models/train.py: the architectures, the safetensors reader, the data)

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    with open(os.path.join(a.model_dir, "config.json")) as f:
        cfg = json.load(f)
    model = train.build(cfg)
    model.load_state_dict(train.read_safetensors(os.path.join(a.model_dir, "model.safetensors")))
    model.eval()

    if a.images:
        x = torch.from_numpy(np.fromfile(a.images, dtype=np.float32).reshape(-1, 1, 28, 28))
    else:
        x_u8, _ = train.load_split("t10k")
        x = train.normalize(x_u8)
    fmt = MEMORY_FORMAT.get(cfg["model_type"], "contiguous") if a.memory_format == "auto" else a.memory_format
    mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=mf)
    b = a.batch
    # the batches, laid out once (untimed), as the engine's are: whole batches only
    batches = [x[i:i + b].contiguous(memory_format=mf) for i in range(0, x.shape[0] - b + 1, b)]
    if not batches:
        sys.exit(f"--batch {b}: more than the {x.shape[0]} images")

    how = ["eager"]
    net = model
    diff = float("nan")
    with torch.no_grad():
        check = batches[:4]
        ref = [model(xb) for xb in check]
        try:
            net, how = torch_tune.trace_tuned(model, (batches[0],))
            # twice: the first calls of a scripted module are its profiling runs
            for _ in range(2):
                diff = max(float((r - net(xb)).abs().max()) for r, xb in zip(ref, check))
            if diff > 1e-3:
                net, how = model, [f"eager (the traced module disagreed by {diff:.2e})"]
                diff = 0.0
        except Exception as e:  # noqa: BLE001
            net, how = model, [f"eager (trace failed: {type(e).__name__})"]
            diff = 0.0

    k = 0

    def one_batch():
        nonlocal k
        net(batches[k % len(batches)])
        k += 1

    with torch.inference_mode():
        for _ in range(a.warmup_batches):
            one_batch()
    k = 0
    cap = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    print(f"READY torch {torch.__version__} (ATen {cap.group(1) if cap else '?'}), {', '.join(how)}, {fmt}, "
          f"inference_mode, "
          f"{torch.get_num_threads()} threads, max |traced - eager| {diff:.2e}", flush=True)
    def step():
        one_batch()
        return b, None
    torch_tune.serve_windows(step)

if __name__ == "__main__":
    main()
