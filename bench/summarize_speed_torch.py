#!/usr/bin/python3
"""PyTorch side of bench/summarize_speed.c: one summarization model of the zoo (models/sum-s, sum-m), loaded
from the same model.safetensors into the architecture of models/sum/train.py (Seq2Seq), decoding greedily
the very same token ids as the engine, in the fastest configuration of PyTorch found for it.

The configurations tried (each checked against the engine's tokens, then timed on the benchmark's own
batches for --probe-seconds; the fastest whose tokens match the engine's is used, and the READY line names
it with all the timings):

  - "train.greedy": models/sum/train.py's own greedy(), eager mode, a key/value cache grown by torch.cat,
    the finished rows tracked in Python (the reference that made the models' parity files);
  - "eager": the same arithmetic in one module (Greedy below): the cache preallocated for max_len
    positions and written in place, the cross-attention keys and values computed once per batch, the
    finished rows tracked with tensor operations (one host sync per step, the "all done?" test);
  - "jit.script": Greedy compiled whole (encoder, decoding loop, copy head) by torch.jit.script, so that
    no Python runs between the operators;
  - "jit.script+freeze": the same, then torch.jit.freeze (weights folded in as constants);
  - "jit.script+freeze+optimize_for_inference": then torch.jit.optimize_for_inference.

Always: OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS = T set before torch is imported (the
caller sets them too), torch.set_num_threads(T), one inter-op thread, torch.inference_mode around every
timed call, and untimed warm-up passes (the JIT's profiling runs) before READY. There is no beam search in
models/sum/train.py, so this benchmark is greedy only.

The texts are the C benchmark's own (--ids, written by summarize_speed): one line per text, the source ids
(the engine's tokenizer, truncated to the model's max_source), a tab, the engine's greedy output ids (without
</s>). Whole batches of B texts in order (a batch padded to its longest source, as train.py's greedy()),
cycling. The READY line gives the number of texts of the first batch whose tokens differ from the engine's
(for the configuration used), and of all the texts.

Protocol (stdin/stdout, one line each; bench/bench_util.h): after loading, checking and warming up it prints
"READY <configuration>"; then for each "GO <seconds>" it decodes whole batches until <seconds> have passed
and prints "DONE <summaries> <seconds> <generated tokens>" (generated tokens: the ids of the summaries plus
the </s> of each summary that ended with one); it exits on "QUIT" or end of input.

    /usr/bin/python3 bench/summarize_speed_torch.py --model-dir models/sum-s --ids IDS --batch 16 --threads 1

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy)."""
import argparse
import json
import math
import os
import re
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = ("train.greedy", "eager", "jit.script", "jit.script+freeze", "jit.script+freeze+optimize_for_inference")

def _threads():
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--threads", type=int, default=1)
    return ap.parse_known_args()[0].threads


# Before torch (and OpenBLAS, OpenMP) are loaded: they read these once, when they start.
for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_k] = str(_threads())

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from typing import List, Tuple

