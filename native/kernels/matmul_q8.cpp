// q8_0 weights (llama.cpp's format: int8, one f16-rounded scale per 32 k of a column) times
// activations quantised per row to int16 with one f32 scale per block of 32 k. Each block is an exact
// integer dot product, so only the blocks' combination is floating point:
//   out[m][n] = bias[n] + sum over blocks b, in order, of  isum_b * (xscale[m][b] * wscale[n][b])
// with one fma per block into an f32 accumulator. Integer sums are exact in any order, so every tile
// shape, thread count and instruction set gives the same bits (a row never depends on its batch).
//
// Why int16 activations: widening int8 weights to f32 costs four vector ops a 16 weights (widen,
// convert, scale, fma) and made batch-1 decoding compute-bound below the memory bus; an int16 pair
// product (AVX-512 VNNI vpdpwssd, or vpmaddwd) does 32 multiply-adds in one op. llama.cpp rounds
// activations to int8; int16 keeps them within 2^-16 of each block's max |x|, 128 times finer than
// the weights' own rounding, so the log-probs move no further from f32 (test/native/weights-dtype).
//
// Layout: see q8_weight_offset in matmul_q8.h.
#include "matmul_q8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "../common/check.h"
#include "simd.h"
#include "stream_prefetch.h"
#include "tile_store.h"

namespace rlcd {

void quantize_activations_q16(const float* x, int K, int16_t* q, float* scale) {
  for (int b = 0; b < K / kQ8Block; b++) {
    const float* xb = x + (size_t)b * kQ8Block;
    int16_t* qb = q + (size_t)b * kQ8Block;
    float amax = 0.0f;
    bool finite = true;
#ifdef __AVX512F__
    const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
    const __m512 a = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1));
    // Not NaN and not infinite: |x| <= FLT_MAX (NaN compares false).
    finite = _mm512_cmp_ps_mask(a, _mm512_set1_ps(std::numeric_limits<float>::max()), _CMP_LE_OQ) == 0xffff &&
             _mm512_cmp_ps_mask(v0, v0, _CMP_UNORD_Q) == 0 && _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q) == 0;
    amax = _mm512_reduce_max_ps(a);
#else
    for (int k = 0; k < kQ8Block; k++) {
      const float a = std::fabs(xb[k]);
      if (!(a <= std::numeric_limits<float>::max())) finite = false;
      amax = std::max(amax, a);
    }
#endif
    if (!finite) {
      scale[b] = std::numeric_limits<float>::quiet_NaN();
      std::fill(qb, qb + kQ8Block, (int16_t)0);
      continue;
    }
    scale[b] = amax / 32767.0f;
    const float inv = amax > 0.0f ? 32767.0f / amax : 0.0f;
#ifdef __AVX512F__
    const __m512 iv = _mm512_set1_ps(inv);
    _mm256_storeu_si256((__m256i*)qb, _mm512_cvtepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v0, iv))));
    _mm256_storeu_si256((__m256i*)(qb + 16), _mm512_cvtepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v1, iv))));
#else
    for (int k = 0; k < kQ8Block; k++) qb[k] = (int16_t)std::nearbyint(xb[k] * inv);  // |x * inv| <= 32767
#endif
  }
}

