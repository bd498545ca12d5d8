#!/usr/bin/python3
"""Trains jouleprint's model zoo on Fashion-MNIST and writes, per model, into models/NAME/:

    config.json          the architecture (Hugging Face style keys) and the training figures
    model.safetensors    the weights, float32, named as Hugging Face's ViT / ResNet name them
    parity.safetensors   64 test images, their labels and the logits PyTorch computes for them
    README.md            the model card

Run with Debian's python3-torch (1.13) and python3-numpy; the data is Debian's dataset-fashion-mnist:

    nice -n 19 /usr/bin/python3 models/train.py                 # every model not yet trained
    nice -n 19 /usr/bin/python3 models/train.py --model cnn --force
    /usr/bin/python3 models/train.py --model vit --export-only   # re-export from models/NAME/model.safetensors

The safetensors files are written by this script itself (8-byte little-endian header length, a JSON
header, raw little-endian data), so python3-safetensors is not needed. CI never trains.
"""
import argparse
import gzip
import json
import math
import os
import platform
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = os.environ.get("JP_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
HERE = os.path.dirname(os.path.abspath(__file__))
# Fashion-MNIST training-set pixel mean and standard deviation (of pixel/255); the C engine applies
# the same normalization, read from config.json.
MEAN, STD = 0.2860, 0.3530
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
PARITY_N = 64

# The zoo. "hf" holds the Hugging Face style architecture keys written to config.json; "train" the recipe.
ZOO = {
    "mlp": {
        "hf": {"model_type": "mlp", "hidden_sizes": [128], "hidden_act": "relu"},
        "train": {"epochs": 10, "lr": 2e-3, "batch": 128, "wd": 1e-4},
        "about": "a multilayer perceptron: 784 -> 128 -> 10 with ReLU",
    },
    "cnn": {
        "hf": {"model_type": "cnn", "conv_channels": [16, 32], "kernel_size": 3, "fc_size": 128,
               "hidden_act": "relu"},
        "train": {"epochs": 5, "lr": 2e-3, "batch": 128, "wd": 1e-4},
        "about": "a small CNN: two 3x3 conv + batch norm + ReLU + 2x2 max-pool blocks (16, 32 channels), "
                 "then 1568 -> 128 -> 10",
    },
    "vit": {
        "hf": {"model_type": "vit", "image_size": 28, "patch_size": 4, "hidden_size": 64,
               "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 128,
               "hidden_act": "gelu", "layer_norm_eps": 1e-12, "qkv_bias": True},
        "train": {"epochs": 5, "lr": 1e-3, "batch": 128, "wd": 5e-2},
        "about": "a vision transformer: 4x4 patches (49 tokens + [CLS]), width 64, 4 layers, 4 heads, MLP 128",
    },
    "resnet-s": {
        "hf": {"model_type": "resnet", "layer_type": "basic", "embedding_size": 16,
               "hidden_sizes": [16, 32, 64], "depths": [1, 1, 1], "hidden_act": "relu",
               "downsample_in_first_stage": False, "downsample_in_bottleneck": False,
               "embedding_kernel_size": 3, "embedding_stride": 1, "embedding_pooling": False},
        "train": {"epochs": 4, "lr": 2e-3, "batch": 128, "wd": 1e-4},
        "about": "a ResNet of basic blocks: 3x3 stem (16), stages of 16, 32, 64 channels, one block each",
    },
    "resnet-m": {
        "hf": {"model_type": "resnet", "layer_type": "bottleneck", "embedding_size": 32,
               "hidden_sizes": [64, 128, 256], "depths": [2, 2, 2], "hidden_act": "relu",
               "downsample_in_first_stage": False, "downsample_in_bottleneck": False,
               "embedding_kernel_size": 3, "embedding_stride": 1, "embedding_pooling": False},
        "train": {"epochs": 2, "lr": 2e-3, "batch": 128, "wd": 1e-4},
        "about": "a ResNet of bottleneck blocks: 3x3 stem (32), stages of 64, 128, 256 channels "
                 "(reduction 4), two blocks each",
    },
}


# ---- data ------------------------------------------------------------------------------------------

def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    if magic >> 8 != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(kind):
    x = read_idx(os.path.join(DATA_DIR, f"{kind}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA_DIR, f"{kind}-labels-idx1-ubyte.gz"))
    return x, y


def normalize(x_u8):
    x = torch.from_numpy(np.array(x_u8)).float().div_(255.0)
    return x.sub_(MEAN).div_(STD).unsqueeze(1)  # N,1,28,28


# ---- models (module names follow Hugging Face transformers' ViT and ResNet) --------------------------

class ConvLayer(nn.Module):  # transformers' ResNetConvLayer
    def __init__(self, cin, cout, k=3, stride=1, act=True):
        super().__init__()
        self.convolution = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)
        self.normalization = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.normalization(self.convolution(x))
        return F.relu(x) if self.act else x


class ShortCut(nn.Module):  # transformers' ResNetShortCut
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.convolution = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
        self.normalization = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.normalization(self.convolution(x))


class BasicLayer(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.shortcut = ShortCut(cin, cout, stride) if cin != cout or stride != 1 else nn.Identity()
        self.layer = nn.Sequential(ConvLayer(cin, cout, stride=stride), ConvLayer(cout, cout, act=False))

    def forward(self, x):
        return F.relu(self.layer(x) + self.shortcut(x))


class BottleneckLayer(nn.Module):
    def __init__(self, cin, cout, stride, downsample_in_bottleneck=False, reduction=4):
        super().__init__()
        mid = cout // reduction
        self.shortcut = ShortCut(cin, cout, stride) if cin != cout or stride != 1 else nn.Identity()
        self.layer = nn.Sequential(
            ConvLayer(cin, mid, k=1, stride=stride if downsample_in_bottleneck else 1),
            ConvLayer(mid, mid, stride=1 if downsample_in_bottleneck else stride),
            ConvLayer(mid, cout, k=1, act=False))

    def forward(self, x):
        return F.relu(self.layer(x) + self.shortcut(x))


class Stage(nn.Module):
    def __init__(self, cfg, cin, cout, stride, depth):
        super().__init__()
        if cfg["layer_type"] == "basic":
            mk = lambda i, o, s: BasicLayer(i, o, s)
        else:
            mk = lambda i, o, s: BottleneckLayer(i, o, s, cfg["downsample_in_bottleneck"])
        self.layers = nn.Sequential(mk(cin, cout, stride), *[mk(cout, cout, 1) for _ in range(depth - 1)])

    def forward(self, x):
        return self.layers(x)


class ResNet(nn.Module):
    def __init__(self, cfg, nlabels=10):
        super().__init__()
        self.resnet = nn.Module()
        self.resnet.embedder = nn.Module()
        self.resnet.embedder.embedder = ConvLayer(1, cfg["embedding_size"], k=cfg["embedding_kernel_size"],
                                                  stride=cfg["embedding_stride"])
        self.pool = cfg["embedding_pooling"]
        self.resnet.encoder = nn.Module()
        stages, cin = [], cfg["embedding_size"]
        for i, (cout, depth) in enumerate(zip(cfg["hidden_sizes"], cfg["depths"])):
            stride = (2 if cfg["downsample_in_first_stage"] else 1) if i == 0 else 2
            stages.append(Stage(cfg, cin, cout, stride, depth))
            cin = cout
        self.resnet.encoder.stages = nn.ModuleList(stages)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(cin, nlabels))

    def forward(self, x):
        x = self.resnet.embedder.embedder(x)
        if self.pool:
            x = F.max_pool2d(x, 3, 2, 1)
        for s in self.resnet.encoder.stages:
            x = s(x)
        return self.classifier(F.adaptive_avg_pool2d(x, 1))


class CNN(nn.Module):
    def __init__(self, cfg, nlabels=10):
        super().__init__()
        self.cnn = nn.Module()
        layers, cin, side = [], 1, 28
        for c in cfg["conv_channels"]:
            layers.append(ConvLayer(cin, c, k=cfg["kernel_size"]))
            cin, side = c, side // 2
        self.cnn.layers = nn.ModuleList(layers)
        self.cnn.fc = nn.Linear(cin * side * side, cfg["fc_size"])
        self.classifier = nn.Linear(cfg["fc_size"], nlabels)

    def forward(self, x):
        for l in self.cnn.layers:
            x = F.max_pool2d(l(x), 2)
        return self.classifier(F.relu(self.cnn.fc(x.flatten(1))))


class MLP(nn.Module):
    def __init__(self, cfg, nlabels=10):
        super().__init__()
        self.mlp = nn.Module()
        sizes = [28 * 28] + cfg["hidden_sizes"]
        self.mlp.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.classifier = nn.Linear(sizes[-1], nlabels)

    def forward(self, x):
        x = x.flatten(1)
        for l in self.mlp.layers:
            x = F.relu(l(x))
        return self.classifier(x)


class ViTLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, i = cfg["hidden_size"], cfg["intermediate_size"]
        self.heads = cfg["num_attention_heads"]
        eps = cfg["layer_norm_eps"]
        self.attention = nn.Module()
        self.attention.attention = nn.Module()
        for n in ("query", "key", "value"):
            setattr(self.attention.attention, n, nn.Linear(d, d, bias=cfg["qkv_bias"]))
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(d, d)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(d, i)
        self.output = nn.Module()
        self.output.dense = nn.Linear(i, d)
        self.layernorm_before = nn.LayerNorm(d, eps=eps)
        self.layernorm_after = nn.LayerNorm(d, eps=eps)

    def forward(self, x):
        b, t, d = x.shape
        h = self.layernorm_before(x)
        a = self.attention.attention
        split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(a.query(h)), split(a.key(h)), split(a.value(h))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1)
        ctx = (w @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.attention.output.dense(ctx)
        h = self.layernorm_after(x)
        return x + self.output.dense(F.gelu(self.intermediate.dense(h)))


class ViT(nn.Module):
    def __init__(self, cfg, nlabels=10):
        super().__init__()
        d, p = cfg["hidden_size"], cfg["patch_size"]
        n = (cfg["image_size"] // p) ** 2
        self.vit = nn.Module()
        self.vit.embeddings = nn.Module()
        self.vit.embeddings.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.vit.embeddings.position_embeddings = nn.Parameter(torch.randn(1, n + 1, d) * 0.02)
        self.vit.embeddings.patch_embeddings = nn.Module()
        self.vit.embeddings.patch_embeddings.projection = nn.Conv2d(1, d, p, stride=p)
        self.vit.encoder = nn.Module()
        self.vit.encoder.layer = nn.ModuleList([ViTLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.vit.layernorm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])
        self.classifier = nn.Linear(d, nlabels)

    def forward(self, x):
        e = self.vit.embeddings
        x = e.patch_embeddings.projection(x).flatten(2).transpose(1, 2)
        x = torch.cat([e.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + e.position_embeddings
        for l in self.vit.encoder.layer:
            x = l(x)
        return self.classifier(self.vit.layernorm(x)[:, 0])


def build(hf):
    return {"mlp": MLP, "cnn": CNN, "resnet": ResNet, "vit": ViT}[hf["model_type"]](hf)


# ---- FLOPs: 2 x multiply-accumulates of every convolution, linear layer and attention product ---------

def count_flops(model):
    macs = [0]

    def conv_hook(m, inp, out):
        macs[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def lin_hook(m, inp, out):
        macs[0] += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, 1, 28, 28))
    for h in hooks:
        h.remove()
    if isinstance(model, ViT):  # q k^T and weights x v
        l0 = model.vit.encoder.layer[0]
        t = model.vit.embeddings.position_embeddings.shape[1]
        d = l0.attention.output.dense.in_features
        macs[0] += len(model.vit.encoder.layer) * 2 * t * t * d
    return 2 * macs[0]


# ---- safetensors, written by hand -----------------------------------------------------------------

DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.uint8: "U8", torch.float16: "F16"}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)  # pad so the data starts 8-byte aligned, as Hugging Face does
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    inv = {v: k for k, v in DTYPES.items()}
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        np_dtype = torch.empty(0, dtype=inv[e["dtype"]]).numpy().dtype
        arr = np.frombuffer(raw, np_dtype, count=(b - a) // np_dtype.itemsize, offset=8 + n + a)
        out[name] = torch.from_numpy(arr.copy()).reshape(e["shape"])
    return out


# ---- training ----------------------------------------------------------------------------------------

def evaluate(model, x, batch=500):
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(model(x[i:i + batch]))
    return torch.cat(outs)


def train(name, spec, xtr, ytr, xte, yte, threads, seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = build(spec["hf"])
    tr = spec["train"]
    opt = torch.optim.AdamW(model.parameters(), lr=tr["lr"], weight_decay=tr["wd"])
    steps_per_epoch = math.ceil(len(xtr) / tr["batch"])
    total = tr["epochs"] * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=tr["lr"], total_steps=total, pct_start=0.15)
    g = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for ep in range(tr["epochs"]):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        loss_sum, seen = 0.0, 0
        for s in range(steps_per_epoch):
            idx = perm[s * tr["batch"]:(s + 1) * tr["batch"]]
            xb, yb = xtr[idx], ytr[idx]
            flip = torch.rand(len(idx), generator=g) < 0.5  # random horizontal flip
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
        acc = (evaluate(model, xte).argmax(1) == yte).float().mean().item()
        print(f"{name}: epoch {ep + 1}/{tr['epochs']} loss {loss_sum / seen:.4f} test acc {acc:.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    return model, time.time() - t0


def export(name, spec, model, train_s, threads, xte_u8, yte, xte, seed):
    out = os.path.join(HERE, name)
    os.makedirs(out, exist_ok=True)
    model.eval()
    sd = {k: v for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(out, "model.safetensors"), sd, {"format": "pt", "producer": "jouleprint models/train.py"})
    # Reload what was written and evaluate with exactly those weights.
    ref = build(spec["hf"])
    ref.load_state_dict(read_safetensors(os.path.join(out, "model.safetensors")))
    logits = evaluate(ref, xte)
    pred = logits.argmax(1)
    correct = int((pred == yte).sum().item())
    params = sum(p.numel() for p in ref.parameters())
    flops = count_flops(ref)
    write_safetensors(os.path.join(out, "parity.safetensors"), {
        "images": torch.from_numpy(np.ascontiguousarray(xte_u8[:PARITY_N])).reshape(PARITY_N, 1, 28, 28),
        "labels": yte[:PARITY_N].to(torch.int64),
        "logits": logits[:PARITY_N].contiguous(),
        "predictions": pred.to(torch.uint8),
    }, {"what": f"PyTorch {torch.__version__} logits of the first {PARITY_N} Fashion-MNIST test images, "
                f"and its predicted label for every test image"})
    cfg = dict(spec["hf"])
    cfg.update({
        "architectures": [{"mlp": "MLPForImageClassification", "cnn": "CNNForImageClassification",
                           "resnet": "ResNetForImageClassification", "vit": "ViTForImageClassification"}[cfg["model_type"]]],
        "num_channels": 1,
        "image_size": 28,
        "num_labels": 10,
        "id2label": {str(i): l for i, l in enumerate(LABELS)},
        "torch_dtype": "float32",
        "jouleprint": {
            "name": name,
            "dataset": "fashion-mnist",
            "description": spec["about"],
            "input_mean": MEAN, "input_std": STD,
            "params": params,
            "flops_per_image": flops,
            "test_correct": correct,
            "test_total": len(yte),
            "test_accuracy": correct / len(yte),
            "train_seconds": round(train_s, 1),
            "train_threads": threads,
            "train_epochs": spec["train"]["epochs"],
            "train_recipe": dict(spec["train"], optimizer="AdamW", schedule="one-cycle (15% warm-up)",
                                 augmentation="random horizontal flip", seed=seed),
            "train_host": f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
        },
    })
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_card(out, name, cfg)
    print(f"{name}: params {params}, FLOPs/image {flops}, test accuracy {correct}/{len(yte)} = {correct / len(yte):.4f}, "
          f"trained in {train_s:.0f} s", flush=True)


def write_card(out, name, cfg):
    j = cfg["jouleprint"]
    r = j["train_recipe"]
    arch = {k: v for k, v in cfg.items() if k not in ("jouleprint", "id2label", "architectures", "torch_dtype")}
    size = os.path.getsize(os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(f"""# Model card: {name}

{j['description'][0].upper() + j['description'][1:]}.
Trained by jouleprint on Fashion-MNIST (10 classes of 28x28 grey images of clothing; Zalando Research,
MIT licence; Debian's dataset-fashion-mnist) for the built-in `classify` workload: `jouleprint classify
--model {name}`.

| | |
|---|---|
| parameters | {j['params']:,} |
| FLOPs per image | {j['flops_per_image']:,} (2 x multiply-accumulates of convolutions, linear layers and attention products) |
| test accuracy | {j['test_accuracy'] * 100:.2f}% ({j['test_correct']} / {j['test_total']}, the full Fashion-MNIST test set) |
| training time | {j['train_seconds']:.0f} s on {j['train_threads']} thread(s) ({j['train_host']}) |
| weights | model.safetensors, float32, {size:,} bytes |

**Training.** models/train.py: {r['epochs']} epochs over the 60,000 training images, batch {r['batch']},
{r['optimizer']} (peak learning rate {r['lr']}, weight decay {r['wd']}), {r['schedule']} schedule,
{r['augmentation']}, seed {r['seed']}; inputs are pixel/255 normalized with mean {j['input_mean']} and
std {j['input_std']}. Trained under `nice -n 19` on a shared 2-core machine, so the time is an upper bound.
No validation split was used to choose anything: the recipe was fixed before training and the test set
was only scored.

**Architecture** (config.json; tensor names follow Hugging Face transformers where the family exists there):

    {json.dumps(arch)}

**Parity.** parity.safetensors holds the first {PARITY_N} test images, their labels, and the logits PyTorch
computed for them from these exact weights, plus PyTorch's predicted label for each of the 10,000 test
images; jouleprint's C engine must match every logit within 1e-4 (tests/test_nn_parity.c), predict the
same label for every test image, and so reproduce the test accuracy above exactly (tests/test_classify.c).

**Intended use.** A reproducible workload for measuring the energy of inference on a CPU, and for comparing
models of one task on energy against accuracy. Not a production classifier: Fashion-MNIST is small and
clean, and these models are deliberately small and briefly trained.
""")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="train only this model (repeatable); default: all")
    ap.add_argument("--force", action="store_true", help="retrain models that are already there")
    ap.add_argument("--export-only", action="store_true", help="re-export from the model.safetensors present")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--probe", action="store_true", help="time 20 training steps per model and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    names = a.model or ["mlp", "cnn", "resnet-s", "vit", "resnet-m"]
    for n in names:
        if n not in ZOO:
            raise SystemExit(f"unknown model {n}; known: {', '.join(ZOO)}")
    xtr_u8, ytr = load_split("train")
    xte_u8, yte = load_split("t10k")
    xtr, xte = normalize(xtr_u8), normalize(xte_u8)
    ytr, yte = torch.from_numpy(ytr.astype(np.int64)), torch.from_numpy(yte.astype(np.int64))
    if a.probe:
        for n in names:
            m = build(ZOO[n]["hf"])
            opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
            t0 = time.time()
            for s in range(20):
                loss = F.cross_entropy(m(xtr[s * 128:(s + 1) * 128]), ytr[s * 128:(s + 1) * 128])
                opt.zero_grad()
                loss.backward()
                opt.step()
            dt = (time.time() - t0) / 20
            print(f"{n}: {count_flops(m) / 1e6:.2f} MFLOPs/image, {dt * 1000:.0f} ms/step, "
                  f"~{dt * 469 / 60:.1f} min/epoch", flush=True)
        return
    for n in names:
        spec = ZOO[n]
        path = os.path.join(HERE, n, "model.safetensors")
        if a.export_only:
            model = build(spec["hf"])
            model.load_state_dict(read_safetensors(path))
            with open(os.path.join(HERE, n, "config.json")) as f:
                old = json.load(f)["jouleprint"]
            export(n, spec, model, old["train_seconds"], old["train_threads"], xte_u8, yte, xte, a.seed)
            continue
        if os.path.exists(path) and not a.force:
            print(f"{n}: already trained ({path}); --force to retrain", flush=True)
            continue
        model, secs = train(n, spec, xtr, ytr, xte, yte, a.threads, a.seed)
        export(n, spec, model, secs, a.threads, xte_u8, yte, xte, a.seed)


if __name__ == "__main__":
    main()
