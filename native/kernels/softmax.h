// Softmax helpers over one row of logits. The training losses (losses/logprobs.cpp) and the
// inference engine's log-probs take their log-sum-exp from the same two pieces, so every path
// sums a row in one order.
#pragma once

namespace rlcd {

// max_i x[i] (n >= 1).
float row_max(const float* x, int n);

// sum_i exp(x[i] - shift), writing the terms to y unless it is null (y may be x).
float row_exp_sum(float* y, const float* x, float shift, int n);

// log(sum(exp(x))) computed stably: row_max, then row_exp_sum.
float logsumexp(const float* x, int n);

}  // namespace rlcd
