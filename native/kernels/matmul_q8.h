// The q8_0 inference matmul: int8 weights times activations quantised to int16, summed exactly in
// integers within each block of 32 k (see matmul_q8.cpp for the numerics).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "matmul_packed.h"

namespace rlcd {

// q8_0 panels are stored in groups of four (64 columns; the last group may hold fewer), and within a
// group pair by pair of k: the group's 32-byte runs for pair (k, k+1), one a panel, then the next pair.
// In a run, column j's two weights sit at bytes 2j and 2j+1, so sign-extending a run to int16 gives
// each 32-bit lane one column's pair; and a group is one contiguous stream, read once by batch 1.
constexpr int kQ8Group = 4;
inline size_t q8_group_panels(int N, int group) {
  const int panels = (N + kPanel - 1) / kPanel;
  return (size_t)std::min(kQ8Group, panels - group * kQ8Group);
}
// Byte offset of weight (n, k) in PackedMatrix::q8.
inline size_t q8_weight_offset(int N, int K, int n, int k) {
  const int p = n / kPanel, g = p / kQ8Group;
  return (size_t)g * kQ8Group * K * kPanel + (size_t)(k / 2) * 2 * kPanel * q8_group_panels(N, g) +
         (size_t)(p % kQ8Group) * 2 * kPanel + 2 * (n % kPanel) + (k & 1);
}

// Index in PackedMatrix::q8_scale of panel p's 16 column scales for block b (of 32 k). A group's
// scales go block by block, its panels side by side ((K / 32, group panels, 16) a group), so that
// decoding one row reads them as one stream beside the group's weights (a stream a panel, as
// before, held batch 1 at 19 of the 34 GB/s the bus delivers: Zen 4, one thread).
inline size_t q8_scale_offset(int N, int K, int p, int b) {
  const int g = p / kQ8Group;
  return ((size_t)g * kQ8Group * (K / kQ8Block) + (size_t)b * q8_group_panels(N, g) + (size_t)(p % kQ8Group)) * kPanel;
}

// One row of K activations (K % 32 == 0) as the q8_0 matmul multiplies it: for each block of 32,
// scale = max|x| / 32767 and q = round(x / scale) to nearest even (x * (32767 / max|x|)). A block
// with a NaN or an infinity gets scale NaN, so the matmul's output is NaN rather than a number.
void quantize_activations_q16(const float* x, int K, int16_t* q, float* scale);

// out = inp @ W^T (+ bias) for a Q8_0 PackedMatrix; the contract of matmul_packed_forward.
void matmul_q8_forward(float* out, const float* inp, const PackedMatrix& w, const float* bias, int M, bool accumulate);

}  // namespace rlcd
