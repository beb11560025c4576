#include "matmul_packed.h"
#include "matmul_q8.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <cstring>

#include "../common/check.h"
#include "half.h"
#include "simd.h"
#include "stream_prefetch.h"
#include "tile_store.h"

namespace rlcd {

const char* weight_type_name(WeightType t) {
  switch (t) {
    case WeightType::F32: return "f32";
    case WeightType::BF16: return "bf16";
    case WeightType::F16: return "f16";
    case WeightType::Q8_0: return "q8_0";
  }
  return "?";
}

size_t PackedMatrix::bytes() const {
  return data.size() * sizeof(float) + half.size() * sizeof(uint16_t) + q8.size() + q8_scale.size() * sizeof(float);
}

float SourceWeights::at(size_t i) const {
  switch (type) {
    case WeightType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
    case WeightType::F16: return f16_to_f32(static_cast<const uint16_t*>(data)[i]);
    default: return static_cast<const float*>(data)[i];
  }
}

void SourceWeights::widen(size_t from, size_t n, float* dst) const {
  if (type == WeightType::F32) std::memcpy(dst, static_cast<const float*>(data) + from, sizeof(float) * n);
  else for (size_t j = 0; j < n; j++) dst[j] = at(from + j);
}

void pack_weight(PackedMatrix& out, SourceWeights weight, int N, int K, WeightType type) {
  RLCD_REQUIRE(weight.type == WeightType::F32 || weight.type == WeightType::BF16 || weight.type == WeightType::F16,
               "pack_weight: a source is f32, bf16 or f16, not ", weight_type_name(weight.type));
  if (type == WeightType::Q8_0 && K % kQ8Block != 0) type = WeightType::F16;
  const int panels = (N + kPanel - 1) / kPanel;
  const size_t count = (size_t)panels * K * kPanel;
  const size_t half_count = (size_t)(panels + 1) / 2 * 2 * K * kPanel;  // bf16, f16: panels in pairs
  out.N = N;
  out.K = K;
  out.type = type;
  // In the weight pool: on huge pages, right after the matrix packed before (weight_pool.h).
  out.data.resize_in_weight_pool(type == WeightType::F32 ? count : 0);
  out.half.resize_in_weight_pool(type == WeightType::BF16 || type == WeightType::F16 ? half_count : 0);
  out.q8.resize_in_weight_pool(type == WeightType::Q8_0 ? count : 0);
  out.q8_scale.resize_in_weight_pool(type == WeightType::Q8_0 ? (size_t)panels * (K / kQ8Block) * kPanel : 0);
  const bool same_half = weight.type == type && type != WeightType::F32;
  const uint16_t* bits = static_cast<const uint16_t*>(weight.data);
  auto at = [&](int p, int k, int j) -> float {
    int n = p * kPanel + j;
    return n < N ? weight.at((size_t)n * K + k) : 0.0f;
  };
  for (int p = 0; p < panels; p++) {
    for (int k = 0; k < K; k++)
      for (int j = 0; j < kPanel; j++) {
        const size_t i = panel_offset(type, K, p, k, j);
        const int n = p * kPanel + j;
        if (same_half) out.half[i] = n < N ? bits[(size_t)n * K + k] : 0;
        else if (type == WeightType::F32) out.data.data()[i] = at(p, k, j);
        else if (type == WeightType::BF16) out.half[i] = f32_to_bf16(at(p, k, j));
        else if (type == WeightType::F16) out.half[i] = f32_to_f16(at(p, k, j));
      }
    if (type != WeightType::Q8_0) continue;
    // ggml's quantize_row_q8_0: d = max|x| / 127 kept as f16, q = round(x / d).
    for (int b = 0; b < K / kQ8Block; b++)
      for (int j = 0; j < kPanel; j++) {
        float amax = 0;
        for (int k = b * kQ8Block; k < (b + 1) * kQ8Block; k++) amax = std::max(amax, std::fabs(at(p, k, j)));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        out.q8_scale[q8_scale_offset(N, K, p, b) + j] = f16_to_f32(f32_to_f16(d));
        for (int k = b * kQ8Block; k < (b + 1) * kQ8Block; k++)
          out.q8[q8_weight_offset(N, K, p * kPanel + j, k)] = (int8_t)std::lround(at(p, k, j) * id);
      }
  }
}

float packed_weight_at(const PackedMatrix& w, int n, int k) {
  const int p = n / kPanel, j = n % kPanel;
  const size_t i = panel_offset(w.type, w.K, p, k, j);
  switch (w.type) {
    case WeightType::F32: return w.data.data()[i];
    case WeightType::BF16: return bf16_to_f32(w.half[i]);
    case WeightType::F16: return f16_to_f32(w.half[i]);
    case WeightType::Q8_0:
      return (float)w.q8[q8_weight_offset(w.N, w.K, n, k)] * w.q8_scale[q8_scale_offset(w.N, w.K, p, k / kQ8Block) + j];
  }
  return 0;
}

void unpack_weight(float* out, const PackedMatrix& w) {
  const int panels = (w.N + kPanel - 1) / kPanel, K = w.K, KB = K / kQ8Block;
#pragma omp for schedule(static)
  for (int p = 0; p < panels; p++) {
    const int columns = std::min(kPanel, w.N - p * kPanel);
    for (int j = 0; j < columns; j++) {
      const int n = p * kPanel + j;
      float* row = out + (size_t)n * K;
      switch (w.type) {
        case WeightType::F32:
          for (int k = 0; k < K; k++) row[k] = w.data.data()[panel_offset(w.type, K, p, k, j)];
          break;
        case WeightType::BF16:
          for (int k = 0; k < K; k++) row[k] = bf16_to_f32(w.half[panel_offset(w.type, K, p, k, j)]);
          break;
        case WeightType::F16:
          for (int k = 0; k < K; k++) row[k] = f16_to_f32(w.half[panel_offset(w.type, K, p, k, j)]);
          break;
        case WeightType::Q8_0:
          for (int b = 0; b < KB; b++) {
            const float d = w.q8_scale[q8_scale_offset(w.N, K, p, b) + j];
            // Within a block, k pairs sit side by side: offset(k + 1) = offset(k) + 1 for even k.
            for (int k = b * kQ8Block; k < (b + 1) * kQ8Block; k += 2) {
              const int8_t* q = w.q8.data() + q8_weight_offset(w.N, K, n, k);
              row[k] = (float)q[0] * d;
              row[k + 1] = (float)q[1] * d;
            }
          }
          break;
      }
    }
  }
}

namespace {

// Weight loaders (f32, bf16, f16; q8_0 has its own kernel): the 16 weights of one panel at row k,
// widened to f32.
struct F32Panel {
  const float* p;
  F32Panel(const PackedMatrix& w, int panel) : p(w.data.data() + panel_offset(w.type, w.K, panel, 0, 0)) {}
#ifdef RLCD_AVX2
  void load(int k, __m256& w0, __m256& w1) const {
    w0 = _mm256_load_ps(p + (size_t)k * kPanel);
    w1 = _mm256_load_ps(p + (size_t)k * kPanel + 8);
  }
#endif
#ifdef __AVX512F__
  __m512 load512(int k) { return _mm512_load_ps(p + (size_t)k * kPanel); }
#endif
  static constexpr int kStepsPerLine = 1;
  static constexpr bool kPaired = false;
  const void* line(int k) const { return p + (size_t)k * kPanel; }
  static size_t bytes_per_panel(const PackedMatrix& w) { return (size_t)w.K * kPanel * sizeof(float); }
  float at(int k, int j) const { return p[(size_t)k * kPanel + j]; }
};

// Row k of panel p is in the pair block of panels p & ~1 (panel_offset): the 64-byte row of the
// pair holds this panel's weights in its low (even p) or high (odd p) 16 bits of each 32.
struct Bf16Panel {
  const uint16_t* p;
  bool high;
  Bf16Panel(const PackedMatrix& w, int panel)
      : p(w.half.data() + panel_offset(w.type, w.K, panel & ~1, 0, 0)), high(panel & 1) {}
#ifdef RLCD_AVX2
  void load(int k, __m256& w0, __m256& w1) const {
    const __m256i* src = (const __m256i*)(p + (size_t)k * kPanel * 2);
    const __m256i v0 = _mm256_loadu_si256(src), v1 = _mm256_loadu_si256(src + 1);
    if (high) {
      const __m256i m = _mm256_set1_epi32((int)0xFFFF0000u);
      w0 = _mm256_castsi256_ps(_mm256_and_si256(v0, m));
      w1 = _mm256_castsi256_ps(_mm256_and_si256(v1, m));
    } else {
      w0 = _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16));
      w1 = _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16));
    }
  }
