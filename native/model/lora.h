// LoRA adapters: W_eff = W + (alpha / r) B A on chosen projections, A (r, in) random, B (out, r)
// zero, so training starts from the base model exactly. The base weights stay frozen; the frozen
// reference policy of PPO is the same model with adapters disabled (no second copy).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "../common/aligned_buffer.h"
#include "config.h"

namespace rlcd {

enum LoraTarget { kLoraQ, kLoraK, kLoraV, kLoraO, kLoraGate, kLoraUp, kLoraDown, kNumLoraTargets };
const char* lora_target_name(int t);  // PEFT module names: q_proj, k_proj, ...

struct LoraConfig {
  int rank = 0;  // 0: no adapters
  float alpha = 16.0f;
  uint32_t targets = 0;  // bit t set: adapt target t
  bool enabled(int t) const { return rank > 0 && (targets >> t & 1u); }
  float scale() const { return rank > 0 ? alpha / (float)rank : 0.0f; }
};

// (in, out) of target t for this model
std::pair<int, int> lora_shape(const ModelConfig& c, int target);

// All adapters in one buffer: for each layer, for each enabled target, A then B.
struct LoraTensors {
  LoraConfig cfg;
  struct Slot { size_t a = 0, b = 0; int in = 0, out = 0; bool on = false; };
  std::vector<std::array<Slot, kNumLoraTargets>> slots;  // (L)
  size_t total = 0;
  void layout(const ModelConfig& c, const LoraConfig& lc);
};

}  // namespace rlcd
