#!/usr/bin/env python3
"""PyTorch peer for rlcd's PPO step: one AlpacaFarm-style PPO iteration (rollout, scoring, update) with
policy, reference, reward and value models of the same LLaMA-family architecture. Debian's
python3-torch: use /usr/bin/python3.

  /usr/bin/python3 bench/peers/torch_ppo.py --model DIR --rollouts 64 --response-length 48 --steps 3 --json

Rollout samples all prompts as one left-padded batch with a KV cache (temperature 1, full softmax, EOS
masked so every response has --response-length tokens). The reward head is random (seeded), the value
head starts at zero, as in rlcd's benchmark. --prompts-ids FILE.json: a JSON array of token-id arrays
(BOS included); otherwise 16-token prompts are drawn at random.
"""
import argparse, json, math, os, statistics, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train import Llama, load_safetensors  # noqa: E402

KL_COEF, CLIP, CLIP_VALUE, VF_COEF, GAMMA, LAM = 0.01, 0.2, 0.2, 0.1, 1.0, 1.0


class PPOLlama(Llama):
    """torch_train's Llama with per-row positions and a key mask (left padding), an optional KV cache
    and an optional scalar head on the final normed hidden state."""

    def __init__(self, cfg, weights, head=None):
        super().__init__(cfg['hidden_size'], cfg['intermediate_size'], cfg['num_hidden_layers'], cfg['num_attention_heads'],
                         cfg.get('num_key_value_heads', cfg['num_attention_heads']), cfg['vocab_size'],
                         cfg.get('rms_norm_eps', 1e-6), cfg.get('rope_theta', 10000.0), weights)
        self.inv = 1.0 / self.theta ** (torch.arange(0, self.HS, 2).float() / self.HS)
        if head is not None:
            self.hw, self.hb = torch.nn.Parameter(head.clone()), torch.nn.Parameter(torch.zeros(()))

    def hidden(self, ids, pos, keep, cache=None, start=0):
        """ids, pos: [B, T] at cache slots start..start+T-1; keep: [B, start+T], False on padding."""
        B, T = ids.shape
        S, HS, NKV, rep = start + T, self.HS, self.NKV, self.NH // self.NKV
        ang = pos.float()[..., None] * self.inv
        cos, sin = torch.cat([ang.cos()] * 2, -1)[:, None], torch.cat([ang.sin()] * 2, -1)[:, None]
        rope = lambda t: t * cos + torch.cat([-t[..., HS // 2:], t[..., :HS // 2]], -1) * sin
        qi, kj = torch.arange(start, S)[:, None], torch.arange(S)[None]
        # A pad query may see itself, so its softmax row is never all -inf (NaN would leak into grads).
        ok = (kj <= qi) & (keep[:, None, :] | (kj == qi))
        bias = torch.zeros(B, 1, 1, T, S).masked_fill(~ok[:, None, None], float('-inf'))
        x = self.emb[ids]
        for l, m in enumerate(self.layers):
            h = self.rms(x, m.n1)
            q = rope((h @ m.wq.T).view(B, T, self.NH, HS).transpose(1, 2))
            k = rope((h @ m.wk.T).view(B, T, NKV, HS).transpose(1, 2))
            v = (h @ m.wv.T).view(B, T, NKV, HS).transpose(1, 2)
            if cache is not None:
                cache[0][l][:, :, start:S], cache[1][l][:, :, start:S] = k, v
                k, v = cache[0][l][:, :, :S], cache[1][l][:, :, :S]
            # GQA without repeating K/V: the rep query heads of one kv head share a matmul.
            att = (q.reshape(B, NKV, rep * T, HS) @ k.transpose(-1, -2)).view(B, NKV, rep, T, S) / math.sqrt(HS) + bias
            o = (torch.softmax(att, -1).view(B, NKV, rep * T, S) @ v).view(B, self.NH, T, HS)
            x = x + o.transpose(1, 2).reshape(B, T, -1) @ m.wo.T
            h = self.rms(x, m.n2)
            x = x + (torch.nn.functional.silu(h @ m.wg.T) * (h @ m.wu.T)) @ m.wd.T
        return self.rms(x, self.nf)

    def score(self, h):
        return h @ self.hw + self.hb


def rollout(policy, prompt, pos, keep, N, eos, gen):
    B, P = prompt.shape
    shape = (B, policy.NKV, P + N, policy.HS)
    cache = ([torch.zeros(shape) for _ in policy.layers], [torch.zeros(shape) for _ in policy.layers])
    keep = torch.cat([keep, torch.ones(B, N, dtype=torch.bool)], 1)
    h = policy.hidden(prompt, pos, keep[:, :P], cache, 0)[:, -1]
    out = torch.empty(B, N, dtype=torch.long)
    for i in range(N):
        logits = h @ policy.emb.T
        logits[:, eos] = float('-inf')
        tok = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)
        out[:, i] = tok[:, 0]
        if i < N - 1:
            h = policy.hidden(tok, pos[:, -1:] + 1 + i, keep[:, :P + i + 1], cache, P + i)[:, -1]
    return out


def response_logprobs(model, h, seq, P):
    return torch.log_softmax(h[:, P - 1:-1] @ model.emb.T, -1).gather(-1, seq[:, P:, None]).squeeze(-1)


def whiten(x, shift_mean=True):
    # AlpacaFarm's whiten: population variance; shift_mean=False puts the mean back (scale-only).
    mean, var = x.mean(), x.var(unbiased=False)
    w = (x - mean) * torch.rsqrt(var + 1e-8)
    return w if shift_mean else w + mean


def ppo_step(models, opt, prompt, pos, keep, a, eos, gen):
    policy, ref, reward, value = models
    B, P = prompt.shape
    N = a.response_length
    t0 = time.perf_counter()
    with torch.no_grad():
        resp = rollout(policy, prompt, pos, keep, N, eos, gen)
    t1 = time.perf_counter()
    seq = torch.cat([prompt, resp], 1)
    spos = torch.cat([pos, pos[:, -1:] + 1 + torch.arange(N)[None]], 1)
    skeep = torch.cat([keep, torch.ones(B, N, dtype=torch.bool)], 1)
    with torch.no_grad():
        old_logp = response_logprobs(policy, policy.hidden(seq, spos, skeep), seq, P)
        ref_logp = response_logprobs(ref, ref.hidden(seq, spos, skeep), seq, P)
        old_v = value.score(value.hidden(seq, spos, skeep)[:, P - 1:-1])
        score = reward.score(reward.hidden(seq, spos, skeep)[:, -1])
        kl = torch.clamp(old_logp - ref_logp, min=0.0)
        rewards = -KL_COEF * kl
        rewards[:, -1] += score
        rewards = whiten(rewards, shift_mean=False)
        adv, last = torch.zeros_like(rewards), torch.zeros(B)
        for t in reversed(range(N)):
            nv = old_v[:, t + 1] if t + 1 < N else torch.zeros(B)
            last = rewards[:, t] + GAMMA * nv - old_v[:, t] + GAMMA * LAM * last
            adv[:, t] = last
        returns = adv + old_v  # from the raw advantages, as AlpacaFarm does, before whitening them
        adv = whiten(adv)
    t2 = time.perf_counter()
    params = [p for m in (policy, value) for p in m.parameters()]
    stats = []
    for _ in range(a.epochs):
        for idx in torch.randperm(B, generator=gen).chunk(a.minibatches):
            s, sp, sk = seq[idx], spos[idx], skeep[idx]
            logp = response_logprobs(policy, policy.hidden(s, sp, sk), s, P)
            ratio = torch.exp(logp - old_logp[idx])
            A = adv[idx]
            pg = torch.max(-A * ratio, -A * torch.clamp(ratio, 1 - CLIP, 1 + CLIP)).mean()
            v = value.score(value.hidden(s, sp, sk)[:, P - 1:-1])
            vo, R = old_v[idx], returns[idx]
            vc = torch.max(torch.min(v, vo + CLIP_VALUE), vo - CLIP_VALUE)  # clamp with tensor bounds (torch 1.13)
            vf = 0.5 * torch.max((v - R) ** 2, (vc - R) ** 2).mean()
            loss = pg + VF_COEF * vf
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            stats.append((pg.item(), vf.item()))
    t3 = time.perf_counter()
    return {'rollout': t1 - t0, 'scoring': t2 - t1, 'update': t3 - t2}, stats


def load_prompts(a, cfg):
    if a.prompts_ids:
        rows = json.load(open(a.prompts_ids))
        rows = [rows[i % len(rows)] for i in range(a.rollouts)]
    else:
        g = torch.Generator().manual_seed(a.seed)
        rows = [[cfg.get('bos_token_id', 1)] + torch.randint(3, cfg['vocab_size'], (15,), generator=g).tolist() for _ in range(a.rollouts)]
    P = max(len(r) for r in rows)
    # Left padding keeps every response at the same columns; pads are masked out of attention.
    prompt = torch.tensor([[0] * (P - len(r)) + list(r) for r in rows], dtype=torch.long)
    keep = torch.tensor([[False] * (P - len(r)) + [True] * len(r) for r in rows])
    pos = (keep.long().cumsum(1) - 1).clamp(min=0)
    return prompt, pos, keep


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True)
    ap.add_argument('--rollouts', type=int, default=64)
    ap.add_argument('--response-length', type=int, default=48)
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--minibatches', type=int, default=2)
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--prompts-ids', default=None)
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(os.path.join(a.model, 'config.json')))
    W = load_safetensors(os.path.join(a.model, 'model.safetensors'))
    C = cfg['hidden_size']
    torch.manual_seed(a.seed)
    rm_head = torch.randn(C) / math.sqrt(C + 1)
    policy, ref = PPOLlama(cfg, W), PPOLlama(cfg, W)
    reward, value = PPOLlama(cfg, W, rm_head), PPOLlama(cfg, W, torch.zeros(C))
    for m in (ref, reward):
        m.requires_grad_(False)
    opt = torch.optim.AdamW(list(policy.parameters()) + list(value.parameters()), lr=1e-5, eps=1e-5, weight_decay=0.0)
    prompt, pos, keep = load_prompts(a, cfg)
    gen = torch.Generator().manual_seed(a.seed)
    steps, phases = [], []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        ph, stats = ppo_step((policy, ref, reward, value), opt, prompt, pos, keep, a, cfg.get('eos_token_id', 2), gen)
        dt = time.perf_counter() - t0
        if i >= a.warmup:
            steps.append(dt)
            phases.append(ph)
    out = {'peer': 'pytorch', 'torch': torch.__version__, 'threads': a.threads, 'rollouts': a.rollouts,
           'responseLength': a.response_length, 'step_seconds': [round(t, 6) for t in steps],
           'median_step_seconds': round(statistics.median(steps), 6),
           'phases_median_seconds': {k: round(statistics.median(p[k] for p in phases), 6) for k in ('rollout', 'scoring', 'update')}}
    if a.json:
        print(json.dumps(out))
        return
    pm = out['phases_median_seconds']
    print(f"pytorch {torch.__version__} threads={a.threads}: PPO step, {a.rollouts} rollouts x {a.response_length} tokens, "
          f"{a.epochs} epochs x {a.minibatches} minibatches")
    print(f"  median step {out['median_step_seconds']:.3f}s (rollout {pm['rollout']:.3f}s, scoring {pm['scoring']:.3f}s, "
          f"update {pm['update']:.3f}s) over {len(steps)} steps")
    print(f"  last step losses (pg, vf): " + ', '.join(f'({p:.4f}, {v:.4f})' for p, v in stats))


if __name__ == '__main__':
    main()
