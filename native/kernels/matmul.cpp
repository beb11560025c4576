#include "matmul.h"

#include "simd.h"

namespace rlcd {

namespace {

// A register tile: MR rows of inp times NR rows of weight, K summed in full. Each of the MR*NR
// dot products uses the same lane layout and the same final reduction as dot() in simd.h, so the
// tile shape never changes a result.
template <int MR, int NR>
inline void tile(float* out, const float* inp, const float* weight, const float* bias, int K, int N,
                 bool accumulate) {
  float sums[MR][NR];
  int k = 0;
#ifdef RLCD_AVX2
  __m256 acc[MR][NR];
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NR; c++) acc[r][c] = _mm256_setzero_ps();
  for (; k + 8 <= K; k += 8) {
    __m256 w[NR];
    for (int c = 0; c < NR; c++) w[c] = _mm256_loadu_ps(weight + (long)c * K + k);
    for (int r = 0; r < MR; r++) {
      __m256 x = _mm256_loadu_ps(inp + (long)r * K + k);
      for (int c = 0; c < NR; c++) acc[r][c] = _mm256_fmadd_ps(x, w[c], acc[r][c]);
    }
  }
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NR; c++) sums[r][c] = hsum8(acc[r][c]);
#else
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NR; c++) sums[r][c] = 0.0f;
#endif
  for (; k < K; k++)
    for (int r = 0; r < MR; r++)
      for (int c = 0; c < NR; c++) sums[r][c] += inp[(long)r * K + k] * weight[(long)c * K + k];
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NR; c++) {
      float v = sums[r][c] + (bias ? bias[c] : 0.0f);
      float& o = out[(long)r * N + c];
      o = accumulate ? o + v : v;
    }
}

// 2x4 tile: 8 accumulators + 4 weight vectors + 1 input vector stay within the 16 ymm registers.
constexpr int kMR = 2;  // rows of inp per tile
constexpr int kNR = 4;  // rows of weight per tile

template <int NR>
inline void column_block(float* out, const float* inp, const float* weight, const float* bias, int M,
                         int K, int N, bool accumulate) {
  int m = 0;
  for (; m + kMR <= M; m += kMR)
    tile<kMR, NR>(out + (long)m * N, inp + (long)m * K, weight, bias, K, N, accumulate);
  if (m < M) tile<1, NR>(out + (long)m * N, inp + (long)m * K, weight, bias, K, N, accumulate);
}

}  // namespace

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int M,
                    int K, int N, bool accumulate) {
  // Work is split into (row block, column block) items. Column blocks of 4 weight rows keep the
  // weight tile in registers; row blocks of 64 bound the inp slice to L1/L2 for large M.
  const int row_block = 64;
  const int col_blocks = (N + kNR - 1) / kNR;
  const int row_blocks = (M + row_block - 1) / row_block;
  const long items = (long)col_blocks * row_blocks;
  const double flops = 2.0 * M * (double)K * N;
#pragma omp parallel for schedule(static) if (flops > 65536.0)
  for (long item = 0; item < items; item++) {
    int cb = (int)(item % col_blocks);
    int rb = (int)(item / col_blocks);
    int n0 = cb * kNR;
    int m0 = rb * row_block;
    int mrows = M - m0 < row_block ? M - m0 : row_block;
    const float* b = bias ? bias + n0 : nullptr;
    float* o = out + (long)m0 * N + n0;
    const float* x = inp + (long)m0 * K;
    const float* w = weight + (long)n0 * K;
    switch (N - n0 >= kNR ? kNR : N - n0) {
      case 4: column_block<4>(o, x, w, b, mrows, K, N, accumulate); break;
      case 3: column_block<3>(o, x, w, b, mrows, K, N, accumulate); break;
      case 2: column_block<2>(o, x, w, b, mrows, K, N, accumulate); break;
      default: column_block<1>(o, x, w, b, mrows, K, N, accumulate); break;
    }
  }
}

}  // namespace rlcd
