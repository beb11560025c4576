// RMSNorm: out = x / sqrt(mean(x^2) + eps) * weight
#pragma once

namespace rlcd {

// out:    (N, C)
// inp:    (N, C)
// weight: (C)
void rmsnorm_forward(float* out, const float* inp, const float* weight, int N, int C, float eps);

}  // namespace rlcd
