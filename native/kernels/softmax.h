// Softmax helpers over one row of logits.
#pragma once

namespace rlcd {

// log(sum(exp(x))) computed stably.
float logsumexp(const float* x, int n);

// probs[i] = exp(x[i] - max) / sum; returns the max.
void softmax_forward(float* probs, const float* x, int n);

}  // namespace rlcd
