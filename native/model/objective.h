// The training objective: one forward pass, the loss of one kind, and the backward pass into the
// model's gradients. Every trainer (SFT, preference model, PPO's policy and value, DPO) calls this;
// the binding only parses arguments into a LossSpec.
//
// Token-level arrays are (B * T), right-padded like the batch: entry b*T + t belongs to the
// prediction made at position t, i.e. of token t + 1 of row b.
#pragma once

#include <utility>
#include <vector>

#include "../losses/dpo.h"
#include "trainable.h"

namespace rlcd {

enum class LossKind { Sft, Preference, Policy, Value, Dpo };

struct LossSpec {
  LossKind kind = LossKind::Sft;
  // sft: per-token weights; dpo: 1 on response tokens (rows 2i chosen, 2i+1 rejected)
  std::vector<float> weights;
  // preference, dpo: (B / 2) probability that the chosen row is preferred
  std::vector<float> targets;
  // policy
  std::vector<float> old_logprobs, advantages;
  // policy, value: 1 on the tokens that count
  std::vector<float> mask;
  // value
  std::vector<float> returns, old_values;
  // dpo: (B / 2) summed reference log-probs of each pair's chosen and rejected response
  std::vector<float> ref_chosen, ref_rejected;
  float cliprange = 0.2f, entropy_coef = 0.0f, coef = 1.0f, beta = 0.1f;
  DpoKind dpo_kind = DpoKind::Sigmoid;
  // Multiplies the gradient (not the reported loss): micro-batches of one optimizer step weight
  // their share, e.g. tokens_i / tokens_total, so accumulation equals one big batch.
  float scale = 1.0f;
};

// Named statistics of one call (loss first), in a fixed order.
using ObjectiveStats = std::vector<std::pair<const char*, double>>;

// Buffers reused across calls (a fresh (N, V) gradient each call costs page faults).
struct ObjectiveScratch {
  std::vector<float> logprobs, dlogprobs, dlogits, entropy, dentropy;
};

// Throws RangeError when the spec's arrays do not fit the batch or the model lacks a needed head.
void check_loss(const LossSpec& loss, const TrainBatch& batch, bool has_head);

// forward + loss + backward; gradients accumulate into the model (see TrainableModel::backward).
ObjectiveStats forward_backward(TrainableModel& model, const TrainBatch& batch, const LossSpec& loss,
                                ObjectiveScratch& scratch);

// What evaluate() reads out of a forward pass without gradients.
enum class EvalKind {
  Logprobs,  // (B * T) log-prob of token t + 1 at position t; 0 at the last position
  Head,      // (B * T) the scalar head at every position (values)
  Rewards,   // (B) the head at each row's last token (preference-model scores)
  Logits,    // (B * T * V)
  Entropy,   // (B * T) entropy of the next-token distribution
};

// A forward pass (adapters off: the frozen base) and what `kind` asks for.
std::vector<float> evaluate(TrainableModel& model, const TrainBatch& batch, EvalKind kind, bool adapters);

// targets[n] = token n + 1 of the same row (0 past the end: those positions get zero weight).
std::vector<int> next_tokens(const TrainBatch& batch);

}  // namespace rlcd
