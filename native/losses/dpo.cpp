#include "dpo.h"

#include <cmath>

namespace rlcd {

namespace {
// log(1 + e^x) without overflow
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

DpoStats dpo_loss(float* dchosen, float* drejected, const float* logp_chosen, const float* logp_rejected,
                  const float* ref_chosen, const float* ref_rejected, const float* target, int P, float beta,
                  DpoKind kind) {
  DpoStats st{0, 0, 0, 0, 0, 0, 0};
  if (P <= 0) return st;
  double loss = 0, rc_sum = 0, rr_sum = 0, acc = 0, lc = 0, lr = 0;
  for (int i = 0; i < P; i++) {
    const double dc = (double)logp_chosen[i] - ref_chosen[i], dr = (double)logp_rejected[i] - ref_rejected[i];
    const double h = dc - dr;
    double l = 0, dh = 0;  // loss of this pair and d loss / d h
    switch (kind) {
      case DpoKind::Sigmoid: {
        const double t = target[i], z = beta * h;
        // -(t log s(z) + (1 - t) log s(-z)) = softplus(-z) + (1 - t) z
        l = softplus(-z) + (1.0 - t) * z;
        dh = beta * (sigmoid(z) - t);
        break;
      }
      case DpoKind::Ipo: {
        const double e = h - 1.0 / (2.0 * beta);
        l = e * e;
        dh = 2.0 * e;
        break;
      }
      case DpoKind::Hinge: {
        const double z = 1.0 - beta * h;
        l = z > 0 ? z : 0.0;
        dh = z > 0 ? -beta : 0.0;
        break;
      }
    }
    loss += l;
    if (dchosen) dchosen[i] = (float)(dh / P);
    if (drejected) drejected[i] = (float)(-dh / P);
    rc_sum += beta * dc;
    rr_sum += beta * dr;
    acc += dc > dr ? 1.0 : 0.0;
    lc += logp_chosen[i];
    lr += logp_rejected[i];
  }
  st.loss = (float)(loss / P);
  st.reward_chosen = (float)(rc_sum / P);
  st.reward_rejected = (float)(rr_sum / P);
  st.accuracy = (float)(acc / P);
  st.margin = (float)((rc_sum - rr_sum) / P);
  st.logp_chosen = (float)(lc / P);
  st.logp_rejected = (float)(lr / P);
  return st;
}

}  // namespace rlcd