namespace {

// The activations of one call, quantised once per thread (M x K work against the matmul's M x K x N).
struct Q16Rows {
  const int16_t* q;    // (M, K)
  const float* scale;  // (M, K / 32)
  int K;
  int32_t pair(int m, int k) const {  // the int16 pair (k, k+1) of row m as one 32-bit lane
    int32_t v;
    std::memcpy(&v, q + (size_t)m * K + k, 4);
    return v;
  }
  float block_scale(int m, int b) const { return scale[(size_t)m * (K / kQ8Block) + b]; }
};

// Where `panel`'s 32-byte runs start and how far apart consecutive pairs' runs are.
struct PanelRuns {
  const int8_t* first;
  size_t pair_stride;
  PanelRuns(const PackedMatrix& w, int panel) {
    const int g = panel / kQ8Group;
    pair_stride = 2 * kPanel * q8_group_panels(w.N, g);
    first = w.q8.data() + (size_t)g * kQ8Group * w.K * kPanel + (size_t)(panel % kQ8Group) * 2 * kPanel;
  }
  const int8_t* run(int k) const { return first + (size_t)(k / 2) * pair_stride; }  // pair (k, k+1)
};

// Weights a tile fetches into L2 for the tile after it: the runs of `next`'s panels for pairs
// [k0, k0 + K / tiles), spread over the tile's k steps (as tile8x2 in matmul_packed.cpp).
struct Ahead {
  const PanelRuns* next = nullptr;
  int k0 = 0, tiles = 1;
};

#if defined(__AVX512BW__)
inline __m512i dot_pairs(__m512i acc, __m512i w, __m512i x) {
#ifdef __AVX512VNNI__
  // In asm: with the intrinsic, GCC 12 copies every accumulator to a new register at each step
  // (two moves a vpdpwssd), which halved the batched tiles' speed.
  __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(w), "v"(x));
  return acc;
#else
  return _mm512_add_epi32(acc, _mm512_madd_epi16(w, x));
#endif
}

