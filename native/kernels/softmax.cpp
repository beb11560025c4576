#include "softmax.h"

#include <cmath>
#include <vector>

#include "simd.h"

namespace rlcd {

float logsumexp(const float* x, int n) {
  float mx = max_of(x, n);
  if (std::isinf(mx)) return mx;
  thread_local std::vector<float> scratch;
  if ((int)scratch.size() < n) scratch.resize(n);
  return mx + std::log(exp_shifted(scratch.data(), x, mx, n));
}

void softmax_forward(float* probs, const float* x, int n) {
  float mx = max_of(x, n);
  float inv = 1.0f / exp_shifted(probs, x, mx, n);
  for (int i = 0; i < n; i++) probs[i] *= inv;
}

}  // namespace rlcd
