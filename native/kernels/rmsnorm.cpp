#include "rmsnorm.h"

#include <cmath>

#include "simd.h"

namespace rlcd {

void rmsnorm_forward(float* out, const float* inp, const float* weight, int N, int C, float eps,
                     float* rstd_out) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* x = inp + (long)n * C;
    float* o = out + (long)n * C;
    float ms = dot(x, x, C) / (float)C;
    float rstd = 1.0f / std::sqrt(ms + eps);
    if (rstd_out) rstd_out[n] = rstd;
    for (int c = 0; c < C; c++) o[c] = x[c] * rstd * weight[c];
  }
}

// y = x r w with r = (mean(x^2) + eps)^-1/2:
//   dw += dy x r;   dx = r (dy w) - r^3 / C * x * sum(dy w x)
// Rows are split across threads; dweight is reduced per thread, then added in thread order so the
// sum does not depend on scheduling.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int N, int C) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* x = inp + (long)n * C;
    const float* dy = dout + (long)n * C;
    float* dx = dinp + (long)n * C;
    const float r = rstd[n];
    float dot_sum = 0.0f;
    for (int c = 0; c < C; c++) dot_sum += dy[c] * weight[c] * x[c];
    const float k = r * r * r / (float)C * dot_sum;
    for (int c = 0; c < C; c++) dx[c] = r * dy[c] * weight[c] - k * x[c];
  }
  // Weight gradient: split over columns, each column summed over rows in order (deterministic).
#pragma omp for schedule(static)
  for (int c = 0; c < C; c++) {
    float s = 0.0f;
    for (int n = 0; n < N; n++) s += dout[(long)n * C + c] * inp[(long)n * C + c] * rstd[n];
    dweight[c] += s;
  }
}

}  // namespace rlcd
