#include "swiglu.h"

#include <cmath>

#include "simd.h"

namespace rlcd {

namespace {

// 16 lanes at a time where AVX-512 is there, then 8, then one: each element is the same formula
// (exp16 computes exp8's value in every lane), so the width changes the speed, not the bits.
void swiglu_span(float* out, const float* gate, const float* up, long count) {
  long i = 0;
#ifdef __AVX512F__
  {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= count; i += 16) {
      const __m512 g = _mm512_loadu_ps(gate + i);
      const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
      _mm512_storeu_ps(out + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
    }
  }
#endif
#ifdef RLCD_AVX2
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (; i + 8 <= count; i += 8) {
    __m256 g = _mm256_loadu_ps(gate + i);
    __m256 e = exp8(_mm256_xor_ps(g, sign));  // exp(-g)
    __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
#endif
  for (; i < count; i++) {
    float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace

void swiglu_forward(float* out, const float* gate_up, int N, int H) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* row = gate_up + (size_t)n * 2 * H;
    swiglu_span(out + (size_t)n * H, row, row + H, H);
  }
}

// silu(g) = g s(g); silu'(g) = s(g) (1 + g (1 - s(g)))
void swiglu_backward(float* dgate_up, const float* dout, const float* gate_up, int N, int H) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* g = gate_up + (size_t)n * 2 * H;
    const float* u = g + H;
    const float* dy = dout + (size_t)n * H;
    float* dg = dgate_up + (size_t)n * 2 * H;
    float* du = dg + H;
    int i = 0;
#ifdef __AVX512F__
    {
      const __m512 one = _mm512_set1_ps(1.0f);
      for (; i + 16 <= H; i += 16) {
        const __m512 gv = _mm512_loadu_ps(g + i), uv = _mm512_loadu_ps(u + i), dyv = _mm512_loadu_ps(dy + i);
        const __m512 sv = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), gv))));
        _mm512_storeu_ps(du + i, _mm512_mul_ps(dyv, _mm512_mul_ps(gv, sv)));
        const __m512 dsilu = _mm512_mul_ps(sv, _mm512_fmadd_ps(gv, _mm512_sub_ps(one, sv), one));
        _mm512_storeu_ps(dg + i, _mm512_mul_ps(_mm512_mul_ps(dyv, uv), dsilu));
      }
    }
#endif
#ifdef RLCD_AVX2
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    for (; i + 8 <= H; i += 8) {
      const __m256 gv = _mm256_loadu_ps(g + i), uv = _mm256_loadu_ps(u + i), dyv = _mm256_loadu_ps(dy + i);
      const __m256 sv = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_xor_ps(gv, sign))));
      _mm256_storeu_ps(du + i, _mm256_mul_ps(dyv, _mm256_mul_ps(gv, sv)));
      const __m256 dsilu = _mm256_mul_ps(sv, _mm256_fmadd_ps(gv, _mm256_sub_ps(one, sv), one));
      _mm256_storeu_ps(dg + i, _mm256_mul_ps(_mm256_mul_ps(dyv, uv), dsilu));
    }
#endif
    for (; i < H; i++) {
      float s = 1.0f / (1.0f + std::exp(-g[i]));
      du[i] = dy[i] * g[i] * s;
      dg[i] = dy[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
    }
  }
}

}  // namespace rlcd
