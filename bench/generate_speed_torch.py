#!/usr/bin/python3
"""PyTorch side of bench/generate_speed.c: one text-to-image model of the zoo (models/gen-*), sampled with
the same DDIM sampler that made the parity images (models/gen/train.py: eta 0, x0 clipped,
classifier-free guidance), in PyTorch's strongest CPU configuration that works for the UNet here:
torch.jit.trace, then torch.jit.freeze and torch.jit.optimize_for_inference (each skipped, and said so,
if it fails), torch.inference_mode, torch.set_num_threads(T) (the caller sets OPENBLAS_NUM_THREADS and
OMP_NUM_THREADS to T as well).

Protocol (stdin/stdout, one line each): after loading, tracing and one warm-up sample it prints
"READY <configuration>"; then for each "GO <seconds>" it samples whole batches of fixed noise until
<seconds> have passed and prints "DONE <images> <seconds>"; it exits on "QUIT" or end of input.

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy)."""
import argparse
import json
import os
import sys

import torch

import torch_tune  # noqa: E402  (bench/, beside this script)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models", "gen"))
import train  # noqa: E402  (models/gen/train.py: the UNet, the DDIM sampler, the safetensors reader)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(os.path.join(a.model_dir, "config.json")) as f:
        cfg = json.load(f)
    name = os.path.basename(os.path.normpath(a.model_dir))
    if name not in train.ZOO:
        sys.exit(f"{a.model_dir}: not one of the models train.py builds ({', '.join(train.ZOO)})")
    w = train.read_safetensors(os.path.join(a.model_dir, "model.safetensors"))
    ac = w.pop("scheduler.alphas_cumprod")
    model = train.build(name)
    model.load_state_dict(w)
    model.eval()
    del cfg
    g = torch.Generator().manual_seed(a.seed)
    labels = torch.arange(a.batch, dtype=torch.long) % 10
    noise = torch.randn((a.batch, 1, 28, 28), generator=g)
    n_eval = a.batch * (1 if a.guidance == 1.0 else 2)
    how = ["eager"]
    net = model
    with torch.no_grad():
        x = torch.randn((n_eval, 1, 28, 28), generator=g)
        t = torch.full((n_eval,), 500, dtype=torch.long)
        lab = torch.arange(n_eval, dtype=torch.long) % 11
        try:
            net, how = torch_tune.trace_tuned(model, (x, t, lab))
            ref = model(x, t, lab)
            got = net(x, t, lab)
            if float((ref - got).abs().max()) > 1e-3:
                net, how = model, ["eager (the traced module disagreed)"]
        except Exception as e:  # noqa: BLE001
            net, how = model, [f"eager (trace failed: {type(e).__name__})"]
    with torch.inference_mode():
        train.ddim_sample(net, ac, labels, noise, a.steps, a.guidance)  # warm-up (and the JIT's profiling runs)
        train.ddim_sample(net, ac, labels, noise, a.steps, a.guidance)
    print(f"READY torch {torch.__version__}, {', '.join(how)}, inference_mode, {torch.get_num_threads()} threads",
          flush=True)
    def step():
        train.ddim_sample(net, ac, labels, noise, a.steps, a.guidance)
        return a.batch, None
    torch_tune.serve_windows(step)

if __name__ == "__main__":
    main()
