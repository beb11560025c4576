#include "causal_attention.h"

#include <cmath>
#include <cstring>

#include "simd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd {

void causal_attention_forward(float* out, float* probs, const float* qkv, long stride, int B, int T,
                              int NH, int NKV, int HS) {
  const int QD = NH * HS, KVD = NKV * HS, group = NH / NKV;
  const float scale = 1.0f / std::sqrt((float)HS);
  const long items = (long)B * NH * T;
#pragma omp for schedule(dynamic, 16)
  for (long item = 0; item < items; item++) {
    const int t = (int)(item % T);
    const int h = (int)((item / T) % NH);
    const int b = (int)(item / ((long)T * NH));
    const int kvh = h / group;
    const float* base = qkv + (long)b * T * stride;
    const float* q = base + (long)t * stride + (long)h * HS;
    float* p = probs + (((long)b * NH + h) * T + t) * T;
    float mx = -INFINITY;
    for (int s = 0; s <= t; s++) {
      p[s] = dot(q, base + (long)s * stride + QD + (long)kvh * HS, HS) * scale;
      mx = p[s] > mx ? p[s] : mx;
    }
    const float inv = 1.0f / exp_shifted(p, p, mx, t + 1);
    for (int s = 0; s <= t; s++) p[s] *= inv;
    float* o = out + ((long)b * T + t) * QD + (long)h * HS;
    std::memset(o, 0, sizeof(float) * HS);
    for (int s = 0; s <= t; s++) axpy(o, p[s], base + (long)s * stride + QD + KVD + (long)kvh * HS, HS);
  }
}

// For query head h at position t (P = probs row, S = scores):
//   dP[s] = dout_t . v_s          dv_s += P[s] dout_t
//   dS[s] = P[s] (dP[s] - sum_s' P[s'] dP[s'])
//   dq_t  = scale sum_s dS[s] k_s dk_s += scale dS[s] q_t
// Work is split by (sequence, kv head): the query heads of a GQA group write the same dk/dv rows,
// so they run on one thread, in head order.
void causal_attention_backward(float* dqkv, const float* dout, const float* probs, const float* qkv,
                               long stride, int B, int T, int NH, int NKV, int HS, float* scratch) {
  const int QD = NH * HS, KVD = NKV * HS, group = NH / NKV;
  const float scale = 1.0f / std::sqrt((float)HS);
  const long items = (long)B * NKV;
#pragma omp for schedule(dynamic, 1)
  for (long item = 0; item < items; item++) {
    const int b = (int)(item / NKV), kvh = (int)(item % NKV);
#ifdef _OPENMP
    float* dp = scratch + (long)omp_get_thread_num() * T;
#else
    float* dp = scratch;
#endif
    const float* base = qkv + (long)b * T * stride;
    float* dbase = dqkv + (long)b * T * stride;
    // This item owns dk/dv of head kvh and dq of its query heads: clear them first.
    for (int t = 0; t < T; t++) {
      std::memset(dbase + (long)t * stride + QD + (long)kvh * HS, 0, sizeof(float) * HS);
      std::memset(dbase + (long)t * stride + QD + KVD + (long)kvh * HS, 0, sizeof(float) * HS);
      for (int h = kvh * group; h < (kvh + 1) * group; h++)
        std::memset(dbase + (long)t * stride + (long)h * HS, 0, sizeof(float) * HS);
    }
    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
      for (int t = 0; t < T; t++) {
        const float* p = probs + (((long)b * NH + h) * T + t) * T;
        const float* dy = dout + ((long)b * T + t) * QD + (long)h * HS;
        const float* q = base + (long)t * stride + (long)h * HS;
        float* dq = dbase + (long)t * stride + (long)h * HS;
        float sum = 0.0f;
        for (int s = 0; s <= t; s++) {
          const float* v = base + (long)s * stride + QD + KVD + (long)kvh * HS;
          dp[s] = dot(dy, v, HS);
          sum += p[s] * dp[s];
          axpy(dbase + (long)s * stride + QD + KVD + (long)kvh * HS, p[s], dy, HS);
        }
        for (int s = 0; s <= t; s++) {
          const float ds = p[s] * (dp[s] - sum) * scale;
          axpy(dq, ds, base + (long)s * stride + QD + (long)kvh * HS, HS);
          axpy(dbase + (long)s * stride + QD + (long)kvh * HS, ds, q, HS);
        }
      }
    }
  }
}

}  // namespace rlcd
