// Writing a finished tile of the packed matmuls: MR rows x NC columns of f32 sums, plus bias, written
// or added to out (accumulate), the columns past N left alone. Shared by the f32/bf16/f16 and the q8_0 tiles.
#pragma once

#include <algorithm>
#include <cstddef>

#include "simd.h"

namespace rlcd {

template <int MR, int NC>
void store_tile(float* out, const float (&sums)[MR][NC], const float* bias, int N, int n0, bool accumulate) {
  const int cols = std::min(NC, N - n0);
  for (int r = 0; r < MR; r++) {
    float* o = out + (size_t)r * N + n0;
    int j = 0;
#ifdef RLCD_AVX2
    for (; j + 8 <= cols; j += 8) {
      __m256 v = _mm256_loadu_ps(&sums[r][j]);
      if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + n0 + j));
      if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(o + j), v);
      _mm256_storeu_ps(o + j, v);
    }
#endif
    for (; j < cols; j++) {
      float v = sums[r][j] + (bias ? bias[n0 + j] : 0.0f);
      o[j] = accumulate ? o[j] + v : v;
    }
  }
}

}  // namespace rlcd
