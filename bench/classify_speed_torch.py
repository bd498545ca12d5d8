#!/usr/bin/python3
"""The PyTorch side of bench/classify_speed.c: runs one model of the zoo, loaded from the same
model.safetensors with the same architecture code as models/train.py, in eval mode under
torch.inference_mode(), on the same pre-normalized Fashion-MNIST test images, and times it.

It talks to the C benchmark over stdin/stdout so that the benchmark's meter covers exactly the timed
loop: it prints "READY", waits for a line on stdin, runs batches until `seconds` have passed, and prints
"DONE <images> <seconds>". Run by hand it starts at once when stdin is a terminal:

    /usr/bin/python3 bench/classify_speed_torch.py --model-dir models/resnet-s --batch 64 --threads 2
"""
import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import train  # noqa: E402  (models/train.py: the architectures, the safetensors reader, the data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--warmup", type=float, default=0.5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    import json
    with open(os.path.join(a.model_dir, "config.json")) as f:
        cfg = json.load(f)
    model = train.build(cfg)
    model.load_state_dict(train.read_safetensors(os.path.join(a.model_dir, "model.safetensors")))
    model.eval()
    x_u8, _ = train.load_split("t10k")
    x = train.normalize(x_u8).contiguous()
    n_all, b = x.shape[0], a.batch
    batches = [x[i:i + b] for i in range(0, n_all - b + 1, b)]

    def run(seconds):
        images, k, t0 = 0, 0, time.perf_counter()
        with torch.inference_mode():
            while True:
                model(batches[k % len(batches)])
                images += b
                k += 1
                if time.perf_counter() - t0 >= seconds:
                    return images, time.perf_counter() - t0

    run(a.warmup)
    print("READY", flush=True)
    if not sys.stdin.isatty():
        sys.stdin.readline()
    images, secs = run(a.seconds)
    print(f"DONE {images} {secs:.6f}", flush=True)


if __name__ == "__main__":
    main()
