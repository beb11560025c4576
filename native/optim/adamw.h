// AdamW over flat buffers (parameters, gradients and both moments share one layout), global
// gradient-norm clipping, and learning-rate schedules.
#pragma once

#include <cstddef>

namespace rlcd {

struct AdamWConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // decoupled: p -= lr * wd * p
};

// One step; `step` counts from 1 (bias correction).
void adamw_update(float* params, const float* grads, float* m, float* v, size_t n, const AdamWConfig& cfg,
                  long step);

// sum g^2, summed in double in a fixed block order (the global gradient norm is the root of the
// total over every parameter set).
double sum_of_squares(const float* grads, size_t n);

enum class Schedule { Constant, Linear, Cosine };

// Learning rate at `step` (0-based) of `total` steps with `warmup` linear warmup steps.
double schedule_lr(Schedule s, double base_lr, long step, long total, long warmup, double min_ratio = 0.0);

}  // namespace rlcd
