// Log-probabilities of target tokens from logits, and the gradient of any loss written in terms of
// them: every token-level loss here (cross-entropy, PPO's policy loss) reduces to dL/dlogprob.
#pragma once

namespace rlcd {

// logprobs: (N) log softmax(logits[n])[targets[n]]
// logits:   (N, V); targets: (N), already in [0, V)
void logprobs_forward(float* logprobs, const float* logits, const int* targets, int N, int V);

// dlogits: (N, V) written: dlogprobs[n] * (onehot(targets[n]) - softmax(logits[n]))
// Rows with dlogprobs[n] == 0 get zeros without computing a softmax.
void logprobs_backward(float* dlogits, const float* logits, const int* targets, const float* dlogprobs,
                       int N, int V);

// Entropy of softmax(logits[n]) per row, and its gradient scaled by dentropy[n]:
//   H = -sum p log p;   dH/dz_i = -p_i (log p_i + H)
void entropy_forward(float* entropy, const float* logits, int N, int V);
// Both from one exp pass per row (PPO's policy loss reads both).
void logprobs_entropy_forward(float* logprobs, float* entropy, const float* logits, const int* targets, int N, int V);
// dlogits (+=) dentropy[n] * dH/dz
void entropy_backward(float* dlogits, const float* logits, const float* dentropy, int N, int V);

// Masked token cross-entropy (SFT): loss = -sum_n w[n] logprob[n] / sum_n w[n].
// Returns the loss; writes dlogprobs[n] = -w[n] / sum(w) (to feed logprobs_backward).
float cross_entropy_loss(float* dlogprobs, const float* logprobs, const float* weights, int N);

}  // namespace rlcd
