#!/usr/bin/env python3
"""PyTorch peer benchmark: self-contained LLaMA-family generation (no transformers).

Loads a Hugging Face model directory (config.json + model.safetensors, F32),
runs prefill + N sampled decode steps with a preallocated KV cache and reports
timings as one JSON line.

  python3 torch_generate.py --model DIR --batch 16 --new-tokens 256 --repeats 3 --json
  python3 torch_generate.py --model DIR --check-greedy
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import time

import torch

DEFAULT_PROMPT = [1, 80, 147, 201, 282, 57]
HERE = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------
# safetensors loading (F32 only), parsed by hand
# ----------------------------------------------------------------------------
def load_safetensors(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())  # writable buffer -> no frombuffer warning
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(bytes(data[8:8 + n]))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        s, e = info["data_offsets"]
        count = (e - s) // 4
        t = torch.frombuffer(data, dtype=torch.float32, count=count, offset=base + s)
        out[name] = t.reshape(info["shape"]).clone()
    return out


# ----------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------
class Llama:
    def __init__(self, model_dir, max_T):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        W = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        self.cfg = cfg
        self.d = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads", self.nh)
        self.hs = cfg.get("head_dim", self.d // self.nh)
        self.rep = self.nh // self.nkv
        self.L = cfg["num_hidden_layers"]
        self.eps = float(cfg.get("rms_norm_eps", 1e-6))
        theta = float(cfg.get("rope_theta", 10000.0))
        self.max_T = max_T

        emb = W.get("model.embed_tokens.weight", W.get("lm_head.weight"))
        lm = W.get("lm_head.weight", emb)
        self.emb = emb.contiguous()
        self.lm_t = lm.t().contiguous()  # [d, vocab]
        self.final_norm = W["model.norm.weight"]

        # pre-transpose weights so that forward does x @ W_t
        self.layers = []
        for l in range(self.L):
            p = f"model.layers.{l}."
            q = W[p + "self_attn.q_proj.weight"]
            k = W[p + "self_attn.k_proj.weight"]
            v = W[p + "self_attn.v_proj.weight"]
            self.layers.append(dict(
                ln1=W[p + "input_layernorm.weight"],
                qkv_t=torch.cat([q, k, v], 0).t().contiguous(),
                o_t=W[p + "self_attn.o_proj.weight"].t().contiguous(),
                ln2=W[p + "post_attention_layernorm.weight"],
                gu_t=torch.cat([W[p + "mlp.gate_proj.weight"],
                                W[p + "mlp.up_proj.weight"]], 0).t().contiguous(),
                down_t=W[p + "mlp.down_proj.weight"].t().contiguous(),
            ))
        self.inter = self.layers[0]["gu_t"].shape[1] // 2 if self.layers else 0

        # rotate-half RoPE tables [max_T, hs]
        inv = 1.0 / theta ** (torch.arange(0, self.hs, 2, dtype=torch.float64) / self.hs)
        ang = torch.arange(max_T, dtype=torch.float64)[:, None] * inv[None]
        self.cos = torch.cat([ang.cos(), ang.cos()], -1).float()
        self.sin = torch.cat([ang.sin(), ang.sin()], -1).float()
        self.scale = 1.0 / math.sqrt(self.hs)
        self.k_cache = self.v_cache = None

    def alloc_cache(self, B):
        shape = (B, self.nkv, self.max_T, self.hs)
        self.k_cache = [torch.zeros(shape) for _ in range(self.L)]
        self.v_cache = [torch.zeros(shape) for _ in range(self.L)]

    def rms(self, x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rope(self, t, cos, sin):
        # t: [B, H, T, hs]; cos/sin: [T, hs]
        h = self.hs // 2
        rot = torch.cat([-t[..., h:], t[..., :h]], -1)
        return t * cos + rot * sin

    def forward(self, ids, pos):
        """ids: LongTensor [B, T] at positions pos..pos+T-1. Returns last-position logits [B, V]."""
        B, T = ids.shape
        end = pos + T
        nh, nkv, hs, d, rep = self.nh, self.nkv, self.hs, self.d, self.rep
        x = self.emb[ids]  # [B, T, d]
        cos, sin = self.cos[pos:end], self.sin[pos:end]
        mask = None
        if T > 1:
            # query i (absolute pos+i) may see keys 0..pos+i
            mask = torch.full((T, end), float("-inf")).triu_(pos + 1)
        for l, Lw in enumerate(self.layers):
            h = self.rms(x, Lw["ln1"])
            qkv = h @ Lw["qkv_t"]
            q = qkv[..., :nh * hs].view(B, T, nh, hs).transpose(1, 2)
            k = qkv[..., nh * hs:(nh + nkv) * hs].view(B, T, nkv, hs).transpose(1, 2)
            v = qkv[..., (nh + nkv) * hs:].view(B, T, nkv, hs).transpose(1, 2)
            q = self.rope(q, cos, sin)
            k = self.rope(k, cos, sin)
            kc, vc = self.k_cache[l], self.v_cache[l]
            kc[:, :, pos:end] = k
            vc[:, :, pos:end] = v
            K = kc[:, :, :end]  # [B, nkv, S, hs]
            V = vc[:, :, :end]
            # GQA: group query heads per kv head -> [B, nkv, rep*T, hs]
            qg = q.reshape(B, nkv, rep * T, hs)
            att = (qg @ K.transpose(-1, -2)) * self.scale  # [B, nkv, rep*T, S]
            if mask is not None:
                att = att.view(B, nkv, rep, T, end) + mask
                att = att.view(B, nkv, rep * T, end)
            att = torch.softmax(att, -1)
            o = (att @ V).view(B, nh, T, hs).transpose(1, 2).reshape(B, T, nh * hs)
            x = x + o @ Lw["o_t"]
            h = self.rms(x, Lw["ln2"])
            gu = h @ Lw["gu_t"]
            g, u = gu[..., :self.inter], gu[..., self.inter:]
            x = x + (torch.nn.functional.silu(g) * u) @ Lw["down_t"]
        x = self.rms(x[:, -1], self.final_norm)
        return x @ self.lm_t


# ----------------------------------------------------------------------------
# generation
# ----------------------------------------------------------------------------
def generate(model, prompt, B, N, greedy=False, gen=None):
    """Prefill `prompt` for all B rows, then produce N tokens. Returns ([B, N] ids, prefill logits)."""
    ids = torch.tensor(prompt, dtype=torch.long).unsqueeze(0).expand(B, -1).contiguous()
    out = torch.empty(B, N, dtype=torch.long)
    logits = model.forward(ids, 0)
    first_logits = logits
    pos = len(prompt)
    for i in range(N):
        if greedy:
            nxt = logits.argmax(-1)
        else:
            probs = torch.softmax(logits, -1)  # temperature 1, no top-k
            nxt = torch.multinomial(probs, 1, generator=gen).squeeze(-1)
        out[:, i] = nxt
        if i == N - 1:
            break
        logits = model.forward(nxt.unsqueeze(1), pos)
        pos += 1
    return out, first_logits


def find_golden(path):
    cands = [path] if path else []
    cands += [os.path.join(HERE, "..", "..", "..", "shared", "reference", "golden.json"),
              "/work/shared/reference/golden.json"]
    for c in cands:
        if c and os.path.exists(c):
            return c
    raise FileNotFoundError("golden.json not found; pass --golden")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="/work/shared/models/tinystories-656k")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--prompt-ids", default=",".join(map(str, DEFAULT_PROMPT)))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print only the JSON result line")
    ap.add_argument("--check-greedy", action="store_true")
    ap.add_argument("--golden", default=None)
    ap.add_argument("--golden-key", default="TinyStories-656K")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    prompt = [int(s) for s in a.prompt_ids.split(",") if s.strip()]

    with torch.inference_mode():
        if a.check_greedy:
            prompt = DEFAULT_PROMPT
            n_new = 48 - len(prompt)
            model = Llama(a.model, len(prompt) + n_new)
            model.alloc_cache(1)
            out, first_logits = generate(model, prompt, 1, n_new, greedy=True)
            ids = prompt + out[0].tolist()
            print(json.dumps(ids))
            with open(find_golden(a.golden)) as f:
                g = json.load(f)[a.golden_key]
            assert ids == g["greedy_ids_48"], f"greedy mismatch:\n got  {ids}\n want {g['greedy_ids_48']}"
            got8 = first_logits[0, :8].tolist()
            diff = max(abs(x - y) for x, y in zip(got8, g["last_logits_first8"]))
            assert diff < 1e-4, f"logits mismatch (max abs diff {diff}): {got8}"
            print(f"check-greedy OK: 48 ids match, last_logits_first8 max abs diff {diff:.2e}",
                  file=sys.stderr)
            return

        model = Llama(a.model, len(prompt) + a.new_tokens)
        model.alloc_cache(a.batch)
        gen = torch.Generator().manual_seed(a.seed)
        for _ in range(a.warmup):
            generate(model, prompt, a.batch, a.new_tokens, gen=gen)
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            generate(model, prompt, a.batch, a.new_tokens, gen=gen)
            times.append(time.perf_counter() - t0)

    med = statistics.median(times)
    res = {"peer": "pytorch", "torch": torch.__version__, "threads": a.threads,
           "batch": a.batch, "new_tokens": a.new_tokens, "times_s": [round(t, 6) for t in times],
           "median_s": round(med, 6), "tokens_per_s": round(a.batch * a.new_tokens / med, 2)}
    if not a.json:
        print(f"pytorch {torch.__version__} threads={a.threads} B={a.batch} N={a.new_tokens}: "
              f"median {med:.4f}s, {res['tokens_per_s']} tok/s", file=sys.stderr)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
