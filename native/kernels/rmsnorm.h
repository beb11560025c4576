// RMSNorm: out = x / sqrt(mean(x^2) + eps) * weight
#pragma once

namespace rlcd {

// out:    (N, C)
// inp:    (N, C)
// weight: (C)
// One row of C, on the calling thread (out may equal inp).
void rmsnorm_row(float* out, const float* inp, const float* weight, int C, float eps);

// rstd:   (N) or nullptr; saves 1 / sqrt(mean(x^2) + eps) per row for the backward pass
void rmsnorm_forward(float* out, const float* inp, const float* weight, int N, int C, float eps,
                     float* rstd = nullptr);

// dinp:    (N, C)  written
// dweight: (C)     accumulated (+=)
// dout, inp: (N, C); rstd: (N) from the forward pass
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int N, int C);

}  // namespace rlcd
