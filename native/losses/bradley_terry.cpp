#include "bradley_terry.h"

#include <cmath>

namespace rlcd {

BradleyTerryStats bradley_terry_loss(float* dchosen, float* drejected, const float* chosen,
                                     const float* rejected, const float* target, int P) {
  BradleyTerryStats st{0, 0, 0, 0};
  if (P <= 0) return st;
  double loss = 0, acc = 0, prob = 0, margin = 0;
  for (int i = 0; i < P; i++) {
    const double m = (double)chosen[i] - rejected[i];
    const double p = target[i];
    // -[p log s(m) + (1-p) log(1 - s(m))] = softplus(-m) + (1 - p) m, computed stably
    const double softplus_neg = m > 0 ? std::log1p(std::exp(-m)) : -m + std::log1p(std::exp(m));
    loss += softplus_neg + (1.0 - p) * m;
    const double s = 1.0 / (1.0 + std::exp(-m));
    const double dm = (s - p) / P;
    if (dchosen) dchosen[i] = (float)dm;
    if (drejected) drejected[i] = (float)-dm;
    acc += m > 0 ? 1.0 : 0.0;
    prob += s;
    margin += m;
  }
  st.loss = (float)(loss / P);
  st.accuracy = (float)(acc / P);
  st.mean_prob = (float)(prob / P);
  st.margin = (float)(margin / P);
  return st;
}

}  // namespace rlcd
