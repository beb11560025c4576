// Picks the next token from one row of logits: greedy, or temperature + top-k + top-p sampling.
#pragma once

#include <cstdint>
#include <vector>

namespace rlcd {

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy (argmax, lowest id on ties)
  int top_k = 0;             // 0 = whole vocabulary
  float top_p = 1.0f;        // nucleus mass in (0, 1]
};

// xoshiro256** seeded through splitmix64: small, fast, and the same stream on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  // Uniform in [0, 1) with 24 random bits, exactly representable as float.
  float uniform();

 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  // banned: (V) 1 where a token may never be sampled.
  Sampler(int vocab_size, SamplingParams params, std::vector<uint8_t> banned);
  // Returns the chosen id; `logits` (V) is read only. When the sampling pass already had it (plain
  // sampling at temperature 1, nothing banned), *lse gets logsumexp(logits); else it is left alone.
  int sample(const float* logits, Rng& rng, float* lse = nullptr);

 private:
  int vocab_;
  SamplingParams params_;
  std::vector<uint8_t> banned_;
  bool any_banned_ = false;
  std::vector<float> scaled_;     // (V) scratch: logits / temperature
  std::vector<float> probs_;      // (V) scratch
  std::vector<int> candidates_;   // (V) scratch
};

}  // namespace rlcd
