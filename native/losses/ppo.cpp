#include "ppo.h"

#include <algorithm>
#include <cmath>

namespace rlcd {

PolicyLossStats ppo_policy_loss(float* dlogprobs, const float* logprobs, const float* old_logprobs,
                                const float* advantages, const float* mask, int N, float eps) {
  double count = 0;
  for (int n = 0; n < N; n++) count += mask[n];
  const double inv = count > 0 ? 1.0 / count : 0.0;
  double loss = 0, clipped = 0, kl = 0, ratio_sum = 0;
  for (int n = 0; n < N; n++) {
    dlogprobs[n] = 0.0f;
    if (mask[n] == 0.0f) continue;
    const double diff = (double)logprobs[n] - old_logprobs[n];
    const double rho = std::exp(diff);
    const double a = advantages[n];
    const double unclipped = -a * rho;
    const double clip = -a * std::clamp(rho, 1.0 - eps, 1.0 + eps);
    // The max picks the pessimistic term; only the unclipped one depends on logp.
    if (unclipped >= clip) {
      loss += mask[n] * unclipped;
      dlogprobs[n] = (float)(mask[n] * -a * rho * inv);
    } else {
      loss += mask[n] * clip;
      clipped += mask[n];
    }
    kl += mask[n] * 0.5 * diff * diff;
    ratio_sum += mask[n] * rho;
  }
  return PolicyLossStats{(float)(loss * inv), (float)(clipped * inv), (float)(kl * inv), (float)(ratio_sum * inv)};
}

ValueLossStats ppo_value_loss(float* dvalues, const float* values, const float* old_values,
                              const float* returns, const float* mask, int N, float eps) {
  double count = 0;
  for (int n = 0; n < N; n++) count += mask[n];
  const double inv = count > 0 ? 1.0 / count : 0.0;
  double loss = 0, clipped = 0, err = 0;
  for (int n = 0; n < N; n++) {
    dvalues[n] = 0.0f;
    if (mask[n] == 0.0f) continue;
    const double v = values[n], vo = old_values[n], R = returns[n];
    const double vc = std::clamp(v, vo - eps, vo + eps);
    const double l1 = (v - R) * (v - R), l2 = (vc - R) * (vc - R);
    err += mask[n] * l1;
    if (l1 >= l2) {
      loss += mask[n] * 0.5 * l1;
      dvalues[n] = (float)(mask[n] * (v - R) * inv);
    } else {
      loss += mask[n] * 0.5 * l2;
      clipped += mask[n];
      // clip() passes the gradient only inside the range
      const bool inside = v > vo - eps && v < vo + eps;
      dvalues[n] = inside ? (float)(mask[n] * (vc - R) * inv) : 0.0f;
    }
  }
  return ValueLossStats{(float)(loss * inv), (float)(clipped * inv), (float)(err * inv)};
}

void kl_k3(float* kl, const float* logprobs, const float* ref_logprobs, int N) {
  for (int n = 0; n < N; n++) {
    const double d = (double)ref_logprobs[n] - logprobs[n];
    kl[n] = (float)(std::expm1(d) - d);
  }
}

void kl_k3_backward(float* dlogprobs, const float* dkl, const float* logprobs, const float* ref_logprobs, int N) {
  for (int n = 0; n < N; n++) dlogprobs[n] = dkl[n] * (float)(1.0 - std::exp((double)ref_logprobs[n] - logprobs[n]));
}

}  // namespace rlcd
