// Bradley-Terry preference loss: BCE-with-logits on the reward margin r_chosen - r_rejected against
// a target probability that `chosen` is preferred (1 for hard RLCD labels, soft for RLAIF).
#pragma once

namespace rlcd {

struct BradleyTerryStats {
  float loss;       // mean over pairs
  float accuracy;   // fraction with r_chosen > r_rejected
  float mean_prob;  // mean sigmoid(r_chosen - r_rejected)
  float margin;     // mean r_chosen - r_rejected
};

// dchosen, drejected: (P) written, d(mean loss)/dr
BradleyTerryStats bradley_terry_loss(float* dchosen, float* drejected, const float* chosen,
                                     const float* rejected, const float* target, int P);

}  // namespace rlcd
