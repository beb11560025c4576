#include "lora.h"

namespace rlcd {

const char* lora_target_name(int t) {
  static const char* names[kNumLoraTargets] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return t >= 0 && t < kNumLoraTargets ? names[t] : "?";
}

std::pair<int, int> lora_shape(const ModelConfig& c, int t) {
  switch (t) {
    case kLoraQ: return {c.dim, c.q_dim()};
    case kLoraK: case kLoraV: return {c.dim, c.kv_dim()};
    case kLoraO: return {c.q_dim(), c.dim};
    case kLoraGate: case kLoraUp: return {c.dim, c.hidden_dim};
    default: return {c.hidden_dim, c.dim};
  }
}

void LoraTensors::layout(const ModelConfig& c, const LoraConfig& lc) {
  cfg = lc;
  slots.assign(c.n_layers, {});
  total = 0;
  for (int l = 0; l < c.n_layers; l++)
    for (int t = 0; t < kNumLoraTargets; t++) {
      Slot& s = slots[l][t];
      if (!lc.enabled(t)) continue;
      auto [in, out] = lora_shape(c, t);
      s.on = true;
      s.in = in;
      s.out = out;
      s.a = total;
      total += (size_t)lc.rank * in;
      s.b = total;
      total += (size_t)out * lc.rank;
    }
}

}  // namespace rlcd
