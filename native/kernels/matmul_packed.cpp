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

// Writes MR x (NP * 16) finished sums into out (+ bias, or added with accumulate), valid columns only.
template <int MR, int NP>
void store_tile(float* out, const float (&sums)[MR][NP * kPanel], const float* bias, int N, int n0, bool accumulate) {
  const int cols = std::min(NP * kPanel, N - n0);
  for (int r = 0; r < MR; r++) {
    float* o = out + (size_t)r * N + n0;
    int j = 0;
#ifdef RLCD_AVX2
    for (; j + 8 <= cols; j += 8) {
      __m256 v = _mm256_loadu_ps(&sums[r][j]);
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

// MR rows of inp times NP consecutive panels (NP * 16 columns), K summed in full. The two shapes
// used (4 rows x 1 panel, 1 row x 2 panels) keep their accumulators in named registers: with an
// array the compiler spills them to the stack on every k.
template <int MR, int NP>
void tile(float* out, const float* inp, const float* panels, const float* bias, int K, int N, int n0,
          bool accumulate) {
  static_assert((MR == 4 && NP == 1) || (MR == 1 && NP <= 2), "tile shapes: 4x1 or 1x1/1x2 panels");
  const size_t panel_stride = (size_t)K * kPanel;
  alignas(32) float sums[MR][NP * kPanel];
#ifdef RLCD_AVX2
  if constexpr (MR == 4) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    const float* x0 = inp;
    const float* x1 = inp + K;
    const float* x2 = inp + 2 * (size_t)K;
    const float* x3 = inp + 3 * (size_t)K;
    for (int k = 0; k < K; k++) {
      const __m256 w0 = _mm256_load_ps(panels + (size_t)k * kPanel);
      const __m256 w1 = _mm256_load_ps(panels + (size_t)k * kPanel + 8);
      __m256 x = _mm256_broadcast_ss(x0 + k);
      c00 = _mm256_fmadd_ps(x, w0, c00);
      c01 = _mm256_fmadd_ps(x, w1, c01);
      x = _mm256_broadcast_ss(x1 + k);
      c10 = _mm256_fmadd_ps(x, w0, c10);
      c11 = _mm256_fmadd_ps(x, w1, c11);
      x = _mm256_broadcast_ss(x2 + k);
      c20 = _mm256_fmadd_ps(x, w0, c20);
      c21 = _mm256_fmadd_ps(x, w1, c21);
      x = _mm256_broadcast_ss(x3 + k);
      c30 = _mm256_fmadd_ps(x, w0, c30);
      c31 = _mm256_fmadd_ps(x, w1, c31);
    }
    const __m256 acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
    for (int r = 0; r < 4; r++) {
      _mm256_store_ps(&sums[r][0], acc[r][0]);
      _mm256_store_ps(&sums[r][8], acc[r][1]);
    }
  } else {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    const float* p1 = panels + (NP > 1 ? panel_stride : 0);
    for (int k = 0; k < K; k++) {
      const __m256 x = _mm256_broadcast_ss(inp + k);
      c0 = _mm256_fmadd_ps(x, _mm256_load_ps(panels + (size_t)k * kPanel), c0);
      c1 = _mm256_fmadd_ps(x, _mm256_load_ps(panels + (size_t)k * kPanel + 8), c1);
      if constexpr (NP > 1) {
        c2 = _mm256_fmadd_ps(x, _mm256_load_ps(p1 + (size_t)k * kPanel), c2);
        c3 = _mm256_fmadd_ps(x, _mm256_load_ps(p1 + (size_t)k * kPanel + 8), c3);
      }
    }
    _mm256_store_ps(&sums[0][0], c0);
    _mm256_store_ps(&sums[0][8], c1);
    if constexpr (NP > 1) {
      _mm256_store_ps(&sums[0][16], c2);
      _mm256_store_ps(&sums[0][24], c3);
    }
  }
#else
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < NP * kPanel; j++) sums[r][j] = 0.0f;
  for (int k = 0; k < K; k++)
    for (int p = 0; p < NP; p++)
      for (int j = 0; j < kPanel; j++) {
        float wv = panels[p * panel_stride + (size_t)k * kPanel + j];
        for (int r = 0; r < MR; r++) sums[r][p * kPanel + j] += inp[(size_t)r * K + k] * wv;
      }
#endif
  store_tile<MR, NP>(out, sums, bias, N, n0, accumulate);
}

// All M rows against NP panels starting at panel p0: 4-row tiles (one panel), then single rows.
template <int NP>
void panel_group(float* out, const float* inp, const PackedMatrix& w, const float* bias, int m0, int m1,
                 int p0, bool accumulate) {
  const float* panels = w.data.data() + (size_t)p0 * w.K * kPanel;
  const int n0 = p0 * kPanel;
  int m = m0;
  if constexpr (NP == 1)
    for (; m + 4 <= m1; m += 4) tile<4, 1>(out + (size_t)m * w.N, inp + (size_t)m * w.K, panels, bias, w.K, w.N, n0, accumulate);
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
