#include "softmax.h"

#include <cmath>
#include <vector>

#include "simd.h"

namespace rlcd {

// On AVX-512 in 16 lanes with a masked tail; the 8-lane helpers (and a scalar tail) otherwise.
float row_max(const float* x, int n) {
#ifdef __AVX512F__
  return max_of16(x, n);
#else
  return max_of(x, n);
#endif
}

float row_exp_sum(float* y, const float* x, float shift, int n) {
#ifdef __AVX512F__
  return exp_shifted16(y, x, shift, n);
#else
  if (y) return exp_shifted(y, x, shift, n);
  thread_local std::vector<float> scratch;
  if ((int)scratch.size() < n) scratch.resize(n);
  return exp_shifted(scratch.data(), x, shift, n);
#endif
}

float logsumexp(const float* x, int n) {
  const float mx = row_max(x, n);
  if (std::isinf(mx)) return mx;
  return mx + std::log(row_exp_sum(nullptr, x, mx, n));
}

}  // namespace rlcd
