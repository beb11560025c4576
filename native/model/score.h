// Teacher-forced scoring: log-probabilities of given continuations after given prompts.
#pragma once

#include <vector>

#include "transformer.h"

namespace rlcd {

// prompts[i], continuations[i]: token ids (the prompt must be non-empty).
// Returns (B) vectors with log p(continuation[i][j] | prompt[i], continuation[i][:j]).
std::vector<std::vector<float>> score_continuations(const Transformer& model,
                                                    const std::vector<std::vector<int>>& prompts,
                                                    const std::vector<std::vector<int>>& continuations,
                                                    int threads);

// Next-token logits at every position of one sequence: (T, V) flat. For tests and debugging.
std::vector<float> sequence_logits(const Transformer& model, const std::vector<int>& ids, int threads);

}  // namespace rlcd
