#include "weights.h"

namespace rlcd {

const char* param_name(int index) {
  static const char* names[kNumParams] = {
      "tok_emb", "attn_norm", "wq", "wk", "wv", "bq", "bk", "bv", "wo",
      "mlp_norm", "w_gate", "w_up", "w_down", "final_norm", "lm_head"};
  return index >= 0 && index < kNumParams ? names[index] : "?";
}

void ParameterTensors::layout_subset(const ParameterTensors& whole, bool (*dropped)(int index)) {
  num_layers = whole.num_layers;
  total = 0;
  for (int i = 0; i < kNumParams; i++) {
    sizes[i] = dropped(i) ? 0 : whole.sizes[i];
    offsets[i] = total;
    total += sizes[i];
  }
}

void ParameterTensors::layout(const ModelConfig& c) {
  const size_t L = c.n_layers, C = c.dim, H = c.hidden_dim, V = c.vocab_size;
  const size_t QD = c.q_dim(), KVD = c.kv_dim();
  num_layers = c.n_layers;
  sizes[kTokEmb] = V * C;
  sizes[kAttnNorm] = L * C;
  sizes[kWq] = L * QD * C;
  sizes[kWk] = L * KVD * C;
  sizes[kWv] = L * KVD * C;
  sizes[kBq] = c.qkv_bias ? L * QD : 0;
  sizes[kBk] = c.qkv_bias ? L * KVD : 0;
  sizes[kBv] = c.qkv_bias ? L * KVD : 0;
  sizes[kWo] = L * C * QD;
  sizes[kMlpNorm] = L * C;
  sizes[kWGate] = L * H * C;
  sizes[kWUp] = L * H * C;
  sizes[kWDown] = L * C * H;
  sizes[kFinalNorm] = C;
  sizes[kLmHead] = c.tied_embeddings ? 0 : V * C;
  total = 0;
  for (int i = 0; i < kNumParams; i++) {
    offsets[i] = total;
    total += sizes[i];
  }
}

}  // namespace rlcd
