// The tiled SGEMM kernel shared by gemm.cu (strided operands, attention's batched products) and
// matrix.cu (packed inference weights widened on load).
//
// C (M, N) (+)= A (M, K) . B^T where both operands are read through loaders in (row, k) form:
//   a(i, k) = A[i, k],   b(n, k) = B[k, n]
// A block computes a BM x BN tile with (BM / TM) x (BN / TN) threads, each a TM x TN register tile;
// BK-deep slices of A and B go through shared memory (stored k-major, so the inner loop reads float4
// fragments), and the next slice is fetched into registers while the current one is multiplied.
// Every output is one FMA chain over k in increasing order starting from 0, whatever the tile
// shape: the result is deterministic and the same for every tile configuration.
#pragma once

#include "cuda_common.cuh"

namespace rlcd {
namespace cuda {

// (row, k) at p[row * rs + k * cs]. kFastK: consecutive threads walk k (cs == 1) or rows (rs == 1)
// when loading a tile, whichever keeps the global reads coalesced.
template <bool FastK>
struct StridedLoader {
  static constexpr bool kFastK = FastK;
  const float* __restrict__ p;
  long rs, cs;
  __device__ __forceinline__ float operator()(long r, long k) const { return __ldg(p + r * rs + k * cs); }
  __device__ __forceinline__ StridedLoader shifted(long off) const { return StridedLoader{p + off, rs, cs}; }
};

template <class LA, class LB, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    gemm_tile_kernel(int M, int N, int K, LA a, BatchMap a_map, LB b, BatchMap b_map, float* __restrict__ C, long ldc,
                     BatchMap c_map, const float* __restrict__ bias, bool accumulate, Causal causal) {
  constexpr int TX = BN / TN, TY = BM / TM, NT = TX * TY;
  constexpr int A_LOADS = BM * BK / NT, B_LOADS = BN * BK / NT;
  static_assert(TM % 4 == 0 && TN % 4 == 0, "register tiles are float4 fragments");
  static_assert((BM * BK) % NT == 0 && (BN * BK) % NT == 0, "tile loads divide evenly");
  __shared__ __align__(16) float As[BK][BM + 4];
  __shared__ __align__(16) float Bs[BK][BN + 4];

  const int z = blockIdx.z;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  if (causal == Causal::SkipUpper && n0 > m0 + BM - 1) return;  // the whole block leaves together
  int k_begin = 0, k_end = K;
  if (causal == Causal::KEndAtTile) k_end = min(K, m0 + BM);
  if (causal == Causal::KBeginAtTile) k_begin = min(K, m0);

  const LA az = a.shifted(a_map(z));
  const LB bz = b.shifted(b_map(z));
  float* __restrict__ cz = C + c_map(z);

  const int tid = threadIdx.x;
  const int tx = tid % TX, ty = tid / TX;

  float ra[A_LOADS], rb[B_LOADS];
  auto fetch = [&](int kt) {
#pragma unroll
    for (int j = 0; j < A_LOADS; j++) {
      const int l = tid + j * NT;
      const int kk = LA::kFastK ? l % BK : l / BM;
      const int ii = LA::kFastK ? l / BK : l % BM;
      const int gi = m0 + ii, gk = kt + kk;
      ra[j] = (gi < M && gk < k_end) ? az(gi, gk) : 0.0f;
    }
#pragma unroll
    for (int j = 0; j < B_LOADS; j++) {
      const int l = tid + j * NT;
      const int kk = LB::kFastK ? l % BK : l / BN;
      const int nn = LB::kFastK ? l / BK : l % BN;
      const int gn = n0 + nn, gk = kt + kk;
      rb[j] = (gn < N && gk < k_end) ? bz(gn, gk) : 0.0f;
    }
  };
  auto stash = [&]() {
#pragma unroll
    for (int j = 0; j < A_LOADS; j++) {
      const int l = tid + j * NT;
      const int kk = LA::kFastK ? l % BK : l / BM;
      const int ii = LA::kFastK ? l / BK : l % BM;
      As[kk][ii] = ra[j];
    }
#pragma unroll
    for (int j = 0; j < B_LOADS; j++) {
      const int l = tid + j * NT;
      const int kk = LB::kFastK ? l % BK : l / BN;
      const int nn = LB::kFastK ? l / BK : l % BN;
      Bs[kk][nn] = rb[j];
    }
  };

  float acc[TM][TN];
#pragma unroll
  for (int r = 0; r < TM; r++)
#pragma unroll
    for (int c = 0; c < TN; c++) acc[r][c] = 0.0f;

  if (k_begin < k_end) fetch(k_begin);
  for (int kt = k_begin; kt < k_end; kt += BK) {
    stash();
    __syncthreads();
    if (kt + BK < k_end) fetch(kt + BK);
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
      float fa[TM], fb[TN];
#pragma unroll
      for (int r = 0; r < TM; r += 4) {
        const float4 v = *reinterpret_cast<const float4*>(&As[kk][(r / 4) * (TY * 4) + ty * 4]);
        fa[r] = v.x, fa[r + 1] = v.y, fa[r + 2] = v.z, fa[r + 3] = v.w;
      }
#pragma unroll
      for (int c = 0; c < TN; c += 4) {
        const float4 v = *reinterpret_cast<const float4*>(&Bs[kk][(c / 4) * (TX * 4) + tx * 4]);
        fb[c] = v.x, fb[c + 1] = v.y, fb[c + 2] = v.z, fb[c + 3] = v.w;
      }
#pragma unroll
      for (int r = 0; r < TM; r++)
#pragma unroll
        for (int c = 0; c < TN; c++) acc[r][c] = fmaf(fa[r], fb[c], acc[r][c]);
    }
    __syncthreads();
  }

#pragma unroll
  for (int r = 0; r < TM; r++) {
    const int i = m0 + (r / 4) * (TY * 4) + ty * 4 + (r % 4);
    if (i >= M) continue;
#pragma unroll
    for (int c = 0; c < TN; c++) {
      const int j = n0 + (c / 4) * (TX * 4) + tx * 4 + (c % 4);
      if (j >= N) continue;
      float v = acc[r][c];
      if (bias) v += bias[j];
      float* dst = cz + (long)i * ldc + j;
      *dst = accumulate ? *dst + v : v;
    }
  }
}

// The two tile shapes: 128 x 128 (8 x 8 a thread) for big products, 64 x 64 (4 x 4) when the big
// tiles would leave multiprocessors idle. Both 256 threads.
struct TileBig {
  static constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;
};
struct TileSmall {
  static constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
};

template <class Tile, class LA, class LB>
void launch_tile(const Ctx& ctx, int M, int N, int K, LA a, BatchMap a_map, LB b, BatchMap b_map, float* C, long ldc,
                 BatchMap c_map, int batches, const float* bias, bool accumulate, Causal causal, const char* what) {
  constexpr int threads = (Tile::BM / Tile::TM) * (Tile::BN / Tile::TN);
  const dim3 grid((unsigned)((N + Tile::BN - 1) / Tile::BN), (unsigned)((M + Tile::BM - 1) / Tile::BM), (unsigned)batches);
  if (grid.y > 65535u || grid.z > 65535u) throw Error(concat(what, ": product too large for one launch (M ", M, ", batches ", batches, ")"));
  gemm_tile_kernel<LA, LB, Tile::BM, Tile::BN, Tile::BK, Tile::TM, Tile::TN>
      <<<grid, threads, 0, ctx.stream>>>(M, N, K, a, a_map, b, b_map, C, ldc, c_map, bias, accumulate, causal);
  check_launch(what);
}

// Picks the tile: the big one only when it still gives every multiprocessor two blocks.
template <class LA, class LB>
void launch_gemm(const Ctx& ctx, int M, int N, int K, LA a, BatchMap a_map, LB b, BatchMap b_map, float* C, long ldc,
                 BatchMap c_map, int batches, const float* bias, bool accumulate, Causal causal, const char* what) {
  if (M <= 0 || N <= 0 || batches <= 0) return;
  const long big = (long)((M + 127) / 128) * ((N + 127) / 128) * batches;
  if (big >= 2L * ctx.sms)
    launch_tile<TileBig>(ctx, M, N, K, a, a_map, b, b_map, C, ldc, c_map, batches, bias, accumulate, causal, what);
  else
    launch_tile<TileSmall>(ctx, M, N, K, a, a_map, b, b_map, C, ldc, c_map, batches, bias, accumulate, causal, what);
}

}  // namespace cuda
}  // namespace rlcd
