#!/usr/bin/python3
"""Trains jouleprint's summarization models (sum-s, sum-m, sum-l) from scratch on Debian package descriptions
(long description -> one-line synopsis), resumably, and exports them for the C engine.

    /usr/bin/python3 data/summarize/build.py                         # the data and the tokenizer, first
    chrt -i 0 nice -n 19 /usr/bin/python3 models/sum/train.py --model sum-s --threads 1 \
        >> /work/ckpt/sum-s/train.log 2>&1 &                         # trains, resuming from its checkpoint
    /usr/bin/python3 models/sum/train.py --model sum-s --export      # models/sum-s/ from the latest checkpoint

Architecture (T5-like): a pre-norm encoder-decoder transformer; RMSNorm (no bias, no mean), attention and
ReLU feed-forward without biases, learned absolute position embeddings (encoder and decoder), one embedding
matrix shared by the encoder input, the decoder input and the output projection (logits = (h * d^-0.5) E^T),
a final RMSNorm in the encoder and the decoder. Scaled dot-product attention (1/sqrt(head dim)).

Copying (cfg "copy", a pointer-generator head after See et al. 2017, "Get To The Point"): a synopsis mostly
reuses the description's own words (package and project names above all), which a vocabulary of a few
thousand pieces and a small decoder cannot spell from memory. With h the decoder's final normalized state
and e_1..e_S the encoder's output:
    a = softmax_j((Wq h) . e_j / sqrt(d))          (over the source tokens; Wq is copy.q.weight)
    c = sum_j a_j e_j,  g = sigmoid(wg . [h; c] + bg)   (copy.gate.weight, copy.gate.bias)
    P(w) = g softmax(logits)(w) + (1 - g) sum_{j: src_j = w} a_j
and the model's output is log P (so greedy and beam search read it as they read log-probabilities).

Deterministic given --seed and --threads: the order of the data in epoch e is a permutation drawn from
numpy.random.RandomState(seed + e); the checkpoint holds the model, the optimizer, the step, the position in
the epoch and the RNG states (torch, numpy, python), written atomically (temporary file + rename) every
--ckpt-min minutes and at the end, in --ckpt-dir (default /work/ckpt/<model>/), outside the source tree.
"""
import argparse
import json
import math
import os
import platform
import random
import shutil
import signal
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "data", "summarize"))
import build as data  # noqa: E402  (the data script: TSV reading and the tokenizer)

MAX_SRC, MAX_TGT = 128, 48

SIZES = {
    "sum-xs": {"d_model": 32, "num_heads": 2, "d_ff": 64, "num_layers": 2, "num_decoder_layers": 2, "copy": True,
               "train": {"lr": 3e-3, "batch": 32, "dropout": 0.0}},
    "sum-s": {"d_model": 64, "num_heads": 4, "d_ff": 256, "num_layers": 2, "num_decoder_layers": 2, "copy": True,
              "train": {"lr": 2e-3, "batch": 32, "dropout": 0.0}},
    "sum-m": {"d_model": 128, "num_heads": 4, "d_ff": 512, "num_layers": 3, "num_decoder_layers": 3, "copy": True,
              "train": {"lr": 1.5e-3, "batch": 32, "dropout": 0.1}},
    "sum-l": {"d_model": 192, "num_heads": 6, "d_ff": 768, "num_layers": 4, "num_decoder_layers": 4, "copy": True,
              "train": {"lr": 1e-3, "batch": 32, "dropout": 0.1}},
}
WARMUP = 400
EPS = 1e-6


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


class Attention(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h, self.dh = h, d // h
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)

    def forward(self, x, kv, mask):
        """x [B,T,d], kv [B,S,d], mask broadcastable to [B,h,T,S], True where attention is allowed."""
        B, T, _ = x.shape
        S = kv.shape[1]
        q = self.q(x).view(B, T, self.h, self.dh).transpose(1, 2)
        k = self.k(kv).view(B, S, self.h, self.dh).transpose(1, 2)
        v = self.v(kv).view(B, S, self.h, self.dh).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.dh))
        s = s.masked_fill(~mask, float("-inf"))
        p = torch.softmax(s, dim=-1)
        return self.o(torch.matmul(p, v).transpose(1, 2).reshape(B, T, self.h * self.dh))


