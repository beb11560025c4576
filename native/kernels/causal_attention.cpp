#include "causal_attention.h"

#include <cmath>
#include <cstring>

#include "simd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd {

namespace {

// Keys or values of one (sequence, kv head) copied to (HS, T): every loop over positions then runs
// over contiguous memory, T long, instead of HS-long dot products with a horizontal sum each.
void transpose_in(float* dst, const float* src, long stride, int T, int HS) {
  for (int t = 0; t < T; t++)
    for (int d = 0; d < HS; d++) dst[(long)d * T + t] = src[(long)t * stride + d];
}

void transpose_out(float* dst, long stride, const float* src, int T, int HS) {
  for (int t = 0; t < T; t++)
    for (int d = 0; d < HS; d++) dst[(long)t * stride + d] = src[(long)d * T + t];
}

float* thread_scratch(float* scratch, long per_thread) {
#ifdef _OPENMP
  return scratch + (long)omp_get_thread_num() * per_thread;
#else
  return scratch;
#endif
}

// y[s] = scale * sum_d c[d] * rows[d][s] for s in [0, n): rows are (HS, T). Eight positions at a
// time stay in one register across the d loop (one store per eight positions, not one per d).
void combine_rows(float* y, const float* c, const float* rows, int T, int HS, int n, float scale) {
  int s = 0;
#ifdef RLCD_AVX2
  for (; s + 8 <= n; s += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int d = 0; d < HS; d++) acc = _mm256_fmadd_ps(_mm256_set1_ps(c[d]), _mm256_loadu_ps(rows + (long)d * T + s), acc);
    _mm256_storeu_ps(y + s, _mm256_mul_ps(acc, _mm256_set1_ps(scale)));
  }
#endif
  for (; s < n; s++) {
    float acc = 0.0f;
    for (int d = 0; d < HS; d++) acc += c[d] * rows[(long)d * T + s];
    y[s] = acc * scale;
  }
}

// rows[d][s] += c[d] * x[s] for s in [0, n): the rank-1 update of a (HS, T) block, eight
// positions at a time so x is loaded once per block.
void rank1_rows(float* rows, const float* c, const float* x, int T, int HS, int n) {
  int s = 0;
#ifdef RLCD_AVX2
  for (; s + 8 <= n; s += 8) {
    const __m256 xv = _mm256_loadu_ps(x + s);
    for (int d = 0; d < HS; d++) {
      float* r = rows + (long)d * T + s;
      _mm256_storeu_ps(r, _mm256_fmadd_ps(_mm256_set1_ps(c[d]), xv, _mm256_loadu_ps(r)));
    }
  }
#endif
  for (; s < n; s++)
    for (int d = 0; d < HS; d++) rows[(long)d * T + s] += c[d] * x[s];
}

}  // namespace

long causal_attention_scratch(int T, int HS) { return 4L * HS * T + 2L * T; }

// Work item: (sequence, kv head); it serves the GQA group's query heads one after another.
void causal_attention_forward(float* out, float* probs, const float* qkv, long stride, int B, int T,
                              int NH, int NKV, int HS, float* scratch) {
  const int QD = NH * HS, KVD = NKV * HS, group = NH / NKV;
  const float scale = 1.0f / std::sqrt((float)HS);
  const long per_thread = causal_attention_scratch(T, HS);
  const long items = (long)B * NKV;
#pragma omp for schedule(dynamic, 1)
  for (long item = 0; item < items; item++) {
    const int b = (int)(item / NKV), kvh = (int)(item % NKV);
    float* kt = thread_scratch(scratch, per_thread);  // (HS, T)
    float* vt = kt + (long)HS * T;                    // (HS, T)
    const float* base = qkv + (long)b * T * stride;
    transpose_in(kt, base + QD + (long)kvh * HS, stride, T, HS);
    transpose_in(vt, base + QD + KVD + (long)kvh * HS, stride, T, HS);
    for (int h = kvh * group; h < (kvh + 1) * group; h++)
      for (int t = 0; t < T; t++) {
        const float* q = base + (long)t * stride + (long)h * HS;
        float* p = probs + (((long)b * NH + h) * T + t) * T;
        const int n = t + 1;
        combine_rows(p, q, kt, T, HS, n, scale);
        const float mx = max_of(p, n);
        const float inv = 1.0f / exp_shifted(p, p, mx, n);
        for (int s = 0; s < n; s++) p[s] *= inv;
        float* o = out + ((long)b * T + t) * QD + (long)h * HS;
        for (int d = 0; d < HS; d++) o[d] = dot(vt + (long)d * T, p, n);
      }
  }
}

// For query head h at position t (P = probs row):
//   dP[s] = dout_t . v_s          dv_s += P[s] dout_t
//   dS[s] = P[s] (dP[s] - sum_s' P[s'] dP[s'])
//   dq_t  = scale sum_s dS[s] k_s     dk_s += scale dS[s] q_t
// The query heads of a GQA group write the same dk/dv, so one item serves the whole group.
void causal_attention_backward(float* dqkv, const float* dout, const float* probs, const float* qkv,
                               long stride, int B, int T, int NH, int NKV, int HS, float* scratch) {
  const int QD = NH * HS, KVD = NKV * HS, group = NH / NKV;
  const float scale = 1.0f / std::sqrt((float)HS);
  const long per_thread = causal_attention_scratch(T, HS);
  const long items = (long)B * NKV;
#pragma omp for schedule(dynamic, 1)
  for (long item = 0; item < items; item++) {
    const int b = (int)(item / NKV), kvh = (int)(item % NKV);
    float* kt = thread_scratch(scratch, per_thread);  // (HS, T)
    float* vt = kt + (long)HS * T;
    float* dkt = vt + (long)HS * T;
    float* dvt = dkt + (long)HS * T;
    float* dp = dvt + (long)HS * T;                   // (T)
    float* ds = dp + T;                               // (T)
    const float* base = qkv + (long)b * T * stride;
    float* dbase = dqkv + (long)b * T * stride;
    transpose_in(kt, base + QD + (long)kvh * HS, stride, T, HS);
    transpose_in(vt, base + QD + KVD + (long)kvh * HS, stride, T, HS);
    std::memset(dkt, 0, sizeof(float) * 2 * HS * T);
    for (int h = kvh * group; h < (kvh + 1) * group; h++)
      for (int t = 0; t < T; t++) {
        const int n = t + 1;
        const float* p = probs + (((long)b * NH + h) * T + t) * T;
        const float* dy = dout + ((long)b * T + t) * QD + (long)h * HS;
        const float* q = base + (long)t * stride + (long)h * HS;
        float* dq = dbase + (long)t * stride + (long)h * HS;
        combine_rows(dp, dy, vt, T, HS, n, 1.0f);
        rank1_rows(dvt, dy, p, T, HS, n);
        const float sum = dot(p, dp, n);
        for (int s = 0; s < n; s++) ds[s] = p[s] * (dp[s] - sum) * scale;
        for (int d = 0; d < HS; d++) dq[d] = dot(kt + (long)d * T, ds, n);
        rank1_rows(dkt, q, ds, T, HS, n);
      }
    transpose_out(dbase + QD + (long)kvh * HS, stride, dkt, T, HS);
    transpose_out(dbase + QD + KVD + (long)kvh * HS, stride, dvt, T, HS);
  }
}

}  // namespace rlcd
