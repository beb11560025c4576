// Direct Preference Optimization (Rafailov et al. 2023) on summed response log-probabilities of a
// policy and a frozen reference: the implicit reward of a response is beta (logp - logp_ref).
#pragma once

namespace rlcd {

enum class DpoKind {
  Sigmoid,  // -log sigmoid(beta h), with a soft label t: -(t log s(beta h) + (1 - t) log s(-beta h))
  Ipo,      // (h - 1 / (2 beta))^2 (Azar et al.); labels taken as hard
  Hinge,    // max(0, 1 - beta h) (SLiC); labels taken as hard
};

struct DpoStats {
  float loss;             // mean over pairs
  float reward_chosen;    // mean beta (logp_c - ref_c)
  float reward_rejected;  // mean beta (logp_r - ref_r)
  float accuracy;         // fraction with reward_chosen > reward_rejected
  float margin;           // mean reward_chosen - reward_rejected
  float logp_chosen;      // mean summed log-prob of the chosen response under the policy
  float logp_rejected;
};

// h = (logp_c - ref_c) - (logp_r - ref_r) per pair. dchosen, drejected: (P) written with
// d(mean loss)/d logp (either may be null); target: (P) probability that chosen is preferred.
DpoStats dpo_loss(float* dchosen, float* drejected, const float* logp_chosen, const float* logp_rejected,
                  const float* ref_chosen, const float* ref_rejected, const float* target, int P, float beta,
                  DpoKind kind);

}  // namespace rlcd