class DenseReluDense(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.wi = nn.Linear(d, ff, bias=False)
        self.wo = nn.Linear(ff, d, bias=False)

    def forward(self, x):
        return self.wo(F.relu(self.wi(x)))


class SubLayer(nn.Module):
    """One pre-norm residual sub-layer; the attribute names give Hugging Face T5's tensor names."""

    def __init__(self, kind, d, h, ff):
        super().__init__()
        self.layer_norm = RMSNorm(d)
        if kind == "self":
            self.SelfAttention = Attention(d, h)
        elif kind == "cross":
            self.EncDecAttention = Attention(d, h)
        else:
            self.DenseReluDense = DenseReluDense(d, ff)


class Block(nn.Module):
    def __init__(self, cfg, decoder):
        super().__init__()
        d, h, ff = cfg["d_model"], cfg["num_heads"], cfg["d_ff"]
        kinds = ["self", "cross", "ff"] if decoder else ["self", "ff"]
        self.layer = nn.ModuleList([SubLayer(k, d, h, ff) for k in kinds])
        self.decoder = decoder

    def forward(self, x, self_mask, enc=None, cross_mask=None, drop=0.0):
        l0 = self.layer[0]
        y = l0.layer_norm(x)
        x = x + F.dropout(l0.SelfAttention(y, y, self_mask), drop, self.training)
        if self.decoder:
            l1 = self.layer[1]
            x = x + F.dropout(l1.EncDecAttention(l1.layer_norm(x), enc, cross_mask), drop, self.training)
        lf = self.layer[-1]
        return x + F.dropout(lf.DenseReluDense(lf.layer_norm(x)), drop, self.training)


class CopyHead(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.q = nn.Linear(d, d, bias=False)
        self.gate = nn.Linear(2 * d, 1)


class Stack(nn.Module):
    def __init__(self, cfg, decoder, npos):
        super().__init__()
        n = cfg["num_decoder_layers"] if decoder else cfg["num_layers"]
        self.embed_positions = nn.Embedding(npos, cfg["d_model"])
        self.block = nn.ModuleList([Block(cfg, decoder) for _ in range(n)])
        self.final_layer_norm = RMSNorm(cfg["d_model"])


class Seq2Seq(nn.Module):
    def __init__(self, cfg, dropout=0.0):
        super().__init__()
        self.cfg, self.drop = cfg, dropout
        self.shared = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
        self.encoder = Stack(cfg, False, cfg["max_source_positions"])
        self.decoder = Stack(cfg, True, cfg["max_target_positions"])
        if cfg.get("copy"):
            self.copy = CopyHead(cfg["d_model"])
        g = torch.Generator().manual_seed(cfg.get("init_seed", 1))
        for name, p in self.named_parameters():
            if name.endswith("layer_norm.weight"):
                continue
            if name == "copy.gate.bias":
                p.data.zero_()
            elif name == "shared.weight":
                p.data.copy_(torch.randn(p.shape, generator=g))
            elif "embed_positions" in name:
                p.data.copy_(torch.randn(p.shape, generator=g) * 0.1)
            else:
                p.data.copy_(torch.randn(p.shape, generator=g) * (1.0 / math.sqrt(p.shape[1])))

    def encode(self, src):
        B, S = src.shape
        x = self.shared(src) + self.encoder.embed_positions.weight[:S]
        x = F.dropout(x, self.drop, self.training)
        mask = (src != data.PAD)[:, None, None, :]
        for blk in self.encoder.block:
            x = blk(x, mask, drop=self.drop)
        return self.encoder.final_layer_norm(x), mask

    def decode(self, tgt_in, enc, enc_mask, src):
        B, T = tgt_in.shape
        x = self.shared(tgt_in) + self.decoder.embed_positions.weight[:T]
        x = F.dropout(x, self.drop, self.training)
        causal = torch.ones(T, T, dtype=torch.bool).tril()[None, None]
        for blk in self.decoder.block:
            x = blk(x, causal, enc, enc_mask, drop=self.drop)
        return self.output(self.decoder.final_layer_norm(x), enc, enc_mask, src)

    def output(self, h, enc, enc_mask, src):
        """h: the decoder's final normalized states [B,T,d]. Logits, or with copying log P (see the top)."""
        logits = torch.matmul(h * (self.cfg["d_model"] ** -0.5), self.shared.weight.t())
        if not self.cfg.get("copy"):
            return logits
        B, T, d = h.shape
        S = enc.shape[1]
        s = torch.matmul(self.copy.q(h), enc.transpose(-1, -2)) * (1.0 / math.sqrt(d))
        a = torch.softmax(s.masked_fill(~enc_mask[:, 0], float("-inf")), -1)           # [B,T,S]
        z = self.copy.gate(torch.cat([h, torch.matmul(a, enc)], -1)).squeeze(-1)     # [B,T]
        c = torch.zeros(B, T, logits.shape[-1], dtype=h.dtype).scatter_add(2, src[:, None, :].expand(B, T, S), a)
        logc = torch.where(c > 0, torch.log(c.clamp_min(1e-30)), torch.full_like(c, float("-inf")))
        return torch.logaddexp(F.log_softmax(logits, -1) + F.logsigmoid(z)[..., None],
                               F.logsigmoid(-z)[..., None] + logc)

    def forward(self, src, tgt_in):
        enc, m = self.encode(src)
        return self.decode(tgt_in, enc, m, src)


def make_cfg(name, vocab):
    s = SIZES[name]
    cfg = {k: v for k, v in s.items() if k != "train"}
    cfg.update({"model_type": "jp-seq2seq", "vocab_size": vocab, "max_source_positions": MAX_SRC,
                "max_target_positions": MAX_TGT, "pad_token_id": data.PAD, "eos_token_id": data.EOS,
                "decoder_start_token_id": data.BOS, "layer_norm_epsilon": EPS, "norm": "rms",
                "feed_forward_proj": "relu", "position_embedding": "learned", "tie_word_embeddings": True,
                "tied_output_scale": "d_model^-0.5", "attention_scale": "1/sqrt(d_kv)"})
    return cfg


def flops_per_token(cfg, n_src, n_tgt):
    """Forward FLOPs (2 x multiply-accumulates) of matrix products, attention products included, for one
    source token (encoder, at source length n_src) and one generated token (decoder + output projection, at
    source length n_src and mean decoder position n_tgt / 2)."""
    d, ff, V = cfg["d_model"], cfg["d_ff"], cfg["vocab_size"]
    enc = cfg["num_layers"] * (4 * d * d + 2 * d * ff + 2 * n_src * d)
    dec = cfg["num_decoder_layers"] * (8 * d * d + 2 * d * ff + 2 * (n_tgt / 2) * d + 2 * n_src * d) + d * V
    if cfg.get("copy"):  # Wq, the scores and the context over the source, the gate
        dec += d * d + 2 * n_src * d + 2 * d
    return 2 * enc, 2 * dec

# ---------------------------------------------------------------------------------------------- data

def load_split(path, tok, max_src=MAX_SRC):
    rows = data.read_tsv(path)
    out = []
    for r in rows:
        s = tok.encode(r[3])[:max_src]
        t = tok.encode(r[2])[:MAX_TGT - 1]
        out.append((s, t))
    return rows, out


def batches_for_epoch(pairs, batch, seed, epoch):
    """Deterministic: shuffle, cut into pools of 50 batches, sort each pool by source length, batch, shuffle
    the batches."""
    rs = np.random.RandomState(seed * 1000 + epoch)
    idx = rs.permutation(len(pairs))
    out = []
    pool = batch * 50
    for i in range(0, len(idx), pool):
        chunk = sorted(idx[i:i + pool].tolist(), key=lambda j: (len(pairs[j][0]), j))
        out.extend(chunk[k:k + batch] for k in range(0, len(chunk), batch))
    order = rs.permutation(len(out))
    return [out[i] for i in order]


def collate(pairs, ids):
    S = max(len(pairs[i][0]) for i in ids)
    T = max(len(pairs[i][1]) for i in ids) + 1
    src = torch.full((len(ids), S), data.PAD, dtype=torch.long)
    tin = torch.full((len(ids), T), data.PAD, dtype=torch.long)
    tout = torch.full((len(ids), T), -100, dtype=torch.long)
    for b, i in enumerate(ids):
        s, t = pairs[i]
        src[b, :len(s)] = torch.tensor(s)
        tin[b, 0] = data.BOS
        tin[b, 1:len(t) + 1] = torch.tensor(t, dtype=torch.long)
        tout[b, :len(t)] = torch.tensor(t, dtype=torch.long)
        tout[b, len(t)] = data.EOS
    return src, tin, tout

# ---------------------------------------------------------------------------------------------- checkpoints

def save_ckpt(path, model, opt, state):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state,
                "rng_torch": torch.get_rng_state(), "rng_numpy": np.random.get_state(),
                "rng_python": random.getstate()}, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def lr_at(step, peak, schedule="rsqrt", horizon=0):
    """rsqrt: linear warm-up, then inverse square root decay. cosine: linear warm-up, then a cosine from the
    peak to 0 at step `horizon` (the run's --max-steps)."""
    step = max(step, 1)
    if schedule == "cosine":
        if step < WARMUP:
            return peak * step / WARMUP
        return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - WARMUP) / max(1, horizon - WARMUP))))
    return peak * min(step / WARMUP, math.sqrt(WARMUP / step))


