// Matrix multiply in PyTorch's Linear layout: out = inp @ weight^T (+ bias).
#pragma once

namespace rlcd {

// out:    (M, N)   written (or added to, with accumulate)
// inp:    (M, K)
// weight: (N, K)
// bias:   (N) or nullptr
// Every output element is one dot product summed in the same order whatever M, N, the tiling or
// the thread count, so a row's result does not depend on which other rows share the call: batched
// decoding equals one-by-one decoding bit for bit.
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int M,
                    int K, int N, bool accumulate = false);

}  // namespace rlcd
