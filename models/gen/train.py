#!/usr/bin/python3
"""Trains jouleprint's class-conditional diffusion models (gen-s, gen-m, gen-l) on Fashion-MNIST and
exports them for the C engine (src/nn) into models/NAME/:

    config.json          the architecture, the noise schedule, the class names and synonyms, the training state
    model.safetensors    the EMA weights, float32, plus the schedule's alphas_cumprod
    parity.safetensors   fixed noise, labels, steps and guidance, and the images PyTorch's DDIM makes from them
    README.md            the model card

Run with Debian's python3-torch (1.13) and python3-numpy; the data is Debian's dataset-fashion-mnist:

    chrt -i 0 nice -n 19 /usr/bin/python3 models/gen/train.py train --model gen-s --threads 2 &
    /usr/bin/python3 models/gen/train.py export --model gen-s       # latest checkpoint -> models/gen-s/
    /usr/bin/python3 models/gen/train.py probe                      # params, FLOPs/step, ms per training step
    /usr/bin/python3 models/gen/train.py selftest                   # a few steps, resume, determinism

Training is resumable: every --save-every seconds (and at the end, and on SIGTERM/SIGINT) the full state
(weights, EMA weights, optimizer, step count, data order, generator state) is written atomically to
$JP_GEN_CKPT/NAME/ckpt.pt (default /work/ckpt/NAME/); `train` continues from it. Given the seed, the
thread count and the torch build, the run is deterministic, whether or not it was interrupted (selftest
checks this). CI never trains.
"""
import argparse
import gzip
import json
import math
import os
import platform
import signal
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = os.environ.get("JP_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
CKPT_ROOT = os.environ.get("JP_GEN_CKPT", "/work/ckpt")
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Words a prompt may use for each class (lower case; matched as whole words, plurals with a trailing s).
SYNONYMS = [
    ["t-shirt", "tshirt", "tee", "top", "t shirt"],
    ["trouser", "trousers", "pants", "jeans", "slacks"],
    ["pullover", "sweater", "jumper", "hoodie"],
    ["dress", "gown"],
    ["coat", "jacket", "parka"],
    ["sandal", "flip-flop", "flip flop"],
    ["shirt", "blouse"],
    ["sneaker", "trainer", "running shoe"],
    ["bag", "handbag", "purse", "backpack"],
    ["ankle boot", "boot"],
]
NULL_CLASS = 10  # the "no class" label used for classifier-free guidance

# The three sizes. ch: base width; mult: width multipliers per resolution (28, 14, 7); nres: residual
# blocks per resolution; attn: self-attention in the middle block (7x7); heads: attention heads.
ZOO = {
    "gen-s": {"arch": {"block_out_channels": [8, 16, 32], "num_res_blocks": 1, "norm_num_groups": 4,
                       "timestep_channels": 32, "embedding_dim": 64,
                       "mid_attention": False, "attention_heads": 1},
              "about": "a small UNet: widths 8/16/32 at 28/14/7 pixels, one residual block each, no attention"},
    "gen-m": {"arch": {"block_out_channels": [16, 32, 64], "num_res_blocks": 1, "norm_num_groups": 8,
                       "timestep_channels": 32, "embedding_dim": 128,
                       "mid_attention": True, "attention_heads": 1},
              "about": "a UNet: widths 16/32/64 at 28/14/7 pixels, one residual block each, "
                       "self-attention at 7x7"},
    "gen-l": {"arch": {"block_out_channels": [32, 64, 96], "num_res_blocks": 2, "norm_num_groups": 8,
                       "timestep_channels": 64, "embedding_dim": 256,
                       "mid_attention": True, "attention_heads": 2},
              "about": "a larger UNet: widths 32/64/96 at 28/14/7 pixels, two residual blocks each, "
                       "two-head self-attention at 7x7"},
}
COMMON_ARCH = {"model_type": "jp-unet", "image_size": 28, "in_channels": 1, "out_channels": 1,
               "norm_eps": 1e-5, "time_embedding": "sinusoidal, [sin | cos], "
               "frequencies exp(-ln(10000) i / (d/2)), i = 0..d/2-1",
               "num_class_embeds": 11, "null_class": NULL_CLASS, "prediction_type": "epsilon",
               "num_train_timesteps": 1000, "beta_schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02,
               "pixel_scale": "x = pixel / 127.5 - 1"}
RECIPE = {"batch": 32, "lr": 7e-4, "warmup_steps": 200, "weight_decay": 0.0, "grad_clip": 1.0,
          "ema_decay": 0.999, "label_dropout": 0.1, "optimizer": "AdamW", "schedule": "linear warm-up, then constant",
          "augmentation": "none"}
PARITY = {"n": 4, "steps": [2, 10], "guidance": 3.0, "seed": 1234}


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


def load_train():
    x = read_idx(os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA_DIR, "train-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(np.array(x)).float().div_(127.5).sub_(1.0).unsqueeze(1)
    return x, torch.from_numpy(y.astype(np.int64))


# ---- the UNet -------------------------------------------------------------------------------------
# Tensor names follow Hugging Face diffusers where the part exists there (conv_in, time_embedding.linear_1,
# class_embedding, resnets.N.norm1/conv1/time_emb_proj/norm2/conv2/conv_shortcut, attentions.0.group_norm/
# to_q/to_k/to_v/to_out.0, downsamplers.0.conv, upsamplers.0.conv, conv_norm_out, conv_out); the block
# layout is this file's own and is spelled out in config.json and the model card.

def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(emb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):  # e: SiLU(embedding), shared by every block
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(e)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.conv_shortcut(x) if self.conv_shortcut is not None else x)


class Attention(nn.Module):
    def __init__(self, c, heads, groups, eps):
        super().__init__()
        self.heads = heads
        self.group_norm = nn.GroupNorm(groups, c, eps=eps)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        b, c, hh, ww = x.shape
        t = hh * ww
        h = self.group_norm(x).flatten(2).transpose(1, 2)  # b, t, c
        d = c // self.heads
        split = lambda y: y.view(b, t, self.heads, d).transpose(1, 2)
        q, k, v = split(self.to_q(h)), split(self.to_k(h)), split(self.to_v(h))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
        o = self.to_out[0]((w @ v).transpose(1, 2).reshape(b, t, c))
        return x + o.transpose(1, 2).reshape(b, c, hh, ww)


class Block(nn.Module):
    pass


class UNet(nn.Module):
    def __init__(self, a):
        super().__init__()
        widths, g, eps = a["block_out_channels"], a["norm_num_groups"], a["norm_eps"]
        ch, emb = widths[0], a["embedding_dim"]
        self.tch = a["timestep_channels"]
        self.time_embedding = nn.Module()
        self.time_embedding.linear_1 = nn.Linear(self.tch, emb)
        self.time_embedding.linear_2 = nn.Linear(emb, emb)
        self.class_embedding = nn.Embedding(a["num_class_embeds"], emb)
        self.conv_in = nn.Conv2d(a["in_channels"], ch, 3, padding=1)
        nl = len(widths)
        self.down_blocks = nn.ModuleList()
        cur = ch
        for i, w in enumerate(widths):
            blk = Block()
            blk.resnets = nn.ModuleList([ResBlock(cur if j == 0 else w, w, emb, g, eps)
                                         for j in range(a["num_res_blocks"])])
            cur = w
            if i < nl - 1:
                blk.downsamplers = nn.ModuleList([nn.Module()])
                blk.downsamplers[0].conv = nn.Conv2d(w, w, 3, stride=2, padding=1)
            self.down_blocks.append(blk)
        self.mid_block = Block()
        self.mid_block.resnets = nn.ModuleList([ResBlock(cur, cur, emb, g, eps), ResBlock(cur, cur, emb, g, eps)])
        if a["mid_attention"]:
            self.mid_block.attentions = nn.ModuleList([Attention(cur, a["attention_heads"], g, eps)])
        self.up_blocks = nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            blk = Block()
            blk.resnets = nn.ModuleList([ResBlock(cur + w if j == 0 else w, w, emb, g, eps)
                                         for j in range(a["num_res_blocks"])])
            cur = w
            if i > 0:
                blk.upsamplers = nn.ModuleList([nn.Module()])
                blk.upsamplers[0].conv = nn.Conv2d(w, w, 3, padding=1)
            self.up_blocks.append(blk)
        self.conv_norm_out = nn.GroupNorm(g, cur, eps=eps)
        self.conv_out = nn.Conv2d(cur, a["out_channels"], 3, padding=1)

    def forward(self, x, t, y):
        te = timestep_embedding(t, self.tch).to(x.dtype)
        e = self.time_embedding.linear_2(F.silu(self.time_embedding.linear_1(te)))
        e = F.silu(e + self.class_embedding(y))
        h = self.conv_in(x)
        skips = []
        for blk in self.down_blocks:
            for r in blk.resnets:
                h = r(h, e)
            skips.append(h)
            if hasattr(blk, "downsamplers"):
                h = blk.downsamplers[0].conv(h)
        h = self.mid_block.resnets[0](h, e)
        if hasattr(self.mid_block, "attentions"):
            h = self.mid_block.attentions[0](h)
        h = self.mid_block.resnets[1](h, e)
        for blk in self.up_blocks:
            h = torch.cat([h, skips.pop()], dim=1)
            for r in blk.resnets:
                h = r(h, e)
            if hasattr(blk, "upsamplers"):
                h = blk.upsamplers[0].conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.conv_norm_out(h)))