// MR rows from m0 times NP consecutive panels of one group from `panel`. One row (decoding) also
// prefetches the group's stream 4 KiB ahead, on into the next group (the matrix is one stream),
// where that pays (stream_prefetch.h).
template <int MR, int NP>
void tile(float* out, const Q16Rows& x, int m0, const PackedMatrix& w, int panel, const float* bias, bool accumulate,
          Ahead ahead = {}) {
  const int K = w.K, KB = K / kQ8Block;
  const PanelRuns runs(w, panel);
  // The tile's panels' scales for block b: ws + b * ws_stride + q * 16 (q8_scale_offset).
  const float* ws = w.q8_scale.data() + q8_scale_offset(w.N, K, panel, 0);
  const size_t ws_stride = q8_group_panels(w.N, panel / kQ8Group) * kPanel;
  __m512 acc[MR][NP];
  for (int r = 0; r < MR; r++)
    for (int q = 0; q < NP; q++) acc[r][q] = _mm512_setzero_ps();
  // Few accumulators: two integer chains each (even and odd pairs), so that enough vpdpwssd are
  // in flight to cover their latency; integer sums, so the split changes no bit.
  constexpr int C = MR * NP < 8 ? 2 : 1;
  const bool fetch = MR == 1 && stream_prefetch_pays();
  for (int b = 0; b < KB; b++) {
    __m512i isum[C][MR][NP];
    for (int c = 0; c < C; c++)
      for (int r = 0; r < MR; r++)
        for (int q = 0; q < NP; q++) isum[c][r][q] = _mm512_setzero_si512();
    for (int k = b * kQ8Block; k < (b + 1) * kQ8Block; k += 2 * C) {
      if constexpr (MR == 1) {
        if (fetch)
          for (size_t at = 0; at < C * runs.pair_stride; at += 64) _mm_prefetch((const char*)runs.run(k) + 4096 + at, _MM_HINT_T0);
      } else if (ahead.next) {
        _mm_prefetch((const char*)ahead.next->run(ahead.k0 + k / ahead.tiles), _MM_HINT_T1);
      }
#pragma GCC unroll 2
      for (int c = 0; c < C; c++) {
        __m512i wv[NP];
        for (int q = 0; q < NP; q++)
          wv[q] = _mm512_cvtepi8_epi16(_mm256_load_si256((const __m256i*)(runs.run(k + 2 * c) + q * 2 * kPanel)));
        for (int r = 0; r < MR; r++) {
          const __m512i xp = _mm512_set1_epi32(x.pair(m0 + r, k + 2 * c));
          for (int q = 0; q < NP; q++) isum[c][r][q] = dot_pairs(isum[c][r][q], wv[q], xp);
        }
      }
    }
    if constexpr (C == 2)
      for (int r = 0; r < MR; r++)
        for (int q = 0; q < NP; q++) isum[0][r][q] = _mm512_add_epi32(isum[0][r][q], isum[1][r][q]);
    for (int r = 0; r < MR; r++) {
      const __m512 xs = _mm512_set1_ps(x.block_scale(m0 + r, b));
      for (int q = 0; q < NP; q++) {
        const __m512 d = _mm512_mul_ps(xs, _mm512_loadu_ps(ws + (size_t)b * ws_stride + (size_t)q * kPanel));
        acc[r][q] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[0][r][q]), d, acc[r][q]);
      }
    }
  }
  alignas(64) float sums[MR][NP * kPanel];
  for (int r = 0; r < MR; r++)
    for (int q = 0; q < NP; q++) _mm512_store_ps(&sums[r][q * kPanel], acc[r][q]);
  store_tile(out + (size_t)m0 * w.N, sums, bias, w.N, panel * kPanel, accumulate);
}
#else
// One panel at a time: AVX2 (vpmaddwd on 8 columns a register) or plain C++, the same sums.
template <int MR>
void panel_tile(float* out, const Q16Rows& x, int m0, const PackedMatrix& w, int panel, const float* bias, bool accumulate) {
  const int K = w.K, KB = K / kQ8Block;
  const PanelRuns runs(w, panel);
  const float* ws = w.q8_scale.data() + q8_scale_offset(w.N, K, panel, 0);
  const size_t ws_stride = q8_group_panels(w.N, panel / kQ8Group) * kPanel;  // from block to block
  alignas(32) float sums[MR][kPanel];
#ifdef RLCD_AVX2
  __m256 acc[MR][2];
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int b = 0; b < KB; b++) {
    __m256i isum[MR][2];
    for (int r = 0; r < MR; r++) isum[r][0] = isum[r][1] = _mm256_setzero_si256();
    for (int k = b * kQ8Block; k < (b + 1) * kQ8Block; k += 2) {
      const __m128i* src = (const __m128i*)runs.run(k);
      const __m256i lo = _mm256_cvtepi8_epi16(_mm_load_si128(src)), hi = _mm256_cvtepi8_epi16(_mm_load_si128(src + 1));
      for (int r = 0; r < MR; r++) {
        const __m256i xp = _mm256_set1_epi32(x.pair(m0 + r, k));
        isum[r][0] = _mm256_add_epi32(isum[r][0], _mm256_madd_epi16(lo, xp));
        isum[r][1] = _mm256_add_epi32(isum[r][1], _mm256_madd_epi16(hi, xp));
      }
    }
    for (int r = 0; r < MR; r++) {
      const __m256 xs = _mm256_set1_ps(x.block_scale(m0 + r, b));
      for (int h = 0; h < 2; h++) {
        const __m256 d = _mm256_mul_ps(xs, _mm256_loadu_ps(ws + (size_t)b * ws_stride + h * 8));
        acc[r][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][h]), d, acc[r][h]);
      }
    }
  }
  for (int r = 0; r < MR; r++) {
    _mm256_store_ps(&sums[r][0], acc[r][0]);
    _mm256_store_ps(&sums[r][8], acc[r][1]);
  }
#else
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < kPanel; j++) {
      float acc = 0.0f;
      for (int b = 0; b < KB; b++) {
        int32_t isum = 0;
        for (int k = b * kQ8Block; k < (b + 1) * kQ8Block; k++)
          isum += (int32_t)x.q[(size_t)(m0 + r) * K + k] * runs.run(k)[2 * j + (k & 1)];
        acc = std::fma((float)isum, x.block_scale(m0 + r, b) * ws[(size_t)b * ws_stride + j], acc);
      }
      sums[r][j] = acc;
    }
#endif
  store_tile(out + (size_t)m0 * w.N, sums, bias, w.N, panel * kPanel, accumulate);
}

