// Small SIMD helpers (AVX2/FMA when compiled with them, scalar otherwise). Every reduction sums
// in one fixed order so results are reproducible across call sites.
#pragma once

#include <cmath>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RLCD_AVX2 1
#endif

// GCC 12 reports the undefined pass-through operand of many AVX-512 intrinsics (unpacks,
// shuffles, max/min, reductions, conversions) as (maybe) uninitialised wherever they are
// inlined: GCC bug 105593, fixed in 13. Every file with AVX-512 kernels includes this header.
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace rlcd {

#ifdef RLCD_AVX2
// Horizontal sum of 8 lanes in a fixed order.
inline float hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  __m128 sh = _mm_movehdup_ps(lo);
  __m128 s = _mm_add_ps(lo, sh);
  sh = _mm_movehl_ps(sh, s);
  s = _mm_add_ss(s, sh);
  return _mm_cvtss_f32(s);
}
// exp(x) for 8 lanes: Cody-Waite range reduction x = n ln2 + r, a degree-6 polynomial for e^r and
// 2^n built in the exponent bits. Relative error about 2e-7 (a few ulp); inputs below -87.3
// (including -inf) give 0, above 88.37 give +inf.
inline __m256 exp8(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365f);
  __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  y = _mm256_andnot_ps(under, y);
  return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), over);
}
#endif

#ifdef __AVX512F__
// exp8's method and constants on 16 lanes: the same value in each lane.
inline __m512 exp16(__m512 x) {
  const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-87.3365f);
  const __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
  const __mmask16 over = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ);
  x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  __m512 y = _mm512_maskz_mul_ps((__mmask16)~under, p, _mm512_castsi512_ps(e));
  return _mm512_mask_blend_ps(over, y, _mm512_set1_ps(__builtin_inff()));
}

// The first n lanes, n clamped to [0, 16]: the mask of a row's last, partial vector.
inline __mmask16 first_lanes(int n) { return n <= 0 ? 0 : n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1); }

// max_i x[i] in 16 lanes with a masked tail (n >= 1).
inline float max_of16(const float* x, int n) {
  int i = 0;
  __m512 m = _mm512_set1_ps(-__builtin_inff());
  for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
  const __mmask16 tail = first_lanes(n - i);
  m = _mm512_mask_max_ps(m, tail, m, _mm512_maskz_loadu_ps(tail, x + i));
  return _mm512_reduce_max_ps(m);
}

// y[i] = exp(x[i] - shift) (y may be null, or x); returns their sum, in 16 lanes with a masked
// tail: short rows end in one vector instead of exp_shifted's scalar expf calls. (Its sums are
// in another order than exp_shifted's.)
inline float exp_shifted16(float* y, const float* x, float shift, int n) {
  int i = 0;
  const __m512 s = _mm512_set1_ps(shift);
  __m512 sum = _mm512_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
    if (y) _mm512_storeu_ps(y + i, e);
    sum = _mm512_add_ps(sum, e);
  }
  const __mmask16 tail = first_lanes(n - i);
  const __m512 e = _mm512_maskz_mov_ps(tail, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), s)));
  if (y) _mm512_mask_storeu_ps(y + i, tail, e);
  return _mm512_reduce_add_ps(_mm512_add_ps(sum, e));
}
#endif

// y[i] = exp(x[i] - shift); returns sum of y, summed in a fixed order (8 lanes, then the tail).
inline float exp_shifted(float* y, const float* x, float shift, int n) {
  int i = 0;
  float sum = 0.0f;
#ifdef RLCD_AVX2
  __m256 acc = _mm256_setzero_ps();
  __m256 s = _mm256_set1_ps(shift);
  for (; i + 8 <= n; i += 8) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    _mm256_storeu_ps(y + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  sum = hsum8(acc);
#endif
  for (; i < n; i++) {
    y[i] = std::exp(x[i] - shift);
    sum += y[i];
  }
  return sum;
}

// max_i x[i]
inline float max_of(const float* x, int n) {
  float m = -__builtin_inff();
  int i = 0;
#ifdef RLCD_AVX2
  __m256 acc = _mm256_set1_ps(m);
  for (; i + 8 <= n; i += 8) acc = _mm256_max_ps(acc, _mm256_loadu_ps(x + i));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  for (float v : lanes) m = v > m ? v : m;
#endif
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

// sum_i a[i] * b[i]
inline float dot(const float* a, const float* b, int n) {
  int i = 0;
  float sum = 0.0f;
#ifdef RLCD_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  sum = hsum8(acc);
#endif
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
}


}  // namespace rlcd
