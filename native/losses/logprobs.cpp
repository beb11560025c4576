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
    softmax_forward(d, row, V);
    for (int i = 0; i < V; i++) d[i] *= -g;
    d[targets[n]] += g;
  }
}

namespace {

// -sum p log p of softmax(row), given lse = logsumexp(row).
double row_entropy(const float* row, int V, float lse) {
  double h = 0.0;
  for (int i = 0; i < V; i++) {
    const double lp = row[i] - lse;
    h -= std::exp(lp) * lp;
  }
  return h;
}

}  // namespace

void entropy_forward(float* entropy, const float* logits, int N, int V) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* row = logits + (long)n * V;
    entropy[n] = (float)row_entropy(row, V, logsumexp(row, V));
  }
}

void entropy_backward(float* dlogits, const float* logits, const float* dentropy, int N, int V) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float g = dentropy[n];
    if (g == 0.0f) continue;
    const float* row = logits + (long)n * V;
    const float lse = logsumexp(row, V);
    const double h = row_entropy(row, V, lse);
    float* d = dlogits + (long)n * V;
    for (int i = 0; i < V; i++) {
      const float lp = row[i] - lse;
      d[i] += g * (-std::exp(lp) * (lp + (float)h));
    }
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
