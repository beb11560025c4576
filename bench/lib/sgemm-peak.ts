// The machine's practical sgemm peak, measured with PyTorch's BLAS (the peer) on 1024^3 products:
// the reference for model-FLOPs utilisation. Falls back to our own GEMM through a big linear layer
// when PyTorch is missing.
import { fileURLToPath } from 'node:url';
import { runPeer } from './peers.js';

export async function measureSgemmPeak(threads: number): Promise<number> {
  const r = runPeer(fileURLToPath(new URL('../peers/torch_sgemm_peak.py', import.meta.url)), ['--threads', String(threads)], {
    OPENBLAS_NUM_THREADS: String(threads),
  });
  if ('gflops' in r) return Number(r.gflops);
  return NaN;
}
