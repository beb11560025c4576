#!/usr/bin/env python3
"""sgemm peak of this machine through PyTorch's BLAS (OpenBLAS): best of 10 products of 1024^3."""
import argparse, json, time
import torch

ap = argparse.ArgumentParser()
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--n', type=int, default=1024)
a = ap.parse_args()
torch.set_num_threads(a.threads)
x, y = torch.randn(a.n, a.n), torch.randn(a.n, a.n)
for _ in range(3):
    x @ y
best = min((lambda t0: (x @ y, time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(10))
print(json.dumps({'gflops': 2 * a.n ** 3 / best / 1e9, 'threads': a.threads, 'n': a.n}))
