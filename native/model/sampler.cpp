#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "../common/check.h"
#include "../kernels/simd.h"

namespace rlcd {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

float Rng::uniform() { return (float)(next() >> 40) * (1.0f / 16777216.0f); }

Sampler::Sampler(int vocab_size, SamplingParams params, std::vector<uint8_t> banned)
    : vocab_(vocab_size), params_(params), banned_(std::move(banned)), scaled_(vocab_size),
      probs_(vocab_size), candidates_(vocab_size) {
  if (banned_.empty()) banned_.assign(vocab_size, 0);
  RLCD_CHECK((int)banned_.size() == vocab_size, "banned mask has wrong size");
  any_banned_ = std::any_of(banned_.begin(), banned_.end(), [](uint8_t b) { return b != 0; });
  RLCD_REQUIRE(!std::all_of(banned_.begin(), banned_.end(), [](uint8_t b) { return b != 0; }),
               "sampling: every token is banned");
}

int Sampler::sample(const float* logits, Rng& rng, float* lse) {
  const int V = vocab_;
  if (params_.temperature <= 0.0f) {
    int best = -1;
    for (int i = 0; i < V; i++)
      if (!banned_[i] && (best < 0 || logits[i] > logits[best])) best = i;
    return best;
  }
  // z = logits / T with banned tokens at -inf; exp(-inf) = 0 keeps them out of every path below.
  float* z = scaled_.data();
  const float inv_t = 1.0f / params_.temperature;
  for (int i = 0; i < V; i++) z[i] = logits[i] * inv_t;
  if (any_banned_)
    for (int i = 0; i < V; i++)
      if (banned_[i]) z[i] = -INFINITY;

  int n = V;
  const bool truncate = params_.top_k > 0 && params_.top_k < V;
  const bool nucleus = params_.top_p < 1.0f;
  if (!truncate && !nucleus) {
    // Plain sampling from the whole vocabulary: one vectorised softmax pass, no sorting.
    float mx = max_of(z, V);
    float sum = exp_shifted(probs_.data(), z, mx, V);
    if (lse && params_.temperature == 1.0f && !any_banned_) *lse = mx + std::log(sum);
    float u = rng.uniform() * sum;
    float acc = 0.0f;
    int last = -1;
    for (int i = 0; i < V; i++) {
      if (probs_[i] <= 0.0f) continue;
      acc += probs_[i];
      last = i;
      if (u < acc) return i;
    }
    return last;  // u landed on the rounding edge
  }
  // Candidates: the top k by logit (ties: lower id first), found through the k-th largest value
  // (nth_element on plain floats), then sorted only when the nucleus needs the order.
  if (truncate) {
    float* vals = probs_.data();  // scratch; probs_ is rewritten below
    std::copy(z, z + V, vals);
    std::nth_element(vals, vals + params_.top_k - 1, vals + V, std::greater<float>());
    const float kth = vals[params_.top_k - 1];
    n = 0;
    for (int i = 0; i < V; i++)
      if (z[i] > kth) candidates_[n++] = i;
    for (int i = 0; i < V && n < params_.top_k; i++)
      if (z[i] == kth) candidates_[n++] = i;
  } else {
    for (int i = 0; i < V; i++) candidates_[i] = i;
  }
  auto by_logit = [z](int a, int b) { return z[a] > z[b] || (z[a] == z[b] && a < b); };
  if (any_banned_) {
    // Banned tokens (-inf) never count, even when fewer than k others remain.
    int kept = 0;
    for (int j = 0; j < n; j++)
      if (!std::isinf(z[candidates_[j]])) candidates_[kept++] = candidates_[j];
    n = kept;
  }
  if (nucleus) std::sort(candidates_.begin(), candidates_.begin() + n, by_logit);
  float mx = -INFINITY;
  for (int j = 0; j < n; j++) mx = std::max(mx, z[candidates_[j]]);
  double sum = 0.0;
  for (int j = 0; j < n; j++) {
    probs_[j] = std::exp(z[candidates_[j]] - mx);
    sum += probs_[j];
  }
  if (nucleus) {
    // The smallest prefix (by descending probability) whose mass reaches top_p.
    double keep = 0.0;
    int m = 0;
    while (m < n) {
      keep += probs_[m++];
      if (keep >= params_.top_p * sum) break;
    }
    n = m;
    sum = keep;
  }
  double u = (double)rng.uniform() * sum;
  double acc = 0.0;
  for (int j = 0; j < n; j++) {
    acc += probs_[j];
    if (u < acc) return candidates_[j];
  }
  return candidates_[n - 1];
}

}  // namespace rlcd
