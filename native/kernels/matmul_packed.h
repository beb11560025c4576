// Inference matmul on weights repacked into 16-column panels: out = inp @ W^T (+ bias).
// The panels let a tile keep 16 output columns per register pair and stream W contiguously, with
// no horizontal sums; this is the decode/prefill hot path (see bench/).
//
// The panels hold f32, bf16, f16 or q8_0 weights. Decoding reads every weight once per step, so
// it runs at the speed the memory delivers weights: 2-byte and 1-byte weights are read 2-4x faster.
// bf16 and f16 are widened to f32 in registers and accumulated in f32 against f32 activations;
// q8_0 is multiplied in integers against int16-quantised activations (matmul_q8.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "../common/aligned_buffer.h"

namespace rlcd {

constexpr int kPanel = 16;
constexpr int kQ8Block = 32;  // q8_0: one scale per 32 consecutive weights of a row, as llama.cpp

enum class WeightType { F32, BF16, F16, Q8_0 };

const char* weight_type_name(WeightType t);

struct PackedMatrix {
  int N = 0, K = 0;
  WeightType type = WeightType::F32;
  AlignedBuffer data;             // F32: (ceil(N / 16), K, 16), zero-padded past N (panel_offset)
  AlignedArray<uint16_t> half;    // BF16, F16: panels in pairs (panel_offset)
  AlignedArray<int8_t> q8;        // Q8_0: 1 byte a weight, panels in groups of 4, k pairs interleaved (q8_weight_offset)
  AlignedBuffer q8_scale;         // Q8_0: each column's scale for each block of 32 k, group by group (q8_scale_offset)
  size_t bytes() const;           // what the matmul streams
};

// Where the weight at row k, column j of panel p sits in `data` (f32) or `half` (bf16, f16).
// f32: (K, 16) a panel. The 2-byte types store two panels (2q, 2q + 1) in one block, so that a
// 64-byte line holds row k of both and batch 1 reads half as many streams; an odd panel count gets
// a zero panel beside the last.
// - bf16: (K, 16, 2), the two panels' weights side by side: each widens with one shift or one mask
//   (a bf16 is the top half of its f32), not a 16-bit-to-32-bit zero-extension across the register.
// - f16: (K, 2, 16), the two panels' rows one after the other: each converts with one vcvtph2ps.
inline size_t panel_offset(WeightType type, int K, int p, int k, int j) {
  if (type == WeightType::BF16) return (((size_t)(p / 2) * K + k) * kPanel + j) * 2 + (p & 1);
  if (type == WeightType::F16) return (((size_t)(p / 2) * K + k) * 2 + (p & 1)) * kPanel + j;
  return ((size_t)p * K + k) * kPanel + j;
}

// A weight matrix as it was loaded: f32, or the raw bits of a bf16 / f16 checkpoint.
struct SourceWeights {
  const void* data;
  WeightType type;  // F32, BF16 or F16
  float at(size_t i) const;
  // dst[j] = at(from + j), j < n (a copy for f32).
  void widen(size_t from, size_t n, float* dst) const;
};

// weight: (N, K) in Linear layout. Q8_0 needs K % 32 == 0; a matrix whose rows are not whole
// blocks is stored F16 instead (llama.cpp's quantizer does the same). A bf16 / f16 source packed
// into its own type keeps its bits; any other pairing goes through f32 (rounded to nearest even).
void pack_weight(PackedMatrix& out, SourceWeights weight, int N, int K, WeightType type = WeightType::F32);
inline void pack_weight(PackedMatrix& out, const float* weight, int N, int K, WeightType type = WeightType::F32) {
  pack_weight(out, SourceWeights{weight, WeightType::F32}, N, K, type);
}

// The weight at (n, k) as the matmul sees it (after rounding to the stored type).
float packed_weight_at(const PackedMatrix& w, int n, int k);

// out (N, K) row-major = every weight as the matmul sees it (q8_0: q times its block's scale). The
// gradient of a frozen packed weight (LoRA on a bf16 / q8_0 base) flows through these values.
// Shares its rows out among the threads of an enclosing parallel region (dims.h).
void unpack_weight(float* out, const PackedMatrix& w);

// out:  (M, N)  written, or added to with accumulate
// inp:  (M, K)
// bias: (N) or nullptr
// Each output element is one FMA chain over k = 0..K-1 in order (q8_0: over its blocks of 32),
// whatever the tile or thread count, so a row's result never depends on the other rows in the call.
void matmul_packed_forward(float* out, const float* inp, const PackedMatrix& w, const float* bias, int M,
                           bool accumulate = false);

}  // namespace rlcd
