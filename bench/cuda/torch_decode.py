"""PyTorch eager peer of bench_decode.cpp: the same random LLaMA (hidden 768, 12 layers, 12 heads,
MLP 2048, vocab 32000, untied), greedy decoding with a KV cache at batch 1/16/64, fp32 with TF32
matmuls allowed, written here in plain torch (no transformers needed). Prints one JSON object.
    python3 torch_decode.py [new_tokens] [device] [--tiny]"""
import json
import sys
import time

import torch

args = [a for a in sys.argv[1:] if not a.startswith("--")]
new_tokens = int(args[0]) if args else 128
dev = args[1] if len(args) > 1 else "cuda"
tiny = "--tiny" in sys.argv  # a small model, to check the script on a CPU
C, L, NH, H, V = (64, 2, 4, 128, 256) if tiny else (768, 12, 12, 2048, 32000)
HS, T_MAX = C // NH, 1024
torch.backends.cuda.matmul.allow_tf32 = True
torch.manual_seed(1)


def attention(q, k, v, causal):
    """Scaled dot-product attention (torch >= 2: the fused kernel; older: the same in plain ops)."""
    if hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    s = q @ k.transpose(-1, -2) / HS ** 0.5
    if causal:
        T, S = q.shape[-2], k.shape[-2]
        s = s.masked_fill(torch.ones(T, S, dtype=torch.bool, device=q.device).triu(S - T + 1), float("-inf"))
    return s.softmax(-1) @ v


def rmsnorm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class Llama(torch.nn.Module):
    def __init__(self):
        super().__init__()
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)
        self.emb = torch.nn.Embedding(V, C)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.Module()
            m.qkv, m.o, m.gate_up, m.down = lin(C, 3 * C), lin(C, C), lin(C, 2 * H), lin(H, C)
            m.n1, m.n2 = torch.nn.Parameter(torch.ones(C)), torch.nn.Parameter(torch.ones(C))
            self.layers.append(m)
        self.norm, self.head = torch.nn.Parameter(torch.ones(C)), lin(C, V)
        inv = 1.0 / (10000 ** (torch.arange(0, HS, 2).float() / HS))
        ang = torch.arange(T_MAX).float()[:, None] * inv[None, :]
        self.register_buffer("cos", torch.cat([ang.cos(), ang.cos()], -1))
        self.register_buffer("sin", torch.cat([ang.sin(), ang.sin()], -1))

    def rope(self, x, pos):  # x: (B, NH, T, HS), rotate-half
        c, s = self.cos[pos][None, None], self.sin[pos][None, None]
        x1, x2 = x[..., : HS // 2], x[..., HS // 2:]
        return x * c + torch.cat([-x2, x1], -1) * s

    def forward(self, ids, cache, start):
        B, T = ids.shape
        pos = torch.arange(start, start + T, device=ids.device)
        x = self.emb(ids)
        for l, m in enumerate(self.layers):
            q, k, v = m.qkv(rmsnorm(x, m.n1)).view(B, T, 3, NH, HS).permute(2, 0, 3, 1, 4)
            q, k = self.rope(q, pos), self.rope(k, pos)
            kc, vc = cache[l]
            kc[:, :, start:start + T], vc[:, :, start:start + T] = k, v
            a = attention(q, kc[:, :, :start + T], vc[:, :, :start + T], T > 1)
            x = x + m.o(a.transpose(1, 2).reshape(B, T, C))
            g, u = m.gate_up(rmsnorm(x, m.n2)).chunk(2, -1)
            x = x + m.down(torch.nn.functional.silu(g) * u)
        return self.head(rmsnorm(x[:, -1], self.norm))


model = Llama().to(dev).eval()
params = sum(p.numel() for p in model.parameters())


def decode(batch):
    ids = torch.tensor([[1, 100 + b, 200 + b, 300 + b] for b in range(batch)], device=dev) % V
    cache = [(torch.zeros(batch, NH, T_MAX, HS, device=dev), torch.zeros(batch, NH, T_MAX, HS, device=dev)) for _ in range(L)]
    with torch.no_grad():
        logits = model(ids, cache, 0)
        t = ids.shape[1]
        for _ in range(new_tokens - 1):
            nxt = logits.argmax(-1, keepdim=True)
            logits = model(nxt, cache, t)
            t += 1
    if dev.startswith("cuda"):
        torch.cuda.synchronize()


rows = []
for batch in (1, 16, 64):
    decode(batch)
    best = 1e30
    for _ in range(3):
        t0 = time.perf_counter()
        decode(batch)
        best = min(best, time.perf_counter() - t0)
    rows.append({"batch": batch, "tokens_per_s": batch * new_tokens / best})
name = torch.cuda.get_device_name(0) if dev.startswith("cuda") else "cpu"
print(json.dumps({"impl": "torch eager", "torch": torch.__version__, "device": name, "params": params, "rows": rows}))
