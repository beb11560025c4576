#!/usr/bin/env python3
"""PyTorch peer for bench/train.bench.ts (full training steps: forward, backward, AdamW) and
bench/qlora.bench.ts (--lora R: LoRA adapters of rank R on every projection of a frozen f32 base,
PEFT's arithmetic written out) on the same LLaMA-family model and random tokens. Debian's
python3-torch: use /usr/bin/python3.

  /usr/bin/python3 bench/peers/torch_train.py --model DIR|random:LxCxV --batch 8 --seq 256 --steps 10 [--lora 16] --json
random:LxCxV matches src/model/random.ts: heads of 32 dims, half as many kv heads, MLP width 3C, tied.
"""
import argparse, json, math, re, struct, sys, time
import torch


def load_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    return {k: torch.frombuffer(bytearray(b[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]]), dtype=torch.float32).reshape(v['shape']).clone()
            for k, v in header.items() if k != '__metadata__'}


class Llama(torch.nn.Module):
    def __init__(self, C, H, L, NH, NKV, V, eps, theta, weights=None):
        super().__init__()
        self.C, self.L, self.NH, self.NKV, self.HS, self.eps, self.theta = C, L, NH, NKV, C // NH, eps, theta
        P = torch.nn.Parameter
        if weights is None:
            w = lambda *s: P(torch.randn(*s) * 0.02)
            self.emb = w(V, C)
            self.layers = torch.nn.ModuleList()
            for _ in range(L):
                m = torch.nn.Module()
                m.n1, m.n2 = P(torch.ones(C)), P(torch.ones(C))
                m.wq, m.wk, m.wv, m.wo = w(NH * self.HS, C), w(NKV * self.HS, C), w(NKV * self.HS, C), w(C, NH * self.HS)
                m.wg, m.wu, m.wd = w(H, C), w(H, C), w(C, H)
                self.layers.append(m)
            self.nf = P(torch.ones(C))
        else:
            g = lambda k: P(weights[k].clone())
            self.emb = P(weights.get('model.embed_tokens.weight', weights.get('lm_head.weight')).clone())
            self.layers = torch.nn.ModuleList()
            for l in range(L):
                m = torch.nn.Module()
                p = f'model.layers.{l}.'
                m.n1, m.n2 = g(p + 'input_layernorm.weight'), g(p + 'post_attention_layernorm.weight')
                m.wq, m.wk, m.wv, m.wo = g(p + 'self_attn.q_proj.weight'), g(p + 'self_attn.k_proj.weight'), g(p + 'self_attn.v_proj.weight'), g(p + 'self_attn.o_proj.weight')
                m.wg, m.wu, m.wd = g(p + 'mlp.gate_proj.weight'), g(p + 'mlp.up_proj.weight'), g(p + 'mlp.down_proj.weight')
                self.layers.append(m)
            self.nf = g('model.norm.weight')

    def add_lora(self, r, alpha):
        """Freezes the base; every projection gets A (r, in) ~ U(+-1/sqrt(in)) and B (out, r) = 0."""
        for p in self.parameters():
            p.requires_grad_(False)
        self.lora_scale = alpha / r
        for m in self.layers:
            for name in ('wq', 'wk', 'wv', 'wo', 'wg', 'wu', 'wd'):
                out, inp = getattr(m, name).shape
                setattr(m, name + '_a', torch.nn.Parameter((torch.rand(r, inp) * 2 - 1) / math.sqrt(inp)))
                setattr(m, name + '_b', torch.nn.Parameter(torch.zeros(out, r)))

    def lin(self, m, name, h):
        y = h @ getattr(m, name).T
        if hasattr(m, name + '_a'):
            y = y + ((h @ getattr(m, name + '_a').T) @ getattr(m, name + '_b').T) * self.lora_scale
        return y

    def rms(self, x, w):
        return w * x * torch.rsqrt((x * x).mean(-1, keepdim=True) + self.eps)

    def forward(self, tokens):
        B, T = tokens.shape
        HS = self.HS
        inv = 1.0 / self.theta ** (torch.arange(0, HS, 2).float() / HS)
        ang = torch.arange(T).float()[:, None] * inv[None]
        cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
        rope = lambda t: t * cos + torch.cat([-t[..., HS // 2:], t[..., :HS // 2]], -1) * sin
        mask = torch.triu(torch.full((T, T), float('-inf')), 1)
        x = self.emb[tokens]
        for m in self.layers:
            h = self.rms(x, m.n1)
            q = rope(self.lin(m, 'wq', h).view(B, T, self.NH, HS).transpose(1, 2))
            k = rope(self.lin(m, 'wk', h).view(B, T, self.NKV, HS).transpose(1, 2)).repeat_interleave(self.NH // self.NKV, 1)
            v = self.lin(m, 'wv', h).view(B, T, self.NKV, HS).transpose(1, 2).repeat_interleave(self.NH // self.NKV, 1)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HS) + mask, -1)
            x = x + self.lin(m, 'wo', (a @ v).transpose(1, 2).reshape(B, T, -1))
            h = self.rms(x, m.n2)
            x = x + self.lin(m, 'wd', torch.nn.functional.silu(self.lin(m, 'wg', h)) * self.lin(m, 'wu', h))
        return self.rms(x, self.nf) @ self.emb.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--seq', type=int, default=256)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--lora', type=int, default=0, help='LoRA rank on every projection over a frozen base (0: full fine-tuning)')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = re.match(r'^random:(\d+)x(\d+)x(\d+)$', a.model)
    if m:
        L, C, V = map(int, m.groups())
        NH = C // 32
        model = Llama(C, 3 * C, L, NH, NH // 2 if NH % 2 == 0 else NH, V, 1e-5, 10000.0)
    else:
        cfg = json.load(open(a.model + '/config.json'))
        model = Llama(cfg['hidden_size'], cfg['intermediate_size'], cfg['num_hidden_layers'], cfg['num_attention_heads'],
                      cfg.get('num_key_value_heads', cfg['num_attention_heads']), cfg['vocab_size'], cfg.get('rms_norm_eps', 1e-6),
                      cfg.get('rope_theta', 10000.0), load_safetensors(a.model + '/model.safetensors'))
        V = cfg['vocab_size']
    if a.lora > 0:
        model.add_lora(a.lora, 2.0 * a.lora)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    tokens = torch.randint(0, V, (a.batch, a.seq))
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        logits = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    out = {'peer': 'pytorch', 'torch': torch.__version__, 'threads': a.threads, 'model': a.model, 'batch': a.batch, 'seq': a.seq, 'lora': a.lora,
           'median_s': med, 'tokens_per_s': a.batch * a.seq / med, 'times_s': times}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
