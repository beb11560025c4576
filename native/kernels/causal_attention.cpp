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
        for (int s = 0; s < n; s++) p[s] = 0.0f;
        for (int d = 0; d < HS; d++) axpy(p, q[d] * scale, kt + (long)d * T, n);
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
        for (int s = 0; s < n; s++) dp[s] = 0.0f;
        for (int d = 0; d < HS; d++) {
          axpy(dp, dy[d], vt + (long)d * T, n);
          axpy(dvt + (long)d * T, dy[d], p, n);
        }
        const float sum = dot(p, dp, n);
        for (int s = 0; s < n; s++) ds[s] = p[s] * (dp[s] - sum) * scale;
        for (int d = 0; d < HS; d++) {
          dq[d] = dot(kt + (long)d * T, ds, n);
          axpy(dkt + (long)d * T, q[d], ds, n);
        }
      }
    transpose_out(dbase + QD + (long)kvh * HS, stride, dkt, T, HS);
    transpose_out(dbase + QD + KVD + (long)kvh * HS, stride, dvt, T, HS);
  }
}

}  // namespace rlcd