#endif
  static constexpr int kStepsPerLine = 1;  // a k row of the pair is one 64-byte cache line
  static constexpr bool kPaired = true;    // panels 2q and 2q + 1 share one block (panel_offset)
  const void* line(int k) const { return p + (size_t)k * kPanel * 2; }
  static size_t bytes_per_panel(const PackedMatrix& w) { return (size_t)w.K * kPanel * sizeof(uint16_t); }
#ifdef __AVX512F__
  __m512 load512(int k) {
    const __m512i v = _mm512_load_si512((const __m512i*)(p + (size_t)k * kPanel * 2));
    return _mm512_castsi512_ps(high ? _mm512_and_si512(v, _mm512_set1_epi32((int)0xFFFF0000u)) : _mm512_slli_epi32(v, 16));
  }
#endif
  float at(int k, int j) const { return bf16_to_f32(p[((size_t)k * kPanel + j) * 2 + high]); }
};

// Row k of panel p is the low (even p) or high (odd p) 32 bytes of row k of its pair block
// (panel_offset): 16 f16 weights in a row, for one vcvtph2ps.
struct F16Panel {
  const uint16_t* p;
  F16Panel(const PackedMatrix& w, int panel)
      : p(w.half.data() + panel_offset(w.type, w.K, panel, 0, 0)) {}
#if defined(RLCD_AVX2) && defined(__F16C__)
  void load(int k, __m256& w0, __m256& w1) const {
    const __m128i* src = (const __m128i*)(p + (size_t)k * kPanel * 2);
    w0 = _mm256_cvtph_ps(_mm_loadu_si128(src));
    w1 = _mm256_cvtph_ps(_mm_loadu_si128(src + 1));
  }
#elif defined(RLCD_AVX2)
  void load(int k, __m256& w0, __m256& w1) const {
    alignas(32) float v[kPanel];
    for (int j = 0; j < kPanel; j++) v[j] = at(k, j);
    w0 = _mm256_load_ps(v);
    w1 = _mm256_load_ps(v + 8);
  }
#endif
  static constexpr int kStepsPerLine = 1;  // a k row of the pair is one 64-byte cache line
  static constexpr bool kPaired = true;    // panels 2q and 2q + 1 share one block (panel_offset)
  const void* line(int k) const { return p + (size_t)k * kPanel * 2; }
  static size_t bytes_per_panel(const PackedMatrix& w) { return (size_t)w.K * kPanel * sizeof(uint16_t); }
#ifdef __AVX512F__
  __m512 load512(int k) { return _mm512_cvtph_ps(_mm256_load_si256((const __m256i*)(p + (size_t)k * kPanel * 2))); }
#endif
  float at(int k, int j) const { return f16_to_f32(p[(size_t)k * kPanel * 2 + j]); }
};

