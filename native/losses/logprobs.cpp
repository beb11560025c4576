#include "logprobs.h"

#include <cmath>
#include <vector>

#include "../kernels/simd.h"
#include "../kernels/softmax.h"

namespace rlcd {

void logprobs_forward(float* logprobs, const float* logits, const int* targets, int N, int V) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* row = logits + (long)n * V;
    logprobs[n] = row[targets[n]] - logsumexp(row, V);
  }
}

// dlogits = g (onehot(target) - softmax(row)): the exponentials written once, then scaled by
// -g / sum in place.
void logprobs_backward(float* dlogits, const float* logits, const int* targets, const float* dlogprobs,
                       int N, int V) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    float* d = dlogits + (long)n * V;
    const float g = dlogprobs[n];
    if (g == 0.0f) {
      for (int i = 0; i < V; i++) d[i] = 0.0f;
      continue;
    }
    const float* row = logits + (long)n * V;
    const float mx = row_max(row, V);
    const float scale = -g / row_exp_sum(d, row, mx, V);
    for (int i = 0; i < V; i++) d[i] *= scale;
    d[targets[n]] += g;
  }
}

namespace {

// One pass of exp over a row: y = exp(row - max) in the thread's scratch; returns logsumexp and
// 1 / sum(y), so p_i = y_i / sum and H = lse - sum_i p_i row_i (no log per element).
struct RowExp {
  const float* y;
  float lse, inv_sum;
};
RowExp row_exp(const float* row, int V) {
  thread_local std::vector<float> scratch;
  if ((int)scratch.size() < V) scratch.resize(V);
  const float mx = row_max(row, V);
  const float sum = row_exp_sum(scratch.data(), row, mx, V);
  return {scratch.data(), mx + std::log(sum), 1.0f / sum};
}

float row_entropy(const RowExp& e, const float* row, int V) { return e.lse - e.inv_sum * dot(e.y, row, V); }

}  // namespace

void entropy_forward(float* entropy, const float* logits, int N, int V) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* row = logits + (long)n * V;
    entropy[n] = row_entropy(row_exp(row, V), row, V);
  }
}

void logprobs_entropy_forward(float* logprobs, float* entropy, const float* logits, const int* targets, int N, int V) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* row = logits + (long)n * V;
    const RowExp e = row_exp(row, V);
    logprobs[n] = row[targets[n]] - e.lse;
    entropy[n] = row_entropy(e, row, V);
  }
}

void entropy_backward(float* dlogits, const float* logits, const float* dentropy, int N, int V) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float g = dentropy[n];
    if (g == 0.0f) continue;
    const float* row = logits + (long)n * V;
    const RowExp e = row_exp(row, V);
    const float h = row_entropy(e, row, V), shift = h - e.lse, scale = -g * e.inv_sum;
    float* d = dlogits + (long)n * V;
    // dH/dz_i = -p_i (log p_i + H) = -p_i (z_i - lse + H)
    for (int i = 0; i < V; i++) d[i] += scale * e.y[i] * (row[i] + shift);
  }
}

float cross_entropy_loss(float* dlogprobs, const float* logprobs, const float* weights, int N) {
  double wsum = 0.0, loss = 0.0;
  for (int n = 0; n < N; n++) {
    wsum += weights[n];
    loss -= (double)weights[n] * logprobs[n];
  }
  const double inv = wsum > 0.0 ? 1.0 / wsum : 0.0;
  for (int n = 0; n < N; n++) dlogprobs[n] = (float)(-weights[n] * inv);
  return (float)(loss * inv);
}

}  // namespace rlcd