def arch_of(name):
    a = dict(COMMON_ARCH)
    a.update(ZOO[name]["arch"])
    return a


def build(name):
    return UNet(arch_of(name))


# ---- FLOPs: 2 x multiply-accumulates of every convolution, linear layer and attention product, for one
# ---- image and one network evaluation (a guided DDIM step costs two) --------------------------------

def count_flops(model):
    macs = [0]

    def conv_hook(m, inp, out):
        macs[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def lin_hook(m, inp, out):
        macs[0] += out.numel() * m.in_features

    def attn_hook(m, inp, out):
        b, c, hh, ww = inp[0].shape
        macs[0] += 2 * (hh * ww) * (hh * ww) * c

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
        elif isinstance(m, Attention):
            hooks.append(m.register_forward_hook(attn_hook))
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28), torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long))
    for h in hooks:
        h.remove()
    return 2 * macs[0]


# ---- the noise schedule and DDIM --------------------------------------------------------------------

def alphas_cumprod(a):
    betas = np.linspace(a["beta_start"], a["beta_end"], a["num_train_timesteps"], dtype=np.float64)
    return torch.from_numpy(np.cumprod(1.0 - betas).astype(np.float32))


def ddim_timesteps(steps, T):
    """The S timesteps of an S-step DDIM run, from noisiest to cleanest: t_i = floor((i+1) T / S) - 1."""
    return [((i + 1) * T) // steps - 1 for i in reversed(range(steps))]


@torch.no_grad()
def ddim_sample(model, ac, labels, noise, steps, guidance):
    """Deterministic DDIM (eta 0) with classifier-free guidance: eps = eps_u + g (eps_c - eps_u) (g = 1:
    conditional only, one evaluation). The predicted x0 is clipped to [-1, 1] and eps recomputed from it.
    Returns images in [-1, 1]."""
    x = noise.clone()
    T = ac.shape[0]
    ts = ddim_timesteps(steps, T)
    null = torch.full_like(labels, NULL_CLASS)
    for i, t in enumerate(ts):
        tt = torch.full_like(labels, t)
        if guidance == 1.0:
            eps = model(x, tt, labels)
        else:
            both = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([labels, null]))
            ec, eu = both.chunk(2)
            eps = eu + guidance * (ec - eu)
        a = ac[t].double()
        a_prev = ac[ts[i + 1]].double() if i + 1 < len(ts) else torch.tensor(1.0, dtype=torch.float64)
        sa, s1a = float(a.sqrt()), float((1 - a).sqrt())
        x0 = ((x - s1a * eps) / sa).clamp(-1.0, 1.0)
        eps = (x - sa * x0) / s1a
        x = float(a_prev.sqrt()) * x0 + float((1 - a_prev).sqrt()) * eps
    return x