// MR rows of inp times NP consecutive panels (NP * 16 columns), K summed in full. The two shapes
// used (4 rows x 1 panel, 1 row x 2 panels) keep their accumulators in named registers: with an
// array the compiler spills them to the stack on every k.
template <int MR, int NP, class Panel>
void tile(float* out, const float* inp, const PackedMatrix& w, int panel, const float* bias, int n0, bool accumulate) {
  static_assert((MR == 4 && NP == 1) || (MR == 1 && NP <= 2), "tile shapes: 4x1 or 1x1/1x2 panels");
  const int K = w.K, N = w.N;
  Panel a(w, panel), b(w, NP > 1 ? panel + 1 : panel);
  alignas(32) float sums[MR][NP * kPanel];
#ifdef RLCD_AVX2
  if constexpr (MR == 4) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    const float* x0 = inp;
    const float* x1 = inp + K;
    const float* x2 = inp + 2 * (size_t)K;
    const float* x3 = inp + 3 * (size_t)K;
    for (int k = 0; k < K; k++) {
      __m256 w0, w1;
      a.load(k, w0, w1);
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
    for (int k = 0; k < K; k++) {
      const __m256 x = _mm256_broadcast_ss(inp + k);
      __m256 w0, w1;
      a.load(k, w0, w1);
      c0 = _mm256_fmadd_ps(x, w0, c0);
      c1 = _mm256_fmadd_ps(x, w1, c1);
      if constexpr (NP > 1) {
        b.load(k, w0, w1);
        c2 = _mm256_fmadd_ps(x, w0, c2);
        c3 = _mm256_fmadd_ps(x, w1, c3);
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
    for (int q = 0; q < NP; q++)
      for (int j = 0; j < kPanel; j++) {
        const float wv = q == 0 ? a.at(k, j) : b.at(k, j);
        for (int r = 0; r < MR; r++) sums[r][q * kPanel + j] = std::fma(inp[(size_t)r * K + k], wv, sums[r][q * kPanel + j]);
      }
#endif
  store_tile(out, sums, bias, N, n0, accumulate);
}

#ifdef __AVX512F__
// Eight rows times two panels (32 columns) in 16 zmm accumulators: per k, two weight vectors and
// eight broadcasts feed 16 FMAs, so the FMA units, not the loads, set the pace. This is the
// batched-decode and prefill shape; every output is the same FMA chain over k as in the other tiles.
// Meanwhile it fetches [ahead, ahead + ahead_bytes) into L2, spread evenly over its k steps.
template <class Panel>
void tile8x2(float* out, const float* inp, const PackedMatrix& w, int panel, const float* bias, int n0, bool accumulate,
             const char* ahead, size_t ahead_bytes) {
  const int K = w.K, N = w.N;
  Panel a(w, panel), b(w, panel + 1);
  __m512 c[8][2];
  for (int r = 0; r < 8; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
  for (int k = 0; k < K; k++) {
    if (ahead_bytes) _mm_prefetch(ahead + (size_t)k * ahead_bytes / K, _MM_HINT_T1);
    const __m512 w0 = a.load512(k), w1 = b.load512(k);
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) {
      const __m512 x = _mm512_set1_ps(inp[(size_t)r * K + k]);
      c[r][0] = _mm512_fmadd_ps(x, w0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(x, w1, c[r][1]);
    }
  }
  alignas(64) float sums[8][2 * kPanel];
  for (int r = 0; r < 8; r++) {
    _mm512_store_ps(&sums[r][0], c[r][0]);
    _mm512_store_ps(&sums[r][kPanel], c[r][1]);
  }
  store_tile(out, sums, bias, N, n0, accumulate);
}

// P consecutive panels' loaders.
template <class Panel, size_t... I>
std::array<Panel, sizeof...(I)> panels_from(const PackedMatrix& w, int panel, std::index_sequence<I...>) {
  return {{Panel(w, panel + (int)I)...}};
}

// One row times P panels in zmm: decoding at batch 1 is a stream of weights, and one 16-wide
// widening and FMA per panel and k keeps the instruction count per byte low for the narrow types.
// Each accumulator is a chain of dependent FMAs (4 cycles each), so P = 4 chains keep twice as
// many FMAs in flight as 2: enough for the widening work of bf16 to hide under the loads.
template <class Panel, int P>
void tile1xP(float* out, const float* inp, const PackedMatrix& w, int panel, const float* bias, int n0, bool accumulate) {
  const int K = w.K, N = w.N;
  auto pan = panels_from<Panel>(w, panel, std::make_index_sequence<P>{});
  __m512 c[P];
  for (int q = 0; q < P; q++) c[q] = _mm512_setzero_ps();
  // Batch 1 streams the weights once: fetch 2 KiB ahead of each panel (the next tile's panels
  // follow these in memory), where the hardware does not ramp up on a panel's short stream alone
  // (stream_prefetch.h).
  const bool fetch = stream_prefetch_pays();
  for (int k = 0; k < K; k++) {
    if (fetch && k % Panel::kStepsPerLine == 0)
      for (int q = 0; q < P; q++) _mm_prefetch((const char*)pan[q].line(k) + 2048, _MM_HINT_T0);
    const __m512 x = _mm512_set1_ps(inp[k]);
#pragma GCC unroll 4
    for (int q = 0; q < P; q++) c[q] = _mm512_fmadd_ps(x, pan[q].load512(k), c[q]);
  }
  alignas(64) float sums[1][P * kPanel];
  for (int q = 0; q < P; q++) _mm512_store_ps(&sums[0][q * kPanel], c[q]);
  store_tile(out, sums, bias, N, n0, accumulate);
}
#endif

// All rows [m0, m1) against NP panels starting at panel p0: 4-row tiles (one panel), then single rows.
template <int NP, class Panel>
void panel_group(float* out, const float* inp, const PackedMatrix& w, const float* bias, int m0, int m1, int p0, bool accumulate) {
  const int n0 = p0 * kPanel;
  int m = m0;
  if constexpr (NP == 1)
    for (; m + 4 <= m1; m += 4) tile<4, 1, Panel>(out + (size_t)m * w.N, inp + (size_t)m * w.K, w, p0, bias, n0, accumulate);
  for (; m < m1; m++) tile<1, NP, Panel>(out + (size_t)m * w.N, inp + (size_t)m * w.K, w, p0, bias, n0, accumulate);
}

template <class Panel>
void matmul_panels(float* out, const float* inp, const PackedMatrix& w, const float* bias, int M, bool accumulate) {
  // Items: (row block of up to 64 rows) x (group of 2 panels = 32 columns). Few rows: a 1-row tile
  // spans both panels (4 independent FMA chains). Four rows or more: 4-row tiles over one panel
  // (8 accumulators + 2 weight registers; two panels would spill the 16 ymm registers).
  const int panels = (w.N + kPanel - 1) / kPanel;
#ifdef __AVX512F__
  if (M == 1 && Panel::kPaired) {
    // One sequence on a 2-byte type: items of one pair of panels, so that a tile reads one stream
    // (a 64-byte line a k) instead of two. The 88M model's matmuls on Zen 4, one thread: bf16 and
    // f16 1.08-1.12x (two threads 1.01-1.02x); two or three rows lose, reading the pair once a row.
    // (An odd count's last pair holds a zero panel, whose columns store_tile leaves alone.)
#pragma omp for schedule(static)
    for (int q = 0; q < (panels + 1) / 2; q++) tile1xP<Panel, 2>(out, inp, w, 2 * q, bias, 2 * q * kPanel, accumulate);
    return;
  }
  if (M < 4) {
    // Decoding one to three sequences: items of four panels, one zmm chain per panel (tile1xP).
    const int quads = (panels + 3) / 4;
#pragma omp for schedule(static)
    for (int q = 0; q < quads; q++) {
      const int p0 = q * 4, np = std::min(4, panels - p0);
      for (int m = 0; m < M; m++) {
        float* o = out + (size_t)m * w.N;
        const float* x = inp + (size_t)m * w.K;
        if (np == 4) {
          tile1xP<Panel, 4>(o, x, w, p0, bias, p0 * kPanel, accumulate);
        } else {
          int p = p0;
          if (np >= 2) tile1xP<Panel, 2>(o, x, w, p, bias, p * kPanel, accumulate), p += 2;
          if (p < p0 + np) panel_group<1, Panel>(out, inp, w, bias, m, m + 1, p, accumulate);
        }
      }
    }
    return;
  }
#endif
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
    int m = m0;
#ifdef __AVX512F__
    if (np == 2) {
      // The next group's two panels follow these in memory: each 8-row tile fetches its share of
      // them into L2, so the item after this one computes from L2 instead of waiting on memory in
      // its first tile (batch 16: 1.3x on one thread here; batch 64: 1.05x).
      const int tiles = (m1 - m) / 8, next = std::min(2, panels - p0 - 2);
      const char* ahead = next > 0 ? (const char*)Panel(w, p0 + 2).line(0) : nullptr;
      const size_t share = next > 0 && tiles > 0 ? Panel::bytes_per_panel(w) * next / tiles : 0;
      for (int t = 0; m + 8 <= m1; m += 8, t++)
        tile8x2<Panel>(out + (size_t)m * w.N, inp + (size_t)m * w.K, w, p0, bias, p0 * kPanel, accumulate, ahead + share * t, share);
      if (m1 - m < 4)
        for (; m < m1; m++) tile1xP<Panel, 2>(out + (size_t)m * w.N, inp + (size_t)m * w.K, w, p0, bias, p0 * kPanel, accumulate);
    }
    if (m == m1) continue;
#endif
    if (m1 - m >= 4) {
      for (int p = p0; p < p0 + np; p++) panel_group<1, Panel>(out, inp, w, bias, m, m1, p, accumulate);
    } else if (np == 2) {
      panel_group<2, Panel>(out, inp, w, bias, m, m1, p0, accumulate);
    } else {
      panel_group<1, Panel>(out, inp, w, bias, m, m1, p0, accumulate);
    }
  }
}

}  // namespace

void matmul_packed_forward(float* out, const float* inp, const PackedMatrix& w, const float* bias, int M, bool accumulate) {
  switch (w.type) {
    case WeightType::F32: return matmul_panels<F32Panel>(out, inp, w, bias, M, accumulate);
    case WeightType::BF16: return matmul_panels<Bf16Panel>(out, inp, w, bias, M, accumulate);
    case WeightType::F16: return matmul_panels<F16Panel>(out, inp, w, bias, M, accumulate);
    case WeightType::Q8_0: return matmul_q8_forward(out, inp, w, bias, M, accumulate);
  }
}

}  // namespace rlcd