template <int MR, int NP>
void tile(float* out, const Q16Rows& x, int m0, const PackedMatrix& w, int panel, const float* bias, bool accumulate,
          Ahead = {}) {
  for (int q = 0; q < NP; q++) panel_tile<MR>(out, x, m0, w, panel + q, bias, accumulate);
}
#endif

// MR rows from m times np (1, 2 or, for one row, 4) panels of one group from p0.
template <int MR>
void tile_panels(float* out, const Q16Rows& x, int m, const PackedMatrix& w, int p0, int np, const float* bias, bool accumulate,
                 Ahead ahead = {}) {
  if constexpr (MR == 1)  // only batch 1-3 takes panels four at a time
    if (np == 4) return tile<1, 4>(out, x, m, w, p0, bias, accumulate);
  if (np >= 2) tile<MR, 2>(out, x, m, w, p0, bias, accumulate, ahead);
  if (np % 2 == 1) tile<MR, 1>(out, x, m, w, p0 + np - 1, bias, accumulate, ahead);
}

void rows_times_panels(float* out, const Q16Rows& x, int m0, int m1, const PackedMatrix& w, int p0, int np, const float* bias,
                       bool accumulate) {
  int m = m0;
  // The 8-row tiles fetch the next two panels' weights into L2, a share each: the next item then
  // computes from L2 instead of waiting on memory in its first tile.
  const int panels = (w.N + kPanel - 1) / kPanel, tiles = (m1 - m0) / 8;
  const PanelRuns next(w, std::min(p0 + 2, panels - 1));
  for (int t = 0; m + 8 <= m1; m += 8, t++)
    tile_panels<8>(out, x, m, w, p0, np, bias, accumulate, Ahead{p0 + 2 < panels ? &next : nullptr, w.K * t / tiles, tiles});
  for (; m + 4 <= m1; m += 4) tile_panels<4>(out, x, m, w, p0, np, bias, accumulate);
  for (; m < m1; m++) tile_panels<1>(out, x, m, w, p0, np, bias, accumulate);
}

}  // namespace

void matmul_q8_forward(float* out, const float* inp, const PackedMatrix& w, const float* bias, int M, bool accumulate) {
  RLCD_CHECK(w.type == WeightType::Q8_0 && w.K % kQ8Block == 0, "matmul_q8_forward: a q8_0 matrix of whole blocks");
  const int K = w.K, KB = K / kQ8Block;
  thread_local std::vector<int16_t> q;
  thread_local std::vector<float> scale;
  if (q.size() < (size_t)M * K) q.resize((size_t)M * K);
  if (scale.size() < (size_t)M * KB) scale.resize((size_t)M * KB);
  for (int m = 0; m < M; m++) quantize_activations_q16(inp + (size_t)m * K, K, q.data() + (size_t)m * K, scale.data() + (size_t)m * KB);
  const Q16Rows x{q.data(), scale.data(), K};
  const int panels = (w.N + kPanel - 1) / kPanel;
  if (M < 4) {
    // Decoding one to three sequences: items of four panels, each row streaming them once.
    const int quads = (panels + 3) / 4;
#pragma omp for schedule(static)
    for (int i = 0; i < quads; i++)
      for (int m = 0; m < M; m++) rows_times_panels(out, x, m, m + 1, w, i * 4, std::min(4, panels - i * 4), bias, accumulate);
    return;
  }
  // Items: (row block of up to 64 rows) x (group of 2 panels = 32 columns), as matmul_panels.
  const int row_block = 64, row_blocks = (M + row_block - 1) / row_block, groups = (panels + 1) / 2;
#pragma omp for schedule(static)
  for (long item = 0; item < (long)row_blocks * groups; item++) {
    const int g = (int)(item % groups), m0 = (int)(item / groups) * row_block;
    rows_times_panels(out, x, m0, std::min(M, m0 + row_block), w, g * 2, std::min(2, panels - g * 2), bias, accumulate);
  }
}

}  // namespace rlcd