sys.path.insert(0, os.path.join(HERE, "..", "models", "sum"))
import train  # noqa: E402  (models/sum/train.py: Seq2Seq, greedy())
import torch_tune  # noqa: E402  (bench/, beside this script: the window protocol)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    kinds = {"F32": np.float32, "I32": np.int32}
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        lo, hi = e["data_offsets"]
        dt = np.dtype(kinds[e["dtype"]]).newbyteorder("<")
        arr = np.frombuffer(raw, dt, count=(hi - lo) // dt.itemsize, offset=8 + n + lo)
        out[name] = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="))).reshape(e["shape"])
    return out


def rms(x, w: torch.Tensor, eps: float):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

class EncLayer(nn.Module):
    def __init__(self, blk):
        super().__init__()
        l0, l1 = blk.layer
        self.ln0, self.ln1 = l0.layer_norm.weight, l1.layer_norm.weight
        at = l0.SelfAttention
        self.q, self.k, self.v, self.o = at.q, at.k, at.v, at.o
        self.wi, self.wo = l1.DenseReluDense.wi, l1.DenseReluDense.wo

class DecLayer(nn.Module):
    def __init__(self, blk):
        super().__init__()
        l0, l1, l2 = blk.layer
        self.ln0, self.ln1, self.ln2 = l0.layer_norm.weight, l1.layer_norm.weight, l2.layer_norm.weight
        sa, ca = l0.SelfAttention, l1.EncDecAttention
        self.sq, self.sk, self.sv, self.so = sa.q, sa.k, sa.v, sa.o
        self.cq, self.ck, self.cv, self.co = ca.q, ca.k, ca.v, ca.o
        self.wi, self.wo = l2.DenseReluDense.wi, l2.DenseReluDense.wo

class Greedy(nn.Module):
    """train.greedy()'s arithmetic (Seq2Seq.encode, the decoder one position at a time with a key/value
    cache, Seq2Seq.output with the copy head, argmax), written so that torch.jit.script compiles it whole.
    Returns the argmax tokens [B, steps run] and the generated token count (</s> included)."""

    def __init__(self, m):
        super().__init__()
        c = m.cfg
        self.h, self.d, self.dh = c["num_heads"], c["d_model"], c["d_model"] // c["num_heads"]
        self.eps = float(train.EPS)
        self.copy = bool(c.get("copy"))
        self.emb = m.shared.weight
        self.pos_enc, self.pos_dec = m.encoder.embed_positions.weight, m.decoder.embed_positions.weight
        self.enc = nn.ModuleList([EncLayer(b) for b in m.encoder.block])
        self.dec = nn.ModuleList([DecLayer(b) for b in m.decoder.block])
        self.enc_final, self.dec_final = m.encoder.final_layer_norm.weight, m.decoder.final_layer_norm.weight
        if self.copy:
            self.copy_q, self.copy_gate = m.copy.q, m.copy.gate
        else:  # unused; present so that the module's attributes do not depend on the model
            self.copy_q, self.copy_gate = nn.Linear(self.d, self.d, bias=False), nn.Linear(2 * self.d, 1)

    def heads(self, t: torch.Tensor, B: int) -> torch.Tensor:
        return t.view(B, -1, self.h, self.dh).transpose(1, 2)

    def forward(self, src: torch.Tensor, steps: int) -> Tuple[torch.Tensor, torch.Tensor]:
        B, S = src.shape[0], src.shape[1]
        h, d, dh = self.h, self.d, self.dh
        scale = 1.0 / math.sqrt(dh)
        mask = (src != 0)[:, None, None, :]
        x = F.embedding(src, self.emb) + self.pos_enc[:S]
        for E in self.enc:
            y = rms(x, E.ln0, self.eps)
            q, k, v = self.heads(E.q(y), B), self.heads(E.k(y), B), self.heads(E.v(y), B)
            s = (torch.matmul(q, k.transpose(-1, -2)) * scale).masked_fill(~mask, float("-inf"))
            x = x + E.o(torch.matmul(torch.softmax(s, -1), v).transpose(1, 2).reshape(B, S, d))
            x = x + E.wo(F.relu(E.wi(rms(x, E.ln1, self.eps))))
        enc = rms(x, self.enc_final, self.eps)
        cross_k: List[torch.Tensor] = []
        cross_v: List[torch.Tensor] = []
        kc: List[torch.Tensor] = []
        vc: List[torch.Tensor] = []
        for C in self.dec:
            cross_k.append(self.heads(C.ck(enc), B).transpose(-1, -2).contiguous())
            cross_v.append(self.heads(C.cv(enc), B))
            kc.append(torch.zeros(B, h, steps, dh))
            vc.append(torch.zeros(B, h, steps, dh))
        enc_t = enc.transpose(-1, -2)
        copy_idx = src[:, None, :]
        tok = torch.full((B,), 2, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        out = torch.full((B, steps), -1, dtype=torch.long)
        ntok = torch.zeros((), dtype=torch.long)
        for t in range(steps):
            x = (F.embedding(tok, self.emb) + self.pos_dec[t])[:, None, :]
            i = 0
            for L in self.dec:
                y = rms(x, L.ln0, self.eps)
                q = self.heads(L.sq(y), B)
                kc[i][:, :, t:t + 1] = self.heads(L.sk(y), B)
                vc[i][:, :, t:t + 1] = self.heads(L.sv(y), B)
                kk, vv = kc[i][:, :, :t + 1], vc[i][:, :, :t + 1]
                p = torch.softmax(torch.matmul(q, kk.transpose(-1, -2)) * scale, -1)
                x = x + L.so(torch.matmul(p, vv).transpose(1, 2).reshape(B, 1, d))
                q = self.heads(L.cq(rms(x, L.ln1, self.eps)), B)
                sc = (torch.matmul(q, cross_k[i]) * scale).masked_fill(~mask, float("-inf"))
                x = x + L.co(torch.matmul(torch.softmax(sc, -1), cross_v[i]).transpose(1, 2).reshape(B, 1, d))
                x = x + L.wo(F.relu(L.wi(rms(x, L.ln2, self.eps))))
                i += 1
            hs = rms(x, self.dec_final, self.eps)
            logits = torch.matmul(hs * (d ** -0.5), self.emb.t())
            if self.copy:
                s = torch.matmul(self.copy_q(hs), enc_t) * (1.0 / math.sqrt(d))
                att = torch.softmax(s.masked_fill(~mask[:, 0], float("-inf")), -1)
                z = self.copy_gate(torch.cat([hs, torch.matmul(att, enc)], -1)).squeeze(-1)
                c = torch.zeros(B, 1, logits.shape[-1]).scatter_add(2, copy_idx, att)
                logc = torch.where(c > 0, torch.log(c.clamp_min(1e-30)), torch.full_like(c, float("-inf")))
                logits = torch.logaddexp(F.log_softmax(logits, -1) + F.logsigmoid(z)[..., None],
                                         F.logsigmoid(-z)[..., None] + logc)
            nxt = logits[:, 0].argmax(-1)
            out[:, t] = nxt
            ntok += (~done).sum()
            done = done | (nxt == 1)
            if bool(done.all()):
                return out[:, :t + 1], ntok
            tok = nxt
        return out, ntok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--ids", required=True, help="the texts' ids and the engine's tokens (summarize_speed writes it)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-len", type=int, default=48, help="as the engine's: at most max_len - 1 tokens + </s>")
    ap.add_argument("--config", choices=("auto",) + CONFIGS, default="auto",
                    help="auto (default): the fastest of them whose tokens match the engine's")
    ap.add_argument("--probe-seconds", type=float, default=1.0, help="timing of each configuration (auto)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)

    with open(os.path.join(a.model_dir, "config.json")) as f:
        cfg = json.load(f)
    model = train.Seq2Seq(cfg)
    model.load_state_dict(read_safetensors(os.path.join(a.model_dir, "model.safetensors")))  # strict
    model.eval()
    PAD, EOS = train.data.PAD, train.data.EOS

    srcs, ref = [], []
    with open(a.ids) as f:
        for line in f:
            s, _, o = line.rstrip("\n").partition("\t")
            srcs.append([int(v) for v in s.split()])
            ref.append([int(v) for v in o.split()])
    B = a.batch
    nb = len(srcs) // B
    if nb < 1:
        sys.exit(f"--batch {B}: more than the {len(srcs)} texts")
    steps = min(a.max_len, cfg["max_target_positions"]) - 1

    def padded(ss):
        t = torch.full((len(ss), max(len(s) for s in ss)), PAD, dtype=torch.long)
        for b, s in enumerate(ss):
            t[b, :len(s)] = torch.tensor(s)
        return t

    batches = [padded(srcs[i * B:(i + 1) * B]) for i in range(nb)]  # laid out once, untimed

    def seqs_of(out):
        res = []
        for row in out.tolist():
            s = []
            for v in row:
                if v == EOS:
                    break
                s.append(v)
            res.append(s)
        return res

    def run_train_greedy(bi):
        ss = srcs[bi * B:(bi + 1) * B]
        hyp = train.greedy(model, ss, max_len=steps + 1, batch=B)
        return hyp, sum(len(x) + (len(x) < steps) for x in hyp)

    def make_runner(net):
        def run(bi):
            out, n = net(batches[bi], steps)
            return out, int(n)
        return run

    def tokens_of(name, run, bi):
        r, n = run(bi)
        return (r if name == "train.greedy" else seqs_of(r)), n

    greedy_eager = Greedy(model).eval()
    candidates, notes = {}, []
    want = CONFIGS if a.config == "auto" else (a.config,)
    for name in want:
        try:
            if name == "train.greedy":
                candidates[name] = run_train_greedy
            elif name == "eager":
                candidates[name] = make_runner(greedy_eager)
            else:
                net = torch.jit.script(greedy_eager)
                if "freeze" in name:
                    net = torch.jit.freeze(net.eval())
                if "optimize_for_inference" in name:
                    net = torch.jit.optimize_for_inference(net)
                candidates[name] = make_runner(net)
        except Exception as e:  # noqa: BLE001
            notes.append(f"{name} failed ({type(e).__name__})")

    # Check every configuration's tokens on all the batches (untimed; the first calls of a scripted module
    # are its profiling runs, so twice), then time each on the batches in turn.
    mism = {}
    with torch.inference_mode():
        for name, run in list(candidates.items()):
            try:
                for _ in range(2):
                    bad = [0] * nb
                    for bi in range(nb):
                        got, _n = tokens_of(name, run, bi)
                        bad[bi] = sum(g != r for g, r in zip(got, ref[bi * B:(bi + 1) * B]))
                mism[name] = (bad[0], sum(bad))
            except Exception as e:  # noqa: BLE001
                notes.append(f"{name} failed ({type(e).__name__}: {str(e).splitlines()[0][:80]})")
                del candidates[name]
        speed = {}
        for name, run in candidates.items():
            done, k, t0 = 0, 0, time.perf_counter()
            while True:
                run(k % nb)
                k += 1
                done += B
                el = time.perf_counter() - t0
                if el >= a.probe_seconds or (len(candidates) == 1 and k >= nb):
                    break
            speed[name] = done / el
    ok = [n for n in candidates if mism[n][1] == 0] or list(candidates)
    if not ok:
        sys.exit("no PyTorch configuration ran: " + "; ".join(notes))
    best = max(ok, key=lambda n: speed[n])
    run = candidates[best]
    tried = ", ".join(f"{n} {speed[n]:.1f}/s" + (f" ({mism[n][1]} texts differ)" if mism[n][1] else "")
                      for n in candidates)
    cap = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    print(f"READY torch {torch.__version__} (ATen {cap.group(1) if cap else '?'}), {best}, inference_mode, "
          f"{torch.get_num_threads()} threads; tokens differing from the engine's: {mism[best][0]} of the first "
          f"batch's {B} texts, {mism[best][1]} of all {nb * B}; summaries/s when probed: {tried}"
          + ("; " + "; ".join(notes) if notes else ""), flush=True)

    k = 0

    def step():
        nonlocal k
        _r, n = run(k % nb)
        k += 1
        return B, n
    torch_tune.serve_windows(step)

if __name__ == "__main__":
    main()