@torch.no_grad()
def valid_loss(model, pairs, n=300):
    model.eval()
    tot, cnt = 0.0, 0
    ids = list(range(min(n, len(pairs))))
    for k in range(0, len(ids), 50):
        src, tin, tout = collate(pairs, ids[k:k + 50])
        logits = model(src, tin)
        tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1), ignore_index=-100,
                               reduction="sum").item()
        cnt += (tout != -100).sum().item()
    model.train()
    return tot / cnt


def train(a):
    torch.set_num_threads(a.threads)
    torch.use_deterministic_algorithms(True)
    tok = data.Tokenizer.load(os.path.join(ROOT, "data", "summarize", "tokenizer.txt"))
    cfg = make_cfg(a.model, tok.vocab_size)
    cfg["max_source_positions"] = a.max_src
    rec = dict(SIZES[a.model]["train"])
    if a.lr:
        rec["lr"] = a.lr
    rec["schedule"] = a.schedule
    if a.schedule == "cosine":
        if not a.max_steps:
            sys.exit("--schedule cosine needs --max-steps (the step where the learning rate reaches 0)")
        rec["horizon"] = a.max_steps
    work = os.path.join(ROOT, "data", "summarize", "work")
    t0 = time.time()
    _, tr = load_split(os.path.join(work, "train.tsv"), tok, a.max_src)
    _, va = load_split(os.path.join(work, "valid.tsv"), tok, a.max_src)
    print("data: %d train, %d valid pairs, tokenized in %.0f s" % (len(tr), len(va), time.time() - t0), flush=True)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    random.seed(a.seed)
    cfg["init_seed"] = a.seed
    model = Seq2Seq(cfg, rec["dropout"])
    opt = torch.optim.AdamW(model.parameters(), lr=rec["lr"], betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    os.makedirs(a.ckpt_dir, exist_ok=True)
    ck = os.path.join(a.ckpt_dir, "ckpt.pt")
    state = {"step": 0, "epoch": 0, "pos": 0, "seconds": 0.0, "tokens": 0, "seed": a.seed,
             "threads": a.threads, "log": [], "cfg": cfg, "recipe": rec}
    if not os.path.exists(ck) and a.init_from:
        c = torch.load(a.init_from)
        pe = "encoder.embed_positions.weight"
        if c["model"][pe].shape[0] > a.max_src:  # a shorter source: keep the first positions
            c["model"][pe] = c["model"][pe][:a.max_src].clone()
        missing, unexpected = model.load_state_dict(c["model"], strict=False)
        if unexpected or any(not k.startswith("copy.") for k in missing):
            sys.exit("--init-from %s: not a checkpoint of this architecture (missing %s, unexpected %s)" %
                     (a.init_from, missing, unexpected))
        rec["init_from"] = {"checkpoint": a.init_from, "step": c["state"]["step"],
                            "seconds": round(c["state"]["seconds"])}
        state["recipe"] = rec
        print("initialized from %s (step %d); new: %s" % (a.init_from, c["state"]["step"], ", ".join(missing)),
              flush=True)
    if os.path.exists(ck):
        c = torch.load(ck)
        model.load_state_dict(c["model"])
        opt.load_state_dict(c["opt"])
        state = c["state"]
        torch.set_rng_state(c["rng_torch"])
        np.random.set_state(c["rng_numpy"])
        random.setstate(c["rng_python"])
        print("resumed from %s: step %d, epoch %d, batch %d, %.0f s trained" %
              (ck, state["step"], state["epoch"], state["pos"], state["seconds"]), flush=True)
        old_h = state["recipe"].get("horizon")
        if rec.get("schedule") == "cosine" and state["recipe"].get("schedule") == "cosine" and old_h != rec["horizon"]:
            # a run resumed with another --max-steps: the cosine now ends there (the card says so)
            if rec["horizon"] <= state["step"]:
                sys.exit("--max-steps %d: the run is already at step %d" % (rec["horizon"], state["step"]))
            print("cosine schedule: now to 0 at step %d (was %s), from step %d" % (rec["horizon"], old_h,
                                                                                 state["step"]), flush=True)
            state["recipe"]["horizon"] = rec["horizon"]
            state["recipe"].setdefault("horizon_changed", []).append({"at_step": state["step"], "was": old_h})
    nparam = sum(p.numel() for p in model.parameters())
    print("%s: %d parameters, cfg %s" % (a.model, nparam, json.dumps(cfg)), flush=True)
    stop = {"now": False}

    def on_term(signum, frame):
        stop["now"] = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    last_ck, t_seg = time.time(), time.time()
    run_loss, run_n = 0.0, 0
    model.train()
    while state["epoch"] < a.epochs and not stop["now"]:
        bl = batches_for_epoch(tr, rec["batch"], a.seed, state["epoch"])
        while state["pos"] < len(bl) and not stop["now"]:
            src, tin, tout = collate(tr, bl[state["pos"]])
            lr = lr_at(state["step"] + 1, rec["lr"], rec.get("schedule", "rsqrt"), rec.get("horizon", 0))
            for g in opt.param_groups:
                g["lr"] = lr
            logits = model(src, tin)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1), ignore_index=-100,
                                   label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state["step"] += 1
            state["pos"] += 1
            state["tokens"] += int((src != data.PAD).sum()) + int((tout != -100).sum())
            run_loss += loss.item()
            run_n += 1
            if state["step"] % 100 == 0:
                now = time.time()
                state["seconds"] += now - t_seg
                t_seg = now
                print("step %d epoch %d batch %d/%d loss %.4f lr %.2e %.0f s" % (
                    state["step"], state["epoch"], state["pos"], len(bl), run_loss / run_n, lr,
                    state["seconds"]), flush=True)
                run_loss, run_n = 0.0, 0
            if a.max_steps and state["step"] >= a.max_steps:
                stop["now"] = True
            if time.time() - last_ck > a.ckpt_min * 60 and not stop["now"]:
                state["seconds"] += time.time() - t_seg
                t_seg = time.time()
                vl = valid_loss(model, va)
                state["log"].append({"step": state["step"], "epoch": state["epoch"] + state["pos"] / len(bl),
                                     "valid_loss": vl, "seconds": state["seconds"]})
                save_ckpt(ck, model, opt, state)
                print("checkpoint step %d valid loss %.4f" % (state["step"], vl), flush=True)
                last_ck = time.time()
        if state["pos"] >= len(bl):
            state["epoch"] += 1
            state["pos"] = 0
    state["seconds"] += time.time() - t_seg
    vl = valid_loss(model, va)
    state["log"].append({"step": state["step"], "epoch": state["epoch"], "valid_loss": vl,
                         "seconds": state["seconds"]})
    save_ckpt(ck, model, opt, state)
    print("stopped at step %d (epoch %d, batch %d), valid loss %.4f, checkpoint %s" %
          (state["step"], state["epoch"], state["pos"], vl, ck), flush=True)

