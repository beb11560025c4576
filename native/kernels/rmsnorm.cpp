#include "rmsnorm.h"

#include <cmath>

#include "simd.h"

namespace rlcd {

void rmsnorm_forward(float* out, const float* inp, const float* weight, int N, int C, float eps) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* x = inp + (long)n * C;
    float* o = out + (long)n * C;
    float ms = dot(x, x, C) / (float)C;
    float rstd = 1.0f / std::sqrt(ms + eps);
    for (int c = 0; c < C; c++) o[c] = x[c] * rstd * weight[c];
  }
}

}  // namespace rlcd
