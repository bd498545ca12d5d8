#!/usr/bin/python3
"""PyTorch inference measured with the jouleprint Python binding: load, then batches.

    /usr/bin/python3 examples/python/torch_infer.py [--model cnn] [--n 2000] [--batch 64]
                                                     [--region R] [--output emissions.csv]

Loads one model of the project's zoo (models/<name>: Hugging Face-style config.json and
model.safetensors, built with the architecture code of models/train.py) and the Fashion-MNIST test
images (Debian's dataset-fashion-mnist) in phase "load", classifies the first n images in batches in
phase "infer", and prints the accuracy, the energy per image and the carbon, each marked estimated
where the power model gave it. With --output, a CodeCarbon-compatible row is appended to that
emissions.csv.

Needs Debian's python3-torch (for /usr/bin/python3) and libjouleprint (see the README's "From Python");
from a source checkout it runs as is.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
try:
    import jouleprint
except ImportError:  # a source checkout: the package next door
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import jouleprint


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="cnn", help="a model of the zoo: mlp, cnn, vit, resnet-s, resnet-m (default cnn)")
    ap.add_argument("--models-dir", default=os.path.join(ROOT, "models"))
    ap.add_argument("--n", type=int, default=2000, help="test images to classify (default 2000, at most 10000)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--region", default=None, help="carbon region (default $JP_REGION, else the world average)")
    ap.add_argument("--output", default=None, help="append a CodeCarbon-compatible row to this emissions.csv")
    a = ap.parse_args()
    if not 1 <= a.n <= 10000 or not 1 <= a.batch <= 4096 or not 1 <= a.threads <= 64:
        sys.exit("torch_infer.py: --n 1..10000, --batch 1..4096, --threads 1..64")
    model_dir = os.path.join(a.models_dir, a.model)
    if not os.path.isfile(os.path.join(model_dir, "config.json")):
        sys.exit("torch_infer.py: %s: no config.json: not a model of the zoo (see models/)" % model_dir)

    import torch
    sys.path.insert(0, a.models_dir)
    import train  # models/train.py: the architectures, the safetensors reader, Fashion-MNIST

    torch.set_num_threads(a.threads)
    with jouleprint.Tracker(region=a.region, output=a.output, project="torch-" + a.model) as t:
        t.phase("load")
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        model = train.build(cfg)
        model.load_state_dict(train.read_safetensors(os.path.join(model_dir, "model.safetensors")))
        model.eval()
        x_u8, labels = train.load_split("t10k")
        x = train.normalize(x_u8[:a.n]).contiguous()
        y = torch.from_numpy(labels[:a.n].astype("int64"))
        t.phase("infer")
        correct = 0
        with torch.inference_mode():
            for i in range(0, a.n, a.batch):
                pred = model(x[i:i + a.batch]).argmax(-1)
                correct += int((pred == y[i:i + a.batch]).sum())

    infer = t.phases["infer"]
    load = t.phases["load"]
    est = " (estimated)" if t.estimated else ""
    print("%s on %d Fashion-MNIST test images, batch %d, %d thread%s: accuracy %.2f%%"
          % (a.model, a.n, a.batch, a.threads, "" if a.threads == 1 else "s", 100.0 * correct / a.n))
    print("  load    %8.3f J in %.2f s%s" % (load["energy_j"], load["duration_s"], est))
    print("  infer   %8.3f J in %.2f s, %.3f mJ per image, %.0f images/s%s"
          % (infer["energy_j"], infer["duration_s"], infer["energy_j"] / a.n * 1e3, a.n / infer["duration_s"], est))
    print("  carbon  %.4g mg CO2e in all, %.4g ug per image (%s, %.1f gCO2e/kWh)%s"
          % (t.carbon_g * 1e3, infer["carbon_g"] / a.n * 1e6, t.region, t.intensity["g_per_kwh"], est))
    print("  per 1,000,000 images: %.4g kWh, %.4g kg CO2e%s"
          % (infer["energy_j"] / a.n * 1e6 / 3.6e6, infer["carbon_g"] / a.n * 1e6 / 1e3, est))
    if t.estimated:
        print("  ESTIMATED: no energy counter could be read here; the power model's figures (see `jouleprint sources`)")
    if a.output:
        print("  appended run %s to %s" % (t.run_id, a.output))


if __name__ == "__main__":
    main()
