// Inference matmul on weights repacked into 16-column panels: out = inp @ W^T (+ bias).
// The panels let a tile keep 16 output columns per register pair and stream W contiguously, with
// no horizontal sums; this is the decode/prefill hot path (see bench/).
#pragma once

#include "../common/aligned_buffer.h"

namespace rlcd {

constexpr int kPanel = 16;

struct PackedMatrix {
  int N = 0, K = 0;
  AlignedBuffer data;  // (ceil(N / 16), K, 16), zero-padded past N
};

// weight: (N, K) in Linear layout
void pack_weight(PackedMatrix& out, const float* weight, int N, int K);

// out:  (M, N)  written, or added to with accumulate
// inp:  (M, K)
// bias: (N) or nullptr
// Each output element is one FMA chain over k = 0..K-1 in order, whatever the tile or thread
// count, so a row's result never depends on the other rows in the call.
void matmul_packed_forward(float* out, const float* inp, const PackedMatrix& w, const float* bias, int M,
                           bool accumulate = false);

}  // namespace rlcd
