#include "attention.h"

#include <cmath>

#include "simd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd {

namespace {

// scores[t] = q . k_t * scale for t in [0, len). Keys sit `stride` floats apart. With AVX2 and a
// head size that is a multiple of 8, eight keys are dotted at once and reduced together; each
// score's summation order depends only on t and HS, never on len or the batch.
void scores_forward(float* scores, const float* q, const float* k, long stride, int len, int HS, float scale) {
  int t = 0;
#ifdef RLCD_AVX2
  if (HS % 8 == 0) {
    const __m256 vs = _mm256_set1_ps(scale);
    for (; t + 8 <= len; t += 8) {
      __m256 acc[8];
      for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
      for (int d = 0; d < HS; d += 8) {
        __m256 qv = _mm256_loadu_ps(q + d);
        for (int j = 0; j < 8; j++) acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + (t + j) * stride + d), acc[j]);
      }
      // Transpose-and-add: lane j of the result is the sum of acc[j]'s lanes.
      __m256 s01 = _mm256_hadd_ps(acc[0], acc[1]), s23 = _mm256_hadd_ps(acc[2], acc[3]);
      __m256 s45 = _mm256_hadd_ps(acc[4], acc[5]), s67 = _mm256_hadd_ps(acc[6], acc[7]);
      __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
      __m256 lo = _mm256_permute2f128_ps(s0123, s4567, 0x20);
      __m256 hi = _mm256_permute2f128_ps(s0123, s4567, 0x31);
      _mm256_storeu_ps(scores + t, _mm256_mul_ps(_mm256_add_ps(lo, hi), vs));
    }
  }
#endif
  for (; t < len; t++) scores[t] = dot(q, k + t * stride, HS) * scale;
}

// out = sum_t p[t] * v_t over t in [0, len), values `stride` floats apart. Accumulators stay in
// registers (4 independent FMA chains) instead of a load/store round trip per position.
void weighted_sum(float* out, const float* p, const float* v, long stride, int len, int HS) {
  int d = 0;
#ifdef __AVX512F__
  // The same sums lane by lane as the AVX2 code below (one chain over t for each full 32 dims,
  // even and odd chains for the rest), in registers twice as wide: half the passes over the values.
  if (HS % 8 == 0) {
    for (; d + 64 <= HS; d += 64) {
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int t = 0; t < len; t++) {
        const __m512 pt = _mm512_set1_ps(p[t]);
        const float* vt = v + t * stride + d;
        a0 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(vt), a0);
        a1 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(vt + 16), a1);
        a2 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(vt + 32), a2);
        a3 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(vt + 48), a3);
      }
      _mm512_storeu_ps(out + d, a0);
      _mm512_storeu_ps(out + d + 16, a1);
      _mm512_storeu_ps(out + d + 32, a2);
      _mm512_storeu_ps(out + d + 48, a3);
    }
    for (; d + 32 <= HS; d += 32) {
      __m512 a0 = _mm512_setzero_ps(), a1 = a0;
      for (int t = 0; t < len; t++) {
        const __m512 pt = _mm512_set1_ps(p[t]);
        a0 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(v + t * stride + d), a0);
        a1 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(v + t * stride + d + 16), a1);
      }
      _mm512_storeu_ps(out + d, a0);
      _mm512_storeu_ps(out + d + 16, a1);
    }
    for (; d + 16 <= HS; d += 16) {
      __m512 even = _mm512_setzero_ps(), odd = even;
      int t = 0;
      for (; t + 2 <= len; t += 2) {
        even = _mm512_fmadd_ps(_mm512_set1_ps(p[t]), _mm512_loadu_ps(v + t * stride + d), even);
        odd = _mm512_fmadd_ps(_mm512_set1_ps(p[t + 1]), _mm512_loadu_ps(v + (t + 1) * stride + d), odd);
      }
      if (t < len) even = _mm512_fmadd_ps(_mm512_set1_ps(p[t]), _mm512_loadu_ps(v + t * stride + d), even);
      _mm512_storeu_ps(out + d, _mm512_add_ps(even, odd));
    }
  }
#endif
#ifdef RLCD_AVX2
  if (HS % 8 == 0) {
    for (; d + 32 <= HS; d += 32) {
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int t = 0; t < len; t++) {
        __m256 pt = _mm256_broadcast_ss(p + t);
        const float* vt = v + t * stride + d;
        a0 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vt), a0);
        a1 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vt + 8), a1);
        a2 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vt + 16), a2);
        a3 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vt + 24), a3);
      }
      _mm256_storeu_ps(out + d, a0);
      _mm256_storeu_ps(out + d + 8, a1);
      _mm256_storeu_ps(out + d + 16, a2);
      _mm256_storeu_ps(out + d + 24, a3);
    }
    for (; d + 8 <= HS; d += 8) {
      // Even and odd positions in separate chains, added at the end.
      __m256 even = _mm256_setzero_ps(), odd = even;
      int t = 0;
      for (; t + 2 <= len; t += 2) {
        even = _mm256_fmadd_ps(_mm256_broadcast_ss(p + t), _mm256_loadu_ps(v + t * stride + d), even);
        odd = _mm256_fmadd_ps(_mm256_broadcast_ss(p + t + 1), _mm256_loadu_ps(v + (t + 1) * stride + d), odd);
      }
      if (t < len) even = _mm256_fmadd_ps(_mm256_broadcast_ss(p + t), _mm256_loadu_ps(v + t * stride + d), even);
      _mm256_storeu_ps(out + d, _mm256_add_ps(even, odd));
    }
    return;
  }
#endif
  for (; d < HS; d++) {
    float s = 0.0f;
    for (int t = 0; t < len; t++) s += p[t] * v[t * stride + d];
    out[d] = s;
  }
}

}  // namespace

void attention_forward(float* out, const float* q, long q_stride, const int* slot, const int* pos,
                       const LayerCache& cache, int N, int NH, int NKV, int HS, float* scratch) {
  const int group = NH / NKV;
  const float scale = 1.0f / std::sqrt((float)HS);
  const long work = (long)N * NH;
#pragma omp for schedule(dynamic, 4)
  for (long item = 0; item < work; item++) {
    int n = (int)(item / NH);
    int h = (int)(item % NH);
    int kvh = h / group;
#ifdef _OPENMP
    float* att = scratch + (long)omp_get_thread_num() * cache.t_max;
#else
    float* att = scratch;
#endif
    const float* qv = q + n * q_stride + (long)h * HS;
    const long base = (long)slot[n] * cache.t_max * cache.kvd + (long)kvh * HS;
    const int len = pos[n] + 1;
    scores_forward(att, qv, cache.k + base, cache.kvd, len, HS, scale);
    float mx = max_of(att, len);
    float inv = 1.0f / exp_shifted(att, att, mx, len);
    for (int t = 0; t < len; t++) att[t] *= inv;
    weighted_sum(out + ((long)n * NH + h) * HS, att, cache.v + base, cache.kvd, len, HS);
  }
}

}  // namespace rlcd
