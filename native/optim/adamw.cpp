#include "adamw.h"

#include <algorithm>
#include <cmath>

namespace rlcd {

void adamw_update(float* params, const float* grads, float* m, float* v, size_t n, const AdamWConfig& c,
                  long step) {
  const double bc1 = 1.0 - std::pow((double)c.beta1, (double)step);
  const double bc2 = 1.0 - std::pow((double)c.beta2, (double)step);
  const float step_size = (float)(c.lr / bc1);
  const float inv_sqrt_bc2 = (float)(1.0 / std::sqrt(bc2));
  const float decay = 1.0f - c.lr * c.weight_decay;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (long i = 0; i < (long)n; i++) {
    const float g = grads[i];
    m[i] = c.beta1 * m[i] + (1.0f - c.beta1) * g;
    v[i] = c.beta2 * v[i] + (1.0f - c.beta2) * g * g;
    const float denom = std::sqrt(v[i]) * inv_sqrt_bc2 + c.eps;
    params[i] = params[i] * decay - step_size * m[i] / denom;
  }
}

double sum_of_squares(const float* grads, size_t n) {
  const size_t block = 4096;
  double total = 0.0;
  for (size_t b = 0; b < n; b += block) {
    double s = 0.0;
    const size_t e = std::min(n, b + block);
    for (size_t i = b; i < e; i++) s += (double)grads[i] * grads[i];
    total += s;
  }
  return total;
}

double schedule_lr(Schedule s, double base_lr, long step, long total, long warmup, double min_ratio) {
  if (warmup > 0 && step < warmup) return base_lr * (double)(step + 1) / (double)warmup;
  if (s == Schedule::Constant || total <= warmup) return base_lr;
  const double progress = std::min(1.0, (double)(step - warmup) / (double)std::max(1L, total - warmup));
  double f = s == Schedule::Linear ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return base_lr * (min_ratio + (1.0 - min_ratio) * f);
}

}  // namespace rlcd
