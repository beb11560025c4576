// Strided (and batched) SGEMM for training: picks the loaders whose tile reads are coalesced for the
// operands' layouts and launches the shared tile kernel (gemm_tile.cuh).
#include "gemm_tile.cuh"

namespace rlcd {
namespace cuda {

namespace {

template <bool AK, bool BK>
void launch_layout(const Ctx& ctx, int M, int N, int K, const float* A, long a_rs, long a_cs, BatchMap a_map,
                   const float* B, long b_rs, long b_cs, BatchMap b_map, float* C, long ldc, BatchMap c_map, int batches,
                   bool accumulate, Causal causal, const char* what) {
  // Both loaders in (row, k) form: A's rows are i, B's rows are n (so B's row stride is b_cs).
  StridedLoader<AK> a{A, a_rs, a_cs};
  StridedLoader<BK> b{B, b_cs, b_rs};
  launch_gemm(ctx, M, N, K, a, a_map, b, b_map, C, ldc, c_map, batches, nullptr, accumulate, causal, what);
}

}  // namespace

void gemm_strided(const Ctx& ctx, int M, int N, int K, const float* A, long a_rs, long a_cs, BatchMap a_map,
                  const float* B, long b_rs, long b_cs, BatchMap b_map, float* C, long ldc, BatchMap c_map,
                  int batches, bool accumulate, Causal causal, const char* what) {
  // A walks k fast when its k stride is 1; B walks k fast when its k (row) stride is 1.
  const bool ak = a_cs == 1, bk = b_rs == 1;
  if (ak && bk)
    launch_layout<true, true>(ctx, M, N, K, A, a_rs, a_cs, a_map, B, b_rs, b_cs, b_map, C, ldc, c_map, batches, accumulate, causal, what);
  else if (ak)
    launch_layout<true, false>(ctx, M, N, K, A, a_rs, a_cs, a_map, B, b_rs, b_cs, b_map, C, ldc, c_map, batches, accumulate, causal, what);
  else if (bk)
    launch_layout<false, true>(ctx, M, N, K, A, a_rs, a_cs, a_map, B, b_rs, b_cs, b_map, C, ldc, c_map, batches, accumulate, causal, what);
  else
    launch_layout<false, false>(ctx, M, N, K, A, a_rs, a_cs, a_map, B, b_rs, b_cs, b_map, C, ldc, c_map, batches, accumulate, causal, what);
}

}  // namespace cuda
}  // namespace rlcd
