#include "matmul_packed.h"

#include <algorithm>

#include "simd.h"

namespace rlcd {

void pack_weight(PackedMatrix& out, const float* weight, int N, int K) {
  const int panels = (N + kPanel - 1) / kPanel;
  out.N = N;
  out.K = K;
  out.data.resize((size_t)panels * K * kPanel);
  for (int p = 0; p < panels; p++)
    for (int k = 0; k < K; k++)
      for (int j = 0; j < kPanel; j++) {
        int n = p * kPanel + j;
        out.data.data()[((size_t)p * K + k) * kPanel + j] = n < N ? weight[(size_t)n * K + k] : 0.0f;
      }
}

namespace {

// MR rows of inp times NP consecutive panels (NP * 16 columns), K summed in full.
template <int MR, int NP>
void tile(float* out, const float* inp, const float* panels, const float* bias, int K, int N, int n0,
          bool accumulate) {
  const size_t panel_stride = (size_t)K * kPanel;
#ifdef RLCD_AVX2
  __m256 acc[MR][NP * 2];
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NP * 2; c++) acc[r][c] = _mm256_setzero_ps();
  for (int k = 0; k < K; k++) {
    __m256 w[NP * 2];
    for (int p = 0; p < NP; p++) {
      const float* wp = panels + p * panel_stride + (size_t)k * kPanel;
      w[2 * p] = _mm256_load_ps(wp);
      w[2 * p + 1] = _mm256_load_ps(wp + 8);
    }
    for (int r = 0; r < MR; r++) {
      __m256 x = _mm256_broadcast_ss(inp + (size_t)r * K + k);
      for (int c = 0; c < NP * 2; c++) acc[r][c] = _mm256_fmadd_ps(x, w[c], acc[r][c]);
    }
  }
  alignas(32) float sums[MR][NP * kPanel];
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NP * 2; c++) _mm256_store_ps(&sums[r][c * 8], acc[r][c]);
#else
  float sums[MR][NP * kPanel] = {};
  for (int k = 0; k < K; k++)
    for (int p = 0; p < NP; p++)
      for (int j = 0; j < kPanel; j++) {
        float wv = panels[p * panel_stride + (size_t)k * kPanel + j];
        for (int r = 0; r < MR; r++) sums[r][p * kPanel + j] += inp[(size_t)r * K + k] * wv;
      }
#endif
  const int cols = std::min(NP * kPanel, N - n0);
  for (int r = 0; r < MR; r++) {
    float* o = out + (size_t)r * N + n0;
    int j = 0;
#ifdef RLCD_AVX2
    for (; j + 8 <= cols; j += 8) {
      __m256 v = _mm256_load_ps(&sums[r][j]);
      if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + n0 + j));
      if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(o + j), v);
      _mm256_storeu_ps(o + j, v);
    }
#endif
    for (; j < cols; j++) {
      float v = sums[r][j] + (bias ? bias[n0 + j] : 0.0f);
      o[j] = accumulate ? o[j] + v : v;
    }
  }
}

// All M rows against NP panels starting at panel p0: 4-row tiles, then single rows.
template <int NP>
void panel_group(float* out, const float* inp, const PackedMatrix& w, const float* bias, int m0, int m1,
                 int p0, bool accumulate) {
  const float* panels = w.data.data() + (size_t)p0 * w.K * kPanel;
  const int n0 = p0 * kPanel;
  int m = m0;
  for (; m + 4 <= m1; m += 4) tile<4, NP>(out + (size_t)m * w.N, inp + (size_t)m * w.K, panels, bias, w.K, w.N, n0, accumulate);
  for (; m < m1; m++) tile<1, NP>(out + (size_t)m * w.N, inp + (size_t)m * w.K, panels, bias, w.K, w.N, n0, accumulate);
}

}  // namespace

void matmul_packed_forward(float* out, const float* inp, const PackedMatrix& w, const float* bias, int M,
                           bool accumulate) {
  // Items: (row block of up to 64 rows) x (group of 2 panels = 32 columns). Few rows: a 1-row tile
  // spans both panels (4 independent FMA chains). Four rows or more: 4-row tiles over one panel
  // (8 accumulators + 2 weight registers; two panels would spill the 16 ymm registers).
  const int panels = (w.N + kPanel - 1) / kPanel;
  const int row_block = 64;
  const int row_blocks = (M + row_block - 1) / row_block;
  const int groups = (panels + 1) / 2;
  const long items = (long)row_blocks * groups;
#pragma omp for schedule(static)
  for (long item = 0; item < items; item++) {
    int g = (int)(item % groups), rb = (int)(item / groups);
    int m0 = rb * row_block, m1 = std::min(M, m0 + row_block);
    int p0 = g * 2;
    int np = std::min(2, panels - p0);
    if (m1 - m0 >= 4) {
      // 4-row tiles with one panel: 4 x 2 accumulators + 2 weight registers.
      for (int p = p0; p < p0 + np; p++) {
        panel_group<1>(out, inp, w, bias, m0, m1, p, accumulate);
      }
    } else if (np == 2) {
      panel_group<2>(out, inp, w, bias, m0, m1, p0, accumulate);
    } else {
      panel_group<1>(out, inp, w, bias, m0, m1, p0, accumulate);
    }
  }
}

}  // namespace rlcd