# ---------------------------------------------------------------------------------------------- export

ROUGE_TOKEN = None


def rouge_tokens(s):
    import re
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).split()


def rouge_n(ref, hyp, n):
    from collections import Counter
    r = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
    h = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
    ov = sum((r & h).values())
    p = ov / max(sum(h.values()), 1)
    rc = ov / max(sum(r.values()), 1)
    return 0.0 if ov == 0 else 2 * p * rc / (p + rc)


def rouge_l(ref, hyp):
    if not ref or not hyp:
        return 0.0
    prev = [0] * (len(hyp) + 1)
    for x in ref:
        cur = [0]
        for j, y in enumerate(hyp):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(hyp), lcs / len(ref)
    return 2 * p * r / (p + r)


def _heads(t, B, h, dh):
    return t.view(B, -1, h, dh).transpose(1, 2)


@torch.no_grad()
def greedy(model, srcs, max_len=MAX_TGT, batch=50):
    """Greedy decoding with a key/value cache (the same arithmetic as Seq2Seq.decode, one position at a
    time); at most max_len - 1 tokens, stopping at </s>."""
    model.eval()
    cfg = model.cfg
    h, d = cfg["num_heads"], cfg["d_model"]
    dh = d // h
    scale = 1.0 / math.sqrt(dh)
    out = []
    for k in range(0, len(srcs), batch):
        ss = srcs[k:k + batch]
        B = len(ss)
        S = max(len(s) for s in ss)
        src = torch.full((B, S), data.PAD, dtype=torch.long)
        for b, s in enumerate(ss):
            src[b, :len(s)] = torch.tensor(s)
        enc, m = model.encode(src)
        cross = []
        for blk in model.decoder.block:
            a = blk.layer[1].EncDecAttention
            cross.append((_heads(a.k(enc), B, h, dh), _heads(a.v(enc), B, h, dh)))
        cache = [None] * len(model.decoder.block)
        tok = torch.full((B,), data.BOS, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        seqs = [[] for _ in range(B)]
        for t in range(max_len - 1):
            x = (model.shared(tok) + model.decoder.embed_positions.weight[t])[:, None, :]
            for li, blk in enumerate(model.decoder.block):
                l0, l1, l2 = blk.layer
                y = l0.layer_norm(x)
                a = l0.SelfAttention
                q, kk, vv = _heads(a.q(y), B, h, dh), _heads(a.k(y), B, h, dh), _heads(a.v(y), B, h, dh)
                if cache[li] is not None:
                    kk = torch.cat([cache[li][0], kk], 2)
                    vv = torch.cat([cache[li][1], vv], 2)
                cache[li] = (kk, vv)
                p = torch.softmax(torch.matmul(q, kk.transpose(-1, -2)) * scale, -1)
                x = x + a.o(torch.matmul(p, vv).transpose(1, 2).reshape(B, 1, d))
                y = l1.layer_norm(x)
                a = l1.EncDecAttention
                q = _heads(a.q(y), B, h, dh)
                sc = (torch.matmul(q, cross[li][0].transpose(-1, -2)) * scale).masked_fill(~m, float("-inf"))
                x = x + a.o(torch.matmul(torch.softmax(sc, -1), cross[li][1]).transpose(1, 2).reshape(B, 1, d))
                x = x + l2.DenseReluDense(l2.layer_norm(x))
            nxt = model.output(model.decoder.final_layer_norm(x), enc, m, src)[:, 0].argmax(-1)
            for b in range(B):
                if not done[b]:
                    if int(nxt[b]) == data.EOS:
                        done[b] = True
                    else:
                        seqs[b].append(int(nxt[b]))
            if bool(done.all()):
                break
            tok = nxt
        out.extend(seqs)
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if t.dtype == torch.float32:
            dt, arr = "F32", t.numpy().astype("<f4")
        elif t.dtype in (torch.int32, torch.int64):
            dt, arr = "I32", t.numpy().astype("<i4")
        else:
            raise ValueError(name)
        b = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def fnv1a64(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def schedule_text(rec):
    """The learning rate after warm-up, in words."""
    if rec.get("schedule", "rsqrt") == "cosine":
        t = "a cosine to 0 at step %s" % "{:,}".format(rec.get("horizon", 0))
        ch = rec.get("horizon_changed", [])  # resumed with another --max-steps
        if ch:
            t += " (%s)" % ", ".join("until step %s it was to end at step %s" % ("{:,}".format(c["at_step"]),
                                                                               "{:,}".format(c["was"])) for c in ch)
        return t
    return "inverse square root decay"


def training_stages(st, cfg):
    """The chain of runs behind a checkpoint, oldest first: each recipe's init_from names the checkpoint it
    started from; that checkpoint's own state (when the file is still there) gives its recipe and its own
    init_from. Each stage: steps, seconds, threads, copy (None: unknown), recipe (None: unknown)."""
    stages = [{"steps": st["step"], "seconds": st["seconds"], "threads": st["threads"], "copy": bool(cfg.get("copy")),
               "recipe": st["recipe"]}]
    init, seen = st["recipe"].get("init_from"), set()
    while init and init.get("checkpoint") not in seen:
        seen.add(init.get("checkpoint"))
        g = {"steps": init["step"], "seconds": init["seconds"], "threads": None, "copy": None, "recipe": None}
        prev = None
        if init.get("checkpoint") and os.path.exists(init["checkpoint"]):
            prev = torch.load(init["checkpoint"], map_location="cpu")["state"]
            if prev["step"] == init["step"]:  # the file is still the checkpoint this stage started from
                g.update(threads=prev["threads"], copy=bool(prev["cfg"].get("copy")), recipe=prev["recipe"])
            else:
                prev = None
        stages.insert(0, g)
        init = prev["recipe"].get("init_from") if prev else None
    return stages


def stage_text(stages, i):
    """'9,477 steps with it (0.81 h, peak lr 0.001, inverse square root)' for stage i of training_stages."""
    g = stages[i]
    t = "{:,} steps".format(g["steps"])
    prev_copy = stages[i - 1]["copy"] if i else None
    if g["copy"] is False and any(h["copy"] for h in stages[i + 1:]):
        t += " without the copy head"
    elif g["copy"] and prev_copy is False:
        t += " with it"
    par = ["%.2f h" % (g["seconds"] / 3600)]
    if g["recipe"]:
        if g["recipe"].get("schedule") == "cosine":
            t += " on a cosine schedule to 0"
            par.append("peak lr %g" % g["recipe"]["lr"])
        else:
            par.append("peak lr %g, inverse square root" % g["recipe"]["lr"])
    return "%s (%s)" % (t, ", ".join(par))


def export(a):
    torch.set_num_threads(a.threads)
    tok_path = os.path.join(ROOT, "data", "summarize", "tokenizer.txt")
    tok = data.Tokenizer.load(tok_path)
    c = torch.load(os.path.join(a.ckpt_dir, "ckpt.pt"))
    st = c["state"]
    cfg = st["cfg"]
    model = Seq2Seq(cfg)
    model.load_state_dict(c["model"])
    model.eval()
    out = a.out or os.path.join(ROOT, "models", a.model)
    os.makedirs(out, exist_ok=True)
    tensors = {k: v for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(out, "model.safetensors"), tensors)
    shutil.copyfile(tok_path, os.path.join(out, "tokenizer.txt"))
    # the word list of the word constraint (data/summarize/build.py: write_words)
    shutil.copyfile(os.path.join(ROOT, "data", "summarize", "words.txt"), os.path.join(out, "words.txt"))
    with open(tok_path, "rb") as f:
        tok_hash = "%016x" % fnv1a64(f.read())
    rows, ev = load_split(os.path.join(ROOT, "data", "summarize", "eval.tsv"), tok, cfg["max_source_positions"])
    t0 = time.time()
    hyps = greedy(model, [s for s, _ in ev])
    t_gen = time.time() - t0
    r1 = r2 = rl = 0.0
    for r, h in zip(rows, hyps):
        ref, hy = rouge_tokens(r[2]), rouge_tokens(tok.decode(h))
        r1 += rouge_n(ref, hy, 1)
        r2 += rouge_n(ref, hy, 2)
        rl += rouge_l(ref, hy)
    n = len(rows)
    rouge = {"rouge1_f": r1 / n, "rouge2_f": r2 / n, "rougeL_f": rl / n}
    # parity: the first 4 evaluation texts, teacher-forced on their references; logits of the first 8
    # decoder positions; and PyTorch's greedy tokens for all 1000 evaluation texts (padded with -1).
    P, PT = 4, 8
    src = torch.full((P, max(len(ev[i][0]) for i in range(P))), data.PAD, dtype=torch.long)
    tin = torch.full((P, PT), data.PAD, dtype=torch.long)
    for b in range(P):
        s, t = ev[b]
        src[b, :len(s)] = torch.tensor(s)
        seq = ([data.BOS] + t + [data.EOS] * PT)[:PT]
        tin[b] = torch.tensor(seq)
    with torch.no_grad():
        logits = model(src, tin)
    gl = max(len(h) for h in hyps) + 1
    gt = torch.full((n, gl), -1, dtype=torch.int32)
    for i, h in enumerate(hyps):
        gt[i, :len(h)] = torch.tensor(h, dtype=torch.int32)
    write_safetensors(os.path.join(out, "parity.safetensors"),
                      {"src": src.to(torch.int32), "tgt_in": tin.to(torch.int32), "logits": logits.float(),
                       "greedy": gt})
    mean_src = sum(len(s) for s, _ in ev) / n
    mean_tgt = sum(len(h) + 1 for h in hyps) / n
    fe, fd = flops_per_token(cfg, mean_src, mean_tgt)
    nparam = sum(p.numel() for p in model.parameters())
    bl_len = len(batches_for_epoch([([0], [0])] * 58372, st["recipe"]["batch"], 1, 0))
    conf = dict(cfg)
    conf.update({"tokenizer": "tokenizer.txt", "tokenizer_fnv1a64": tok_hash, "parameters": nparam,
                 "flops_per_source_token": fe, "flops_per_generated_token": fd,
                 "flops_per_summary": fe * mean_src + fd * mean_tgt,
                 "training": {"steps": st["step"], "epochs": st["epoch"] + st["pos"] / max(bl_len, 1),
                              "seconds": round(st["seconds"]), "tokens": st["tokens"], "seed": st["seed"],
                              "threads": st["threads"], "recipe": st["recipe"], "valid_log": st["log"][-5:]},
                 "eval_greedy": {k: round(v, 4) for k, v in rouge.items()}})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(conf, f, indent=1)
        f.write("\n")
    size = os.path.getsize(os.path.join(out, "model.safetensors"))
    vl = st["log"][-1]["valid_loss"] if st["log"] else float("nan")
    if cfg.get("copy"):
        arch_copy = ", copy head (pointer-generator: each output word is generated or copied from the description)"
    else:
        arch_copy = ""
    stages = training_stages(st, cfg)
    sched = schedule_text(st["recipe"])
    if len(stages) > 1:
        trained = "%s; %.2f h on %s thread(s) in all" % (
            ", then ".join(stage_text(stages, i) for i in range(len(stages))),
            sum(g["seconds"] for g in stages) / 3600,
            "/".join(sorted({str(g["threads"]) for g in stages if g["threads"] is not None})) or "?")
        recipe_init = (" The model was trained in %d stages (above), each from the previous one's weights with a "
                       "new optimizer and its learning rate schedule from step 0; the learning rate and schedule "
                       "given here are the last stage's." % len(stages))
        if any(g["copy"] for g in stages) and not stages[0]["copy"]:
            recipe_init += " The copy head, added later, started from its initialization (gate bias 0)."
    else:
        trained = "%s steps, %.2f epochs, %s tokens, %.2f h on %s thread(s)" % (
            "{:,}".format(st["step"]), conf["training"]["epochs"], "{:,}".format(st["tokens"]), st["seconds"] / 3600,
            st["threads"])
        recipe_init = ""
    rec = st["recipe"]
    if rec.get("schedule") == "cosine" and st["step"] >= rec.get("horizon", 0):
        how_far = ("its last stage ran its cosine schedule to the end (learning rate 0); more training would be "
                   "a new stage (models/sum/README.md)")
    else:
        how_far = ("the model was still improving when it was exported (the training run is resumable: "
                   "models/sum/README.md)")
    card = CARD.format(arch_copy=arch_copy, trained=trained, recipe_init=recipe_init, name=a.model, d=cfg["d_model"], h=cfg["num_heads"], ff=cfg["d_ff"], le=cfg["num_layers"],
                       ld=cfg["num_decoder_layers"], V=cfg["vocab_size"], nparam=nparam, size=size,
                       fe=fe, fd=fd, fs=fe * mean_src + fd * mean_tgt, ms=mean_src, mt=mean_tgt,
                       steps=st["step"], ep=conf["training"]["epochs"], hours=st["seconds"] / 3600,
                       threads=st["threads"], tokens=st["tokens"], lr=st["recipe"]["lr"],
                       batch=st["recipe"]["batch"], drop=st["recipe"]["dropout"], seed=st["seed"], vl=vl,
                       r1=100 * rouge["rouge1_f"], r2=100 * rouge["rouge2_f"], rl=100 * rouge["rougeL_f"],
                       tgen=t_gen, torch=torch.__version__, machine=platform.machine(), warm=WARMUP,
                       sched=sched, how_far=how_far, src_pos=cfg["max_source_positions"],
                       tgt_pos=cfg["max_target_positions"], tgt_max=cfg["max_target_positions"] - 1)
    # the engine's section (ROUGE and energy measured with jouleprint, written by hand from its table) is
    # the weights' as well as the card's: kept from the card this export replaces, marked as such
    card_path = os.path.join(out, "README.md")
    if os.path.exists(card_path):
        old = open(card_path).read()
        at = old.find(ENGINE_SECTION)
        if at >= 0:
            kept, stale = old[at:], ENGINE_SECTION + " (of the previous weights: measure again)"
            card += "\n" + (kept if kept.startswith(stale) else kept.replace(ENGINE_SECTION, stale, 1))
    with open(card_path, "w") as f:
        f.write(card)
    print(card)


ENGINE_SECTION = "## With jouleprint's engine"


CARD = """# Model card: {name}

A T5-like encoder-decoder transformer trained from scratch by jouleprint to write a Debian package's one-line
synopsis from its long description (headline generation). Built-in `summarize` workload:
`jouleprint summarize --model {name}`. Data: data/summarize/ (SOURCE.md there says where the texts come from
and under what terms).

| | |
|---|---|
| architecture | d_model {d}, {h} heads, feed-forward {ff} (ReLU), {le} encoder + {ld} decoder layers, pre-norm RMSNorm, learned positions ({src_pos} source, {tgt_pos} target), tied embeddings{arch_copy} |
| vocabulary | {V} byte-level BPE pieces (data/summarize/tokenizer.txt, trained on the training split) |
| parameters | {nparam:,} |
| weights | model.safetensors, float32, {size:,} bytes |
| FLOPs per source token (encoder) | {fe:,.0f} |
| FLOPs per generated token (decoder + output projection) | {fd:,.0f} |
| FLOPs per summary (greedy, eval means: {ms:.1f} source tokens, {mt:.1f} generated) | {fs:,.0f} |
| training so far | {trained} ({machine}, torch {torch}) |
| validation loss (last checkpoint) | {vl:.4f} (cross-entropy per target token, 300 validation pairs) |
| ROUGE-1 / 2 / L F1, greedy, 1,000 evaluation pairs (PyTorch) | {r1:.2f} / {r2:.2f} / {rl:.2f} |

**How far it was trained.** The figures above are those of the checkpoint this export was taken from;
{how_far}.
Training shares a 2-core machine with other work at idle priority (`chrt -i 0 nice -n 19`), so the time is
wall-clock under contention, an upper bound on the compute it needed.

**Recipe.** models/sum/train.py: AdamW (betas 0.9/0.98, weight decay 0.01), peak learning rate {lr},
{warm} warm-up steps then {sched}, batch {batch} pairs (length-bucketed), dropout {drop},
label smoothing 0.1, gradient clipping 1.0, seed {seed}; source truncated to {src_pos} tokens, target to {tgt_max} + </s>.{recipe_init}
Nothing was tuned on the evaluation set.

**ROUGE.** Sentence-level ROUGE-1, ROUGE-2 and ROUGE-L F1, averaged over the 1,000 pairs; tokens are runs of
[a-z0-9] after lower-casing, no stemming (the rules of Google's rouge-score package without its stemmer).
PyTorch greedy decoding took {tgen:.0f} s for the 1,000 texts at export. Beam search and the energy per
summary of each decoding, beside lead-1 and ots, are measured with the C engine (`jouleprint summarize
--data data/summarize --n 1000 --json`): README.md "Summarization" and BENCHMARKS.md have the table. jouleprint's default decoding
also writes only words of the text or of words.txt (this folder's copy of data/summarize/words.txt) and
favours continuing the text's phrases (`--words`, `--span-bonus`: README.md "Summarization", "Decoding");
the figures above are the model's own choice, which PyTorch's greedy output is.

**Parity.** parity.safetensors holds 4 evaluation texts with the logits (with the copy head: log P) PyTorch computes for the first 8
decoder positions (teacher-forced on the reference) and PyTorch's greedy output tokens for all 1,000
evaluation texts; jouleprint's C engine must match the logits within 1e-4 and the tokens exactly.

**Intended use.** A reproducible workload for measuring the energy of text generation on a CPU and comparing
models of one task on energy against quality. Not a production summarizer: small, briefly trained, and
trained only on Debian package descriptions.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, choices=sorted(SIZES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps in all (0: no limit)")
    ap.add_argument("--ckpt-min", type=float, default=10.0, help="minutes between checkpoints")
    ap.add_argument("--ckpt-dir", default=None)
    ap.add_argument("--export", action="store_true")
    ap.add_argument("--init-from", metavar="CKPT",
                    help="when no checkpoint exists yet, start from this checkpoint's weights (a model of the same "
                         "size without the copy head: the head starts from its initialization)")
    ap.add_argument("--out", metavar="DIR", help="--export writes here instead of models/MODEL/")
    ap.add_argument("--lr", type=float, default=0.0, help="peak learning rate (default: the model's recipe)")
    ap.add_argument("--schedule", choices=["rsqrt", "cosine"], default="rsqrt",
                    help="learning rate after warm-up: inverse square root (default), or a cosine to 0 at --max-steps")
    ap.add_argument("--max-src", type=int, default=MAX_SRC, metavar="N",
                    help="source tokens the model reads (default %d): the description is cut after N tokens, in "
                         "training and by the engine (config max_source_positions)" % MAX_SRC)
    a = ap.parse_args()
    if a.ckpt_dir is None:
        a.ckpt_dir = os.path.join("/work/ckpt", a.model)
    if a.export:
        export(a)
    else:
        train(a)


if __name__ == "__main__":
    main()
