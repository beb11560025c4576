// PPO's clipped losses (AlpacaFarm / TRL form), per token with a mask, and the KL estimators.
#pragma once

namespace rlcd {

struct PolicyLossStats {
  float loss;       // mean over masked tokens of max(-A rho, -A clip(rho, 1-eps, 1+eps))
  float clipfrac;   // fraction of masked tokens where the clipped term is the larger
  float approx_kl;  // 0.5 mean (logp - logp_old)^2
  float ratio_mean;
};

// dlogprobs: (N) written, d(loss)/dlogp (0 where masked out or clipped)
PolicyLossStats ppo_policy_loss(float* dlogprobs, const float* logprobs, const float* old_logprobs,
                                const float* advantages, const float* mask, int N, float cliprange);

struct ValueLossStats {
  float loss;      // 0.5 mean max((v - R)^2, (clip(v, v_old +- eps) - R)^2)
  float clipfrac;  // fraction where the clipped term is the larger
  float error;     // mean (v - R)^2
};

// dvalues: (N) written
ValueLossStats ppo_value_loss(float* dvalues, const float* values, const float* old_values,
                              const float* returns, const float* mask, int N, float cliprange);

// The k3 KL estimator of the policy from the reference, from log-probs of the sampled tokens:
//   k3 = (r - 1) - log r with r = exp(logp_ref - logp)   (unbiased, non-negative)
// (PPO's reward shaping computes its per-token KL in src/rl/kl.ts; this is the differentiable form.)
void kl_k3(float* kl, const float* logprobs, const float* ref_logprobs, int N);
// d k3 / d logp = 1 - exp(logp_ref - logp)
void kl_k3_backward(float* dlogprobs, const float* dkl, const float* logprobs, const float* ref_logprobs, int N);

}  // namespace rlcd