# ---- safetensors, written by hand (as models/train.py) ---------------------------------------------

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
    hj += b" " * ((8 - len(hj) % 8) % 8)
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


# ---- training ------------------------------------------------------------------------------------------

def ckpt_path(name):
    return os.path.join(CKPT_ROOT, name, "ckpt.pt")


def save_ckpt(path, state):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def new_state(name, seed):
    torch.manual_seed(seed)
    model = build(name)
    ema = build(name)
    ema.load_state_dict(model.state_dict())
    g = torch.Generator().manual_seed(seed)
    return {"name": name, "seed": seed, "step": 0, "epoch": 0, "pos": 0, "perm": None,
            "model": model.state_dict(), "ema": ema.state_dict(), "opt": None, "gen": g.get_state(),
            "train_seconds": 0.0, "threads": None, "loss_log": [], "recipe": dict(RECIPE)}


def train(name, steps, threads, seed, save_every, log, path=None, x=None, y=None, quiet=False, minutes=None):
    """Trains NAME until it has taken STEPS optimizer steps in all (resuming from its checkpoint), or for
    MINUTES of wall time in this call, whichever comes first."""
    path = path or ckpt_path(name)
    if os.path.exists(path):
        st = torch.load(path)
        if st["name"] != name:
            raise SystemExit(f"{path}: a checkpoint of {st['name']}, not {name}")
        if st["seed"] != seed:
            raise SystemExit(f"{path}: trained with seed {st['seed']}, not {seed}; use --seed {st['seed']}")
    else:
        st = new_state(name, seed)
    if x is None:
        x, y = load_train()
    torch.set_num_threads(threads)
    if st["threads"] is not None and st["threads"] != threads:
        log(f"{name}: note: resumed with {threads} threads after {st['threads']}; float sums may differ "
            f"in the last bits from an uninterrupted run")
    st["threads"] = threads
    r = st["recipe"]
    model, ema = build(name), build(name)
    model.load_state_dict(st["model"])
    ema.load_state_dict(st["ema"])
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=r["lr"], weight_decay=r["weight_decay"])
    if st["opt"] is not None:
        opt.load_state_dict(st["opt"])
    g = torch.Generator()
    g.set_state(st["gen"])
    ac = alphas_cumprod(arch_of(name))
    T = ac.shape[0]
    n = x.shape[0]
    per_epoch = n // r["batch"]
    stop = {"now": False}

    def on_signal(sig, frame):
        stop["now"] = True

    old = [signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)]

    def snapshot():
        st.update(model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), gen=g.get_state())
        save_ckpt(path, st)

    t_last_save = time.time()
    t_seg = time.time()
    base_seconds = st["train_seconds"]
    loss_sum, loss_n = 0.0, 0
    deadline = time.time() + 60.0 * minutes if minutes else float("inf")
    while st["step"] < steps and not stop["now"] and time.time() < deadline:
        if st["perm"] is None or st["pos"] >= per_epoch:
            if st["perm"] is not None:
                st["epoch"] += 1
            st["perm"] = torch.randperm(n, generator=g)
            st["pos"] = 0
        idx = st["perm"][st["pos"] * r["batch"]:(st["pos"] + 1) * r["batch"]]
        x0, lab = x[idx], y[idx].clone()
        drop = torch.rand(len(idx), generator=g) < r["label_dropout"]
        lab[drop] = NULL_CLASS
        t = torch.randint(0, T, (len(idx),), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        a = ac[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        loss = F.mse_loss(model(xt, t, lab), noise)
        lr = r["lr"] * min(1.0, (st["step"] + 1) / r["warmup_steps"])
        for pg in opt.param_groups:
            pg["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), r["grad_clip"])
        opt.step()
        st["step"] += 1
        st["pos"] += 1
        d = min(r["ema_decay"], (1 + st["step"]) / (10 + st["step"]))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm, alpha=1 - d)
        loss_sum += loss.item()
        loss_n += 1
        st["train_seconds"] = base_seconds + (time.time() - t_seg)
        if st["step"] % 100 == 0 or st["step"] == steps:
            st["loss_log"].append([st["step"], loss_sum / loss_n])
            if not quiet:
                log(f"{name}: step {st['step']}/{steps} epoch {st['epoch'] + st['pos'] / per_epoch:.2f} "
                    f"loss {loss_sum / loss_n:.4f} lr {lr:.2e} {st['train_seconds']:.0f} s")
            loss_sum, loss_n = 0.0, 0
        if time.time() - t_last_save > save_every:
            snapshot()
            t_last_save = time.time()
    snapshot()
    for s, h in zip((signal.SIGTERM, signal.SIGINT), old):
        signal.signal(s, h)
    if not quiet:
        log(f"{name}: checkpoint at step {st['step']} written to {path}")
    if stop["now"]:
        raise SystemExit(f"{name}: stopped by a signal at step {st['step']}; the checkpoint is saved")
    return st


# ---- export --------------------------------------------------------------------------------------------

def export(name, path=None, out=None, quiet=False):
    path = path or ckpt_path(name)
    st = torch.load(path)
    a = arch_of(name)
    model = build(name)
    model.load_state_dict(st["ema"])
    model.eval()
    out = out or os.path.join(MODELS, name)
    os.makedirs(out, exist_ok=True)
    ac = alphas_cumprod(a)
    tensors = dict(model.state_dict())
    tensors["scheduler.alphas_cumprod"] = ac
    write_safetensors(os.path.join(out, "model.safetensors"), tensors,
                      {"format": "pt", "producer": "jouleprint models/gen/train.py", "weights": "EMA"})
    ref = build(name)
    w = read_safetensors(os.path.join(out, "model.safetensors"))
    ac_r = w.pop("scheduler.alphas_cumprod")
    ref.load_state_dict(w)
    ref.eval()
    params = sum(p.numel() for p in ref.parameters())
    flops = count_flops(ref)
    # Parity: fixed labels and noise (from the seed), PyTorch's images at each step count, computed in
    # float64 from the float32 weights (so that the reference carries no rounding of its own: the first
    # DDIM step divides the noise estimate's error by sqrt(alpha_bar) ~ 0.006).
    g = torch.Generator().manual_seed(PARITY["seed"])
    labels = torch.tensor([0, 1, 7, 9][:PARITY["n"]], dtype=torch.long)
    noise = torch.randn((PARITY["n"], 1, 28, 28), generator=g)
    par = {"labels": labels, "noise": noise, "guidance": torch.tensor([PARITY["guidance"]], dtype=torch.float32),
           "steps": torch.tensor(PARITY["steps"], dtype=torch.int64)}
    ref64 = build(name).double()
    ref64.load_state_dict({k: v.double() for k, v in w.items()})
    ref64.eval()
    for s in PARITY["steps"]:
        par[f"images_steps{s}"] = ddim_sample(ref64, ac_r, labels, noise.double(), s, PARITY["guidance"]).float().contiguous()
    # One network evaluation too (t = 500, noise as input), for debugging layer by layer.
    with torch.no_grad():
        par["eps_t500"] = ref64(noise.double(), torch.full_like(labels, 500), labels).float().contiguous()
    write_safetensors(os.path.join(out, "parity.safetensors"), par,
                      {"what": f"PyTorch {torch.__version__} DDIM (eta 0, x0 clipped; float64 from the float32 weights) images in [-1, 1] from "
                               f"fixed noise, labels, guidance {PARITY['guidance']} and steps {PARITY['steps']}; "
                               f"eps_t500: one evaluation at t = 500"})
    r = st["recipe"]
    epochs = st["epoch"] + st["pos"] / (60000 // r["batch"])
    cfg = dict(a)
    cfg.update({
        "architectures": ["JPUNetForClassConditionalGeneration"],
        "num_labels": 10,
        "id2label": {str(i): l for i, l in enumerate(LABELS)},
        "synonyms": {str(i): s for i, s in enumerate(SYNONYMS)},
        "torch_dtype": "float32",
        "jouleprint": {
            "name": name,
            "dataset": "fashion-mnist",
            "description": ZOO[name]["about"],
            "params": params,
            "flops_per_step": flops,
            "flops_note": "one network evaluation of one image; a guided DDIM step (guidance != 1) costs two",
            "train_steps": st["step"],
            "train_epochs": round(epochs, 3),
            "train_seconds": round(st["train_seconds"], 1),
            "train_threads": st["threads"],
            "train_loss_last": st["loss_log"][-1][1] if st["loss_log"] else None,
            "train_loss_log": st["loss_log"][-20:],
            "train_recipe": dict(r, seed=st["seed"]),
            "train_host": f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
            "train_complete": False,
            "parity": dict(PARITY),
        },
    })
    with open(os.path.join(out, "config.json.tmp"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    os.replace(os.path.join(out, "config.json.tmp"), os.path.join(out, "config.json"))
    write_card(out, name, cfg)
    if not quiet:
        print(f"{name}: params {params}, FLOPs/step {flops}, step {st['step']}, epochs {epochs:.2f}, "
              f"{st['train_seconds']:.0f} s, exported to {out}", flush=True)
    return cfg


def write_card(out, name, cfg):
    j = cfg["jouleprint"]
    r = j["train_recipe"]
    size = os.path.getsize(os.path.join(out, "model.safetensors"))
    arch = {k: v for k, v in cfg.items() if k not in ("jouleprint", "id2label", "synonyms", "architectures",
                                                     "torch_dtype")}
    syn = "\n".join(f"| {cfg['id2label'][str(i)]} | {', '.join(s)} |" for i, s in enumerate(SYNONYMS))
    loss = f"{j['train_loss_last']:.4f}" if j["train_loss_last"] is not None else "n/a"
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(f"""# Model card: {name}

{j['description'][0].upper() + j['description'][1:]}: a class-conditional denoising diffusion model
(epsilon prediction, {cfg['num_train_timesteps']} training timesteps, linear betas {cfg['beta_start']} to
{cfg['beta_end']}) trained by jouleprint on Fashion-MNIST (28x28 grey images of clothing, 10 classes;
Zalando Research, MIT licence; Debian's dataset-fashion-mnist), sampled with DDIM (eta 0) and
classifier-free guidance.

**The model is class-conditional, not a text model**: a prompt only chooses one of the ten classes, by
the class names and the synonyms below. A prompt that names no class, or two, is refused.

| | |
|---|---|
| parameters | {j['params']:,} |
| FLOPs per denoising step | {j['flops_per_step']:,} per image and network evaluation (2 x multiply-accumulates of convolutions, linear layers and attention products); a guided step costs two evaluations |
| training so far | **{j['train_steps']:,} steps of batch {r['batch']} ({j['train_epochs']:.2f} epochs), {j['train_seconds'] / 60:.0f} min on {j['train_threads']} thread(s)**, last logged loss {loss} |
| training complete | {'yes' if j['train_complete'] else 'no: an interim export; training continues (see models/gen/README.md)'} |
| weights | model.safetensors, float32 EMA weights (decay {r['ema_decay']}) plus scheduler.alphas_cumprod, {size:,} bytes |
| quality | measured by `jouleprint generate --quality` on these weights: see the table in models/gen/README.md |

**Prompt words** (whole words, case-insensitive):

| class | synonyms |
|---|---|
{syn}

**Training.** models/gen/train.py: batch {r['batch']}, {r['optimizer']} (learning rate {r['lr']}, weight decay
{r['weight_decay']}, {r['schedule']} over {r['warmup_steps']} steps), gradient norm clipped at {r['grad_clip']},
labels dropped to the null class with probability {r['label_dropout']} (for classifier-free guidance),
EMA of the weights with decay {r['ema_decay']}, seed {r['seed']}, on {j['train_host']}; trained under
`chrt -i 0 nice -n 19` on a shared 2-core machine, so the time is an upper bound. To continue training
from the checkpoint (if /work/ckpt/{name}/ckpt.pt is still there):

    chrt -i 0 nice -n 19 /usr/bin/python3 models/gen/train.py train --model {name} --steps N --threads 2
    /usr/bin/python3 models/gen/train.py export --model {name}

**Architecture** (config.json): conv_in 3x3 -> per resolution (28, 14, 7) residual blocks (GroupNorm,
SiLU, 3x3 conv, + projected embedding, GroupNorm, SiLU, 3x3 conv, + 1x1-conv or identity shortcut), the
output of each resolution kept as a skip, stride-2 3x3 conv down -> middle: residual block, (self-
attention over the 49 positions), residual block -> per resolution upwards: concatenate the skip,
residual blocks, nearest 2x upsample + 3x3 conv -> GroupNorm, SiLU, conv_out 3x3. The embedding is
SiLU(linear_2(SiLU(linear_1(sinusoidal(t)))) + class_embedding(label)), label 10 = no class.

    {json.dumps(arch)}

**Parity.** parity.safetensors holds fixed noise and labels and the images PyTorch's DDIM makes from them
with guidance {j['parity']['guidance']} at {j['parity']['steps']} steps; the C engine must match every pixel
within 1e-3.

**Intended use.** A reproducible text-to-image workload for measuring the energy of generation on a CPU and
comparing models and step counts on energy against image quality. Not a general image generator.
""")


# ---- commands ----------------------------------------------------------------------------------------------

def selftest():
    """A few steps on a tiny slice: resume gives the same weights as an uninterrupted run; export writes."""
    import tempfile
    x, y = load_train()
    x, y = x[:640], y[:640]
    quiet = lambda m: None
    with tempfile.TemporaryDirectory() as d:
        a = train("gen-s", 6, 1, 7, 1e9, quiet, path=os.path.join(d, "a.pt"), x=x, y=y, quiet=True)
        train("gen-s", 3, 1, 7, 1e9, quiet, path=os.path.join(d, "b.pt"), x=x, y=y, quiet=True)
        b = train("gen-s", 6, 1, 7, 1e9, quiet, path=os.path.join(d, "b.pt"), x=x, y=y, quiet=True)
        for k in a["ema"]:
            if not torch.equal(a["ema"][k], b["ema"][k]):
                raise SystemExit(f"selftest: resumed run differs in {k}")
        cfg = export("gen-s", path=os.path.join(d, "a.pt"), out=os.path.join(d, "out"), quiet=True)
        par = read_safetensors(os.path.join(d, "out", "parity.safetensors"))
        assert par["images_steps10"].shape == (4, 1, 28, 28)
        assert float(par["images_steps10"].abs().max()) <= 1.0 + 1e-6
    print(f"selftest: ok (resume is bit-identical; export wrote {cfg['jouleprint']['params']} parameters)")


def probe(threads):
    torch.set_num_threads(threads)
    x, y = load_train()
    for name in ZOO:
        m = build(name)
        params = sum(p.numel() for p in m.parameters())
        flops = count_flops(m)
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
        b = RECIPE["batch"]
        t0 = time.time()
        for s in range(3):
            t = torch.randint(0, 1000, (b,))
            loss = F.mse_loss(m(x[s * b:(s + 1) * b], t, y[s * b:(s + 1) * b]), x[s * b:(s + 1) * b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        dt = (time.time() - t0) / 3
        print(f"{name}: {params:,} params, {flops / 1e6:.1f} MFLOPs/step, {dt * 1000:.0f} ms/train step "
              f"(batch {b}), ~{dt * 1000 / 60:.0f} min per 1000 steps", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["train", "export", "probe", "selftest"])
    ap.add_argument("--model", action="append", help="gen-s, gen-m or gen-l (repeatable; train: in turn)")
    ap.add_argument("--steps", type=int, action="append",
                    help="train: total optimizer steps to reach (one per --model, or one for all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="export: write into this folder instead of models/NAME (one --model)")
    ap.add_argument("--save-every", type=float, default=300.0, help="seconds between checkpoints")
    ap.add_argument("--minutes", type=float, action="append",
                    help="train: stop a model after this many minutes of wall time in this run (one per --model, or one for all)")
    a = ap.parse_args()
    names = a.model or list(ZOO)
    for n in names:
        if n not in ZOO:
            raise SystemExit(f"unknown model {n}; known: {', '.join(ZOO)}")
    log = lambda m: print(time.strftime("%H:%M:%S ") + m, flush=True)
    if a.command == "probe":
        probe(a.threads)
    elif a.command == "selftest":
        selftest()
    elif a.command == "export":
        if a.out and len(names) != 1:
            raise SystemExit("--out: give exactly one --model")
        for n in names:
            export(n, out=a.out)
    else:
        steps = a.steps or [20000]
        if len(steps) == 1:
            steps = steps * len(names)
        if len(steps) != len(names):
            raise SystemExit("--steps: give one value, or one per --model")
        mins = a.minutes or [None]
        if len(mins) == 1:
            mins = mins * len(names)
        if len(mins) != len(names):
            raise SystemExit("--minutes: give one value, or one per --model")
        x, y = load_train()
        for n, s, m in zip(names, steps, mins):
            train(n, s, a.threads, a.seed, a.save_every, log, x=x, y=y, minutes=m)


if __name__ == "__main__":
    main()
